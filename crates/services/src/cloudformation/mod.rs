//! AWS CloudFormation: stacks made from JSON or YAML templates, with change sets (what
//! `aws cloudformation deploy` uses), events, outputs and exports.
//!
//! A stack's resources are created by the services' own operations (`resources.rs`), as the
//! stack's caller, so a template reaches exactly what the API does. `template.rs` reads and
//! checks templates, `eval.rs` resolves intrinsic functions and conditions, `engine.rs` moves a
//! stack through its operation one committed step at a time.

pub mod engine;
pub mod eval;
pub mod resources;
pub mod template;

use crate::input::typed;
use crate::service::{Handler, Service};
use crate::{Ctx, Principal};
use airlock_dto::cloudformation as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Kind, Record};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use template::validation;

pub fn record_kinds() -> Vec<Kind> {
    vec![Kind::of::<Stack>(), Kind::of::<ChangeSet>()]
}

/// CloudFormation's registration.
pub static SERVICE: Service = Service {
    name: "cloudformation",
    ops: &[
        ("CreateStack", Handler::Output(create_stack)),
        ("UpdateStack", Handler::Output(update_stack)),
        ("DeleteStack", Handler::Output(delete_stack)),
        ("DescribeStacks", Handler::Output(describe_stacks)),
        (
            "DescribeStackEvents",
            Handler::Output(describe_stack_events),
        ),
        (
            "DescribeStackResource",
            Handler::Output(describe_stack_resource),
        ),
        (
            "DescribeStackResources",
            Handler::Output(describe_stack_resources),
        ),
        ("ListStackResources", Handler::Output(list_stack_resources)),
        ("ListStacks", Handler::Output(list_stacks)),
        ("GetTemplate", Handler::Output(get_template)),
        ("GetTemplateSummary", Handler::Output(get_template_summary)),
        ("ValidateTemplate", Handler::Output(validate_template)),
        ("CreateChangeSet", Handler::Output(create_change_set)),
        ("DescribeChangeSet", Handler::Output(describe_change_set)),
        ("ExecuteChangeSet", Handler::Output(execute_change_set)),
        ("DeleteChangeSet", Handler::Output(delete_change_set)),
        ("ListChangeSets", Handler::Output(list_change_sets)),
        ("ListExports", Handler::Output(list_exports)),
        ("ListImports", Handler::Output(list_imports)),
        (
            "UpdateTerminationProtection",
            Handler::Output(update_termination_protection),
        ),
    ],
    records: record_kinds,
    tick: Some(engine::tick),
    iam: crate::authz::Iam::new("cloudformation", "AccessDenied", 403),
    endpoints: &["cloudformation"],
    ..Service::NOTHING
};

/// Who made a stack: its resources are created with this caller's permissions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Caller {
    pub account: String,
    pub arn: String,
    pub user_id: String,
    pub access_key_id: String,
}

impl From<Caller> for Principal {
    fn from(c: Caller) -> Principal {
        Principal {
            account: c.account,
            arn: c.arn,
            user_id: c.user_id,
            access_key_id: c.access_key_id,
        }
    }
}

/// A parameter as the stack shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shown {
    pub key: String,
    pub value: String,
    /// The value an SSM parameter type resolved to.
    pub resolved: Option<String>,
    pub no_echo: bool,
}

/// One resource of a stack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Res {
    pub logical: String,
    pub kind: String,
    pub physical: Option<String>,
    /// `None`: not started.
    pub status: Option<String>,
    pub reason: Option<String>,
    pub updated: String,
    /// What `Ref` gives, and the `Fn::GetAtt` attributes, once created.
    pub reference: Value,
    pub attrs: Map<String, Value>,
    /// The resolved properties it was created with.
    pub props: Value,
    /// `DeletionPolicy: Retain`.
    pub retain: bool,
    /// Its `Condition` is false.
    pub skipped: bool,
    /// Handled by the operation in progress.
    #[serde(default)]
    pub touched: bool,
    /// Created or changed, waiting for its service to say it is ready.
    #[serde(default)]
    pub waiting: bool,
}

/// A stack as it was before the update in progress (what a failed update goes back to).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Previous {
    pub body: String,
    pub doc: Value,
    pub params: Vec<Shown>,
    pub values: BTreeMap<String, Value>,
    pub conditions: BTreeMap<String, bool>,
    pub tags: Vec<(String, String)>,
    pub outputs: Vec<Out>,
    pub resources: Vec<Res>,
}

/// A physical resource an update's cleanup deletes: one it replaced or removed, or (for a
/// rollback's cleanup) one it made.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Doomed {
    pub res: Res,
    pub rollback: bool,
}

/// One line of a change set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeRow {
    pub action: String,
    pub logical: String,
    pub kind: String,
    pub physical: Option<String>,
    /// `True`/`False` for a `Modify`.
    pub replacement: Option<String>,
    /// The properties whose values change.
    pub changed: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub logical: String,
    pub physical: Option<String>,
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub at: String,
    pub props: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Out {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub export: Option<String>,
}

/// A stack (record id: its ARN). Deleted stacks stay, as `DELETE_COMPLETE`, readable by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stack {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub status: String,
    pub reason: Option<String>,
    pub created: String,
    pub updated: Option<String>,
    pub deleted: Option<String>,
    pub body: String,
    pub doc: Value,
    pub params: Vec<Shown>,
    /// Parameter values as intrinsics see them.
    pub values: BTreeMap<String, Value>,
    pub conditions: BTreeMap<String, bool>,
    pub azs: Vec<String>,
    pub tags: Vec<(String, String)>,
    pub capabilities: Vec<String>,
    pub notification_arns: Vec<String>,
    pub disable_rollback: bool,
    pub protection: bool,
    pub role_arn: Option<String>,
    pub timeout: Option<i64>,
    pub caller: Caller,
    pub resources: Vec<Res>,
    /// Oldest first.
    pub events: Vec<Event>,
    pub outputs: Vec<Out>,
    pub change_set_id: Option<String>,
    /// During an update: the stack before it.
    #[serde(default)]
    pub previous: Option<Box<Previous>>,
    /// During an update's cleanup: what is left to delete.
    #[serde(default)]
    pub doomed: Vec<Doomed>,
    /// The template the doomed resources were made from (their dependencies order the
    /// cleanup): the old one after an update, the new one after its rollback.
    #[serde(default)]
    pub cleanup_doc: Option<Value>,
}

impl Record for Stack {
    const KIND: &'static str = "cloudformation.stack";
    fn id(&self) -> &str {
        &self.id
    }
}

impl Stack {
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        logical: &str,
        physical: Option<&str>,
        kind: &str,
        status: &str,
        reason: Option<&str>,
        props: Option<String>,
        at: &str,
    ) {
        self.events.push(Event {
            id: uuid::Uuid::new_v4().to_string(),
            logical: logical.to_string(),
            physical: physical.map(str::to_string),
            kind: kind.to_string(),
            status: status.to_string(),
            reason: reason.map(str::to_string),
            at: at.to_string(),
            props,
        });
    }

    fn set_status(&mut self, status: &str, reason: Option<String>, at: &str) {
        self.status = status.to_string();
        self.reason = reason.clone();
        let (name, id) = (self.name.clone(), self.id.clone());
        self.event(
            &name,
            Some(&id),
            "AWS::CloudFormation::Stack",
            status,
            reason.as_deref(),
            None,
            at,
        );
    }

    fn live(&self) -> bool {
        self.status != "DELETE_COMPLETE"
    }
}

/// A change set (record id: its ARN).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangeSet {
    pub id: String,
    pub name: String,
    pub stack_id: String,
    pub stack_name: String,
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub execution_status: String,
    pub created: String,
    pub description: Option<String>,
    pub body: String,
    pub doc: Value,
    pub params: Vec<Shown>,
    pub values: BTreeMap<String, Value>,
    pub conditions: BTreeMap<String, bool>,
    pub tags: Vec<(String, String)>,
    pub capabilities: Vec<String>,
    pub notification_arns: Vec<String>,
    pub role_arn: Option<String>,
    pub changes: Vec<ChangeRow>,
}

impl Record for ChangeSet {
    const KIND: &'static str = "cloudformation.changeset";
    fn id(&self) -> &str {
        &self.id
    }
}

/// Runs another service's operation as a stack's resource provider does: authorized as the
/// stack's caller, with the input's scalars in the types the operation's model declares.
pub(crate) fn call(ctx: &Ctx<'_>, service: &str, op: &str, input: Value) -> ApiResult<Value> {
    let input = coerce(service, op, input);
    crate::authz::authorize(ctx, service, op, &input)?;
    match crate::call(ctx, service, op, &input) {
        Some(r) => r.map(|o| o.to_value()),
        None => Err(ApiError::internal(format!(
            "{service} has no operation {op}"
        ))),
    }
}

