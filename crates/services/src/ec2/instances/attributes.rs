//! DescribeInstanceAttribute and ModifyInstanceAttribute: the settings an instance keeps besides
//! its launch (API termination and stop protection, shutdown behaviour, source/destination
//! check, the root volume's DeleteOnTermination, and while stopped its type and user data), and
//! the root volumes DescribeVolumes shows.

use super::{check_instance_id, not_found, Instance, State};
use crate::ec2::{common, eni, sg};
use crate::input::{self, typed};
use crate::Ctx;
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::Scope;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// What ModifyInstanceAttribute changes on the instance itself (the source/destination check is
/// its primary interface's); AWS's defaults for a new instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub disable_api_termination: bool,
    pub disable_api_stop: bool,
    /// `stop` or `terminate`.
    pub shutdown_behavior: String,
    pub root_delete_on_termination: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            disable_api_termination: false,
            disable_api_stop: false,
            shutdown_behavior: "stop".into(),
            root_delete_on_termination: true,
        }
    }
}

/// The root device of every instance (AWS's Amazon Linux AMIs).
pub const ROOT_DEVICE: &str = "/dev/xvda";

/// `InstanceInitiatedShutdownBehavior` as RunInstances and ModifyInstanceAttribute take it.
pub fn shutdown_behavior(v: &str) -> ApiResult<String> {
    match v {
        "stop" | "terminate" => Ok(v.to_owned()),
        _ => Err(ApiError::invalid_parameter_value(format!(
            "Value ({v}) for parameter instanceInitiatedShutdownBehavior is invalid. Valid values are stop, terminate."
        ))),
    }
}

/// AWS's refusal to stop or terminate an instance that is protected against it.
pub fn protected(i: &Instance, terminate: bool) -> ApiResult<()> {
    let (on, verb, attribute) = if terminate {
        (
            i.settings.disable_api_termination,
            "terminated",
            "disableApiTermination",
        )
    } else {
        (i.settings.disable_api_stop, "stopped", "disableApiStop")
    };
    if on {
        return Err(ApiError::new(
            "OperationNotPermitted",
            format!(
                "The instance '{}' may not be {verb}. Modify its '{attribute}' instance attribute and try again.",
                i.id
            ),
        ));
    }
    Ok(())
}

fn bool_value(b: bool) -> Option<dto::AttributeBooleanValue> {
    Some(dto::AttributeBooleanValue { value: Some(b) })
}

fn text_value(s: impl Into<String>) -> Option<dto::AttributeValue> {
    Some(dto::AttributeValue {
        value: Some(s.into()),
    })
}

fn instance(ctx: &Ctx<'_>, scope: &Scope, id: &str) -> ApiResult<Arc<Instance>> {
    check_instance_id(id)?;
    ctx.store
        .read(|v| v.get::<Instance>(scope, id))
        .filter(|i| !i.is_expired(ctx.clock))
        .ok_or_else(|| not_found(&[id.to_owned()]))
}

