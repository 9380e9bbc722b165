//! A template's values as an operation's input: what CloudFormation's resource providers do
//! between a template's properties and the services' APIs.

use airlock_model::{Protocol, ServiceModel, Shape, ShapeKind as K};
use airlock_protocol::validate::{self, Violation};
use airlock_protocol::{ApiError, ApiResult};
use serde_json::Value;

/// A value shaped as operation `op`'s input: numbers and booleans written as strings (as
/// templates often do) become the model's types, scalars where a list is expected become
/// one-item lists, members the input does not have are dropped. A value that is still not of
/// its member's type is refused as CloudFormation's schema validation refuses it (its message
/// is completed with the resource's name by the engine); a required member missing, as the
/// service's front end refuses it. Either way the operation does not run.
pub fn input(service: &str, op: &str, input: Value) -> ApiResult<Value> {
    let Some(model) = airlock_model::all().iter().find(|m| m.name == service) else {
        return Ok(input);
    };
    let Some(shape) = model
        .operation(op)
        .and_then(|o| o.input.as_deref())
        .and_then(|s| model.find_shape(s))
    else {
        return Ok(input);
    };
    let input = coerce_to(model, shape, input);
    match refused(model, shape, &input, "#", "") {
        None => Ok(input),
        Some(Refusal::Mistyped(why)) => Err(ApiError::new("ValidationError", why)),
        Some(Refusal::Missing { name, path }) => {
            let violation = validate::message(&[Violation::missing(path)]);
            Err(match model.protocol {
                Protocol::Ec2 => ApiError::missing_parameter(format!(
                    "The request must contain the parameter {name}"
                )),
                Protocol::Json | Protocol::RestJson => {
                    ApiError::new("ValidationException", violation)
                }
                _ => ApiError::new("ValidationError", violation),
            })
        }
    }
}

/// Why a coerced input cannot go to its operation.
enum Refusal {
    /// A value not of its member's type, as CloudFormation's schema validation words it.
    Mistyped(String),
    /// A required member missing: its name, and its path as AWS's validation messages name it.
    Missing { name: String, path: String },
}

fn coerce_to(model: &ServiceModel, shape: &Shape, v: Value) -> Value {
    match (&shape.kind, v) {
        (K::Structure(s), Value::Object(m)) => Value::Object(
            m.into_iter()
                .filter_map(|(k, v)| {
                    let member = s.members.iter().find(|x| *x.name == *k)?;
                    Some((k, coerce_to(model, model.target(member), v)))
                })
                .collect(),
        ),
        (K::List { member, .. }, Value::Array(a)) => {
            let t = model.target(member);
            // A null item says nothing (as the JSON decoder takes it): it is left out.
            let items = a.into_iter().filter(|x| !x.is_null());
            Value::Array(items.map(|x| coerce_to(model, t, x)).collect())
        }
        (K::List { member, .. }, x @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
            Value::Array(vec![coerce_to(model, model.target(member), x)])
        }
        (K::Map { value, .. }, Value::Object(m)) => {
            let t = model.target(value);
            Value::Object(
                m.into_iter()
                    .map(|(k, x)| (k, coerce_to(model, t, x)))
                    .collect(),
            )
        }
        (K::Integer | K::Long, Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::String(s)),
        (K::Float | K::Double, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::String(s)),
        (K::Boolean, Value::String(s)) if s == "true" || s == "false" => Value::Bool(s == "true"),
        (K::String | K::Timestamp { .. }, Value::Number(n)) => Value::String(n.to_string()),
        (K::String, Value::Bool(b)) => Value::String(b.to_string()),
        (_, v) => v,
    }
}

