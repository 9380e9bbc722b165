//! Reading decoded inputs: JSON objects keyed by the model's member names.
//!
//! The protocol layer has already checked required members and types against the model, so these
//! accessors only return what is there; `req` is for members the model leaves optional but the
//! operation needs, and answers `MissingParameter` as EC2 does.

use airlock_protocol::{ApiError, ApiResult};
use serde_json::Value;

/// The input as its generated type (`airlock_dto`). The protocol layer has checked it against the
/// same model, so a mismatch is Airlock's bug, reported as an internal error.
pub fn typed<'a, T: serde::Deserialize<'a>>(input: &'a Value) -> ApiResult<T> {
    T::deserialize(input)
        .map_err(|e| ApiError::internal(format!("An internal error has occurred (input: {e})")))
}

pub fn str<'a>(input: &'a Value, name: &str) -> Option<&'a str> {
    input.get(name).and_then(Value::as_str)
}

pub fn req<'a>(input: &'a Value, name: &str) -> ApiResult<&'a str> {
    str(input, name).ok_or_else(|| {
        ApiError::missing_parameter(format!("The request must contain the parameter {name}"))
    })
}

/// A member of a typed input the model leaves optional but the operation needs (`name`, the
/// model's name for it): `MissingParameter` as [`req`] answers it.
pub fn given<'a>(member: &'a Option<String>, name: &str) -> ApiResult<&'a str> {
    member.as_deref().ok_or_else(|| {
        ApiError::missing_parameter(format!("The request must contain the parameter {name}"))
    })
}

pub fn bool(input: &Value, name: &str) -> Option<bool> {
    match input.get(name) {
        Some(Value::Bool(b)) => Some(*b),
        // Nested `{ "Value": true }` attribute shapes (AttributeBooleanValue).
        Some(Value::Object(o)) => o.get("Value").and_then(Value::as_bool),
        _ => None,
    }
}

pub fn int(input: &Value, name: &str) -> Option<i64> {
    input.get(name).and_then(Value::as_i64)
}

/// A list of strings (absent: empty).
pub fn strs(input: &Value, name: &str) -> Vec<String> {
    input
        .get(name)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A list of objects (absent: empty).
pub fn list<'a>(input: &'a Value, name: &str) -> &'a [Value] {
    input
        .get(name)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `DryRun=true`: AWS checks permissions and answers `DryRunOperation` without acting.
pub fn dry_run(input: &Value) -> ApiResult<()> {
    if bool(input, "DryRun") == Some(true) {
        return Err(ApiError::new(
            "DryRunOperation",
            "Request would have succeeded, but DryRun flag is set.",
        )
        .with_status(412));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{assert_refused, ctx_as, ec2, root_principal, store};
    use serde_json::json;

    /// A member the operation needs but the model leaves optional: there, or EC2's
    /// MissingParameter naming it (CreateVpc, CreateClientVpnEndpoint, AssociateSubnetCidrBlock).
    #[test]
    fn given_members_are_there_or_missing_parameters() {
        assert_eq!(
            given(&Some("10.0.0.0/16".into()), "CidrBlock").unwrap(),
            "10.0.0.0/16"
        );
        let store = store();
        let config = crate::Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        for (op, input, name) in [
            ("CreateVpc", json!({}), "CidrBlock"),
            (
                "CreateClientVpnEndpoint",
                json!({"ServerCertificateArn": "arn:aws:acm:us-west-2:123456789012:certificate/x",
                    "AuthenticationOptions": [], "ConnectionLogOptions": {"Enabled": false}}),
                "ClientCidrBlock",
            ),
            (
                "AssociateSubnetCidrBlock",
                json!({"SubnetId": "subnet-0123456789abcdef0"}),
                "ipv6CidrBlock",
            ),
        ] {
            assert_refused(
                ec2(&ctx, op, input),
                "MissingParameter",
                &format!("The request must contain the parameter {name}"),
            );
        }
    }
}
