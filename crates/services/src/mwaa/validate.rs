//! What MWAA checks before it accepts CreateEnvironment and UpdateEnvironment, and the
//! configuration problems it only reports at the end (as CREATE_FAILED / UPDATE_FAILED).

use super::lifecycle::Failure;
use super::{failure, group, invalid, subnet_is_public, Environment};
use crate::ec2::{routes, subnet, vpce};
use crate::{iam, input, s3, Ctx};
use airlock_protocol::ApiResult;
use airlock_store::{Scope, Tx};
use serde_json::{json, Map, Value};

/// Versions MWAA runs (botocore 1.44.8's list); the last is the default.
pub const VERSIONS: &[&str] = &[
    "2.7.2", "2.8.1", "2.9.2", "2.10.1", "2.10.3", "2.11.0", "3.0.6",
];
pub const CLASSES: &[&str] = &[
    "mw1.micro",
    "mw1.small",
    "mw1.medium",
    "mw1.large",
    "mw1.xlarge",
    "mw1.2xlarge",
];
const MAX_WORKERS: i64 = 25;

/// Interface endpoints an environment without a route to the internet needs (private routing).
const PRIVATE_ROUTING: &[&str] = &[
    "airflow.api",
    "airflow.env",
    "airflow.ops",
    "ecr.api",
    "ecr.dkr",
    "kms",
    "logs",
    "monitoring",
    "sqs",
];

const INCORRECT_CONFIGURATION: &str = "You may need to check the execution role permissions policy for your environment, and that each of the VPC networking components required by the environment are configured to allow traffic. Troubleshooting: https://docs.aws.amazon.com/mwaa/latest/userguide/troubleshooting.html";

pub struct Checked {
    pub version: String,
    pub class: String,
    pub capacity: Capacity,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub access_mode: String,
    pub endpoint_management: String,
    pub failure: Option<Failure>,
}

fn prefix(msg: String) -> airlock_protocol::ApiError {
    invalid(format!("Invalid request provided: {msg}"))
}

pub fn create(ctx: &Ctx<'_>, tx: &Tx<'_>, input: &Value) -> ApiResult<Checked> {
    let scope = ctx.scope();
    let version = input::str(input, "AirflowVersion")
        .unwrap_or(VERSIONS[VERSIONS.len() - 1])
        .to_owned();
    check_version(&version)?;
    let access_mode = input::str(input, "WebserverAccessMode")
        .unwrap_or("PRIVATE_ONLY")
        .to_owned();
    check_access_mode(&access_mode, &version)?;
    let endpoint_management = input::str(input, "EndpointManagement")
        .unwrap_or("SERVICE")
        .to_owned();
    check_role(ctx, tx, input::req(input, "ExecutionRoleArn")?)?;
    check_bucket(ctx, tx, input, None)?;
    let net = input
        .get("NetworkConfiguration")
        .cloned()
        .unwrap_or(Value::Null);
    let subnet_ids = input::strs(&net, "SubnetIds");
    let security_group_ids = input::strs(&net, "SecurityGroupIds");
    if subnet_ids.len() != 2 {
        return Err(prefix(
            "Two private subnets in different Availability Zones are required.".into(),
        ));
    }
    if security_group_ids.is_empty() {
        return Err(prefix("At least one security group is required.".into()));
    }
    let mut subnets = Vec::new();
    for id in &subnet_ids {
        subnets.push(
            tx.get::<subnet::Subnet>(&scope, id)
                .ok_or_else(|| prefix(format!("Subnet {id} does not exist.")))?,
        );
    }
    if subnets[0].vpc_id != subnets[1].vpc_id {
        return Err(prefix(format!(
            "Subnets {} and {} must be in the same VPC.",
            subnet_ids[0], subnet_ids[1]
        )));
    }
    if subnets[0].az == subnets[1].az {
        return Err(prefix(format!(
            "Subnets {} and {} must be in different Availability Zones.",
            subnet_ids[0], subnet_ids[1]
        )));
    }
    let public: Vec<&str> = subnets
        .iter()
        .filter(|s| subnet_is_public(tx, &scope, s))
        .map(|s| s.id.as_str())
        .collect();
    if !public.is_empty() {
        return Err(prefix(format!(
            "Subnets {} route to an internet gateway. The subnets of an environment must be private.",
            public.join(", ")
        )));
    }
    let vpc_id = subnets[0].vpc_id.clone();
    check_groups(tx, &scope, &vpc_id, &security_group_ids)?;
    let (class, capacity) = check_capacity(input, None)?;
    let failure = network_failure(tx, &scope, &vpc_id, &subnets, &security_group_ids);
    Ok(Checked {
        version,
        class,
        capacity,
        vpc_id,
        subnet_ids,
        security_group_ids,
        access_mode,
        endpoint_management,
        failure,
    })
}

