//! The resource types a stack can hold. Each is a handful of calls to the services' own
//! operations (`crate::call`, authorized as the stack's caller), never a second implementation:
//! a property CloudFormation passes on is checked by the operation AWS would call, and fails
//! with that operation's error.

use super::call;
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
        self.get(k).and_then(super::eval::scalar)
    }

    fn req(&self, k: &str) -> ApiResult<String> {
        self.str(k).ok_or_else(|| {
            ApiError::new(
                "ValidationError",
                format!(
                    "Properties validation failed for resource {} with message: #: required key [{k}] not found",
                    self.logical
                ),
            )
        })
    }

    fn strs(&self, k: &str) -> Vec<String> {
        match self.get(k) {
            Some(Value::Array(a)) => a.iter().filter_map(super::eval::scalar).collect(),
            Some(v) => super::eval::scalar(v).into_iter().collect(),
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
                let k = t.get("Key").and_then(super::eval::scalar);
                out.retain(|x| x.get("Key").and_then(Value::as_str) != k.as_deref());
                out.push(json!({"Key": k, "Value": t.get("Value").and_then(super::eval::scalar).unwrap_or_default()}));
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
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    (0..12)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
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

type Update = fn(&Ctx<'_>, &str, &Props<'_>, &Props<'_>) -> ApiResult<Option<String>>;

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
    call(ctx, "ec2", op, strip_nulls(input))
}

fn one(ctx: &Ctx<'_>, service: &str, op: &str, input: Value) -> ApiResult<Value> {
    call(ctx, service, op, strip_nulls(input))
}

/// Every type Airlock creates, by CloudFormation name.
pub fn find(name: &str) -> Option<&'static Type> {
    TYPES.iter().find(|t| t.name == name)
}

/// The names of the supported types (the README's list).
pub fn names() -> impl Iterator<Item = &'static str> {
    TYPES.iter().map(|t| t.name)
}

