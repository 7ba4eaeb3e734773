//! The write-ahead journal: what makes a chat write durable with one
//! `write` and one `fdatasync` of a file of our own, from the flusher's
//! thread, rather than a sled flush. A sled 0.34 flush seals sled's buffer,
//! hands its write to sled's I/O thread pool (waking all of the pool's idle
//! threads), and ends in `sync_file_range`, which waits for the data's
//! writeback but flushes neither the file's metadata nor the disk's cache;
//! `fdatasync` does both.
//!
//! A journaled write is applied to sled and appended to the journal's
//! buffer under one lock, so the journal's order is the order the writes
//! were applied in. The flusher writes the buffer to the file and syncs it
//! ([`Journal::take`]); sled persists the same writes later, on its own. A
//! checkpoint ([`Journal::checkpoint`]: a sled flush, under the lock) ends
//! the journal's need for what it holds: the next records are written from
//! the file's start again, over the older ones ([`JournalFile`]).
//!
//! At open, the records left in the file are applied again, in order, and
//! the journal is checkpointed ([`Journal::open`]). Each record carries a
//! sequence number, which every tree it writes keeps under [`SEQ_KEY`] in
//! the same batch: a record that a tree already has is skipped for that
//! tree, so that replaying never takes a tree back to an older state that
//! sled had already persisted. A record cut short by a crash (a short
//! frame, or one whose checksum does not match) ends the replay: it was
//! never synced, so never acknowledged; so does a record numbered lower
//! than the one before it (what is left of the records written before the
//! last checkpoint).
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
use std::sync::{Mutex, MutexGuard};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Batch, Transactional, Tree};

use super::StoreError;

/// The key under which every journaled tree keeps the sequence number of
/// the last record applied to it. No key of the store starts with `0xff`
/// (keys start with a letter or with a user id, which is UTF-8).
pub(crate) const SEQ_KEY: &[u8] = b"\xff\xffjournal-seq";

/// The key under which a journaled tree keeps the undo of the last record
/// begun in it: the record's number and what the keys it writes held
/// before. A number newer than the tree's [`SEQ_KEY`] at open means a
/// crash tore the record in that tree ([`Journal::open`]).
pub(crate) const UNDO_KEY: &[u8] = b"\xff\xffjournal-undo";

/// Past this many bytes written since the last checkpoint, the flusher
/// checkpoints, so that the file (and a replay at start-up) stays short.
pub(crate) const CHECKPOINT_BYTES: u64 = 32 * 1024 * 1024;

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
}