/// A value shaped as operation `op`'s input: numbers and booleans written as strings (as
/// templates often do) become the model's types, scalars where a list is expected become
/// one-item lists, members the input does not have are dropped.
fn coerce(service: &str, op: &str, input: Value) -> Value {
    let Some(model) = airlock_model::all().iter().find(|m| m.name == service) else {
        return input;
    };
    let Some(shape) = model
        .operation(op)
        .and_then(|o| o.input.as_deref())
        .and_then(|s| model.find_shape(s))
    else {
        return input;
    };
    coerce_to(model, shape, input)
}

fn coerce_to(model: &airlock_model::ServiceModel, shape: &airlock_model::Shape, v: Value) -> Value {
    use airlock_model::ShapeKind as K;
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
            Value::Array(a.into_iter().map(|x| coerce_to(model, t, x)).collect())
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
        (K::String, Value::Number(n)) => Value::String(n.to_string()),
        (K::String, Value::Bool(b)) => Value::String(b.to_string()),
        (_, v) => v,
    }
}

/// The pseudo parameters of a stack.
pub fn pseudo(ctx: &Ctx<'_>, id: &str, name: &str) -> Vec<(String, Value)> {
    let suffix = crate::partition::dns_suffix(&ctx.region);
    vec![
        ("AWS::AccountId".into(), Value::from(ctx.account())),
        ("AWS::Region".into(), Value::from(ctx.region.as_str())),
        ("AWS::StackId".into(), Value::from(id)),
        ("AWS::StackName".into(), Value::from(name)),
        (
            "AWS::Partition".into(),
            Value::from(crate::partition::of(&ctx.region)),
        ),
        ("AWS::URLSuffix".into(), Value::from(suffix)),
        ("AWS::NotificationARNs".into(), Value::Array(Vec::new())),
    ]
}

/// The region's exports by name (leaving out stack `except`'s own).
pub fn exports(ctx: &Ctx<'_>, except: Option<&str>) -> BTreeMap<String, String> {
    exports_with_owner(ctx)
        .into_iter()
        .filter(|(_, (owner, _))| Some(owner.as_str()) != except)
        .map(|(k, (_, v))| (k, v))
        .collect()
}

fn exports_with_owner(ctx: &Ctx<'_>) -> BTreeMap<String, (String, String)> {
    ctx.store.read(|v| {
        v.list::<Stack>(&ctx.scope())
            .iter()
            .filter(|s| s.live())
            .flat_map(|s| {
                s.outputs.iter().filter_map(|o| {
                    o.export
                        .clone()
                        .map(|e| (e, (s.id.clone(), o.value.clone())))
                })
            })
            .collect()
    })
}

/// A created stack's outputs, each `Value` and `Export.Name` resolved.
pub fn outputs(env: &eval::Env<'_>, doc: &Value) -> Result<Vec<Out>, String> {
    let mut out = Vec::new();
    for (key, o) in template::section(doc, "Outputs").map_err(|e| e.message)? {
        if let Some(c) = o.get("Condition").and_then(Value::as_str) {
            if !env.condition(c)? {
                continue;
            }
        }
        let value = env.resolve(o.get("Value").unwrap_or(&Value::Null))?;
        let value = match value {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(eval::scalar)
                .collect::<Vec<_>>()
                .join(","),
            Some(v) => eval::scalar(&v).ok_or_else(|| {
                format!(
                    "Template format error: The Value of output {key} must evaluate to a String"
                )
            })?,
            None => continue,
        };
        let export = match o.pointer("/Export/Name") {
            Some(n) => {
                let name = env
                    .resolve(n)?
                    .as_ref()
                    .and_then(eval::scalar)
                    .ok_or_else(|| format!("Template format error: the export name of output {key} must be a string"))?;
                if env.exports.contains_key(&name) {
                    return Err(format!(
                        "Export with name {name} is already exported by another stack."
                    ));
                }
                Some(name)
            }
            None => None,
        };
        out.push(Out {
            key: key.to_string(),
            value,
            description: o
                .get("Description")
                .and_then(|d| env.resolve(d).ok().flatten())
                .as_ref()
                .and_then(eval::scalar),
            export,
        });
    }
    Ok(out)
}

/// `arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>`.
fn stack_arn(ctx: &Ctx<'_>, name: &str) -> String {
    format!(
        "arn:{}:cloudformation:{}:{}:stack/{name}/{}",
        crate::partition::of(&ctx.region),
        ctx.region,
        ctx.account(),
        uuid::Uuid::new_v4()
    )
}

fn check_stack_name(name: &str) -> ApiResult<()> {
    let ok = name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'stackName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*|arn:[-a-zA-Z0-9:/._+]*"
        )))
    }
}

fn not_exist(name: &str) -> ApiError {
    validation(format!("Stack with id {name} does not exist"))
}

/// A stack by name (live stacks only) or by ARN (deleted ones too).
fn find_stack(ctx: &Ctx<'_>, name_or_id: &str) -> Option<std::sync::Arc<Stack>> {
    ctx.store.read(|v| {
        if name_or_id.starts_with("arn:") {
            v.get::<Stack>(&ctx.scope(), name_or_id)
        } else {
            v.list::<Stack>(&ctx.scope())
                .into_iter()
                .find(|s| s.name == name_or_id && s.live())
        }
    })
}

fn live_stack(ctx: &Ctx<'_>, name_or_id: &str) -> ApiResult<std::sync::Arc<Stack>> {
    find_stack(ctx, name_or_id).ok_or_else(|| not_exist(name_or_id))
}

/// The template a request gives: `TemplateBody`, or `TemplateURL` read from Airlock's S3 as
/// the caller (who needs `s3:GetObject` on it, as on AWS).
fn template_text(ctx: &Ctx<'_>, body: Option<&str>, url: Option<&str>) -> ApiResult<String> {
    match (body, url) {
        (Some(_), Some(_)) => Err(validation(
            "Specify exactly one of TemplateBody or TemplateURL.",
        )),
        (None, None) => Err(validation(
            "Either Template URL or Template Body must be specified.",
        )),
        (Some(b), None) => {
            if b.len() > template::MAX_BODY {
                return Err(validation(format!(
                    "1 validation error detected: Value '{}...' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to {}",
                    b.chars().take(20).collect::<String>(),
                    template::MAX_BODY
                )));
            }
            Ok(b.to_string())
        }
        (None, Some(u)) => read_url(ctx, u),
    }
}

/// `https://<bucket>.s3[.<region>].amazonaws.com/<key>` or `https://s3[.<region>].amazonaws.com/<bucket>/<key>`.
fn read_url(ctx: &Ctx<'_>, url: &str) -> ApiResult<String> {
    let bad = || validation("TemplateURL must be a supported URL.");
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let (host, path) = rest.split_once('/').ok_or_else(bad)?;
    let host = host.split(':').next().unwrap_or(host);
    let (bucket, key) = if host.starts_with("s3.") || host.starts_with("s3-") || host == "localhost"
    {
        let (b, k) = path.split_once('/').ok_or_else(bad)?;
        (b.to_string(), k.to_string())
    } else {
        let b = host.split(".s3").next().ok_or_else(bad)?;
        (b.to_string(), path.to_string())
    };
    let key = percent_encoding::percent_decode_str(key.split('?').next().unwrap_or_default())
        .decode_utf8_lossy()
        .to_string();
    let unreachable = || {
        validation(format!(
            "S3 error: Access Denied For more information check http://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (reading {url})"
        ))
    };
    crate::authz::authorize(
        ctx,
        "s3",
        "GetObject",
        &serde_json::json!({"Bucket": bucket, "Key": key}),
    )
    .map_err(|_| unreachable())?;
    let object = ctx
        .store
        .read(|v| v.get::<crate::s3::objects::Object>(&crate::s3::objects_of(&bucket), &key))
        .filter(|o| !o.delete_marker)
        .ok_or_else(unreachable)?;
    if object.size > template::MAX_URL_BODY as u64 {
        return Err(validation(format!(
            "Template may not exceed {} bytes in size.",
            template::MAX_URL_BODY
        )));
    }
    let bytes = crate::s3::blob::read(ctx.store, &object.blob, 0, object.size)?;
    String::from_utf8(bytes)
        .map_err(|_| validation("Template format error: the template is not UTF-8 text"))
}

/// The capabilities a template needs: IAM resources need `CAPABILITY_IAM`, named ones
/// `CAPABILITY_NAMED_IAM`.
fn needed_capability(doc: &Value) -> Option<(&'static str, Vec<String>)> {
    let mut named = false;
    let mut iam = Vec::new();
    for (name, r) in template::resources(doc) {
        let t = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        if t.starts_with("AWS::IAM::") {
            iam.push(name.to_string());
            let props = r.get("Properties");
            let named_key = match t {
                "AWS::IAM::Role" => "RoleName",
                "AWS::IAM::User" => "UserName",
                "AWS::IAM::ManagedPolicy" => "ManagedPolicyName",
                "AWS::IAM::InstanceProfile" => "InstanceProfileName",
                "AWS::IAM::Group" => "GroupName",
                _ => "",
            };
            named |= !named_key.is_empty() && props.and_then(|p| p.get(named_key)).is_some();
        }
    }
    if iam.is_empty() {
        None
    } else if named {
        Some(("CAPABILITY_NAMED_IAM", iam))
    } else {
        Some(("CAPABILITY_IAM", iam))
    }
}

