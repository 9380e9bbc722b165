//! Decoding the `ec2` and `query` protocols' form-encoded requests into model-shaped JSON.
//!
//! `Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1` becomes
//! `{"Filters": [{"Name": "vpc-id", "Values": ["vpc-1"]}]}` by walking the operation's input
//! shape: member names on the wire come from the model (`queryName`, `locationName`), list
//! elements are `Name.N` (ec2, flattened query lists) or `Name.member.N` (query), maps are
//! `Name.entry.N.key`/`.value`. Required members, types and the model's constraints are checked on
//! the way, and each failure is answered with the dialect's error.

use crate::validate::{self, camel, Violation};
use crate::ApiError;
use airlock_model::{Member, Operation, ServiceModel, Shape, ShapeKind};
use serde_json::{Map, Value};
use std::cell::Cell;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Ec2,
    Query,
}

/// Parses an `application/x-www-form-urlencoded` body (or query string).
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    if std::str::from_utf8(body).is_err() {
        return Err(ApiError::new(
            "MalformedQueryString",
            "The request body is not valid UTF-8.",
        ));
    }
    Ok(form_urlencoded::parse(body).into_owned().collect())
}

/// The value of `name` in parsed form parameters (the last one wins, as on AWS).
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Parameters that belong to the envelope, not to the operation.
fn is_envelope(key: &str) -> bool {
    matches!(
        key,
        "Action"
            | "Version"
            | "AWSAccessKeyId"
            | "SignatureMethod"
            | "SignatureVersion"
            | "Signature"
            | "Timestamp"
    ) || key.starts_with("X-Amz-")
}

#[derive(Default)]
struct Node<'a> {
    value: Option<&'a str>,
    key: &'a str,
    used: Cell<bool>,
    children: BTreeMap<&'a str, Node<'a>>,
}

impl<'a> Node<'a> {
    fn build(params: &'a [(String, String)]) -> Node<'a> {
        let mut root = Node::default();
        for (k, v) in params {
            if is_envelope(k) {
                continue;
            }
            let mut node = &mut root;
            for part in k.split('.') {
                node = node.children.entry(part).or_default();
            }
            node.value = Some(v);
            node.key = k;
        }
        root
    }

    fn take(&self) -> Option<&'a str> {
        self.used.set(true);
        self.value
    }

    /// Children whose names are list indexes, in index order.
    fn indexed(&self) -> Vec<&Node<'a>> {
        let mut items: Vec<(u64, &Node<'a>)> = self
            .children
            .iter()
            .filter_map(|(k, n)| k.parse::<u64>().ok().filter(|i| *i > 0).map(|i| (i, n)))
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, n)| n).collect()
    }

    fn first_unused(&self) -> Option<&'a str> {
        if self.value.is_some() && !self.used.get() {
            return Some(self.key);
        }
        self.children.values().find_map(Node::first_unused)
    }
}

struct Decoder<'m> {
    model: &'m ServiceModel,
    dialect: Dialect,
    violations: Vec<Violation>,
    /// EC2 reports the first problem in its own words rather than as a list of violations.
    ec2_error: Option<ApiError>,
}

