//! RunInstances: request parsing (image, subnet, interfaces, groups, tags, metadata options) and
//! the launch itself.

use super::*;
use crate::ec2::subnet;
// ------------------------------------------------------------------------------------------------
// Request parsing

/// `ami-` and 8 to 17 lowercase hex digits.
pub(crate) fn check_image_id(id: &str) -> ApiResult<()> {
    let ok = id.strip_prefix("ami-").is_some_and(|hex| {
        (8..=17).contains(&hex.len())
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidAMIID.Malformed",
            format!("Invalid id: \"{id}\" (expecting \"ami-...\")"),
        ))
    }
}

/// The image of `ImageId=resolve:ssm:<parameter>[:<version>]`: the AMI id the Parameter Store
/// parameter holds, read as the caller (who needs `ssm:GetParameter` on it). AWS's public
/// parameters (`/aws/service/...`) hold image ids as text; a parameter of the account's must
/// have the data type `aws:ec2:image`. Any other image id is returned as it is.
fn resolve_image(ctx: &Ctx<'_>, image_id: &str) -> ApiResult<String> {
    let Some(name) = image_id.strip_prefix("resolve:ssm:") else {
        return Ok(image_id.to_owned());
    };
    let input = serde_json::json!({ "Name": name });
    crate::authz::authorize(ctx, "ssm", "GetParameter", &input)?;
    let found = crate::call(ctx, "ssm", "GetParameter", &input)
        .unwrap_or_else(|| Err(ApiError::internal("ssm has no GetParameter")))
        .map(|o| o.to_value());
    let out = match found {
        Ok(v) => v,
        Err(e)
            if e.code.starts_with("ParameterNotFound")
                || e.code.starts_with("ParameterVersion") =>
        {
            return Err(ApiError::invalid_parameter_value(format!(
                "Invalid value '{image_id}' for imageId: the parameter {name} cannot be found."
            )))
        }
        Err(e) => return Err(e),
    };
    let parameter = &out["Parameter"];
    let public = parameter["Name"]
        .as_str()
        .is_some_and(|n| n.starts_with("/aws/service/"));
    if !public && parameter["DataType"].as_str() != Some("aws:ec2:image") {
        return Err(ApiError::new(
            "SsmInvalidParameter",
            "Unsupported data type. The following parameter data types are supported: aws:ec2:image",
        ));
    }
    Ok(parameter["Value"].as_str().unwrap_or_default().to_owned())
}

pub(super) fn check_instance_id(id: &str) -> ApiResult<()> {
    common::check_id(id, "i", "InvalidInstanceID.Malformed")
}

/// `The instance ID 'i-1' does not exist` / `The instance IDs 'i-1, i-2' do not exist`.
pub(super) fn not_found(ids: &[String]) -> ApiError {
    if ids.len() == 1 {
        common::not_found("InvalidInstanceID.NotFound", "instance", &ids[0])
    } else {
        ApiError::new(
            "InvalidInstanceID.NotFound",
            format!("The instance IDs '{}' do not exist", ids.join(", ")),
        )
    }
}

pub(super) struct LaunchTags {
    instance: Vec<Tag>,
    volume: Vec<Tag>,
    interface: Vec<Tag>,
}

pub(super) fn launch_tags(input: &Value) -> ApiResult<LaunchTags> {
    let mut out = LaunchTags {
        instance: Vec::new(),
        volume: Vec::new(),
        interface: Vec::new(),
    };
    for spec in input::list(input, "TagSpecifications") {
        let rt = input::str(spec, "ResourceType").unwrap_or("");
        let target = match rt {
            "instance" => &mut out.instance,
            "volume" => &mut out.volume,
            "network-interface" => &mut out.interface,
            // Accepted by AWS for RunInstances; nothing here to carry them.
            "spot-instances-request" | "elastic-gpu" => continue,
            _ => {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!("'{rt}' is not a valid taggable resource type for this operation."),
                ))
            }
        };
        for t in input::list(spec, "Tags") {
            let tag = Tag {
                key: input::str(t, "Key").unwrap_or("").to_owned(),
                value: input::str(t, "Value").unwrap_or("").to_owned(),
            };
            common::merge_tags(target, std::slice::from_ref(&tag))?;
        }
    }
    for tags in [&out.instance, &out.volume, &out.interface] {
        common::check_tags(tags)?;
    }
    Ok(out)
}