static TYPES: &[Type] = &[
    Type {
        name: "AWS::EC2::VPC",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateVpc",
                json!({"CidrBlock": p.req("CidrBlock")?, "InstanceTenancy": p.str("InstanceTenancy"),
                       "TagSpecifications": p.tag_spec("vpc")}),
            )?;
            let id = id_at(&out, "/Vpc/VpcId")?;
            for attr in ["EnableDnsSupport", "EnableDnsHostnames"] {
                if let Some(v) = p.str(attr) {
                    ec2(
                        ctx,
                        "ModifyVpcAttribute",
                        json!({"VpcId": id, attr: {"Value": v == "true"}}),
                    )?;
                }
            }
            Ok(id)
        },
        ready: at_once,
        made: |ctx, id, _| {
            let vpc = ec2(ctx, "DescribeVpcs", json!({"VpcIds": [id]}))?;
            let sg = ec2(
                ctx,
                "DescribeSecurityGroups",
                json!({"Filters": [{"Name": "vpc-id", "Values": [id]}, {"Name": "group-name", "Values": ["default"]}]}),
            )?;
            let acl = ec2(
                ctx,
                "DescribeNetworkAcls",
                json!({"Filters": [{"Name": "vpc-id", "Values": [id]}, {"Name": "default", "Values": ["true"]}]}),
            )?;
            let v = ptr(&vpc, "/Vpcs/0");
            let assoc: Vec<Value> = ptr(v, "/CidrBlockAssociationSet")
                .as_array()
                .map(|a| a.iter().map(|x| ptr(x, "/AssociationId").clone()).collect())
                .unwrap_or_default();
            let v6: Vec<Value> = ptr(v, "/Ipv6CidrBlockAssociationSet")
                .as_array()
                .map(|a| a.iter().map(|x| ptr(x, "/Ipv6CidrBlock").clone()).collect())
                .unwrap_or_default();
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![
                    ("VpcId", json!(id)),
                    ("CidrBlock", ptr(v, "/CidrBlock").clone()),
                    ("CidrBlockAssociations", json!(assoc)),
                    ("Ipv6CidrBlocks", json!(v6)),
                    (
                        "DefaultSecurityGroup",
                        ptr(&sg, "/SecurityGroups/0/GroupId").clone(),
                    ),
                    (
                        "DefaultNetworkAcl",
                        ptr(&acl, "/NetworkAcls/0/NetworkAclId").clone(),
                    ),
                ]),
            })
        },
        delete: |ctx, id, _| ok_if_gone(ec2(ctx, "DeleteVpc", json!({"VpcId": id}))),
        gone: at_once,
        mutable: &["Tags", "EnableDnsSupport", "EnableDnsHostnames"],
        update: Some(update_vpc),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::Subnet",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateSubnet",
                json!({"VpcId": p.req("VpcId")?, "CidrBlock": p.str("CidrBlock"),
                       "AvailabilityZone": p.str("AvailabilityZone"),
                       "AvailabilityZoneId": p.str("AvailabilityZoneId"),
                       "Ipv6CidrBlock": p.str("Ipv6CidrBlock"),
                       "TagSpecifications": p.tag_spec("subnet")}),
            )?;
            let id = id_at(&out, "/Subnet/SubnetId")?;
            if let Some(v) = p.str("MapPublicIpOnLaunch") {
                ec2(
                    ctx,
                    "ModifySubnetAttribute",
                    json!({"SubnetId": id, "MapPublicIpOnLaunch": {"Value": v == "true"}}),
                )?;
            }
            Ok(id)
        },
        ready: at_once,
        made: |ctx, id, _| {
            let out = ec2(ctx, "DescribeSubnets", json!({"SubnetIds": [id]}))?;
            let s = ptr(&out, "/Subnets/0");
            let acl = ec2(
                ctx,
                "DescribeNetworkAcls",
                json!({"Filters": [{"Name": "association.subnet-id", "Values": [id]}]}),
            )?;
            let assoc = ptr(&acl, "/NetworkAcls/0/Associations")
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .find(|x| ptr(x, "/SubnetId").as_str() == Some(id))
                        .map(|x| ptr(x, "/NetworkAclAssociationId").clone())
                })
                .unwrap_or(Value::Null);
            let v6: Vec<Value> = ptr(s, "/Ipv6CidrBlockAssociationSet")
                .as_array()
                .map(|a| a.iter().map(|x| ptr(x, "/Ipv6CidrBlock").clone()).collect())
                .unwrap_or_default();
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![
                    ("SubnetId", json!(id)),
                    ("AvailabilityZone", ptr(s, "/AvailabilityZone").clone()),
                    ("AvailabilityZoneId", ptr(s, "/AvailabilityZoneId").clone()),
                    ("CidrBlock", ptr(s, "/CidrBlock").clone()),
                    ("VpcId", ptr(s, "/VpcId").clone()),
                    ("NetworkAclAssociationId", assoc),
                    ("Ipv6CidrBlocks", json!(v6)),
                ]),
            })
        },
        delete: |ctx, id, _| ok_if_gone(ec2(ctx, "DeleteSubnet", json!({"SubnetId": id}))),
        gone: at_once,
        mutable: &["Tags", "MapPublicIpOnLaunch"],
        update: Some(update_subnet),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::InternetGateway",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateInternetGateway",
                json!({"TagSpecifications": p.tag_spec("internet-gateway")}),
            )?;
            id_at(&out, "/InternetGateway/InternetGatewayId")
        },
        ready: at_once,
        made: |_, id, _| {
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![("InternetGatewayId", json!(id))]),
            })
        },
        delete: |ctx, id, _| {
            ok_if_gone(ec2(
                ctx,
                "DeleteInternetGateway",
                json!({"InternetGatewayId": id}),
            ))
        },
        gone: at_once,
        mutable: &["Tags"],
        update: Some(update_tags),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::VPCGatewayAttachment",
        create: |ctx, p| {
            let vpc = p.req("VpcId")?;
            let igw = p.str("InternetGatewayId").ok_or_else(|| {
                ApiError::new(
                    "ValidationError",
                    "Airlock attaches internet gateways only (VpnGatewayId is not emulated)",
                )
            })?;
            ec2(
                ctx,
                "AttachInternetGateway",
                json!({"InternetGatewayId": igw, "VpcId": vpc}),
            )?;
            Ok(format!("IGW|{vpc}"))
        },
        ready: at_once,
        made: reference_only,
        delete: |ctx, _, p| {
            ok_if_gone(ec2(
                ctx,
                "DetachInternetGateway",
                json!({"InternetGatewayId": p.str("InternetGatewayId"), "VpcId": p.str("VpcId")}),
            ))
        },
        gone: at_once,
        ..FIXED
    },
    Type {
        name: "AWS::EC2::EIP",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "AllocateAddress",
                json!({"Domain": "vpc", "TagSpecifications": p.tag_spec("elastic-ip")}),
            )?;
            let alloc = id_at(&out, "/AllocationId")?;
            if let Some(i) = p.str("InstanceId") {
                ec2(
                    ctx,
                    "AssociateAddress",
                    json!({"AllocationId": alloc, "InstanceId": i}),
                )?;
            }
            Ok(alloc)
        },
        ready: at_once,
        made: |ctx, alloc, _| {
            let out = ec2(ctx, "DescribeAddresses", json!({"AllocationIds": [alloc]}))?;
            let ip = ptr(&out, "/Addresses/0/PublicIp").clone();
            Ok(Made {
                reference: ip.clone(),
                attrs: attrs(vec![("AllocationId", json!(alloc)), ("PublicIp", ip)]),
            })
        },
        delete: |ctx, alloc, _| {
            let out = ec2(ctx, "DescribeAddresses", json!({"AllocationIds": [alloc]}));
            if let Ok(out) = &out {
                if let Some(a) = ptr(out, "/Addresses/0/AssociationId").as_str() {
                    ok_if_gone(ec2(ctx, "DisassociateAddress", json!({"AssociationId": a})))?;
                }
            }
            ok_if_gone(ec2(ctx, "ReleaseAddress", json!({"AllocationId": alloc})))
        },
        gone: at_once,
        mutable: &["Tags"],
        update: Some(update_tags),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::NatGateway",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateNatGateway",
                json!({"SubnetId": p.req("SubnetId")?, "AllocationId": p.str("AllocationId"),
                       "ConnectivityType": p.str("ConnectivityType"),
                       "PrivateIpAddress": p.str("PrivateIpAddress"),
                       "TagSpecifications": p.tag_spec("natgateway")}),
            )?;
            id_at(&out, "/NatGateway/NatGatewayId")
        },
        ready: |ctx, id| {
            let out = ec2(ctx, "DescribeNatGateways", json!({"NatGatewayIds": [id]}))?;
            match ptr(&out, "/NatGateways/0/State").as_str() {
                Some("available") => Ok(true),
                Some("failed") => Err(ApiError::new(
                    ptr(&out, "/NatGateways/0/FailureCode")
                        .as_str()
                        .unwrap_or("NatGatewayFailed"),
                    ptr(&out, "/NatGateways/0/FailureMessage")
                        .as_str()
                        .unwrap_or("NAT gateway failed")
                        .to_string(),
                )),
                _ => Ok(false),
            }
        },
        made: |_, id, _| {
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![("NatGatewayId", json!(id))]),
            })
        },
        delete: |ctx, id, _| ok_if_gone(ec2(ctx, "DeleteNatGateway", json!({"NatGatewayId": id}))),
        gone: |ctx, id| {
            let out = ec2(ctx, "DescribeNatGateways", json!({"NatGatewayIds": [id]}));
            Ok(match out {
                Ok(out) => matches!(
                    ptr(&out, "/NatGateways/0/State").as_str(),
                    None | Some("deleted")
                ),
                Err(e) => is_not_found(&e),
            })
        },
        mutable: &["Tags"],
        update: Some(update_tags),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::RouteTable",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateRouteTable",
                json!({"VpcId": p.req("VpcId")?, "TagSpecifications": p.tag_spec("route-table")}),
            )?;
            id_at(&out, "/RouteTable/RouteTableId")
        },
        ready: at_once,
        made: |_, id, _| {
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![("RouteTableId", json!(id))]),
            })
        },
        delete: |ctx, id, _| ok_if_gone(ec2(ctx, "DeleteRouteTable", json!({"RouteTableId": id}))),
        gone: at_once,
        mutable: &["Tags"],
        update: Some(update_tags),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::Route",
        create: |ctx, p| {
            let table = p.req("RouteTableId")?;
            ec2(ctx, "CreateRoute", route_input(p, ROUTE_MEMBERS))?;
            let dest = p
                .str("DestinationCidrBlock")
                .or_else(|| p.str("DestinationIpv6CidrBlock"))
                .or_else(|| p.str("DestinationPrefixListId"))
                .unwrap_or_default();
            Ok(format!("{table}|{dest}"))
        },
        ready: at_once,
        made: reference_only,
        delete: |ctx, _, p| {
            ok_if_gone(ec2(
                ctx,
                "DeleteRoute",
                route_input(p, ROUTE_MEMBERS.split_at(3).0),
            ))
        },
        gone: at_once,
        // A route's targets change in place (ReplaceRoute); its destination does not.
        mutable: ROUTE_MEMBERS.split_at(3).1,
        update: Some(update_route),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::SubnetRouteTableAssociation",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "AssociateRouteTable",
                json!({"RouteTableId": p.req("RouteTableId")?, "SubnetId": p.req("SubnetId")?}),
            )?;
            id_at(&out, "/AssociationId")
        },
        ready: at_once,
        made: |_, id, _| {
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![("Id", json!(id))]),
            })
        },
        delete: |ctx, id, _| {
            ok_if_gone(ec2(
                ctx,
                "DisassociateRouteTable",
                json!({"AssociationId": id}),
            ))
        },
        gone: at_once,
        mutable: &["RouteTableId"],
        update: Some(update_association),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::SecurityGroup",
        create: |ctx, p| {
            let name = p.str("GroupName").unwrap_or_else(|| p.generated(255));
            let out = ec2(
                ctx,
                "CreateSecurityGroup",
                json!({"GroupName": name, "Description": p.req("GroupDescription")?,
                       "VpcId": p.str("VpcId"), "TagSpecifications": p.tag_spec("security-group")}),
            )?;
            let id = id_at(&out, "/GroupId")?;
            let ingress = permissions(p.get("SecurityGroupIngress"), &id, false);
            if !ingress.is_empty() {
                ec2(
                    ctx,
                    "AuthorizeSecurityGroupIngress",
                    json!({"GroupId": id, "IpPermissions": ingress}),
                )?;
            }
            if let Some(rules) = p.get("SecurityGroupEgress") {
                let egress = permissions(Some(rules), &id, true);
                ec2(
                    ctx,
                    "RevokeSecurityGroupEgress",
                    json!({"GroupId": id, "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}),
                )?;
                if !egress.is_empty() {
                    ec2(
                        ctx,
                        "AuthorizeSecurityGroupEgress",
                        json!({"GroupId": id, "IpPermissions": egress}),
                    )?;
                }
            }
            Ok(id)
        },
        ready: at_once,
        made: |ctx, id, _| {
            let out = ec2(ctx, "DescribeSecurityGroups", json!({"GroupIds": [id]}))?;
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![
                    ("GroupId", json!(id)),
                    ("VpcId", ptr(&out, "/SecurityGroups/0/VpcId").clone()),
                ]),
            })
        },
        delete: |ctx, id, _| ok_if_gone(ec2(ctx, "DeleteSecurityGroup", json!({"GroupId": id}))),
        gone: at_once,
        mutable: &["Tags", "SecurityGroupIngress", "SecurityGroupEgress"],
        update: Some(update_group),
        name_prop: Some("GroupName"),
    },
    Type {
        name: "AWS::EC2::SecurityGroupIngress",
        create: |ctx, p| rule(ctx, p, false),
        ready: at_once,
        made: |_, id, _| {
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![("Id", json!(id))]),
            })
        },
        delete: |ctx, id, p| {
            ok_if_gone(ec2(
                ctx,
                "RevokeSecurityGroupIngress",
                json!({"GroupId": p.str("GroupId"), "SecurityGroupRuleIds": [id]}),
            ))
        },
        gone: at_once,
        ..FIXED
    },
    Type {
        name: "AWS::EC2::SecurityGroupEgress",
        create: |ctx, p| rule(ctx, p, true),
        ready: at_once,
        made: |_, id, _| {
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![("Id", json!(id))]),
            })
        },
        delete: |ctx, id, p| {
            ok_if_gone(ec2(
                ctx,
                "RevokeSecurityGroupEgress",
                json!({"GroupId": p.str("GroupId"), "SecurityGroupRuleIds": [id]}),
            ))
        },
        gone: at_once,
        ..FIXED
    },
    Type {
        name: "AWS::EC2::VPCEndpoint",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateVpcEndpoint",
                json!({"VpcId": p.req("VpcId")?, "ServiceName": p.req("ServiceName")?,
                       "VpcEndpointType": p.str("VpcEndpointType"),
                       "SubnetIds": p.get("SubnetIds"), "SecurityGroupIds": p.get("SecurityGroupIds"),
                       "RouteTableIds": p.get("RouteTableIds"),
                       "PrivateDnsEnabled": p.str("PrivateDnsEnabled").map(|v| v == "true"),
                       "PolicyDocument": document(p.get("PolicyDocument")),
                       "TagSpecifications": p.tag_spec("vpc-endpoint")}),
            )?;
            id_at(&out, "/VpcEndpoint/VpcEndpointId")
        },
        ready: |ctx, id| {
            let out = ec2(ctx, "DescribeVpcEndpoints", json!({"VpcEndpointIds": [id]}))?;
            match ptr(&out, "/VpcEndpoints/0/State").as_str() {
                Some("available") => Ok(true),
                Some("failed") | Some("rejected") => Err(ApiError::new(
                    "VpcEndpointFailed",
                    format!("VPC endpoint {id} failed"),
                )),
                _ => Ok(false),
            }
        },
        made: |ctx, id, _| {
            let out = ec2(ctx, "DescribeVpcEndpoints", json!({"VpcEndpointIds": [id]}))?;
            let e = ptr(&out, "/VpcEndpoints/0");
            let dns: Vec<Value> = ptr(e, "/DnsEntries")
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|d| {
                            json!(format!(
                                "{}:{}",
                                ptr(d, "/HostedZoneId").as_str().unwrap_or_default(),
                                ptr(d, "/DnsName").as_str().unwrap_or_default()
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![
                    ("Id", json!(id)),
                    ("CreationTimestamp", ptr(e, "/CreationTimestamp").clone()),
                    ("DnsEntries", json!(dns)),
                    (
                        "NetworkInterfaceIds",
                        ptr(e, "/NetworkInterfaceIds").clone(),
                    ),
                ]),
            })
        },
        delete: |ctx, id, _| {
            ok_if_gone(ec2(
                ctx,
                "DeleteVpcEndpoints",
                json!({"VpcEndpointIds": [id]}),
            ))
        },
        gone: |ctx, id| {
            Ok(
                match ec2(ctx, "DescribeVpcEndpoints", json!({"VpcEndpointIds": [id]})) {
                    Ok(out) => matches!(
                        ptr(&out, "/VpcEndpoints/0/State").as_str(),
                        None | Some("deleted")
                    ),
                    Err(e) => is_not_found(&e),
                },
            )
        },
        mutable: &["Tags", "PolicyDocument"],
        update: Some(update_endpoint),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::KeyPair",
        create: |ctx, p| {
            let name = p.req("KeyName")?;
            let out = match p.str("PublicKeyMaterial") {
                Some(material) => {
                    use base64::Engine as _;
                    ec2(
                        ctx,
                        "ImportKeyPair",
                        json!({"KeyName": name,
                               "PublicKeyMaterial": base64::engine::general_purpose::STANDARD.encode(material),
                               "TagSpecifications": p.tag_spec("key-pair")}),
                    )?
                }
                None => {
                    let out = ec2(
                        ctx,
                        "CreateKeyPair",
                        json!({"KeyName": name, "KeyType": p.str("KeyType"),
                               "KeyFormat": p.str("KeyFormat"),
                               "TagSpecifications": p.tag_spec("key-pair")}),
                    )?;
                    // CloudFormation keeps a new key's private half in Parameter Store.
                    let id = id_at(&out, "/KeyPairId")?;
                    one(
                        ctx,
                        "ssm",
                        "PutParameter",
                        json!({"Name": format!("/ec2/keypair/{id}"), "Type": "SecureString",
                               "Value": ptr(&out, "/KeyMaterial"), "Overwrite": true}),
                    )?;
                    out
                }
            };
            id_at(&out, "/KeyName")
        },
        ready: at_once,
        made: |ctx, name, _| {
            let out = ec2(ctx, "DescribeKeyPairs", json!({"KeyNames": [name]}))?;
            Ok(Made {
                reference: json!(name),
                attrs: attrs(vec![
                    ("KeyPairId", ptr(&out, "/KeyPairs/0/KeyPairId").clone()),
                    (
                        "KeyFingerprint",
                        ptr(&out, "/KeyPairs/0/KeyFingerprint").clone(),
                    ),
                ]),
            })
        },
        delete: |ctx, name, _| {
            if let Ok(out) = ec2(ctx, "DescribeKeyPairs", json!({"KeyNames": [name]})) {
                if let Some(id) = ptr(&out, "/KeyPairs/0/KeyPairId").as_str() {
                    ok_if_gone(one(
                        ctx,
                        "ssm",
                        "DeleteParameter",
                        json!({"Name": format!("/ec2/keypair/{id}")}),
                    ))?;
                }
            }
            ok_if_gone(ec2(ctx, "DeleteKeyPair", json!({"KeyName": name})))
        },
        gone: at_once,
        mutable: &[],
        name_prop: Some("KeyName"),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::Instance",
        create: |ctx, p| {
            let profile = p.str("IamInstanceProfile").map(|n| {
                if n.starts_with("arn:") {
                    json!({"Arn": n})
                } else {
                    json!({"Name": n})
                }
            });
            let out = ec2(
                ctx,
                "RunInstances",
                json!({"ImageId": p.req("ImageId")?, "InstanceType": p.str("InstanceType"),
                       "KeyName": p.str("KeyName"), "SubnetId": p.str("SubnetId"),
                       "SecurityGroupIds": p.get("SecurityGroupIds"),
                       "SecurityGroups": p.get("SecurityGroups"),
                       "PrivateIpAddress": p.str("PrivateIpAddress"),
                       "NetworkInterfaces": p.get("NetworkInterfaces"),
                       "IamInstanceProfile": profile, "UserData": p.str("UserData"),
                       "Placement": p.str("AvailabilityZone").map(|z| json!({"AvailabilityZone": z})),
                       "MinCount": 1, "MaxCount": 1,
                       "TagSpecifications": p.tag_spec("instance")}),
            )?;
            id_at(&out, "/Instances/0/InstanceId")
        },
        ready: |ctx, id| {
            let out = ec2(ctx, "DescribeInstances", json!({"InstanceIds": [id]}))?;
            match ptr(&out, "/Reservations/0/Instances/0/State/Name").as_str() {
                Some("running") => Ok(true),
                Some("pending") => Ok(false),
                other => Err(ApiError::new(
                    "InstanceNotRunning",
                    format!(
                        "Instance {id} did not stabilize (state {})",
                        other.unwrap_or("unknown")
                    ),
                )),
            }
        },
        made: |ctx, id, _| {
            let out = ec2(ctx, "DescribeInstances", json!({"InstanceIds": [id]}))?;
            let i = ptr(&out, "/Reservations/0/Instances/0");
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![
                    ("InstanceId", json!(id)),
                    (
                        "AvailabilityZone",
                        ptr(i, "/Placement/AvailabilityZone").clone(),
                    ),
                    ("PrivateIp", ptr(i, "/PrivateIpAddress").clone()),
                    ("PrivateDnsName", ptr(i, "/PrivateDnsName").clone()),
                    ("PublicIp", ptr(i, "/PublicIpAddress").clone()),
                    ("PublicDnsName", ptr(i, "/PublicDnsName").clone()),
                    ("VpcId", ptr(i, "/VpcId").clone()),
                ]),
            })
        },
        delete: |ctx, id, _| {
            ok_if_gone(ec2(ctx, "TerminateInstances", json!({"InstanceIds": [id]})))
        },
        gone: |ctx, id| {
            Ok(
                match ec2(ctx, "DescribeInstances", json!({"InstanceIds": [id]})) {
                    Ok(out) => matches!(
                        ptr(&out, "/Reservations/0/Instances/0/State/Name").as_str(),
                        None | Some("terminated")
                    ),
                    Err(e) => is_not_found(&e),
                },
            )
        },
        mutable: &["Tags"],
        update: Some(update_tags),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::NetworkInterface",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateNetworkInterface",
                json!({"SubnetId": p.req("SubnetId")?, "Description": p.str("Description"),
                       "Groups": p.get("GroupSet"), "PrivateIpAddress": p.str("PrivateIpAddress"),
                       "PrivateIpAddresses": p.get("PrivateIpAddresses"),
                       "SecondaryPrivateIpAddressCount": p.str("SecondaryPrivateIpAddressCount"),
                       "Ipv6AddressCount": p.str("Ipv6AddressCount"),
                       "InterfaceType": p.str("InterfaceType"),
                       "TagSpecifications": p.tag_spec("network-interface")}),
            )?;
            let id = id_at(&out, "/NetworkInterface/NetworkInterfaceId")?;
            if p.str("SourceDestCheck").as_deref() == Some("false") {
                ec2(
                    ctx,
                    "ModifyNetworkInterfaceAttribute",
                    json!({"NetworkInterfaceId": id, "SourceDestCheck": {"Value": false}}),
                )?;
            }
            Ok(id)
        },
        made: |ctx, id, _| {
            let out = ec2(
                ctx,
                "DescribeNetworkInterfaces",
                json!({"NetworkInterfaceIds": [id]}),
            )?;
            let n = ptr(&out, "/NetworkInterfaces/0");
            let secondary: Vec<Value> = ptr(n, "/PrivateIpAddresses")
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|x| ptr(x, "/Primary").as_bool() != Some(true))
                        .map(|x| ptr(x, "/PrivateIpAddress").clone())
                        .collect()
                })
                .unwrap_or_default();
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![
                    ("Id", json!(id)),
                    (
                        "PrimaryPrivateIpAddress",
                        ptr(n, "/PrivateIpAddress").clone(),
                    ),
                    ("SecondaryPrivateIpAddresses", json!(secondary)),
                    ("VpcId", ptr(n, "/VpcId").clone()),
                ]),
            })
        },
        delete: |ctx, id, _| {
            ok_if_gone(ec2(
                ctx,
                "DeleteNetworkInterface",
                json!({"NetworkInterfaceId": id}),
            ))
        },
        mutable: &["Tags", "GroupSet", "Description", "SourceDestCheck"],
        update: Some(update_interface),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::NetworkAcl",
        create: |ctx, p| {
            let out = ec2(
                ctx,
                "CreateNetworkAcl",
                json!({"VpcId": p.req("VpcId")?, "TagSpecifications": p.tag_spec("network-acl")}),
            )?;
            id_at(&out, "/NetworkAcl/NetworkAclId")
        },
        made: |_, id, _| {
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![("Id", json!(id))]),
            })
        },
        delete: |ctx, id, _| ok_if_gone(ec2(ctx, "DeleteNetworkAcl", json!({"NetworkAclId": id}))),
        mutable: &["Tags"],
        update: Some(update_tags),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::NetworkAclEntry",
        create: |ctx, p| {
            let acl = p.req("NetworkAclId")?;
            let egress = p.str("Egress").as_deref() == Some("true");
            let rule = p.req("RuleNumber")?;
            ec2(
                ctx,
                "CreateNetworkAclEntry",
                acl_entry(p, &acl, egress, &rule)?,
            )?;
            Ok(format!(
                "{acl}|{}|{rule}",
                if egress { "egress" } else { "ingress" }
            ))
        },
        made: |_, id, _| {
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![("Id", json!(id))]),
            })
        },
        delete: |ctx, _, p| {
            ok_if_gone(ec2(
                ctx,
                "DeleteNetworkAclEntry",
                json!({"NetworkAclId": p.str("NetworkAclId"), "RuleNumber": p.str("RuleNumber"),
                       "Egress": p.str("Egress").as_deref() == Some("true")}),
            ))
        },
        mutable: &[
            "CidrBlock",
            "Ipv6CidrBlock",
            "Protocol",
            "RuleAction",
            "PortRange",
            "Icmp",
        ],
        update: Some(|ctx, _, _, p| {
            let acl = p.req("NetworkAclId")?;
            let egress = p.str("Egress").as_deref() == Some("true");
            let rule = p.req("RuleNumber")?;
            ec2(
                ctx,
                "ReplaceNetworkAclEntry",
                acl_entry(p, &acl, egress, &rule)?,
            )?;
            Ok(None)
        }),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::SubnetNetworkAclAssociation",
        create: |ctx, p| {
            let subnet = p.req("SubnetId")?;
            let current = subnet_acl_association(ctx, &subnet)?;
            let out = ec2(
                ctx,
                "ReplaceNetworkAclAssociation",
                json!({"AssociationId": current, "NetworkAclId": p.req("NetworkAclId")?}),
            )?;
            id_at(&out, "/NewAssociationId")
        },
        made: |_, id, _| {
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![("AssociationId", json!(id))]),
            })
        },
        // Deleting the association gives the subnet back to its VPC's default ACL.
        delete: |ctx, _, p| {
            let Some(subnet) = p.str("SubnetId") else {
                return Ok(());
            };
            let out = ec2(ctx, "DescribeSubnets", json!({"SubnetIds": [subnet]}));
            let vpc = match out {
                Ok(v) => ptr(&v, "/Subnets/0/VpcId").clone(),
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) => return Err(e),
            };
            let default = ec2(
                ctx,
                "DescribeNetworkAcls",
                json!({"Filters": [{"Name": "vpc-id", "Values": [vpc]}, {"Name": "default", "Values": ["true"]}]}),
            )?;
            let current = subnet_acl_association(ctx, &subnet)?;
            ok_if_gone(ec2(
                ctx,
                "ReplaceNetworkAclAssociation",
                json!({"AssociationId": current, "NetworkAclId": ptr(&default, "/NetworkAcls/0/NetworkAclId")}),
            ))
        },
        ..FIXED
    },
    Type {
        name: "AWS::EC2::DHCPOptions",
        create: |ctx, p| {
            let mut configs = Vec::new();
            for (prop, key) in [
                ("DomainName", "domain-name"),
                ("DomainNameServers", "domain-name-servers"),
                ("NtpServers", "ntp-servers"),
                ("NetbiosNameServers", "netbios-name-servers"),
                ("NetbiosNodeType", "netbios-node-type"),
            ] {
                let values = p.strs(prop);
                if !values.is_empty() {
                    configs.push(json!({"Key": key, "Values": values}));
                }
            }
            let out = ec2(
                ctx,
                "CreateDhcpOptions",
                json!({"DhcpConfigurations": configs, "TagSpecifications": p.tag_spec("dhcp-options")}),
            )?;
            id_at(&out, "/DhcpOptions/DhcpOptionsId")
        },
        made: |_, id, _| {
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![("DhcpOptionsId", json!(id))]),
            })
        },
        delete: |ctx, id, _| {
            ok_if_gone(ec2(ctx, "DeleteDhcpOptions", json!({"DhcpOptionsId": id})))
        },
        mutable: &["Tags"],
        update: Some(update_tags),
        ..FIXED
    },
    Type {
        name: "AWS::EC2::VPCDHCPOptionsAssociation",
        create: |ctx, p| {
            let (options, vpc) = (p.req("DhcpOptionsId")?, p.req("VpcId")?);
            ec2(
                ctx,
                "AssociateDhcpOptions",
                json!({"DhcpOptionsId": options, "VpcId": vpc}),
            )?;
            Ok(format!("{options}|{vpc}"))
        },
        delete: |ctx, _, p| {
            ok_if_gone(ec2(
                ctx,
                "AssociateDhcpOptions",
                json!({"DhcpOptionsId": "default", "VpcId": p.str("VpcId")}),
            ))
        },
        mutable: &["DhcpOptionsId"],
        update: Some(|ctx, _, _, p| {
            let (options, vpc) = (p.req("DhcpOptionsId")?, p.req("VpcId")?);
            ec2(
                ctx,
                "AssociateDhcpOptions",
                json!({"DhcpOptionsId": options, "VpcId": vpc}),
            )?;
            Ok(Some(format!("{options}|{vpc}")))
        }),
        ..FIXED
    },
    Type {
        name: "AWS::IAM::Role",
        create: |ctx, p| {
            let name = p.str("RoleName").unwrap_or_else(|| p.generated(64));
            one(
                ctx,
                "iam",
                "CreateRole",
                json!({"RoleName": name, "Path": p.str("Path"),
                       "AssumeRolePolicyDocument": document(p.get("AssumeRolePolicyDocument")),
                       "Description": p.str("Description"),
                       "MaxSessionDuration": p.str("MaxSessionDuration"),
                       "PermissionsBoundary": p.str("PermissionsBoundary"),
                       "Tags": nonempty(p.tag_list())}),
            )?;
            for arn in p.strs("ManagedPolicyArns") {
                one(
                    ctx,
                    "iam",
                    "AttachRolePolicy",
                    json!({"RoleName": name, "PolicyArn": arn}),
                )?;
            }
            inline_policies(ctx, p, "PutRolePolicy", "RoleName", &name)?;
            Ok(name)
        },
        ready: at_once,
        made: |ctx, name, _| {
            let out = one(ctx, "iam", "GetRole", json!({"RoleName": name}))?;
            Ok(Made {
                reference: json!(name),
                attrs: attrs(vec![
                    ("Arn", ptr(&out, "/Role/Arn").clone()),
                    ("RoleId", ptr(&out, "/Role/RoleId").clone()),
                ]),
            })
        },
        delete: |ctx, name, _| {
            empty_holder(ctx, "Role", name)?;
            ok_if_gone(one(ctx, "iam", "DeleteRole", json!({"RoleName": name})))
        },
        gone: at_once,
        mutable: &[
            "Policies",
            "ManagedPolicyArns",
            "AssumeRolePolicyDocument",
            "Description",
            "MaxSessionDuration",
        ],
        update: Some(update_role),
        name_prop: Some("RoleName"),
    },
    Type {
        name: "AWS::IAM::User",
        create: |ctx, p| {
            let name = p.str("UserName").unwrap_or_else(|| p.generated(64));
            one(
                ctx,
                "iam",
                "CreateUser",
                json!({"UserName": name, "Path": p.str("Path"),
                       "PermissionsBoundary": p.str("PermissionsBoundary"),
                       "Tags": nonempty(p.tag_list())}),
            )?;
            for arn in p.strs("ManagedPolicyArns") {
                one(
                    ctx,
                    "iam",
                    "AttachUserPolicy",
                    json!({"UserName": name, "PolicyArn": arn}),
                )?;
            }
            for g in p.strs("Groups") {
                one(
                    ctx,
                    "iam",
                    "AddUserToGroup",
                    json!({"UserName": name, "GroupName": g}),
                )?;
            }
            inline_policies(ctx, p, "PutUserPolicy", "UserName", &name)?;
            Ok(name)
        },
        ready: at_once,
        made: |ctx, name, _| {
            let out = one(ctx, "iam", "GetUser", json!({"UserName": name}))?;
            Ok(Made {
                reference: json!(name),
                attrs: attrs(vec![("Arn", ptr(&out, "/User/Arn").clone())]),
            })
        },
        delete: |ctx, name, p| {
            for g in p.strs("Groups") {
                ok_if_gone(one(
                    ctx,
                    "iam",
                    "RemoveUserFromGroup",
                    json!({"UserName": name, "GroupName": g}),
                ))?;
            }
            empty_holder(ctx, "User", name)?;
            ok_if_gone(one(ctx, "iam", "DeleteUser", json!({"UserName": name})))
        },
        gone: at_once,
        mutable: &[],
        name_prop: Some("UserName"),
        ..FIXED
    },
    Type {
        name: "AWS::IAM::AccessKey",
        create: |ctx, p| {
            let out = one(
                ctx,
                "iam",
                "CreateAccessKey",
                json!({"UserName": p.req("UserName")?}),
            )?;
            let id = id_at(&out, "/AccessKey/AccessKeyId")?;
            // The secret is shown once, as AWS shows it: kept for `Fn::GetAtt` only.
            SECRETS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone(), ptr(&out, "/AccessKey/SecretAccessKey").clone());
            Ok(id)
        },
        ready: at_once,
        made: |_, id, _| {
            let secret = SECRETS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(id)
                .unwrap_or(Value::Null);
            Ok(Made {
                reference: json!(id),
                attrs: attrs(vec![("SecretAccessKey", secret)]),
            })
        },
        delete: |ctx, id, p| {
            ok_if_gone(one(
                ctx,
                "iam",
                "DeleteAccessKey",
                json!({"UserName": p.str("UserName"), "AccessKeyId": id}),
            ))
        },
        gone: at_once,
        ..FIXED
    },
    Type {
        name: "AWS::IAM::Policy",
        create: |ctx, p| {
            let name = p.req("PolicyName")?;
            let doc = document(p.get("PolicyDocument"));
            for (op, key, list) in [
                ("PutRolePolicy", "RoleName", "Roles"),
                ("PutUserPolicy", "UserName", "Users"),
                ("PutGroupPolicy", "GroupName", "Groups"),
            ] {
                for holder in p.strs(list) {
                    one(
                        ctx,
                        "iam",
                        op,
                        json!({key: holder, "PolicyName": name, "PolicyDocument": doc}),
                    )?;
                }
            }
            Ok(format!(
                "{}-{}",
                p.stack.chars().take(5).collect::<String>(),
                random_suffix()
            ))
        },
        ready: at_once,
        made: reference_only,
        delete: |ctx, _, p| {
            let name = p.str("PolicyName");
            for (op, key, list) in [
                ("DeleteRolePolicy", "RoleName", "Roles"),
                ("DeleteUserPolicy", "UserName", "Users"),
                ("DeleteGroupPolicy", "GroupName", "Groups"),
            ] {
                for holder in p.strs(list) {
                    ok_if_gone(one(
                        ctx,
                        "iam",
                        op,
                        json!({key: holder, "PolicyName": name}),
                    ))?;
                }
            }
            Ok(())
        },
        gone: at_once,
        mutable: &["PolicyDocument", "Roles", "Users", "Groups"],
        update: Some(update_policy),
        ..FIXED
    },
    Type {
        name: "AWS::IAM::ManagedPolicy",
        create: |ctx, p| {
            let name = p
                .str("ManagedPolicyName")
                .unwrap_or_else(|| p.generated(128));
            let out = one(
                ctx,
                "iam",
                "CreatePolicy",
                json!({"PolicyName": name, "Path": p.str("Path"),
                       "Description": p.str("Description"),
                       "PolicyDocument": document(p.get("PolicyDocument"))}),
            )?;
            let arn = id_at(&out, "/Policy/Arn")?;
            for (op, key, list) in [
                ("AttachRolePolicy", "RoleName", "Roles"),
                ("AttachUserPolicy", "UserName", "Users"),
                ("AttachGroupPolicy", "GroupName", "Groups"),
            ] {
                for holder in p.strs(list) {
                    one(ctx, "iam", op, json!({key: holder, "PolicyArn": arn}))?;
                }
            }
            Ok(arn)
        },
        ready: at_once,
        made: |ctx, arn, _| {
            let out = one(ctx, "iam", "GetPolicy", json!({"PolicyArn": arn}))?;
            Ok(Made {
                reference: json!(arn),
                attrs: attrs(vec![
                    ("PolicyArn", json!(arn)),
                    ("PolicyId", ptr(&out, "/Policy/PolicyId").clone()),
                    (
                        "DefaultVersionId",
                        ptr(&out, "/Policy/DefaultVersionId").clone(),
                    ),
                    (
                        "AttachmentCount",
                        ptr(&out, "/Policy/AttachmentCount").clone(),
                    ),
                    ("IsAttachable", ptr(&out, "/Policy/IsAttachable").clone()),
                ]),
            })
        },
        delete: |ctx, arn, p| {
            for (op, key, list) in [
                ("DetachRolePolicy", "RoleName", "Roles"),
                ("DetachUserPolicy", "UserName", "Users"),
                ("DetachGroupPolicy", "GroupName", "Groups"),
            ] {
                for holder in p.strs(list) {
                    ok_if_gone(one(ctx, "iam", op, json!({key: holder, "PolicyArn": arn})))?;
                }
            }
            ok_if_gone(one(ctx, "iam", "DeletePolicy", json!({"PolicyArn": arn})))
        },
        gone: at_once,
        mutable: &["PolicyDocument", "Roles", "Users", "Groups"],
        update: Some(update_managed_policy),
        name_prop: Some("ManagedPolicyName"),
    },
    Type {
        name: "AWS::IAM::InstanceProfile",
        create: |ctx, p| {
            let name = p
                .str("InstanceProfileName")
                .unwrap_or_else(|| p.generated(128));
            one(
                ctx,
                "iam",
                "CreateInstanceProfile",
                json!({"InstanceProfileName": name, "Path": p.str("Path")}),
            )?;
            for role in p.strs("Roles") {
                one(
                    ctx,
                    "iam",
                    "AddRoleToInstanceProfile",
                    json!({"InstanceProfileName": name, "RoleName": role}),
                )?;
            }
            Ok(name)
        },
        ready: at_once,
        made: |ctx, name, _| {
            let out = one(
                ctx,
                "iam",
                "GetInstanceProfile",
                json!({"InstanceProfileName": name}),
            )?;
            Ok(Made {
                reference: json!(name),
                attrs: attrs(vec![("Arn", ptr(&out, "/InstanceProfile/Arn").clone())]),
            })
        },
        delete: |ctx, name, p| {
            for role in p.strs("Roles") {
                ok_if_gone(one(
                    ctx,
                    "iam",
                    "RemoveRoleFromInstanceProfile",
                    json!({"InstanceProfileName": name, "RoleName": role}),
                ))?;
            }
            ok_if_gone(one(
                ctx,
                "iam",
                "DeleteInstanceProfile",
                json!({"InstanceProfileName": name}),
            ))
        },
        gone: at_once,
        mutable: &["Roles"],
        update: Some(update_profile),
        name_prop: Some("InstanceProfileName"),
    },
    Type {
        name: "AWS::S3::Bucket",
        create: |ctx, p| {
            let name = p
                .str("BucketName")
                .unwrap_or_else(|| p.generated(63).to_ascii_lowercase());
            let location = if ctx.region == "us-east-1" {
                Value::Null
            } else {
                json!({"LocationConstraint": ctx.region})
            };
            one(
                ctx,
                "s3",
                "CreateBucket",
                json!({"Bucket": name, "CreateBucketConfiguration": location}),
            )?;
            if let Some(v) = p.get("VersioningConfiguration") {
                one(
                    ctx,
                    "s3",
                    "PutBucketVersioning",
                    json!({"Bucket": name, "VersioningConfiguration": v}),
                )?;
            }
            if let Some(v) = p.get("PublicAccessBlockConfiguration") {
                one(
                    ctx,
                    "s3",
                    "PutPublicAccessBlock",
                    json!({"Bucket": name, "PublicAccessBlockConfiguration": v}),
                )?;
            }
            let tags = p.tag_list();
            if !tags.is_empty() {
                one(
                    ctx,
                    "s3",
                    "PutBucketTagging",
                    json!({"Bucket": name, "Tagging": {"TagSet": tags}}),
                )?;
            }
            Ok(name)
        },
        ready: at_once,
        made: |ctx, name, _| {
            let suffix = crate::partition::dns_suffix(&ctx.region);
            Ok(Made {
                reference: json!(name),
                attrs: attrs(vec![
                    (
                        "Arn",
                        json!(format!(
                            "arn:{}:s3:::{name}",
                            crate::partition::of(&ctx.region)
                        )),
                    ),
                    ("DomainName", json!(format!("{name}.s3.{suffix}"))),
                    (
                        "RegionalDomainName",
                        json!(format!("{name}.s3.{}.{suffix}", ctx.region)),
                    ),
                    (
                        "DualStackDomainName",
                        json!(format!("{name}.s3.dualstack.{}.{suffix}", ctx.region)),
                    ),
                    (
                        "WebsiteURL",
                        json!(format!("http://{name}.s3-website.{}.{suffix}", ctx.region)),
                    ),
                ]),
            })
        },
        delete: |ctx, name, _| ok_if_gone(one(ctx, "s3", "DeleteBucket", json!({"Bucket": name}))),
        gone: at_once,
        mutable: &[
            "VersioningConfiguration",
            "PublicAccessBlockConfiguration",
            "Tags",
        ],
        update: Some(update_bucket),
        name_prop: Some("BucketName"),
    },
    Type {
        name: "AWS::S3::BucketPolicy",
        create: |ctx, p| {
            let bucket = p.req("Bucket")?;
            one(
                ctx,
                "s3",
                "PutBucketPolicy",
                json!({"Bucket": bucket, "Policy": document(p.get("PolicyDocument"))}),
            )?;
            Ok(bucket)
        },
        ready: at_once,
        made: reference_only,
        delete: |ctx, bucket, _| {
            ok_if_gone(one(
                ctx,
                "s3",
                "DeleteBucketPolicy",
                json!({"Bucket": bucket}),
            ))
        },
        gone: at_once,
        mutable: &["PolicyDocument"],
        update: Some(update_bucket_policy),
        ..FIXED
    },
    Type {
        name: "AWS::SSM::Parameter",
        create: |ctx, p| {
            let name = p
                .str("Name")
                .unwrap_or_else(|| format!("CFN-{}-{}", p.logical, random_suffix()));
            let tags = p
                .get("Tags")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| json!({"Key": k, "Value": super::eval::scalar(v)}))
                        .collect::<Vec<_>>()
                })
                .filter(|t| !t.is_empty());
            one(
                ctx,
                "ssm",
                "PutParameter",
                json!({"Name": name, "Type": p.req("Type")?, "Value": p.req("Value")?,
                       "Description": p.str("Description"), "AllowedPattern": p.str("AllowedPattern"),
                       "Tier": p.str("Tier"), "DataType": p.str("DataType"), "Tags": tags}),
            )?;
            Ok(name)
        },
        ready: at_once,
        made: |ctx, name, _| {
            let out = one(ctx, "ssm", "GetParameter", json!({"Name": name}))?;
            Ok(Made {
                reference: json!(name),
                attrs: attrs(vec![
                    ("Type", ptr(&out, "/Parameter/Type").clone()),
                    ("Value", ptr(&out, "/Parameter/Value").clone()),
                ]),
            })
        },
        delete: |ctx, name, _| {
            ok_if_gone(one(ctx, "ssm", "DeleteParameter", json!({"Name": name})))
        },
        gone: at_once,
        mutable: &[
            "Value",
            "Description",
            "AllowedPattern",
            "Tier",
            "DataType",
            "Type",
        ],
        update: Some(update_parameter),
        name_prop: Some("Name"),
    },
    Type {
        name: "AWS::CertificateManager::Certificate",
        create: |ctx, p| {
            let out = one(
                ctx,
                "acm",
                "RequestCertificate",
                json!({"DomainName": p.req("DomainName")?,
                       "SubjectAlternativeNames": p.get("SubjectAlternativeNames"),
                       "ValidationMethod": p.str("ValidationMethod"),
                       "KeyAlgorithm": p.str("KeyAlgorithm"),
                       "Tags": nonempty(p.tag_list())}),
            )?;
            id_at(&out, "/CertificateArn")
        },
        ready: |ctx, arn| {
            let out = one(
                ctx,
                "acm",
                "DescribeCertificate",
                json!({"CertificateArn": arn}),
            )?;
            match ptr(&out, "/Certificate/Status").as_str() {
                Some("ISSUED") => Ok(true),
                Some("PENDING_VALIDATION") => Ok(false),
                other => Err(ApiError::new(
                    "CertificateNotIssued",
                    format!("Certificate {arn} is {}", other.unwrap_or("unknown")),
                )),
            }
        },
        made: reference_only,
        delete: |ctx, arn, _| {
            ok_if_gone(one(
                ctx,
                "acm",
                "DeleteCertificate",
                json!({"CertificateArn": arn}),
            ))
        },
        gone: at_once,
        ..FIXED
    },
    Type {
        name: "AWS::ElasticLoadBalancingV2::LoadBalancer",
        create: |ctx, p| {
            let name = p.str("Name").unwrap_or_else(|| p.generated(32));
            let out = one(
                ctx,
                "elbv2",
                "CreateLoadBalancer",
                json!({"Name": name, "Subnets": p.get("Subnets"),
                       "SubnetMappings": p.get("SubnetMappings"),
                       "SecurityGroups": p.get("SecurityGroups"), "Scheme": p.str("Scheme"),
                       "Type": p.str("Type"), "IpAddressType": p.str("IpAddressType"),
                       "Tags": nonempty(p.tag_list())}),
            )?;
            let arn = id_at(&out, "/LoadBalancers/0/LoadBalancerArn")?;
            if let Some(Value::Array(a)) = p.get("LoadBalancerAttributes") {
                let attributes: Vec<Value> = a
                    .iter()
                    .map(|x| json!({"Key": x.get("Key"), "Value": x.get("Value").and_then(super::eval::scalar)}))
                    .collect();
                one(
                    ctx,
                    "elbv2",
                    "ModifyLoadBalancerAttributes",
                    json!({"LoadBalancerArn": arn, "Attributes": attributes}),
                )?;
            }
            Ok(arn)
        },
        ready: |ctx, arn| {
            let out = one(
                ctx,
                "elbv2",
                "DescribeLoadBalancers",
                json!({"LoadBalancerArns": [arn]}),
            )?;
            match ptr(&out, "/LoadBalancers/0/State/Code").as_str() {
                Some("active") => Ok(true),
                Some("failed") => Err(ApiError::new(
                    "LoadBalancerFailed",
                    format!("Load balancer {arn} failed"),
                )),
                _ => Ok(false),
            }
        },
        made: |ctx, arn, _| {
            let out = one(
                ctx,
                "elbv2",
                "DescribeLoadBalancers",
                json!({"LoadBalancerArns": [arn]}),
            )?;
            let lb = ptr(&out, "/LoadBalancers/0");
            let full = arn
                .split_once(":loadbalancer/")
                .map(|(_, f)| f)
                .unwrap_or(arn);
            Ok(Made {
                reference: json!(arn),
                attrs: attrs(vec![
                    ("LoadBalancerArn", json!(arn)),
                    ("DNSName", ptr(lb, "/DNSName").clone()),
                    (
                        "CanonicalHostedZoneID",
                        ptr(lb, "/CanonicalHostedZoneId").clone(),
                    ),
                    ("LoadBalancerName", ptr(lb, "/LoadBalancerName").clone()),
                    ("LoadBalancerFullName", json!(full)),
                    ("SecurityGroups", ptr(lb, "/SecurityGroups").clone()),
                ]),
            })
        },
        delete: |ctx, arn, _| {
            ok_if_gone(one(
                ctx,
                "elbv2",
                "DeleteLoadBalancer",
                json!({"LoadBalancerArn": arn}),
            ))
        },
        gone: at_once,
        mutable: &["SecurityGroups", "Subnets", "LoadBalancerAttributes"],
        update: Some(update_load_balancer),
        name_prop: Some("Name"),
    },
    Type {
        name: "AWS::ElasticLoadBalancingV2::TargetGroup",
        create: |ctx, p| {
            let name = p.str("Name").unwrap_or_else(|| p.generated(32));
            let out = one(
                ctx,
                "elbv2",
                "CreateTargetGroup",
                json!({"Name": name, "Protocol": p.str("Protocol"),
                       "ProtocolVersion": p.str("ProtocolVersion"), "Port": p.str("Port"),
                       "VpcId": p.str("VpcId"), "TargetType": p.str("TargetType"),
                       "HealthCheckEnabled": p.str("HealthCheckEnabled").map(|v| v == "true"),
                       "HealthCheckProtocol": p.str("HealthCheckProtocol"),
                       "HealthCheckPort": p.str("HealthCheckPort"),
                       "HealthCheckPath": p.str("HealthCheckPath"),
                       "HealthCheckIntervalSeconds": p.str("HealthCheckIntervalSeconds"),
                       "HealthCheckTimeoutSeconds": p.str("HealthCheckTimeoutSeconds"),
                       "HealthyThresholdCount": p.str("HealthyThresholdCount"),
                       "UnhealthyThresholdCount": p.str("UnhealthyThresholdCount"),
                       "Matcher": p.get("Matcher"), "IpAddressType": p.str("IpAddressType"),
                       "Tags": nonempty(p.tag_list())}),
            )?;
            let arn = id_at(&out, "/TargetGroups/0/TargetGroupArn")?;
            if let Some(Value::Array(a)) = p.get("TargetGroupAttributes") {
                let attributes: Vec<Value> = a
                    .iter()
                    .map(|x| json!({"Key": x.get("Key"), "Value": x.get("Value").and_then(super::eval::scalar)}))
                    .collect();
                one(
                    ctx,
                    "elbv2",
                    "ModifyTargetGroupAttributes",
                    json!({"TargetGroupArn": arn, "Attributes": attributes}),
                )?;
            }
            if let Some(Value::Array(targets)) = p.get("Targets") {
                if !targets.is_empty() {
                    one(
                        ctx,
                        "elbv2",
                        "RegisterTargets",
                        json!({"TargetGroupArn": arn, "Targets": targets}),
                    )?;
                }
            }
            Ok(arn)
        },
        ready: at_once,
        made: |ctx, arn, _| {
            let out = one(
                ctx,
                "elbv2",
                "DescribeTargetGroups",
                json!({"TargetGroupArns": [arn]}),
            )?;
            let tg = ptr(&out, "/TargetGroups/0");
            let full = arn
                .split_once(":")
                .map(|_| arn.rsplit(':').next().unwrap_or(arn))
                .unwrap_or(arn);
            Ok(Made {
                reference: json!(arn),
                attrs: attrs(vec![
                    ("TargetGroupArn", json!(arn)),
                    ("TargetGroupName", ptr(tg, "/TargetGroupName").clone()),
                    ("TargetGroupFullName", json!(full)),
                    ("LoadBalancerArns", ptr(tg, "/LoadBalancerArns").clone()),
                ]),
            })
        },
        delete: |ctx, arn, _| {
            ok_if_gone(one(
                ctx,
                "elbv2",
                "DeleteTargetGroup",
                json!({"TargetGroupArn": arn}),
            ))
        },
        gone: at_once,
        mutable: &[
            "Targets",
            "HealthCheckEnabled",
            "HealthCheckProtocol",
            "HealthCheckPort",
            "HealthCheckPath",
            "HealthCheckIntervalSeconds",
            "HealthCheckTimeoutSeconds",
            "HealthyThresholdCount",
            "UnhealthyThresholdCount",
            "Matcher",
            "TargetGroupAttributes",
        ],
        update: Some(update_target_group),
        name_prop: Some("Name"),
    },
    Type {
        name: "AWS::ElasticLoadBalancingV2::Listener",
        create: |ctx, p| {
            let out = one(
                ctx,
                "elbv2",
                "CreateListener",
                json!({"LoadBalancerArn": p.req("LoadBalancerArn")?, "Protocol": p.str("Protocol"),
                       "Port": p.str("Port"), "SslPolicy": p.str("SslPolicy"),
                       "Certificates": p.get("Certificates"), "AlpnPolicy": p.get("AlpnPolicy"),
                       "DefaultActions": p.get("DefaultActions")}),
            )?;
            id_at(&out, "/Listeners/0/ListenerArn")
        },
        ready: at_once,
        made: |_, arn, _| {
            Ok(Made {
                reference: json!(arn),
                attrs: attrs(vec![("ListenerArn", json!(arn))]),
            })
        },
        delete: |ctx, arn, _| {
            ok_if_gone(one(
                ctx,
                "elbv2",
                "DeleteListener",
                json!({"ListenerArn": arn}),
            ))
        },
        gone: at_once,
        mutable: &[
            "DefaultActions",
            "Certificates",
            "Port",
            "Protocol",
            "SslPolicy",
            "AlpnPolicy",
        ],
        update: Some(update_listener),
        ..FIXED
    },
    Type {
        name: "AWS::ElasticLoadBalancingV2::ListenerRule",
        create: |ctx, p| {
            let out = one(
                ctx,
                "elbv2",
                "CreateRule",
                json!({"ListenerArn": p.req("ListenerArn")?, "Priority": p.req("Priority")?,
                       "Conditions": p.get("Conditions"), "Actions": p.get("Actions")}),
            )?;
            id_at(&out, "/Rules/0/RuleArn")
        },
        ready: at_once,
        made: |_, arn, _| {
            Ok(Made {
                reference: json!(arn),
                attrs: attrs(vec![("RuleArn", json!(arn)), ("IsDefault", json!(false))]),
            })
        },
        delete: |ctx, arn, _| ok_if_gone(one(ctx, "elbv2", "DeleteRule", json!({"RuleArn": arn}))),
        gone: at_once,
        mutable: &["Actions", "Conditions", "Priority"],
        update: Some(update_rule),
        ..FIXED
    },
    Type {
        name: "AWS::ElasticLoadBalancingV2::ListenerCertificate",
        create: |ctx, p| {
            let listener = p.req("ListenerArn")?;
            one(
                ctx,
                "elbv2",
                "AddListenerCertificates",
                json!({"ListenerArn": listener, "Certificates": p.get("Certificates")}),
            )?;
            Ok(listener)
        },
        ready: at_once,
        made: reference_only,
        delete: |ctx, listener, p| {
            ok_if_gone(one(
                ctx,
                "elbv2",
                "RemoveListenerCertificates",
                json!({"ListenerArn": listener, "Certificates": p.get("Certificates")}),
            ))
        },
        gone: at_once,
        ..FIXED
    },
    Type {
        name: "AWS::MWAA::Environment",
        create: |ctx, p| {
            let name = p.req("Name")?;
            let mut input = p.v.clone();
            if let Some(m) = input.as_object_mut() {
                m.remove("Tags");
                if let Some(Value::Object(c)) = m.get("AirflowConfigurationOptions") {
                    let c: Map<String, Value> = c
                        .iter()
                        .map(|(k, v)| (k.clone(), json!(super::eval::scalar(v))))
                        .collect();
                    m.insert("AirflowConfigurationOptions".into(), Value::Object(c));
                }
                let tags: Map<String, Value> = p
                    .tags
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .chain(
                        p.get("Tags")
                            .and_then(Value::as_object)
                            .into_iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), json!(super::eval::scalar(v)))),
                    )
                    .collect();
                if !tags.is_empty() {
                    m.insert("Tags".into(), Value::Object(tags));
                }
            }
            one(ctx, "mwaa", "CreateEnvironment", input)?;
            Ok(name)
        },
        ready: |ctx, name| {
            let out = one(ctx, "mwaa", "GetEnvironment", json!({"Name": name}))?;
            match ptr(&out, "/Environment/Status").as_str() {
                Some("AVAILABLE") => Ok(true),
                Some("CREATING") | Some("UPDATING") => Ok(false),
                other => Err(ApiError::new(
                    ptr(&out, "/Environment/LastUpdate/Error/ErrorCode")
                        .as_str()
                        .unwrap_or("EnvironmentFailed"),
                    ptr(&out, "/Environment/LastUpdate/Error/ErrorMessage")
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| {
                            format!("Environment {name} is {}", other.unwrap_or("unknown"))
                        }),
                )),
            }
        },
        made: |ctx, name, _| {
            let out = one(ctx, "mwaa", "GetEnvironment", json!({"Name": name}))?;
            let e = ptr(&out, "/Environment");
            let mut a = attrs(vec![
                ("Arn", ptr(e, "/Arn").clone()),
                ("WebserverUrl", ptr(e, "/WebserverUrl").clone()),
                (
                    "CeleryExecutorQueue",
                    ptr(e, "/CeleryExecutorQueue").clone(),
                ),
                (
                    "DatabaseVpcEndpointService",
                    ptr(e, "/DatabaseVpcEndpointService").clone(),
                ),
                (
                    "WebserverVpcEndpointService",
                    ptr(e, "/WebserverVpcEndpointService").clone(),
                ),
            ]);
            for kind in [
                "DagProcessingLogs",
                "SchedulerLogs",
                "TaskLogs",
                "WebserverLogs",
                "WorkerLogs",
            ] {
                a.insert(
                    format!("LoggingConfiguration.{kind}.CloudWatchLogGroupArn"),
                    ptr(
                        e,
                        &format!("/LoggingConfiguration/{kind}/CloudWatchLogGroupArn"),
                    )
                    .clone(),
                );
            }
            Ok(Made {
                reference: json!(name),
                attrs: a,
            })
        },
        delete: |ctx, name, _| {
            ok_if_gone(one(ctx, "mwaa", "DeleteEnvironment", json!({"Name": name})))
        },
        // Gone once MWAA has removed the environment with its endpoints (on its ticker), so
        // that the subnets and security groups it used can be deleted next.
        gone: |ctx, name| {
            Ok(ctx
                .store
                .read(|v| v.get::<crate::mwaa::Environment>(&ctx.scope(), name))
                .is_none())
        },
        mutable: MWAA_MUTABLE,
        update: Some(update_environment),
        name_prop: Some("Name"),
    },
];

