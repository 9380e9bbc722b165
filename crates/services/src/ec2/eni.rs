//! Elastic network interfaces and private address allocation.

use super::cidr;
use super::common::{self, flag, one, tags_json, Field, Filterable, Tag};
use super::{sg, subnet, vpc};
use crate::{ids, input, Ctx};
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Record, Scope, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashSet;

/// An interface's attachment to an instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attachment {
    /// `eni-attach-` and 17 hex digits.
    pub id: String,
    pub instance_id: String,
    pub instance_owner: String,
    pub device_index: i64,
    /// ISO 8601 (`crate::iso`).
    pub attach_time: String,
    pub delete_on_termination: bool,
    /// `attached` (AWS also has `attaching`, `detaching`, `detached`).
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkInterface {
    pub id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub az: String,
    pub az_id: String,
    pub region: String,
    pub owner: String,
    pub private_ip: u32,
    pub mac: String,
    pub description: String,
    pub groups: Vec<String>,
    /// `interface`, `vpc_endpoint`, `nat_gateway`, ...
    pub interface_type: String,
    pub requester_managed: bool,
    pub requester_id: Option<String>,
    /// `available` or `in-use`.
    pub status: String,
    /// Public address (Elastic IP) mapped to this interface, if any.
    pub public_ip: Option<String>,
    pub allocation_id: Option<String>,
    pub association_id: Option<String>,
    pub tags: Vec<Tag>,
    /// The instance it is attached to (instances' primary interfaces).
    #[serde(default)]
    pub attachment: Option<Attachment>,
    /// `SourceDestCheck` turned off (it is on by default).
    #[serde(default)]
    pub no_source_dest_check: bool,
    /// Secondary private addresses (AssignPrivateIpAddresses), in the order assigned.
    #[serde(default)]
    pub secondary_ips: Vec<u32>,
    /// IPv6 addresses of its subnet's /64.
    #[serde(default)]
    pub ipv6: Vec<String>,
}

impl Record for NetworkInterface {
    const KIND: &'static str = "ec2.network_interface";
    fn id(&self) -> &str {
        &self.id
    }
    fn group(&self) -> Option<&str> {
        Some(&self.vpc_id)
    }
    /// Its private DNS name, and its public address if it has one (what DNS looks up).
    fn names(&self) -> Vec<String> {
        let mut names = vec![self.private_dns_name()];
        names.extend(self.public_ip.clone());
        names
    }
}

impl NetworkInterface {
    pub fn ip(&self) -> String {
        cidr::ip_str(self.private_ip)
    }

    pub fn private_dns_name(&self) -> String {
        vpc::private_dns_name(&self.region, self.private_ip)
    }

    pub fn source_dest_check(&self) -> bool {
        !self.no_source_dest_check
    }

    pub fn set_source_dest_check(&mut self, on: bool) {
        self.no_source_dest_check = !on;
    }

    /// Every private address: the primary first, then the secondary ones.
    pub fn all_ips(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::once(self.private_ip).chain(self.secondary_ips.iter().copied())
    }

    /// `PrivateIpAddresses` as outputs show them (the primary one carries `association`).
    pub fn private_ips_json(&self, association: Option<Value>) -> Value {
        let mut primary = json!({"Primary": true, "PrivateIpAddress": self.ip(), "PrivateDnsName": self.private_dns_name()});
        if let Some(a) = association {
            primary["Association"] = a;
        }
        let mut all = vec![primary];
        all.extend(self.secondary_ips.iter().map(|ip| {
            json!({"Primary": false, "PrivateIpAddress": cidr::ip_str(*ip),
                   "PrivateDnsName": vpc::private_dns_name(&self.region, *ip)})
        }));
        Value::Array(all)
    }

    fn attached(&self, f: impl Fn(&Attachment) -> String) -> Field {
        Some(self.attachment.iter().map(f).collect())
    }