/// `NetworkInterfaces.1`: the primary interface's settings.
#[derive(Default)]
pub(super) struct InterfaceSpec {
    subnet_id: Option<String>,
    groups: Vec<String>,
    associate_public_ip: Option<bool>,
    delete_on_termination: Option<bool>,
    private_ip: Option<String>,
    description: Option<String>,
}

pub(super) fn interface_spec(input: &Value) -> ApiResult<Option<InterfaceSpec>> {
    let list = input::list(input, "NetworkInterfaces");
    if list.is_empty() {
        return Ok(None);
    }
    if list.len() > 1 {
        return Err(ApiError::new(
            "Unsupported",
            "Airlock launches instances with one network interface (device index 0).",
        ));
    }
    let ni = &list[0];
    let index = input::int(ni, "DeviceIndex");
    if index.is_some_and(|i| i != 0)
        || (index.is_none() && input::str(ni, "NetworkInterfaceId").is_none())
    {
        return Err(ApiError::new(
            "InvalidParameterValue",
            "Each network interface requires a device index of 0 for the primary interface.",
        ));
    }
    if input::str(ni, "NetworkInterfaceId").is_some() {
        return Err(ApiError::new(
            "Unsupported",
            "Launching an instance with an existing network interface is not supported by Airlock.",
        ));
    }
    let private_ip = input::str(ni, "PrivateIpAddress")
        .map(str::to_owned)
        .or_else(|| {
            input::list(ni, "PrivateIpAddresses")
                .iter()
                .find(|p| input::bool(p, "Primary") != Some(false))
                .and_then(|p| input::str(p, "PrivateIpAddress"))
                .map(str::to_owned)
        });
    Ok(Some(InterfaceSpec {
        subnet_id: input::str(ni, "SubnetId").map(str::to_owned),
        groups: input::strs(ni, "Groups"),
        associate_public_ip: input::bool(ni, "AssociatePublicIpAddress"),
        delete_on_termination: input::bool(ni, "DeleteOnTermination"),
        private_ip,
        description: input::str(ni, "Description").map(str::to_owned),
    }))
}

/// The subnet an instance launches into: the one named, else the default subnet of the
/// requested (or first) Availability Zone of the default VPC.
pub(super) fn launch_subnet(
    ctx: &Ctx<'_>,
    tx: &Tx<'_>,
    scope: &Scope,
    named: Option<&str>,
    az: Option<&str>,
) -> ApiResult<Arc<subnet::Subnet>> {
    if let Some(id) = named {
        let s = subnet::get_subnet(tx, scope, id)?;
        if let Some(az) = az {
            if az != s.az {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!(
                        "Value ({az}) for parameter availabilityZone is invalid. Subnet '{id}' is in the availability zone {}",
                        s.az
                    ),
                ));
            }
        }
        return Ok(s);
    }
    let Some(default_vpc) = vpc::default_vpc_id(tx, scope) else {
        return Err(ApiError::new(
            "VPCIdNotSpecified",
            "No default VPC for this user",
        ));
    };
    let zones: Vec<String> = match az {
        Some(az) => {
            if regions::zone_by_name(&ctx.region, az).is_none() {
                return Err(ApiError::new(
                    "InvalidParameterValue",
                    format!("Invalid availability zone: [{az}]"),
                ));
            }
            vec![az.to_owned()]
        }
        None => regions::zones(&ctx.region)
            .into_iter()
            .map(|z| z.name)
            .collect(),
    };
    let subnets = tx.list::<subnet::Subnet>(scope);
    zones
        .iter()
        .find_map(|z| {
            subnets
                .iter()
                .find(|s| s.vpc_id == default_vpc && s.default_for_az && &s.az == z)
                .cloned()
        })
        .ok_or_else(|| {
            ApiError::new(
                "MissingInput",
                format!("No subnets found for the default VPC '{default_vpc}'. Please specify a subnet."),
            )
        })
}