/// The members of an environment that UpdateEnvironment changes.
const MWAA_MUTABLE: &[&str] = &[
    "AirflowConfigurationOptions",
    "AirflowVersion",
    "DagS3Path",
    "EnvironmentClass",
    "ExecutionRoleArn",
    "LoggingConfiguration",
    "MaxWebservers",
    "MaxWorkers",
    "MinWebservers",
    "MinWorkers",
    "PluginsS3ObjectVersion",
    "PluginsS3Path",
    "RequirementsS3ObjectVersion",
    "RequirementsS3Path",
    "Schedulers",
    "SourceBucketArn",
    "StartupScriptS3ObjectVersion",
    "StartupScriptS3Path",
    "WebserverAccessMode",
    "WeeklyMaintenanceWindowStart",
    "Tags",
];

fn changed(old: &Props<'_>, new: &Props<'_>, k: &str) -> bool {
    old.get(k) != new.get(k)
}

/// Strings added to and removed from a list property.
fn list_diff(old: &Props<'_>, new: &Props<'_>, k: &str) -> (Vec<String>, Vec<String>) {
    let (o, n) = (old.strs(k), new.strs(k));
    let added = n.iter().filter(|x| !o.contains(x)).cloned().collect();
    let removed = o.iter().filter(|x| !n.contains(x)).cloned().collect();
    (added, removed)
}

