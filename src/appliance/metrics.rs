//! Prometheus metrics at `metrics.path` (`/metrics`): the engine's counters
//! and gauges, the chat store's flushes and the push hand-offs, in the text
//! exposition format.
//!
//! The hot path never touches a recorder: the engine counts in its own
//! relaxed atomics ([`confab_engine::Stats`]) and the push queue in its
//! own, and a scrape copies them into the `metrics-exporter-prometheus`
//! recorder and renders it. Only what happens once a flush or once a chat
//! write (the store's histograms and message count) records into the
//! global recorder directly. The exporter's own HTTP listener is not used:
//! the route is an actix one, on the server's port.

use std::sync::{Arc, OnceLock};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use confab_engine::{Engine, Refusal, Stats};
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};

use crate::appliance::http::keys::{API_KEY_HEADER, bearer_token, key_matches};
use confab_chat_contract::push::PushQueue;
use confab_redis::outbox::Drops;

/// `[metrics]` in the configuration.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve the metrics. On by default: they hold counts and namespace
    /// names only, no user data and no secret, and a scraper expects them.
    pub enabled: bool,
    /// Where they are served.
    pub path: String,
    /// If set, a scrape must send it (`Authorization: Bearer <key>` or
    /// `X-API-Key: <key>`); otherwise 401.
    pub key: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            path: "/metrics".into(),
            key: String::new(),
        }
    }
}

/// Debug without the key.
impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("enabled", &self.enabled)
            .field("path", &self.path)
            .field("key", &(!self.key.is_empty()).then_some("(redacted)"))
            .finish()
    }
}

/// Why `[metrics]` is not usable.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetricsConfigError {
    #[error("metrics.path: {0:?} must start with '/'")]
    Path(String),
}

impl MetricsConfig {
    pub fn check(&self) -> Result<(), MetricsConfigError> {
        match self.path.starts_with('/') {
            true => Ok(()),
            false => Err(MetricsConfigError::Path(self.path.clone())),
        }
    }
}

/// Flush times from 100 µs (a flush with nothing to write) to 2.5 s (a
/// disk that stalls).
const FLUSH_SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
/// Writers served by one flush: 1 when idle, hundreds under load.
const FLUSH_BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// The process's recorder, installed as the global one on first use (a
/// process has one; tests that start several appliances share it).
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(confab_chat::store::FLUSH_SECONDS.into()),
                FLUSH_SECONDS_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(confab_chat::store::FLUSH_BATCH.into()),
                    FLUSH_BATCH_BUCKETS,
                )
            })
            .expect("the bucket lists are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if let Err(err) = metrics::set_global_recorder(recorder) {
            tracing::warn!(%err, "another metrics recorder is installed: the store's histograms go to it");
        }
        describe();
        handle
    })
}

/// The HELP line of every family.
fn describe() {
    describe_gauge!(
        "confab_connections",
        "Open Engine.IO connections, by transport"
    );
    describe_counter!(
        "confab_upgrades_total",
        "Connections upgraded from long-polling to WebSocket"
    );
    describe_gauge!(
        "confab_sockets",
        "Connected Socket.IO sockets, by namespace"
    );
    describe_gauge!(
        "confab_rooms",
        "Rooms with at least one member, by namespace"
    );
    describe_gauge!(
        "confab_recovery_parked",
        "Sockets whose connection was lost, waiting for their clients to recover them"
    );
    describe_gauge!(
        "confab_recovery_missed_bytes",
        "Bytes of missed events the lost sockets hold for their clients"
    );
    describe_counter!(
        "confab_handshakes_refused_total",
        "Engine.IO requests and Socket.IO CONNECTs refused, by reason"
    );
    describe_counter!(
        "confab_events_received_total",
        "Events received from clients"
    );
    describe_counter!(
        "confab_events_sent_total",
        "Events (and ack answers) handed to sockets, each broadcast copy once"
    );
    describe_gauge!(
        "confab_acks_pending",
        "Acks the server waits for from clients"
    );
    describe_counter!(
        "confab_acks_timed_out_total",
        "Acks the server waited for in vain"
    );
    describe_counter!(
        "confab_broadcasts_total",
        "Emits to a room, rooms or a namespace"
    );
    describe_counter!(
        "confab_deliveries_total",
        "Copies of broadcasts handed to sockets"
    );
    describe_counter!(
        "confab_bytes_received_total",
        Unit::Bytes,
        "Engine.IO bytes read from clients"
    );
    describe_counter!(
        "confab_bytes_sent_total",
        Unit::Bytes,
        "Engine.IO bytes written to clients"
    );
    describe_counter!(
        "confab_outbound_overflows_total",
        "Connections cut because their client did not read (max_buffered_bytes)"
    );
    describe_counter!(
        "confab_malformed_packets_total",
        "Frames or packets that broke the protocol (each closed its connection)"
    );
    describe_counter!(
        "confab_rate_limited_events_total",
        "Events refused by the rate limit"
    );
    describe_counter!(
        "confab_rate_limited_connections_total",
        "Connections closed for staying over the rate limit"
    );
    describe_counter!(
        confab_chat::store::MESSAGES_STORED,
        "Chat message records written (new, edited or deleted)"
    );
    describe_histogram!(
        confab_chat::store::FLUSH_SECONDS,
        Unit::Seconds,
        "Time of each group flush of the store"
    );
    describe_histogram!(
        confab_chat::store::FLUSH_BATCH,
        "Writers served by each group flush"
    );
    describe_counter!("confab_push_queued_total", "Push hand-offs queued");
    describe_counter!(
        "confab_push_sent_total",
        "Push hand-offs the webhook accepted"
    );
    describe_counter!(
        "confab_push_retried_total",
        "Push attempts that failed and were retried"
    );
    describe_counter!(
        "confab_push_dropped_total",
        "Push hand-offs dropped: queue full, refused by the webhook, or given up"
    );
    describe_counter!(
        "confab_redis_outbox_dropped_total",
        "Cluster messages dropped because the Redis outbox was full (Redis gone or far behind)"
    );
}

