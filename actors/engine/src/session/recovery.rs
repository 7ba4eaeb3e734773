//! The session's part of connection state recovery (see
//! [`crate::adapter::recovery`]): it parks its sockets when the connection
//! is lost, and resumes a socket for a client that comes back with
//! `{pid, offset}`.

use std::sync::{Arc, Mutex};

use actix::prelude::*;
use futures_util::future::BoxFuture;
use tracing::debug;

use super::Session;
use super::sockets::SocketState;
use crate::adapter::SocketHandle;
use crate::adapter::recovery::{
    Claimed, Farewell, Log, NotRecovered, Parked, Restored, Resume, SharedLog, lock,
};
use crate::disconnect::DisconnectReason;
use crate::handshake::ConnectRequest;
use crate::namespace::Namespace;

/// A socket's recovery state, with recovery on.
pub(super) struct Tracking {
    /// Its private session id, sent in the CONNECT answer.
    pub pid: String,
    /// What was routed to it that its client may not have (shared with
    /// its route in the index, which fills it).
    pub log: SharedLog,
    /// The last offset routed when the last ping was written: the client's
    /// pong says it has everything up to there.
    pub pinged: u64,
}

/// What becomes of a CONNECT whose resume was refused: the middlewares
/// (they have not run yet) or a new socket.
pub(super) type Fallback = fn(&mut Session, Arc<Namespace>, ConnectRequest, &mut Context<Session>);

/// The losses after which a socket may be recovered, as in Node 4.8
/// (`RECOVERABLE_DISCONNECT_REASONS`): the connection went, not the
/// socket. confab's `ForcedClose` is Node's `socket.conn.close()` (the
/// server closes the connection, the client reconnects by itself); a
/// socket the server disconnects, even with its connection (the rate
/// limit, `disconnectSockets(true)`), leaves for "server namespace
/// disconnect" and is not kept.
fn recoverable(reason: DisconnectReason) -> bool {
    matches!(
        reason,
        DisconnectReason::TransportClose
            | DisconnectReason::TransportError
            | DisconnectReason::PingTimeout
            | DisconnectReason::ServerShutdown
            | DisconnectReason::ForcedClose
    )
}

impl Session {
    /// A new socket's tracking, if recovery is on.
    pub(super) fn new_tracking(&self) -> Option<Tracking> {
        self.engine.adapter().recovery().map(|config| Tracking {
            pid: crate::protocol::engineio::Sid::new().as_str().to_owned(),
            log: Arc::new(Mutex::new(Log::new(config.max_missed_bytes))),
            pinged: 0,
        })
    }

    /// How the index reaches a socket of this session.
    pub(super) fn socket_handle(&self, tracking: Option<&Tracking>) -> SocketHandle {
        SocketHandle {
            session: self.link.clone(),
            log: tracking.map(|t| t.log.clone()),
        }
    }

    /// What the client asks to resume, if recovery is on.
    pub(super) fn resume_of(&self, auth: &serde_json::Value) -> Option<Resume> {
        self.engine.adapter().recovery()?;
        Resume::from_auth(auth)
    }

    /// With `skip_middlewares`, resumes at once; otherwise (or if it is not
    /// recovered) the request goes on to the middlewares.
    pub(super) fn resume_before_middlewares(
        &mut self,
        ns: &Arc<Namespace>,
        req: ConnectRequest,
        resume: Option<&Resume>,
        ctx: &mut Context<Self>,
    ) -> Result<(), ConnectRequest> {
        let skip = self
            .engine
            .adapter()
            .recovery()
            .is_some_and(|r| r.skip_middlewares);
        let admit: Fallback = |act, ns, req, ctx| act.admit(ns, req, None, ctx);
        match resume {
            Some(resume) if skip => self.resume(ns, req, resume, false, admit, ctx),
            _ => Err(req),
        }
    }