/// An EC2 resource's tags brought from the old list to the new.
fn retag(ctx: &Ctx<'_>, id: &str, old: &Props<'_>, new: &Props<'_>) -> ApiResult<()> {
    if !changed(old, new, "Tags") {
        return Ok(());
    }
    let (o, n) = (old.tag_list(), new.tag_list());
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

fn update_tags(
    ctx: &Ctx<'_>,
    id: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    retag(ctx, id, old, new)?;
    Ok(None)
}

fn update_vpc(
    ctx: &Ctx<'_>,
    id: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    retag(ctx, id, old, new)?;
    for (attr, default) in [("EnableDnsSupport", true), ("EnableDnsHostnames", false)] {
        if changed(old, new, attr) {
            let v = new.str(attr).map_or(default, |v| v == "true");
            ec2(
                ctx,
                "ModifyVpcAttribute",
                json!({"VpcId": id, attr: {"Value": v}}),
            )?;
        }
    }
    Ok(None)
}

fn update_subnet(
    ctx: &Ctx<'_>,
    id: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    retag(ctx, id, old, new)?;
    if changed(old, new, "MapPublicIpOnLaunch") {
        let v = new.str("MapPublicIpOnLaunch").is_some_and(|v| v == "true");
        ec2(
            ctx,
            "ModifySubnetAttribute",
            json!({"SubnetId": id, "MapPublicIpOnLaunch": {"Value": v}}),
        )?;
    }
    Ok(None)
}

fn update_route(
    ctx: &Ctx<'_>,
    _: &str,
    _: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    ec2(ctx, "ReplaceRoute", route_input(new, ROUTE_MEMBERS))?;
    Ok(None)
}

/// A route's properties: its destination (the first three, which name it), then its targets.
const ROUTE_MEMBERS: &[&str] = &[
    "DestinationCidrBlock",
    "DestinationIpv6CidrBlock",
    "DestinationPrefixListId",
    "GatewayId",
    "NatGatewayId",
    "InstanceId",
    "NetworkInterfaceId",
    "VpcEndpointId",
    "EgressOnlyInternetGatewayId",
    "VpcPeeringConnectionId",
    "TransitGatewayId",
    "CarrierGatewayId",
    "LocalGatewayId",
    "CoreNetworkArn",
];

/// A route operation's input: its table and the given `members` of the properties.
fn route_input(p: &Props<'_>, members: &[&str]) -> Value {
    let mut input = json!({"RouteTableId": p.str("RouteTableId")});
    for k in members {
        if let Some(v) = p.str(k) {
            input[*k] = json!(v);
        }
    }
    input
}

fn update_association(
    ctx: &Ctx<'_>,
    id: &str,
    _: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    let out = ec2(
        ctx,
        "ReplaceRouteTableAssociation",
        json!({"AssociationId": id, "RouteTableId": new.str("RouteTableId")}),
    )?;
    id_at(&out, "/NewAssociationId").map(Some)
}

fn update_group(
    ctx: &Ctx<'_>,
    id: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    retag(ctx, id, old, new)?;
    if changed(old, new, "SecurityGroupIngress") {
        let o = permissions(old.get("SecurityGroupIngress"), id, false);
        if !o.is_empty() {
            ok_if_gone(ec2(
                ctx,
                "RevokeSecurityGroupIngress",
                json!({"GroupId": id, "IpPermissions": o}),
            ))?;
        }
        let n = permissions(new.get("SecurityGroupIngress"), id, false);
        if !n.is_empty() {
            ec2(
                ctx,
                "AuthorizeSecurityGroupIngress",
                json!({"GroupId": id, "IpPermissions": n}),
            )?;
        }
    }
    if changed(old, new, "SecurityGroupEgress") {
        let everything = json!([{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]);
        let o = match old.get("SecurityGroupEgress") {
            Some(rules) => Value::from(permissions(Some(rules), id, true)),
            None => everything.clone(),
        };
        if o.as_array().is_some_and(|a| !a.is_empty()) {
            ok_if_gone(ec2(
                ctx,
                "RevokeSecurityGroupEgress",
                json!({"GroupId": id, "IpPermissions": o}),
            ))?;
        }
        let n = match new.get("SecurityGroupEgress") {
            Some(rules) => Value::from(permissions(Some(rules), id, true)),
            None => everything,
        };
        if n.as_array().is_some_and(|a| !a.is_empty()) {
            ec2(
                ctx,
                "AuthorizeSecurityGroupEgress",
                json!({"GroupId": id, "IpPermissions": n}),
            )?;
        }
    }
    Ok(None)
}

fn update_endpoint(
    ctx: &Ctx<'_>,
    id: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    retag(ctx, id, old, new)?;
    if changed(old, new, "PolicyDocument") {
        let input = match new.get("PolicyDocument") {
            Some(d) => json!({"VpcEndpointId": id, "PolicyDocument": document(Some(d))}),
            None => json!({"VpcEndpointId": id, "ResetPolicy": true}),
        };
        ec2(ctx, "ModifyVpcEndpoint", input)?;
    }
    Ok(None)
}

fn update_role(
    ctx: &Ctx<'_>,
    name: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    if changed(old, new, "AssumeRolePolicyDocument") {
        one(
            ctx,
            "iam",
            "UpdateAssumeRolePolicy",
            json!({"RoleName": name, "PolicyDocument": document(new.get("AssumeRolePolicyDocument"))}),
        )?;
    }
    if changed(old, new, "Description") || changed(old, new, "MaxSessionDuration") {
        one(
            ctx,
            "iam",
            "UpdateRole",
            json!({"RoleName": name, "Description": new.str("Description").unwrap_or_default(),
                   "MaxSessionDuration": new.str("MaxSessionDuration").unwrap_or_else(|| "3600".into())}),
        )?;
    }
    let (added, removed) = list_diff(old, new, "ManagedPolicyArns");
    for arn in removed {
        ok_if_gone(one(
            ctx,
            "iam",
            "DetachRolePolicy",
            json!({"RoleName": name, "PolicyArn": arn}),
        ))?;
    }
    for arn in added {
        one(
            ctx,
            "iam",
            "AttachRolePolicy",
            json!({"RoleName": name, "PolicyArn": arn}),
        )?;
    }
    if changed(old, new, "Policies") {
        let names = |p: &Props<'_>| -> Vec<String> {
            match p.get("Policies") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.get("PolicyName").and_then(super::eval::scalar))
                    .collect(),
                _ => Vec::new(),
            }
        };
        let keep = names(new);
        for n in names(old).into_iter().filter(|n| !keep.contains(n)) {
            ok_if_gone(one(
                ctx,
                "iam",
                "DeleteRolePolicy",
                json!({"RoleName": name, "PolicyName": n}),
            ))?;
        }
        inline_policies(ctx, new, "PutRolePolicy", "RoleName", name)?;
    }
    Ok(None)
}