/// Security groups by name: only in the default VPC, as on AWS.
pub(super) fn groups_by_name(
    tx: &Tx<'_>,
    scope: &Scope,
    vpc_id: &str,
    names: &[String],
) -> ApiResult<Vec<String>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    if vpc::default_vpc_id(tx, scope).as_deref() != Some(vpc_id) {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "The parameter groupName cannot be used with the parameter subnet",
        ));
    }
    let groups = tx.list::<sg::SecurityGroup>(scope);
    names
        .iter()
        .map(|n| {
            groups
                .iter()
                .find(|g| g.vpc_id == vpc_id && &g.name == n)
                .map(|g| g.id.clone())
                .ok_or_else(|| {
                    ApiError::new(
                        "InvalidGroup.NotFound",
                        format!("The security group '{n}' does not exist in VPC '{vpc_id}'"),
                    )
                })
        })
        .collect()
}

pub(super) struct Metadata {
    http_tokens: String,
    hop_limit: i64,
    http_endpoint: String,
    tags: String,
}

pub(super) fn metadata_options(input: &Value) -> ApiResult<Metadata> {
    let m = input.get("MetadataOptions").cloned().unwrap_or(json!({}));
    let hop_limit = input::int(&m, "HttpPutResponseHopLimit").unwrap_or(2);
    if !(1..=64).contains(&hop_limit) {
        return Err(ApiError::invalid_parameter_value(format!(
            "The HttpPutResponseHopLimit value '{hop_limit}' is invalid. Specify a value between 1 and 64."
        )));
    }
    Ok(Metadata {
        http_tokens: input::str(&m, "HttpTokens")
            .unwrap_or("required")
            .to_owned(),
        hop_limit,
        http_endpoint: input::str(&m, "HttpEndpoint")
            .unwrap_or("enabled")
            .to_owned(),
        tags: input::str(&m, "InstanceMetadataTags")
            .unwrap_or("disabled")
            .to_owned(),
    })
}

