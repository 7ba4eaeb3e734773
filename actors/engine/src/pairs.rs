//! The name/value pairs of the request that opened a connection (its query
//! parameters, its headers), kept for the connection's whole life.
//!
//! Every name and value in one string, with where each ends: two
//! allocations for the whole request, where a string per name and per
//! value made a dozen (each a 32-byte heap chunk at least, for a value as
//! short as `4`) and a `HashMap` a table of eight 48-byte slots. A request
//! has a few pairs, read by name a few times at CONNECT, so a scan costs
//! nothing.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::ser::{Serialize, SerializeMap, Serializer};

#[derive(Debug, Clone, Default)]
pub struct Pairs {
    text: Box<str>,
    /// For each pair, in order: where its name ends and where its value
    /// ends in `text` (each starts where the one before ends).
    ends: Box<[(usize, usize)]>,
}

impl Pairs {
    /// The value of `name` (compared as given).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| value)
    }

    /// Every pair, in the order they were first named.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let pair = (&self.text[start..name_end], &self.text[name_end..value_end]);
            start = value_end;
            pair
        })
    }
}

/// A name given twice keeps its last value, as a map's `collect` does.
impl FromIterator<(String, String)> for Pairs {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Pairs {
        // Indexed, not scanned: a query may carry thousands of names, and
        // a scan per name would make a handshake quadratic in them.
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut unique: Vec<(String, String)> = Vec::new();
        for (name, value) in pairs {
            match at.entry(name) {
                Entry::Occupied(seen) => unique[*seen.get()].1 = value,
                Entry::Vacant(new) => {
                    unique.push((new.key().clone(), value));
                    new.insert(unique.len() - 1);
                }
            }
        }
        let mut text = String::with_capacity(unique.iter().map(|(n, v)| n.len() + v.len()).sum());
        let ends = unique
            .iter()
            .map(|(name, value)| {
                text.push_str(name);
                let name_end = text.len();
                text.push_str(value);
                (name_end, text.len())
            })
            .collect();
        Pairs {
            text: text.into_boxed_str(),
            ends,
        }
    }
}

/// As a JSON object, as the map it replaces was.
impl Serialize for Pairs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.ends.len()))?;
        for (name, value) in self.iter() {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Pairs {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn reads_by_name() {
        let p = pairs(&[("EIO", "4"), ("transport", "websocket")]);
        assert_eq!(p.get("EIO"), Some("4"));
        assert_eq!(p.get("transport"), Some("websocket"));
        assert_eq!(p.get("eio"), None);
    }

    #[test]
    fn a_repeated_name_keeps_its_last_value() {
        let p = pairs(&[("a", "1"), ("b", "2"), ("a", "3")]);
        assert_eq!(p.get("a"), Some("3"));
        assert_eq!(p.iter().count(), 2);
    }

    #[test]
    fn keeps_empty_names_and_values_and_the_first_order() {
        let p = pairs(&[("b", ""), ("", "x"), ("a", "1"), ("b", "2")]);
        assert_eq!(p.get("b"), Some("2"));
        assert_eq!(p.get(""), Some("x"));
        let all: Vec<_> = p.iter().collect();
        assert_eq!(all, vec![("b", "2"), ("", "x"), ("a", "1")]);
        assert_eq!(Pairs::default().iter().count(), 0);
    }

    #[test]
    fn many_names_keep_their_order_and_last_values() {
        let names = 20_000;
        let p: Pairs = (0..names)
            .map(|i| (format!("n{i}"), "first".to_string()))
            .chain(
                (0..names)
                    .step_by(2)
                    .map(|i| (format!("n{i}"), "last".to_string())),
            )
            .collect();
        assert_eq!(p.iter().count(), names);
        assert_eq!(p.get("n0"), Some("last"));
        assert_eq!(p.get("n1"), Some("first"));
        assert_eq!(p.iter().nth(19_999), Some(("n19999", "first")));
    }

    #[test]
    fn serializes_as_an_object() {
        let p = pairs(&[("host", "h"), ("origin", "o")]);
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"host": "h", "origin": "o"})
        );
    }
}
