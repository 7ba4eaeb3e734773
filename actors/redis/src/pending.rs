//! Requests this node awaits answers to, by request id. The subscriber's
//! task hands each answer to the request's own channel; the asking task
//! counts them and decides when it has heard every node (or gives up at the
//! request timeout). Ids are the node's uid and a counter: unique across
//! the cluster without a random draw per request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use crate::response::Answer;

/// The open requests of one node.
pub struct Pending {
    uid: String,
    next: AtomicU64,
    open: Mutex<HashMap<String, mpsc::UnboundedSender<Answer>>>,
}

/// An open request: its id and its answers. Dropping it closes the request
/// (later answers are ignored, as the Node adapter ignores unknown ids).
pub struct Opened<'a> {
    pub id: String,
    pub answers: mpsc::UnboundedReceiver<Answer>,
    pending: &'a Pending,
}

impl Drop for Opened<'_> {
    fn drop(&mut self) {
        self.pending.lock().remove(&self.id);
    }
}

impl Pending {
    pub fn new(uid: &str) -> Pending {
        Pending {
            uid: uid.to_owned(),
            next: AtomicU64::new(1),
            open: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<Answer>>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens a request under a fresh id.
    pub fn open(&self) -> Opened<'_> {
        let id = format!("{}-{}", self.uid, self.next.fetch_add(1, Ordering::Relaxed));
        let (sender, answers) = mpsc::unbounded_channel();
        self.lock().insert(id.clone(), sender);
        Opened {
            id,
            answers,
            pending: self,
        }
    }

    /// Whether `id` is one of this node's open requests (its own request
    /// coming back on the request channel).
    pub fn is_open(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    /// Hands an answer to its request; false when no such request is open.
    pub fn answer(&self, id: &str, answer: Answer) -> bool {
        match self.lock().get(id) {
            Some(sender) => sender.send(answer).is_ok(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_reach_their_request_until_it_is_closed() {
        let pending = Pending::new("node");
        let mut first = pending.open();
        let second = pending.open();
        assert_ne!(first.id, second.id);
        assert!(first.id.starts_with("node-"));
        assert!(pending.is_open(&first.id));
        assert!(pending.answer(&first.id, Answer::ClientCount(2)));
        assert_eq!(first.answers.try_recv().unwrap(), Answer::ClientCount(2));
        let id = second.id.clone();
        drop(second);
        assert!(!pending.is_open(&id));
        assert!(!pending.answer(&id, Answer::Done));
        assert!(!pending.answer("someone-else-1", Answer::Done));
    }
}