/// Forgets terminated instances that have been out of sight for long enough.
pub(super) fn purge_expired(ctx: &Ctx<'_>, tx: &mut Tx<'_>, scope: &Scope) {
    for i in tx.list::<Instance>(scope) {
        if i.is_expired(ctx.clock) {
            tx.delete::<Instance>(scope, &i.id);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Operations

pub fn run_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let image_id = resolve_image(ctx, input::req(input, "ImageId")?)?;
    check_image_id(&image_id)?;
    let min = input::int(input, "MinCount").unwrap_or(1);
    let max = input::int(input, "MaxCount").unwrap_or(1);
    if min < 1 {
        return Err(ApiError::invalid_parameter_value(format!(
            "Value ({min}) for parameter minCount is invalid. Expected a positive integer."
        )));
    }
    if max < 1 {
        return Err(ApiError::invalid_parameter_value(format!(
            "Value ({max}) for parameter maxCount is invalid. Expected a positive integer."
        )));
    }
    if min > max {
        return Err(ApiError::invalid_parameter_value(format!(
            "Value ({min}) for parameter minCount is invalid. Expected a value less than or equal to maxCount ({max})."
        )));
    }
    let instance_type = input::str(input, "InstanceType")
        .unwrap_or(DEFAULT_TYPE)
        .to_owned();
    if type_info(&instance_type).is_none() {
        return Err(ApiError::invalid_parameter_value(format!(
            "Invalid value '{instance_type}' for InstanceType."
        )));
    }
    let key_name = input::str(input, "KeyName").map(str::to_owned);
    if let Some(k) = &key_name {
        keypair::find_by_name(ctx, k)?;
    }
    let ni = interface_spec(input)?;
    let top_subnet = input::str(input, "SubnetId");
    let group_ids = input::strs(input, "SecurityGroupIds");
    let group_names = input::strs(input, "SecurityGroups");
    if let Some(ni) = &ni {
        if top_subnet.is_some() && ni.subnet_id.is_some() {
            return Err(ApiError::new(
                "InvalidParameterCombination",
                "Network interfaces and an instance-level subnet ID may not be specified on the same request",
            ));
        }
        if (!group_ids.is_empty() || !group_names.is_empty()) && !ni.groups.is_empty() {
            return Err(ApiError::new(
                "InvalidParameterCombination",
                "Network interfaces and an instance-level security groups may not be specified on the same request",
            ));
        }
        if ni.private_ip.is_some() && input::str(input, "PrivateIpAddress").is_some() {
            return Err(ApiError::new(
                "InvalidParameterCombination",
                "Network interfaces and an instance-level private IP address may not be specified on the same request",
            ));
        }
    }
    let private_ip = ni
        .as_ref()
        .and_then(|n| n.private_ip.clone())
        .or_else(|| input::str(input, "PrivateIpAddress").map(str::to_owned));
    if private_ip.is_some() && max > 1 {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "Cannot specify a private IP address when launching more than one instance",
        ));
    }
    let placement_az = input
        .get("Placement")
        .and_then(|p| input::str(p, "AvailabilityZone"))
        .map(str::to_owned);
    if let Some(t) = input
        .get("Placement")
        .and_then(|p| input::str(p, "Tenancy"))
    {
        if t != "default" {
            return Err(ApiError::new(
                "Unsupported",
                format!("The requested tenancy '{t}' is not supported by Airlock."),
            ));
        }
    }
    let tags = launch_tags(input)?;
    let metadata = metadata_options(input)?;
    let cpu_credits = super::options::credits_at_launch(input, &instance_type)?;
    // IPv6 addresses for the primary interface (beyond what the subnet gives on creation).
    let ipv6_count = input::int(input, "Ipv6AddressCount")
        .or_else(|| {
            input::list(input, "NetworkInterfaces")
                .first()
                .and_then(|n| input::int(n, "Ipv6AddressCount"))
        })
        .unwrap_or(0)
        .max(0) as usize;
    let token = input::str(input, "ClientToken").map(str::to_owned);
    let monitoring = input
        .get("Monitoring")
        .and_then(|m| input::bool(m, "Enabled"))
        .unwrap_or(false);
    let ebs_optimized = input::bool(input, "EbsOptimized").unwrap_or(false);
    let user_data = input::str(input, "UserData").map(str::to_owned);
    let settings = Settings {
        disable_api_termination: input::bool(input, "DisableApiTermination").unwrap_or(false),
        disable_api_stop: input::bool(input, "DisableApiStop").unwrap_or(false),
        shutdown_behavior: match input::str(input, "InstanceInitiatedShutdownBehavior") {
            Some(b) => attributes::shutdown_behavior(b)?,
            None => "stop".into(),
        },
        ..Settings::default()
    };
    let scope = ctx.scope();
    let ids = ctx.store.write(|tx| {
        purge_expired(ctx, tx, &scope);
        if let Some(t) = &token {
            let mut same: Vec<Arc<Instance>> = tx
                .list::<Instance>(&scope)
                .into_iter()
                .filter(|i| i.client_token.as_ref() == Some(t))
                .collect();
            if !same.is_empty() {
                same.sort_by_key(|i| i.ami_launch_index);
                return Ok(same.iter().map(|i| i.id.clone()).collect::<Vec<_>>());
            }
        }
        let subnet_id = ni
            .as_ref()
            .and_then(|n| n.subnet_id.as_deref())
            .or(top_subnet);
        let subnet = launch_subnet(ctx, tx, &scope, subnet_id, placement_az.as_deref())?;
        let mut groups = match &ni {
            Some(n) if !n.groups.is_empty() => n.groups.clone(),
            _ => group_ids.clone(),
        };
        for g in groups_by_name(tx, &scope, &subnet.vpc_id, &group_names)? {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        let groups = sg::resolve_groups(tx, &scope, &subnet.vpc_id, &groups)?;
            let live = tx
            .list::<Instance>(&scope)
            .iter()
            .filter(|i| i.state(ctx.clock) != State::Terminated)
            .count();
        let room = INSTANCE_LIMIT.saturating_sub(live) as i64;
        if room < min {
            return Err(ApiError::new(
                "InstanceLimitExceeded",
                format!(
                    "You have requested more instances ({min}) than your current instance limit of {INSTANCE_LIMIT} allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit."
                ),
            ));
        }
        let count = max.min(room);
        let assign_public = ni
            .as_ref()
            .and_then(|n| n.associate_public_ip)
            .unwrap_or(subnet.map_public_ip_on_launch);
        let delete_on_termination = ni
            .as_ref()
            .and_then(|n| n.delete_on_termination)
            .unwrap_or(true);
        let description = ni
            .as_ref()
            .and_then(|n| n.description.clone())
            .unwrap_or_default();
        let reservation_id = ids::resource_id("r");
        let mut ids = Vec::new();
        for index in 0..count {
            let id = ids::resource_id("i");
            let created = eni::create_in(
                ctx,
                tx,
                eni::Spec {
                    subnet: &subnet,
                    requested_ip: private_ip.as_deref(),
                    description: description.clone(),
                    groups: groups.clone(),
                    interface_type: "interface",
                    requester_managed: false,
                    requester_id: None,
                    status: "in-use",
                    tags: tags.interface.clone(),
                },
            );
            let mut e = match created {
                Ok(e) => e,
                // AWS launches as many as fit, as long as that is at least MinCount.
                Err(err) if err.code == "InsufficientFreeAddressesInSubnet" && index >= min => {
                    break
                }
                Err(err) => return Err(err),
            };
            if ipv6_count > 0 {
                e.ipv6 = crate::ec2::ipv6::allocate(tx, &scope, &subnet, &[], ipv6_count)?;
            }
            let profile = super::profile::at_launch(ctx, tx, input)?;
            let attachment_id = ids::resource_id("eni-attach");
            e.attachment = Some(eni::Attachment {
                id: attachment_id.clone(),
                instance_id: id.clone(),
                instance_owner: ctx.account().to_owned(),
                device_index: 0,
                attach_time: crate::iso(ctx.clock.now()),
                delete_on_termination,
                status: "attached".into(),
            });
            let public_ip = if assign_public {
                Some(nat::take_public_ip(tx, ctx.account())?)
            } else {
                None
            };
            e.public_ip = public_ip.clone();
            let instance = Instance {
                id: id.clone(),
                reservation_id: reservation_id.clone(),
                owner: ctx.account().to_owned(),
                region: ctx.region.clone(),
                image_id: image_id.clone(),
                instance_type: instance_type.clone(),
                key_name: key_name.clone(),
                subnet_id: subnet.id.clone(),
                vpc_id: subnet.vpc_id.clone(),
                az: subnet.az.clone(),
                az_id: subnet.az_id.clone(),
                eni_id: e.id.clone(),
                attachment_id,
                private_ip: e.private_ip,
                public_ip,
                assign_public_ip: assign_public,
                delete_eni_on_termination: delete_on_termination,
                groups: groups.clone(),
                volume_id: ids::resource_id("vol"),
                ami_launch_index: index,
                client_token: token.clone(),
                tags: tags.instance.clone(),
                volume_tags: tags.volume.clone(),
                monitoring,
                ebs_optimized,
                http_tokens: metadata.http_tokens.clone(),
                http_put_response_hop_limit: metadata.hop_limit,
                http_endpoint: metadata.http_endpoint.clone(),
                instance_metadata_tags: metadata.tags.clone(),
                user_data: user_data.clone(),
                profile,
                cpu_credits: cpu_credits.clone(),
                settings: settings.clone(),
                created: ctx.clock.now(),
                launch_time: ctx.clock.now(),
                action: Action::Launch,
                action_at: ctx.clock.now(),
            };
            tx.put(&scope, e)?;
            tx.put(&scope, instance)?;
            ids.push(id);
        }
        Ok::<_, ApiError>(ids)
    })?;
    let snap = ctx.store.read(|v| Snapshot::take(v, &scope));
    let mut instances = Vec::new();
    let mut reservation = None;
    for id in &ids {
        if let Some(i) = snap.instances.iter().find(|i| &i.id == id) {
            reservation.get_or_insert_with(|| i.reservation_id.clone());
            instances.push(snap.seen(i, i.state(ctx.clock)).json());
        }
    }
    Ok(json!({
        "ReservationId": reservation.unwrap_or_default(), "OwnerId": ctx.account(),
        "Groups": [], "Instances": instances,
    }))
}
