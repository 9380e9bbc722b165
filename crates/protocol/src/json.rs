//! The `json` (awsJson 1.0/1.1) and `rest-json` protocols' bodies, checked against the model.

use crate::encode::{self, Error};
use crate::validate::{self, camel, Violation};
use crate::ApiError;
use airlock_model::{Member, ServiceModel, Shape, ShapeKind, Structure};
use serde::ser::{self, Serialize};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Parses and checks a JSON input body. Timestamps are handed to services as ISO 8601 strings.
pub fn decode(model: &ServiceModel, shape: Option<&str>, body: &[u8]) -> Result<Value, ApiError> {
    let Some(shape) = shape else {
        return Ok(Value::Object(Map::new()));
    };
    let raw: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                "SerializationException",
                format!("Unable to parse request body: {e}"),
            )
        })?
    };
    let mut violations = Vec::new();
    let v = check(model, model.shape(shape), raw, "", &mut violations)?;
    if !violations.is_empty() {
        return Err(ApiError::new(
            "ValidationException",
            validate::message(&violations),
        ));
    }
    Ok(v)
}

fn mismatch(expected: &str, path: &str) -> ApiError {
    ApiError::new(
        "SerializationException",
        format!("Unexpected value type in payload: expected {expected} at '{path}'"),
    )
}

fn check(
    model: &ServiceModel,
    shape: &Shape,
    v: Value,
    path: &str,
    out: &mut Vec<Violation>,
) -> Result<Value, ApiError> {
    let sub = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    Ok(match (&shape.kind, v) {
        (_, Value::Null) => Value::Null,
        (ShapeKind::Document, v) => v,
        (ShapeKind::Structure(st), Value::Object(mut obj)) => {
            let mut res = Map::new();
            for m in &st.members {
                let p = || sub(&camel(&m.name));
                match obj.remove(&*m.name) {
                    Some(Value::Null) | None => {
                        if st.required.contains(&m.name) && m.location.is_none() {
                            out.push(Violation::missing(p()));
                        }
                    }
                    Some(val) => {
                        res.insert(
                            m.name.to_string(),
                            check(model, model.target(m), val, &p(), out)?,
                        );
                    }
                }
            }
            Value::Object(res)
        }
        (ShapeKind::List { member, .. }, Value::Array(items)) => {
            validate::check_len(shape, path, items.len(), out);
            let ms = model.target(member);
            let mut res = Vec::with_capacity(items.len());
            // A null item of a (non-sparse) list says nothing: it is left out, as AWS's
            // services do, so services only ever see the items' shapes.
            for (i, item) in items.into_iter().enumerate() {
                if item.is_null() {
                    continue;
                }
                res.push(check(
                    model,
                    ms,
                    item,
                    &format!("{path}.{}.member", i + 1),
                    out,
                )?);
            }
            Value::Array(res)
        }
        (ShapeKind::Map { key, value, .. }, Value::Object(obj)) => {
            validate::check_len(shape, path, obj.len(), out);
            let (ks, vs) = (model.target(key), model.target(value));
            let mut res = Map::new();
            for (k, val) in obj {
                if val.is_null() {
                    continue;
                }
                validate::check_string(ks, &format!("{path}.key"), &k, false, out);
                let val = check(model, vs, val, &format!("{path}.value"), out)?;
                res.insert(k, val);
            }
            Value::Object(res)
        }
        (ShapeKind::String, Value::String(s)) => {
            validate::check_string(shape, path, &s, false, out);
            Value::String(s)
        }
        (ShapeKind::Blob, Value::String(s)) => Value::String(s),
        (ShapeKind::Integer | ShapeKind::Long, Value::Number(n)) if n.is_i64() => {
            validate::check_number(shape, path, n.as_i64().unwrap_or_default(), out);
            Value::Number(n)
        }
        (ShapeKind::Float | ShapeKind::Double, Value::Number(n)) => Value::Number(n),
        (ShapeKind::Boolean, Value::Bool(b)) => Value::Bool(b),
        (ShapeKind::Timestamp { .. }, Value::Number(n)) => {
            let secs = n.as_f64().unwrap_or_default();
            let t = OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9) as i128)
                .map_err(|_| mismatch("timestamp", path))?;
            Value::String(t.format(&Rfc3339).unwrap_or_default())
        }
        (ShapeKind::Timestamp { .. }, Value::String(s)) => {
            OffsetDateTime::parse(&s, &Rfc3339).map_err(|_| mismatch("timestamp", path))?;
            Value::String(s)
        }
        (ShapeKind::Structure(_) | ShapeKind::Map { .. }, _) => {
            return Err(mismatch("object", path))
        }
        (ShapeKind::List { .. }, _) => return Err(mismatch("list", path)),
        (ShapeKind::Boolean, _) => return Err(mismatch("boolean", path)),
        (ShapeKind::String | ShapeKind::Blob, _) => return Err(mismatch("string", path)),
        (ShapeKind::Timestamp { .. }, _) => return Err(mismatch("timestamp", path)),
        (_, _) => return Err(mismatch("number", path)),
    })
}

