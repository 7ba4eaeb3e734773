//! The write-ahead journal: what makes a chat write durable with one
//! `write` and one `fdatasync` of a file of our own, from the flusher's
//! thread, rather than a sled flush. A sled 0.34 flush seals sled's buffer,
//! hands its write to sled's I/O thread pool (waking all of the pool's idle
//! threads), and ends in `sync_file_range`, which waits for the data's
//! writeback but flushes neither the file's metadata nor the disk's cache;
//! `fdatasync` does both.
//!
//! A journaled write is appended to the journal's buffer and laid over
//! sled in memory ([`Overlay`]) under one lock, so the journal's order is
//! the order the writes were made in, and every reader sees them at once.
//! The flusher writes the buffer to the file and syncs it
//! ([`Journal::take`], [`Journal::mark_synced`]); once enough keys have
//! piled up, the applier moves their writes into sled
//! ([`Journal::apply_synced`]): only writes the file has, so that sled never
//! holds a write a crash could take from the journal, and one sled write
//! for a key written by many records. A
//! checkpoint ([`Journal::checkpoint`]: every write into sled, then a sled
//! flush, under the lock) ends the journal's need for what it holds: the
//! next records are written from the file's start again, over the older
//! ones ([`JournalFile`]).
//!
//! At open, the records left in the file are applied to sled again, in
//! order, and the journal is checkpointed ([`Journal::open`]): applying a
//! record sled has already is harmless, since every later one is applied
//! after it. A record cut short by a crash (a short frame, or one whose
//! checksum does not match) ends the replay: it was never synced, so never
//! acknowledged; so does a record numbered lower than the one before it
//! (what is left of the records written before the last checkpoint).
//!
//! Data directories written before the overlay (which wrote each record
//! into sled at once) may hold, in a journaled tree, the number of the last
//! record applied ([`SEQ_KEY`]) and the undo of a record a crash tore
//! ([`UNDO_KEY`]): a replay skips the records a tree has, and takes back a
//! torn one the file does not have, so that such a directory opens whole.
//!
//! The file: records, each `[payload length: u32 LE][crc32 of the payload:
//! u32 LE][payload]`; a payload is the sequence number (u64 LE) then
//! operations, each `[kind: u8][tree name: u16 LE length, bytes][key: u32
//! LE length, bytes]` and, for an insert, `[value: u32 LE length, bytes]`,
//! for an at-least, the value as a big-endian u64 (as the store's counters
//! keep it).

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Batch, IVec, Transactional, Tree};

use super::StoreError;
use super::overlay::{Entries, KeyRange, Merged, Overlay, Writes};

/// The key under which a journaled tree keeps the sequence number of the
/// last record a replay applied to it (and, before the overlay, every
/// write). No key of the store starts with `0xff` (keys start with a letter
/// or with a user id, which is UTF-8).
pub(crate) const SEQ_KEY: &[u8] = b"\xff\xffjournal-seq";

/// The key under which a journaled tree written before the overlay keeps
/// the undo of the last record begun in it: the record's number and what
/// the keys it writes held before. A number newer than the tree's
/// [`SEQ_KEY`] at open means a crash tore the record in that tree
/// ([`Journal::open`]).
pub(crate) const UNDO_KEY: &[u8] = b"\xff\xffjournal-undo";

/// Past this many bytes written since the last checkpoint, the flusher
/// checkpoints, so that the file (and a replay at start-up) stays short.
pub(crate) const CHECKPOINT_BYTES: u64 = 32 * 1024 * 1024;

/// Once the synced writes not yet in sled reach this many keys, the
/// applier moves them into sled ([`Journal::apply_synced`]).
pub(crate) const APPLY_KEYS: usize = 4096;

const INSERT: u8 = 1;
const REMOVE: u8 = 2;
const AT_LEAST: u8 = 3;

/// The operations of one write, applied together and journaled as one
/// record.
#[derive(Debug, Default)]
pub struct Record {
    ops: Vec<u8>,
}

impl Record {
    pub fn insert(&mut self, tree: &str, key: &[u8], value: &[u8]) {
        self.op(INSERT, tree, key);
        put_bytes(&mut self.ops, value);
    }

    pub fn remove(&mut self, tree: &str, key: &[u8]) {
        self.op(REMOVE, tree, key);
    }

    /// A counter (a big-endian u64) that must be at least `value`: it was
    /// raised already when the write took its id; the journal only makes
    /// sure a replay never leaves it lower, so that no id is given twice.
    pub fn at_least(&mut self, tree: &str, key: &[u8], value: u64) {
        self.op(AT_LEAST, tree, key);
        self.ops.extend_from_slice(&value.to_be_bytes());
    }

