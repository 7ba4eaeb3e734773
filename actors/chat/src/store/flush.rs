//! Group commit for everything in one database: every writer that needs
//! its write durable asks the one flusher thread, which serves everyone
//! who asked since its last round with one sync. A hundred concurrent
//! appends cost one `fdatasync`, not a hundred.
//!
//! Two kinds of request: [`Flusher::journaled`] for writes made through
//! the [`Journal`] (the chat's messages, read cursors and members), served
//! by writing the journal's new records and syncing its file; and
//! [`Flusher::durable`] for any other write to the database (new chats,
//! users' uploads, notifications), served by a checkpoint: a sled flush,
//! which covers the journaled writes too, after which the journal starts
//! again from the beginning of its file.
//!
//! The order makes it correct: a writer asks only after its write is
//! applied, and the thread takes the journal's records (or starts the sled
//! flush) after it has taken the waiting requests, so every write of a
//! round happened before that round's sync began.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use tokio::sync::oneshot;

use super::StoreError;
use super::journal::{APPLY_KEYS, CHECKPOINT_BYTES, Journal, JournalFile, Record};

/// How long each group flush took (a histogram, in seconds).
pub const FLUSH_SECONDS: &str = "confab_store_flush_seconds";
/// How many writers each group flush served (a histogram).
pub const FLUSH_BATCH: &str = "confab_store_flush_batch_size";

type Reply = oneshot::Sender<Result<(), String>>;

/// One writer waiting: for its journaled write (`full == false`) or for
/// everything written to the database before it asked.
struct Request {
    reply: Reply,
    full: bool,
}

/// The flusher of one database and its journal. Cheap to clone; the
/// thread stops (and is joined) when the last clone is dropped, so that
/// reopening the same path right after finds the database released.
#[derive(Clone)]
pub struct Flusher(Arc<Inner>);

struct Inner {
    journal: Arc<Journal>,
    requests: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<u64>>,
    /// Moves the synced writes into sled ([`Journal::apply_synced`]) on a
    /// thread of its own, so that the next rounds' syncs do not wait for
    /// it: a batch of thousands of keys takes sled tens of milliseconds.
    applier: Option<JoinHandle<()>>,
}

impl Flusher {
    /// Opens the journal at `journal` (replaying what a crash left in it
    /// into `db`) and starts the flusher thread.
    pub fn open(db: sled::Db, journal: &Path) -> Result<Flusher, StoreError> {
        let (journal, file) = Journal::open(db, journal)?;
        Flusher::start(journal, file)
    }

