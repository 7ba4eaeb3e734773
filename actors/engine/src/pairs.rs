//! The name/value pairs of the request that opened a connection (its query
//! parameters, its headers), kept for the connection's whole life.
//!
//! A boxed slice, not a map: a `HashMap` of five headers holds a table of
//! eight 48-byte slots (over 400 bytes per idle connection) where the
//! pairs take 32 bytes each. A request has a few pairs, read by name a few
//! times at CONNECT, so a scan costs nothing.

use std::collections::HashMap;

use serde::ser::{Serialize, SerializeMap, Serializer};

#[derive(Debug, Clone, Default)]
pub struct Pairs(Box<[(Box<str>, Box<str>)]>);

impl Pairs {
    /// The value of `name` (compared as given).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, value)| &**value)
    }
}

/// A name given twice keeps its last value, as a map's `collect` does.
impl FromIterator<(String, String)> for Pairs {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Pairs {
        let unique: HashMap<String, String> = pairs.into_iter().collect();
        Pairs(
            unique
                .into_iter()
                .map(|(name, value)| (name.into_boxed_str(), value.into_boxed_str()))
                .collect(),
        )
    }
}

/// As a JSON object, as the map it replaces was.
impl Serialize for Pairs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0.iter() {
            map.serialize_entry(&**name, &**value)?;
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
        assert_eq!(p.0.len(), 2);
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
