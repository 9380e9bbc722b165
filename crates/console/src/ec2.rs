//! The EC2 console's pages: instances, key pairs, load balancers with their listeners, target
//! groups with their targets' health (what DescribeTargetHealth reports, reason included).

use crate::html::{Cell, Table};
use crate::{items, s, tag, Content, Req};
use airlock_protocol::ApiError;
use serde_json::{json, Value};

/// EC2 → Instances.
pub fn instances(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let out = r.api.call("ec2", "DescribeInstances", json!({}))?;
    let mut t = Table::new(vec![
        "Instance ID",
        "Name",
        "State",
        "Type",
        "Key pair",
        "VPC",
        "Subnet",
        "Private IP",
        "Public IP",
        "Security groups",
        "Launch time",
    ]);
    for res in items(&out, "Reservations") {
        for i in items(res, "Instances") {
            let groups: Vec<String> = items(i, "SecurityGroups")
                .map(|g| s(g, "GroupId").to_owned())
                .collect();
            t.push(vec![
                Cell::text(s(i, "InstanceId")),
                Cell::text(tag(i, "Name").unwrap_or("-")),
                Cell::status(i.get("State").map_or("", |x| s(x, "Name"))),
                Cell::text(s(i, "InstanceType")),
                Cell::text(s(i, "KeyName")),
                Cell::text(s(i, "VpcId")),
                Cell::text(s(i, "SubnetId")),
                Cell::text(s(i, "PrivateIpAddress")),
                Cell::text(s(i, "PublicIpAddress")),
                Cell::lines(&groups),
                Cell::text(s(i, "LaunchTime")),
            ]);
        }
    }
    Ok(r.listing("Instances", "ec2/instances", t, false))
}

/// EC2 → Key pairs.
pub fn key_pairs(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let out = r.api.call("ec2", "DescribeKeyPairs", json!({}))?;
    let mut t = Table::new(vec![
        "Name",
        "Key pair ID",
        "Type",
        "Fingerprint",
        "Created",
    ]);
    for k in items(&out, "KeyPairs") {
        t.push(vec![
            Cell::text(s(k, "KeyName")),
            Cell::text(s(k, "KeyPairId")),
            Cell::text(s(k, "KeyType")),
            Cell::text(s(k, "KeyFingerprint")),
            Cell::text(s(k, "CreateTime")),
        ]);
    }
    Ok(r.listing("Key pairs", "ec2/key-pairs", t, false))
}

/// The last part of an ARN (`.../app/name/id` → the name where one is there).
fn short(arn: &str) -> &str {
    let parts: Vec<&str> = arn.rsplit('/').collect();
    parts.get(1).copied().unwrap_or(arn)
}

/// EC2 → Load balancers, each with its listeners.
pub fn load_balancers(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let lbs = r.api.all(
        "elbv2",
        "DescribeLoadBalancers",
        json!({}),
        "LoadBalancers",
        ("Marker", "NextMarker"),
    )?;
    let mut t = Table::new(vec![
        "Name",
        "DNS name",
        "State",
        "Type",
        "Scheme",
        "VPC",
        "Availability Zones",
        "Security groups",
        "Listeners",
    ]);
    for lb in &lbs {
        let arn = s(lb, "LoadBalancerArn");
        let listeners = r.api.call(
            "elbv2",
            "DescribeListeners",
            json!({ "LoadBalancerArn": arn }),
        )?;
        let lines: Vec<String> = items(&listeners, "Listeners")
            .map(|l| {
                let certs: Vec<String> = items(l, "Certificates")
                    .map(|c| format!(" cert {}", s(c, "CertificateArn")))
                    .collect();
                let actions: Vec<String> = items(l, "DefaultActions")
                    .map(|a| match s(a, "Type") {
                        "forward" => format!("forward to {}", short(s(a, "TargetGroupArn"))),
                        other => other.to_owned(),
                    })
                    .collect();
                format!(
                    "{}:{}{} → {}",
                    s(l, "Protocol"),
                    l.get("Port").map(|p| p.to_string()).unwrap_or_default(),
                    certs.concat(),
                    actions.join(", ")
                )
            })
            .collect();
        let zones: Vec<String> = items(lb, "AvailabilityZones")
            .map(|z| format!("{} ({})", s(z, "ZoneName"), s(z, "SubnetId")))
            .collect();
        let groups: Vec<String> = items(lb, "SecurityGroups")
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect();
        t.push(vec![
            Cell::text(s(lb, "LoadBalancerName")),
            Cell::text(s(lb, "DNSName")),
            Cell::status(lb.get("State").map_or("", |x| s(x, "Code"))),
            Cell::text(s(lb, "Type")),
            Cell::text(s(lb, "Scheme")),
            Cell::text(s(lb, "VpcId")),
            Cell::lines(&zones),
            Cell::lines(&groups),
            Cell::lines(&lines),
        ]);
    }
    Ok(r.listing("Load balancers", "ec2/load-balancers", t, false))
}

/// EC2 → Target groups, each target with its health (state, reason and description).
pub fn target_groups(r: &Req<'_>, _id: &str) -> Result<Content, ApiError> {
    let groups = r.api.all(
        "elbv2",
        "DescribeTargetGroups",
        json!({}),
        "TargetGroups",
        ("Marker", "NextMarker"),
    )?;
    let mut t = Table::new(vec![
        "Name",
        "Protocol:port",
        "Target type",
        "VPC",
        "Health check",
        "Load balancers",
        "Targets",
    ]);
    for g in &groups {
        let health = r.api.call(
            "elbv2",
            "DescribeTargetHealth",
            json!({ "TargetGroupArn": s(g, "TargetGroupArn") }),
        )?;
        let targets: Vec<String> = items(&health, "TargetHealthDescriptions")
            .map(|d| {
                let target = d.get("Target").cloned().unwrap_or(Value::Null);
                let h = d.get("TargetHealth").cloned().unwrap_or(Value::Null);
                let mut line = format!(
                    "{}:{} {}",
                    s(&target, "Id"),
                    target
                        .get("Port")
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                    s(&h, "State")
                );
                if !s(&h, "Reason").is_empty() {
                    line.push_str(&format!(" ({}: {})", s(&h, "Reason"), s(&h, "Description")));
                }
                line
            })
            .collect();
        let lbs: Vec<String> = items(g, "LoadBalancerArns")
            .filter_map(Value::as_str)
            .map(|a| short(a).to_owned())
            .collect();
        let matcher = g
            .get("Matcher")
            .map(|m| s(m, "HttpCode").to_owned())
            .unwrap_or_default();
        t.push(vec![
            Cell::text(s(g, "TargetGroupName")),
            Cell::text(format!(
                "{}:{}",
                s(g, "Protocol"),
                g.get("Port").map(|p| p.to_string()).unwrap_or_default()
            )),
            Cell::text(s(g, "TargetType")),
            Cell::text(s(g, "VpcId")),
            Cell::text(format!(
                "{} {} matcher {}",
                s(g, "HealthCheckProtocol"),
                s(g, "HealthCheckPath"),
                matcher
            )),
            Cell::lines(&lbs),
            Cell::lines(&targets),
        ]);
    }
    Ok(r.listing("Target groups", "ec2/target-groups", t, false))
}
