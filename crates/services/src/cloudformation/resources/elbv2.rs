//! ACM certificates, load balancers, target groups, listeners, rules and listener certificates.

use super::*;

pub(super) static TYPES: &[Type] = &[
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
        delete: |ctx, arn, _| delete_by(ctx, "acm", "DeleteCertificate", "CertificateArn", arn),
        ..FIXED
    },
    Type {
        name: "AWS::ElasticLoadBalancingV2::LoadBalancer",
        create: |ctx, p| {
            let name = p.str("Name").unwrap_or_else(|| p.generated(32));
            let out = elbv2(
                ctx,
                "CreateLoadBalancer",
                json!({"Name": name, "Subnets": p.get("Subnets"),
                       "SubnetMappings": p.get("SubnetMappings"),
                       "SecurityGroups": p.get("SecurityGroups"), "Scheme": p.str("Scheme"),
                       "Type": p.str("Type"), "IpAddressType": p.str("IpAddressType"),
                       "Tags": nonempty(p.tag_list())}),
            )?;
            let arn = id_at(&out, "/LoadBalancers/0/LoadBalancerArn")?;
            put_attributes(ctx, "LoadBalancer", &arn, p)?;
            Ok(arn)
        },
        ready: |ctx, arn| {
            let out = elbv2(
                ctx,
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
            let out = elbv2(
                ctx,
                "DescribeLoadBalancers",
                json!({"LoadBalancerArns": [arn]}),
            )?;
            let lb = ptr(&out, "/LoadBalancers/0");
            let full = arn
                .split_once(":loadbalancer/")
                .map(|(_, f)| f)
                .unwrap_or(arn);
            made(
                arn,
                vec![
                    ("LoadBalancerArn", json!(arn)),
                    ("DNSName", ptr(lb, "/DNSName").clone()),
                    (
                        "CanonicalHostedZoneID",
                        ptr(lb, "/CanonicalHostedZoneId").clone(),
                    ),
                    ("LoadBalancerName", ptr(lb, "/LoadBalancerName").clone()),
                    ("LoadBalancerFullName", json!(full)),
                    ("SecurityGroups", ptr(lb, "/SecurityGroups").clone()),
                ],
            )
        },
        delete: |ctx, arn, _| delete_by(ctx, "elbv2", "DeleteLoadBalancer", "LoadBalancerArn", arn),
        gone: at_once,
        mutable: &["SecurityGroups", "Subnets", "LoadBalancerAttributes"],
        update: Some(update_load_balancer),
        name_prop: Some("Name"),
    },
    Type {
        name: "AWS::ElasticLoadBalancingV2::TargetGroup",
        create: |ctx, p| {
            let name = p.str("Name").unwrap_or_else(|| p.generated(32));
            let out = elbv2(
                ctx,
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
            put_attributes(ctx, "TargetGroup", &arn, p)?;
            if let Some(Value::Array(targets)) = p.get("Targets") {
                if !targets.is_empty() {
                    elbv2(
                        ctx,
                        "RegisterTargets",
                        json!({"TargetGroupArn": arn, "Targets": targets}),
                    )?;
                }
            }
            Ok(arn)
        },
        ready: at_once,
        made: |ctx, arn, _| {
            let out = elbv2(
                ctx,
                "DescribeTargetGroups",
                json!({"TargetGroupArns": [arn]}),
            )?;
            let tg = ptr(&out, "/TargetGroups/0");
            let full = arn
                .split_once(":")
                .map(|_| arn.rsplit(':').next().unwrap_or(arn))
                .unwrap_or(arn);
            made(
                arn,
                vec![
                    ("TargetGroupArn", json!(arn)),
                    ("TargetGroupName", ptr(tg, "/TargetGroupName").clone()),
                    ("TargetGroupFullName", json!(full)),
                    ("LoadBalancerArns", ptr(tg, "/LoadBalancerArns").clone()),
                ],
            )
        },
        delete: |ctx, arn, _| delete_by(ctx, "elbv2", "DeleteTargetGroup", "TargetGroupArn", arn),
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
            let out = elbv2(
                ctx,
                "CreateListener",
                json!({"LoadBalancerArn": p.req("LoadBalancerArn")?, "Protocol": p.str("Protocol"),
                       "Port": p.str("Port"), "SslPolicy": p.str("SslPolicy"),
                       "Certificates": p.get("Certificates"), "AlpnPolicy": p.get("AlpnPolicy"),
                       "DefaultActions": p.get("DefaultActions")}),
            )?;
            id_at(&out, "/Listeners/0/ListenerArn")
        },
        made: |_, arn, _| made(arn, vec![("ListenerArn", json!(arn))]),
        delete: |ctx, arn, _| delete_by(ctx, "elbv2", "DeleteListener", "ListenerArn", arn),
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
            let out = elbv2(
                ctx,
                "CreateRule",
                json!({"ListenerArn": p.req("ListenerArn")?, "Priority": p.req("Priority")?,
                       "Conditions": p.get("Conditions"), "Actions": p.get("Actions")}),
            )?;
            id_at(&out, "/Rules/0/RuleArn")
        },
        made: |_, arn, _| {
            made(
                arn,
                vec![("RuleArn", json!(arn)), ("IsDefault", json!(false))],
            )
        },
        delete: |ctx, arn, _| delete_by(ctx, "elbv2", "DeleteRule", "RuleArn", arn),
        mutable: &["Actions", "Conditions", "Priority"],
        update: Some(update_rule),
        ..FIXED
    },
    Type {
        name: "AWS::ElasticLoadBalancingV2::ListenerCertificate",
        create: |ctx, p| {
            let listener = p.req("ListenerArn")?;
            elbv2(
                ctx,
                "AddListenerCertificates",
                json!({"ListenerArn": listener, "Certificates": p.get("Certificates")}),
            )?;
            Ok(listener)
        },
        delete: |ctx, listener, p| {
            ok_if_gone(elbv2(
                ctx,
                "RemoveListenerCertificates",
                json!({"ListenerArn": listener, "Certificates": p.get("Certificates")}),
            ))
        },
        ..FIXED
    },
];