    /// Gives the client its lost socket back: same id, rooms, user and
    /// data, then the packets it missed after the CONNECT answer. `Err`
    /// hands the request back for a new socket. `vetted`: the middlewares
    /// ran, and the user they found must be the socket's. A socket this
    /// node does not hold is claimed from the cluster's store; if that
    /// fails, `fallback` takes the request.
    pub(super) fn resume(
        &mut self,
        ns: &Arc<Namespace>,
        req: ConnectRequest,
        resume: &Resume,
        vetted: bool,
        fallback: Fallback,
        ctx: &mut Context<Self>,
    ) -> Result<(), ConnectRequest> {
        // The CONNECT answer and the missed events go before anything
        // routed to the socket once it is back in the index.
        let link = self.link.clone();
        let _hold = link.hold();
        let handle = self.socket_handle(None);
        let user = if vetted { req.user_id.as_deref() } else { None };
        let adapter = self.engine.adapter().clone();
        let why = match adapter.restore(&req.nsp, resume, user, handle) {
            Ok(restored) => {
                self.install_restored(ns.clone(), req, restored, ctx);
                return Ok(());
            }
            Err(NotRecovered::Unknown) => match adapter.claim(&req.nsp, resume, user) {
                Some(claim) => {
                    self.await_claim(ns.clone(), req, claim, fallback, ctx);
                    return Ok(());
                }
                None => NotRecovered::Unknown,
            },
            Err(why) => why,
        };
        debug!(sid = %self.sid.as_str(), nsp = req.nsp, %why, "socket not recovered");
        Err(req)
    }

    /// Waits for the cluster's store: the claimed socket is adopted here,
    /// else `fallback` goes on with the request.
    fn await_claim(
        &mut self,
        ns: Arc<Namespace>,
        req: ConnectRequest,
        claim: BoxFuture<'static, Result<Claimed, NotRecovered>>,
        fallback: Fallback,
        ctx: &mut Context<Self>,
    ) {
        ctx.spawn(claim.into_actor(self).map(move |claimed, act, ctx| {
            let link = act.link.clone();
            let _hold = link.hold();
            let adapter = act.engine.adapter().clone();
            let handle = act.socket_handle(None);
            match claimed.and_then(|claimed| adapter.adopt(claimed, handle)) {
                // Gone meanwhile: it leaves at once (presence settles).
                Ok(restored) if act.closed => adapter.remove_socket(&req.nsp, restored.sid),
                Ok(restored) => act.install_restored(ns, req, restored, ctx),
                Err(why) => {
                    debug!(sid = %act.sid.as_str(), nsp = req.nsp, %why, "socket not recovered from the cluster");
                    if !act.closed {
                        fallback(act, ns, req, ctx);
                    }
                }
            }
        }));
    }

    /// Makes a recovered socket this session's and answers its CONNECT,
    /// followed by what it missed.
    fn install_restored(
        &mut self,
        ns: Arc<Namespace>,
        mut req: ConnectRequest,
        restored: Restored,
        ctx: &mut Context<Self>,
    ) {
        req.user_id = restored.user_id;
        req.data = restored.data;
        let tracking = Tracking {
            pid: restored.pid,
            log: restored.log,
            pinged: 0,
        };
        let socket = self.install(ns.clone(), req, restored.sid, Some(tracking), true);
        debug!(sid = %self.sid.as_str(), socket = socket.id(), missed = restored.missed.len(), "socket recovered");
        self.answer_connect(ns, socket, restored.missed, ctx);
    }

    /// Parks a socket whose connection was lost, if it may be recovered;
    /// its disconnect handlers then run only when it is gone for good.
    pub(super) fn park(&self, state: &SocketState, reason: DisconnectReason) -> bool {
        let Some(tracking) = state.recovery.as_ref().filter(|_| recoverable(reason)) else {
            return false;
        };
        let (ns, socket) = (state.ns.clone(), state.socket.clone());
        let farewell: Farewell = Box::new(move || ns.disconnected(socket, reason));
        let parked = Parked::new(
            tracking.pid.clone(),
            state.socket.nsp().to_owned(),
            state.socket.sid(),
            state.socket.data().clone(),
            tracking.log.clone(),
            farewell,
        );
        debug!(sid = %self.sid.as_str(), socket = state.socket.id(), %reason, "connection lost, socket parked for recovery");
        // A node shutting down holds nothing more for it: it is not offered
        // to the other nodes, whose copy would miss what comes next.
        let shared = reason != DisconnectReason::ServerShutdown;
        self.engine.adapter().park(parked, shared);
        true
    }

    /// A ping is written: its pong will confirm what was routed before it.
    pub(super) fn mark_ping(&mut self) {
        for state in self.sockets.values_mut() {
            if let Some(tracking) = &mut state.recovery {
                tracking.pinged = lock(&tracking.log).last();
            }
        }
    }

    /// The client answered the ping: it has everything routed before it,
    /// which its sockets' logs forget.
    pub(super) fn confirm_ping(&self) {
        for state in self.sockets.values() {
            if let Some(tracking) = &state.recovery {
                lock(&tracking.log).confirm(tracking.pinged);
            }
        }
    }
}
