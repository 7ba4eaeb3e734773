//! Every line of the session that talks to the registry: a socket is
//! registered before its CONNECT is answered, unregistered as it leaves,
//! and given its user when it authenticates late.

use actix::prelude::*;

use super::Session;
use crate::protocol::engineio::Sid;
use crate::registry::{Register, SetUser, Unregister};

impl Session {
    /// Registers a socket; resolves once the registry knows it (rooms and
    /// emits then reach it).
    pub(super) fn register(
        &self,
        socket: Sid,
        nsp: String,
        user_id: Option<String>,
        ctx: &mut Context<Self>,
    ) -> impl Future<Output = ()> + 'static {
        let register = Register {
            socket,
            nsp,
            session: ctx.address(),
            user_id,
        };
        let sent = self.engine.registry().send(register);
        async move {
            let _ = sent.await;
        }
    }

    pub(super) fn unregister(&self, socket: Sid) {
        self.engine.registry().do_send(Unregister(socket));
    }

    pub(super) fn set_user(&self, socket: Sid, user_id: String) {
        self.engine.registry().do_send(SetUser { socket, user_id });
    }
}
