//! The template language: JSON and YAML bodies read into one long form (`!Ref x` becomes
//! `{"Ref": "x"}`), the template's structure checked as CloudFormation checks it, and the
//! dependencies between resources. Pure: no store, no clock.

use super::resources;
use airlock_protocol::ApiError;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// CloudFormation's one error code for a bad request.
pub fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new("ValidationError", message)
}

fn format_error(message: impl std::fmt::Display) -> ApiError {
    validation(format!("Template format error: {message}"))
}

/// The largest `TemplateBody` CloudFormation takes (a `TemplateURL` may be larger).
pub const MAX_BODY: usize = 51_200;
/// The largest template read from S3.
pub const MAX_URL_BODY: usize = 1_048_576;

/// The most resources a template may declare (AWS's quota).
pub const MAX_RESOURCES: usize = 500;

/// Reads a template body, JSON or YAML, into its long form.
pub fn parse(body: &str) -> Result<Value, ApiError> {
    let trimmed = body.trim_start();
    let doc = if trimmed.starts_with('{') {
        serde_json::from_str::<Value>(body).map_err(|e| {
            format_error(format!(
                "JSON not well-formed. (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?
    } else {
        let y: serde_yaml::Value = serde_yaml::from_str(body).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(" (line {}, column {})", l.line(), l.column()))
                .unwrap_or_default();
            format_error(format!("YAML not well-formed.{at}"))
        })?;
        from_yaml(y)?
    };
    if !doc.is_object() {
        return Err(format_error("unsupported structure."));
    }
    Ok(doc)
}

/// A YAML value in JSON's long form: the short-form tags become the functions they stand for.
fn from_yaml(y: serde_yaml::Value) -> Result<Value, ApiError> {
    use serde_yaml::Value as Y;
    Ok(match y {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0))
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(from_yaml).collect::<Result<_, _>>()?)
        }
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    _ => return Err(format_error("YAML not well-formed. (mapping key)")),
                };
                out.insert(key, from_yaml(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = from_yaml(t.value)?;
            let (key, value) = match name {
                "Ref" => ("Ref".to_string(), value),
                "Condition" => ("Condition".to_string(), value),
                "GetAtt" => {
                    let v = match value {
                        Value::String(s) => match s.split_once('.') {
                            Some((r, a)) => Value::from(vec![r.to_string(), a.to_string()]),
                            None => Value::String(s),
                        },
                        other => other,
                    };
                    ("Fn::GetAtt".to_string(), v)
                }
                "Base64" | "Cidr" | "FindInMap" | "GetAZs" | "ImportValue" | "Join" | "Select"
                | "Split" | "Sub" | "If" | "Equals" | "And" | "Or" | "Not" | "Transform" => {
                    (format!("Fn::{name}"), value)
                }
                _ => return Err(format_error(format!("Unsupported tag !{name}"))),
            };
            let mut m = Map::new();
            m.insert(key, value);
            Value::Object(m)
        }
    })
}

const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
];

/// The parameter types CloudFormation knows.
fn known_parameter_type(t: &str) -> bool {
    const AWS_TYPES: &[&str] = &[
        "AWS::EC2::AvailabilityZone::Name",
        "AWS::EC2::Image::Id",
        "AWS::EC2::Instance::Id",
        "AWS::EC2::KeyPair::KeyName",
        "AWS::EC2::SecurityGroup::GroupName",
        "AWS::EC2::SecurityGroup::Id",
        "AWS::EC2::Subnet::Id",
        "AWS::EC2::Volume::Id",
        "AWS::EC2::VPC::Id",
        "AWS::Route53::HostedZone::Id",
        "AWS::SSM::Parameter::Name",
    ];
    let inner = t
        .strip_prefix("List<")
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(t);
    if let Some(v) = t
        .strip_prefix("AWS::SSM::Parameter::Value<")
        .and_then(|s| s.strip_suffix('>'))
    {
        let v = v
            .strip_prefix("List<")
            .and_then(|s| s.strip_suffix('>'))
            .unwrap_or(v);
        return matches!(v, "String" | "CommaDelimitedList") || AWS_TYPES.contains(&v);
    }
    matches!(t, "String" | "Number" | "CommaDelimitedList")
        || (t != inner && inner == "Number")
        || AWS_TYPES.contains(&inner)
}

