//! One line of JSON, parsed strictly: an object's entries in the order
//! written, with a duplicate key (in the object or in any object nested in
//! it) refused instead of silently keeping the last one, and each value kept
//! as its raw text so that a number is read from the digits written (see
//! [`super::number`]) and a string is told apart from a number.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::echo::echo_str;

/// A parsed line: the entries of an object, or any other JSON value.
pub(super) enum JsonLine<'a> {
    /// `{...}`: keys and raw values in order, keys unique.
    Object(Vec<(Cow<'a, str>, &'a RawValue)>),
    /// Anything else (a bare number, a string, an array, ...).
    Other(&'a RawValue),
}

impl<'a> JsonLine<'a> {
    /// Parses `text`; the error is serde_json's, with its line and column.
    pub(super) fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        // The common case, an object, in one pass.
        if text.trim_start().starts_with('{') {
            let Entries(entries) = serde_json::from_str(text)?;
            return Ok(JsonLine::Object(entries));
        }
        let raw: &RawValue = serde_json::from_str(text)?;
        if !raw.get().starts_with('{') {
            if raw.get().starts_with('[') {
                serde_json::from_str::<Checked>(raw.get())?;
            }
            return Ok(JsonLine::Other(raw));
        }
        let Entries(entries) = serde_json::from_str(raw.get())?;
        Ok(JsonLine::Object(entries))
    }

    /// The raw value under `key`.
    pub(super) fn get(&self, key: &str) -> Option<&'a RawValue> {
        match self {
            JsonLine::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| *v),
            JsonLine::Other(_) => None,
        }
    }
}

/// What kind of JSON value a raw text is, in words for messages.
pub(super) fn kind(raw: &RawValue) -> &'static str {
    match raw.get().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// The message for the second occurrence of a key.
fn duplicate(key: &str, first: usize, second: usize) -> String {
    format!(
        "duplicate key \"{}\" in one object (entries {first} and {second})",
        echo_str(key)
    )
}

/// Objects this small are checked for repeated keys by a scan, larger
/// ones through a map.
const SCAN_KEYS: usize = 16;

/// A key, borrowed from the line unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// An object's entries, keys checked for repeats, values left raw.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut seen: HashMap<String, usize> = HashMap::new();
                let mut entries: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::new();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    let n = entries.len() + 1;
                    let first = if entries.len() < SCAN_KEYS {
                        entries.iter().position(|(k, _)| *k == key).map(|i| i + 1)
                    } else {
                        if seen.is_empty() {
                            for (i, (k, _)) in entries.iter().enumerate() {
                                seen.insert(k.to_string(), i + 1);
                            }
                        }
                        let first = seen.get(key.as_ref()).copied();
                        seen.insert(key.to_string(), n);
                        first
                    };
                    if let Some(first) = first {
                        return Err(de::Error::custom(duplicate(&key, first, n)));
                    }
                    let value: &RawValue = map.next_value()?;
                    if matches!(value.get().as_bytes().first(), Some(b'{' | b'[')) {
                        serde_json::from_str::<Checked>(value.get()).map_err(de::Error::custom)?;
                    }
                    entries.push((key, value));
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(V)
    }
}

/// Any JSON value, checked for duplicate keys at every depth, then dropped.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut n = 0;
        while let Some(key) = map.next_key::<String>()? {
            n += 1;
            if let Some(&first) = seen.get(&key) {
                return Err(de::Error::custom(duplicate(&key, first, n)));
            }
            map.next_value::<Checked>()?;
            seen.insert(key, n);
        }
        Ok(Checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Result<Vec<String>, String> {
        match JsonLine::parse(text).map_err(|e| e.to_string())? {
            JsonLine::Object(e) => Ok(e.into_iter().map(|(k, _)| k.into_owned()).collect()),
            JsonLine::Other(raw) => Ok(vec![format!("other:{}", raw.get())]),
        }
    }

    #[test]
    fn objects_keep_their_order_and_raw_values() {
        assert_eq!(keys(r#"{"b":1,"a":"x"}"#).unwrap(), ["b", "a"]);
        assert_eq!(keys("1e-400").unwrap(), ["other:1e-400"]);
        let line_text = r#"{"value": 1.50, "timestamp": "t"}"#;
        let line = JsonLine::parse(line_text).unwrap();
        assert_eq!(line.get("value").unwrap().get(), "1.50");
        assert_eq!(kind(line.get("timestamp").unwrap()), "a string");
        assert!(line.get("nope").is_none());
    }

    #[test]
    fn duplicate_keys_are_refused_with_both_positions_at_any_depth() {
        let e = keys(r#"{"value":1,"x":2,"value":3}"#).unwrap_err();
        assert!(
            e.contains("duplicate key \"value\" in one object (entries 1 and 3)"),
            "{e}"
        );
        let e = keys(r#"{"value":1,"meta":{"a":1,"a":2}}"#).unwrap_err();
        assert!(
            e.contains("duplicate key \"a\" in one object (entries 1 and 2)"),
            "{e}"
        );
        let e = keys(r#"[{"k":1,"k":1}]"#).unwrap_err();
        assert!(e.contains("duplicate key \"k\""), "{e}");
        // The same key in two different objects is fine.
        assert!(keys(r#"{"a":{"k":1},"b":{"k":2}}"#).is_ok());
    }

    #[test]
    fn large_objects_and_escaped_keys_are_checked_too() {
        let mut text: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        text = format!("{{{text}\"k7\":0}}");
        let e = keys(&text).unwrap_err();
        assert!(
            e.contains("duplicate key \"k7\" in one object (entries 8 and 41)"),
            "{e}"
        );
        let e = keys(r#"{"value":1,"val\u0075e":2}"#).unwrap_err();
        assert!(
            e.contains("duplicate key \"value\" in one object (entries 1 and 2)"),
            "{e}"
        );
    }

    #[test]
    fn broken_json_is_an_error() {
        assert!(keys(r#"{"value":"#).is_err());
        assert!(keys(r#"{"value":1} trailing"#).is_err());
    }
}