/// Writes a service's output as the JSON body of `shape`: members bound to headers or the status
/// code are left out, null members too; a member the shape does not declare is an error;
/// timestamps become epoch seconds.
pub fn write<T: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    model: &ServiceModel,
    shape: &Shape,
    value: &T,
) -> Result<(), Error> {
    value.serialize(Elem::child(model, buf, shape, Slot::Root))
}

/// Where a value goes: the whole body, a structure member (written only if not null), a list
/// item or a map entry's value (null is written as `null`).
enum Slot<'a> {
    Root,
    /// `key`: the member's name as JSON, with its colon.
    Member {
        key: &'a str,
        first: &'a mut bool,
    },
    Item {
        first: &'a mut bool,
    },
    Entry,
}

struct Elem<'a> {
    buf: &'a mut Vec<u8>,
    model: &'a ServiceModel,
    shape: &'a Shape,
    slot: Slot<'a>,
}

/// Appends `s` as a JSON string.
fn push_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    let bytes = s.as_bytes();
    if !encode::any_byte(bytes, |b| (b < 0x20) | (b == b'"') | (b == b'\\')) {
        buf.extend_from_slice(bytes);
        buf.push(b'"');
        return;
    }
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !JSON_ESCAPE[usize::from(b)] {
            continue;
        }
        buf.extend_from_slice(&bytes[from..i]);
        match b {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            c => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[usize::from(c >> 4)]);
                buf.push(HEX[usize::from(c & 0xF)]);
            }
        }
        from = i + 1;
    }
    buf.extend_from_slice(&bytes[from..]);
    buf.push(b'"');
}

/// The bytes a JSON string must escape: control characters, `"` and `\\`.
static JSON_ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

impl Elem<'_> {
    /// The separator and key before a value.
    fn open(&mut self) {
        match &mut self.slot {
            Slot::Root | Slot::Entry => {}
            Slot::Member { key, first } => {
                if !**first {
                    self.buf.push(b',');
                }
                **first = false;
                self.buf.extend_from_slice(key.as_bytes());
            }
            Slot::Item { first } => {
                if !**first {
                    self.buf.push(b',');
                }
                **first = false;
            }
        }
    }

    fn raw(mut self, text: &str) -> Result<(), Error> {
        self.open();
        self.buf.extend_from_slice(text.as_bytes());
        Ok(())
    }

    /// An [`encode::Part`]'s structure encoded fresh: its object alone, without the separator or
    /// key before it, handed back.
    fn fresh<T: Serialize + ?Sized>(mut self, value: &T) -> Result<(), Error> {
        self.open();
        let start = self.buf.len();
        write(self.buf, self.model, self.shape, value)?;
        // The encoder writes only text, so this is always UTF-8.
        if let Ok(text) = std::str::from_utf8(&self.buf[start..]) {
            encode::wrote(text);
        }
        Ok(())
    }

    fn null(self) -> Result<(), Error> {
        match self.slot {
            Slot::Member { .. } => Ok(()),
            _ => self.raw("null"),
        }
    }

    /// A value of a document member, written as JSON as it is.
    fn document<T: Serialize + ?Sized>(mut self, value: &T) -> Result<(), Error> {
        self.open();
        value
            .serialize(&mut serde_json::Serializer::new(&mut *self.buf))
            .map_err(|e| Error(e.to_string()))
    }

    fn child<'b>(
        model: &'b ServiceModel,
        buf: &'b mut Vec<u8>,
        shape: &'b Shape,
        slot: Slot<'b>,
    ) -> Elem<'b> {
        Elem {
            buf,
            model,
            shape,
            slot,
        }
    }
}

/// Serializes `value` into `elem`, as a document when the shape is one.
fn put<T: Serialize + ?Sized>(elem: Elem<'_>, value: &T) -> Result<(), Error> {
    if matches!(elem.shape.kind, ShapeKind::Document) {
        elem.document(value)
    } else {
        value.serialize(elem)
    }
}

