//! The seeds' socket policies, on the engine's [`SocketPolicy`] seam (the
//! engine knows neither): deferred authentication, where a socket connects
//! without a user and must authenticate in time (Ignis), and a periodic
//! event to each socket (Ignis' `ping {time}`). Their timers are the
//! socket's own, run and ended with it by its session.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tracing::{info, warn};

use crate::{Namespace, Socket, SocketPolicy};

/// The name of the deadline timer of a socket without a user.
const DEADLINE: &str = "authentication deadline";
/// The name of the periodic event's timer.
const PERIODIC: &str = "periodic event";

/// A socket without a user must call [`Socket::authenticate`] within
/// `timeout`, or is disconnected from its namespace.
pub struct DeferredAuthentication {
    timeout: Duration,
}

impl DeferredAuthentication {
    /// Lets sockets of `ns` connect without a user; each must authenticate
    /// within `timeout`. Until then only `open_events` reach its handlers;
    /// others are refused with `unauthenticated` (a guard, added here so
    /// that it comes before the guards added after it).
    pub fn install(
        ns: &mut Namespace,
        timeout: Duration,
        open_events: impl IntoIterator<Item = impl Into<String>>,
    ) {
        let open: HashSet<String> = open_events.into_iter().map(Into::into).collect();
        ns.guard(move |socket, payload| {
            if socket.user_id().is_none() && !open.contains(payload.event()) {
                Err("unauthenticated".to_owned())
            } else {
                Ok(())
            }
        });
        ns.policy(DeferredAuthentication { timeout });
    }
}

impl SocketPolicy for DeferredAuthentication {
    fn connected(&self, socket: &Socket) {
        if socket.user_id().is_some() {
            return;
        }
        let pending = socket.clone();
        socket.run_later(DEADLINE, self.timeout, move || {
            if pending.user_id().is_none() {
                info!(
                    target: confab_engine::CONNECTIONS,
                    sid = pending.handshake().connection,
                    socket = pending.id(),
                    nsp = pending.nsp(),
                    "not authenticated in time"
                );
                pending.disconnect();
            }
        });
    }

    fn authenticated(&self, socket: &Socket) {
        socket.cancel_timer(DEADLINE);
    }
}

type PayloadFn = Arc<dyn Fn() -> Value + Send + Sync>;

/// `event` with `payload()` to each socket every `interval`: one at once
/// (Ignis sends an initial ping), then one per interval, for as long as
/// the socket is connected.
pub struct PeriodicEvent {
    interval: Duration,
    event: String,
    payload: PayloadFn,
    /// Sockets without a user start at their authentication, not at their
    /// CONNECT (with deferred authentication).
    wait_for_user: bool,
}

impl PeriodicEvent {
    /// Adds the periodic event to `ns`. It starts when a socket connects
    /// (unless `wait_for_user` and it has no user yet) and again, from its
    /// first tick, whenever a socket authenticates.
    pub fn install(
        ns: &mut Namespace,
        interval: Duration,
        event: impl Into<String>,
        payload: impl Fn() -> Value + Send + Sync + 'static,
        wait_for_user: bool,
    ) {
        ns.policy(PeriodicEvent {
            interval,
            event: event.into(),
            payload: Arc::new(payload),
            wait_for_user,
        });
    }

    fn start(&self, socket: &Socket) {
        let (target, event, payload) = (socket.clone(), self.event.clone(), self.payload.clone());
        let tick = move || {
            if let Err(err) = target.emit(&event, &payload()) {
                warn!(%err, "periodic event payload cannot be encoded");
            }
        };
        tick();
        socket.run_interval(PERIODIC, self.interval, tick);
    }
}

impl SocketPolicy for PeriodicEvent {
    fn connected(&self, socket: &Socket) {
        if !self.wait_for_user || socket.user_id().is_some() {
            self.start(socket);
        }
    }

    fn authenticated(&self, socket: &Socket) {
        self.start(socket);
    }
}
