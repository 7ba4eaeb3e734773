//! Journaled writes not yet in sled, and reads that see them.
//!
//! A journaled write goes to the journal's file and to an [`Overlay`] in
//! memory; the flusher moves the overlay's writes into sled later, many
//! records at once, only after the journal's file has them (so sled never
//! holds a write a crash could take from the journal). A key written again
//! before that costs sled one write, not one per record: a chat's header
//! and its members' states change with every message.
//!
//! Readers of the journaled trees look in the overlays first (the newest
//! wins), then in sled: a point read with [`Overlay::get`], a range with
//! [`Merged`], sled's range with the overlays' writes in it laid over.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::iter::Peekable;
use std::ops::Bound;

use sled::{Batch, IVec};

/// One tree's writes, by key: the new value, or `None` for a removal.
pub(crate) type Writes = BTreeMap<Vec<u8>, Option<IVec>>;

/// A key range, as sled's `range` takes it.
pub(crate) type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// A range of sled's entries, in key order or reversed.
pub(crate) type Entries = Box<dyn Iterator<Item = sled::Result<(IVec, IVec)>>>;

/// The writes of some records, by tree; a later write to a key replaces
/// an earlier one.
#[derive(Debug, Default, Clone)]
pub(crate) struct Overlay {
    trees: HashMap<String, Writes>,
    len: usize,
}

impl Overlay {
    pub(crate) fn write(&mut self, tree: &str, key: &[u8], value: Option<&[u8]>) {
        let writes = match self.trees.get_mut(tree) {
            Some(writes) => writes,
            None => self.trees.entry(tree.to_owned()).or_default(),
        };
        if writes.insert(key.to_vec(), value.map(IVec::from)).is_none() {
            self.len += 1;
        }
    }

    /// What the overlay says of `key`: `None` if it has no write to it,
    /// `Some(None)` if it removes it.
    pub(crate) fn get(&self, tree: &str, key: &[u8]) -> Option<&Option<IVec>> {
        self.trees.get(tree)?.get(key)
    }

    /// Lays the writes of `tree` in `range` over `into`.
    pub(crate) fn range_into(&self, tree: &str, range: &KeyRange, into: &mut Writes) {
        let Some(writes) = self.trees.get(tree) else {
            return;
        };
        let bounds = (as_slice(&range.0), as_slice(&range.1));
        for (key, value) in writes.range::<[u8], _>(bounds) {
            into.insert(key.clone(), value.clone());
        }
    }

    /// Lays `newer`'s writes over these.
    pub(crate) fn extend(&mut self, newer: Overlay) {
        if self.is_empty() {
            *self = newer;
            return;
        }
        for (tree, writes) in newer.trees {
            let mine = self.trees.entry(tree).or_default();
            for (key, value) in writes {
                if mine.insert(key, value).is_none() {
                    self.len += 1;
                }
            }
        }
    }

    /// How many keys it writes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One sled batch per tree.
    pub(crate) fn batches(&self) -> impl Iterator<Item = (&str, Batch)> {
        self.trees.iter().map(|(tree, writes)| {
            let mut batch = Batch::default();
            for (key, value) in writes {
                match value {
                    Some(value) => batch.insert(key.as_slice(), value.clone()),
                    None => batch.remove(key.as_slice()),
                }
            }
            (tree.as_str(), batch)
        })
    }
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(key) => Bound::Included(key.as_slice()),
        Bound::Excluded(key) => Bound::Excluded(key.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The range of every key that starts with `prefix`.
pub(crate) fn prefix_range(prefix: &[u8]) -> KeyRange {
    let mut end = prefix.to_vec();
    // The smallest key past every key with the prefix: its last byte that
    // is not 0xff raised by one, the rest cut off.
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return (Bound::Included(prefix.to_vec()), Bound::Excluded(end));
        }
    }
    (Bound::Included(prefix.to_vec()), Bound::Unbounded)
}

/// A range of sled's entries with an overlay's writes in the same range
/// laid over them: in key order, or reversed (`rev`, as sled's iterator is
/// then), the overlay's value for a key both have, no removed key.
pub(crate) struct Merged<I: Iterator> {
    sled: Peekable<I>,
    overlay: Peekable<std::vec::IntoIter<(Vec<u8>, Option<IVec>)>>,
    rev: bool,
}