pub fn describe_instance_attribute(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeInstanceAttributeRequest = typed(input)?;
    let scope = ctx.scope();
    let i = instance(ctx, &scope, &req.instance_id)?;
    let s = &i.settings;
    let mut out = dto::InstanceAttribute {
        instance_id: Some(i.id.clone()),
        ..Default::default()
    };
    match req.attribute.as_str() {
        "instanceType" => out.instance_type = text_value(&i.instance_type),
        "kernel" => out.kernel_id = Some(dto::AttributeValue::default()),
        "ramdisk" => out.ramdisk_id = Some(dto::AttributeValue::default()),
        "userData" => {
            out.user_data = Some(dto::AttributeValue {
                value: i.user_data.clone(),
            })
        }
        "disableApiTermination" => {
            out.disable_api_termination = bool_value(s.disable_api_termination)
        }
        "disableApiStop" => out.disable_api_stop = bool_value(s.disable_api_stop),
        "instanceInitiatedShutdownBehavior" => {
            out.instance_initiated_shutdown_behavior = text_value(&s.shutdown_behavior)
        }
        "rootDeviceName" => out.root_device_name = text_value(ROOT_DEVICE),
        "blockDeviceMapping" => {
            out.block_device_mappings = Some(if i.state(ctx.clock) == State::Terminated {
                Vec::new()
            } else {
                vec![dto::InstanceBlockDeviceMapping {
                    device_name: Some(ROOT_DEVICE.into()),
                    ebs: Some(dto::EbsInstanceBlockDevice {
                        attach_time: Some(crate::iso(i.created)),
                        delete_on_termination: Some(s.root_delete_on_termination),
                        status: Some("attached".into()),
                        volume_id: Some(i.volume_id.clone()),
                        ..Default::default()
                    }),
                }]
            })
        }
        "productCodes" => out.product_codes = Some(Vec::new()),
        "sourceDestCheck" => {
            let check = ctx.store.read(|v| {
                v.get::<eni::NetworkInterface>(&scope, &i.eni_id)
                    .is_none_or(|e| e.source_dest_check())
            });
            out.source_dest_check = bool_value(check)
        }
        "groupSet" => {
            let groups = ctx.store.read(|v| {
                let ids = v
                    .get::<eni::NetworkInterface>(&scope, &i.eni_id)
                    .map(|e| e.groups.clone())
                    .unwrap_or_else(|| i.groups.clone());
                ids.iter()
                    .filter_map(|id| v.get::<sg::SecurityGroup>(&scope, id))
                    .collect::<Vec<_>>()
            });
            out.groups = Some(
                groups
                    .iter()
                    .map(|g| dto::GroupIdentifier {
                        group_id: Some(g.id.clone()),
                        group_name: Some(g.name.clone()),
                    })
                    .collect(),
            )
        }
        "ebsOptimized" => out.ebs_optimized = bool_value(i.ebs_optimized),
        "sriovNetSupport" => out.sriov_net_support = text_value("simple"),
        "enaSupport" => out.ena_support = bool_value(true),
        "enclaveOptions" => {
            out.enclave_options = Some(dto::EnclaveOptions {
                enabled: Some(false),
            })
        }
        other => {
            return Err(ApiError::invalid_parameter_value(format!(
                "Value ({other}) for parameter attribute is invalid. Unknown attribute."
            )))
        }
    }
    Ok(Output::new(out))
}

/// The one attribute a ModifyInstanceAttribute request changes.
enum Change {
    DisableApiTermination(bool),
    DisableApiStop(bool),
    ShutdownBehavior(String),
    SourceDestCheck(bool),
    InstanceType(String),
    UserData(Option<String>),
    EbsOptimized(bool),
    Groups(Vec<String>),
    RootDeleteOnTermination(bool),
}

fn change_of(req: dto::ModifyInstanceAttributeRequest) -> ApiResult<Change> {
    let flag = |v: Option<dto::AttributeBooleanValue>| v.and_then(|v| v.value);
    let mut given: Vec<(&str, Change)> = Vec::new();
    // The old form: `Attribute` with `Value`.
    if let Some(a) = req.attribute.as_deref() {
        let value = req.value.clone().unwrap_or_default();
        let as_bool = || value.eq_ignore_ascii_case("true");
        let c = match a {
            "disableApiTermination" => Change::DisableApiTermination(as_bool()),
            "disableApiStop" => Change::DisableApiStop(as_bool()),
            "instanceInitiatedShutdownBehavior" => Change::ShutdownBehavior(value.clone()),
            "sourceDestCheck" => Change::SourceDestCheck(as_bool()),
            "instanceType" => Change::InstanceType(value.clone()),
            "userData" => Change::UserData(Some(value.clone())),
            "ebsOptimized" => Change::EbsOptimized(as_bool()),
            other => {
                return Err(ApiError::invalid_parameter_value(format!(
                    "Value ({other}) for parameter attribute is invalid. Unknown attribute."
                )))
            }
        };
        given.push((a, c));
    }
    if let Some(b) = flag(req.disable_api_termination) {
        given.push(("disableApiTermination", Change::DisableApiTermination(b)));
    }
    if let Some(b) = flag(req.disable_api_stop) {
        given.push(("disableApiStop", Change::DisableApiStop(b)));
    }
    if let Some(v) = req
        .instance_initiated_shutdown_behavior
        .and_then(|v| v.value)
    {
        given.push((
            "instanceInitiatedShutdownBehavior",
            Change::ShutdownBehavior(v),
        ));
    }
    if let Some(b) = flag(req.source_dest_check) {
        given.push(("sourceDestCheck", Change::SourceDestCheck(b)));
    }
    if let Some(v) = req.instance_type.and_then(|v| v.value) {
        given.push(("instanceType", Change::InstanceType(v)));
    }
    if let Some(u) = req.user_data {
        given.push(("userData", Change::UserData(u.value)));
    }
    if let Some(b) = flag(req.ebs_optimized) {
        given.push(("ebsOptimized", Change::EbsOptimized(b)));
    }
    if let Some(g) = req.groups {
        given.push(("groupSet", Change::Groups(g)));
    }
    if let Some(m) = req.block_device_mappings {
        let root = m
            .iter()
            .find(|m| m.device_name.as_deref() == Some(ROOT_DEVICE))
            .and_then(|m| m.ebs.as_ref())
            .and_then(|e| e.delete_on_termination);
        match root {
            Some(d) => given.push(("blockDeviceMapping", Change::RootDeleteOnTermination(d))),
            None => {
                return Err(ApiError::invalid_parameter_value(format!(
                    "The device name is not the instance's root device ({ROOT_DEVICE}) or DeleteOnTermination is missing."
                )))
            }
        }
    }
    if given.len() > 1 {
        let names: Vec<&str> = given.iter().map(|(n, _)| *n).collect();
        return Err(ApiError::new(
            "InvalidParameterCombination",
            format!(
                "Fields for multiple attribute types specified: {}",
                names.join(", ")
            ),
        ));
    }
    given.pop().map(|(_, c)| c).ok_or_else(|| {
        ApiError::missing_parameter("The request must contain the parameter attribute")
    })
}