fn check_capabilities(doc: &Value, given: &[String]) -> ApiResult<()> {
    if let Some((needed, _)) = needed_capability(doc) {
        let ok = given.iter().any(|c| c == needed)
            || (needed == "CAPABILITY_IAM" && given.iter().any(|c| c == "CAPABILITY_NAMED_IAM"));
        if !ok {
            return Err(ApiError::new(
                "InsufficientCapabilitiesException",
                format!("Requires capabilities : [{needed}]"),
            ));
        }
    }
    Ok(())
}

/// The stack's parameter values from what the request gives and the template declares, with
/// CloudFormation's checks: unknown and missing parameters, types, constraints, AWS-specific
/// types that must name existing resources, and SSM parameter types resolved.
fn parameters(
    ctx: &Ctx<'_>,
    doc: &Value,
    given: &[dto::Parameter],
    previous: Option<&Stack>,
) -> ApiResult<(Vec<Shown>, BTreeMap<String, Value>)> {
    let declared = template::section(doc, "Parameters")?;
    let unknown: Vec<&str> = given
        .iter()
        .filter_map(|p| p.parameter_key.as_deref())
        .filter(|k| !declared.contains_key(k))
        .collect();
    if !unknown.is_empty() {
        return Err(validation(format!(
            "Parameters: [{}] do not exist in the template",
            unknown.join(", ")
        )));
    }
    let mut missing = Vec::new();
    let mut shown = Vec::new();
    let mut values = BTreeMap::new();
    for (key, decl) in &declared {
        let g = given
            .iter()
            .find(|p| p.parameter_key.as_deref() == Some(*key));
        let value = match g {
            Some(p) if p.use_previous_value == Some(true) => previous
                .and_then(|s| s.params.iter().find(|x| x.key == *key))
                .map(|x| x.value.clone()),
            Some(p) => p.parameter_value.clone(),
            None => decl.get("Default").and_then(eval::scalar),
        };
        let Some(value) = value else {
            missing.push(key.to_string());
            continue;
        };
        let t = decl.get("Type").and_then(Value::as_str).unwrap_or("String");
        check_constraints(key, decl, t, &value)?;
        let (resolved, effective) = match t
            .strip_prefix("AWS::SSM::Parameter::Value<")
            .and_then(|s| s.strip_suffix('>'))
        {
            Some(inner) => {
                let v = ssm_value(ctx, &value)?;
                (Some(v.clone()), typed_value(inner, &v))
            }
            None => {
                check_exists(ctx, key, t, &value)?;
                (None, typed_value(t, &value))
            }
        };
        values.insert(key.to_string(), effective);
        shown.push(Shown {
            key: key.to_string(),
            value,
            resolved,
            no_echo: decl
                .get("NoEcho")
                .and_then(eval::scalar)
                .is_some_and(|v| v == "true"),
        });
    }
    if !missing.is_empty() {
        return Err(validation(format!(
            "Parameters: [{}] must have values",
            missing.join(", ")
        )));
    }
    Ok((shown, values))
}

fn typed_value(t: &str, v: &str) -> Value {
    if t.starts_with("List<") || t == "CommaDelimitedList" {
        Value::from(
            v.split(',')
                .map(|s| Value::String(s.trim().to_string()))
                .collect::<Vec<_>>(),
        )
    } else {
        Value::String(v.to_string())
    }
}

fn check_constraints(key: &str, decl: &Value, t: &str, value: &str) -> ApiResult<()> {
    let fail = |default: String| {
        let message = match decl.get("ConstraintDescription").and_then(eval::scalar) {
            Some(d) => format!("Parameter '{key}' failed to satisfy constraint: {d}"),
            None => default,
        };
        Err(validation(message))
    };
    if let Some(Value::Array(allowed)) = decl.get("AllowedValues") {
        let items: Vec<String> = allowed.iter().filter_map(eval::scalar).collect();
        let each: Vec<&str> = if t.starts_with("List<") || t == "CommaDelimitedList" {
            value.split(',').map(str::trim).collect()
        } else {
            vec![value]
        };
        if each.iter().any(|v| !items.iter().any(|a| a == v)) {
            return fail(format!("Parameter '{key}' must be one of AllowedValues"));
        }
    }
    if let Some(p) = decl.get("AllowedPattern").and_then(eval::scalar) {
        let anchored = format!("^(?:{p})$");
        if let Ok(re) = regex::Regex::new(&anchored) {
            if !re.is_match(value) {
                return fail(format!("Parameter '{key}' must match pattern {p}"));
            }
        }
    }
    let num = |k: &str| {
        decl.get(k)
            .and_then(eval::scalar)
            .and_then(|s| s.parse::<f64>().ok())
    };
    if let Some(min) = num("MinLength") {
        if (value.chars().count() as f64) < min {
            return fail(format!(
                "Parameter '{key}' must contain at least {min} characters"
            ));
        }
    }
    if let Some(max) = num("MaxLength") {
        if (value.chars().count() as f64) > max {
            return fail(format!(
                "Parameter '{key}' must contain at most {max} characters"
            ));
        }
    }
    if t == "Number" || t == "List<Number>" {
        for v in value.split(',') {
            let Ok(n) = v.trim().parse::<f64>() else {
                return Err(validation(format!("Parameter '{key}' must be a number.")));
            };
            if num("MinValue").is_some_and(|m| n < m) {
                return fail(format!(
                    "Parameter '{key}' must be a number not less than {}",
                    num("MinValue").unwrap_or_default()
                ));
            }
            if num("MaxValue").is_some_and(|m| n > m) {
                return fail(format!(
                    "Parameter '{key}' must be a number not greater than {}",
                    num("MaxValue").unwrap_or_default()
                ));
            }
        }
    }
    Ok(())
}

/// AWS-specific parameter types name resources that must exist.
fn check_exists(ctx: &Ctx<'_>, key: &str, t: &str, value: &str) -> ApiResult<()> {
    let inner = t
        .strip_prefix("List<")
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(t);
    let (op, member) = match inner {
        "AWS::EC2::VPC::Id" => ("DescribeVpcs", "VpcIds"),
        "AWS::EC2::Subnet::Id" => ("DescribeSubnets", "SubnetIds"),
        "AWS::EC2::SecurityGroup::Id" => ("DescribeSecurityGroups", "GroupIds"),
        "AWS::EC2::KeyPair::KeyName" => ("DescribeKeyPairs", "KeyNames"),
        "AWS::EC2::Instance::Id" => ("DescribeInstances", "InstanceIds"),
        _ => return Ok(()),
    };
    for v in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let found = crate::call(ctx, "ec2", op, &serde_json::json!({ member: [v] }))
            .is_some_and(|r| r.is_ok());
        if !found {
            return Err(validation(format!(
                "Parameter validation failed: parameter value {v} for parameter name {key} does not exist"
            )));
        }
    }
    Ok(())
}

/// An SSM parameter's current value (`AWS::SSM::Parameter::Value<...>` parameters).
fn ssm_value(ctx: &Ctx<'_>, name: &str) -> ApiResult<String> {
    let out = call(
        ctx,
        "ssm",
        "GetParameter",
        serde_json::json!({ "Name": name }),
    );
    match out {
        Ok(v) => Ok(v
            .pointer("/Parameter/Value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()),
        Err(e) if e.code == "ParameterNotFound" => Err(validation(format!(
            "Parameters: [ssm:{name}] cannot be found."
        ))),
        Err(e) if e.code.contains("AccessDenied") => Err(validation(format!(
            "User: {} is not authorized to perform: ssm:GetParameters on resource: {name}",
            ctx.principal.arn
        ))),
        Err(e) => Err(e),
    }
}

/// The conditions' truth values, each evaluated once before anything is created.
fn conditions(
    doc: &Value,
    values: &BTreeMap<String, Value>,
    region: &str,
) -> ApiResult<BTreeMap<String, bool>> {
    let declared = template::section(doc, "Conditions")?;
    let mut done: BTreeMap<String, bool> = BTreeMap::new();
    let empty_resources = BTreeMap::new();
    let empty_exports = BTreeMap::new();
    let mut left: Vec<(&str, &Value)> = declared.into_iter().collect();
    while !left.is_empty() {
        let before = left.len();
        let mut still = Vec::new();
        for (name, expr) in left {
            let env = eval::Env {
                doc,
                params: values,
                resources: &empty_resources,
                conditions: &done,
                azs: &[],
                region,
                exports: &empty_exports,
            };
            match env.truth(expr) {
                Ok(t) => {
                    done.insert(name.to_string(), t);
                }
                Err(e) if e.contains("unresolved condition dependency") => still.push((name, expr)),
                Err(e) => return Err(validation(e)),
            }
        }
        if still.len() == before {
            return Err(validation(format!(
                "Template format error: Circular dependency between conditions: [{}]",
                still.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )));
        }
        left = still;
    }
    Ok(done)
}

/// Everything a new stack (or change set) is checked for before it exists.
struct Prepared {
    body: String,
    doc: Value,
    params: Vec<Shown>,
    values: BTreeMap<String, Value>,
    conditions: BTreeMap<String, bool>,
}

fn prepare(
    ctx: &Ctx<'_>,
    body: String,
    given: &[dto::Parameter],
    capabilities: &[String],
    stack_id: &str,
    stack_name: &str,
    previous: Option<&Stack>,
) -> ApiResult<Prepared> {
    let doc = template::parse(&body)?;
    template::check(&doc)?;
    let (params, values) = parameters(ctx, &doc, given, previous)?;
    check_capabilities(&doc, capabilities)?;
    let mut all = values.clone();
    all.extend(pseudo(ctx, stack_id, stack_name));
    let conditions = conditions(&doc, &all, &ctx.region)?;
    Ok(Prepared {
        body,
        doc,
        params,
        values,
        conditions,
    })
}

fn tags_of(tags: Option<&Vec<dto::Tag>>) -> ApiResult<Vec<(String, String)>> {
    let tags: Vec<(String, String)> = tags
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t.key.clone().unwrap_or_default(),
                t.value.clone().unwrap_or_default(),
            )
        })
        .collect();
    if tags.len() > 50 {
        return Err(validation(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
        ));
    }
    if let Some((k, _)) = tags
        .iter()
        .find(|(k, _)| k.to_ascii_lowercase().starts_with("aws:"))
    {
        return Err(validation(format!(
            "Invalid tag key {k}: tag keys starting with aws: are reserved"
        )));
    }
    Ok(tags)
}

