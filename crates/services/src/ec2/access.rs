//! Which resources an EC2 operation is authorized on, as the Service Authorization Reference
//! lists its resource types: `Describe*` and `Get*` actions on `*` (they support no
//! resource-level permissions); any other action on each resource its request names by id
//! (`VpcId`, `GroupId`, `SecurityGroupIds`, `Resources`, ...: `arn:<partition>:ec2:<region>:<account>:
//! <type>/<id>`, the type read off the id's prefix), the key pair it names, the image it
//! launches (`arn:<partition>:ec2:<region>::image/<id>`) and the resources it creates (`<type>/*`).
//! Every one of them must be allowed, as AWS requires. EC2's condition keys: `ec2:Region` on
//! every resource; an existing resource's tags as `aws:ResourceTag/…` and `ec2:ResourceTag/…`,
//! and the VPC of one that is in a VPC as `ec2:Vpc`; `ec2:InstanceType` on the instances
//! RunInstances makes; `ec2:VpceServiceName` on the endpoint CreateVpcEndpoint makes.

use super::tags;
use crate::authz::{tag_keys, Access, Call};
use serde_json::Value;

/// The resource type an operation creates.
fn creates(op: &str) -> Option<&'static str> {
    Some(match op {
        "CreateVpc" => "vpc",
        "CreateSubnet" => "subnet",
        "CreateSecurityGroup" => "security-group",
        "CreateRouteTable" => "route-table",
        "CreateNetworkAcl" => "network-acl",
        "CreateDhcpOptions" => "dhcp-options",
        "CreateInternetGateway" => "internet-gateway",
        "AllocateAddress" => "elastic-ip",
        "CreateNatGateway" => "natgateway",
        "CreateNetworkInterface" | "RunInstances" => "network-interface",
        "CreateVpcEndpoint" => "vpc-endpoint",
        "CreateClientVpnEndpoint" => "client-vpn-endpoint",
        _ => return None,
    })
}

/// What EC2 operation `c` needs ([`crate::authz::Iam::access`]).
pub fn access(c: &Call<'_>) -> Vec<Access> {
    if c.op.starts_with("Describe") || c.op.starts_with("Get") {
        return c.default_access();
    }
    let Value::Object(members) = c.input else {
        return c.default_access();
    };
    let (region, account) = (c.ctx.region.as_str(), c.ctx.account());
    let arn = |kind: &str, id: &str| {
        crate::partition::arn(region, "ec2", account, &format!("{kind}/{id}"))
    };
    let scope = c.ctx.scope();
    let action = c.action();
    let region_key = c
        .wants("ec2:region")
        .then(|| ("ec2:Region".to_owned(), region.to_owned()));
    let mut needs: Vec<Access> = Vec::new();
    let mut add = |resource: String, mut keys: Vec<(String, String)>| {
        if !needs.iter().any(|n| n.resources[0] == resource) {
            keys.extend(region_key.clone());
            needs.push(Access {
                keys,
                ..Access::new(action.clone(), resource)
            });
        }
    };
    // What conditions may read of an existing resource.
    let facts = |id: &str| {
        if !(c.wants_tags() || c.wants("ec2:vpc")) {
            return Vec::new();
        }
        let f = c.ctx.store.read(|v| tags::facts(v, &scope, id));
        let mut keys = tag_keys(Some("ec2"), f.tags);
        keys.extend(f.vpc_id.map(|vpc| ("ec2:Vpc".to_owned(), arn("vpc", &vpc))));
        keys
    };
    for (member, value) in members {
        if !(member.ends_with("Id") || member.ends_with("Ids") || member == "Resources") {
            continue;
        }
        let ids: Vec<&str> = match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => continue,
        };
        for id in ids {
            if member == "ImageId" {
                add(
                    crate::partition::arn(region, "ec2", "", &format!("image/{id}")),
                    Vec::new(),
                );
            } else if let Some(kind) = tags::resource_type(id) {
                add(arn(kind, id), facts(id));
            }
        }
    }
    if let Some(name) = c.str("KeyName") {
        add(arn("key-pair", name), Vec::new());
    }
    // What the request makes, with the keys the reference gives those resources.
    let made = |key: &str, member: &str| -> Vec<(String, String)> {
        c.str(member)
            .map(|v| (key.to_owned(), v.to_owned()))
            .into_iter()
            .collect()
    };
    if c.op == "RunInstances" {
        add(
            arn("instance", "*"),
            made("ec2:InstanceType", "InstanceType"),
        );
    }
    if let Some(kind) = creates(c.op) {
        let keys = match c.op {
            "CreateVpcEndpoint" => made("ec2:VpceServiceName", "ServiceName"),
            _ => Vec::new(),
        };
        add(arn(kind, "*"), keys);
    }
    if needs.is_empty() {
        return c.default_access();
    }
    needs
}