/// What a scrape reads: the engine, the push queue when the chat hands
/// off pushes, and the Redis outbox's drops on a Redis cluster.
struct Sources {
    engine: Engine,
    push: Option<Arc<PushQueue>>,
    outbox_drops: Option<Drops>,
    /// `metrics.key`, as the one-key list [`key_matches`] takes.
    key: [String; 1],
}

/// Installs the recorder (so the store's histograms count from the start)
/// and mounts the route, when `config` enables them. For an embedding
/// server (the testbed) as for the appliance.
pub fn mount(
    config: &MetricsConfig,
    engine: Engine,
    push: Option<Arc<PushQueue>>,
    outbox_drops: Option<Drops>,
) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
    let enabled = config.enabled.then(|| {
        recorder();
        let sources = web::Data::new(Sources {
            engine,
            push,
            outbox_drops,
            key: [config.key.clone()],
        });
        (config.path.clone(), sources)
    });
    move |cfg: &mut web::ServiceConfig| {
        if let Some((path, sources)) = enabled {
            cfg.service(
                web::resource(path)
                    .app_data(sources)
                    .route(web::get().to(scrape)),
            );
        }
    }
}

async fn scrape(req: HttpRequest, sources: web::Data<Sources>) -> HttpResponse {
    if !sources.key[0].is_empty() && !presents(&req, &sources.key) {
        return HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .body("metrics.key required (Authorization: Bearer or X-API-Key)\n");
    }
    publish_engine(&sources.engine).await;
    if let Some(queue) = &sources.push {
        publish_push(queue);
    }
    if let Some(drops) = &sources.outbox_drops {
        counter!("confab_redis_outbox_dropped_total").absolute(drops.get());
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(recorder().render())
}

/// The request carries one of `keys`, as `X-API-Key` or a bearer token.
fn presents(req: &HttpRequest, keys: &[String]) -> bool {
    match req.headers().get(API_KEY_HEADER) {
        Some(given) => key_matches(keys, given.to_str().unwrap_or_default().trim()),
        None => bearer_token(req).is_some_and(|given| key_matches(keys, &given)),
    }
}

/// Copies the engine's atomics and its registry's census into the recorder.
async fn publish_engine(engine: &Engine) {
    let stats = engine.stats();
    gauge!("confab_connections", "transport" => "polling")
        .set(Stats::level(&stats.connections_polling) as f64);
    gauge!("confab_connections", "transport" => "websocket")
        .set(Stats::level(&stats.connections_websocket) as f64);
    for reason in Refusal::ALL {
        counter!("confab_handshakes_refused_total", "reason" => reason.label())
            .absolute(stats.refused(reason));
    }
    let counters = [
        ("confab_upgrades_total", &stats.upgrades),
        ("confab_events_received_total", &stats.events_received),
        ("confab_events_sent_total", &stats.events_sent),
        ("confab_acks_timed_out_total", &stats.acks_timed_out),
        ("confab_broadcasts_total", &stats.broadcasts),
        ("confab_deliveries_total", &stats.deliveries),
        ("confab_bytes_received_total", &stats.bytes_in),
        ("confab_bytes_sent_total", &stats.bytes_out),
        ("confab_outbound_overflows_total", &stats.outbound_overflows),
        ("confab_malformed_packets_total", &stats.malformed_packets),
        (
            "confab_rate_limited_events_total",
            &stats.rate_limited_events,
        ),
        (
            "confab_rate_limited_connections_total",
            &stats.rate_limited_connections,
        ),
    ];
    for (name, value) in counters {
        counter!(name).absolute(Stats::read(value));
    }
    gauge!("confab_acks_pending").set(Stats::level(&stats.acks_pending) as f64);
    // Every configured namespace, 0 when empty: a series does not vanish.
    let census = engine.census();
    for nsp in engine.namespaces().names() {
        let count = |by: &std::collections::HashMap<String, u64>| by.get(nsp).copied().unwrap_or(0);
        let namespace = nsp.to_owned();
        gauge!("confab_sockets", "namespace" => namespace.clone())
            .set(count(&census.sockets) as f64);
        gauge!("confab_rooms", "namespace" => namespace).set(count(&census.rooms) as f64);
    }
    gauge!("confab_recovery_parked").set(census.parked as f64);
    gauge!("confab_recovery_missed_bytes").set(census.missed_bytes as f64);
}

/// Copies the push queue's counts into the recorder.
fn publish_push(queue: &PushQueue) {
    let counts = &queue.counts;
    let read = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    counter!("confab_push_queued_total").absolute(read(&counts.queued));
    counter!("confab_push_sent_total").absolute(read(&counts.sent));
    counter!("confab_push_retried_total").absolute(read(&counts.retried));
    let dropped = [
        ("queue_full", queue.dropped()),
        ("refused", read(&counts.refused)),
        ("given_up", read(&counts.given_up)),
    ];
    for (reason, value) in dropped {
        counter!("confab_push_dropped_total", "reason" => reason).absolute(value);
    }
}
