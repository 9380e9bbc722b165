//! Which resources an EC2 operation is authorized on, as the Service Authorization Reference
//! lists its resource types: `Describe*` and `Get*` actions on `*` (they support no
//! resource-level permissions); any other action on each resource its request names by id
//! (`VpcId`, `GroupId`, `SecurityGroupIds`, `Resources`, ...: `arn:aws:ec2:<region>:<account>:
//! <type>/<id>`, the type read off the id's prefix), the key pair it names, the image it
//! launches (`arn:aws:ec2:<region>::image/<id>`) and the resources it creates (`<type>/*`).
//! Every one of them must be allowed, as AWS requires; an existing resource's tags are its
//! `aws:ResourceTag/…` and `ec2:ResourceTag/…`.

use super::tags;
use crate::authz::{Access, Call};
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
        _ => return None,
    })
}

/// What EC2 operation `c` needs ([`crate::authz::Iam::access`]).
pub fn access(c: &Call<'_>) -> Vec<Access> {
    if c.op.starts_with("Describe") || c.op.starts_with("Get") {
        return c.default_access();
    }
    let (region, account) = (c.ctx.region.as_str(), c.ctx.account());
    let scope = c.ctx.scope();
    let action = c.action();
    let mut needs: Vec<Access> = Vec::new();
    let mut add = |resource: String, tags: Vec<(String, String)>| {
        if !needs.iter().any(|n| n.resources[0] == resource) {
            needs.push(Access {
                tags,
                ..Access::new(action.clone(), resource)
            });
        }
    };
    let Value::Object(members) = c.input else {
        return c.default_access();
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
                add(format!("arn:aws:ec2:{region}::image/{id}"), Vec::new());
            } else if let Some(kind) = tags::resource_type(id) {
                let found = match c.wants_tags {
                    true => c.ctx.store.read(|v| tags::tags_by_id(v, &scope, id)),
                    false => Vec::new(),
                };
                add(format!("arn:aws:ec2:{region}:{account}:{kind}/{id}"), found);
            }
        }
    }
    if let Some(name) = c.str("KeyName") {
        add(
            format!("arn:aws:ec2:{region}:{account}:key-pair/{name}"),
            Vec::new(),
        );
    }
    if c.op == "RunInstances" {
        add(
            format!("arn:aws:ec2:{region}:{account}:instance/*"),
            Vec::new(),
        );
    }
    if let Some(kind) = creates(c.op) {
        add(
            format!("arn:aws:ec2:{region}:{account}:{kind}/*"),
            Vec::new(),
        );
    }
    if needs.is_empty() {
        return c.default_access();
    }
    needs
}