    pub fn json(&self, groups: &[std::sync::Arc<sg::SecurityGroup>]) -> Value {
        let association = self.public_ip.as_ref().map(|ip| {
            json!({"PublicIp": ip, "IpOwnerId": "amazon", "AllocationId": self.allocation_id,
                   "AssociationId": self.association_id, "PublicDnsName": ""})
        });
        let mut v = json!({
            "NetworkInterfaceId": self.id, "SubnetId": self.subnet_id, "VpcId": self.vpc_id,
            "AvailabilityZone": self.az, "AvailabilityZoneId": self.az_id, "Description": self.description,
            "Groups": sg::identifiers(groups, &self.groups), "InterfaceType": self.interface_type,
            "MacAddress": self.mac, "OwnerId": self.owner, "PrivateDnsName": self.private_dns_name(),
            "PrivateIpAddress": self.ip(), "RequesterManaged": self.requester_managed,
            "SourceDestCheck": self.source_dest_check(), "Status": self.status, "TagSet": tags_json(&self.tags),
            "Ipv6Addresses": super::ipv6::addresses_json(self), "Ipv4Prefixes": [], "Ipv6Prefixes": [], "DenyAllIgwTraffic": false,
            "Ipv6Native": false,
        });
        if let Some(r) = &self.requester_id {
            v["RequesterId"] = json!(r);
        }
        if let Some(a) = &association {
            v["Association"] = a.clone();
        }
        if let Some(a) = &self.attachment {
            v["Attachment"] = json!({
                "AttachTime": a.attach_time, "AttachmentId": a.id,
                "DeleteOnTermination": a.delete_on_termination, "DeviceIndex": a.device_index,
                "NetworkCardIndex": 0, "InstanceId": a.instance_id,
                "InstanceOwnerId": a.instance_owner, "Status": a.status,
            });
        }
        v["PrivateIpAddresses"] = self.private_ips_json(association);
        v
    }
}

impl Filterable for NetworkInterface {
    fn field(&self, name: &str) -> Field {
        match name {
            "network-interface-id" => one(&self.id),
            "subnet-id" => one(&self.subnet_id),
            "vpc-id" => one(&self.vpc_id),
            "availability-zone" => one(&self.az),
            "description" => one(&self.description),
            "interface-type" => one(&self.interface_type),
            "requester-managed" => flag(self.requester_managed),
            "requester-id" => Some(self.requester_id.iter().cloned().collect()),
            "private-ip-address" | "addresses.private-ip-address" => {
                Some(self.all_ips().map(cidr::ip_str).collect())
            }
            "private-dns-name" => one(self.private_dns_name()),
            "ipv6-addresses.ipv6-address" | "ipv6-address" => Some(self.ipv6.clone()),
            "group-id" => Some(self.groups.clone()),
            "status" => one(&self.status),
            "mac-address" => one(&self.mac),
            "owner-id" => one(&self.owner),
            "source-dest-check" => flag(true),
            "association.public-ip" => Some(self.public_ip.iter().cloned().collect()),
            "association.allocation-id" => Some(self.allocation_id.iter().cloned().collect()),
            "addresses.primary" => Some(
                std::iter::once("true")
                    .chain(self.secondary_ips.iter().map(|_| "false"))
                    .map(str::to_owned)
                    .collect(),
            ),
            "attachment.attachment-id" => self.attached(|a| a.id.clone()),
            "attachment.instance-id" => self.attached(|a| a.instance_id.clone()),
            "attachment.instance-owner-id" => self.attached(|a| a.instance_owner.clone()),
            "attachment.device-index" => self.attached(|a| a.device_index.to_string()),
            "attachment.status" => self.attached(|a| a.status.clone()),
            "attachment.attach-time" => self.attached(|a| a.attach_time.clone()),
            "attachment.delete-on-termination" => {
                self.attached(|a| a.delete_on_termination.to_string())
            }
            _ => None,
        }
    }
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
}

pub fn get(tx: &Tx<'_>, scope: &Scope, id: &str) -> ApiResult<std::sync::Arc<NetworkInterface>> {
    tx.get::<NetworkInterface>(scope, id).ok_or_else(|| {
        common::not_found(
            "InvalidNetworkInterfaceID.NotFound",
            "network interface",
            id,
        )
    })
}