pub fn modify_instance_attribute(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ModifyInstanceAttributeRequest = typed(input)?;
    let id = req.instance_id.clone();
    check_instance_id(&id)?;
    let change = change_of(req)?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let i = tx
            .get::<Instance>(&scope, &id)
            .filter(|i| !i.is_expired(ctx.clock))
            .ok_or_else(|| not_found(std::slice::from_ref(&id)))?;
        let state = i.state(ctx.clock);
        if state == State::Terminated {
            return Err(ApiError::new(
                "IncorrectInstanceState",
                format!("The instance '{id}' is not in a state from which it can be modified."),
            ));
        }
        let stopped = || {
            if state == State::Stopped {
                Ok(())
            } else {
                Err(ApiError::new(
                    "IncorrectInstanceState",
                    format!("The instance '{id}' is not in the 'stopped' state."),
                ))
            }
        };
        let mut i = (*i).clone();
        match change {
            Change::DisableApiTermination(b) => i.settings.disable_api_termination = b,
            Change::DisableApiStop(b) => i.settings.disable_api_stop = b,
            Change::ShutdownBehavior(v) => i.settings.shutdown_behavior = shutdown_behavior(&v)?,
            // The primary interface's setting is the instance's.
            Change::SourceDestCheck(b) => {
                if let Some(e) = tx.get::<eni::NetworkInterface>(&scope, &i.eni_id) {
                    let mut e = (*e).clone();
                    e.set_source_dest_check(b);
                    tx.put(&scope, e)?;
                }
            }
            Change::RootDeleteOnTermination(b) => i.settings.root_delete_on_termination = b,
            Change::EbsOptimized(b) => i.ebs_optimized = b,
            Change::InstanceType(t) => {
                stopped()?;
                if super::type_info(&t).is_none() {
                    return Err(ApiError::invalid_parameter_value(format!(
                        "Invalid value '{t}' for InstanceType."
                    )));
                }
                i.instance_type = t;
            }
            Change::UserData(u) => {
                stopped()?;
                i.user_data = u.filter(|u| !u.is_empty());
            }
            Change::Groups(ids) => {
                if ids.is_empty() {
                    return Err(ApiError::missing_parameter(
                        "The request must contain the parameter groupId",
                    ));
                }
                let mut e = tx
                    .get::<eni::NetworkInterface>(&scope, &i.eni_id)
                    .map(|e| (*e).clone())
                    .ok_or_else(|| not_found(std::slice::from_ref(&id)))?;
                sg::resolve_groups(tx, &scope, &i.vpc_id, &ids)?;
                e.groups = ids;
                tx.put(&scope, e)?;
            }
        }
        tx.put(&scope, i)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(serde_json::json!({})))
}

/// One root volume, as DescribeVolumes shows and filters it.
struct VolumeRow(Arc<Instance>);

const ROOT_SIZE_GIB: i64 = 8;