    /// A flusher for a temporary database: for tests. Its journal is a
    /// file unlinked as soon as it is open, so that nothing is left behind
    /// however the process ends; a file left at the same name by an
    /// earlier process (whose id was the same) is removed first, or its
    /// records would be replayed into the new database.
    pub fn temporary(db: sled::Db) -> Result<Flusher, StoreError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "confab-journal-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        Flusher::unlinked(db, &path)
    }

    fn unlinked(db: sled::Db, path: &Path) -> Result<Flusher, StoreError> {
        let _ = std::fs::remove_file(path);
        let (journal, file) = Journal::open(db, path)?;
        let _ = std::fs::remove_file(path);
        Flusher::start(journal, file)
    }

    fn start(journal: Journal, file: JournalFile) -> Result<Flusher, StoreError> {
        let journal = Arc::new(journal);
        let (requests, inbox) = mpsc::channel::<Request>();
        // One signal waits at most: the applier takes everything synced.
        let (synced, rounds) = mpsc::sync_channel::<()>(1);
        let applier = {
            let journal = journal.clone();
            std::thread::Builder::new()
                .name("confab-store-apply".into())
                .spawn(move || apply(&journal, rounds))?
        };
        let thread = {
            let journal = journal.clone();
            std::thread::Builder::new()
                .name("confab-store-flush".into())
                .spawn(move || {
                    let signal = || {
                        let _ = synced.try_send(());
                    };
                    run(&journal, file, inbox, CHECKPOINT_BYTES, &signal)
                })?
        };
        Ok(Flusher(Arc::new(Inner {
            journal,
            requests: Some(requests),
            thread: Some(thread),
            applier: Some(applier),
        })))
    }

    /// Applies `record` to the database and journals it; durable once
    /// [`Flusher::journaled`] resolves.
    pub(crate) fn apply(&self, record: Record) -> Result<(), StoreError> {
        self.0.journal.apply(record)
    }

    /// The journal, which readers of the journaled trees go through.
    pub(crate) fn journal(&self) -> &Journal {
        &self.0.journal
    }

    /// Resolves once every journaled write applied before the call is on
    /// disk.
    pub fn journaled(&self) -> impl Future<Output = Result<(), StoreError>> + use<> {
        self.ask(false)
    }

    /// Resolves once everything written to the database before the call
    /// is on disk.
    pub fn durable(&self) -> impl Future<Output = Result<(), StoreError>> + use<> {
        self.ask(true)
    }

    fn ask(&self, full: bool) -> impl Future<Output = Result<(), StoreError>> + use<> {
        let (reply, answer) = oneshot::channel();
        let asked = self
            .0
            .requests
            .as_ref()
            .is_some_and(|r| r.send(Request { reply, full }).is_ok());
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

/// Serves requests until every sender is gone; returns how many rounds it
/// made (each one sync for one or more writers). A round that finds
/// `checkpoint_bytes` or more written since the last checkpoint
/// checkpoints ([`CHECKPOINT_BYTES`] but in tests). After each round that
/// synced, calls `synced` (the applier's signal).
fn run(
    journal: &Journal,
    mut file: JournalFile,
    inbox: mpsc::Receiver<Request>,
    checkpoint_bytes: u64,
    synced: &dyn Fn(),
) -> u64 {
    let mut rounds = 0;
    while let Ok(first) = inbox.recv() {
        let batch: Vec<Request> = std::iter::once(first).chain(inbox.try_iter()).collect();
        let started = Instant::now();
        let full = batch.iter().any(|r| r.full) || file.written() >= checkpoint_bytes;
        let result = if full {
            journal.checkpoint(&mut file)
        } else {
            let records = journal.take();
            match records.is_empty() {
                // Taken and synced by an earlier round.
                true => Ok(()),
                // A write cut short would leave a torn record before the
                // next ones: a checkpoint makes them all durable and
                // starts the file again.
                false => file.write_synced(&records).map(|()| journal.mark_synced()).or_else(|err| {
                    tracing::warn!(%err, path = %journal.path().display(), "journal write failed; checkpointing instead");
                    journal.checkpoint(&mut file)
                }),
            }
        };
        let result = result.map_err(|e| e.to_string());
        rounds += 1;
        // Once a round, off the writers' path: the global recorder (none
        // installed, each is a no-op).
        metrics::histogram!(FLUSH_SECONDS).record(started.elapsed().as_secs_f64());
        metrics::histogram!(FLUSH_BATCH).record(batch.len() as f64);
        tracing::trace!(writers = batch.len(), full, "store flushed");
        let ok = result.is_ok();
        for request in batch {
            let _ = request.reply.send(result.clone());
        }
        if ok {
            synced();
        }
    }
    if let Err(err) = journal.checkpoint(&mut file) {
        tracing::warn!(%err, "journal not checkpointed at stop");
    }
    rounds
}

/// The applier: after each synced round, moves the synced writes into
/// sled once there are enough of them; ends with the flusher.
fn apply(journal: &Journal, rounds: mpsc::Receiver<()>) {
    while rounds.recv().is_ok() {
        if let Err(err) = journal.apply_synced(APPLY_KEYS) {
            tracing::warn!(%err, "journaled writes not moved into sled; kept in memory for the next try");
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.requests.take();
        // The flusher ends (its last checkpoint done), then the applier.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(applier) = self.applier.take() {
            let _ = applier.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn journal(name: &str) -> (Journal, JournalFile, PathBuf) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let path =
            std::env::temp_dir().join(format!("confab-flush-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let (journal, file) = Journal::open(db, &path).unwrap();
        (journal, file, path)
    }

    /// Writers that asked while the flusher was busy share its next round.
    /// Driven by hand, so the batching is seen without racing the thread.
    #[test]
    fn waiting_writers_share_one_flush() {
        let (journal, file, path) = journal("share");
        let (requests, inbox) = mpsc::channel::<Request>();
        let answers: Vec<_> = (0..50)
            .map(|i| {
                let mut record = Record::default();
                record.insert("t", format!("k{i}").as_bytes(), b"v");
                journal.apply(record).unwrap();
                let (reply, answer) = oneshot::channel();
                requests
                    .send(Request {
                        reply,
                        full: i == 49,
                    })
                    .unwrap();
                answer
            })
            .collect();
        drop(requests);
        assert_eq!(run(&journal, file, inbox, CHECKPOINT_BYTES, &|| {}), 1);
        for mut answer in answers {
            assert_eq!(answer.try_recv().unwrap(), Ok(()));
        }
        let _ = std::fs::remove_file(path);
    }

    /// The sequence number of the first record in the journal's file.
    fn first_seq(path: &Path) -> u64 {
        let bytes = std::fs::read(path).unwrap();
        u64::from_le_bytes(bytes[8..16].try_into().unwrap())
    }

    /// Past its threshold of bytes written, the journal is checkpointed by
    /// the next round (sled flushed, the waiting writers answered without
    /// a write to the file), and the records after it are written from
    /// the file's start again, over the older ones.
    #[test]
    fn a_journal_past_its_threshold_is_checkpointed_and_written_from_its_start() {
        let (journal, file, path) = journal("threshold");
        let journal = Arc::new(journal);
        let (requests, inbox) = mpsc::channel::<Request>();
        let flusher = {
            let journal = journal.clone();
            std::thread::spawn(move || run(&journal, file, inbox, 100, &|| {}))
        };
        // One round per write: each waits for its answer.
        let write = |key: &[u8], value_len: usize| {
            let mut record = Record::default();
            record.insert("t", key, &vec![b'v'; value_len]);
            journal.apply(record).unwrap();
            let (reply, answer) = oneshot::channel();
            requests.send(Request { reply, full: false }).unwrap();
            answer.blocking_recv().unwrap()
        };
        assert_eq!(write(b"1", 200), Ok(()));
        let first = std::fs::read(&path).unwrap();
        assert_eq!(first_seq(&path), 1);
        assert_eq!(write(b"2", 10), Ok(()));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            first,
            "checkpointed, not written"
        );
        assert_eq!(write(b"3", 10), Ok(()));
        assert_eq!(first_seq(&path), 3);
        drop(requests);
        assert_eq!(flusher.join().unwrap(), 3);
        let _ = std::fs::remove_file(path);
    }

    /// Past [`APPLY_KEYS`] synced keys, the applier moves the writes into
    /// sled, so the memory they hold stays bounded under a steady load
    /// (the journal's overlays end below the threshold); readers see
    /// every write throughout.
    #[actix_rt::test]
    async fn past_the_apply_threshold_the_writes_reach_sled() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let flusher = Flusher::temporary(db.clone()).unwrap();
        let tree = db.open_tree("t").unwrap();
        let keys = APPLY_KEYS + 10;
        for i in 0..keys {
            let mut record = Record::default();
            record.insert("t", format!("k{i}").as_bytes(), b"v");
            flusher.apply(record).unwrap();
        }
        flusher.journaled().await.unwrap();
        let last = format!("k{}", keys - 1);
        let seen = flusher.journal().get(&tree, "t", last.as_bytes()).unwrap();
        assert!(seen.is_some());
        let deadline = Instant::now() + Duration::from_secs(20);
        while tree.len() < keys {
            assert!(
                Instant::now() < deadline,
                "{} of {keys} keys in sled",
                tree.len()
            );
            actix_rt::time::sleep(Duration::from_millis(10)).await;
        }
        let held = flusher.journal().held();
        assert!(held < APPLY_KEYS, "{held} writes still held in memory");
    }

    /// A temporary database starts empty even where an earlier process
    /// left a journal at its file's name (process ids are reused; a
    /// killed test server leaves its file), and leaves no file itself.
    #[actix_rt::test]
    async fn a_temporary_journal_ignores_a_stale_file_and_leaves_none() {
        let (stale, mut file, path) = journal("stale");
        let mut record = Record::default();
        record.insert("t", b"stale", b"v");
        stale.apply(record).unwrap();
        file.write_synced(&stale.take()).unwrap();
        drop((stale, file));
        assert!(path.exists());

        let db = sled::Config::new().temporary(true).open().unwrap();
        let flusher = Flusher::unlinked(db.clone(), &path).unwrap();
        assert!(!path.exists(), "unlinked once open");
        assert_eq!(db.open_tree("t").unwrap().get(b"stale").unwrap(), None);
        let mut record = Record::default();
        record.insert("t", b"fresh", b"v");
        flusher.apply(record).unwrap();
        flusher.journaled().await.unwrap();
        let tree = db.open_tree("t").unwrap();
        assert!(
            flusher
                .journal()
                .get(&tree, "t", b"fresh")
                .unwrap()
                .is_some()
        );
    }
}