/// A template whose structure CloudFormation accepts: sections, parameters, resources (types
/// Airlock emulates), references, and no dependency cycle.
pub fn check(doc: &Value) -> Result<(), ApiError> {
    let top = doc.as_object().expect("parse gives an object");
    let unknown: Vec<&str> = top
        .keys()
        .map(String::as_str)
        .filter(|k| !SECTIONS.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(format_error(format!(
            "Invalid template property or properties [{}]",
            unknown.join(", ")
        )));
    }
    if let Some(v) = top.get("AWSTemplateFormatVersion") {
        if v.as_str() != Some("2010-09-09") {
            return Err(format_error(format!(
                "Unsupported template format version {}",
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            )));
        }
    }
    if let Some(d) = top.get("Description") {
        if !d.is_string() {
            return Err(format_error("Every Description member must be a string."));
        }
    }
    if let Some(t) = top.get("Transform") {
        return Err(validation(format!(
            "Template format error: Transform {} is not supported by Airlock (macros and the \
             serverless transform run AWS-side code).",
            t
        )));
    }
    for (name, p) in section(doc, "Parameters")? {
        let Some(t) = p.get("Type") else {
            return Err(format_error(format!(
                "[/Parameters/{name}] Every Parameters object must contain a Type member."
            )));
        };
        let t = t.as_str().unwrap_or_default();
        if !known_parameter_type(t) {
            return Err(format_error(format!("Unrecognized parameter type: {t}")));
        }
    }
    let resources = section(doc, "Resources")?;
    if resources.is_empty() {
        return Err(format_error(
            "At least one Resources member must be defined.",
        ));
    }
    for (name, max) in [
        ("Resources", MAX_RESOURCES),
        ("Parameters", 200),
        ("Outputs", 200),
        ("Mappings", 200),
    ] {
        let n = section(doc, name)?.len();
        if n > max {
            return Err(format_error(format!(
                "Number of {}, {n}, is greater than maximum allowed, {max}",
                name.to_ascii_lowercase()
            )));
        }
    }
    let mut unsupported = BTreeSet::new();
    for (name, r) in &resources {
        let Some(r) = r.as_object() else {
            return Err(format_error(format!(
                "[/Resources/{name}] resource definition is malformed"
            )));
        };
        let Some(t) = r.get("Type").and_then(Value::as_str) else {
            return Err(format_error(format!(
                "[/Resources/{name}] Every Resources object must contain a Type member."
            )));
        };
        if resources::find(t).is_none() {
            unsupported.insert(t.to_string());
        }
        if let Some(p) = r.get("Properties") {
            if !p.is_object() {
                return Err(format_error(format!(
                    "[/Resources/{name}/Properties] properties must be an object"
                )));
            }
        }
        if let Some(c) = r.get("Condition").and_then(Value::as_str) {
            if !section(doc, "Conditions")?.contains_key(c) {
                return Err(format_error(format!(
                    "Unresolved dependencies [{c}]. Cannot reference resources in the Conditions block of the template"
                )));
            }
        }
    }
    if !unsupported.is_empty() {
        return Err(format_error(format!(
            "Unrecognized resource types: [{}] (Airlock emulates {})",
            unsupported.into_iter().collect::<Vec<_>>().join(", "),
            "the types listed in its README"
        )));
    }
    let params: BTreeSet<&str> = section(doc, "Parameters")?.keys().copied().collect();
    let conditions = section(doc, "Conditions")?;
    let mut missing = BTreeSet::new();
    for (name, r) in &resources {
        for d in depends_on(r) {
            if !resources.contains_key(d.as_str()) {
                missing.insert(d);
            }
        }
        let mut refs = Refs::default();
        refs.walk(r);
        for x in refs.refs {
            if !resources.contains_key(x.as_str()) && !params.contains(x.as_str()) && !is_pseudo(&x)
            {
                missing.insert(x);
            }
        }
        for x in refs.atts {
            if !resources.contains_key(x.as_str()) {
                return Err(validation(format!(
                    "Template error: instance of Fn::GetAtt references undefined resource {x}"
                )));
            }
        }
        for c in refs.conditions {
            if !conditions.contains_key(c.as_str()) {
                return Err(format_error(format!(
                    "Unresolved dependencies [{c}] in resource {name}: condition not defined"
                )));
            }
        }
    }
    if !missing.is_empty() {
        return Err(format_error(format!(
            "Unresolved resource dependencies [{}] in the Resources block of the template",
            missing.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    for (name, o) in section(doc, "Outputs")? {
        if o.get("Value").is_none() {
            return Err(format_error(format!(
                "[/Outputs/{name}] 'null' values are not allowed in templates"
            )));
        }
        let mut refs = Refs::default();
        refs.walk(o);
        for x in refs.refs.iter().chain(refs.atts.iter()) {
            if !resources.contains_key(x.as_str()) && !params.contains(x.as_str()) && !is_pseudo(x)
            {
                return Err(format_error(format!(
                    "Unresolved resource dependencies [{x}] in the Outputs block of the template"
                )));
            }
        }
    }
    order(doc)?;
    Ok(())
}

/// A section of the template as name → value (empty when absent).
pub fn section<'a>(doc: &'a Value, name: &str) -> Result<BTreeMap<&'a str, &'a Value>, ApiError> {
    match doc.get(name) {
        None => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => Ok(m.iter().map(|(k, v)| (k.as_str(), v)).collect()),
        Some(_) => Err(format_error(format!("{name} must be an object"))),
    }
}

/// The resources in template order, as (logical id, definition).
pub fn resources(doc: &Value) -> Vec<(&str, &Value)> {
    doc.get("Resources")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default()
}

pub fn is_pseudo(name: &str) -> bool {
    matches!(
        name,
        "AWS::AccountId"
            | "AWS::NotificationARNs"
            | "AWS::NoValue"
            | "AWS::Partition"
            | "AWS::Region"
            | "AWS::StackId"
            | "AWS::StackName"
            | "AWS::URLSuffix"
    )
}

/// What a value refers to: `Ref`s, `Fn::GetAtt` resources, `${...}` names in `Fn::Sub`, and
/// conditions named by `Fn::If`/`Condition`.
#[derive(Default)]
pub struct Refs {
    pub refs: BTreeSet<String>,
    pub atts: BTreeSet<String>,
    pub conditions: BTreeSet<String>,
}

impl Refs {
    pub fn walk(&mut self, v: &Value) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| self.walk(i)),
            Value::Object(m) => {
                if m.len() == 1 {
                    let (k, arg) = m.iter().next().expect("one member");
                    match k.as_str() {
                        "Ref" => {
                            if let Some(s) = arg.as_str() {
                                self.refs.insert(s.to_string());
                            }
                            return;
                        }
                        "Fn::GetAtt" => {
                            let target = match arg {
                                Value::Array(a) => a.first().and_then(Value::as_str),
                                Value::String(s) => s.split('.').next(),
                                _ => None,
                            };
                            if let Some(t) = target {
                                self.atts.insert(t.to_string());
                            }
                            return;
                        }
                        "Fn::Sub" => {
                            let (text, vars) = match arg {
                                Value::String(s) => (s.as_str(), None),
                                Value::Array(a) => (
                                    a.first().and_then(Value::as_str).unwrap_or_default(),
                                    a.get(1).and_then(Value::as_object),
                                ),
                                _ => ("", None),
                            };
                            for name in sub_names(text) {
                                if vars.is_some_and(|v| v.contains_key(&name)) {
                                    continue;
                                }
                                match name.split_once('.') {
                                    Some((r, _)) => {
                                        self.atts.insert(r.to_string());
                                    }
                                    None => {
                                        self.refs.insert(name);
                                    }
                                }
                            }
                            if let Some(vars) = vars {
                                vars.values().for_each(|v| self.walk(v));
                            }
                            return;
                        }
                        "Fn::If" => {
                            if let Some(c) = arg.get(0).and_then(Value::as_str) {
                                self.conditions.insert(c.to_string());
                            }
                            if let Value::Array(a) = arg {
                                a.iter().skip(1).for_each(|i| self.walk(i));
                            }
                            return;
                        }
                        "Condition" if arg.is_string() => {
                            self.conditions
                                .insert(arg.as_str().unwrap_or_default().to_string());
                            return;
                        }
                        _ => {}
                    }
                }
                m.values().for_each(|i| self.walk(i));
            }
            _ => {}
        }
    }
}

