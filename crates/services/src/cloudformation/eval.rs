//! The intrinsic functions and conditions, evaluated over a stack's parameters, pseudo
//! parameters and the resources created so far. Pure: the engine gives it what it knows.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A created resource as intrinsics see it: what `Ref` gives and its `Fn::GetAtt` attributes.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub reference: Value,
    pub attrs: Map<String, Value>,
}

/// Everything an intrinsic may read.
pub struct Env<'a> {
    pub doc: &'a Value,
    /// Parameter values (a string, or a list for list types), pseudo parameters included.
    pub params: &'a BTreeMap<String, Value>,
    pub resources: &'a BTreeMap<String, Known>,
    pub conditions: &'a BTreeMap<String, bool>,
    /// The region's zone names (`Fn::GetAZs`).
    pub azs: &'a [String],
    pub region: &'a str,
    /// Exported output values of the region's stacks (`Fn::ImportValue`).
    pub exports: &'a BTreeMap<String, String>,
}

/// An evaluation error: its text is what CloudFormation reports.
pub type Result<T> = std::result::Result<T, String>;

impl Env<'_> {
    /// A value with every intrinsic resolved; `None` is `AWS::NoValue` (the member is dropped).
    pub fn resolve(&self, v: &Value) -> Result<Option<Value>> {
        match v {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    if let Some(x) = self.resolve(i)? {
                        out.push(x);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one member");
                if k == "Ref" || k.starts_with("Fn::") {
                    return self.function(k, arg);
                }
                self.object(m)
            }
            Value::Object(m) => self.object(m),
            other => Ok(Some(other.clone())),
        }
    }

    fn object(&self, m: &Map<String, Value>) -> Result<Option<Value>> {
        let mut out = Map::new();
        for (k, v) in m {
            if let Some(x) = self.resolve(v)? {
                out.insert(k.clone(), x);
            }
        }
        Ok(Some(Value::Object(out)))
    }

    /// A value that must resolve to something (an argument).
    fn must(&self, v: &Value, what: &str) -> Result<Value> {
        self.resolve(v)?
            .ok_or_else(|| format!("Template error: {what} cannot be AWS::NoValue"))
    }

    fn string(&self, v: &Value, what: &str) -> Result<String> {
        scalar(&self.must(v, what)?)
            .ok_or_else(|| format!("Template error: every {what} argument must be a string"))
    }

    fn list(&self, v: &Value, what: &str) -> Result<Vec<Value>> {
        match self.must(v, what)? {
            Value::Array(a) => Ok(a),
            _ => Err(format!("Template error: {what} requires a list")),
        }
    }

    fn function(&self, name: &str, arg: &Value) -> Result<Option<Value>> {
        let v = match name {
            "Ref" => {
                let target = arg
                    .as_str()
                    .ok_or("Template error: Ref must be a string".to_string())?;
                if target == "AWS::NoValue" {
                    return Ok(None);
                }
                self.reference(target)?
            }
            "Fn::GetAtt" => {
                let (r, a) = match arg {
                    Value::Array(a) if a.len() == 2 => (
                        a[0].as_str().unwrap_or_default().to_string(),
                        self.string(&a[1], "Fn::GetAtt")?,
                    ),
                    Value::String(s) => match s.split_once('.') {
                        Some((r, a)) => (r.to_string(), a.to_string()),
                        None => return Err(bad_layout("Fn::GetAtt")),
                    },
                    _ => return Err(bad_layout("Fn::GetAtt")),
                };
                self.attribute(&r, &a)?
            }
            "Fn::Sub" => Value::String(self.sub(arg)?),
            "Fn::Join" => {
                let [delim, items] = args(arg, "Fn::Join")?;
                let delim = delim.as_str().ok_or_else(|| bad_layout("Fn::Join"))?;
                let items = self.list(items, "Fn::Join")?;
                let parts: Vec<String> = items
                    .iter()
                    .map(|i| scalar(i).ok_or_else(|| bad_layout("Fn::Join")))
                    .collect::<Result<_>>()?;
                Value::String(parts.join(delim))
            }
            "Fn::Select" => {
                let [index, items] = args(arg, "Fn::Select")?;
                let index = self.string(index, "Fn::Select")?;
                let index: usize = index
                    .parse()
                    .map_err(|_| "Template error: Fn::Select requires a list index".to_string())?;
                let items = self.list(items, "Fn::Select")?;
                items.get(index).cloned().ok_or_else(|| {
                    "Template error: Fn::Select cannot select nonexistent value at index "
                        .to_string()
                        + &index.to_string()
                })?
            }
            "Fn::Split" => {
                let [delim, text] = args(arg, "Fn::Split")?;
                let delim = delim.as_str().ok_or_else(|| bad_layout("Fn::Split"))?;
                let text = self.string(text, "Fn::Split")?;
                Value::from(
                    text.split(delim)
                        .map(|s| Value::String(s.to_string()))
                        .collect::<Vec<_>>(),
                )
            }
            "Fn::GetAZs" => {
                let region = self.string(arg, "Fn::GetAZs")?;
                if !region.is_empty() && region != self.region {
                    return Ok(Some(Value::Array(Vec::new())));
                }
                Value::from(self.azs.to_vec())
            }
            "Fn::FindInMap" => {
                let [map, top, second] = args(arg, "Fn::FindInMap")?;
                let map = self.string(map, "Fn::FindInMap")?;
                let top = self.string(top, "Fn::FindInMap")?;
                let second = self.string(second, "Fn::FindInMap")?;
                let m = self
                    .doc
                    .get("Mappings")
                    .and_then(|m| m.get(&map))
                    .ok_or_else(|| {
                        format!("Template error: Unable to get mapping for {map}::{top}::{second}")
                    })?;
                m.get(&top)
                    .and_then(|t| t.get(&second))
                    .cloned()
                    .ok_or_else(|| {
                        format!("Template error: Unable to get mapping for {map}::{top}::{second}")
                    })?
            }
            "Fn::If" => {
                let [c, yes, no] = args(arg, "Fn::If")?;
                let c = c.as_str().ok_or_else(|| bad_layout("Fn::If"))?;
                let pick = if self.condition(c)? { yes } else { no };
                return self.resolve(pick);
            }
            "Fn::Base64" => {
                use base64::Engine as _;
                Value::String(
                    base64::engine::general_purpose::STANDARD
                        .encode(self.string(arg, "Fn::Base64")?),
                )
            }
            "Fn::Cidr" => {
                let [block, count, bits] = args(arg, "Fn::Cidr")?;
                let block = self.string(block, "Fn::Cidr")?;
                let count = self.string(count, "Fn::Cidr")?;
                let bits = self.string(bits, "Fn::Cidr")?;
                Value::from(cidr(&block, &count, &bits)?)
            }
            "Fn::ImportValue" => {
                let name = self.string(arg, "Fn::ImportValue")?;
                Value::String(self.exports.get(&name).cloned().ok_or_else(|| {
                    format!("No export named {name} found. Rollback requested by user.")
                })?)
            }
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" => {
                Value::Bool(self.truth(&single(name, arg))?)
            }
            other => {
                return Err(format!(
                    "Template format error: Unrecognized function {other}"
                ))
            }
        };
        Ok(Some(v))
    }

    fn reference(&self, target: &str) -> Result<Value> {
        if let Some(v) = self.params.get(target) {
            return Ok(v.clone());
        }
        if let Some(r) = self.resources.get(target) {
            return Ok(r.reference.clone());
        }
        Err(format!(
            "Template format error: Unresolved resource dependencies [{target}] in the Resources block of the template"
        ))
    }

    fn attribute(&self, resource: &str, attr: &str) -> Result<Value> {
        let r = self.resources.get(resource).ok_or_else(|| {
            format!(
                "Template error: instance of Fn::GetAtt references undefined resource {resource}"
            )
        })?;
        r.attrs.get(attr).cloned().ok_or_else(|| {
            format!(
                "Template error: resource {resource} does not support attribute type {attr} in Fn::GetAtt"
            )
        })
    }

    fn sub(&self, arg: &Value) -> Result<String> {
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), None),
            Value::Array(a) if a.len() == 2 => (
                a[0].as_str().ok_or_else(|| bad_layout("Fn::Sub"))?,
                Some(a[1].as_object().ok_or_else(|| bad_layout("Fn::Sub"))?),
            ),
            _ => return Err(bad_layout("Fn::Sub")),
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                rest = "";
                break;
            };
            let name = after[..end].trim();
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else {
                let v = match vars.and_then(|v| v.get(name)) {
                    Some(v) => self.must(v, "Fn::Sub")?,
                    None => match name.split_once('.') {
                        Some((r, a)) if !self.params.contains_key(name) => self.attribute(r, a)?,
                        _ => self.reference(name)?,
                    },
                };
                out.push_str(&scalar(&v).ok_or_else(|| {
                    format!("Template error: variable {name} in Fn::Sub expression does not resolve to a string")
                })?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// A condition by name (conditions are evaluated before anything is created).
    pub fn condition(&self, name: &str) -> Result<bool> {
        self.conditions.get(name).copied().ok_or_else(|| {
            format!("Template error: unresolved condition dependency {name} in Fn::If")
        })
    }

    /// A condition expression's truth.
    pub fn truth(&self, v: &Value) -> Result<bool> {
        let Some((k, arg)) = v
            .as_object()
            .filter(|m| m.len() == 1)
            .and_then(|m| m.iter().next())
        else {
            return match v {
                Value::Bool(b) => Ok(*b),
                Value::String(s) if s == "true" || s == "false" => Ok(s == "true"),
                _ => Err("Template error: a condition must be a condition function".into()),
            };
        };
        match k.as_str() {
            "Condition" => self.condition(arg.as_str().unwrap_or_default()),
            "Fn::Equals" => {
                let [x, y] = args(arg, "Fn::Equals")?;
                let x = self.must(x, "Fn::Equals")?;
                let y = self.must(y, "Fn::Equals")?;
                Ok(match (scalar(&x), scalar(&y)) {
                    (Some(x), Some(y)) => x == y,
                    _ => x == y,
                })
            }
            "Fn::Not" => {
                let [c] = args(arg, "Fn::Not")?;
                Ok(!self.truth(c)?)
            }
            "Fn::And" | "Fn::Or" => {
                let Value::Array(a) = arg else {
                    return Err(bad_layout(k));
                };
                if !(2..=10).contains(&a.len()) {
                    return Err(bad_layout(k));
                }
                let mut all = true;
                let mut any = false;
                for c in a {
                    let t = self.truth(c)?;
                    all &= t;
                    any |= t;
                }
                Ok(if k == "Fn::And" { all } else { any })
            }
            _ => match self.resolve(v)? {
                Some(Value::Bool(b)) => Ok(b),
                Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
                _ => Err("Template error: a condition must be a condition function".into()),
            },
        }
    }
}

fn single(name: &str, arg: &Value) -> Value {
    let mut m = Map::new();
    m.insert(name.to_string(), arg.clone());
    Value::Object(m)
}

fn bad_layout(f: &str) -> String {
    format!("Template error: every {f} object requires valid arguments")
}

/// The `N` arguments of intrinsic function `f` (a list of exactly `N`).
fn args<'v, const N: usize>(arg: &'v Value, f: &str) -> Result<&'v [Value; N]> {
    match arg {
        Value::Array(a) => a.as_slice().try_into().map_err(|_| bad_layout(f)),
        _ => Err(bad_layout(f)),
    }
}

