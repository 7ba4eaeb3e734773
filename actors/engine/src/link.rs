//! How anyone reaches a session: its [`SessionLink`].
//!
//! What is sent through a link goes to the session's mailbox, counted, but
//! for one fast path: while the session's client is on a WebSocket and
//! nothing sent through the link is still in the mailbox, frames go
//! straight into the socket's [`WsSink`] from the sender's thread. A
//! broadcast then costs each member one queue push instead of two actor
//! messages, and frames queued while the connection is busy leave in one
//! write. Order is kept for everything sent through the link: the direct
//! path is open only once the mailbox has caught up with it.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use actix::prelude::*;

use crate::outbound::WsSink;
use crate::protocol::engineio::Frames;
use crate::requests::SessionRequest;
use crate::stats::Stats;

/// A session's address for its sockets, acks and the adapter. Cheap to
/// clone; every clone is the same link.
#[derive(Clone)]
pub struct SessionLink(Arc<Inner>);

struct Inner {
    mailbox: Recipient<Linked>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Sent through the link and not yet handled by the session (or held
    /// by it, see [`SessionLink::hold`]).
    in_mailbox: usize,
    direct: Option<Direct>,
}

/// The WebSocket a session opened to direct writes.
struct Direct {
    sink: WsSink,
    /// The session's `max_buffered_bytes`.
    limit: usize,
    stats: Arc<Stats>,
}

/// A request that came through a link: the session handles it, then tells
/// that link ([`SessionLink::handled`]).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Linked {
    pub(crate) request: SessionRequest,
    pub(crate) link: SessionLink,
}

impl SessionLink {
    /// A link to the session at `mailbox`. A session makes its own as it
    /// starts and opens only that one to direct writes; another link to it
    /// (a test's) goes through the mailbox, in its own order.
    pub fn new(mailbox: Recipient<Linked>) -> SessionLink {
        SessionLink(Arc::new(Inner {
            mailbox,
            state: Mutex::default(),
        }))
    }

    /// Sends `request` through the session's mailbox.
    pub fn send(&self, request: SessionRequest) {
        let mut state = self.lock();
        state.in_mailbox += 1;
        self.0.mailbox.do_send(self.linked(request));
    }

    /// Sends `request` through the session's mailbox and waits until the
    /// session has handled it (an error: the session is gone).
    pub async fn request(&self, request: SessionRequest) -> Result<(), MailboxError> {
        let handled = {
            let mut state = self.lock();
            state.in_mailbox += 1;
            // Queued now, before the lock drops: in order with the rest.
            self.0.mailbox.send(self.linked(request))
        };
        handled.await
    }

    /// Writes `frames` (an emit, a broadcast, an ack's answer): straight
    /// into the WebSocket when the session opened it and its mailbox holds
    /// nothing from this link, else through the mailbox. Over the byte
    /// budget the frames go through the mailbox too, where the session
    /// finds the budget passed and cuts the connection.
    pub fn deliver(&self, frames: &Frames) {
        let mut state = self.lock();
        if state.in_mailbox == 0
            && let Some(direct) = &state.direct
        {
            // Counted before the write: once queued, the frames may reach
            // the client, and what it does next (a scrape of the metrics),
            // before this thread goes on.
            Stats::bump(&direct.stats.events_sent);
            if direct.sink.write(frames, direct.limit).is_ok() {
                return;
            }
            // The mailbox's way counts it.
            direct.stats.events_sent.fetch_sub(1, Ordering::Relaxed);
        }
        state.in_mailbox += 1;
        let request = self.linked(SessionRequest::Deliver(frames.clone()));
        self.0.mailbox.do_send(request);
    }

    /// The session handled one request of this link (all its writes done).
    pub(crate) fn handled(&self) {
        let mut state = self.lock();
        state.in_mailbox = state.in_mailbox.saturating_sub(1);
    }

    /// Opens the direct path to the session's WebSocket.
    pub(crate) fn open(&self, sink: WsSink, limit: usize, stats: Arc<Stats>) {
        self.lock().direct = Some(Direct { sink, limit, stats });
    }

    /// Closes the direct path: from now on, everything goes through the
    /// mailbox (the session is closing, or its transport changes).
    pub(crate) fn shut(&self) {
        self.lock().direct = None;
    }