fn mac() -> String {
    let b: [u8; 5] = rand::random();
    format!(
        "02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3], b[4]
    )
}

/// The private addresses of `subnet` that interfaces hold (primary and secondary).
fn used_in(tx: &Tx<'_>, scope: &Scope, subnet: &subnet::Subnet) -> HashSet<u32> {
    tx.list_in::<NetworkInterface>(scope, &subnet.vpc_id)
        .iter()
        .filter(|e| e.subnet_id == subnet.id)
        .flat_map(|e| e.all_ips().collect::<Vec<_>>())
        .collect()
}

/// `requested` if it is free and usable in `subnet`, else the lowest free address from base+4
/// (the first four and the last are AWS's).
fn pick(subnet: &subnet::Subnet, used: &HashSet<u32>, requested: Option<&str>) -> ApiResult<u32> {
    // The fabric addresses interfaces by their private IPv4 address: an IPv6-only subnet has
    // none to give (AWS gives such interfaces IPv6 addresses only; Airlock does not).
    let range = subnet.cidr().ok_or_else(|| {
        ApiError::new(
            "Unsupported",
            format!(
                "Subnet {} is IPv6-only: Airlock's network interfaces need a private IPv4 address.",
                subnet.id
            ),
        )
    })?;
    if let Some(raw) = requested {
        let ip = cidr::parse_ip(raw).ok_or_else(|| {
            ApiError::invalid_parameter_value(format!("Invalid IPv4 address: {raw}"))
        })?;
        if !range.contains_ip(ip) {
            return Err(ApiError::invalid_parameter_value(format!(
                "Address {raw} does not fall within the subnet's address range"
            )));
        }
        if ip < range.first_usable() || ip > range.last_usable() {
            return Err(ApiError::invalid_parameter_value(format!(
                "Address {raw} is in subnet's reserved address range"
            )));
        }
        if used.contains(&ip) {
            return Err(ApiError::new(
                "InvalidIPAddress.InUse",
                "The specified address is already in use.",
            ));
        }
        return Ok(ip);
    }
    (range.first_usable()..=range.last_usable())
        .find(|ip| !used.contains(ip))
        .ok_or_else(|| full(subnet))
}

/// Picks a private address in `subnet`: `requested` if it is free and usable, else the lowest
/// free one.
pub fn allocate(
    tx: &Tx<'_>,
    scope: &Scope,
    subnet: &subnet::Subnet,
    requested: Option<&str>,
) -> ApiResult<u32> {
    pick(subnet, &used_in(tx, scope, subnet), requested)
}

/// Picks the `requested` addresses and `count` more in `subnet`, all distinct and free.
pub fn allocate_many(
    tx: &Tx<'_>,
    scope: &Scope,
    subnet: &subnet::Subnet,
    requested: &[String],
    count: usize,
) -> ApiResult<Vec<u32>> {
    let mut used = used_in(tx, scope, subnet);
    let mut out = Vec::new();
    for want in requested
        .iter()
        .map(|r| Some(r.as_str()))
        .chain((0..count).map(|_| None))
    {
        let ip = pick(subnet, &used, want)?;
        used.insert(ip);
        out.push(ip);
    }
    Ok(out)
}

fn full(subnet: &subnet::Subnet) -> ApiError {
    ApiError::new(
        "InsufficientFreeAddressesInSubnet",
        format!("There are not enough free addresses in subnet '{}' to satisfy the requested number of instances.", subnet.id),
    )
}

/// What a new interface is for.
pub struct Spec<'a> {
    pub subnet: &'a subnet::Subnet,
    pub requested_ip: Option<&'a str>,
    pub description: String,
    pub groups: Vec<String>,
    pub interface_type: &'a str,
    pub requester_managed: bool,
    pub requester_id: Option<String>,
    pub status: &'a str,
    pub tags: Vec<Tag>,
}

