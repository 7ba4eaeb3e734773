//! Event data between confab's [`Args`] and the msgpack the Node adapter
//! and emitter publish.
//!
//! confab keeps arguments as JSON array text with binary parts replaced by
//! `{"_placeholder":true,"num":n}` and the bytes beside it; Node's
//! `notepack.io` writes the same values as msgpack with Buffers as `bin`.
//! The conversion is value for value, keeps object keys in their order, and
//! writes numbers as JavaScript does (an integral double is an integer), so
//! that what confab publishes is byte for byte what Node publishes for the
//! same call.

use std::fmt::Write as _;

use bytes::Bytes;
use confab_engine::Args;
use rmpv::Value;

/// How deep a value may nest before it is refused: a message from Redis
/// is input like any other.
pub const MAX_DEPTH: usize = 100;

/// Why event data could not cross between the two encodings.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("argument JSON is not valid: {0}")]
    Json(#[from] serde_json::Error),
    #[error("arguments must be a JSON array")]
    NotAnArray,
    #[error("placeholder {0} has no attachment")]
    MissingAttachment(u64),
    #[error("event data must be an array starting with the event name")]
    NotAnEvent,
    #[error("value nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

/// The largest integer a JavaScript number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// confab's arguments as a msgpack array, attachments put back in place.
pub fn args_to_value(args: &Args) -> Result<Value, DataError> {
    let value: Value = serde_json::from_str(args.json())?;
    let Value::Array(items) = value else {
        return Err(DataError::NotAnArray);
    };
    items
        .into_iter()
        .map(|item| from_json(item, args.attachments(), 0))
        .collect::<Result<_, _>>()
        .map(Value::Array)
}

/// An event (`[name, ...args]`, as Socket.IO packet data) from its name and
/// arguments.
pub fn event_to_value(event: &str, args: &Args) -> Result<Value, DataError> {
    let Value::Array(mut items) = args_to_value(args)? else {
        return Err(DataError::NotAnArray);
    };
    items.insert(0, Value::from(event));
    Ok(Value::Array(items))
}

/// Splits packet data `[name, ...args]` into the name and confab's
/// arguments. A numeric name is written as its digits, as the Node server
/// does with `socket.emit(1)`.
pub fn value_to_event(data: &Value) -> Result<(String, Args), DataError> {
    let Value::Array(items) = data else {
        return Err(DataError::NotAnEvent);
    };
    let (name, rest) = items.split_first().ok_or(DataError::NotAnEvent)?;
    let name = match name {
        Value::String(s) => s.as_str().ok_or(DataError::NotAnEvent)?.to_owned(),
        Value::Integer(n) => n.to_string(),
        _ => return Err(DataError::NotAnEvent),
    };
    Ok((name, values_to_args(rest)?))
}

/// msgpack values as confab's arguments: JSON text, `bin` as attachments.
pub fn values_to_args(values: &[Value]) -> Result<Args, DataError> {
    let mut json = String::with_capacity(64);
    let mut attachments = Vec::new();
    json.push('[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        to_json(value, &mut json, Some(&mut attachments), 0)?;
    }
    json.push(']');
    Ok(Args::from_raw(json, attachments))
}

/// One JSON value (as deserialized into msgpack terms) with placeholders
/// replaced by their attachment and integral doubles made integers.
fn from_json(value: Value, attachments: &[Bytes], depth: usize) -> Result<Value, DataError> {
    if depth > MAX_DEPTH {
        return Err(DataError::TooDeep);
    }
    Ok(match value {
        Value::F64(f) if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER => {
            // JSON text "1.0" is the number 1 to JavaScript.
            if f < 0.0 {
                Value::from(f as i64)
            } else {
                Value::from(f as u64)
            }
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| from_json(item, attachments, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(pairs) => match placeholder(&pairs) {
            Some(num) => {
                let bytes = usize::try_from(num)
                    .ok()
                    .and_then(|n| attachments.get(n))
                    .ok_or(DataError::MissingAttachment(num))?;
                Value::Binary(bytes.to_vec())
            }
            None => Value::Map(
                pairs
                    .into_iter()
                    .map(|(k, v)| Ok((k, from_json(v, attachments, depth + 1)?)))
                    .collect::<Result<_, DataError>>()?,
            ),
        },
        other => other,
    })
}

/// The attachment number of `{"_placeholder":true,"num":n}`, in any key order.
fn placeholder(pairs: &[(Value, Value)]) -> Option<u64> {
    if pairs.len() != 2 {
        return None;
    }
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    };
    match (get("_placeholder"), get("num")) {
        (Some(Value::Boolean(true)), Some(num)) => num.as_u64(),
        _ => None,
    }
}

/// A value as JSON text, as `JSON.stringify` writes it in Node: `bin` (a
/// Buffer) as `{"type":"Buffer","data":[...]}`; nesting past
/// [`MAX_DEPTH`] as `null`.
pub fn json_text(value: &Value) -> String {
    let mut out = String::with_capacity(64);
    if to_json(value, &mut out, None, 0).is_err() {
        return "null".into();
    }
    out
}

/// A value as a JSON tree (for handshakes and socket data from other nodes).
pub fn json_value(value: &Value) -> serde_json::Value {
    serde_json::from_str(&json_text(value)).unwrap_or(serde_json::Value::Null)
}

/// Writes `value` as JSON, as `JSON.stringify` would after notepack's
/// decoding: `bin` becomes a placeholder and an attachment when
/// `attachments` collects them (a Node Buffer's JSON otherwise), a
/// non-finite number and an extension (notepack's `undefined`) become
/// `null`.
fn to_json(
    value: &Value,
    out: &mut String,
    mut attachments: Option<&mut Vec<Bytes>>,
    depth: usize,
) -> Result<(), DataError> {
    if depth > MAX_DEPTH {
        return Err(DataError::TooDeep);
    }
    match value {
        Value::Nil | Value::Ext(..) => out.push_str("null"),
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Integer(n) => {
            let _ = write!(out, "{n}");
        }
        Value::F32(f) => number(f64::from(*f), out),
        Value::F64(f) => number(*f, out),
        Value::String(s) => string(&String::from_utf8_lossy(s.as_bytes()), out),
        Value::Binary(bytes) => match attachments {
            Some(attachments) => {
                let _ = write!(
                    out,
                    r#"{{"_placeholder":true,"num":{}}}"#,
                    attachments.len()
                );
                attachments.push(Bytes::copy_from_slice(bytes));
            }
            None => {
                out.push_str(r#"{"type":"Buffer","data":["#);
                for (i, b) in bytes.iter().enumerate() {
                    let _ = write!(out, "{}{b}", if i > 0 { "," } else { "" });
                }
                out.push_str("]}");
            }
        },
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json(item, out, attachments.as_deref_mut(), depth + 1)?;
            }
            out.push(']');
        }
        Value::Map(pairs) => {
            out.push('{');
            for (i, (key, item)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match key {
                    Value::String(s) => string(&String::from_utf8_lossy(s.as_bytes()), out),
                    other => string(&other.to_string(), out),
                }
                out.push(':');
                to_json(item, out, attachments.as_deref_mut(), depth + 1)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn number(f: f64, out: &mut String) {
    match serde_json::Number::from_f64(f) {
        None => out.push_str("null"),
        Some(_) if f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER => {
            let _ = write!(out, "{}", f as i64);
        }
        Some(n) => {
            let _ = write!(out, "{n}");
        }
    }
}

fn string(s: &str, out: &mut String) {
    // Serializing a &str to JSON cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(json: &str, attachments: &[&'static [u8]]) -> Args {
        Args::from_raw(
            json.into(),
            attachments.iter().map(|b| Bytes::from_static(b)).collect(),
        )
    }

    #[test]
    fn json_and_attachments_round_trip_through_msgpack() {
        let original = args(
            r#"[{"b":1,"a":[true,null,"é"]},{"_placeholder":true,"num":0},-3,2.5]"#,
            &[b"\x00\x01\xff"],
        );
        let value = args_to_value(&original).unwrap();
        let Value::Array(items) = &value else {
            panic!("not an array")
        };
        assert_eq!(items[1], Value::Binary(vec![0, 1, 255]));
        assert_eq!(values_to_args(items).unwrap(), original);
    }

    #[test]
    fn an_integral_double_is_an_integer_as_in_javascript() {
        let value = args_to_value(&args("[1.0,-2.0,1e3,0.5]", &[])).unwrap();
        assert_eq!(
            value,
            Value::Array(vec![
                Value::from(1u64),
                Value::from(-2i64),
                Value::from(1000u64),
                Value::F64(0.5)
            ])
        );
    }

    #[test]
    fn a_placeholder_without_its_attachment_is_refused() {
        let err = args_to_value(&args(r#"[{"_placeholder":true,"num":1}]"#, &[b"x"]));
        assert!(matches!(err, Err(DataError::MissingAttachment(1))));
    }

    #[test]
    fn event_name_goes_first_and_comes_back() {
        let value = event_to_value("hello", &args(r#"[1,"x"]"#, &[])).unwrap();
        let (name, back) = value_to_event(&value).unwrap();
        assert_eq!(name, "hello");
        assert_eq!(back.json(), r#"[1,"x"]"#);
        assert!(matches!(
            value_to_event(&Value::Array(vec![])),
            Err(DataError::NotAnEvent)
        ));
        assert!(matches!(
            value_to_event(&Value::Array(vec![Value::Nil])),
            Err(DataError::NotAnEvent)
        ));
    }

    #[test]
    fn undefined_extensions_and_non_finite_numbers_become_null() {
        let values = [
            Value::Ext(0, vec![0]),
            Value::F64(f64::NAN),
            Value::F32(1.5),
            Value::Map(vec![(Value::from(7), Value::Nil)]),
        ];
        assert_eq!(
            values_to_args(&values).unwrap().json(),
            r#"[null,null,1.5,{"7":null}]"#
        );
    }

    #[test]
    fn plain_json_writes_a_buffer_as_node_does() {
        let value = Value::Array(vec![Value::Binary(vec![1, 2]), Value::from("x")]);
        assert_eq!(json_text(&value), r#"[{"type":"Buffer","data":[1,2]},"x"]"#);
        assert_eq!(json_value(&value)[1], serde_json::json!("x"));
    }

    #[test]
    fn nesting_past_the_limit_is_refused_both_ways() {
        let deep = format!(
            "[{}{}]",
            "[".repeat(MAX_DEPTH + 2),
            "]".repeat(MAX_DEPTH + 2)
        );
        assert!(matches!(
            args_to_value(&args(&deep, &[])),
            Err(DataError::TooDeep)
        ));
        let mut value = Value::Nil;
        for _ in 0..MAX_DEPTH + 2 {
            value = Value::Array(vec![value]);
        }
        assert!(matches!(values_to_args(&[value]), Err(DataError::TooDeep)));
    }
}
