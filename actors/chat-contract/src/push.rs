//! The push hand-off: when a message is created, the members who are
//! offline or not viewing its chat are POSTed to a webhook (an FCM/APNs
//! gateway), as
//! `{recipients, chatHeaderId, message: {id, senderId, senderName, type, preview, creationTime}}`.
//! Members viewing the chat get the message over their socket, and no push.
//!
//! Hand-offs wait in a bounded queue (when full, the oldest is dropped
//! with a warning) and are sent by a worker on a thread of its own, a few
//! at a time, each tried up to `attempts` times with exponential backoff.
//! The queue is in memory: hand-offs waiting at shutdown are lost.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};
use tracing::{debug, warn};

use confab_chat::store::{ChatRecord, Message, MessageType, User};

use super::settings::PushSettings;

/// Characters of a text message the preview keeps.
pub const PREVIEW_CHARS: usize = 100;

/// Who gets a push for a message: every member but the sender who is not
/// viewing the chat (offline members view nothing).
pub fn recipients(
    chat: &ChatRecord,
    sender: &str,
    is_viewing: impl Fn(&str) -> bool,
) -> Vec<String> {
    chat.members
        .iter()
        .filter(|m| *m != sender && !is_viewing(m))
        .cloned()
        .collect()
}

/// What a notification shows: the start of a text, else the caption or
/// the kind of media.
pub fn preview(message: &Message) -> String {
    let text = match message.kind {
        MessageType::Text => message.body.as_str(),
        _ => match message.caption.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(caption) => caption,
            None => match message.kind {
                MessageType::Audio => "[Audio]",
                MessageType::Image => "[Image]",
                MessageType::Video => "[Video]",
                _ => "[File]",
            },
        },
    };
    let mut out: String = text.chars().take(PREVIEW_CHARS).collect();
    if text.chars().count() > PREVIEW_CHARS {
        out.push('…');
    }
    out
}

/// The webhook's body.
pub fn body(chat: &ChatRecord, message: &Message, sender: &User, recipients: &[String]) -> Value {
    json!({
        "recipients": recipients,
        "chatHeaderId": chat.id,
        "message": {
            "id": message.id,
            "senderId": message.sender,
            "senderName": sender.name,
            "type": u8::from(message.kind),
            "preview": preview(message),
            "creationTime": confab_engine::iso_millis(message.created_at),
        },
    })
}

/// The wait before try `attempt + 1`, after `attempt` failed (1-based):
/// `base`, then doubled each time, at most `max`.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(max)
}