fn azs(ctx: &Ctx<'_>) -> Vec<String> {
    crate::call(
        ctx,
        "ec2",
        "DescribeAvailabilityZones",
        &serde_json::json!({}),
    )
    .and_then(Result::ok)
    .map(|o| o.to_value())
    .and_then(|v| {
        v.get("AvailabilityZones")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|z| z.get("ZoneName").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
    })
    .unwrap_or_default()
}

fn caller(ctx: &Ctx<'_>) -> Caller {
    Caller {
        account: ctx.principal.account.clone(),
        arn: ctx.principal.arn.clone(),
        user_id: ctx.principal.user_id.clone(),
        access_key_id: ctx.principal.access_key_id.clone(),
    }
}

/// A new stack record (not yet started) from a prepared template.
#[allow(clippy::too_many_arguments)]
fn new_stack(
    ctx: &Ctx<'_>,
    id: String,
    name: &str,
    p: Prepared,
    tags: Vec<(String, String)>,
    capabilities: Vec<String>,
    notification_arns: Vec<String>,
    role_arn: Option<String>,
) -> Stack {
    let now = crate::iso(ctx.clock.now());
    let resources = template::order(&p.doc)
        .unwrap_or_default()
        .into_iter()
        .map(|logical| {
            let r = &p.doc["Resources"][&logical];
            let skipped = r
                .get("Condition")
                .and_then(Value::as_str)
                .is_some_and(|c| !p.conditions.get(c).copied().unwrap_or(true));
            Res {
                kind: r["Type"].as_str().unwrap_or_default().to_string(),
                physical: None,
                status: None,
                reason: None,
                updated: now.clone(),
                reference: Value::Null,
                attrs: Map::new(),
                props: Value::Null,
                retain: r.get("DeletionPolicy").and_then(Value::as_str) == Some("Retain"),
                skipped,
                touched: false,
                waiting: false,
                logical,
            }
        })
        .collect();
    Stack {
        id,
        name: name.to_string(),
        description: p
            .doc
            .get("Description")
            .and_then(Value::as_str)
            .map(str::to_string),
        status: "REVIEW_IN_PROGRESS".into(),
        reason: None,
        created: now,
        updated: None,
        deleted: None,
        body: p.body,
        doc: p.doc,
        params: p.params,
        values: p.values,
        conditions: p.conditions,
        azs: azs(ctx),
        tags,
        capabilities,
        notification_arns,
        disable_rollback: false,
        protection: false,
        role_arn,
        timeout: None,
        caller: caller(ctx),
        resources,
        events: Vec::new(),
        outputs: Vec::new(),
        change_set_id: None,
        previous: None,
        doomed: Vec::new(),
        cleanup_doc: None,
    }
}

fn create_stack(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::CreateStackInput = typed(input)?;
    check_stack_name(&req.stack_name)?;
    if find_stack(ctx, &req.stack_name).is_some() {
        return Err(ApiError::new(
            "AlreadyExistsException",
            format!("Stack [{}] already exists", req.stack_name),
        ));
    }
    let body = template_text(
        ctx,
        req.template_body.as_deref(),
        req.template_url.as_deref(),
    )?;
    let id = stack_arn(ctx, &req.stack_name);
    let prepared = prepare(
        ctx,
        body,
        req.parameters.as_deref().unwrap_or_default(),
        req.capabilities.as_deref().unwrap_or_default(),
        &id,
        &req.stack_name,
        None,
    )?;
    let mut stack = new_stack(
        ctx,
        id.clone(),
        &req.stack_name,
        prepared,
        tags_of(req.tags.as_ref())?,
        req.capabilities.clone().unwrap_or_default(),
        req.notification_ar_ns.clone().unwrap_or_default(),
        req.role_arn.clone(),
    );
    stack.disable_rollback =
        req.disable_rollback == Some(true) || req.on_failure.as_deref() == Some("DO_NOTHING");
    stack.protection = req.enable_termination_protection == Some(true);
    stack.timeout = req.timeout_in_minutes;
    let now = stack.created.clone();
    stack.set_status("CREATE_IN_PROGRESS", Some("User Initiated".into()), &now);
    ctx.store.write(|tx| tx.put(&ctx.scope(), stack))?;
    engine::advance(ctx.store, ctx.config, ctx.clock, &ctx.scope(), &id)?;
    Ok(Output::new(dto::CreateStackOutput {
        stack_id: Some(id),
        ..Default::default()
    }))
}

/// Whether a new template and parameters change anything of a stack.
fn unchanged(stack: &Stack, p: &Prepared, tags: &[(String, String)]) -> bool {
    stack.doc == p.doc && stack.values == p.values && stack.tags == tags
}

fn update_stack(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::UpdateStackInput = typed(input)?;
    let stack = live_stack(ctx, &req.stack_name)?;
    updatable(&stack)?;
    let body = if req.use_previous_template == Some(true) {
        stack.body.clone()
    } else {
        template_text(
            ctx,
            req.template_body.as_deref(),
            req.template_url.as_deref(),
        )?
    };
    let p = prepare(
        ctx,
        body,
        req.parameters.as_deref().unwrap_or_default(),
        req.capabilities.as_deref().unwrap_or_default(),
        &stack.id,
        &stack.name,
        Some(&stack),
    )?;
    let tags = match &req.tags {
        Some(_) => tags_of(req.tags.as_ref())?,
        None => stack.tags.clone(),
    };
    if unchanged(&stack, &p, &tags) {
        return Err(validation("No updates are to be performed."));
    }
    let id = stack.id.clone();
    begin_update(
        ctx,
        &stack,
        p,
        tags,
        req.capabilities.unwrap_or_default(),
        None,
        req.disable_rollback == Some(true),
    )?;
    Ok(Output::new(dto::UpdateStackOutput {
        stack_id: Some(id),
        ..Default::default()
    }))
}

/// The statuses a stack can be updated from.
fn updatable(stack: &Stack) -> ApiResult<()> {
    match stack.status.as_str() {
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "UPDATE_ROLLBACK_COMPLETE" => Ok(()),
        other => Err(validation(format!(
            "Stack:{} is in {other} state and can not be updated.",
            stack.id
        ))),
    }
}