/// The `${Name}` variables of a `Fn::Sub` string (`${!Literal}` is not one).
pub fn sub_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            out.push(name.trim().to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

/// A resource's explicit `DependsOn`.
pub fn depends_on(r: &Value) -> Vec<String> {
    match r.get("DependsOn") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Each resource's dependencies on other resources (explicit and implicit).
pub fn dependencies(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let all = resources(doc);
    let names: BTreeSet<&str> = all.iter().map(|(n, _)| *n).collect();
    all.iter()
        .map(|(name, r)| {
            let mut refs = Refs::default();
            refs.walk(r.get("Properties").unwrap_or(&Value::Null));
            let deps = refs
                .refs
                .into_iter()
                .chain(refs.atts)
                .chain(depends_on(r))
                .filter(|d| names.contains(d.as_str()))
                .collect();
            (name.to_string(), deps)
        })
        .collect()
}

/// The resources in an order that creates each after what it depends on; a cycle is
/// CloudFormation's "Circular dependency" error.
pub fn order(doc: &Value) -> Result<Vec<String>, ApiError> {
    let deps = dependencies(doc);
    let mut done: Vec<String> = Vec::with_capacity(deps.len());
    let mut placed = BTreeSet::new();
    let template_order: Vec<&str> = resources(doc).into_iter().map(|(n, _)| n).collect();
    loop {
        let before = done.len();
        for name in &template_order {
            if !placed.contains(*name) && deps[*name].iter().all(|d| placed.contains(d.as_str())) {
                placed.insert(name.to_string());
                done.push(name.to_string());
            }
        }
        if done.len() == template_order.len() {
            return Ok(done);
        }
        if done.len() == before {
            let stuck: Vec<&str> = template_order
                .iter()
                .copied()
                .filter(|n| !placed.contains(*n))
                .collect();
            return Err(format_error(format!(
                "Circular dependency between resources: [{}]",
                stuck.join(", ")
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_short_forms_become_long_forms() {
        let doc = parse(
            "Resources:\n  V:\n    Type: AWS::EC2::VPC\n    Properties:\n      CidrBlock: !Ref Cidr\n      Tags:\n        - Key: Name\n          Value: !Sub '${AWS::StackName}-vpc'\n  S:\n    Type: AWS::EC2::Subnet\n    Properties:\n      VpcId: !GetAtt V.VpcId\n      AvailabilityZone: !Select [0, !GetAZs '']\n",
        )
        .unwrap();
        assert_eq!(
            doc["Resources"]["V"]["Properties"]["CidrBlock"],
            json!({"Ref": "Cidr"})
        );
        assert_eq!(
            doc["Resources"]["S"]["Properties"]["VpcId"],
            json!({"Fn::GetAtt": ["V", "VpcId"]})
        );
        assert_eq!(
            doc["Resources"]["S"]["Properties"]["AvailabilityZone"],
            json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]})
        );
        assert_eq!(
            doc["Resources"]["V"]["Properties"]["Tags"][0]["Value"],
            json!({"Fn::Sub": "${AWS::StackName}-vpc"})
        );
    }

    #[test]
    fn malformed_bodies_are_format_errors() {
        let e = parse("{\"Resources\": ").unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert!(e
            .message
            .starts_with("Template format error: JSON not well-formed."));
        let e = parse("Resources:\n  - a\n b: [").unwrap_err();
        assert!(e
            .message
            .starts_with("Template format error: YAML not well-formed."));
        let e = parse("Resources: !Bogus x").unwrap_err();
        assert!(e.message.contains("!Bogus"), "{}", e.message);
    }

    #[test]
    fn structure_checks_name_what_is_wrong() {
        let e = check(&json!({"Resources": {}})).unwrap_err();
        assert_eq!(
            e.message,
            "Template format error: At least one Resources member must be defined."
        );
        let e = check(&json!({"Resources": {"X": {"Type": "AWS::Lambda::Function"}}})).unwrap_err();
        assert!(e
            .message
            .contains("Unrecognized resource types: [AWS::Lambda::Function]"));
        let e = check(&json!({"Resources": {"X": {"Type": "AWS::EC2::VPC",
            "Properties": {"CidrBlock": {"Ref": "Nope"}}}}}))
        .unwrap_err();
        assert_eq!(
            e.message,
            "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"
        );
        let many: serde_json::Map<String, Value> = (0..=MAX_RESOURCES)
            .map(|i| (format!("V{i}"), json!({"Type": "AWS::EC2::VPC"})))
            .collect();
        let e = check(&json!({ "Resources": many })).unwrap_err();
        assert_eq!(
            e.message,
            "Template format error: Number of resources, 501, is greater than maximum allowed, 500"
        );
        let e = check(&json!({"Resourcez": {}, "Resources": {"X": {"Type": "AWS::EC2::VPC"}}}))
            .unwrap_err();
        assert!(e.message.contains("[Resourcez]"));
        let e = check(&json!({"Resources": {
            "A": {"Type": "AWS::EC2::VPC", "DependsOn": "B"},
            "B": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": {"Fn::Sub": "${A.CidrBlock}"}}}}}))
        .unwrap_err();
        assert_eq!(
            e.message,
            "Template format error: Circular dependency between resources: [A, B]"
        );
    }

    #[test]
    fn order_follows_references() {
        let doc = json!({"Resources": {
            "Sub": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}}},
            "Rt": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Fn::Sub": "${Vpc}"}}},
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}}});
        assert_eq!(order(&doc).unwrap(), vec!["Vpc", "Sub", "Rt"]);
        assert_eq!(sub_names("a-${X}-${!Y}-${Z.Arn}"), vec!["X", "Z.Arn"]);
    }
}