impl VolumeRow {
    fn out(&self) -> dto::Volume {
        let i = &self.0;
        dto::Volume {
            attachments: Some(vec![dto::VolumeAttachment {
                attach_time: Some(crate::iso(i.created)),
                delete_on_termination: Some(i.settings.root_delete_on_termination),
                device: Some(ROOT_DEVICE.into()),
                instance_id: Some(i.id.clone()),
                state: Some("attached".into()),
                volume_id: Some(i.volume_id.clone()),
                ..Default::default()
            }]),
            availability_zone: Some(i.az.clone()),
            availability_zone_id: Some(i.az_id.clone()),
            create_time: Some(crate::iso(i.created)),
            encrypted: Some(false),
            iops: Some(3000),
            multi_attach_enabled: Some(false),
            size: Some(ROOT_SIZE_GIB),
            snapshot_id: Some(format!(
                "snap-{}",
                crate::ids::hex_of(&format!("{}/root", i.image_id), 17)
            )),
            state: Some("in-use".into()),
            tags: Some(common::tags_dto(&i.volume_tags)),
            throughput: Some(125),
            volume_id: Some(i.volume_id.clone()),
            volume_type: Some("gp3".into()),
            ..Default::default()
        }
    }
}

impl common::Filterable for VolumeRow {
    fn field(&self, name: &str) -> common::Field {
        let i = &self.0;
        match name {
            "volume-id" | "attachment.volume-id" => common::one(&i.volume_id),
            "attachment.instance-id" => common::one(&i.id),
            "attachment.device" => common::one(ROOT_DEVICE),
            "attachment.status" => common::one("attached"),
            "attachment.delete-on-termination" => {
                common::flag(i.settings.root_delete_on_termination)
            }
            "availability-zone" => common::one(&i.az),
            "status" => common::one("in-use"),
            "volume-type" => common::one("gp3"),
            "size" => common::one(ROOT_SIZE_GIB.to_string()),
            "encrypted" => common::flag(false),
            _ => None,
        }
    }
    // A volume's tags are the ones the launch gave volumes, not the instance's.
    #[allow(clippy::misnamed_getters)]
    fn tags(&self) -> &[common::Tag] {
        &self.0.volume_tags
    }
}

/// The root volumes of the region's instances (a terminated instance's volume is gone).
pub fn describe_volumes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeVolumesRequest = typed(input)?;
    let ids = req.volume_ids.unwrap_or_default();
    for id in &ids {
        common::check_id(id, "vol", "InvalidVolumeID.Malformed")?;
    }
    let scope = ctx.scope();
    let mut all: Vec<VolumeRow> = ctx
        .store
        .read(|v| v.list::<Instance>(&scope))
        .into_iter()
        .filter(|i| i.state(ctx.clock) != State::Terminated)
        .map(VolumeRow)
        .collect();
    all.sort_by(|a, b| a.0.volume_id.cmp(&b.0.volume_id));
    fn id(r: &VolumeRow) -> &str {
        &r.0.volume_id
    }
    common::require_all(&all, &ids, id, |absent| {
        ApiError::new(
            "InvalidVolume.NotFound",
            format!("The volume '{absent}' does not exist."),
        )
    })?;
    let kept = common::kept(all, input, &ids, id)?;
    let (page, next) = common::paginate(kept, input, (5, 500), !ids.is_empty(), |r| id(r).into())?;
    Ok(Output::new(dto::DescribeVolumesResult {
        next_token: next,
        volumes: Some(page.iter().map(VolumeRow::out).collect()),
    }))
}

#[cfg(test)]
mod tests {
    use crate::auth::test_support::{ctx_as, ec2 as call, root_principal, store};
    use crate::{Config, Ctx};
    use serde_json::{json, Value};

    /// Instances run at once.
    fn unscaled() -> Config {
        Config {
            time_scale: 0.0,
            ..Config::default()
        }
    }

    /// The one instance RunInstances launches with `input`.
    fn launch(ctx: &Ctx<'_>, input: Value) -> Value {
        let run = call(ctx, "RunInstances", input).unwrap();
        run["Instances"][0].clone()
    }

    fn attribute(ctx: &Ctx<'_>, id: &str, name: &str) -> Value {
        call(
            ctx,
            "DescribeInstanceAttribute",
            json!({"InstanceId": id, "Attribute": name}),
        )
        .unwrap()
    }

