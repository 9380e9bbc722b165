//! The `json` (awsJson 1.0/1.1) and `rest-json` protocols' bodies, checked against the model.

use crate::validate::{self, camel, Violation};
use crate::ApiError;
use airlock_model::{ServiceModel, Shape, ShapeKind};
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
                let p = sub(&camel(&m.name));
                match obj.remove(&m.name) {
                    Some(Value::Null) | None => {
                        if st.required.contains(&m.name) && m.location.is_none() {
                            out.push(Violation::missing(p));
                        }
                    }
                    Some(val) => {
                        res.insert(
                            m.name.clone(),
                            check(model, model.shape(&m.shape), val, &p, out)?,
                        );
                    }
                }
            }
            Value::Object(res)
        }
        (ShapeKind::List { member, .. }, Value::Array(items)) => {
            validate::check_len(shape, path, items.len(), out);
            let ms = model.shape(&member.shape);
            let mut res = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
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
            let (ks, vs) = (model.shape(&key.shape), model.shape(&value.shape));
            let mut res = Map::new();
            for (k, val) in obj {
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

/// Converts a service's output for the wire: timestamps become epoch seconds, members that the
/// shape does not declare are dropped.
pub fn encode(model: &ServiceModel, shape: &Shape, v: &Value) -> Value {
    match (&shape.kind, v) {
        (ShapeKind::Structure(st), Value::Object(obj)) => {
            let mut res = Map::new();
            for m in &st.members {
                if m.location.is_some() {
                    continue; // headers, status codes: the envelope's business
                }
                if let Some(val) = obj.get(&m.name).filter(|v| !v.is_null()) {
                    res.insert(m.name.clone(), encode(model, model.shape(&m.shape), val));
                }
            }
            Value::Object(res)
        }
        (ShapeKind::List { member, .. }, Value::Array(items)) => {
            let ms = model.shape(&member.shape);
            Value::Array(items.iter().map(|i| encode(model, ms, i)).collect())
        }
        (ShapeKind::Map { value, .. }, Value::Object(obj)) => {
            let vs = model.shape(&value.shape);
            Value::Object(
                obj.iter()
                    .map(|(k, v)| (k.clone(), encode(model, vs, v)))
                    .collect(),
            )
        }
        (ShapeKind::Document, v) => v.clone(),
        (ShapeKind::Timestamp { .. }, Value::String(s)) => match OffsetDateTime::parse(s, &Rfc3339)
        {
            Ok(t) => {
                let secs = t.unix_timestamp() as f64 + f64::from(t.millisecond()) / 1000.0;
                serde_json::Number::from_f64(secs)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
            Err(_) => Value::String(s.clone()),
        },
        (_, other) => other.clone(),
    }
}

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
        let out = encode(
            m,
            shape,
            &json!({"Name": "e", "CreatedAt": "2024-05-01T10:00:00.500Z", "Bogus": 1}),
        );
        assert_eq!(out, json!({"CreatedAt": 1714557600.5, "Name": "e"}));
    }
}