/// Starts an update: the stack takes the new template and parameters, keeping each resource
/// that is still in it (the engine decides, as each one's dependencies are done, whether it
/// stays, changes in place or is replaced); resources no longer in it go to the cleanup.
fn begin_update(
    ctx: &Ctx<'_>,
    stack: &Stack,
    p: Prepared,
    tags: Vec<(String, String)>,
    capabilities: Vec<String>,
    change_set: Option<String>,
    disable_rollback: bool,
) -> ApiResult<()> {
    let now = crate::iso(ctx.clock.now());
    let mut s = stack.clone();
    s.previous = Some(Box::new(Previous {
        body: stack.body.clone(),
        doc: stack.doc.clone(),
        params: stack.params.clone(),
        values: stack.values.clone(),
        conditions: stack.conditions.clone(),
        tags: stack.tags.clone(),
        outputs: stack.outputs.clone(),
        resources: stack.resources.clone(),
    }));
    let fresh = new_stack(
        ctx,
        s.id.clone(),
        &s.name,
        p,
        tags,
        capabilities,
        s.notification_arns.clone(),
        s.role_arn.clone(),
    );
    let mut resources = Vec::with_capacity(fresh.resources.len());
    for mut r in fresh.resources {
        let old = stack
            .resources
            .iter()
            .find(|o| o.logical == r.logical && !o.skipped && o.physical.is_some());
        if let Some(o) = old.filter(|_| !r.skipped) {
            if o.kind == r.kind {
                let retain = r.retain;
                r = o.clone();
                r.retain = retain;
            }
        }
        r.touched = false;
        r.waiting = false;
        resources.push(r);
    }
    for o in stack.resources.iter().rev() {
        let kept = resources
            .iter()
            .any(|r| r.logical == o.logical && r.physical.is_some() && r.physical == o.physical);
        if !kept && o.physical.is_some() && !o.skipped {
            let mut d = o.clone();
            d.touched = false;
            s.doomed.push(Doomed {
                res: d,
                rollback: false,
            });
        }
    }
    s.resources = resources;
    s.body = fresh.body;
    s.doc = fresh.doc;
    s.params = fresh.params;
    s.values = fresh.values;
    s.conditions = fresh.conditions;
    s.tags = fresh.tags;
    s.capabilities = fresh.capabilities;
    s.description = fresh.description;
    s.cleanup_doc = Some(stack.doc.clone());
    s.change_set_id = change_set;
    s.disable_rollback = disable_rollback;
    s.updated = Some(now.clone());
    s.set_status("UPDATE_IN_PROGRESS", Some("User Initiated".into()), &now);
    let id = s.id.clone();
    ctx.store.write(|tx| tx.put(&ctx.scope(), s))?;
    engine::advance(ctx.store, ctx.config, ctx.clock, &ctx.scope(), &id)
}

