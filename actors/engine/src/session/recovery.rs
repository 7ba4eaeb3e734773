//! The session's part of connection state recovery (see
//! [`crate::adapter::recovery`]): it parks its sockets when the connection
//! is lost, and resumes a socket for a client that comes back with
//! `{pid, offset}`.

use std::sync::{Arc, Mutex};

use actix::prelude::*;
use tracing::debug;

use super::Session;
use super::sockets::SocketState;
use crate::adapter::SocketHandle;
use crate::adapter::recovery::{Farewell, Log, Parked, Resume, SharedLog, lock};
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

/// The losses after which a socket may be recovered, as in Node
/// (`RECOVERABLE_DISCONNECT_REASONS`): the connection went, not the socket.
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
    pub(super) fn socket_handle(
        &self,
        tracking: Option<&Tracking>,
        ctx: &mut Context<Self>,
    ) -> SocketHandle {
        SocketHandle {
            session: ctx.address().recipient(),
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
        match resume {
            Some(resume) if skip => self.resume(ns, req, resume, false, ctx),
            _ => Err(req),
        }
    }

    /// Gives the client its lost socket back: same id, rooms, user and
    /// data, then the packets it missed after the CONNECT answer. `Err`
    /// hands the request back for a new socket. `vetted`: the middlewares
    /// ran, and the user they found must be the socket's.
    pub(super) fn resume(
        &mut self,
        ns: &Arc<Namespace>,
        mut req: ConnectRequest,
        resume: &Resume,
        vetted: bool,
        ctx: &mut Context<Self>,
    ) -> Result<(), ConnectRequest> {
        let handle = self.socket_handle(None, ctx);
        let user = if vetted { req.user_id.as_deref() } else { None };
        let restored = match self
            .engine
            .adapter()
            .restore(&req.nsp, resume, user, handle)
        {
            Ok(restored) => restored,
            Err(why) => {
                debug!(sid = %self.sid.as_str(), nsp = req.nsp, %why, "socket not recovered");
                return Err(req);
            }
        };
        req.user_id = restored.user_id;
        req.data = restored.data;
        let tracking = Tracking {
            pid: restored.pid,
            log: restored.log,
            pinged: 0,
        };
        let socket = self.install(ns.clone(), req, restored.sid, Some(tracking), true, ctx);
        debug!(sid = %self.sid.as_str(), socket = socket.id(), missed = restored.missed.len(), "socket recovered");
        self.answer_connect(ns.clone(), socket, restored.missed, ctx);
        Ok(())
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
        self.engine.adapter().park(parked);
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