impl<'a> ser::Serializer for Elem<'a> {
    encode::shared_methods!();
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if v.is_finite() {
            self.raw(ryu::Buffer::new().format_finite(v))
        } else {
            self.null()
        }
    }
    fn serialize_str(mut self, v: &str) -> Result<(), Error> {
        encode::check_scalar(self.shape)?;
        if let ShapeKind::Timestamp { .. } = self.shape.kind {
            if let Some(secs) = encode::epoch_seconds(v) {
                return self.serialize_f64(secs);
            }
        }
        self.open();
        push_str(self.buf, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.serialize_str(&encode::base64(v))
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.null()
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.null()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.null()
    }
    fn serialize_seq(mut self, _: Option<usize>) -> Result<List<'a>, Error> {
        let ShapeKind::List { member, .. } = &self.shape.kind else {
            return Err(encode::mismatch(self.shape, "a list"));
        };
        let item = self.model.target(member);
        self.open();
        self.buf.push(b'[');
        Ok(List {
            buf: self.buf,
            model: self.model,
            item,
            first: true,
        })
    }
    fn serialize_map(mut self, _: Option<usize>) -> Result<Fields<'a>, Error> {
        let kind = match &self.shape.kind {
            ShapeKind::Structure(st) => FieldsOf::Structure(st),
            ShapeKind::Map { value, .. } => FieldsOf::Map(self.model.target(value)),
            _ => return Err(encode::mismatch(self.shape, "a structure or map")),
        };
        self.open();
        self.buf.push(b'{');
        Ok(Fields {
            buf: self.buf,
            model: self.model,
            kind,
            first: true,
            pending: None,
            next: 0,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Fields<'a>, Error> {
        self.serialize_map(Some(len))
    }
}

struct List<'a> {
    buf: &'a mut Vec<u8>,
    model: &'a ServiceModel,
    item: &'a Shape,
    first: bool,
}

impl List<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let slot = Slot::Item {
            first: &mut self.first,
        };
        put(Elem::child(self.model, self.buf, self.item, slot), value)
    }

    fn finish(self) -> Result<(), Error> {
        self.buf.push(b']');
        Ok(())
    }
}

encode::list_serializers!(List);

enum FieldsOf<'a> {
    Structure(&'a Structure),
    /// A map, with its values' shape.
    Map(&'a Shape),
}

/// What the last key said about the value that follows.
enum Next<'a> {
    /// A declared body member: write it under its name.
    Member(&'a Member),
    /// A map entry whose key is written.
    Entry,
    /// Not part of the body (a header or status member): leave the value out.
    Skip,
    /// A member the shape does not declare: a bug in the service, reported when its value
    /// comes.
    Undeclared(String),
}

/// The members of a structure or the entries of a map. `next`: where the member after the
/// last one written is; outputs in the model's (alphabetical) order find their members there.
struct Fields<'a> {
    buf: &'a mut Vec<u8>,
    model: &'a ServiceModel,
    kind: FieldsOf<'a>,
    first: bool,
    pending: Option<Next<'a>>,
    next: usize,
}

impl Fields<'_> {
    fn key(&mut self, key: &str) {
        self.pending = Some(match self.kind {
            FieldsOf::Structure(st) => {
                let found = st
                    .members
                    .iter()
                    .enumerate()
                    .skip(self.next)
                    .take(4)
                    .find(|(_, m)| m.name == key)
                    .map(|(i, _)| i)
                    .or_else(|| st.member_index(key));
                match found.map(|i| (i, &st.members[i])) {
                    // Headers and status codes are the envelope's business.
                    Some((i, m)) if m.location.is_none() => {
                        self.next = i + 1;
                        Next::Member(m)
                    }
                    Some(_) => Next::Skip,
                    None => Next::Undeclared(key.to_owned()),
                }
            }
            FieldsOf::Map(_) => {
                if !self.first {
                    self.buf.push(b',');
                }
                self.first = false;
                push_str(self.buf, key);
                self.buf.push(b':');
                Next::Entry
            }
        });
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match self.pending.take() {
            None | Some(Next::Skip) => Ok(()),
            Some(Next::Undeclared(key)) => Err(encode::undeclared(&key)),
            Some(Next::Member(m)) => {
                let slot = Slot::Member {
                    key: &m.json_key,
                    first: &mut self.first,
                };
                put(
                    Elem::child(self.model, self.buf, self.model.target(m), slot),
                    value,
                )
            }
            Some(Next::Entry) => {
                let FieldsOf::Map(shape) = self.kind else {
                    return Ok(());
                };
                put(Elem::child(self.model, self.buf, shape, Slot::Entry), value)
            }
        }
    }

    fn finish(self) -> Result<(), Error> {
        self.buf.push(b'}');
        Ok(())
    }
}