/// Creates an interface inside `tx` (used by CreateNetworkInterface, VPC endpoints, NAT gateways).
pub fn create_in(ctx: &Ctx<'_>, tx: &mut Tx<'_>, spec: Spec<'_>) -> ApiResult<NetworkInterface> {
    let scope = ctx.scope();
    let ip = allocate(tx, &scope, spec.subnet, spec.requested_ip)?;
    let mut e = NetworkInterface {
        id: ids::resource_id("eni"),
        subnet_id: spec.subnet.id.clone(),
        vpc_id: spec.subnet.vpc_id.clone(),
        az: spec.subnet.az.clone(),
        az_id: spec.subnet.az_id.clone(),
        region: ctx.region.clone(),
        owner: ctx.account().to_owned(),
        private_ip: ip,
        mac: mac(),
        description: spec.description,
        groups: spec.groups,
        interface_type: spec.interface_type.to_owned(),
        requester_managed: spec.requester_managed,
        requester_id: spec.requester_id,
        status: spec.status.to_owned(),
        public_ip: None,
        allocation_id: None,
        association_id: None,
        tags: spec.tags,
        attachment: None,
        no_source_dest_check: false,
        secondary_ips: Vec::new(),
        ipv6: Vec::new(),
    };
    // A subnet that assigns IPv6 on creation gives the customer's own interfaces one address.
    if spec.subnet.assign_ipv6 && !e.requester_managed && e.interface_type == "interface" {
        e.ipv6 = super::ipv6::allocate(tx, &scope, spec.subnet, &[], 1)?;
    }
    tx.put(&scope, e.clone())?;
    Ok(e)
}

/// CreateNetworkInterface's addresses: the primary (`PrivateIpAddress`, or the entry of
/// `PrivateIpAddresses` marked primary) and the secondary ones (the other entries, and
/// `SecondaryPrivateIpAddressCount` more).
fn addresses_in(input: &Value) -> ApiResult<(Option<String>, Vec<String>, usize)> {
    let mut primary = input::str(input, "PrivateIpAddress").map(str::to_owned);
    let mut secondary = Vec::new();
    for a in input::list(input, "PrivateIpAddresses") {
        let Some(ip) = input::str(a, "PrivateIpAddress") else {
            continue;
        };
        if input::bool(a, "Primary") == Some(true) {
            if primary.as_deref().is_some_and(|p| p != ip) {
                return Err(ApiError::new(
                    "InvalidParameterCombination",
                    "Only one primary private IP address can be specified.",
                ));
            }
            primary = Some(ip.to_owned());
        } else if primary.as_deref() != Some(ip) {
            secondary.push(ip.to_owned());
        }
    }
    let count = input::int(input, "SecondaryPrivateIpAddressCount").unwrap_or(0);
    if count < 0 {
        return Err(ApiError::invalid_parameter_value(format!(
            "Value ({count}) for parameter secondaryPrivateIpAddressCount is invalid."
        )));
    }
    if count > 0 && !secondary.is_empty() {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "You may specify secondary private IP addresses or a count of them, not both.",
        ));
    }
    Ok((primary, secondary, count as usize))
}

