//! Event arguments passed on as the client sent them: the JSON text is
//! copied, not parsed into a `serde_json::Value` and printed again, so key
//! order and number text (`1.50`, `12345678901234567890`) survive, and
//! binary attachments go along, renumbered for the arguments passed on.
//!
//! Only the objects and arrays on the way to a placeholder
//! (`{"_placeholder":true,"num":n}`) are taken apart; everything else is
//! copied byte for byte.

use std::fmt;

use bytes::Bytes;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Args;

/// Why arguments could not be passed on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    #[error("a binary placeholder names attachment {0}, which was not sent")]
    MissingAttachment(u64),
    #[error("invalid JSON in the arguments")]
    Json,
}

/// An object's fields in the order they were sent, each value raw.
#[derive(Debug, Default)]
pub struct Fields<'a>(pub Vec<(String, &'a RawValue)>);

impl<'a> Fields<'a> {
    /// The fields of `raw` if it is an object; none otherwise.
    pub fn of(raw: &'a RawValue) -> Fields<'a> {
        serde_json::from_str(raw.get()).unwrap_or_default()
    }

    pub fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    /// The attachment number if this object is a binary placeholder.
    fn placeholder(&self) -> Option<u64> {
        let flag = self.get("_placeholder")?;
        let num = self.get("num")?;
        (self.0.len() == 2 && flag.get() == "true")
            .then(|| num.get().parse().ok())
            .flatten()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields<'de>, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    fields.push(entry);
                }
                Ok(Fields(fields))
            }
        }
        d.deserialize_map(FieldsVisitor)
    }
}

/// The arguments of a received event, each raw (`[a, b]` → `a`, `b`).
pub fn arguments(args: &Args) -> Vec<&RawValue> {
    serde_json::from_str(args.json()).unwrap_or_default()
}

/// Writes one object argument, field by field, then gives the [`Args`].
pub struct ObjectWriter<'s> {
    text: String,
    /// The attachments of the arguments being copied from.
    source: &'s [Bytes],
    /// Those the written object refers to, in their new order.
    attachments: Vec<Bytes>,
    empty: bool,
}

impl<'s> ObjectWriter<'s> {
    pub fn new(source: &'s [Bytes]) -> ObjectWriter<'s> {
        ObjectWriter {
            text: String::from("[{"),
            source,
            attachments: Vec::new(),
            empty: true,
        }
    }

    fn key(&mut self, name: &str) {
        if !self.empty {
            self.text.push(',');
        }
        self.empty = false;
        // A `String` always serialises.
        self.text
            .push_str(&serde_json::to_string(name).unwrap_or_default());
        self.text.push(':');
    }

    /// A field copied from the received arguments, attachments included.
    pub fn raw(&mut self, name: &str, value: &RawValue) -> Result<(), PassError> {
        self.key(name);
        copy(value, &mut self.text, self.source, &mut self.attachments)
    }

    /// A field of our own.
    pub fn value<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) {
        self.key(name);
        self.text
            .push_str(&serde_json::to_string(value).unwrap_or_else(|_| "null".into()));
    }

    pub fn finish(mut self) -> Args {
        self.text.push_str("}]");
        Args::from_raw(self.text, self.attachments)
    }
}

/// Copies `value` to `out`, renumbering the placeholders in it.
fn copy(
    value: &RawValue,
    out: &mut String,
    source: &[Bytes],
    attachments: &mut Vec<Bytes>,
) -> Result<(), PassError> {
    let text = value.get();
    // Without attachments (a plain EVENT) a placeholder-shaped object is
    // only data, as for the Node server.
    if source.is_empty() || !text.contains("\"_placeholder\"") {
        out.push_str(text);
        return Ok(());
    }
    if text.starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(text).map_err(|_| PassError::Json)?;
        out.push('[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            copy(item, out, source, attachments)?;
        }
        out.push(']');
        return Ok(());
    }
    if !text.starts_with('{') {
        // A string that mentions "_placeholder".
        out.push_str(text);
        return Ok(());
    }
    let fields: Fields = serde_json::from_str(text).map_err(|_| PassError::Json)?;
    if let Some(num) = fields.placeholder() {
        let data = usize::try_from(num)
            .ok()
            .and_then(|n| source.get(n))
            .ok_or(PassError::MissingAttachment(num))?;
        out.push_str(&format!(
            r#"{{"_placeholder":true,"num":{}}}"#,
            attachments.len()
        ));
        attachments.push(data.clone());
        return Ok(());
    }
    out.push('{');
    for (i, (key, item)) in fields.0.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).map_err(|_| PassError::Json)?);
        out.push(':');
        copy(item, out, source, attachments)?;
    }
    out.push('}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn fields_keep_order_and_number_text() {
        let value = raw(r#"{"z":1.50,"a":{"y":12345678901234567890,"b":[2,1]}}"#);
        let fields = Fields::of(&value);
        let names: Vec<&str> = fields.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["z", "a"]);
        let mut out = ObjectWriter::new(&[]);
        for (name, value) in &fields.0 {
            out.raw(name, value).unwrap();
        }
        out.value("set", &true);
        let args = out.finish();
        assert_eq!(
            args.json(),
            r#"[{"z":1.50,"a":{"y":12345678901234567890,"b":[2,1]},"set":true}]"#
        );
        assert!(Fields::of(&raw("\"text\"")).0.is_empty());
    }

    #[test]
    fn attachments_are_renumbered_for_what_is_passed_on() {
        let source = [Bytes::from_static(b"zero"), Bytes::from_static(b"one")];
        let value =
            raw(r#"{"b":1,"deep":{"x":[{"_placeholder":true,"num":1}],"_placeholder":"no"}}"#);
        let mut out = ObjectWriter::new(&source);
        out.raw("data", &value).unwrap();
        let args = out.finish();
        assert_eq!(
            args.json(),
            r#"[{"data":{"b":1,"deep":{"x":[{"_placeholder":true,"num":0}],"_placeholder":"no"}}}]"#
        );
        assert_eq!(args.attachments(), &[Bytes::from_static(b"one")]);
    }

    #[test]
    fn a_placeholder_without_its_attachment_is_refused() {
        let source = [Bytes::from_static(b"zero")];
        let mut out = ObjectWriter::new(&source);
        let value = raw(r#"{"_placeholder":true,"num":3}"#);
        assert_eq!(out.raw("f", &value), Err(PassError::MissingAttachment(3)));
    }

    #[test]
    fn without_attachments_a_placeholder_is_data() {
        let mut out = ObjectWriter::new(&[]);
        out.raw("f", &raw(r#"{"_placeholder":true,"num":0}"#))
            .unwrap();
        let args = out.finish();
        assert_eq!(args.json(), r#"[{"f":{"_placeholder":true,"num":0}}]"#);
        assert!(args.attachments().is_empty());
    }

    #[test]
    fn raw_values_given_to_emit_go_out_unchanged() {
        let value = raw(r#"{"z":1.50,"a":12345678901234567890}"#);
        let args = Args::new(&*value).unwrap();
        assert_eq!(args.json(), r#"[{"z":1.50,"a":12345678901234567890}]"#);
    }

    #[test]
    fn arguments_split_raw() {
        let args = Args::from_raw(r#"[{"b":1,"a":2},"x"]"#.into(), Vec::new());
        let items: Vec<&str> = arguments(&args).iter().map(|v| v.get()).collect();
        assert_eq!(items, [r#"{"b":1,"a":2}"#, r#""x""#]);
    }
}