const HOLDERS: [(&str, &str, &str); 3] = [
    ("Role", "RoleName", "Roles"),
    ("User", "UserName", "Users"),
    ("Group", "GroupName", "Groups"),
];

fn update_policy(
    ctx: &Ctx<'_>,
    _: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    let name = new.str("PolicyName");
    let doc = document(new.get("PolicyDocument"));
    for (kind, key, list) in HOLDERS {
        let (_, removed) = list_diff(old, new, list);
        for holder in removed {
            ok_if_gone(one(
                ctx,
                "iam",
                &format!("Delete{kind}Policy"),
                json!({key: holder, "PolicyName": name}),
            ))?;
        }
        for holder in new.strs(list) {
            one(
                ctx,
                "iam",
                &format!("Put{kind}Policy"),
                json!({key: holder, "PolicyName": name, "PolicyDocument": doc}),
            )?;
        }
    }
    Ok(None)
}

fn update_managed_policy(
    ctx: &Ctx<'_>,
    arn: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    if changed(old, new, "PolicyDocument") {
        let versions = one(ctx, "iam", "ListPolicyVersions", json!({"PolicyArn": arn}))?;
        let list = ptr(&versions, "/Versions")
            .as_array()
            .cloned()
            .unwrap_or_default();
        if list.len() >= 5 {
            if let Some(oldest) = list
                .iter()
                .filter(|v| ptr(v, "/IsDefaultVersion").as_bool() != Some(true))
                .min_by_key(|v| {
                    ptr(v, "/CreateDate")
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
            {
                one(
                    ctx,
                    "iam",
                    "DeletePolicyVersion",
                    json!({"PolicyArn": arn, "VersionId": ptr(oldest, "/VersionId")}),
                )?;
            }
        }
        one(
            ctx,
            "iam",
            "CreatePolicyVersion",
            json!({"PolicyArn": arn, "PolicyDocument": document(new.get("PolicyDocument")), "SetAsDefault": true}),
        )?;
    }
    for (kind, key, list) in HOLDERS {
        let (added, removed) = list_diff(old, new, list);
        for holder in removed {
            ok_if_gone(one(
                ctx,
                "iam",
                &format!("Detach{kind}Policy"),
                json!({key: holder, "PolicyArn": arn}),
            ))?;
        }
        for holder in added {
            one(
                ctx,
                "iam",
                &format!("Attach{kind}Policy"),
                json!({key: holder, "PolicyArn": arn}),
            )?;
        }
    }
    Ok(None)
}

fn update_profile(
    ctx: &Ctx<'_>,
    name: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    let (added, removed) = list_diff(old, new, "Roles");
    for role in removed {
        ok_if_gone(one(
            ctx,
            "iam",
            "RemoveRoleFromInstanceProfile",
            json!({"InstanceProfileName": name, "RoleName": role}),
        ))?;
    }
    for role in added {
        one(
            ctx,
            "iam",
            "AddRoleToInstanceProfile",
            json!({"InstanceProfileName": name, "RoleName": role}),
        )?;
    }
    Ok(None)
}

fn update_bucket(
    ctx: &Ctx<'_>,
    name: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    if changed(old, new, "VersioningConfiguration") {
        let v = new
            .get("VersioningConfiguration")
            .cloned()
            .unwrap_or_else(|| json!({"Status": "Suspended"}));
        one(
            ctx,
            "s3",
            "PutBucketVersioning",
            json!({"Bucket": name, "VersioningConfiguration": v}),
        )?;
    }
    if changed(old, new, "PublicAccessBlockConfiguration") {
        match new.get("PublicAccessBlockConfiguration") {
            Some(v) => one(
                ctx,
                "s3",
                "PutPublicAccessBlock",
                json!({"Bucket": name, "PublicAccessBlockConfiguration": v}),
            )?,
            None => one(
                ctx,
                "s3",
                "DeletePublicAccessBlock",
                json!({"Bucket": name}),
            )?,
        };
    }
    if changed(old, new, "Tags") {
        let tags = new.tag_list();
        if tags.is_empty() {
            one(ctx, "s3", "DeleteBucketTagging", json!({"Bucket": name}))?;
        } else {
            one(
                ctx,
                "s3",
                "PutBucketTagging",
                json!({"Bucket": name, "Tagging": {"TagSet": tags}}),
            )?;
        }
    }
    Ok(None)
}

fn update_bucket_policy(
    ctx: &Ctx<'_>,
    bucket: &str,
    _: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    one(
        ctx,
        "s3",
        "PutBucketPolicy",
        json!({"Bucket": bucket, "Policy": document(new.get("PolicyDocument"))}),
    )?;
    Ok(None)
}

fn update_parameter(
    ctx: &Ctx<'_>,
    name: &str,
    _: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    one(
        ctx,
        "ssm",
        "PutParameter",
        json!({"Name": name, "Type": new.req("Type")?, "Value": new.req("Value")?,
               "Description": new.str("Description"), "AllowedPattern": new.str("AllowedPattern"),
               "Tier": new.str("Tier"), "DataType": new.str("DataType"), "Overwrite": true}),
    )?;
    Ok(None)
}

fn attributes(p: &Props<'_>, k: &str) -> Vec<Value> {
    match p.get(k) {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| json!({"Key": x.get("Key"), "Value": x.get("Value").and_then(super::eval::scalar)}))
            .collect(),
        _ => Vec::new(),
    }
}

fn update_load_balancer(
    ctx: &Ctx<'_>,
    arn: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    if changed(old, new, "SecurityGroups") {
        one(
            ctx,
            "elbv2",
            "SetSecurityGroups",
            json!({"LoadBalancerArn": arn, "SecurityGroups": new.strs("SecurityGroups")}),
        )?;
    }
    if changed(old, new, "Subnets") {
        one(
            ctx,
            "elbv2",
            "SetSubnets",
            json!({"LoadBalancerArn": arn, "Subnets": new.strs("Subnets")}),
        )?;
    }
    let attrs = attributes(new, "LoadBalancerAttributes");
    if changed(old, new, "LoadBalancerAttributes") && !attrs.is_empty() {
        one(
            ctx,
            "elbv2",
            "ModifyLoadBalancerAttributes",
            json!({"LoadBalancerArn": arn, "Attributes": attrs}),
        )?;
    }
    Ok(None)
}

fn update_target_group(
    ctx: &Ctx<'_>,
    arn: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    let targets = |p: &Props<'_>| -> Vec<Value> {
        match p.get("Targets") {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        }
    };
    let (o, n) = (targets(old), targets(new));
    let gone: Vec<Value> = o.iter().filter(|t| !n.contains(t)).cloned().collect();
    let added: Vec<Value> = n.iter().filter(|t| !o.contains(t)).cloned().collect();
    if !gone.is_empty() {
        one(
            ctx,
            "elbv2",
            "DeregisterTargets",
            json!({"TargetGroupArn": arn, "Targets": gone}),
        )?;
    }
    if !added.is_empty() {
        one(
            ctx,
            "elbv2",
            "RegisterTargets",
            json!({"TargetGroupArn": arn, "Targets": added}),
        )?;
    }
    let health = [
        "HealthCheckEnabled",
        "HealthCheckProtocol",
        "HealthCheckPort",
        "HealthCheckPath",
        "HealthCheckIntervalSeconds",
        "HealthCheckTimeoutSeconds",
        "HealthyThresholdCount",
        "UnhealthyThresholdCount",
        "Matcher",
    ];
    if health.iter().any(|k| changed(old, new, k)) {
        let mut input = json!({"TargetGroupArn": arn});
        for k in health {
            if let Some(v) = new.get(k) {
                input[k] = v.clone();
            }
        }
        one(ctx, "elbv2", "ModifyTargetGroup", input)?;
    }
    let attrs = attributes(new, "TargetGroupAttributes");
    if changed(old, new, "TargetGroupAttributes") && !attrs.is_empty() {
        one(
            ctx,
            "elbv2",
            "ModifyTargetGroupAttributes",
            json!({"TargetGroupArn": arn, "Attributes": attrs}),
        )?;
    }
    Ok(None)
}