fn attributes(p: &Props<'_>, k: &str) -> Vec<Value> {
    match p.get(k) {
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| json!({"Key": x.get("Key"), "Value": x.get("Value").and_then(scalar)}))
            .collect(),
        _ => Vec::new(),
    }
}

fn update_load_balancer(
    ctx: &Ctx<'_>,
    arn: &str,
    change: &Change<'_>,
) -> ApiResult<Option<String>> {
    let new = change.new;
    if change.changed("SecurityGroups") {
        elbv2(
            ctx,
            "SetSecurityGroups",
            json!({"LoadBalancerArn": arn, "SecurityGroups": new.strs("SecurityGroups")}),
        )?;
    }
    if change.changed("Subnets") {
        elbv2(
            ctx,
            "SetSubnets",
            json!({"LoadBalancerArn": arn, "Subnets": new.strs("Subnets")}),
        )?;
    }
    set_attributes(ctx, "LoadBalancer", arn, change)?;
    Ok(None)
}

/// Sets a load balancer's or target group's attributes (`kind`: `LoadBalancer`, `TargetGroup`)
/// when an update changed them.
fn set_attributes(ctx: &Ctx<'_>, kind: &str, arn: &str, change: &Change<'_>) -> ApiResult<()> {
    if change.changed(&format!("{kind}Attributes")) {
        put_attributes(ctx, kind, arn, change.new)?;
    }
    Ok(())
}

/// Sets the `<kind>Attributes` the properties list (`kind`: `LoadBalancer` or `TargetGroup`).
fn put_attributes(ctx: &Ctx<'_>, kind: &str, arn: &str, p: &Props<'_>) -> ApiResult<()> {
    let attrs = attributes(p, &format!("{kind}Attributes"));
    if !attrs.is_empty() {
        let mut input = json!({ "Attributes": attrs });
        input[format!("{kind}Arn")] = json!(arn);
        elbv2(ctx, &format!("Modify{kind}Attributes"), input)?;
    }
    Ok(())
}

fn update_target_group(ctx: &Ctx<'_>, arn: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let Change { old, new } = *change;
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
        elbv2(
            ctx,
            "DeregisterTargets",
            json!({"TargetGroupArn": arn, "Targets": gone}),
        )?;
    }
    if !added.is_empty() {
        elbv2(
            ctx,
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
    if health.iter().any(|k| change.changed(k)) {
        let mut input = json!({"TargetGroupArn": arn});
        for k in health {
            if let Some(v) = new.get(k) {
                input[k] = v.clone();
            }
        }
        elbv2(ctx, "ModifyTargetGroup", input)?;
    }
    set_attributes(ctx, "TargetGroup", arn, change)?;
    Ok(None)
}

fn update_listener(ctx: &Ctx<'_>, arn: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let new = change.new;
    elbv2(
        ctx,
        "ModifyListener",
        json!({"ListenerArn": arn, "Port": new.str("Port"), "Protocol": new.str("Protocol"),
               "SslPolicy": new.str("SslPolicy"), "Certificates": new.get("Certificates"),
               "AlpnPolicy": new.get("AlpnPolicy"), "DefaultActions": new.get("DefaultActions")}),
    )?;
    Ok(None)
}

fn update_rule(ctx: &Ctx<'_>, arn: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let new = change.new;
    if change.changed("Priority") {
        elbv2(
            ctx,
            "SetRulePriorities",
            json!({"RulePriorities": [{"RuleArn": arn, "Priority": new.str("Priority")}]}),
        )?;
    }
    if change.changed("Actions") || change.changed("Conditions") {
        elbv2(
            ctx,
            "ModifyRule",
            json!({"RuleArn": arn, "Conditions": new.get("Conditions"), "Actions": new.get("Actions")}),
        )?;
    }
    Ok(None)
}