impl<I> Merged<I>
where
    I: Iterator<Item = sled::Result<(IVec, IVec)>>,
{
    pub(crate) fn new(sled: I, overlay: Writes, rev: bool) -> Merged<I> {
        let mut overlay: Vec<_> = overlay.into_iter().collect();
        if rev {
            overlay.reverse();
        }
        Merged {
            sled: sled.peekable(),
            overlay: overlay.into_iter().peekable(),
            rev,
        }
    }
}

impl<I> Iterator for Merged<I>
where
    I: Iterator<Item = sled::Result<(IVec, IVec)>>,
{
    type Item = sled::Result<(IVec, IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let from_overlay = match (self.sled.peek(), self.overlay.peek()) {
                (None, None) => return None,
                (None, Some(_)) => true,
                (Some(Err(_)), _) | (Some(Ok(_)), None) => false,
                (Some(Ok((stored, _))), Some((written, _))) => {
                    let order = written.as_slice().cmp(stored);
                    match if self.rev { order.reverse() } else { order } {
                        Ordering::Less => true,
                        // The overlay's write is newer than sled's entry.
                        Ordering::Equal => {
                            self.sled.next();
                            true
                        }
                        Ordering::Greater => false,
                    }
                }
            };
            if !from_overlay {
                return self.sled.next();
            }
            if let Some((key, Some(value))) = self.overlay.next() {
                return Some(Ok((IVec::from(key), value)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(entries: &[(&str, &str)]) -> sled::Tree {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        for (key, value) in entries {
            tree.insert(key, *value).unwrap();
        }
        tree
    }

    fn keys_values(entries: impl Iterator<Item = sled::Result<(IVec, IVec)>>) -> Vec<String> {
        entries
            .map(|e| {
                let (k, v) = e.unwrap();
                format!(
                    "{}={}",
                    String::from_utf8_lossy(&k),
                    String::from_utf8_lossy(&v)
                )
            })
            .collect()
    }

    #[test]
    fn a_merged_range_has_the_overlays_writes_over_sleds_in_either_order() {
        let stored = tree(&[("a", "1"), ("b", "1"), ("c", "1"), ("e", "1")]);
        let mut overlay = Overlay::default();
        overlay.write("t", b"b", Some(b"2"));
        overlay.write("t", b"c", None);
        overlay.write("t", b"d", Some(b"2"));
        overlay.write("t", b"f", Some(b"2"));
        overlay.write("u", b"b", Some(b"other tree"));
        let range: KeyRange = (
            Bound::Included(b"b".to_vec()),
            Bound::Excluded(b"f".to_vec()),
        );
        let mut writes = Writes::new();
        overlay.range_into("t", &range, &mut writes);
        let forward = Merged::new(stored.range(range.clone()), writes.clone(), false);
        assert_eq!(keys_values(forward), ["b=2", "d=2", "e=1"]);
        let backward = Merged::new(stored.range(range).rev(), writes, true);
        assert_eq!(keys_values(backward), ["e=1", "d=2", "b=2"]);
    }

    #[test]
    fn a_later_write_replaces_an_earlier_one_and_counts_once() {
        let mut older = Overlay::default();
        older.write("t", b"k", Some(b"1"));
        older.write("t", b"gone", Some(b"1"));
        let mut newer = Overlay::default();
        newer.write("t", b"k", Some(b"2"));
        newer.write("t", b"gone", None);
        newer.write("t", b"new", Some(b"2"));
        older.extend(newer);
        assert_eq!(older.len(), 3);
        assert_eq!(older.get("t", b"k"), Some(&Some(IVec::from(b"2"))));
        assert_eq!(older.get("t", b"gone"), Some(&None));
        assert_eq!(older.get("t", b"absent"), None);
        let stored = tree(&[("gone", "1"), ("kept", "1")]);
        for (name, batch) in older.batches() {
            assert_eq!(name, "t");
            stored.apply_batch(batch).unwrap();
        }
        assert_eq!(keys_values(stored.iter()), ["k=2", "kept=1", "new=2"]);
    }

    #[test]
    fn a_prefix_range_ends_past_every_key_with_the_prefix() {
        let stored = tree(&[
            ("a\u{7f}", "x"),
            ("ab", "1"),
            ("ab\u{7f}", "2"),
            ("ac", "3"),
        ]);
        let within = |prefix: &[u8]| {
            keys_values(stored.range(prefix_range(prefix)))
                .into_iter()
                .map(|kv| kv.split('=').nth(1).unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(within(b"ab"), ["1", "2"]);
        assert_eq!(prefix_range(&[1, 0xff]).1, Bound::Excluded(vec![2]));
        assert_eq!(prefix_range(&[0xff, 0xff]).1, Bound::Unbounded);
    }
}