fn update_listener(
    ctx: &Ctx<'_>,
    arn: &str,
    _: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    one(
        ctx,
        "elbv2",
        "ModifyListener",
        json!({"ListenerArn": arn, "Port": new.str("Port"), "Protocol": new.str("Protocol"),
               "SslPolicy": new.str("SslPolicy"), "Certificates": new.get("Certificates"),
               "AlpnPolicy": new.get("AlpnPolicy"), "DefaultActions": new.get("DefaultActions")}),
    )?;
    Ok(None)
}

fn update_rule(
    ctx: &Ctx<'_>,
    arn: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    if changed(old, new, "Priority") {
        one(
            ctx,
            "elbv2",
            "SetRulePriorities",
            json!({"RulePriorities": [{"RuleArn": arn, "Priority": new.str("Priority")}]}),
        )?;
    }
    if changed(old, new, "Actions") || changed(old, new, "Conditions") {
        one(
            ctx,
            "elbv2",
            "ModifyRule",
            json!({"RuleArn": arn, "Conditions": new.get("Conditions"), "Actions": new.get("Actions")}),
        )?;
    }
    Ok(None)
}

fn update_environment(
    ctx: &Ctx<'_>,
    name: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    let mut input = json!({"Name": name});
    let mut any = false;
    for k in MWAA_MUTABLE.iter().filter(|k| **k != "Tags") {
        if changed(old, new, k) {
            if let Some(v) = new.get(k) {
                input[*k] = v.clone();
                any = true;
            }
        }
    }
    if any {
        one(ctx, "mwaa", "UpdateEnvironment", input)?;
    }
    if changed(old, new, "Tags") {
        let out = one(ctx, "mwaa", "GetEnvironment", json!({"Name": name}))?;
        let arn = ptr(&out, "/Environment/Arn").clone();
        let tags = |p: &Props<'_>| -> Map<String, Value> {
            p.get("Tags")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let (o, n) = (tags(old), tags(new));
        let gone: Vec<&String> = o.keys().filter(|k| !n.contains_key(*k)).collect();
        if !gone.is_empty() {
            one(
                ctx,
                "mwaa",
                "UntagResource",
                json!({"ResourceArn": arn, "tagKeys": gone}),
            )?;
        }
        if !n.is_empty() {
            let n: Map<String, Value> = n
                .into_iter()
                .map(|(k, v)| (k, json!(super::eval::scalar(&v))))
                .collect();
            one(
                ctx,
                "mwaa",
                "TagResource",
                json!({"ResourceArn": arn, "Tags": n}),
            )?;
        }
    }
    Ok(None)
}

