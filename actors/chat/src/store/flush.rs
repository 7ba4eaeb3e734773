//! Group commit: every writer that needs its write durable asks the flusher
//! thread, which flushes once for everyone who asked since its last flush.
//! A hundred concurrent appends cost one `fsync`, not a hundred.
//!
//! The order makes it correct: a writer asks only after its write is
//! applied, and the thread takes the waiting requests before it flushes, so
//! every write of a batch happened before that batch's flush began.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use super::StoreError;

/// How long each group flush took (a histogram, in seconds).
pub const FLUSH_SECONDS: &str = "confab_store_flush_seconds";
/// How many writers each group flush served (a histogram).
pub const FLUSH_BATCH: &str = "confab_store_flush_batch_size";

type Reply = oneshot::Sender<Result<(), String>>;

/// The flusher thread of one database, stopped (and joined) on drop so that
/// reopening the same path right after finds the database released.
pub(crate) struct Flusher {
    requests: Option<mpsc::Sender<Reply>>,
    thread: Option<JoinHandle<u64>>,
}

impl Flusher {
    pub fn start(db: sled::Db) -> std::io::Result<Flusher> {
        let (requests, inbox) = mpsc::channel::<Reply>();
        let thread = std::thread::Builder::new()
            .name("confab-store-flush".into())
            .spawn(move || run(db, inbox))?;
        Ok(Flusher {
            requests: Some(requests),
            thread: Some(thread),
        })
    }

    /// Resolves once everything written before the call is on disk.
    pub fn durable(&self) -> impl Future<Output = Result<(), StoreError>> + use<> {
        let (reply, answer) = oneshot::channel();
        let asked = self
            .requests
            .as_ref()
            .is_some_and(|r| r.send(reply).is_ok());
        async move {
            if !asked {
                return Err(StoreError::FlusherGone);
            }
            match answer.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(reason)) => Err(StoreError::Flush(reason)),
                Err(_) => Err(StoreError::FlusherGone),
            }
        }
    }
}

/// Serves flush requests until every sender is gone; returns how many
/// flushes it made (each for one or more writers).
fn run(db: sled::Db, inbox: mpsc::Receiver<Reply>) -> u64 {
    let mut flushes = 0;
    while let Ok(first) = inbox.recv() {
        let batch: Vec<Reply> = std::iter::once(first).chain(inbox.try_iter()).collect();
        let started = Instant::now();
        let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
        flushes += 1;
        // Once a flush, off the writers' path: the global recorder (none
        // installed, each is a no-op).
        metrics::histogram!(FLUSH_SECONDS).record(started.elapsed().as_secs_f64());
        metrics::histogram!(FLUSH_BATCH).record(batch.len() as f64);
        tracing::trace!(writers = batch.len(), "store flushed");
        for reply in batch {
            let _ = reply.send(result.clone());
        }
    }
    flushes
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.requests.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writers that asked while the flusher was busy share its next flush.
    /// Driven by hand, so the batching is seen without racing the thread.
    #[test]
    fn waiting_writers_share_one_flush() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let (requests, inbox) = mpsc::channel::<Reply>();
        let answers: Vec<_> = (0..50)
            .map(|_| {
                let (reply, answer) = oneshot::channel();
                requests.send(reply).unwrap();
                answer
            })
            .collect();
        drop(requests);
        assert_eq!(run(db, inbox), 1);
        for mut answer in answers {
            assert_eq!(answer.try_recv().unwrap(), Ok(()));
        }
    }
}