pub fn create_network_interface(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let subnet_id = input::req(input, "SubnetId")?;
    let tags = common::tags_from_specs(input, "network-interface")?;
    let groups_in = input::strs(input, "Groups");
    let (primary, secondary, count) = addresses_in(input)?;
    let scope = ctx.scope();
    let (e, groups) = ctx.store.write(|tx| {
        let subnet = subnet::get_subnet(tx, &scope, subnet_id)?;
        let groups = sg::resolve_groups(tx, &scope, &subnet.vpc_id, &groups_in)?;
        let mut e = create_in(
            ctx,
            tx,
            Spec {
                subnet: &subnet,
                requested_ip: primary.as_deref(),
                description: input::str(input, "Description").unwrap_or("").to_owned(),
                groups,
                interface_type: "interface",
                requester_managed: false,
                requester_id: None,
                status: "available",
                tags,
            },
        )?;
        if !secondary.is_empty() || count > 0 {
            e.secondary_ips = allocate_many(tx, &scope, &subnet, &secondary, count)?;
            tx.put(&scope, e.clone())?;
        }
        let v6_given = input::list(input, "Ipv6Addresses")
            .iter()
            .filter_map(|a| input::str(a, "Ipv6Address").map(str::to_owned))
            .collect::<Vec<_>>();
        let v6_count = input::int(input, "Ipv6AddressCount").unwrap_or(0).max(0) as usize;
        if !v6_given.is_empty() || v6_count > 0 {
            // Explicit addresses replace the one the subnet would have given.
            let mut rest = e.clone();
            rest.ipv6.clear();
            tx.put(&scope, rest)?;
            e.ipv6 = super::ipv6::allocate(tx, &scope, &subnet, &v6_given, v6_count)?;
            tx.put(&scope, e.clone())?;
        }
        Ok::<_, ApiError>((e, tx.list::<sg::SecurityGroup>(&scope)))
    })?;
    let mut v = e.json(&groups);
    v["Status"] = json!("pending");
    Ok(json!({"NetworkInterface": v, "ClientToken": input::str(input, "ClientToken")}))
}

pub fn describe_network_interfaces(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let ids = input::strs(input, "NetworkInterfaceIds");
    let scope = ctx.scope();
    let (all, groups) = ctx.store.read(|v| {
        (
            v.list::<NetworkInterface>(&scope),
            v.list::<sg::SecurityGroup>(&scope),
        )
    });
    let missing = ("InvalidNetworkInterfaceID.NotFound", "network interface");
    let (page, next) = common::select(all, input, &ids, missing, (5, 1000))?;
    Ok(common::listed(
        "NetworkInterfaces",
        page.iter().map(|e| e.json(&groups)).collect::<Vec<_>>(),
        next,
    ))
}

/// ModifyNetworkInterfaceAttribute: the description, the security groups, the
/// source/destination check or the attachment's DeleteOnTermination, one per call.
pub fn modify_network_interface_attribute(
    ctx: &Ctx<'_>,
    input: &Value,
) -> ApiResult<airlock_protocol::Output> {
    use airlock_dto::ec2 as dto;
    input::dry_run(input)?;
    let req: dto::ModifyNetworkInterfaceAttributeRequest = crate::input::typed(input)?;
    let given: Vec<&str> = [
        ("description", req.description.is_some()),
        ("groupSet", req.groups.is_some()),
        ("sourceDestCheck", req.source_dest_check.is_some()),
        ("attachment", req.attachment.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    if given.len() > 1 {
        return Err(ApiError::new(
            "InvalidParameterCombination",
            format!(
                "Fields for multiple attribute types specified: {}",
                given.join(", ")
            ),
        ));
    }
    if given.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter attribute",
        ));
    }
    let id = req.network_interface_id.clone();
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let mut e = (*tx.get::<NetworkInterface>(&scope, &id).ok_or_else(|| {
            common::not_found(
                "InvalidNetworkInterfaceID.NotFound",
                "network interface",
                &id,
            )
        })?)
        .clone();
        // Interfaces AWS services own are changed through those services.
        if e.requester_managed {
            return Err(ApiError::new(
                "AuthFailure",
                "You do not have permission to access the specified resource.",
            ));
        }
        if let Some(d) = &req.description {
            e.description = d.value.clone().unwrap_or_default();
        }
        if let Some(groups) = &req.groups {
            if groups.is_empty() {
                return Err(ApiError::missing_parameter(
                    "The request must contain the parameter groupId",
                ));
            }
            sg::resolve_groups(tx, &scope, &e.vpc_id, groups)?;
            e.groups = groups.clone();
        }
        if let Some(check) = req.source_dest_check.as_ref().and_then(|c| c.value) {
            e.set_source_dest_check(check);
        }
        if let Some(change) = &req.attachment {
            let wanted = change.attachment_id.as_deref().unwrap_or_default();
            let Some(att) = e.attachment.as_mut().filter(|a| a.id == wanted) else {
                return Err(ApiError::new(
                    "InvalidAttachmentID.NotFound",
                    format!("Interface '{id}' is not attached with attachment ID '{wanted}'"),
                ));
            };
            if let Some(d) = change.delete_on_termination {
                att.delete_on_termination = d;
                // The primary interface's setting is also the instance's.
                let primary = att.device_index == 0;
                if let Some(i) = tx
                    .get::<super::instances::Instance>(&scope, &att.instance_id)
                    .filter(|_| primary)
                {
                    let mut i = (*i).clone();
                    i.delete_eni_on_termination = d;
                    tx.put(&scope, i)?;
                }
            }
        }
        tx.put(&scope, e)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(airlock_protocol::Output::new(json!({})))
}