/// A network ACL entry's input from `AWS::EC2::NetworkAclEntry` properties.
fn acl_entry(p: &Props<'_>, acl: &str, egress: bool, rule: &str) -> ApiResult<Value> {
    let icmp = p
        .get("Icmp")
        .map(|i| json!({"Code": i.get("Code"), "Type": i.get("Type")}));
    Ok(
        json!({"NetworkAclId": acl, "RuleNumber": rule, "Egress": egress,
              "Protocol": p.req("Protocol")?, "RuleAction": p.req("RuleAction")?,
              "CidrBlock": p.str("CidrBlock"), "Ipv6CidrBlock": p.str("Ipv6CidrBlock"),
              "PortRange": p.get("PortRange"), "IcmpTypeCode": icmp}),
    )
}

/// The id of a subnet's current network ACL association.
fn subnet_acl_association(ctx: &Ctx<'_>, subnet: &str) -> ApiResult<String> {
    let out = ec2(
        ctx,
        "DescribeNetworkAcls",
        json!({"Filters": [{"Name": "association.subnet-id", "Values": [subnet]}]}),
    )?;
    ptr(&out, "/NetworkAcls/0/Associations")
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|x| ptr(x, "/SubnetId").as_str() == Some(subnet))
                .and_then(|x| ptr(x, "/NetworkAclAssociationId").as_str())
        })
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::new(
                "InvalidSubnetID.NotFound",
                format!("The subnet ID '{subnet}' does not exist"),
            )
        })
}