encode::field_serializers!(Fields);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_and_encodes() {
        let m = airlock_model::mwaa();
        let e = decode(m, Some("CreateEnvironmentInput"), b"{\"Name\": 5}").unwrap_err();
        assert_eq!(e.code, "SerializationException");
        let e = decode(m, Some("CreateEnvironmentInput"), b"{not json").unwrap_err();
        assert_eq!(e.code, "SerializationException");
        let e = decode(
            m,
            Some("CreateEnvironmentInput"),
            b"{\"DagS3Path\": \"dags\"}",
        )
        .unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert!(e.message.contains("'executionRoleArn'"), "{}", e.message);
        let shape = m.shape("Environment");
        let out = |v: &Value| {
            let mut buf = Vec::new();
            write(&mut buf, m, shape, v).unwrap();
            String::from_utf8(buf).unwrap()
        };
        assert_eq!(
            out(&json!({"Name": "e", "CreatedAt": "2024-05-01T10:00:00.500Z", "Arn": null})),
            r#"{"Name":"e","CreatedAt":1714557600.5}"#
        );
        assert_eq!(
            out(
                &json!({"Tags": {"a": "1", "b\"": "2"}, "AirflowConfigurationOptions": {}, "LastUpdate": {"CreatedAt": "2024-05-01T10:00:00Z", "Status": "SUCCESS"}})
            ),
            r#"{"Tags":{"a":"1","b\"":"2"},"AirflowConfigurationOptions":{},"LastUpdate":{"CreatedAt":1714557600.0,"Status":"SUCCESS"}}"#
        );
        // A member the shape does not declare is the service's bug, never silently dropped.
        let err = write(
            &mut Vec::new(),
            m,
            shape,
            &json!({"Name": "e", "Nmae": "e"}),
        )
        .unwrap_err();
        assert!(err.0.contains("Nmae"), "{err}");
        let err = write(&mut Vec::new(), m, shape, &json!({"Tags": "not a map"})).unwrap_err();
        assert!(err.0.contains("cannot hold a string"), "{err}");
    }

    /// A null item of a list or map is left out: services see only values of the items' shape.
    #[test]
    fn null_items_are_left_out() {
        let m = airlock_model::acm();
        let v = decode(
            m,
            Some("RequestCertificateRequest"),
            br#"{"DomainName": "a.example.com", "SubjectAlternativeNames": [null, "b.example.com"], "Tags": [null]}"#,
        )
        .unwrap();
        assert_eq!(
            v["SubjectAlternativeNames"],
            serde_json::json!(["b.example.com"])
        );
        assert_eq!(v["Tags"], serde_json::json!([]));
        let m = airlock_model::mwaa();
        let v = decode(
            m,
            Some("TagResourceInput"),
            br#"{"Tags": {"a": null, "b": "2"}}"#,
        )
        .unwrap();
        assert_eq!(v["Tags"], serde_json::json!({"b": "2"}));
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        for text in [
            "plain",
            "quote \" and \\ back",
            "line\nfeed\ttab\r",
            "\u{1}\u{1f}ü€",
            "",
        ] {
            let mut buf = Vec::new();
            push_str(&mut buf, text);
            assert_eq!(
                String::from_utf8(buf).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
        // Each special byte at every position of a text longer than two blocks.
        let base = "0123456789abcdefghijklmnopqrstuvwxyzü€";
        for c in ['"', '\\', '\n', '\u{1}', '\u{1f}'] {
            for at in 0..=base.chars().count() {
                let mut t: String = base.chars().take(at).collect();
                t.push(c);
                t.extend(base.chars().skip(at));
                let mut buf = Vec::new();
                push_str(&mut buf, &t);
                assert_eq!(
                    String::from_utf8(buf).unwrap(),
                    serde_json::to_string(&t).unwrap()
                );
            }
        }
    }

    /// Document members (free-form JSON) are written as they are.
    #[test]
    fn documents_pass_through() {
        let m = airlock_model::mwaa();
        let shape = m.shape("InvokeRestApiResponse");
        let mut buf = Vec::new();
        write(
            &mut buf,
            m,
            shape,
            &json!({"RestApiResponse": {"x": [1, {"y": null}]}, "RestApiStatusCode": 200}),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            r#"{"RestApiResponse":{"x":[1,{"y":null}]},"RestApiStatusCode":200}"#
        );
    }
}