/// Decodes the form parameters of `op` into its input object.
pub fn decode(
    model: &ServiceModel,
    dialect: Dialect,
    op: &Operation,
    params: &[(String, String)],
) -> Result<Value, ApiError> {
    let Some(input) = &op.input else {
        return Ok(Value::Object(Map::new()));
    };
    let root = Node::build(params);
    let mut d = Decoder {
        model,
        dialect,
        violations: Vec::new(),
        ec2_error: None,
    };
    let value = d.structure(model.shape(input), &root, "");
    if let Some(e) = d.ec2_error {
        return Err(e);
    }
    if !d.violations.is_empty() {
        return Err(ApiError::new(
            "ValidationError",
            validate::message(&d.violations),
        ));
    }
    if dialect == Dialect::Ec2 {
        if let Some(key) = root.first_unused() {
            return Err(ApiError::new(
                "UnknownParameter",
                format!("The parameter {key} is not recognized"),
            ));
        }
    }
    Ok(value)
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

impl Decoder<'_> {
    fn wire_name<'a>(&self, m: &'a Member) -> &'a str {
        match self.dialect {
            Dialect::Ec2 => &m.ec2_name,
            Dialect::Query => m.wire_name(),
        }
    }

    fn ec2_fail(&mut self, e: ApiError) {
        if self.ec2_error.is_none() {
            self.ec2_error = Some(e);
        }
    }

    fn structure(&mut self, shape: &Shape, node: &Node<'_>, path: &str) -> Value {
        let ShapeKind::Structure(st) = &shape.kind else {
            return Value::Null;
        };
        let mut out = Map::new();
        for m in &st.members {
            let wire = self.wire_name(m);
            match node.children.get(wire) {
                Some(child) => {
                    let mpath = join(path, &camel(&m.name));
                    if let Some(v) = self.value(self.model.target(m), child, &mpath, wire) {
                        out.insert(m.name.to_string(), v);
                    }
                }
                None if st.required.contains(&m.name) => match self.dialect {
                    Dialect::Ec2 => self.ec2_fail(ApiError::missing_parameter(format!(
                        "The request must contain the parameter {wire}"
                    ))),
                    Dialect::Query => self
                        .violations
                        .push(Violation::missing(join(path, &camel(&m.name)))),
                },
                None => {}
            }
        }
        Value::Object(out)
    }

    fn value(&mut self, shape: &Shape, node: &Node<'_>, path: &str, wire: &str) -> Option<Value> {
        match &shape.kind {
            ShapeKind::Structure(_) => {
                node.used.set(true);
                Some(self.structure(shape, node, path))
            }
            ShapeKind::List { member, flattened } => {
                let container = if self.dialect == Dialect::Ec2 || *flattened {
                    Some(node)
                } else {
                    node.children
                        .get(member.location_name.as_deref().unwrap_or("member"))
                };
                // `Name=` is how the query protocol sends an empty list.
                node.used.set(true);
                let items = container.map(Node::indexed).unwrap_or_default();
                let mshape = self.model.target(member);
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let ipath = format!("{path}.{}.member", i + 1);
                    if let Some(v) = self.value(mshape, item, &ipath, wire) {
                        out.push(v);
                    }
                }
                let mut vs = Vec::new();
                validate::check_len(shape, path, out.len(), &mut vs);
                self.report(vs, wire, "");
                Some(Value::Array(out))
            }
            ShapeKind::Map {
                key,
                value,
                flattened,
            } => {
                node.used.set(true);
                let container = if *flattened {
                    Some(node)
                } else {
                    node.children.get("entry")
                };
                let kname = key.location_name.as_deref().unwrap_or("key");
                let vname = value.location_name.as_deref().unwrap_or("value");
                let mut out = Map::new();
                for entry in container.map(Node::indexed).unwrap_or_default() {
                    entry.used.set(true);
                    let k = entry.children.get(kname).and_then(Node::take);
                    let v = entry.children.get(vname);
                    if let (Some(k), Some(v)) = (k, v) {
                        if let Some(v) = self.value(self.model.target(value), v, path, wire) {
                            out.insert(k.to_owned(), v);
                        }
                    }
                }
                Some(Value::Object(out))
            }
            _ => {
                let raw = node.take()?;
                self.scalar(shape, raw, path, wire)
            }
        }
    }

    fn scalar(&mut self, shape: &Shape, raw: &str, path: &str, wire: &str) -> Option<Value> {
        let mut vs = Vec::new();
        let v = match &shape.kind {
            ShapeKind::Integer | ShapeKind::Long => match raw.trim().parse::<i64>() {
                Ok(n) => {
                    validate::check_number(shape, path, n, &mut vs);
                    Value::from(n)
                }
                Err(_) => {
                    self.type_error(raw, path, wire, "Member must be a number");
                    return None;
                }
            },
            ShapeKind::Float | ShapeKind::Double => match raw.trim().parse::<f64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    self.type_error(raw, path, wire, "Member must be a number");
                    return None;
                }
            },
            ShapeKind::Boolean => match raw.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    self.type_error(raw, path, wire, "Member must be a boolean");
                    return None;
                }
            },
            _ => {
                validate::check_string(shape, path, raw, false, &mut vs);
                Value::String(raw.to_owned())
            }
        };
        self.report(vs, wire, raw);
        Some(v)
    }

    fn type_error(&mut self, raw: &str, path: &str, wire: &str, constraint: &str) {
        match self.dialect {
            Dialect::Ec2 => self.ec2_fail(ApiError::invalid_parameter_value(format!(
                "Invalid value '{raw}' for {wire}"
            ))),
            Dialect::Query => self.violations.push(Violation {
                path: path.to_owned(),
                value: format!("'{raw}'"),
                constraint: constraint.to_owned(),
            }),
        }
    }

    fn report(&mut self, vs: Vec<Violation>, wire: &str, raw: &str) {
        if vs.is_empty() {
            return;
        }
        match self.dialect {
            Dialect::Ec2 => {
                let why = &vs[0].constraint;
                self.ec2_fail(ApiError::invalid_parameter_value(format!(
                    "Value ({raw}) for parameter {wire} is invalid. {why}"
                )))
            }
            Dialect::Query => self.violations.extend(vs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(s: &str) -> Vec<(String, String)> {
        parse_form(s.as_bytes()).unwrap()
    }

    #[test]
    fn ec2_lists_filters_and_nested_structures() {
        let m = airlock_model::ec2();
        let op = m.operation("DescribeVpcs").unwrap();
        let v = decode(m, Dialect::Ec2, op, &pairs("Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.1.Value.2=vpc-2&VpcId.1=vpc-3&MaxResults=5")).unwrap();
        assert_eq!(
            v,
            json!({"Filters": [{"Name": "vpc-id", "Values": ["vpc-1", "vpc-2"]}], "MaxResults": 5, "VpcIds": ["vpc-3"]})
        );
        let op = m.operation("AuthorizeSecurityGroupIngress").unwrap();
        let v = decode(m, Dialect::Ec2, op, &pairs("GroupId=sg-1&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=443&IpPermissions.1.ToPort=443&IpPermissions.1.Groups.1.GroupId=sg-2&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0%2F16")).unwrap();
        assert_eq!(
            v["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"],
            "sg-2"
        );
        assert_eq!(
            v["IpPermissions"][0]["IpRanges"][0]["CidrIp"],
            "10.0.0.0/16"
        );
        assert_eq!(v["IpPermissions"][0]["FromPort"], 443);
        let op = m.operation("CreateSecurityGroup").unwrap();
        let v = decode(
            m,
            Dialect::Ec2,
            op,
            &pairs("GroupName=g&GroupDescription=d&VpcId=vpc-1"),
        )
        .unwrap();
        assert_eq!(v["Description"], "d");
    }

    #[test]
    fn ec2_errors() {
        let m = airlock_model::ec2();
        let op = m.operation("CreateVpcEndpoint").unwrap();
        let e = decode(m, Dialect::Ec2, op, &pairs("ServiceName=x")).unwrap_err();
        assert_eq!(e.code, "MissingParameter");
        assert_eq!(e.message, "The request must contain the parameter VpcId");
        let op = m.operation("DescribeVpcs").unwrap();
        let e = decode(m, Dialect::Ec2, op, &pairs("Bogus=1")).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("UnknownParameter", "The parameter Bogus is not recognized")
        );
        let e = decode(m, Dialect::Ec2, op, &pairs("MaxResults=many")).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue");
        let e = decode(m, Dialect::Ec2, op, &pairs("DryRun=maybe")).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue");
    }

    #[test]
    fn query_member_lists_and_validation() {
        let m = airlock_model::iam();
        let op = m.operation("CreateRole").unwrap();
        let v = decode(m, Dialect::Query, op, &pairs("RoleName=r&AssumeRolePolicyDocument=%7B%7D&Tags.member.1.Key=k&Tags.member.1.Value=v")).unwrap();
        assert_eq!(
            v,
            json!({"AssumeRolePolicyDocument": "{}", "RoleName": "r", "Tags": [{"Key": "k", "Value": "v"}]})
        );
        let e = decode(m, Dialect::Query, op, &pairs("RoleName=bad%20name")).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert!(
            e.message.starts_with("2 validation errors detected: "),
            "{}",
            e.message
        );
        assert!(e.message.contains("Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null"));
        assert!(e.message.contains("Value 'bad name' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern"));
    }
}