fn update_interface(
    ctx: &Ctx<'_>,
    id: &str,
    old: &Props<'_>,
    new: &Props<'_>,
) -> ApiResult<Option<String>> {
    retag(ctx, id, old, new)?;
    if changed(old, new, "GroupSet") {
        ec2(
            ctx,
            "ModifyNetworkInterfaceAttribute",
            json!({"NetworkInterfaceId": id, "Groups": new.strs("GroupSet")}),
        )?;
    }
    if changed(old, new, "Description") {
        ec2(
            ctx,
            "ModifyNetworkInterfaceAttribute",
            json!({"NetworkInterfaceId": id, "Description": {"Value": new.str("Description").unwrap_or_default()}}),
        )?;
    }
    if changed(old, new, "SourceDestCheck") {
        ec2(
            ctx,
            "ModifyNetworkInterfaceAttribute",
            json!({"NetworkInterfaceId": id, "SourceDestCheck": {"Value": new.str("SourceDestCheck").as_deref() != Some("false")}}),
        )?;
    }
    Ok(None)
}

fn nonempty(v: Vec<Value>) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::Array(v)
    }
}

/// Keeps the secret of a new access key between its creation and the read of its attributes
/// (both in the same engine step), never in the store.
static SECRETS: std::sync::Mutex<std::collections::BTreeMap<String, Value>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// `Policies: [{PolicyName, PolicyDocument}]` of a role or user.
fn inline_policies(ctx: &Ctx<'_>, p: &Props<'_>, op: &str, key: &str, name: &str) -> ApiResult<()> {
    if let Some(Value::Array(policies)) = p.get("Policies") {
        for pol in policies {
            one(
                ctx,
                "iam",
                op,
                json!({key: name, "PolicyName": pol.get("PolicyName").and_then(super::eval::scalar),
                       "PolicyDocument": document(pol.get("PolicyDocument"))}),
            )?;
        }
    }
    Ok(())
}

/// Detaches and deletes a role's or user's policies, as CloudFormation does before deleting it.
fn empty_holder(ctx: &Ctx<'_>, kind: &str, name: &str) -> ApiResult<()> {
    let key = format!("{kind}Name");
    let attached = match one(
        ctx,
        "iam",
        &format!("ListAttached{kind}Policies"),
        json!({&key: name}),
    ) {
        Ok(v) => v,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    for p in ptr(&attached, "/AttachedPolicies")
        .as_array()
        .into_iter()
        .flatten()
    {
        one(
            ctx,
            "iam",
            &format!("Detach{kind}Policy"),
            json!({&key: name, "PolicyArn": p.get("PolicyArn")}),
        )?;
    }
    let inline = one(
        ctx,
        "iam",
        &format!("List{kind}Policies"),
        json!({&key: name}),
    )?;
    for p in ptr(&inline, "/PolicyNames")
        .as_array()
        .into_iter()
        .flatten()
    {
        one(
            ctx,
            "iam",
            &format!("Delete{kind}Policy"),
            json!({&key: name, "PolicyName": p}),
        )?;
    }
    if kind == "Role" {
        let profiles = one(
            ctx,
            "iam",
            "ListInstanceProfilesForRole",
            json!({"RoleName": name}),
        )?;
        for p in ptr(&profiles, "/InstanceProfiles")
            .as_array()
            .into_iter()
            .flatten()
        {
            one(
                ctx,
                "iam",
                "RemoveRoleFromInstanceProfile",
                json!({"RoleName": name, "InstanceProfileName": p.get("InstanceProfileName")}),
            )?;
        }
    }
    Ok(())
}

/// A security group's `SecurityGroupIngress`/`Egress` rules as EC2's `IpPermissions`.
fn permissions(rules: Option<&Value>, _group: &str, egress: bool) -> Vec<Value> {
    let Some(Value::Array(rules)) = rules else {
        return Vec::new();
    };
    rules.iter().map(|r| permission(r, egress)).collect()
}

fn permission(r: &Value, egress: bool) -> Value {
    let s = |k: &str| r.get(k).and_then(super::eval::scalar);
    let protocol = s("IpProtocol").unwrap_or_else(|| "-1".into());
    let mut p = json!({"IpProtocol": protocol});
    if let Some(f) = s("FromPort") {
        p["FromPort"] = json!(f.parse::<i64>().unwrap_or(-1));
    }
    if let Some(t) = s("ToPort") {
        p["ToPort"] = json!(t.parse::<i64>().unwrap_or(-1));
    }
    let description = s("Description");
    if let Some(c) = s("CidrIp") {
        p["IpRanges"] = json!([{"CidrIp": c, "Description": description}]);
    }
    if let Some(c) = s("CidrIpv6") {
        p["Ipv6Ranges"] = json!([{"CidrIpv6": c, "Description": description}]);
    }
    let group = if egress {
        s("DestinationSecurityGroupId")
    } else {
        s("SourceSecurityGroupId")
    };
    if let Some(g) = group {
        p["UserIdGroupPairs"] = json!([{"GroupId": g, "Description": description,
            "UserId": s("SourceSecurityGroupOwnerId")}]);
    } else if let Some(g) = s("SourceSecurityGroupName") {
        p["UserIdGroupPairs"] = json!([{"GroupName": g, "Description": description}]);
    }
    let prefix = if egress {
        s("DestinationPrefixListId")
    } else {
        s("SourcePrefixListId")
    };
    if let Some(pl) = prefix {
        p["PrefixListIds"] = json!([{"PrefixListId": pl, "Description": description}]);
    }
    p
}

/// A standalone ingress or egress rule; its physical id is the rule's id.
fn rule(ctx: &Ctx<'_>, p: &Props<'_>, egress: bool) -> ApiResult<String> {
    let group = p.req("GroupId")?;
    let op = if egress {
        "AuthorizeSecurityGroupEgress"
    } else {
        "AuthorizeSecurityGroupIngress"
    };
    let out = ec2(
        ctx,
        op,
        json!({"GroupId": group, "IpPermissions": [permission(p.v, egress)]}),
    )?;
    id_at(&out, "/SecurityGroupRules/0/SecurityGroupRuleId")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_become_ip_permissions() {
        let p = permission(
            &json!({"IpProtocol": "tcp", "FromPort": "443", "ToPort": 443,
                     "SourceSecurityGroupId": "sg-1", "Description": "web"}),
            false,
        );
        assert_eq!(
            p,
            json!({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                   "UserIdGroupPairs": [{"GroupId": "sg-1", "Description": "web", "UserId": null}]})
        );
        let p = permission(&json!({"IpProtocol": -1, "CidrIp": "0.0.0.0/0"}), true);
        assert_eq!(p["IpRanges"][0]["CidrIp"], "0.0.0.0/0");
        assert_eq!(p["IpProtocol"], "-1");
    }

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