    fn op(&mut self, kind: u8, tree: &str, key: &[u8]) {
        self.ops.push(kind);
        let name = tree.as_bytes();
        self.ops
            .extend_from_slice(&(name.len() as u16).to_le_bytes());
        self.ops.extend_from_slice(name);
        put_bytes(&mut self.ops, key);
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// One decoded operation.
enum Op<'a> {
    Insert(&'a [u8], &'a [u8]),
    Remove(&'a [u8]),
    AtLeast(&'a [u8], u64),
}

/// Reads a record's operations; `None` if they do not parse (a checksum
/// that matches makes that a bug, not a torn write).
fn parse_ops(mut ops: &[u8]) -> Option<Vec<(&str, Op<'_>)>> {
    fn take<'a>(buf: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (buf.get(..n)?, buf.get(n..)?);
        *buf = rest;
        Some(head)
    }
    fn sized<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(take(buf, 4)?.try_into().ok()?) as usize;
        take(buf, len)
    }
    let mut out = Vec::new();
    while !ops.is_empty() {
        let kind = take(&mut ops, 1)?[0];
        let name_len = u16::from_le_bytes(take(&mut ops, 2)?.try_into().ok()?) as usize;
        let tree = std::str::from_utf8(take(&mut ops, name_len)?).ok()?;
        let key = sized(&mut ops)?;
        let op = match kind {
            INSERT => Op::Insert(key, sized(&mut ops)?),
            REMOVE => Op::Remove(key),
            AT_LEAST => Op::AtLeast(key, u64::from_be_bytes(take(&mut ops, 8)?.try_into().ok()?)),
            _ => return None,
        };
        out.push((tree, op));
    }
    Some(out)
}

/// The journal of one database: the lock that orders journaled writes,
/// and the bytes not yet handed to the flusher.
pub struct Journal {
    db: sled::Db,
    path: PathBuf,
    state: Mutex<State>,
    /// Held while writes go into sled (taken before `state`): a checkpoint
    /// waits for an apply of the taken writes to end, so that no older
    /// value lands in sled after its newer ones.
    applying: Mutex<()>,
}

struct State {
    /// Framed records not yet taken by the flusher.
    pending: Vec<u8>,
    /// The writes of the records in `pending`.
    fresh: Overlay,
    /// The writes of the records the flusher took and is syncing.
    syncing: Overlay,
    /// The writes of the records the file has, not yet in sled.
    synced: Overlay,
    /// Writes the flusher is moving into sled now.
    applying: Option<Arc<Overlay>>,
    /// The sequence number of the next record.
    next_seq: u64,
    /// Trees by name, opened once.
    trees: HashMap<String, Tree>,
}

impl Journal {
    /// Opens the journal at `path` for `db`: applies what a crash left in
    /// it, makes that durable in sled, and empties it. Returns the journal
    /// and its file, for the flusher (the only writer of the file).
    pub fn open(db: sled::Db, path: &Path) -> Result<(Journal, JournalFile), StoreError> {
        let io_error = |e: io::Error| StoreError::Journal(format!("{}: {e}", path.display()));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_error)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_error)?;
        let mut file = JournalFile {
            allocated: bytes.len() as u64,
            file,
            offset: 0,
        };
        let journal = Journal {
            path: path.to_owned(),
            state: Mutex::new(State {
                pending: Vec::new(),
                fresh: Overlay::default(),
                syncing: Overlay::default(),
                synced: Overlay::default(),
                applying: None,
                next_seq: 1,
                trees: HashMap::new(),
            }),
            db,
            applying: Mutex::new(()),
        };
        let replayed = journal.replay(&bytes)?;
        if replayed > 0 {
            tracing::info!(
                records = replayed,
                path = %path.display(),
                "journal replayed into the store"
            );
        }
        journal.checkpoint(&mut file)?;
        Ok((journal, file))
    }

    /// Lays `record` over sled and appends it to the journal, as one step
    /// with respect to every other journaled write: readers see it at once
    /// ([`Journal::get`], [`Journal::range`]), sled later.
    pub fn apply(&self, record: Record) -> Result<(), StoreError> {
        let ops = parse_ops(&record.ops).ok_or_else(|| StoreError::Journal("bad record".into()))?;
        let mut state = self.lock();
        for (tree, op) in &ops {
            match op {
                Op::Insert(key, value) => state.fresh.write(tree, key, Some(value)),
                Op::Remove(key) => state.fresh.write(tree, key, None),
                // Raised already when the id was taken: only a replay
                // needs to.
                Op::AtLeast(..) => {}
            }
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        let payload_len = 8 + record.ops.len();
        let mut crc = crc32fast::Hasher::new();
        crc.update(&seq.to_le_bytes());
        crc.update(&record.ops);
        let pending = &mut state.pending;
        pending.reserve(8 + payload_len);
        pending.extend_from_slice(&(payload_len as u32).to_le_bytes());
        pending.extend_from_slice(&crc.finalize().to_le_bytes());
        pending.extend_from_slice(&seq.to_le_bytes());
        pending.extend_from_slice(&record.ops);
        Ok(())
    }

    /// The framed records appended since the last call, to be written and
    /// synced by the flusher, which then says so ([`Journal::mark_synced`]).
    pub fn take(&self) -> Vec<u8> {
        let mut state = self.lock();
        let fresh = std::mem::take(&mut state.fresh);
        state.syncing.extend(fresh);
        std::mem::take(&mut state.pending)
    }

    /// The records last taken are in the file: their writes may go into
    /// sled ([`Journal::apply_synced`]).
    pub fn mark_synced(&self) {
        let mut state = self.lock();
        let syncing = std::mem::take(&mut state.syncing);
        state.synced.extend(syncing);
    }

    /// Moves the writes of the records synced so far into sled, once they
    /// are `at_least` keys (the applier's work). Readers see the writes
    /// throughout; writers and the flusher's syncs go on meanwhile.
    pub fn apply_synced(&self, at_least: usize) -> Result<(), StoreError> {
        let _sled = self.applying.lock().unwrap_or_else(|e| e.into_inner());
        let applying = {
            let mut state = self.lock();
            if state.synced.is_empty() || state.synced.len() < at_least {
                return Ok(());
            }
            let applying = Arc::new(std::mem::take(&mut state.synced));
            state.applying = Some(applying.clone());
            applying
        };
        let written = self.write_to_sled(&applying);
        let mut state = self.lock();
        state.applying = None;
        if written.is_err() {
            // Kept for the next try, under what was synced since.
            let newer = std::mem::take(&mut state.synced);
            let mut kept = Arc::unwrap_or_clone(applying);
            kept.extend(newer);
            state.synced = kept;
        }
        written
    }

    /// Makes everything journaled so far durable in sled; from then on,
    /// nothing in the journal is needed, and the next records are written
    /// from the start of the file again. Journaled writes wait meanwhile.
    pub fn checkpoint(&self, file: &mut JournalFile) -> Result<(), StoreError> {
        let _sled = self.applying.lock().unwrap_or_else(|e| e.into_inner());
        let mut state = self.lock();
        for newer in [
            std::mem::take(&mut state.syncing),
            std::mem::take(&mut state.fresh),
        ] {
            state.synced.extend(newer);
        }
        self.write_to_sled(&state.synced)?;
        state.synced = Overlay::default();
        self.db.flush()?;
        state.pending.clear();
        file.offset = 0;
        Ok(())
    }

    /// One batch per tree: each tree's writes are whole in sled or absent
    /// after a crash, and the file has them either way.
    fn write_to_sled(&self, overlay: &Overlay) -> Result<(), StoreError> {
        for (tree, batch) in overlay.batches() {
            self.db.open_tree(tree)?.apply_batch(batch)?;
        }
        Ok(())
    }

    /// The value of `key` in the journaled tree `tree` (named `name`): the
    /// newest write to it not yet in sled, else sled's.
    pub fn get(&self, tree: &Tree, name: &str, key: &[u8]) -> Result<Option<IVec>, StoreError> {
        if let Some(value) = self.lock().newest(name, key) {
            return Ok(value);
        }
        Ok(tree.get(key)?)
    }

    /// The entries of the journaled tree `tree` (named `name`) in `range`,
    /// the writes not yet in sled included; reversed if `rev`.
    pub fn range(&self, tree: &Tree, name: &str, range: KeyRange, rev: bool) -> Merged<Entries> {
        let mut writes = Writes::new();
        {
            let state = self.lock();
            let older_first = state.applying.as_deref().into_iter().chain([
                &state.synced,
                &state.syncing,
                &state.fresh,
            ]);
            for overlay in older_first {
                overlay.range_into(name, &range, &mut writes);
            }
        }
        let entries = tree.range(range);
        let entries: Entries = match rev {
            true => Box::new(entries.rev()),
            false => Box::new(entries),
        };
        Merged::new(entries, writes, rev)
    }

    /// Where the journal is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies the records of `bytes` (the file's content) in order, up
    /// to the first one cut short, after taking back the trees a record
    /// was torn in that the file does not have (see [`UNDO_KEY`]); the
    /// next sequence number follows the largest seen, in the file or in
    /// any tree.
    fn replay(&self, mut bytes: &[u8]) -> Result<usize, StoreError> {
        let mut state = self.lock();
        let mut records = Vec::new();
        let mut previous = 0;
        while let Some((seq, ops, rest)) = frame(bytes) {
            // The file is written again from its start after each
            // checkpoint: past the last record written since, what is
            // left of the older ones (lower numbers) was checkpointed.
            if seq <= previous {
                break;
            }
            previous = seq;
            bytes = rest;
            let ops = parse_ops(ops).ok_or_else(|| StoreError::Journal("bad record".into()))?;
            records.push((seq, ops));
        }
        let mut last = previous;
        let mut undos = Vec::new();
        for name in self.db.tree_names() {
            let tree = self.db.open_tree(&name)?;
            let applied = tree.get(SEQ_KEY)?.as_deref().and_then(read_seq);
            last = last.max(applied.unwrap_or(0));
            if let Some(undo) = tree.get(UNDO_KEY)? {
                let seq = undo
                    .get(..8)
                    .and_then(read_seq)
                    .ok_or_else(|| torn_undo(&name))?;
                last = last.max(seq);
                undos.push((tree, applied, seq, undo));
            }
        }
        // A record begun in a tree (its undo there) and not finished (the
        // tree's number older), never synced (not in the file), so never
        // acknowledged: taken back in every tree it wrote, so that none
        // keeps half of it.
        let torn: Vec<u64> = undos
            .iter()
            .filter(|(_, applied, seq, _)| *applied < Some(*seq))
            .map(|(_, _, seq, _)| *seq)
            .filter(|seq| !records.iter().any(|(s, _)| s == seq))
            .collect();
        for (tree, _, seq, undo) in &undos {
            if torn.contains(seq) {
                let name = tree.name();
                let mut batch = undo_batch(&undo[8..]).ok_or_else(|| torn_undo(&name))?;
                batch.remove(UNDO_KEY);
                tree.apply_batch(batch)?;
                let tree = String::from_utf8_lossy(&name);
                tracing::warn!(record = seq, %tree, "a record torn by a crash, never synced, taken back");
            }
        }
        for (seq, ops) in &records {
            state.replay(&self.db, *seq, ops)?;
        }
        state.next_seq = last + 1;
        Ok(records.len())
    }

    /// How many writes the journal holds in memory (its overlays), not
    /// yet in sled: what [`APPLY_KEYS`] bounds under load.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        let state = self.lock();
        let applying = state.applying.as_ref().map_or(0, |a| a.len());
        state.fresh.len() + state.syncing.len() + state.synced.len() + applying
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change under the lock is whole or not made (sled batches
        // and transactions), so a poisoned lock still guards a sound state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The first whole record of `bytes`: its sequence number, operations, and
/// the bytes after it.
fn frame(bytes: &[u8]) -> Option<(u64, &[u8], &[u8])> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    let payload = bytes.get(8..8usize.checked_add(len)?)?;
    if len < 8 || crc32fast::hash(payload) != crc {
        return None;
    }
    let seq = u64::from_le_bytes(payload[..8].try_into().ok()?);
    Some((seq, &payload[8..], &bytes[8 + len..]))
}

fn read_seq(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

impl State {
    fn tree(&mut self, db: &sled::Db, name: &str) -> Result<Tree, StoreError> {
        if let Some(tree) = self.trees.get(name) {
            return Ok(tree.clone());
        }
        let tree = db.open_tree(name)?;
        self.trees.insert(name.to_owned(), tree.clone());
        Ok(tree)
    }

    /// The newest write to `key` of the tree `name` not yet in sled:
    /// `Some(None)` if it removes the key.
    fn newest(&self, name: &str, key: &[u8]) -> Option<Option<IVec>> {
        let newest_first = [
            Some(&self.fresh),
            Some(&self.syncing),
            Some(&self.synced),
            self.applying.as_deref(),
        ];
        newest_first
            .into_iter()
            .flatten()
            .find_map(|overlay| overlay.get(name, key).cloned())
    }

    /// Replays one record into sled: one batch per tree, in one
    /// transaction when it writes several trees, each with the record's
    /// number ([`SEQ_KEY`]); a tree that has the record already is left
    /// alone.
    fn replay(
        &mut self,
        db: &sled::Db,
        seq: u64,
        ops: &[(&str, Op<'_>)],
    ) -> Result<(), StoreError> {
        let mut writes: BTreeMap<&str, Vec<Write<'_>>> = BTreeMap::new();
        let mut counters: Vec<(&str, &[u8], u64)> = Vec::new();
        for (tree, op) in ops {
            match op {
                Op::Insert(key, value) => writes.entry(tree).or_default().push((key, Some(value))),
                Op::Remove(key) => writes.entry(tree).or_default().push((key, None)),
                Op::AtLeast(key, value) => counters.push((tree, key, *value)),
            }
        }
        for (name, key, value) in counters {
            self.tree(db, name)?.update_and_fetch(key, |old| {
                let old = old
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, u64::from_be_bytes);
                Some(old.max(value).to_be_bytes().to_vec())
            })?;
        }
        let mut batches: Vec<(Tree, Batch)> = Vec::with_capacity(writes.len());
        for (name, writes) in writes {
            let tree = self.tree(db, name)?;
            if tree.get(SEQ_KEY)?.as_deref().and_then(read_seq) >= Some(seq) {
                continue;
            }
            let mut batch = Batch::default();
            for (key, value) in writes {
                match value {
                    Some(value) => batch.insert(key, value),
                    None => batch.remove(key),
                }
            }
            batch.insert(SEQ_KEY, &seq.to_le_bytes()[..]);
            batches.push((tree, batch));
        }
        if batches.len() == 1
            && let Some((tree, batch)) = batches.pop()
        {
            return Ok(tree.apply_batch(batch)?);
        }
        match batches.as_slice() {
            [] => Ok(()),
            several => {
                let trees: Vec<&Tree> = several.iter().map(|(t, _)| t).collect();
                trees
                    .as_slice()
                    .transaction(|views| {
                        for (view, (_, batch)) in views.iter().zip(several) {
                            view.apply_batch(batch)?;
                        }
                        Ok::<(), ConflictableTransactionError<StoreError>>(())
                    })
                    .map_err(|e: TransactionError<StoreError>| e.into())
            }
        }
    }
}

/// One write of a record to a tree: a key and its new value, or `None`
/// to remove it.
type Write<'a> = (&'a [u8], Option<&'a [u8]>);

/// The batch that puts back what an undo's keys held (its entries, after
/// the number); `None` if it does not parse.
fn undo_batch(mut entries: &[u8]) -> Option<Batch> {
    fn sized<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(buf.get(..4)?.try_into().ok()?) as usize;
        let bytes = buf.get(4..4usize.checked_add(len)?)?;
        *buf = &buf[4 + len..];
        Some(bytes)
    }
    let mut batch = Batch::default();
    while !entries.is_empty() {
        let key = sized(&mut entries)?;
        let (present, rest) = entries.split_first()?;
        entries = rest;
        match present {
            0 => batch.remove(key),
            1 => batch.insert(key, sized(&mut entries)?),
            _ => return None,
        }
    }
    Some(batch)
}

fn torn_undo(tree: &[u8]) -> StoreError {
    let tree = String::from_utf8_lossy(tree);
    StoreError::Journal(format!("the undo kept in tree {tree} does not parse"))
}

/// The journal's file, which only the flusher thread writes: records are
/// written from `offset`, and after a checkpoint from the start again, over
/// the older ones. The file grows by [`GROW_BYTES`] of zeros at a time and
/// is never shortened, so that a sync after a write is, most of the time,
/// an overwrite of blocks the file already has: `fdatasync` then writes the
/// data alone, without a journal commit of the file system for a new size.
pub struct JournalFile {
    file: File,
    /// Where the next records go.
    offset: u64,
    /// The file's length: blocks written (zeros or records) and synced.
    allocated: u64,
}

/// How much the journal's file grows at a time.
pub(crate) const GROW_BYTES: u64 = 1024 * 1024;

impl JournalFile {
    /// Writes `bytes` at the journal's end and syncs them.
    pub fn write_synced(&mut self, bytes: &[u8]) -> io::Result<()> {
        let end = self.offset + bytes.len() as u64;
        if end > self.allocated {
            let grown = end.div_ceil(GROW_BYTES) * GROW_BYTES;
            let zeros = vec![0u8; (grown - self.allocated) as usize];
            self.file.write_all_at(&zeros, self.allocated)?;
            self.allocated = grown;
        }
        self.file.write_all_at(bytes, self.offset)?;
        self.file.sync_data()?;
        self.offset = end;
        Ok(())
    }

    /// Bytes written since the last checkpoint.
    pub fn written(&self) -> u64 {
        self.offset
    }
}

#[cfg(test)]
mod tests {
    use std::ops::Bound;

    use super::*;

    /// A journal file of its own for each test.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str) -> TempFile {
            let path = std::env::temp_dir()
                .join(format!("confab-journal-test-{name}-{}", std::process::id()));
            let _ = std::fs::remove_file(&path);
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn db() -> sled::Db {
        sled::Config::new().temporary(true).open().unwrap()
    }

    /// The undo of record `seq` in `tree`: `[seq: u64 LE]` then, for each key
    /// it writes, `[key: u32 LE length, bytes]` and what it held: `[0]` for
    /// nothing, or `[1][value: u32 LE length, bytes]`.
    fn undo_of(tree: &Tree, seq: u64, writes: &[Write<'_>]) -> Result<Vec<u8>, StoreError> {
        let mut undo = seq.to_le_bytes().to_vec();
        for (key, _) in writes {
            put_bytes(&mut undo, key);
            match tree.get(key)? {
                Some(old) => {
                    undo.push(1);
                    put_bytes(&mut undo, &old);
                }
                None => undo.push(0),
            }
        }
        Ok(undo)
    }

    fn get(db: &sled::Db, tree: &str, key: &[u8]) -> Option<Vec<u8>> {
        db.open_tree(tree)
            .unwrap()
            .get(key)
            .unwrap()
            .map(|v| v.to_vec())
    }

    /// The number the next record gets.
    fn next_seq(journal: &Journal) -> u64 {
        journal
            .apply(record(|r| r.insert("a", b"next", b"v")))
            .unwrap();
        frame(&journal.take()).unwrap().0
    }

    /// What a reader of `tree` sees of `key` through the journal.
    fn read(journal: &Journal, db: &sled::Db, tree: &str, key: &[u8]) -> Option<Vec<u8>> {
        let sled = db.open_tree(tree).unwrap();
        journal.get(&sled, tree, key).unwrap().map(|v| v.to_vec())
    }

    /// Journals `records` on a database of their own and returns the bytes
    /// the flusher would have written: what a crash leaves in the file.
    fn journaled(records: Vec<Record>) -> Vec<u8> {
        let file = TempFile::new("source");
        let (journal, _file) = Journal::open(db(), &file.0).unwrap();
        for record in records {
            journal.apply(record).unwrap();
        }
        journal.take()
    }

    fn record(f: impl FnOnce(&mut Record)) -> Record {
        let mut r = Record::default();
        f(&mut r);
        r
    }

    fn reopen(name: &str, db: &sled::Db, bytes: &[u8]) -> (Journal, TempFile) {
        let file = TempFile::new(name);
        std::fs::write(&file.0, bytes).unwrap();
        let (journal, _) = Journal::open(db.clone(), &file.0).unwrap();
        (journal, file)
    }

    #[test]
    fn a_crash_leaves_records_that_are_applied_again_at_open() {
        let bytes = journaled(vec![
            record(|r| {
                r.insert("a", b"k1", b"v1");
                r.insert("b", b"x", b"1");
                r.at_least("counters", b"message", 7);
            }),
            record(|r| {
                r.insert("a", b"k1", b"v2");
                r.remove("b", b"x");
            }),
        ]);
        let db = db();
        db.open_tree("counters")
            .unwrap()
            .insert(b"message", &3u64.to_be_bytes())
            .unwrap();
        let (journal, _file) = reopen("replay", &db, &bytes);
        assert_eq!(get(&db, "a", b"k1").as_deref(), Some(&b"v2"[..]));
        assert_eq!(get(&db, "b", b"x"), None);
        // A counter is raised to what the journal saw, never lowered.
        assert_eq!(
            get(&db, "counters", b"message").as_deref(),
            Some(&7u64.to_be_bytes()[..])
        );
        // Checkpointed at open: the next record follows.
        assert_eq!(next_seq(&journal), 3);
    }

    #[test]
    fn records_after_a_checkpoint_go_over_the_older_ones_which_a_replay_leaves() {
        let file = TempFile::new("rewind");
        let db1 = db();
        let (journal, mut out) = Journal::open(db1.clone(), &file.0).unwrap();
        for key in [b"1", b"2"] {
            journal.apply(record(|r| r.insert("a", key, b"x"))).unwrap();
        }
        out.write_synced(&journal.take()).unwrap();
        let grown = std::fs::metadata(&file.0).unwrap().len();
        assert_eq!(grown, GROW_BYTES);
        journal.checkpoint(&mut out).unwrap();
        assert_eq!(out.written(), 0);
        // As long as the first: written over it, the second's left after.
        journal
            .apply(record(|r| r.insert("a", b"3", b"x")))
            .unwrap();
        out.write_synced(&journal.take()).unwrap();
        assert_eq!(std::fs::metadata(&file.0).unwrap().len(), grown);
        let bytes = std::fs::read(&file.0).unwrap();
        let db2 = db();
        let _j = reopen("rewound", &db2, &bytes);
        let tree = db2.open_tree("a").unwrap();
        let present = [b"1", b"2", b"3"].map(|k| tree.contains_key(k).unwrap());
        assert_eq!(present, [false, false, true]);
    }

    #[test]
    fn a_replay_never_takes_a_tree_back() {
        let bytes = journaled(vec![
            record(|r| r.insert("a", b"k", b"old")),
            record(|r| r.insert("b", b"k", b"old")),
        ]);
        // sled had persisted a newer write to `a` (record 5, say), and not
        // the journal's second record to `b`.
        let db = db();
        let a = db.open_tree("a").unwrap();
        a.insert(b"k", b"newer").unwrap();
        a.insert(SEQ_KEY, &5u64.to_le_bytes()).unwrap();
        let (journal, _file) = reopen("newer", &db, &bytes);
        assert_eq!(get(&db, "a", b"k").as_deref(), Some(&b"newer"[..]));
        assert_eq!(get(&db, "b", b"k").as_deref(), Some(&b"old"[..]));
        // Sequence numbers go on past every tree's.
        assert_eq!(next_seq(&journal), 6);
    }

    #[test]
    fn a_torn_or_corrupt_record_ends_the_replay() {
        let bytes = journaled(vec![
            record(|r| r.insert("a", b"1", b"x")),
            record(|r| r.insert("a", b"2", b"x")),
            record(|r| r.insert("a", b"3", b"x")),
        ]);
        let keys = |db: &sled::Db| {
            let tree = db.open_tree("a").unwrap();
            [b"1", b"2", b"3"].map(|k| tree.contains_key(k).unwrap())
        };
        // Cut inside the third record.
        let db1 = db();
        let _j = reopen("torn", &db1, &bytes[..bytes.len() - 3]);
        assert_eq!(keys(&db1), [true, true, false]);
        // A byte of the second record's payload flipped.
        let mut corrupt = bytes.clone();
        let second = 8 + u32::from_le_bytes(corrupt[..4].try_into().unwrap()) as usize;
        corrupt[second + 8 + 2] ^= 0x40;
        let db2 = db();
        let _j = reopen("corrupt", &db2, &corrupt);
        assert_eq!(keys(&db2), [true, false, false]);
    }

    /// A record is read at once, through the journal; sled has it only
    /// once the flusher took and synced it and the applier moved the
    /// synced writes into sled, each tree's in one batch.
    #[test]
    fn a_record_is_read_at_once_and_reaches_sled_once_synced_and_applied() {
        let db = db();
        let file = TempFile::new("several");
        let (journal, _) = Journal::open(db.clone(), &file.0).unwrap();
        db.open_tree("b").unwrap().insert(b"gone", b"x").unwrap();
        journal
            .apply(record(|r| {
                r.insert("a", b"k", b"v");
                r.remove("b", b"gone");
            }))
            .unwrap();
        let seen = |journal: &Journal| {
            (
                read(journal, &db, "a", b"k"),
                read(journal, &db, "b", b"gone"),
            )
        };
        let written = (Some(b"v".to_vec()), None);
        assert_eq!(seen(&journal), written);
        assert_eq!(get(&db, "a", b"k"), None, "not in sled before it is synced");
        journal.apply_synced(0).unwrap();
        assert_eq!(get(&db, "a", b"k"), None, "not taken: not in sled");
        journal.take();
        journal.apply_synced(0).unwrap();
        assert_eq!(
            get(&db, "a", b"k"),
            None,
            "taken, not yet synced: not in sled"
        );
        assert_eq!(seen(&journal), written);
        journal.mark_synced();
        journal.apply_synced(2).unwrap();
        assert_eq!((get(&db, "a", b"k"), get(&db, "b", b"gone")), written);
        assert_eq!(seen(&journal), written);
    }

    /// A key written by many records costs sled one write, and a range
    /// read sees sled's entries with the writes it does not have yet.
    #[test]
    fn writes_pile_up_until_enough_keys_and_ranges_see_them() {
        let db = db();
        let file = TempFile::new("pile");
        let (journal, _) = Journal::open(db.clone(), &file.0).unwrap();
        let tree = db.open_tree("a").unwrap();
        tree.insert(b"m1", b"old").unwrap();
        tree.insert(b"m9", b"old").unwrap();
        for i in 2..5 {
            journal
                .apply(record(|r| {
                    r.insert("a", format!("m{i}").as_bytes(), b"new");
                    r.insert("a", b"h", format!("{i}").as_bytes());
                }))
                .unwrap();
            journal.take();
            journal.mark_synced();
            journal.apply_synced(5).unwrap();
        }
        assert_eq!(get(&db, "a", b"h"), None, "four keys: under the threshold");
        let range = |rev| {
            let range = (
                Bound::Included(b"m".to_vec()),
                Bound::Excluded(b"n".to_vec()),
            );
            journal
                .range(&tree, "a", range, rev)
                .map(|e| String::from_utf8(e.unwrap().0.to_vec()).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(range(false), ["m1", "m2", "m3", "m4", "m9"]);
        assert_eq!(range(true), ["m9", "m4", "m3", "m2", "m1"]);
        journal
            .apply(record(|r| r.insert("a", b"m5", b"new")))
            .unwrap();
        journal.take();
        journal.mark_synced();
        journal.apply_synced(5).unwrap();
        assert_eq!(
            get(&db, "a", b"h").as_deref(),
            Some(&b"4"[..]),
            "the last write"
        );
        assert_eq!(range(false), ["m1", "m2", "m3", "m4", "m5", "m9"]);
    }

    /// A data directory written before the overlay, by a crash in the
    /// middle of a record never synced: sled kept the record whole in one
    /// tree and half in another (a prefix of its log), with the undo each
    /// tree got first. At open, the record is taken back in both; had the
    /// file kept it, it would be completed instead.
    #[test]
    fn a_record_torn_by_a_crash_is_taken_back_unless_the_file_has_it() {
        let first = || {
            record(|r| {
                r.insert("a", b"k", b"v1");
                r.insert("b", b"x", b"1");
            })
        };
        let second = || {
            record(|r| {
                r.insert("a", b"k", b"v2");
                r.insert("a", b"new", b"n");
                r.remove("b", b"x");
                r.insert("b", b"y", b"2");
            })
        };
        for synced in [false, true] {
            let db = db();
            let (a, b) = (db.open_tree("a").unwrap(), db.open_tree("b").unwrap());
            // The first record, whole in both trees.
            a.insert(b"k", b"v1").unwrap();
            b.insert(b"x", b"1").unwrap();
            for tree in [&a, &b] {
                tree.insert(SEQ_KEY, &1u64.to_le_bytes()).unwrap();
            }
            // The second: in `a` its undo, its writes and its number; in
            // `b` its undo and the first of its writes.
            let writes_a: [Write<'_>; 2] = [(b"k", Some(b"v2")), (b"new", Some(b"n"))];
            a.insert(UNDO_KEY, undo_of(&a, 2, &writes_a).unwrap())
                .unwrap();
            a.insert(b"k", b"v2").unwrap();
            a.insert(b"new", b"n").unwrap();
            a.insert(SEQ_KEY, &2u64.to_le_bytes()).unwrap();
            let writes_b: [Write<'_>; 2] = [(b"x", None), (b"y", Some(b"2"))];
            b.insert(UNDO_KEY, undo_of(&b, 2, &writes_b).unwrap())
                .unwrap();
            b.remove(b"x").unwrap();
            let bytes = match synced {
                true => journaled(vec![first(), second()]),
                false => journaled(vec![first()]),
            };
            let (journal, _j) = reopen(&format!("torn-reopened-{synced}"), &db, &bytes);
            let state = |tree: &str, key: &[u8]| get(&db, tree, key);
            if synced {
                assert_eq!(state("a", b"k").as_deref(), Some(&b"v2"[..]));
                assert_eq!(state("a", b"new").as_deref(), Some(&b"n"[..]));
                assert_eq!(state("b", b"x"), None);
                assert_eq!(state("b", b"y").as_deref(), Some(&b"2"[..]));
            } else {
                assert_eq!(state("a", b"k").as_deref(), Some(&b"v1"[..]));
                assert_eq!(state("a", b"new"), None);
                assert_eq!(state("b", b"x").as_deref(), Some(&b"1"[..]));
                assert_eq!(state("b", b"y"), None);
                assert_eq!(get(&db, "b", UNDO_KEY), None);
            }
            // Numbers go on past the record, taken back or not.
            assert_eq!(next_seq(&journal), 3);
        }
    }
}