/// What an update from `stack` to `p` would do, resource by resource, as a change set shows it.
fn plan(stack: &Stack, p: &Prepared) -> Vec<ChangeRow> {
    let mut rows = Vec::new();
    let changed_params: Vec<&String> = p
        .values
        .iter()
        .filter(|(k, v)| stack.values.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    let mut replaced: Vec<String> = Vec::new();
    for logical in template::order(&p.doc).unwrap_or_default() {
        let def = &p.doc["Resources"][&logical];
        let kind = def["Type"].as_str().unwrap_or_default().to_string();
        let skipped = def
            .get("Condition")
            .and_then(Value::as_str)
            .is_some_and(|c| !p.conditions.get(c).copied().unwrap_or(true));
        if skipped {
            continue;
        }
        let old = stack
            .resources
            .iter()
            .find(|o| o.logical == logical && !o.skipped && o.physical.is_some());
        let Some(old) = old.filter(|o| o.kind == kind) else {
            if let Some(o) = old {
                replaced.push(logical.clone());
                rows.push(ChangeRow {
                    action: "Modify".into(),
                    logical,
                    kind,
                    physical: o.physical.clone(),
                    replacement: Some("True".into()),
                    changed: Vec::new(),
                });
            } else {
                rows.push(ChangeRow {
                    action: "Add".into(),
                    logical,
                    kind,
                    physical: None,
                    replacement: None,
                    changed: Vec::new(),
                });
            }
            continue;
        };
        let empty = Value::Object(Default::default());
        let new_props = def.get("Properties").unwrap_or(&empty);
        let old_props = stack.doc["Resources"][&logical]
            .get("Properties")
            .unwrap_or(&empty);
        let mut changed: Vec<String> = Vec::new();
        let keys: std::collections::BTreeSet<&String> = new_props
            .as_object()
            .into_iter()
            .flatten()
            .chain(old_props.as_object().into_iter().flatten())
            .map(|(k, _)| k)
            .collect();
        for k in keys {
            let (n, o) = (new_props.get(k), old_props.get(k));
            let mut refs = template::Refs::default();
            if let Some(n) = n {
                refs.walk(n);
            }
            let via = refs
                .refs
                .iter()
                .chain(refs.atts.iter())
                .any(|r| changed_params.contains(&r) || replaced.contains(r));
            if n != o || via {
                changed.push(k.clone());
            }
        }
        if changed.is_empty() {
            continue;
        }
        let t = resources::find(&kind);
        let in_place = t.is_some_and(|t| {
            t.update.is_some() && changed.iter().all(|c| t.mutable.contains(&c.as_str()))
        });
        if !in_place {
            replaced.push(logical.clone());
        }
        rows.push(ChangeRow {
            action: "Modify".into(),
            logical,
            kind,
            physical: old.physical.clone(),
            replacement: Some(if in_place { "False" } else { "True" }.into()),
            changed,
        });
    }
    for o in &stack.resources {
        let still = p.doc["Resources"].get(&o.logical).is_some_and(|d| {
            d.get("Condition")
                .and_then(Value::as_str)
                .is_none_or(|c| p.conditions.get(c).copied().unwrap_or(true))
        });
        if !still && o.physical.is_some() && !o.skipped {
            rows.push(ChangeRow {
                action: "Remove".into(),
                logical: o.logical.clone(),
                kind: o.kind.clone(),
                physical: o.physical.clone(),
                replacement: None,
                changed: Vec::new(),
            });
        }
    }
    rows
}

fn delete_stack(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DeleteStackInput = typed(input)?;
    let Some(stack) = find_stack(ctx, &req.stack_name) else {
        return Ok(Output::new(()));
    };
    if !stack.live() || stack.status == "DELETE_IN_PROGRESS" {
        return Ok(Output::new(()));
    }
    if stack.protection {
        return Err(validation(format!(
            "Stack [{}] cannot be deleted while TerminationProtection is enabled",
            stack.name
        )));
    }
    if engine::in_progress(&stack.status) {
        return Err(validation(format!(
            "Stack [{}] cannot be deleted while in status {}",
            stack.name, stack.status
        )));
    }
    let stacks = ctx.store.read(|v| v.list::<Stack>(&ctx.scope()));
    for o in stack.outputs.iter().filter_map(|o| o.export.as_ref()) {
        if let Some(user) = stacks
            .iter()
            .filter(|x| x.live() && x.id != stack.id)
            .find(|x| imports_of(ctx, x).contains(o))
        {
            return Err(validation(format!(
                "Export {o} cannot be deleted as it is in use by {}",
                user.name
            )));
        }
    }
    let retain = req.retain_resources.unwrap_or_default();
    if !retain.is_empty() && stack.status != "DELETE_FAILED" {
        return Err(validation(format!(
            "Invalid operation on stack [{}]. RetainResources can only be specified when stack is in DELETE_FAILED state",
            stack.id
        )));
    }
    let mut s = (*stack).clone();
    for r in &mut s.resources {
        if r.status.as_deref() == Some("DELETE_FAILED") {
            r.status = Some("CREATE_COMPLETE".into());
        }
        if retain.contains(&r.logical) {
            r.retain = true;
        }
    }
    let now = crate::iso(ctx.clock.now());
    if s.status == "REVIEW_IN_PROGRESS" {
        s.deleted = Some(now.clone());
        s.set_status("DELETE_COMPLETE", None, &now);
    } else {
        s.set_status("DELETE_IN_PROGRESS", Some("User Initiated".into()), &now);
    }
    let id = s.id.clone();
    ctx.store.write(|tx| {
        for cs in tx.list::<ChangeSet>(&ctx.scope()) {
            if cs.stack_id == id {
                tx.delete::<ChangeSet>(&ctx.scope(), &cs.id);
            }
        }
        tx.put(&ctx.scope(), s)
    })?;
    engine::advance(ctx.store, ctx.config, ctx.clock, &ctx.scope(), &id)?;
    Ok(Output::new(()))
}

fn output_tags(tags: &[(String, String)]) -> Option<Vec<dto::Tag>> {
    Some(
        tags.iter()
            .map(|(k, v)| dto::Tag {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect(),
    )
}

fn shown_params(params: &[Shown]) -> Option<Vec<dto::Parameter>> {
    if params.is_empty() {
        return None;
    }
    Some(
        params
            .iter()
            .map(|p| dto::Parameter {
                parameter_key: Some(p.key.clone()),
                parameter_value: Some(if p.no_echo {
                    "****".into()
                } else {
                    p.value.clone()
                }),
                resolved_value: p.resolved.clone(),
                ..Default::default()
            })
            .collect(),
    )
}

fn stack_out(s: &Stack) -> dto::Stack {
    dto::Stack {
        stack_id: Some(s.id.clone()),
        stack_name: Some(s.name.clone()),
        change_set_id: s.change_set_id.clone(),
        description: s.description.clone(),
        parameters: shown_params(&s.params),
        creation_time: Some(s.created.clone()),
        deletion_time: s.deleted.clone(),
        last_updated_time: s.updated.clone(),
        rollback_configuration: Some(dto::RollbackConfiguration::default()),
        stack_status: Some(s.status.clone()),
        stack_status_reason: s.reason.clone(),
        disable_rollback: Some(s.disable_rollback),
        notification_ar_ns: Some(s.notification_arns.clone()),
        timeout_in_minutes: s.timeout,
        capabilities: (!s.capabilities.is_empty()).then(|| s.capabilities.clone()),
        outputs: (!s.outputs.is_empty()).then(|| {
            s.outputs
                .iter()
                .map(|o| dto::Output {
                    output_key: Some(o.key.clone()),
                    output_value: Some(o.value.clone()),
                    description: o.description.clone(),
                    export_name: o.export.clone(),
                })
                .collect()
        }),
        role_arn: s.role_arn.clone(),
        tags: output_tags(&s.tags),
        enable_termination_protection: Some(s.protection),
        drift_information: Some(dto::StackDriftInformation {
            stack_drift_status: Some("NOT_CHECKED".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn describe_stacks(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeStacksInput = typed(input)?;
    let stacks: Vec<dto::Stack> = match req.stack_name.as_deref() {
        Some(n) => vec![stack_out(&*live_stack(ctx, n)?)],
        None => {
            let mut all = ctx.store.read(|v| v.list::<Stack>(&ctx.scope()));
            all.retain(|s| s.live());
            all.sort_by(|a, b| b.created.cmp(&a.created));
            all.iter().map(|s| stack_out(s)).collect()
        }
    };
    Ok(Output::new(dto::DescribeStacksOutput {
        stacks: Some(stacks),
        next_token: None,
    }))
}

fn describe_stack_events(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeStackEventsInput = typed(input)?;
    let s = live_stack(ctx, &req.stack_name)?;
    let events = s
        .events
        .iter()
        .rev()
        .map(|e| dto::StackEvent {
            stack_id: Some(s.id.clone()),
            stack_name: Some(s.name.clone()),
            event_id: Some(e.id.clone()),
            logical_resource_id: Some(e.logical.clone()),
            physical_resource_id: Some(e.physical.clone().unwrap_or_default()),
            resource_type: Some(e.kind.clone()),
            timestamp: Some(e.at.clone()),
            resource_status: Some(e.status.clone()),
            resource_status_reason: e.reason.clone(),
            resource_properties: e.props.clone(),
            ..Default::default()
        })
        .collect();
    Ok(Output::new(dto::DescribeStackEventsOutput {
        stack_events: Some(events),
        next_token: None,
    }))
}

fn shown_resources(s: &Stack) -> impl Iterator<Item = &Res> {
    s.resources.iter().filter(|r| r.status.is_some())
}

fn describe_stack_resource(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeStackResourceInput = typed(input)?;
    let s = live_stack(ctx, &req.stack_name)?;
    let r = shown_resources(&s)
        .find(|r| r.logical == req.logical_resource_id)
        .ok_or_else(|| {
            validation(format!(
                "Resource {} does not exist for stack {}",
                req.logical_resource_id, s.name
            ))
        })?;
    Ok(Output::new(dto::DescribeStackResourceOutput {
        stack_resource_detail: Some(dto::StackResourceDetail {
            stack_name: Some(s.name.clone()),
            stack_id: Some(s.id.clone()),
            logical_resource_id: Some(r.logical.clone()),
            physical_resource_id: r.physical.clone(),
            resource_type: Some(r.kind.clone()),
            last_updated_timestamp: Some(r.updated.clone()),
            resource_status: r.status.clone(),
            resource_status_reason: r.reason.clone(),
            metadata: Some(
                s.doc
                    .pointer(&format!("/Resources/{}/Metadata", r.logical))
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "{}".into()),
            ),
            drift_information: Some(dto::StackResourceDriftInformation {
                stack_resource_drift_status: Some("NOT_CHECKED".into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }))
}

fn describe_stack_resources(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeStackResourcesInput = typed(input)?;
    let s = match (&req.stack_name, &req.physical_resource_id) {
        (Some(n), _) => live_stack(ctx, n)?,
        (None, Some(p)) => ctx
            .store
            .read(|v| {
                v.list::<Stack>(&ctx.scope()).into_iter().find(|s| {
                    s.live() && s.resources.iter().any(|r| r.physical.as_deref() == Some(p))
                })
            })
            .ok_or_else(|| validation(format!("Stack for {p} does not exist")))?,
        (None, None) => {
            return Err(validation(
                "Either StackName or PhysicalResourceId must be specified.",
            ))
        }
    };
    let resources = shown_resources(&s)
        .filter(|r| {
            req.logical_resource_id
                .as_deref()
                .is_none_or(|l| l == r.logical)
        })
        .map(|r| dto::StackResource {
            stack_name: Some(s.name.clone()),
            stack_id: Some(s.id.clone()),
            logical_resource_id: Some(r.logical.clone()),
            physical_resource_id: r.physical.clone(),
            resource_type: Some(r.kind.clone()),
            timestamp: Some(r.updated.clone()),
            resource_status: r.status.clone(),
            resource_status_reason: r.reason.clone(),
            drift_information: Some(dto::StackResourceDriftInformation {
                stack_resource_drift_status: Some("NOT_CHECKED".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    Ok(Output::new(dto::DescribeStackResourcesOutput {
        stack_resources: Some(resources),
    }))
}

fn list_stack_resources(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ListStackResourcesInput = typed(input)?;
    let s = live_stack(ctx, &req.stack_name)?;
    let summaries = shown_resources(&s)
        .map(|r| dto::StackResourceSummary {
            logical_resource_id: Some(r.logical.clone()),
            physical_resource_id: r.physical.clone(),
            resource_type: Some(r.kind.clone()),
            last_updated_timestamp: Some(r.updated.clone()),
            resource_status: r.status.clone(),
            resource_status_reason: r.reason.clone(),
            drift_information: Some(dto::StackResourceDriftInformationSummary {
                stack_resource_drift_status: Some("NOT_CHECKED".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    Ok(Output::new(dto::ListStackResourcesOutput {
        stack_resource_summaries: Some(summaries),
        next_token: None,
    }))
}

fn list_stacks(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ListStacksInput = typed(input)?;
    let filter = req.stack_status_filter.unwrap_or_default();
    let mut all = ctx.store.read(|v| v.list::<Stack>(&ctx.scope()));
    all.sort_by(|a, b| b.created.cmp(&a.created));
    let summaries = all
        .iter()
        .filter(|s| filter.is_empty() || filter.contains(&s.status))
        .map(|s| dto::StackSummary {
            stack_id: Some(s.id.clone()),
            stack_name: Some(s.name.clone()),
            template_description: s.description.clone(),
            creation_time: Some(s.created.clone()),
            last_updated_time: s.updated.clone(),
            deletion_time: s.deleted.clone(),
            stack_status: Some(s.status.clone()),
            stack_status_reason: s.reason.clone(),
            drift_information: Some(dto::StackDriftInformationSummary {
                stack_drift_status: Some("NOT_CHECKED".into()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    Ok(Output::new(dto::ListStacksOutput {
        stack_summaries: Some(summaries),
        next_token: None,
    }))
}

fn get_template(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::GetTemplateInput = typed(input)?;
    let body = match (&req.change_set_name, &req.stack_name) {
        (Some(cs), _) => find_change_set(ctx, cs, req.stack_name.as_deref())?
            .body
            .clone(),
        (None, Some(n)) => live_stack(ctx, n)?.body.clone(),
        (None, None) => return Err(validation("StackName or ChangeSetName must be specified.")),
    };
    Ok(Output::new(dto::GetTemplateOutput {
        template_body: Some(body),
        stages_available: Some(vec!["Original".into(), "Processed".into()]),
    }))
}

fn declarations(doc: &Value) -> Vec<dto::ParameterDeclaration> {
    template::section(doc, "Parameters")
        .unwrap_or_default()
        .into_iter()
        .map(|(k, d)| dto::ParameterDeclaration {
            parameter_key: Some(k.to_string()),
            default_value: d.get("Default").and_then(eval::scalar),
            parameter_type: d.get("Type").and_then(eval::scalar),
            no_echo: Some(
                d.get("NoEcho")
                    .and_then(eval::scalar)
                    .is_some_and(|v| v == "true"),
            ),
            description: d.get("Description").and_then(eval::scalar),
            parameter_constraints: Some(dto::ParameterConstraints {
                allowed_values: d
                    .get("AllowedValues")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(eval::scalar).collect()),
            }),
        })
        .collect()
}

fn capability_fields(doc: &Value) -> (Option<Vec<String>>, Option<String>) {
    match needed_capability(doc) {
        Some((c, _)) => {
            let types: std::collections::BTreeSet<&str> = template::resources(doc)
                .into_iter()
                .filter_map(|(_, r)| r.get("Type").and_then(Value::as_str))
                .filter(|t| t.starts_with("AWS::IAM::"))
                .collect();
            (
                Some(vec![c.to_string()]),
                Some(format!(
                    "The following resource(s) require capabilities: [{}]",
                    types.into_iter().collect::<Vec<_>>().join(", ")
                )),
            )
        }
        None => (None, None),
    }
}

fn get_template_summary(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::GetTemplateSummaryInput = typed(input)?;
    let body = match (&req.stack_name, &req.template_body, &req.template_url) {
        (Some(n), None, None) => live_stack(ctx, n)?.body.clone(),
        (None, b, u) => template_text(ctx, b.as_deref(), u.as_deref())?,
        _ => {
            return Err(validation(
                "Specify exactly one of StackName, TemplateBody or TemplateURL.",
            ))
        }
    };
    let doc = template::parse(&body)?;
    template::check(&doc)?;
    let (capabilities, reason) = capability_fields(&doc);
    let mut types: Vec<String> = template::resources(&doc)
        .into_iter()
        .filter_map(|(_, r)| r.get("Type").and_then(Value::as_str).map(str::to_string))
        .collect();
    types.sort();
    types.dedup();
    Ok(Output::new(dto::GetTemplateSummaryOutput {
        parameters: Some(declarations(&doc)),
        description: doc.get("Description").and_then(eval::scalar),
        capabilities,
        capabilities_reason: reason,
        resource_types: Some(types),
        version: doc.get("AWSTemplateFormatVersion").and_then(eval::scalar),
        metadata: doc.get("Metadata").map(|m| m.to_string()),
        declared_transforms: Some(Vec::new()),
        ..Default::default()
    }))
}

fn validate_template(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ValidateTemplateInput = typed(input)?;
    let body = template_text(
        ctx,
        req.template_body.as_deref(),
        req.template_url.as_deref(),
    )?;
    let doc = template::parse(&body)?;
    template::check(&doc)?;
    let (capabilities, reason) = capability_fields(&doc);
    let parameters = template::section(&doc, "Parameters")?
        .into_iter()
        .map(|(k, d)| dto::TemplateParameter {
            parameter_key: Some(k.to_string()),
            default_value: d.get("Default").and_then(eval::scalar),
            no_echo: Some(
                d.get("NoEcho")
                    .and_then(eval::scalar)
                    .is_some_and(|v| v == "true"),
            ),
            description: d.get("Description").and_then(eval::scalar),
        })
        .collect();
    Ok(Output::new(dto::ValidateTemplateOutput {
        parameters: Some(parameters),
        description: doc.get("Description").and_then(eval::scalar),
        capabilities,
        capabilities_reason: reason,
        declared_transforms: Some(Vec::new()),
    }))
}

fn find_change_set(
    ctx: &Ctx<'_>,
    name_or_id: &str,
    stack: Option<&str>,
) -> ApiResult<std::sync::Arc<ChangeSet>> {
    let not_found = || {
        ApiError::new(
            "ChangeSetNotFound",
            format!("ChangeSet [{name_or_id}] does not exist"),
        )
    };
    if name_or_id.starts_with("arn:") {
        return ctx
            .store
            .read(|v| v.get::<ChangeSet>(&ctx.scope(), name_or_id))
            .ok_or_else(not_found);
    }
    let stack = stack.ok_or_else(|| {
        validation("StackName must be specified if ChangeSetName is not specified as an ARN.")
    })?;
    let s = live_stack(ctx, stack)?;
    ctx.store
        .read(|v| {
            v.list::<ChangeSet>(&ctx.scope())
                .into_iter()
                .find(|c| c.stack_id == s.id && c.name == name_or_id)
        })
        .ok_or_else(not_found)
}

fn create_change_set(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::CreateChangeSetInput = typed(input)?;
    let kind = req
        .change_set_type
        .clone()
        .unwrap_or_else(|| "UPDATE".into());
    if kind == "IMPORT" {
        return Err(validation(
            "Airlock does not import existing resources into stacks (ChangeSetType IMPORT).",
        ));
    }
    let name_ok = req.change_set_name.len() <= 128
        && req
            .change_set_name
            .starts_with(|c: char| c.is_ascii_alphabetic())
        && req
            .change_set_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !name_ok {
        return Err(validation(format!(
            "1 validation error detected: Value '{}' at 'changeSetName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*",
            req.change_set_name
        )));
    }
    let existing = find_stack(ctx, &req.stack_name).filter(|s| s.live());
    let (stack_id, previous) = match (kind.as_str(), &existing) {
        ("CREATE", Some(s)) if s.status != "REVIEW_IN_PROGRESS" => {
            return Err(validation(format!(
                "Stack [{}] already exists and cannot be created again with the changeSet [{}].",
                s.name, req.change_set_name
            )))
        }
        ("CREATE", Some(s)) => (s.id.clone(), None),
        ("CREATE", None) => {
            check_stack_name(&req.stack_name)?;
            (stack_arn(ctx, &req.stack_name), None)
        }
        (_, Some(s)) if s.status == "REVIEW_IN_PROGRESS" => {
            return Err(validation(format!(
                "Stack:{} is in REVIEW_IN_PROGRESS state and can not be updated.",
                s.id
            )))
        }
        (_, Some(s)) => (s.id.clone(), Some(s.clone())),
        (_, None) => return Err(not_exist(&req.stack_name)),
    };
    if let Some(s) = &previous {
        updatable(s)?;
    }
    let body = if req.use_previous_template == Some(true) {
        previous.as_ref().map(|s| s.body.clone()).ok_or_else(|| {
            validation("UsePreviousTemplate can only be used with an existing stack")
        })?
    } else {
        template_text(
            ctx,
            req.template_body.as_deref(),
            req.template_url.as_deref(),
        )?
    };
    let stack_name = existing
        .as_ref()
        .map(|s| s.name.clone())
        .unwrap_or_else(|| req.stack_name.clone());
    let p = prepare(
        ctx,
        body,
        req.parameters.as_deref().unwrap_or_default(),
        req.capabilities.as_deref().unwrap_or_default(),
        &stack_id,
        &stack_name,
        previous.as_deref(),
    )?;
    let tags = match (&req.tags, &previous) {
        (None, Some(s)) => s.tags.clone(),
        _ => tags_of(req.tags.as_ref())?,
    };
    let duplicate = ctx.store.read(|v| {
        v.list::<ChangeSet>(&ctx.scope())
            .iter()
            .any(|c| c.stack_id == stack_id && c.name == req.change_set_name)
    });
    if duplicate {
        return Err(ApiError::new(
            "AlreadyExistsException",
            format!("ChangeSet {} already exists", req.change_set_name),
        ));
    }
    let (status, reason, execution, changes) = match &previous {
        Some(s) if unchanged(s, &p, &tags) => (
            "FAILED",
            Some("The submitted information didn't contain changes. Submit different information to create a change set.".to_string()),
            "UNAVAILABLE",
            Vec::new(),
        ),
        Some(s) => ("CREATE_COMPLETE", None, "AVAILABLE", plan(s, &p)),
        None => (
            "CREATE_COMPLETE",
            None,
            "AVAILABLE",
            template::order(&p.doc)?
                .into_iter()
                .filter(|l| {
                    p.doc["Resources"][l]
                        .get("Condition")
                        .and_then(Value::as_str)
                        .is_none_or(|c| p.conditions.get(c).copied().unwrap_or(true))
                })
                .map(|l| {
                    let kind = p.doc["Resources"][&l]["Type"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    ChangeRow {
                        action: "Add".into(),
                        logical: l,
                        kind,
                        physical: None,
                        replacement: None,
                        changed: Vec::new(),
                    }
                })
                .collect(),
        ),
    };
    let id = format!(
        "arn:{}:cloudformation:{}:{}:changeSet/{}/{}",
        crate::partition::of(&ctx.region),
        ctx.region,
        ctx.account(),
        req.change_set_name,
        uuid::Uuid::new_v4()
    );
    let now = crate::iso(ctx.clock.now());
    let cs = ChangeSet {
        id: id.clone(),
        name: req.change_set_name.clone(),
        stack_id: stack_id.clone(),
        stack_name: stack_name.clone(),
        kind: kind.clone(),
        status: status.into(),
        reason,
        execution_status: execution.into(),
        created: now.clone(),
        description: req.description.clone(),
        body: p.body.clone(),
        doc: p.doc.clone(),
        params: p.params.clone(),
        values: p.values.clone(),
        conditions: p.conditions.clone(),
        tags: tags.clone(),
        capabilities: req.capabilities.clone().unwrap_or_default(),
        notification_arns: req.notification_ar_ns.clone().unwrap_or_default(),
        role_arn: req.role_arn.clone(),
        changes,
    };
    let new_stack = match (&existing, kind.as_str()) {
        (None, "CREATE") => {
            let mut s = new_stack(
                ctx,
                stack_id.clone(),
                &stack_name,
                p,
                tags,
                cs.capabilities.clone(),
                cs.notification_arns.clone(),
                cs.role_arn.clone(),
            );
            s.set_status("REVIEW_IN_PROGRESS", Some("User Initiated".into()), &now);
            Some(s)
        }
        _ => None,
    };
    ctx.store.write(|tx| {
        if let Some(s) = new_stack {
            tx.put(&ctx.scope(), s)?;
        }
        tx.put(&ctx.scope(), cs)
    })?;
    Ok(Output::new(dto::CreateChangeSetOutput {
        id: Some(id),
        stack_id: Some(stack_id),
    }))
}

fn changes_out(cs: &ChangeSet) -> Vec<dto::Change> {
    cs.changes
        .iter()
        .map(|c| dto::Change {
            r#type: Some("Resource".into()),
            hook_invocation_count: None,
            resource_change: Some(dto::ResourceChange {
                action: Some(c.action.clone()),
                logical_resource_id: Some(c.logical.clone()),
                physical_resource_id: c.physical.clone(),
                resource_type: Some(c.kind.clone()),
                replacement: c.replacement.clone(),
                scope: Some(if c.changed.is_empty() {
                    Vec::new()
                } else {
                    vec!["Properties".into()]
                }),
                details: Some(
                    c.changed
                        .iter()
                        .map(|k| dto::ResourceChangeDetail {
                            target: Some(dto::ResourceTargetDefinition {
                                attribute: Some("Properties".into()),
                                name: Some(k.clone()),
                                requires_recreation: Some(
                                    if c.replacement.as_deref() == Some("True") {
                                        "Always"
                                    } else {
                                        "Never"
                                    }
                                    .into(),
                                ),
                                ..Default::default()
                            }),
                            evaluation: Some("Static".into()),
                            change_source: Some("DirectModification".into()),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
        })
        .collect()
}

fn describe_change_set(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeChangeSetInput = typed(input)?;
    let cs = find_change_set(ctx, &req.change_set_name, req.stack_name.as_deref())?;
    Ok(Output::new(dto::DescribeChangeSetOutput {
        change_set_id: Some(cs.id.clone()),
        change_set_name: Some(cs.name.clone()),
        stack_id: Some(cs.stack_id.clone()),
        stack_name: Some(cs.stack_name.clone()),
        description: cs.description.clone(),
        parameters: shown_params(&cs.params),
        creation_time: Some(cs.created.clone()),
        execution_status: Some(cs.execution_status.clone()),
        status: Some(cs.status.clone()),
        status_reason: cs.reason.clone(),
        notification_ar_ns: Some(cs.notification_arns.clone()),
        rollback_configuration: Some(dto::RollbackConfiguration::default()),
        capabilities: (!cs.capabilities.is_empty()).then(|| cs.capabilities.clone()),
        tags: output_tags(&cs.tags),
        changes: Some(changes_out(&cs)),
        include_nested_stacks: Some(false),
        ..Default::default()
    }))
}

fn execute_change_set(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ExecuteChangeSetInput = typed(input)?;
    let cs = find_change_set(ctx, &req.change_set_name, req.stack_name.as_deref())?;
    if cs.execution_status != "AVAILABLE" {
        return Err(ApiError::new(
            "InvalidChangeSetStatus",
            format!(
                "ChangeSet [{}] cannot be executed in its current execution status of [{}]",
                cs.id, cs.execution_status
            ),
        ));
    }
    let stack = ctx
        .store
        .read(|v| v.get::<Stack>(&ctx.scope(), &cs.stack_id))
        .ok_or_else(|| not_exist(&cs.stack_name))?;
    let mut executed = (*cs).clone();
    executed.execution_status = "EXECUTE_IN_PROGRESS".into();
    if cs.kind == "UPDATE" {
        updatable(&stack)?;
        ctx.store.write(|tx| {
            for other in tx.list::<ChangeSet>(&ctx.scope()) {
                if other.stack_id == cs.stack_id && other.id != cs.id {
                    tx.delete::<ChangeSet>(&ctx.scope(), &other.id);
                }
            }
            tx.put(&ctx.scope(), executed)
        })?;
        let p = Prepared {
            body: cs.body.clone(),
            doc: cs.doc.clone(),
            params: cs.params.clone(),
            values: cs.values.clone(),
            conditions: cs.conditions.clone(),
        };
        begin_update(
            ctx,
            &stack,
            p,
            cs.tags.clone(),
            cs.capabilities.clone(),
            Some(cs.id.clone()),
            req.disable_rollback == Some(true),
        )?;
        return Ok(Output::new(dto::ExecuteChangeSetOutput::default()));
    }
    let mut s = (*stack).clone();
    let now = crate::iso(ctx.clock.now());
    s.change_set_id = Some(cs.id.clone());
    s.disable_rollback = req.disable_rollback == Some(true);
    s.set_status("CREATE_IN_PROGRESS", Some("User Initiated".into()), &now);
    ctx.store.write(|tx| {
        for other in tx.list::<ChangeSet>(&ctx.scope()) {
            if other.stack_id == cs.stack_id && other.id != cs.id {
                tx.delete::<ChangeSet>(&ctx.scope(), &other.id);
            }
        }
        tx.put(&ctx.scope(), executed)?;
        tx.put(&ctx.scope(), s)
    })?;
    engine::advance(ctx.store, ctx.config, ctx.clock, &ctx.scope(), &cs.stack_id)?;
    Ok(Output::new(dto::ExecuteChangeSetOutput::default()))
}

fn delete_change_set(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DeleteChangeSetInput = typed(input)?;
    let cs = find_change_set(ctx, &req.change_set_name, req.stack_name.as_deref())?;
    if cs.execution_status == "EXECUTE_IN_PROGRESS" {
        return Err(ApiError::new(
            "InvalidChangeSetStatus",
            format!(
                "ChangeSet [{}] cannot be deleted in its current status of [EXECUTE_IN_PROGRESS]",
                cs.id
            ),
        ));
    }
    ctx.store.write(|tx| {
        tx.delete::<ChangeSet>(&ctx.scope(), &cs.id);
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::DeleteChangeSetOutput::default()))
}

fn list_change_sets(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ListChangeSetsInput = typed(input)?;
    let s = live_stack(ctx, &req.stack_name)?;
    let mut sets = ctx.store.read(|v| v.list::<ChangeSet>(&ctx.scope()));
    sets.retain(|c| c.stack_id == s.id);
    sets.sort_by(|a, b| a.created.cmp(&b.created));
    Ok(Output::new(dto::ListChangeSetsOutput {
        summaries: Some(
            sets.iter()
                .map(|c| dto::ChangeSetSummary {
                    change_set_id: Some(c.id.clone()),
                    change_set_name: Some(c.name.clone()),
                    stack_id: Some(c.stack_id.clone()),
                    stack_name: Some(c.stack_name.clone()),
                    execution_status: Some(c.execution_status.clone()),
                    status: Some(c.status.clone()),
                    status_reason: c.reason.clone(),
                    creation_time: Some(c.created.clone()),
                    description: c.description.clone(),
                    include_nested_stacks: Some(false),
                    ..Default::default()
                })
                .collect(),
        ),
        next_token: None,
    }))
}

fn list_exports(ctx: &Ctx<'_>, _input: &Value) -> ApiResult<Output> {
    let exports = exports_with_owner(ctx)
        .into_iter()
        .map(|(name, (owner, value))| dto::Export {
            exporting_stack_id: Some(owner),
            name: Some(name),
            value: Some(value),
        })
        .collect();
    Ok(Output::new(dto::ListExportsOutput {
        exports: Some(exports),
        next_token: None,
    }))
}

/// The export names a stack's template imports (with its parameters and pseudo parameters).
fn imports_of(ctx: &Ctx<'_>, s: &Stack) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<Value>) {
        match v {
            Value::Object(m) => {
                if let Some(arg) = m.get("Fn::ImportValue").filter(|_| m.len() == 1) {
                    out.push(arg.clone());
                } else {
                    m.values().for_each(|x| walk(x, out));
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut args = Vec::new();
    walk(&s.doc, &mut args);
    let k = engine::known(ctx, s);
    let env = eval::Env {
        doc: &s.doc,
        params: &k.params,
        resources: &k.resources,
        conditions: &s.conditions,
        azs: &s.azs,
        region: &ctx.region,
        exports: &k.exports,
    };
    args.iter()
        .filter_map(|a| env.resolve(a).ok().flatten())
        .filter_map(|v| eval::scalar(&v))
        .collect()
}

fn list_imports(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ListImportsInput = typed(input)?;
    if !exports_with_owner(ctx).contains_key(&req.export_name) {
        return Err(validation(format!(
            "Export '{}' is not imported by any stack.",
            req.export_name
        )));
    }
    let stacks = ctx.store.read(|v| v.list::<Stack>(&ctx.scope()));
    let importing: Vec<String> = stacks
        .iter()
        .filter(|s| s.live())
        .filter(|s| imports_of(ctx, s).contains(&req.export_name))
        .map(|s| s.name.clone())
        .collect();
    if importing.is_empty() {
        return Err(validation(format!(
            "Export '{}' is not imported by any stack.",
            req.export_name
        )));
    }
    Ok(Output::new(dto::ListImportsOutput {
        imports: Some(importing),
        next_token: None,
    }))
}

fn update_termination_protection(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::UpdateTerminationProtectionInput = typed(input)?;
    let s = live_stack(ctx, &req.stack_name)?;
    let mut s = (*s).clone();
    s.protection = req.enable_termination_protection;
    let id = s.id.clone();
    ctx.store.write(|tx| tx.put(&ctx.scope(), s))?;
    Ok(Output::new(dto::UpdateTerminationProtectionOutput {
        stack_id: Some(id),
    }))
}