struct State {
    /// Framed records applied to sled and not yet taken by the flusher.
    pending: Vec<u8>,
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
                next_seq: 1,
                trees: HashMap::new(),
            }),
            db,
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

    /// Applies `record` to sled and appends it to the journal, as one step
    /// with respect to every other journaled write.
    pub fn apply(&self, record: Record) -> Result<(), StoreError> {
        let mut state = self.lock();
        let seq = state.next_seq;
        let ops = parse_ops(&record.ops).ok_or_else(|| StoreError::Journal("bad record".into()))?;
        state.apply(&self.db, seq, &ops, false)?;
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
    /// synced by the flusher.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.lock().pending)
    }

    /// Makes everything applied so far durable in sled; from then on,
    /// nothing in the journal is needed, and the next records are written
    /// from the start of the file again. Journaled writes wait meanwhile.
    pub fn checkpoint(&self, file: &mut JournalFile) -> Result<(), StoreError> {
        let mut state = self.lock();
        self.db.flush()?;
        state.pending.clear();
        file.offset = 0;
        Ok(())
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
            state.apply(&self.db, *seq, ops, true)?;
        }
        state.next_seq = last + 1;
        Ok(records.len())
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

    /// Applies one record. Each tree it writes gets, in order, its undo
    /// (the record's number and what its keys held before), the record's
    /// writes one by one, and the record's number ([`SEQ_KEY`]): single
    /// writes, because every sled batch or transaction writes and syncs
    /// sled's log buffer on its I/O pool (sled 0.34 `pin_log`), a disk
    /// write per message; sled recovers a prefix of its log, so a crash
    /// leaves at most the last record half written, which the undo takes
    /// back at the next open unless the journal has it. A replay applies
    /// a record as one batch per tree, in one transaction when it writes
    /// several trees, and leaves alone a tree that has the record already.
    fn apply(
        &mut self,
        db: &sled::Db,
        seq: u64,
        ops: &[(&str, Op<'_>)],
        replay: bool,
    ) -> Result<(), StoreError> {
        let mut writes: BTreeMap<&str, Vec<Write<'_>>> = BTreeMap::new();
        let mut counters: Vec<(&str, &[u8], u64)> = Vec::new();
        for (tree, op) in ops {
            match op {
                Op::Insert(key, value) => writes.entry(tree).or_default().push((key, Some(value))),
                Op::Remove(key) => writes.entry(tree).or_default().push((key, None)),
                // Raised already when the id was taken: only a replay
                // needs to.
                Op::AtLeast(key, value) if replay => counters.push((tree, key, *value)),
                Op::AtLeast(..) => {}
            }
        }
        if !replay {
            for (name, writes) in writes {
                let tree = self.tree(db, name)?;
                let undo = undo_of(&tree, seq, &writes)?;
                tree.insert(UNDO_KEY, undo.as_slice())?;
                if let Err(err) = write_each(&tree, seq, &writes) {
                    // Taken back in memory too, as far as sled lets us.
                    if let Some(batch) = undo_batch(&undo[8..]) {
                        let _ = tree.apply_batch(batch);
                    }
                    return Err(err);
                }
            }
            return Ok(());
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

/// The record's writes to `tree`, then its number.
fn write_each(tree: &Tree, seq: u64, writes: &[Write<'_>]) -> Result<(), StoreError> {
    for (key, value) in writes {
        match value {
            Some(value) => tree.insert(key, *value)?,
            None => tree.remove(key)?,
        };
    }
    tree.insert(SEQ_KEY, &seq.to_le_bytes()[..])?;
    Ok(())
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

    fn get(db: &sled::Db, tree: &str, key: &[u8]) -> Option<Vec<u8>> {
        db.open_tree(tree)
            .unwrap()
            .get(key)
            .unwrap()
            .map(|v| v.to_vec())
    }

    /// The last record `tree` has.
    fn seq_of(db: &sled::Db, tree: &str) -> Option<u64> {
        get(db, tree, SEQ_KEY).and_then(|v| read_seq(&v))
    }

    /// The number the next record written to `tree` gets.
    fn next_seq_in(journal: &Journal, db: &sled::Db, tree: &str) -> Option<u64> {
        journal
            .apply(record(|r| r.insert(tree, b"next", b"v")))
            .unwrap();
        seq_of(db, tree)
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
        assert_eq!(next_seq_in(&journal, &db, "a"), Some(3));
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
        assert_eq!(next_seq_in(&journal, &db, "b"), Some(6));
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

    #[test]
    fn a_record_of_several_trees_is_applied_whole() {
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
        assert_eq!(get(&db, "a", b"k").as_deref(), Some(&b"v"[..]));
        assert_eq!(get(&db, "b", b"gone"), None);
        for tree in ["a", "b"] {
            assert_eq!(seq_of(&db, tree), Some(1));
        }
    }

    /// A crash in the middle of a record never synced: sled kept it whole
    /// in one tree and half in another (a prefix of its log). At open, the
    /// record is taken back in both; had the file kept it, it would be
    /// completed instead.
    #[test]
    fn a_record_torn_by_a_crash_is_taken_back_unless_the_file_has_it() {
        for synced in [false, true] {
            let file = TempFile::new(&format!("torn-{synced}"));
            let db = db();
            let (journal, mut out) = Journal::open(db.clone(), &file.0).unwrap();
            journal
                .apply(record(|r| {
                    r.insert("a", b"k", b"v1");
                    r.insert("b", b"x", b"1");
                }))
                .unwrap();
            out.write_synced(&journal.take()).unwrap();
            journal
                .apply(record(|r| {
                    r.insert("a", b"k", b"v2");
                    r.insert("a", b"new", b"n");
                    r.remove("b", b"x");
                    r.insert("b", b"y", b"2");
                }))
                .unwrap();
            if synced {
                out.write_synced(&journal.take()).unwrap();
            }
            assert_eq!(seq_of(&db, "a"), Some(2));
            // What a crash after the first of the record's writes to `b`
            // leaves: its undo and that write, not the rest.
            let b = db.open_tree("b").unwrap();
            b.remove(b"y").unwrap();
            b.insert(SEQ_KEY, &1u64.to_le_bytes()).unwrap();
            drop(journal);
            let bytes = std::fs::read(&file.0).unwrap();
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
            assert_eq!(next_seq_in(&journal, &db, "b"), Some(3));
        }
    }
}