/// The first required member of `v` missing, or value not of its shape's type
/// (`#/MaxSessionDuration: expected type: Integer, found: String`). `at` is the JSON pointer of
/// `v` (CloudFormation's names), `path` its path in AWS's validation messages (`tags.1.member`).
/// An idempotency token is not required: the SDKs fill it in, as the providers do.
fn refused(
    model: &ServiceModel,
    shape: &Shape,
    v: &Value,
    at: &str,
    path: &str,
) -> Option<Refusal> {
    let join = |name: &str| match validate::camel(name) {
        name if path.is_empty() => name,
        name => format!("{path}.{name}"),
    };
    let expected = match (&shape.kind, v) {
        (K::Structure(s), Value::Object(m)) => {
            let token = |r: &str| {
                s.members
                    .iter()
                    .any(|x| *x.name == *r && x.idempotency_token)
            };
            if let Some(r) = s
                .required
                .iter()
                .find(|r| !m.contains_key(&***r) && !token(r))
            {
                return Some(Refusal::Missing {
                    name: r.to_string(),
                    path: join(r),
                });
            }
            return m.iter().find_map(|(k, x)| {
                let member = s.members.iter().find(|x| *x.name == **k)?;
                refused(
                    model,
                    model.target(member),
                    x,
                    &format!("{at}/{k}"),
                    &join(k),
                )
            });
        }
        (K::List { member, .. }, Value::Array(a)) => {
            let t = model.target(member);
            return a.iter().enumerate().find_map(|(i, x)| {
                let item = format!("{path}.{}.member", i + 1);
                refused(model, t, x, &format!("{at}/{i}"), &item)
            });
        }
        (K::Map { value, .. }, Value::Object(m)) => {
            let t = model.target(value);
            return m.iter().find_map(|(k, x)| {
                refused(model, t, x, &format!("{at}/{k}"), &format!("{path}.{k}"))
            });
        }
        (K::Document, _) | (_, Value::Null) => return None,
        (K::String | K::Timestamp { .. } | K::Blob, Value::String(_)) => return None,
        (K::Integer | K::Long, Value::Number(n)) if n.is_i64() => return None,
        (K::Float | K::Double, Value::Number(_)) => return None,
        (K::Boolean, Value::Bool(_)) => return None,
        (K::Structure(_) | K::Map { .. }, _) => "JSONObject",
        (K::List { .. }, _) => "JSONArray",
        (K::Integer | K::Long, _) => "Integer",
        (K::Float | K::Double, _) => "Number",
        (K::Boolean, _) => "Boolean",
        (K::String | K::Timestamp { .. } | K::Blob, _) => "String",
    };
    let found = match v {
        Value::Object(_) => "JSONObject",
        Value::Array(_) => "JSONArray",
        Value::String(_) => "String",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        _ => "Number",
    };
    Some(Refusal::Mistyped(format!(
        "{at}: expected type: {expected}, found: {found}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What a template writes as strings becomes the model's types; what cannot is named by
    /// its path, as CloudFormation's schema validation names it, and nothing is called.
    #[test]
    fn template_values_take_the_model_types_or_are_refused() {
        let role = |extra: Value| {
            let mut v = json!({"RoleName": "r", "AssumeRolePolicyDocument": "{}"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            input("iam", "CreateRole", v)
        };
        let ok = role(
            json!({"MaxSessionDuration": " 3600", "Tags": [{"Key": "a", "Value": 1}],
            "Unknown": true}),
        )
        .unwrap();
        assert_eq!(ok["MaxSessionDuration"], 3600);
        assert_eq!(ok["Tags"], json!([{"Key": "a", "Value": "1"}]));
        assert_eq!(ok.get("Unknown"), None);
        let nulls = role(json!({"Tags": [null, {"Key": "a", "Value": "b"}]})).unwrap();
        assert_eq!(nulls["Tags"], json!([{"Key": "a", "Value": "b"}]));
        for (extra, why) in [
            (
                json!({"MaxSessionDuration": "one hour"}),
                "#/MaxSessionDuration: expected type: Integer, found: String",
            ),
            (
                json!({"Tags": [{"Key": "a", "Value": "1"}, "b"]}),
                "#/Tags/1: expected type: JSONObject, found: String",
            ),
            (
                json!({"Tags": [{"Key": {"Ref": "x"}, "Value": "1"}]}),
                "#/Tags/0/Key: expected type: String, found: JSONObject",
            ),
        ] {
            let e = role(extra.clone()).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.message.as_str()),
                ("ValidationError", why),
                "{extra}"
            );
        }
        // A required member missing: the service's own answer, per protocol.
        let e = input(
            "iam",
            "CreateRole",
            json!({"AssumeRolePolicyDocument": "{}"}),
        )
        .unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null"
        );
        let e = input("mwaa", "CreateEnvironment", json!({"Name": "env"})).unwrap_err();
        assert_eq!(e.code, "ValidationException");
        let e = input("ec2", "CreateSubnet", json!({"CidrBlock": "10.0.0.0/24"})).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            (
                "MissingParameter",
                "The request must contain the parameter VpcId"
            )
        );
        let bucket = input(
            "s3",
            "PutBucketVersioning",
            json!({"Bucket": "b", "VersioningConfiguration": {"Status": "Enabled", "MFADelete": ["x"]}}),
        );
        assert_eq!(
            bucket.unwrap_err().message,
            "#/VersioningConfiguration/MFADelete: expected type: String, found: JSONArray"
        );
    }
}
