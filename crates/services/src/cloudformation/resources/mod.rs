//! The resource types a stack can hold. Each is a handful of calls to the services' own
//! operations (`crate::call`, authorized as the stack's caller), never a second implementation:
//! a property CloudFormation passes on is checked by the operation AWS would call, and fails
//! with that operation's error.

mod elbv2;
mod hosts;
mod iam;
mod mwaa;
mod network;
mod storage;

use super::call;
use super::eval::scalar;
use crate::Ctx;
use airlock_protocol::{ApiError, ApiResult};
use serde_json::{json, Map, Value};

/// A resource's resolved properties and what its generated names are made of.
pub struct Props<'a> {
    pub v: &'a Value,
    pub stack: &'a str,
    pub logical: &'a str,
    /// The stack's tags, which CloudFormation adds to every resource that takes tags.
    pub tags: &'a [(String, String)],
}

impl Props<'_> {
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.v.get(k).filter(|v| !v.is_null())
    }

    pub fn str(&self, k: &str) -> Option<String> {
        self.get(k).and_then(scalar)
    }

    /// Property `k`, which the resource type's schema requires.
    fn need(&self, k: &str) -> ApiResult<&Value> {
        self.get(k).ok_or_else(|| {
            ApiError::new(
                "ValidationError",
                format!("#: required key [{k}] not found"),
            )
        })
    }

    fn req(&self, k: &str) -> ApiResult<String> {
        let v = self.need(k)?;
        scalar(v).ok_or_else(|| {
            let found = if v.is_array() {
                "JSONArray"
            } else {
                "JSONObject"
            };
            ApiError::new(
                "ValidationError",
                format!("#/{k}: expected type: String, found: {found}"),
            )
        })
    }

    fn strs(&self, k: &str) -> Vec<String> {
        match self.get(k) {
            Some(Value::Array(a)) => a.iter().filter_map(scalar).collect(),
            Some(v) => scalar(v).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// The resource's tags and the stack's, as `[{Key, Value}]`.
    fn tag_list(&self) -> Vec<Value> {
        let mut out: Vec<Value> = self
            .tags
            .iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        if let Some(Value::Array(own)) = self.get("Tags") {
            for t in own {
                let k = t.get("Key").and_then(scalar);
                out.retain(|x| x.get("Key").and_then(Value::as_str) != k.as_deref());
                out.push(
                    json!({"Key": k, "Value": t.get("Value").and_then(scalar).unwrap_or_default()}),
                );
            }
        }
        out
    }

    /// EC2's `TagSpecifications` for a new resource of `kind` (none when there are no tags).
    fn tag_spec(&self, kind: &str) -> Value {
        let tags = self.tag_list();
        if tags.is_empty() {
            Value::Null
        } else {
            json!([{"ResourceType": kind, "Tags": tags}])
        }
    }

    /// The name CloudFormation makes for a resource the template does not name:
    /// `<stack>-<logical id>-<random>`, shortened to `max`.
    fn generated(&self, max: usize) -> String {
        let suffix = random_suffix();
        let room = max.saturating_sub(suffix.len() + 2);
        let stack_room = room / 2;
        let stack: String = self.stack.chars().take(stack_room).collect();
        let logical: String = self
            .logical
            .chars()
            .take(room.saturating_sub(stack.len()))
            .collect();
        format!("{stack}-{logical}-{suffix}")
    }
}

fn random_suffix() -> String {
    crate::ids::random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 12)
}

/// What a created resource gives `Ref` and `Fn::GetAtt`.
pub struct Made {
    pub reference: Value,
    pub attrs: Map<String, Value>,
}

