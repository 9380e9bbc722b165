//! What sits in a VPC and what may reach it: security groups and their rules, VPC endpoints,
//! key pairs, instances and network interfaces.

use super::*;

pub(super) static TYPES: &[Type] = &[
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
            made(
                id,
                vec![
                    ("GroupId", json!(id)),
                    ("VpcId", ptr(&out, "/SecurityGroups/0/VpcId").clone()),
                ],
            )
        },
        delete: |ctx, id, _| delete_by(ctx, "ec2", "DeleteSecurityGroup", "GroupId", id),
        gone: at_once,
        mutable: &["Tags", "SecurityGroupIngress", "SecurityGroupEgress"],
        update: Some(update_group),
        name_prop: Some("GroupName"),
    },
    rule_type::<false>("AWS::EC2::SecurityGroupIngress"),
    rule_type::<true>("AWS::EC2::SecurityGroupEgress"),
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
            made(
                id,
                vec![
                    ("Id", json!(id)),
                    ("CreationTimestamp", ptr(e, "/CreationTimestamp").clone()),
                    ("DnsEntries", json!(dns)),
                    (
                        "NetworkInterfaceIds",
                        ptr(e, "/NetworkInterfaceIds").clone(),
                    ),
                ],
            )
        },
        delete: |ctx, id, _| {
            ok_if_gone(ec2(
                ctx,
                "DeleteVpcEndpoints",
                json!({"VpcEndpointIds": [id]}),
            ))
        },
        gone: |ctx, id| {
            let out = ec2(ctx, "DescribeVpcEndpoints", json!({"VpcEndpointIds": [id]}));
            gone_at(out, "/VpcEndpoints/0/State", "deleted")
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
        made: |ctx, name, _| {
            let out = ec2(ctx, "DescribeKeyPairs", json!({"KeyNames": [name]}))?;
            made(
                name,
                vec![
                    ("KeyPairId", ptr(&out, "/KeyPairs/0/KeyPairId").clone()),
                    (
                        "KeyFingerprint",
                        ptr(&out, "/KeyPairs/0/KeyFingerprint").clone(),
                    ),
                ],
            )
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
            delete_by(ctx, "ec2", "DeleteKeyPair", "KeyName", name)
        },
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
            made(
                id,
                vec![
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
                ],
            )
        },
        delete: |ctx, id, _| {
            ok_if_gone(ec2(ctx, "TerminateInstances", json!({"InstanceIds": [id]})))
        },
        gone: |ctx, id| {
            let out = ec2(ctx, "DescribeInstances", json!({"InstanceIds": [id]}));
            gone_at(out, "/Reservations/0/Instances/0/State/Name", "terminated")
        },
        ..TAGGED
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
            made(
                id,
                vec![
                    ("Id", json!(id)),
                    (
                        "PrimaryPrivateIpAddress",
                        ptr(n, "/PrivateIpAddress").clone(),
                    ),
                    ("SecondaryPrivateIpAddresses", json!(secondary)),
                    ("VpcId", ptr(n, "/VpcId").clone()),
                ],
            )
        },
        delete: |ctx, id, _| {
            delete_by(
                ctx,
                "ec2",
                "DeleteNetworkInterface",
                "NetworkInterfaceId",
                id,
            )
        },
        mutable: &["Tags", "GroupSet", "Description", "SourceDestCheck"],
        update: Some(update_interface),
        ..FIXED
    },
];

/// `AWS::EC2::SecurityGroupIngress`, or (`EGRESS`) `AWS::EC2::SecurityGroupEgress`: a standalone
/// rule, whose physical id is the rule's `sgr-` id.
const fn rule_type<const EGRESS: bool>(name: &'static str) -> Type {
    Type {
        name,
        create: rule::<EGRESS>,
        made: |_, id, _| made(id, vec![("Id", json!(id))]),
        delete: revoke::<EGRESS>,
        ..FIXED
    }
}

/// Revokes a standalone security group rule (`id`: its `sgr-` id).
fn revoke<const EGRESS: bool>(ctx: &Ctx<'_>, id: &str, p: &Props<'_>) -> ApiResult<()> {
    let op = if EGRESS {
        "RevokeSecurityGroupEgress"
    } else {
        "RevokeSecurityGroupIngress"
    };
    let input = json!({"GroupId": p.str("GroupId"), "SecurityGroupRuleIds": [id]});
    ok_if_gone(ec2(ctx, op, input))
}

fn update_group(ctx: &Ctx<'_>, id: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let Change { old, new } = *change;
    retag(ctx, id, change)?;
    if change.changed("SecurityGroupIngress") {
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
    if change.changed("SecurityGroupEgress") {
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

fn update_endpoint(ctx: &Ctx<'_>, id: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let new = change.new;
    retag(ctx, id, change)?;
    if change.changed("PolicyDocument") {
        let input = match new.get("PolicyDocument") {
            Some(d) => json!({"VpcEndpointId": id, "PolicyDocument": document(Some(d))}),
            None => json!({"VpcEndpointId": id, "ResetPolicy": true}),
        };
        ec2(ctx, "ModifyVpcEndpoint", input)?;
    }
    Ok(None)
}

fn update_interface(ctx: &Ctx<'_>, id: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let new = change.new;
    retag(ctx, id, change)?;
    if change.changed("GroupSet") {
        ec2(
            ctx,
            "ModifyNetworkInterfaceAttribute",
            json!({"NetworkInterfaceId": id, "Groups": new.strs("GroupSet")}),
        )?;
    }
    if change.changed("Description") {
        ec2(
            ctx,
            "ModifyNetworkInterfaceAttribute",
            json!({"NetworkInterfaceId": id, "Description": {"Value": new.str("Description").unwrap_or_default()}}),
        )?;
    }
    if change.changed("SourceDestCheck") {
        ec2(
            ctx,
            "ModifyNetworkInterfaceAttribute",
            json!({"NetworkInterfaceId": id, "SourceDestCheck": {"Value": new.str("SourceDestCheck").as_deref() != Some("false")}}),
        )?;
    }
    Ok(None)
}

/// A security group's `SecurityGroupIngress`/`Egress` rules as EC2's `IpPermissions`.
fn permissions(rules: Option<&Value>, _group: &str, egress: bool) -> Vec<Value> {
    let Some(Value::Array(rules)) = rules else {
        return Vec::new();
    };
    rules.iter().map(|r| permission(r, egress)).collect()
}

fn permission(r: &Value, egress: bool) -> Value {
    let s = |k: &str| r.get(k).and_then(scalar);
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

/// Authorizes a standalone ingress or (`EGRESS`) egress rule; gives the rule's id.
fn rule<const EGRESS: bool>(ctx: &Ctx<'_>, p: &Props<'_>) -> ApiResult<String> {
    let group = p.req("GroupId")?;
    let op = if EGRESS {
        "AuthorizeSecurityGroupEgress"
    } else {
        "AuthorizeSecurityGroupIngress"
    };
    let out = ec2(
        ctx,
        op,
        json!({"GroupId": group, "IpPermissions": [permission(p.v, EGRESS)]}),
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
}