/// Whether a webhook answer is worth trying again: server errors, 408
/// and 429; any other client error will not change.
pub fn retryable(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// A bounded queue that drops its oldest entry when full.
pub struct PushQueue {
    items: Mutex<VecDeque<Value>>,
    capacity: usize,
    ready: Notify,
    dropped: AtomicU64,
    /// Hand-offs queued, webhook answers, and what was given up: read by
    /// the metrics at scrape time.
    pub counts: PushCounts,
}

/// What became of the hand-offs (relaxed atomics: one add a hand-off).
#[derive(Debug, Default)]
pub struct PushCounts {
    /// Hand-offs queued.
    pub queued: AtomicU64,
    /// Hand-offs the webhook accepted (2xx).
    pub sent: AtomicU64,
    /// Attempts that failed and were tried again.
    pub retried: AtomicU64,
    /// Hand-offs the webhook refused with a status not worth retrying.
    pub refused: AtomicU64,
    /// Hand-offs given up after `push_attempts` failures.
    pub given_up: AtomicU64,
}

impl PushCounts {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl PushQueue {
    pub fn new(capacity: usize) -> PushQueue {
        PushQueue {
            items: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            ready: Notify::new(),
            dropped: AtomicU64::new(0),
            counts: PushCounts::default(),
        }
    }

    fn items(&self) -> std::sync::MutexGuard<'_, VecDeque<Value>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a hand-off; answers the one dropped to make room, if any.
    pub fn push(&self, item: Value) -> Option<Value> {
        let dropped = {
            let mut items = self.items();
            let dropped = if items.len() >= self.capacity {
                items.pop_front()
            } else {
                None
            };
            items.push_back(item);
            dropped
        };
        PushCounts::bump(&self.counts.queued);
        if dropped.is_some() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.ready.notify_one();
        dropped
    }

    pub fn pop(&self) -> Option<Value> {
        self.items().pop_front()
    }

    pub fn len(&self) -> usize {
        self.items().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many hand-offs were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The next hand-off, waiting for one.
    pub async fn next(&self) -> Value {
        loop {
            if let Some(item) = self.pop() {
                return item;
            }
            self.ready.notified().await;
        }
    }
}

/// The hand-off: the queue, and the worker thread that empties it.
#[derive(Clone)]
pub struct Pusher {
    queue: Arc<PushQueue>,
}

impl Pusher {
    /// Starts the worker on a thread of its own (inside an actix system).
    /// `None` without a webhook.
    pub fn start(settings: &PushSettings) -> Option<Pusher> {
        let url = settings.webhook.clone()?;
        if !super::settings::valid_webhook(&url) {
            tracing::error!(%url, "chat.push_webhook is not an http:// URL: push hand-offs are off");
            return None;
        }
        let queue = Arc::new(PushQueue::new(settings.queue));
        let worker = Worker {
            url,
            settings: settings.clone(),
            queue: queue.clone(),
        };
        let arbiter = actix::Arbiter::new();
        let started = arbiter.spawn_fn(move || {
            actix_web::rt::spawn(worker.run());
        });
        if !started {
            warn!("push worker did not start; hand-offs are off");
            return None;
        }
        Some(Pusher { queue })
    }

    /// Queues a hand-off (dropping the oldest waiting one if full).
    pub fn send(&self, body: Value) {
        if let Some(old) = self.queue.push(body) {
            warn!(
                dropped = self.queue.dropped(),
                chat = %old["chatHeaderId"],
                message = %old["message"]["id"],
                "push queue full: oldest hand-off dropped"
            );
        }
    }

    pub fn queue(&self) -> &Arc<PushQueue> {
        &self.queue
    }
}

struct Worker {
    url: String,
    settings: PushSettings,
    queue: Arc<PushQueue>,
}

impl Worker {
    async fn run(self) {
        let client = awc::Client::builder()
            .timeout(self.settings.timeout)
            .disable_redirects()
            .finish();
        let slots = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        let this = std::rc::Rc::new(self);
        loop {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let body = this.queue.next().await;
            let (this, client) = (this.clone(), client.clone());
            actix_web::rt::spawn(async move {
                this.deliver(&client, &body).await;
                drop(slot);
            });
        }
    }

    async fn deliver(&self, client: &awc::Client, body: &Value) {
        let attempts = self.settings.attempts.max(1);
        for attempt in 1..=attempts {
            let mut request = client.post(&self.url);
            if let Some(token) = &self.settings.token {
                request = request.bearer_auth(token);
            }
            let outcome = match request.send_json(body).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if response.status().is_success() {
                        PushCounts::bump(&self.queue.counts.sent);
                        debug!(attempt, chat = %body["chatHeaderId"], "push handed off");
                        return;
                    }
                    if !retryable(status) {
                        PushCounts::bump(&self.queue.counts.refused);
                        warn!(status, chat = %body["chatHeaderId"], "push refused by the webhook; not retried");
                        return;
                    }
                    format!("status {status}")
                }
                Err(err) => err.to_string(),
            };
            if attempt == attempts {
                PushCounts::bump(&self.queue.counts.given_up);
                warn!(attempts, chat = %body["chatHeaderId"], %outcome, "push given up");
                return;
            }
            let wait = backoff(attempt, self.settings.backoff, self.settings.backoff_max);
            PushCounts::bump(&self.queue.counts.retried);
            debug!(attempt, %outcome, ?wait, "push failed; retrying");
            actix_web::rt::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_chat::store::ChatKind;

    fn header(members: &[&str]) -> ChatRecord {
        ChatRecord {
            id: 7,
            kind: ChatKind::Group,
            name: None,
            members: members.iter().map(|m| m.to_string()).collect(),
            created_at: 0,
            last_message_id: None,
            message_count: 0,
            admins: vec![],
        }
    }

    fn message(kind: MessageType, body: &str, caption: Option<&str>) -> Message {
        Message {
            id: 3,
            chat_id: 7,
            sender: "a".into(),
            kind,
            body: body.into(),
            caption: caption.map(str::to_owned),
            created_at: 0,
            edited_at: None,
            deleted_at: None,
        }
    }

    #[test]
    fn viewers_and_the_sender_get_no_push() {
        let chat = header(&["a", "b", "c", "d"]);
        let viewing = |u: &str| u == "c";
        assert_eq!(recipients(&chat, "a", viewing), vec!["b", "d"]);
        assert!(recipients(&header(&["a"]), "a", |_| false).is_empty());
    }

    #[test]
    fn previews() {
        assert_eq!(preview(&message(MessageType::Text, "hi", None)), "hi");
        let long = "x".repeat(150);
        let p = preview(&message(MessageType::Text, &long, None));
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
        assert_eq!(
            preview(&message(MessageType::Image, "/uploads/a.webp", None)),
            "[Image]"
        );
        assert_eq!(
            preview(&message(MessageType::Video, "/uploads/a.mp4", Some("look"))),
            "look"
        );
        let sender = User {
            id: "a".into(),
            name: Some("Ann".into()),
            avatar: None,
        };
        let b = body(
            &header(&["a", "b"]),
            &message(MessageType::Text, "hi", None),
            &sender,
            &["b".into()],
        );
        assert_eq!(b["recipients"], json!(["b"]));
        assert_eq!(b["chatHeaderId"], 7);
        assert_eq!(b["message"]["senderId"], "a");
        assert_eq!(b["message"]["type"], 0);
        assert_eq!(b["message"]["preview"], "hi");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let (base, max) = (Duration::from_millis(100), Duration::from_secs(1));
        let waits: Vec<u128> = (1..=6).map(|n| backoff(n, base, max).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff(200, base, max), max);
        assert_eq!(backoff(0, base, max), base);
    }

    #[test]
    fn what_is_retried() {
        for s in [500, 502, 503, 408, 429] {
            assert!(retryable(s), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 422] {
            assert!(!retryable(s), "{s}");
        }
    }

    #[test]
    fn a_full_queue_drops_its_oldest() {
        let q = PushQueue::new(2);
        assert!(q.push(json!(1)).is_none());
        assert!(q.push(json!(2)).is_none());
        assert_eq!(q.push(json!(3)), Some(json!(1)));
        assert_eq!(q.push(json!(4)), Some(json!(2)));
        assert_eq!((q.len(), q.dropped()), (2, 2));
        assert_eq!(q.pop(), Some(json!(3)));
        assert_eq!(q.pop(), Some(json!(4)));
        assert!(q.is_empty());
    }

    /// A webhook on a loopback port that fails the first `fail` calls.
    async fn webhook(
        fail: usize,
    ) -> (String, Arc<Mutex<Vec<Value>>>, actix_web::dev::ServerHandle) {
        use actix_web::{App, HttpResponse, HttpServer, web};
        let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
        let calls = Arc::new(AtomicU64::new(0));
        let (seen2, calls2) = (seen.clone(), calls.clone());
        let server = HttpServer::new(move || {
            let (seen, calls) = (seen2.clone(), calls2.clone());
            App::new().route(
                "/push",
                web::post().to(move |body: web::Json<Value>| {
                    let (seen, calls) = (seen.clone(), calls.clone());
                    async move {
                        seen.lock().unwrap().push(body.into_inner());
                        if (calls.fetch_add(1, Ordering::SeqCst) as usize) < fail {
                            HttpResponse::ServiceUnavailable().finish()
                        } else {
                            HttpResponse::NoContent().finish()
                        }
                    }
                }),
            )
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        (format!("http://127.0.0.1:{port}/push"), seen, handle)
    }

    fn settings(url: String, attempts: u32) -> PushSettings {
        PushSettings {
            webhook: Some(url),
            attempts,
            backoff: Duration::from_millis(20),
            backoff_max: Duration::from_millis(50),
            ..PushSettings::default()
        }
    }

    async fn wait_for(seen: &Mutex<Vec<Value>>, n: usize) {
        for _ in 0..200 {
            if seen.lock().unwrap().len() >= n {
                return;
            }
            actix_web::rt::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("only {} calls", seen.lock().unwrap().len());
    }

    #[actix_rt::test]
    async fn failures_are_retried_with_backoff_until_delivered() {
        let (url, seen, server) = webhook(2).await;
        let pusher = Pusher::start(&settings(url, 5)).unwrap();
        pusher.send(json!({ "chatHeaderId": 1, "message": { "id": 9 } }));
        wait_for(&seen, 3).await;
        actix_web::rt::time::sleep(Duration::from_millis(150)).await;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3, "two failures, then delivered, then no more");
        assert!(seen.iter().all(|b| b["message"]["id"] == 9));
        server.stop(false).await;
    }

    #[actix_rt::test]
    async fn attempts_are_bounded() {
        let (url, seen, server) = webhook(usize::MAX).await;
        let pusher = Pusher::start(&settings(url, 3)).unwrap();
        pusher.send(json!({ "chatHeaderId": 1, "message": { "id": 1 } }));
        wait_for(&seen, 3).await;
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(seen.lock().unwrap().len(), 3);
        server.stop(false).await;
    }

    #[test]
    fn no_webhook_no_pusher() {
        assert!(Pusher::start(&PushSettings::default()).is_none());
    }
}