pub fn update(ctx: &Ctx<'_>, tx: &Tx<'_>, env: &Environment, input: &Value) -> ApiResult<Checked> {
    let scope = ctx.scope();
    let current = env
        .config
        .get("AirflowVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let version = input::str(input, "AirflowVersion")
        .map(str::to_owned)
        .unwrap_or_else(|| current.clone());
    if version != current {
        check_version(&version)?;
        check_upgrade(&current, &version)?;
    }
    let access_mode = input::str(input, "WebserverAccessMode")
        .unwrap_or(&env.access_mode)
        .to_owned();
    check_access_mode(&access_mode, &version)?;
    if let Some(role) = input::str(input, "ExecutionRoleArn") {
        check_role(ctx, tx, role)?;
    }
    check_bucket(ctx, tx, input, env.source_bucket())?;
    let security_group_ids = match input.get("NetworkConfiguration") {
        Some(net) => input::strs(net, "SecurityGroupIds"),
        None => env.security_group_ids.clone(),
    };
    check_groups(tx, &scope, &env.vpc_id, &security_group_ids)?;
    let (class, capacity) = check_capacity(input, Some(env))?;
    let subnets: Vec<_> = env
        .subnet_ids
        .iter()
        .filter_map(|s| tx.get::<subnet::Subnet>(&scope, s))
        .collect();
    let failure = network_failure(tx, &scope, &env.vpc_id, &subnets, &security_group_ids);
    Ok(Checked {
        version,
        class,
        capacity,
        vpc_id: env.vpc_id.clone(),
        subnet_ids: env.subnet_ids.clone(),
        security_group_ids,
        access_mode,
        endpoint_management: env.endpoint_management.clone(),
        failure,
    })
}

fn check_version(v: &str) -> ApiResult<()> {
    if VERSIONS.contains(&v) {
        return Ok(());
    }
    Err(prefix(format!(
        "Airflow version {v} is not supported. Supported versions: {}.",
        VERSIONS.join(", ")
    )))
}

fn parse_version(v: &str) -> Vec<u32> {
    v.split('.').filter_map(|p| p.parse().ok()).collect()
}

/// Minor upgrades within a major version; 2 → 3 only from the latest 2.x; 3 → 2.11.0 back.
fn check_upgrade(from: &str, to: &str) -> ApiResult<()> {
    let (f, t) = (parse_version(from), parse_version(to));
    let ok = if f.first() == t.first() {
        t > f
    } else if f.first() == Some(&2) && t.first() == Some(&3) {
        from == "2.11.0"
    } else {
        f.first() == Some(&3) && to == "2.11.0"
    };
    if ok {
        Ok(())
    } else {
        Err(prefix(format!(
            "Upgrading from Airflow version {from} to {to} is not supported."
        )))
    }
}

fn check_access_mode(mode: &str, version: &str) -> ApiResult<()> {
    if mode == "PUBLIC_AND_PRIVATE" && parse_version(version) < vec![3, 2] {
        return Err(prefix(format!(
            "WebserverAccessMode PUBLIC_AND_PRIVATE requires Airflow version 3.2 or later; this environment uses {version}."
        )));
    }
    Ok(())
}

/// The execution role must exist in the caller's account and trust both MWAA principals.
fn check_role(ctx: &Ctx<'_>, tx: &Tx<'_>, arn: &str) -> ApiResult<()> {
    let role_prefix = format!(":{}:role/", ctx.account());
    let rest = crate::partition::strip(arn, "iam").and_then(|r| r.strip_prefix(&role_prefix));
    let Some(rest) = rest else {
        return Err(prefix(format!(
            "Provided role {arn} must be a role in account {}.",
            ctx.account()
        )));
    };
    let name = rest.rsplit('/').next().unwrap_or(rest);
    let role = tx
        .get::<iam::Role>(&ctx.global_scope(), &iam::key(name))
        .ok_or_else(|| prefix(format!("Provided role {arn} does not exist.")))?;
    let trusted = trusted_services(&role.assume_role_policy_document);
    for service in ["airflow.amazonaws.com", "airflow-env.amazonaws.com"] {
        if !trusted.iter().any(|s| s == service) {
            return Err(prefix(format!(
                "Provided role {arn} cannot be assumed by {service}. Add airflow.amazonaws.com and airflow-env.amazonaws.com to its trust policy."
            )));
        }
    }
    Ok(())
}

/// Services an `Allow` / `sts:AssumeRole` statement of a trust policy names.
fn trusted_services(document: &str) -> Vec<String> {
    iam::statements(document)
        .iter()
        .filter(|s| iam::about_assume_role(s, "Allow"))
        .flat_map(|s| iam::strings(s.get("Principal").and_then(|p| p.get("Service"))))
        .collect()
}

/// The source bucket as MWAA requires it: a bucket of this account in this region, versioned,
/// with every public access blocked; the plugins, requirements and startup script objects the
/// request names must be in it. `current` is the environment's bucket on an update that names
/// none.
fn check_bucket(ctx: &Ctx<'_>, tx: &Tx<'_>, input: &Value, current: Option<&str>) -> ApiResult<()> {
    if let Some(b) = input::str(input, "SourceBucketArn") {
        if b.ends_with('/') {
            return Err(prefix(format!(
                "SourceBucketArn {b} must be a bucket ARN without a trailing slash."
            )));
        }
    }
    for (path, version) in [
        ("PluginsS3Path", "PluginsS3ObjectVersion"),
        ("RequirementsS3Path", "RequirementsS3ObjectVersion"),
    ] {
        if input::str(input, path).is_some() && input::str(input, version).is_none() {
            return Err(prefix(format!(
                "{version} must be given with {path} (the bucket must be versioned)."
            )));
        }
    }
    let named =
        input::str(input, "SourceBucketArn").map(|arn| arn.rsplit(':').next().unwrap_or(arn));
    let Some(name) = named.or(current) else {
        return Ok(());
    };
    if let Some(name) = named {
        let bucket = tx
            .get::<s3::Bucket>(&s3::buckets(), name)
            .filter(|b| b.owner == ctx.account())
            .ok_or_else(|| {
                // MWAA reads the bucket's public access block first and passes S3's answer on.
                prefix(format!(
                    "Unable to check PublicAccessBlock configuration for the bucket {name}: \
                     The specified bucket does not exist (Service: S3, Status Code: 404)"
                ))
            })?;
        if bucket.region != ctx.region {
            return Err(prefix(format!(
                "Provided bucket {name} is in {}; the bucket of an environment in {} must be in the same region.",
                bucket.region, ctx.region
            )));
        }
        let Some(block) = &bucket.public_access_block else {
            return Err(prefix(format!(
                "Unable to check PublicAccessBlock configuration for the bucket {name}: \
                 The public access block configuration was not found (Service: S3, Status Code: 404)"
            )));
        };
        let all = [
            block.block_public_acls,
            block.ignore_public_acls,
            block.block_public_policy,
            block.restrict_public_buckets,
        ];
        if !all.iter().all(|f| *f == Some(true)) {
            return Err(prefix(format!(
                "Provided bucket does not have BlockPublicAccess set for s3 bucket {name}."
            )));
        }
        if bucket.versioning.as_deref() != Some("Enabled") {
            return Err(prefix(format!(
                "Provided bucket does not have versioning enabled for s3 bucket {name}."
            )));
        }
    }
    for (member, version) in [
        ("PluginsS3Path", "PluginsS3ObjectVersion"),
        ("RequirementsS3Path", "RequirementsS3ObjectVersion"),
        ("StartupScriptS3Path", "StartupScriptS3ObjectVersion"),
    ] {
        let Some(key) = input::str(input, member) else {
            continue;
        };
        let current = tx
            .get::<s3::objects::Object>(&s3::objects_of(name), key)
            .filter(|o| !o.delete_marker);
        if current.is_none() {
            return Err(prefix(format!(
                "Unable to read {member} s3://{name}/{key}: the object does not exist."
            )));
        }
        if let Some(v) = input::str(input, version) {
            if s3::versions::get(tx, name, key, v).is_none_or(|o| o.delete_marker) {
                return Err(prefix(format!(
                    "Unable to read {member} s3://{name}/{key}: version {v} does not exist."
                )));
            }
        }
    }
    Ok(())
}

fn check_groups(tx: &Tx<'_>, scope: &Scope, vpc_id: &str, ids: &[String]) -> ApiResult<()> {
    if ids.is_empty() || ids.len() > 5 {
        return Err(prefix(
            "An environment needs between 1 and 5 security groups.".into(),
        ));
    }
    for id in ids {
        match group(tx, scope, id) {
            Some(g) if g.vpc_id == vpc_id => {}
            _ => {
                return Err(prefix(format!(
                    "Security group {id} does not exist in VPC {vpc_id}."
                )))
            }
        }
    }
    Ok(())
}

/// How many workers, schedulers and webservers an environment runs.
pub struct Capacity {
    pub max_workers: i64,
    pub min_workers: i64,
    pub schedulers: i64,
    pub min_webservers: i64,
    pub max_webservers: i64,
}

impl Checked {
    /// Writes the checked version, class and capacity into an environment's configuration.
    pub fn apply(&self, config: &mut Map<String, Value>) {
        let c = &self.capacity;
        for (k, v) in [
            ("AirflowVersion", json!(self.version)),
            ("EnvironmentClass", json!(self.class)),
            ("MaxWorkers", json!(c.max_workers)),
            ("MinWorkers", json!(c.min_workers)),
            ("Schedulers", json!(c.schedulers)),
            ("MinWebservers", json!(c.min_webservers)),
            ("MaxWebservers", json!(c.max_webservers)),
        ] {
            config.insert(k.to_owned(), v);
        }
    }
}

fn check_capacity(input: &Value, current: Option<&Environment>) -> ApiResult<(String, Capacity)> {
    let old = |k: &str| {
        current
            .and_then(|e| e.config.get(k))
            .and_then(Value::as_i64)
    };
    let class = input::str(input, "EnvironmentClass")
        .map(str::to_owned)
        .or_else(|| {
            current
                .and_then(|e| e.config.get("EnvironmentClass"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "mw1.small".into());
    if !CLASSES.contains(&class.as_str()) {
        return Err(prefix(format!(
            "Environment class {class} is not supported. Supported classes: {}.",
            CLASSES.join(", ")
        )));
    }
    let micro = class == "mw1.micro";
    let get = |k: &str, default: i64| input::int(input, k).or_else(|| old(k)).unwrap_or(default);
    let (max_w, min_w) = if micro {
        (get("MaxWorkers", 1), get("MinWorkers", 1))
    } else {
        (get("MaxWorkers", 10), get("MinWorkers", 1))
    };
    let schedulers = get("Schedulers", if micro { 1 } else { 2 });
    let (min_ws, max_ws) = (
        get("MinWebservers", if micro { 1 } else { 2 }),
        get("MaxWebservers", if micro { 1 } else { 2 }),
    );
    if micro {
        if max_w != 1 || min_w != 1 || schedulers != 1 || min_ws != 1 || max_ws != 1 {
            return Err(prefix(
                "mw1.micro environments run exactly one worker, one scheduler and one webserver."
                    .into(),
            ));
        }
    } else {
        if !(1..=MAX_WORKERS).contains(&max_w) || min_w < 1 || min_w > max_w {
            return Err(prefix(format!(
                "MaxWorkers must be between 1 and {MAX_WORKERS}, and MinWorkers between 1 and MaxWorkers (got {min_w}..{max_w})."
            )));
        }
        if !(2..=5).contains(&schedulers) {
            return Err(prefix(format!(
                "Schedulers must be between 2 and 5 for {class} (got {schedulers})."
            )));
        }
        if !(2..=5).contains(&min_ws) || !(2..=5).contains(&max_ws) || min_ws > max_ws {
            return Err(prefix(format!(
                "MinWebservers and MaxWebservers must be between 2 and 5 for {class}, MinWebservers at most MaxWebservers (got {min_ws}..{max_ws})."
            )));
        }
    }
    Ok((
        class,
        Capacity {
            max_workers: max_w,
            min_workers: min_w,
            schedulers,
            min_webservers: min_ws,
            max_webservers: max_ws,
        },
    ))
}

/// Problems AWS finds only while building the environment: no security group lets the
/// environment's parts reach each other, or the private subnets can reach neither the internet
/// (through a NAT gateway) nor the VPC endpoints private routing needs.
fn network_failure(
    tx: &Tx<'_>,
    scope: &Scope,
    vpc_id: &str,
    subnets: &[std::sync::Arc<subnet::Subnet>],
    groups: &[String],
) -> Option<Failure> {
    let self_referencing = groups.iter().filter_map(|g| group(tx, scope, g)).any(|g| {
        g.rules
            .iter()
            .any(|r| !r.egress && r.group_id.as_deref() == Some(g.id.as_str()))
    });
    if !self_referencing {
        return Some(failure("INCORRECT_CONFIGURATION", INCORRECT_CONFIGURATION));
    }
    let outbound = subnets.iter().all(|s| {
        routes::table_of_subnet(tx, scope, s).is_some_and(|t| {
            t.routes.iter().any(|r| {
                r.destination_cidr.as_deref() == Some("0.0.0.0/0") && r.nat_gateway_id.is_some()
            })
        })
    });
    if outbound {
        return None;
    }
    let endpoints = tx.list::<vpce::VpcEndpoint>(scope);
    let has = |short: &str| {
        let name = format!("com.amazonaws.{}.{short}", scope.region);
        endpoints
            .iter()
            .any(|e| e.vpc_id == vpc_id && e.service_name == name)
    };
    if PRIVATE_ROUTING.iter().all(|s| has(s)) && has("s3") {
        return None;
    }
    Some(failure("INCORRECT_CONFIGURATION", INCORRECT_CONFIGURATION))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_policies() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["airflow.amazonaws.com","airflow-env.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(
            trusted_services(doc),
            ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
        );
        let deny = r#"{"Statement":{"Effect":"Deny","Principal":{"Service":"airflow.amazonaws.com"},"Action":"sts:AssumeRole"}}"#;
        assert!(trusted_services(deny).is_empty());
    }

    #[test]
    fn upgrade_paths() {
        assert!(check_upgrade("2.10.3", "2.11.0").is_ok());
        assert!(check_upgrade("2.11.0", "3.0.6").is_ok());
        assert!(check_upgrade("2.10.3", "3.0.6").is_err());
        assert!(check_upgrade("3.0.6", "2.11.0").is_ok());
        assert!(check_upgrade("2.11.0", "2.10.3").is_err());
    }
}