    /// DescribeVolumes lists a running instance's root volume by its id and names one that does
    /// not exist as EC2 does.
    #[test]
    fn volumes_by_id() {
        let store = store();
        let config = unscaled();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        launch(
            &ctx,
            json!({"ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro"}),
        );
        let all = call(&ctx, "DescribeVolumes", json!({})).unwrap();
        let vol = all["Volumes"][0]["VolumeId"].clone();
        let one = call(&ctx, "DescribeVolumes", json!({"VolumeIds": [vol]})).unwrap();
        assert_eq!(one["Volumes"][0]["VolumeId"], vol);
        let absent = "vol-0123456789abcdef0";
        let e = call(&ctx, "DescribeVolumes", json!({"VolumeIds": [vol, absent]})).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.message),
            (
                "InvalidVolume.NotFound",
                format!("The volume '{absent}' does not exist.")
            )
        );
    }

    /// Termination protection set at launch or later refuses TerminateInstances until it is
    /// lifted (what Terraform's delete does first); the type changes only while stopped; one
    /// attribute per call.
    #[test]
    fn protection_type_and_one_attribute_per_call() {
        let store = store();
        let config = unscaled();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let run = launch(
            &ctx,
            json!({"ImageId": "ami-0123456789abcdef0", "InstanceType": "t3.micro",
                   "DisableApiTermination": true, "InstanceInitiatedShutdownBehavior": "terminate"}),
        );
        let id = run["InstanceId"].as_str().unwrap().to_owned();
        assert_eq!(
            attribute(&ctx, &id, "disableApiTermination")["DisableApiTermination"]["Value"],
            true
        );
        assert_eq!(
            attribute(&ctx, &id, "instanceInitiatedShutdownBehavior")
                ["InstanceInitiatedShutdownBehavior"]["Value"],
            "terminate"
        );
        let refused = call(&ctx, "TerminateInstances", json!({"InstanceIds": [id]})).unwrap_err();
        assert_eq!(refused.code, "OperationNotPermitted");
        assert!(refused.message.contains("disableApiTermination"));

        let both = call(
            &ctx,
            "ModifyInstanceAttribute",
            json!({"InstanceId": id, "DisableApiTermination": {"Value": false},
                   "SourceDestCheck": {"Value": false}}),
        )
        .unwrap_err();
        assert_eq!(both.code, "InvalidParameterCombination");
        let running = call(
            &ctx,
            "ModifyInstanceAttribute",
            json!({"InstanceId": id, "InstanceType": {"Value": "t3.small"}}),
        )
        .unwrap_err();
        assert_eq!(running.code, "IncorrectInstanceState");
        call(
            &ctx,
            "ModifyInstanceAttribute",
            json!({"InstanceId": id, "SourceDestCheck": {"Value": false}}),
        )
        .unwrap();
        let described = call(&ctx, "DescribeInstances", json!({"InstanceIds": [id]})).unwrap();
        assert_eq!(
            described["Reservations"][0]["Instances"][0]["SourceDestCheck"],
            false
        );

        call(&ctx, "StopInstances", json!({"InstanceIds": [id]})).unwrap();
        call(
            &ctx,
            "ModifyInstanceAttribute",
            json!({"InstanceId": id, "InstanceType": {"Value": "t3.small"}}),
        )
        .unwrap();
        assert_eq!(
            attribute(&ctx, &id, "instanceType")["InstanceType"]["Value"],
            "t3.small"
        );
        call(
            &ctx,
            "ModifyInstanceAttribute",
            json!({"InstanceId": id, "DisableApiTermination": {"Value": false}}),
        )
        .unwrap();
        call(&ctx, "TerminateInstances", json!({"InstanceIds": [id]})).unwrap();
    }

    /// Each instance's root volume, until the instance is terminated.
    #[test]
    fn root_volumes_follow_their_instances() {
        let store = store();
        let config = unscaled();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let instance = &launch(
            &ctx,
            json!({"ImageId": "ami-0123456789abcdef0",
                   "TagSpecifications": [{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "root"}]}]}),
        );
        let id = instance["InstanceId"].as_str().unwrap().to_owned();
        let volume = instance["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
            .as_str()
            .unwrap()
            .to_owned();
        let v = call(&ctx, "DescribeVolumes", json!({"VolumeIds": [volume]})).unwrap();
        let v = &v["Volumes"][0];
        assert_eq!(v["Attachments"][0]["InstanceId"], id.as_str());
        assert_eq!(v["Attachments"][0]["Device"], "/dev/xvda");
        assert_eq!(v["State"], "in-use");
        assert_eq!(v["Tags"][0]["Value"], "root");
        let by_instance = call(
            &ctx,
            "DescribeVolumes",
            json!({"Filters": [{"Name": "attachment.instance-id", "Values": [id]}]}),
        )
        .unwrap();
        assert_eq!(by_instance["Volumes"].as_array().unwrap().len(), 1);
        call(&ctx, "TerminateInstances", json!({"InstanceIds": [id]})).unwrap();
        let gone = call(&ctx, "DescribeVolumes", json!({"VolumeIds": [volume]})).unwrap_err();
        assert_eq!(gone.code, "InvalidVolume.NotFound");
    }
}