type Create = fn(&Ctx<'_>, &Props<'_>) -> ApiResult<String>;
type Ready = fn(&Ctx<'_>, &str) -> ApiResult<bool>;
type Attrs = fn(&Ctx<'_>, &str, &Props<'_>) -> ApiResult<Made>;
type Delete = fn(&Ctx<'_>, &str, &Props<'_>) -> ApiResult<()>;

/// One resource type.
pub struct Type {
    pub name: &'static str,
    /// Creates it; gives its physical id.
    pub create: Create,
    /// Whether creation has finished (`Err`: it failed, as the service reports).
    pub ready: Ready,
    pub made: Attrs,
    pub delete: Delete,
    /// Whether deletion has finished.
    pub gone: Ready,
    /// The properties an update changes in place; a change to any other replaces the resource.
    pub mutable: &'static [&'static str],
    /// Changes the resource in place from the old properties to the new; `Some` is its new
    /// physical id (a route table association is replaced by the operation that moves it).
    pub update: Option<Update>,
    /// The property that names it, when the template may give one: a replacement of a resource
    /// named by the template would collide with itself, so CloudFormation refuses it.
    pub name_prop: Option<&'static str>,
}

type Update = fn(&Ctx<'_>, &str, &Change<'_>) -> ApiResult<Option<String>>;

/// An update of one resource: its properties before and after.
#[derive(Clone, Copy)]
pub struct Change<'a> {
    pub old: &'a Props<'a>,
    pub new: &'a Props<'a>,
}

impl Change<'_> {
    /// Whether property `k` changed.
    fn changed(&self, k: &str) -> bool {
        self.old.get(k) != self.new.get(k)
    }

    /// The strings added to and removed from list property `k`.
    fn diff(&self, k: &str) -> (Vec<String>, Vec<String>) {
        let (o, n) = (self.old.strs(k), self.new.strs(k));
        let added = n.iter().filter(|x| !o.contains(x)).cloned().collect();
        let removed = o.iter().filter(|x| !n.contains(x)).cloned().collect();
        (added, removed)
    }
}

/// A type whose tags an update changes in place (every other change replaces it).
const TAGGED: Type = Type {
    mutable: &["Tags"],
    update: Some(update_tags),
    ..FIXED
};

/// What a type has when its entry says nothing else: every change replaces it.
const FIXED: Type = Type {
    name: "",
    create: |_, _| Err(ApiError::internal("no create")),
    ready: at_once,
    made: reference_only,
    delete: |_, _, _| Ok(()),
    gone: at_once,
    mutable: &[],
    update: None,
    name_prop: None,
};

fn at_once(_: &Ctx<'_>, _: &str) -> ApiResult<bool> {
    Ok(true)
}

fn reference_only(_: &Ctx<'_>, id: &str, _: &Props<'_>) -> ApiResult<Made> {
    Ok(Made {
        reference: Value::String(id.to_string()),
        attrs: Map::new(),
    })
}

/// What `Ref` gives (`reference`) and the attributes `Fn::GetAtt` reads.
fn made(reference: &str, pairs: Vec<(&str, Value)>) -> ApiResult<Made> {
    Ok(Made {
        reference: json!(reference),
        attrs: attrs(pairs),
    })
}

fn attrs(pairs: Vec<(&str, Value)>) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn ptr<'a>(v: &'a Value, p: &str) -> &'a Value {
    v.pointer(p).unwrap_or(&Value::Null)
}

fn id_at(v: &Value, p: &str) -> ApiResult<String> {
    ptr(v, p)
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ApiError::internal(format!("no {p} in the service's answer")))
}

/// Whether an error means the resource is already gone (deleting it again succeeds).
pub fn is_not_found(e: &ApiError) -> bool {
    e.code.contains("NotFound")
        || e.code.starts_with("NoSuch")
        || e.code == "ResourceNotFoundException"
        || e.code == "ParameterNotFound"
}

/// Whether a resource is gone by its Describe answer: not found, or not listed, or in state
/// `last` (read at pointer `state`).
fn gone_at(described: ApiResult<Value>, state: &str, last: &str) -> ApiResult<bool> {
    match described {
        Ok(out) => Ok(ptr(&out, state).as_str().is_none_or(|s| s == last)),
        Err(e) if is_not_found(&e) => Ok(true),
        Err(_) => Ok(false),
    }
}

/// Deletes a resource by the one member that names it (`"RouteTableId"`, `"LoadBalancerArn"`);
/// one already gone is fine.
fn delete_by(ctx: &Ctx<'_>, service: &str, op: &str, member: &str, id: &str) -> ApiResult<()> {
    ok_if_gone(one(ctx, service, op, json!({ member: id })))
}