pub fn delete_network_interface(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    input::dry_run(input)?;
    let id = input::req(input, "NetworkInterfaceId")?;
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let e = get(tx, &scope, id)?;
        if e.requester_managed || e.status == "in-use" {
            return Err(ApiError::new(
                "InvalidNetworkInterface.InUse",
                format!("Network interface '{id}' is currently in use."),
            ));
        }
        if e.public_ip.is_some() {
            return Err(ApiError::new(
                "InvalidNetworkInterface.InUse",
                format!("Network interface '{id}' has an associated public address."),
            ));
        }
        tx.delete::<NetworkInterface>(&scope, id);
        Ok::<_, ApiError>(())
    })?;
    Ok(json!({}))
}

#[cfg(test)]
mod modify_tests {
    use crate::auth::test_support::{ctx_as, ec2 as call, root_principal, store, vpc_with_subnet};
    use crate::Config;
    use serde_json::json;

    /// One attribute per call; the groups and the source/destination check stick and show in
    /// DescribeNetworkInterfaces (and, for an instance's primary interface, DescribeInstances).
    #[test]
    fn interface_attributes_change_one_at_a_time() {
        let store = store();
        let config = Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let (vpc_id, subnet_id) = vpc_with_subnet(&ctx, "10.0.0.0/16", "10.0.1.0/24");
        let sg = call(
            &ctx,
            "CreateSecurityGroup",
            json!({"GroupName": "web", "Description": "web", "VpcId": vpc_id}),
        )
        .unwrap()["GroupId"]
            .clone();
        let eni = call(
            &ctx,
            "CreateNetworkInterface",
            json!({"SubnetId": subnet_id}),
        )
        .unwrap()["NetworkInterface"]["NetworkInterfaceId"]
            .clone();
        let both = call(
            &ctx,
            "ModifyNetworkInterfaceAttribute",
            json!({"NetworkInterfaceId": eni, "Groups": [sg], "SourceDestCheck": {"Value": false}}),
        )
        .unwrap_err();
        assert_eq!(both.code, "InvalidParameterCombination");
        call(
            &ctx,
            "ModifyNetworkInterfaceAttribute",
            json!({"NetworkInterfaceId": eni, "Groups": [sg]}),
        )
        .unwrap();
        call(
            &ctx,
            "ModifyNetworkInterfaceAttribute",
            json!({"NetworkInterfaceId": eni, "SourceDestCheck": {"Value": false}}),
        )
        .unwrap();
        let d = call(
            &ctx,
            "DescribeNetworkInterfaces",
            json!({"NetworkInterfaceIds": [eni]}),
        )
        .unwrap();
        let e = &d["NetworkInterfaces"][0];
        assert_eq!(e["Groups"][0]["GroupId"], sg);
        assert_eq!(e["SourceDestCheck"], false);
        let unknown = call(
            &ctx,
            "ModifyNetworkInterfaceAttribute",
            json!({"NetworkInterfaceId": eni, "Groups": ["sg-0123456789abcdef0"]}),
        )
        .unwrap_err();
        assert_eq!(unknown.code, "InvalidGroup.NotFound");
    }
}