/// A scalar as the string CloudFormation passes on (numbers and booleans as written).
pub fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `Fn::Cidr`: `count` blocks of `bits` host bits, in order, from the start of `block`.
fn cidr(block: &str, count: &str, bits: &str) -> Result<Vec<String>> {
    let bad = || {
        format!(
            "Template error: Fn::Cidr cannot split {block} into {count} /{bits}-host-bit blocks"
        )
    };
    let (ip, len) = block.split_once('/').ok_or_else(bad)?;
    let ip: std::net::Ipv4Addr = ip.parse().map_err(|_| bad())?;
    let len: u32 = len.parse().map_err(|_| bad())?;
    let count: u32 = count.parse().map_err(|_| bad())?;
    let bits: u32 = bits.parse().map_err(|_| bad())?;
    if len > 32 || !(1..=256).contains(&count) || bits == 0 || bits > 32 - len {
        return Err(bad());
    }
    let prefix = 32 - bits;
    if u64::from(count) > 1u64 << (prefix - len) {
        return Err(bad());
    }
    let base = u32::from(ip) & (if len == 0 { 0 } else { u32::MAX << (32 - len) });
    Ok((0..count)
        .map(|i| {
            let net = base + (i << bits);
            format!("{}/{prefix}", std::net::Ipv4Addr::from(net))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env_with<'a>(
        doc: &'a Value,
        params: &'a BTreeMap<String, Value>,
        resources: &'a BTreeMap<String, Known>,
        conditions: &'a BTreeMap<String, bool>,
        azs: &'a [String],
        exports: &'a BTreeMap<String, String>,
    ) -> Env<'a> {
        Env {
            doc,
            params,
            resources,
            conditions,
            azs,
            region: "eu-west-1",
            exports,
        }
    }

    #[test]
    fn functions_resolve_as_cloudformation_does() {
        let doc = json!({"Mappings": {"M": {"eu-west-1": {"Ami": "ami-1"}}}});
        let params = BTreeMap::from([
            ("Env".to_string(), json!("prod")),
            ("AWS::StackName".to_string(), json!("s")),
            ("AWS::Region".to_string(), json!("eu-west-1")),
            ("Subnets".to_string(), json!(["subnet-a", "subnet-b"])),
        ]);
        let mut attrs = Map::new();
        attrs.insert("CidrBlock".into(), json!("10.0.0.0/16"));
        let resources = BTreeMap::from([(
            "Vpc".to_string(),
            Known {
                reference: json!("vpc-1"),
                attrs,
            },
        )]);
        let conditions = BTreeMap::from([("IsProd".to_string(), true)]);
        let azs = vec!["eu-west-1a".to_string(), "eu-west-1b".to_string()];
        let exports = BTreeMap::from([("net-vpc".to_string(), "vpc-9".to_string())]);
        let env = env_with(&doc, &params, &resources, &conditions, &azs, &exports);
        let r = |v: Value| env.resolve(&v).unwrap();
        assert_eq!(r(json!({"Ref": "Vpc"})), Some(json!("vpc-1")));
        assert_eq!(
            r(json!({"Fn::Sub": "${AWS::StackName}-${Vpc}-${Vpc.CidrBlock}-${!Lit}"})),
            Some(json!("s-vpc-1-10.0.0.0/16-${Lit}"))
        );
        assert_eq!(
            r(json!({"Fn::Sub": ["${A}/${Env}", {"A": {"Ref": "Vpc"}}]})),
            Some(json!("vpc-1/prod"))
        );
        assert_eq!(
            r(json!({"Fn::Join": [",", {"Ref": "Subnets"}]})),
            Some(json!("subnet-a,subnet-b"))
        );
        assert_eq!(
            r(json!({"Fn::Select": ["1", {"Fn::GetAZs": ""}]})),
            Some(json!("eu-west-1b"))
        );
        assert_eq!(
            r(json!({"Fn::Split": ["|", "a|b"]})),
            Some(json!(["a", "b"]))
        );
        assert_eq!(
            r(json!({"Fn::FindInMap": ["M", {"Ref": "AWS::Region"}, "Ami"]})),
            Some(json!("ami-1"))
        );
        assert_eq!(
            r(json!({"Fn::If": ["IsProd", "big", {"Ref": "AWS::NoValue"}]})),
            Some(json!("big"))
        );
        assert_eq!(
            r(json!({"A": {"Ref": "AWS::NoValue"}, "B": [1, {"Ref": "AWS::NoValue"}]})),
            Some(json!({"B": [1]}))
        );
        assert_eq!(r(json!({"Fn::Base64": "hi"})), Some(json!("aGk=")));
        assert_eq!(
            r(json!({"Fn::Cidr": ["10.0.0.0/16", 3, 8]})),
            Some(json!(["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]))
        );
        assert_eq!(
            r(json!({"Fn::ImportValue": "net-vpc"})),
            Some(json!("vpc-9"))
        );
        assert!(env
            .resolve(&json!({"Fn::GetAtt": ["Vpc", "Nope"]}))
            .unwrap_err()
            .contains("does not support attribute type Nope"));
        assert!(env
            .resolve(&json!({"Fn::ImportValue": "missing"}))
            .unwrap_err()
            .starts_with("No export named missing found."));
        assert!(env
            .truth(
                &json!({"Fn::And": [{"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                {"Fn::Not": [{"Fn::Equals": ["a", "b"]}]}]})
            )
            .unwrap());
    }

    #[test]
    fn cidr_refuses_what_does_not_fit() {
        assert!(cidr("10.0.0.0/24", "3", "8").is_err());
        assert_eq!(
            cidr("192.168.0.0/24", "2", "6").unwrap(),
            vec!["192.168.0.0/26", "192.168.0.64/26"]
        );
    }
}