    /// Sends everything through the mailbox until the guard drops: for a
    /// session step whose writes must come before anything sent meanwhile
    /// (a socket registered in the index, then its CONNECT answered).
    pub(crate) fn hold(&self) -> Hold<'_> {
        self.lock().in_mailbox += 1;
        Hold(self)
    }

    fn linked(&self, request: SessionRequest) -> Linked {
        Linked {
            request,
            link: self.clone(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// See [`SessionLink::hold`].
pub(crate) struct Hold<'a>(&'a SessionLink);

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.0.handled();
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;
    use crate::protocol::engineio::Frame;

    /// Records what reaches the mailbox.
    struct Mailbox(Arc<Mutex<Vec<String>>>);

    impl Actor for Mailbox {
        type Context = Context<Self>;
    }

    impl Handler<Linked> for Mailbox {
        type Result = ();
        fn handle(&mut self, linked: Linked, _: &mut Context<Self>) {
            let name = match linked.request {
                SessionRequest::Deliver(frames) => match &frames[0] {
                    Frame::Text(text) => text.to_string(),
                    Frame::Binary(_) => "binary".into(),
                },
                _ => "other".into(),
            };
            self.0.lock().unwrap().push(name);
        }
    }

    fn frames(text: &str) -> Frames {
        Arc::from([Frame::Text(text.into())])
    }

    fn queued(sink: &WsSink) -> Vec<Frame> {
        match sink.drain(Waker::noop()) {
            crate::outbound::Drained::Frames(frames) => frames,
            _ => Vec::new(),
        }
    }

    fn link() -> (SessionLink, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mailbox = Mailbox(seen.clone()).start();
        (SessionLink::new(mailbox.recipient()), seen)
    }

    #[actix::test]
    async fn frames_go_straight_to_an_open_websocket_and_are_counted() {
        let (link, seen) = link();
        let sink = WsSink::default();
        let stats = Arc::new(Stats::default());
        link.open(sink.clone(), usize::MAX, stats.clone());
        link.deliver(&frames("a"));
        assert_eq!(queued(&sink), [Frame::Text("a".into())]);
        assert_eq!(stats.events_sent.load(Ordering::Relaxed), 1);
        tokio::task::yield_now().await;
        assert!(seen.lock().unwrap().is_empty());
    }

    #[actix::test]
    async fn frames_wait_behind_what_the_mailbox_holds() {
        let (link, seen) = link();
        let sink = WsSink::default();
        link.open(sink.clone(), usize::MAX, Arc::default());
        link.send(SessionRequest::Close(crate::DisconnectReason::ForcedClose));
        link.deliver(&frames("after the close request"));
        assert!(queued(&sink).is_empty());
        // The session handled both: the path is open again.
        link.handled();
        link.handled();
        link.deliver(&frames("b"));
        assert_eq!(queued(&sink), [Frame::Text("b".into())]);
        tokio::task::yield_now().await;
        assert_eq!(*seen.lock().unwrap(), ["other", "after the close request"]);
    }

    #[actix::test]
    async fn a_hold_sends_through_the_mailbox_until_it_drops() {
        let (link, _seen) = link();
        let sink = WsSink::default();
        link.open(sink.clone(), usize::MAX, Arc::default());
        {
            let _hold = link.hold();
            link.deliver(&frames("held"));
            assert!(queued(&sink).is_empty());
        }
        link.handled();
        link.deliver(&frames("c"));
        assert_eq!(queued(&sink).len(), 1);
    }

    #[actix::test]
    async fn over_the_budget_or_shut_frames_go_to_the_session() {
        let (link, seen) = link();
        let sink = WsSink::default();
        let stats = Arc::new(Stats::default());
        link.open(sink.clone(), 1, stats.clone());
        link.deliver(&frames("too big"));
        // The session counts what it writes: not counted here too.
        assert_eq!(stats.events_sent.load(Ordering::Relaxed), 0);
        link.handled();
        link.shut();
        link.deliver(&frames("shut"));
        assert!(queued(&sink).is_empty());
        tokio::task::yield_now().await;
        assert_eq!(*seen.lock().unwrap(), ["too big", "shut"]);
    }
}
