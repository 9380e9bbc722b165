//! AWS CloudFormation: stacks made from JSON or YAML templates, with change sets (what
//! `aws cloudformation deploy` uses), events, outputs and exports.
//!
//! A stack's resources are created by the services' own operations (`resources/`, one file per
//! group of types), as the stack's caller, so a template reaches exactly what the API does.
//! `template.rs` reads and checks templates, `prepare.rs` checks a request's template,
//! parameters and capabilities, `eval.rs` resolves intrinsic functions and conditions,
//! `stacks.rs`, `changesets.rs` and `describe.rs` are the operations, and `engine/` moves a
//! stack through its operation one committed step at a time.

mod changesets;
mod coerce;
mod describe;
pub mod engine;
pub mod eval;
mod prepare;
pub mod resources;
mod stacks;
pub mod template;

use crate::input::typed;
use crate::service::{ops, Service};
use crate::{Ctx, Principal};
use airlock_dto::cloudformation as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::Kind;
use changesets::*;
use describe::*;
use prepare::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use stacks::*;
use std::collections::BTreeMap;
use template::validation;

pub fn record_kinds() -> Vec<Kind> {
    vec![Kind::of::<Stack>(), Kind::of::<ChangeSet>()]
}

/// CloudFormation's registration.
pub static SERVICE: Service = Service {
    name: "cloudformation",
    ops: ops! {
        "CreateStack" => Output(create_stack),
        "UpdateStack" => Output(update_stack),
        "DeleteStack" => Output(delete_stack),
        "DescribeStacks" => Output(describe_stacks),
        "DescribeStackEvents" => Output(describe_stack_events),
        "DescribeStackResource" => Output(describe_stack_resource),
        "DescribeStackResources" => Output(describe_stack_resources),
        "ListStackResources" => Output(list_stack_resources),
        "ListStacks" => Output(list_stacks),
        "GetTemplate" => Output(get_template),
        "GetTemplateSummary" => Output(get_template_summary),
        "ValidateTemplate" => Output(validate_template),
        "CreateChangeSet" => Output(create_change_set),
        "DescribeChangeSet" => Output(describe_change_set),
        "ExecuteChangeSet" => Output(execute_change_set),
        "DeleteChangeSet" => Output(delete_change_set),
        "ListChangeSets" => Output(list_change_sets),
        "ListExports" => Output(list_exports),
        "ListImports" => Output(list_imports),
        "UpdateTerminationProtection" => Output(update_termination_protection),
    },
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

/// A template as a stack or change set holds it: its text, parsed, and the parameters and
/// conditions it resolved to (checked before the stack or change set exists). Stored flattened:
/// its members are the record's own.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Template {
    pub body: String,
    pub doc: Value,
    pub params: Vec<Shown>,
    /// Parameter values as intrinsics see them.
    pub values: BTreeMap<String, Value>,
    pub conditions: BTreeMap<String, bool>,
}

/// A stack as it was before the update in progress (what a failed update goes back to).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Previous {
    #[serde(flatten)]
    pub template: Template,
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
    #[serde(flatten)]
    pub template: Template,
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

airlock_store::record!(Stack, "cloudformation.stack", id);

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
    #[serde(flatten)]
    pub template: Template,
    pub tags: Vec<(String, String)>,
    pub capabilities: Vec<String>,
    pub notification_arns: Vec<String>,
    pub role_arn: Option<String>,
    pub changes: Vec<ChangeRow>,
}

airlock_store::record!(ChangeSet, "cloudformation.changeset", id);

/// Runs another service's operation as a stack's resource provider does: authorized as the
/// stack's caller, with the input's scalars in the types the operation's model declares.
pub(crate) fn call(ctx: &Ctx<'_>, service: &str, op: &str, input: Value) -> ApiResult<Value> {
    let input = coerce::input(service, op, input)?;
    crate::authz::authorize(ctx, service, op, &input)?;
    match crate::call(ctx, service, op, &input) {
        Some(r) => r.map(|o| o.to_value()),
        None => Err(ApiError::internal(format!(
            "{service} has no operation {op}"
        ))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A change set stored before its template became one `Template` value reads back and is
    /// written again with the template's members at the top level.
    #[test]
    fn change_set_records_keep_their_layout() {
        let stored = json!({
            "id": "arn:cs", "name": "cs", "stack_id": "arn:stack", "stack_name": "s",
            "kind": "CREATE", "status": "CREATE_COMPLETE", "reason": null,
            "execution_status": "AVAILABLE", "created": "2026-12-05T10:00:00.000Z",
            "description": null, "body": "{}", "doc": {"Resources": {}},
            "params": [{"key": "Env", "value": "dev", "resolved": null, "no_echo": false}],
            "values": {"Env": "dev"}, "conditions": {"IsDev": true}, "tags": [["team", "a"]],
            "capabilities": [], "notification_arns": [], "role_arn": null, "changes": []
        });
        let cs: ChangeSet = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(cs.template.params[0].value, "dev");
        assert!(cs.template.conditions["IsDev"]);
        let again = serde_json::to_value(&cs).unwrap();
        assert_eq!(again, stored);
    }
}
