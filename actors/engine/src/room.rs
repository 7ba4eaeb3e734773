//! One actor per room: its members, and the fan-out of what is sent to it.
//!
//! The registry decides membership and routes a broadcast here; the room
//! hands the same shared frames to each member session, on its own arbiter,
//! so a large room does not hold up the registry.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;

use crate::protocol::engineio::{Frames, Sid};
use crate::session::{Deliver, Session};
use crate::stats::Stats;

/// A room of one namespace.
#[derive(Default)]
pub struct Room {
    members: HashMap<Sid, Addr<Session>>,
    /// The engine's counters: a fan-out adds its deliveries once.
    stats: Arc<Stats>,
}

impl Room {
    pub fn new(stats: Arc<Stats>) -> Room {
        Room {
            members: HashMap::new(),
            stats,
        }
    }
}

impl Actor for Room {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
pub struct AddMember {
    pub socket: Sid,
    pub session: Addr<Session>,
}

/// Removes a member; the room stops once it has none (the registry has
/// forgotten it by then and starts a new one on the next join).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RemoveMember(pub Sid);

/// Delivers frames to every member but the excluded sockets.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RoomFanout {
    pub frames: Frames,
    pub except: Option<Arc<HashSet<Sid>>>,
}

impl Handler<AddMember> for Room {
    type Result = ();
    fn handle(&mut self, msg: AddMember, _: &mut Context<Self>) {
        self.members.insert(msg.socket, msg.session);
    }
}

impl Handler<RemoveMember> for Room {
    type Result = ();
    fn handle(&mut self, msg: RemoveMember, ctx: &mut Context<Self>) {
        self.members.remove(&msg.0);
        if self.members.is_empty() {
            ctx.stop();
        }
    }
}

impl Handler<RoomFanout> for Room {
    type Result = ();
    fn handle(&mut self, msg: RoomFanout, _: &mut Context<Self>) {
        let excluded = |id: &Sid| msg.except.as_ref().is_some_and(|set| set.contains(id));
        let mut delivered = 0;
        for (id, session) in &self.members {
            if !excluded(id) {
                session.do_send(Deliver(msg.frames.clone()));
                delivered += 1;
            }
        }
        Stats::add(&self.stats.deliveries, delivered);
    }
}