/// Creates what `op` makes in the VPC the properties name, tagged as a `resource` (a route
/// table, a network ACL): its id, at `at` in the answer.
fn in_vpc(ctx: &Ctx<'_>, p: &Props<'_>, op: &str, resource: &str, at: &str) -> ApiResult<String> {
    let input = json!({"VpcId": p.req("VpcId")?, "TagSpecifications": p.tag_spec(resource)});
    id_at(&ec2(ctx, op, input)?, at)
}

fn ok_if_gone(r: ApiResult<Value>) -> ApiResult<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A JSON document property passed on as the text an API takes.
fn document(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(v) => Value::String(v.to_string()),
        None => Value::Null,
    }
}

fn strip_nulls(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|_, x| !x.is_null());
        for x in m.values_mut() {
            *x = strip_nulls(std::mem::take(x));
        }
    }
    if let Value::Array(a) = &mut v {
        for x in a.iter_mut() {
            *x = strip_nulls(std::mem::take(x));
        }
    }
    v
}

fn ec2(ctx: &Ctx<'_>, op: &str, input: Value) -> ApiResult<Value> {
    one(ctx, "ec2", op, input)
}

fn iam(ctx: &Ctx<'_>, op: &str, input: Value) -> ApiResult<Value> {
    one(ctx, "iam", op, input)
}

fn elbv2(ctx: &Ctx<'_>, op: &str, input: Value) -> ApiResult<Value> {
    one(ctx, "elbv2", op, input)
}

fn s3(ctx: &Ctx<'_>, op: &str, input: Value) -> ApiResult<Value> {
    one(ctx, "s3", op, input)
}

/// Calls `service` as the stack's caller, with the properties' nulls (absent values) left out.
fn one(ctx: &Ctx<'_>, service: &str, op: &str, input: Value) -> ApiResult<Value> {
    call(ctx, service, op, strip_nulls(input))
}

/// Every type Airlock creates, by CloudFormation name.
pub fn find(name: &str) -> Option<&'static Type> {
    all().find(|t| t.name == name)
}

/// The names of the supported types (the README's list).
pub fn names() -> impl Iterator<Item = &'static str> {
    all().map(|t| t.name)
}

fn all() -> impl Iterator<Item = &'static Type> {
    [
        network::TYPES,
        hosts::TYPES,
        iam::TYPES,
        storage::TYPES,
        elbv2::TYPES,
        mwaa::TYPES,
    ]
    .into_iter()
    .flatten()
}

/// An EC2 resource's tags brought from the old list to the new.
fn retag(ctx: &Ctx<'_>, id: &str, change: &Change<'_>) -> ApiResult<()> {
    if !change.changed("Tags") {
        return Ok(());
    }
    let (o, n) = (change.old.tag_list(), change.new.tag_list());
    let gone: Vec<Value> = o
        .iter()
        .filter(|t| !n.iter().any(|x| x.get("Key") == t.get("Key")))
        .map(|t| json!({"Key": t.get("Key")}))
        .collect();
    if !gone.is_empty() {
        ec2(ctx, "DeleteTags", json!({"Resources": [id], "Tags": gone}))?;
    }
    if !n.is_empty() {
        ec2(ctx, "CreateTags", json!({"Resources": [id], "Tags": n}))?;
    }
    Ok(())
}

fn update_tags(ctx: &Ctx<'_>, id: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    retag(ctx, id, change)?;
    Ok(None)
}

fn nonempty(v: Vec<Value>) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::Array(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_fit() {
        let p = Props {
            v: &Value::Null,
            stack: "a-very-long-stack-name-for-tests",
            logical: "ApplicationLoadBalancer",
            tags: &[],
        };
        let n = p.generated(32);
        assert!(n.len() <= 32, "{n}");
        assert!(n.starts_with("a-very-l"));
        assert!(find("AWS::EC2::VPC").is_some());
        assert!(find("AWS::Lambda::Function").is_none());
    }
}
