//! Amazon MWAA (rest-json, signing name `airflow`): environments, their lifecycle, the VPC
//! endpoints MWAA creates in the customer's VPC, tags, and tokens.

pub mod access;
pub mod airflow;
pub mod dags;
pub mod dataplane;
pub mod dns;
pub mod lifecycle;
mod out;
mod tagging;
mod tokens;
mod validate;

use out::{GetOut, ListOut};
use tagging::{list_tags, tag_resource, untag_resource};
pub use tokens::{check_cli_token, redeem_token, Token, TokenKind};
use tokens::{create_token, invoke_rest_api};

use crate::ec2::{nat, routes, sg, subnet, vpce};
use crate::service::{ops, Service};
use crate::Clock;
use crate::{ids, input, Ctx};
use airlock_dto::mwaa as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Kind, Read, Scope, Store, Tx};
use lifecycle::{Failure, Phase};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The AWS account that owns MWAA's SQS queues.
const SERVICE_ACCOUNT: &str = "327618914214";
/// Tokens are good for one minute and one use.
const TOKEN_SECS: i64 = 60;
/// Environments per account and region.
const QUOTA: usize = 10;

pub fn record_kinds() -> Vec<Kind> {
    vec![
        Kind::of::<Environment>(),
        Kind::of::<Token>(),
        Kind::of::<airflow::DagRun>(),
    ]
}

/// MWAA's registration.
pub static SERVICE: Service = Service {
    name: "mwaa",
    ops: ops! {
        "GetEnvironment" => Output(get_environment),
        "ListEnvironments" => Output(list_environments),
        "CreateEnvironment" => Output(create_environment),
        "UpdateEnvironment" => Output(update_environment),
        "DeleteEnvironment" => Output(delete_environment),
        "TagResource" => Output(tag_resource),
        "UntagResource" => Output(untag_resource),
        "ListTagsForResource" => Output(list_tags),
        "CreateCliToken" => Output(|ctx, input| create_token(ctx, input, TokenKind::Cli)),
        "CreateWebLoginToken" => Output(|ctx, input| create_token(ctx, input, TokenKind::Web)),
        "InvokeRestApi" => Output(invoke_rest_api),
        "PublishMetrics" => Output(publish_metrics),
    },
    records: record_kinds,
    tick: Some(tick),
    dns: dns::ZONES,
    wants: Some(dataplane::wants),
    iam: crate::authz::Iam {
        access,
        ..crate::authz::Iam::new("airflow", "AccessDeniedException", 403)
    },
    endpoints: &["airflow.api", "airflow.env", "airflow.ops"],
    ..Service::NOTHING
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Environment {
    pub name: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// The configuration as `Environment` members (AirflowVersion, EnvironmentClass, ...).
    pub config: Map<String, Value>,
    pub tags: BTreeMap<String, String>,
    pub vpc_id: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub access_mode: String,
    pub endpoint_management: String,
    /// The stable part of the webserver hostname.
    pub host_id: String,
    pub cell: u32,
    pub webserver_service: Option<String>,
    pub database_service: String,
    /// Endpoints MWAA created (SERVICE endpoint management).
    pub webserver_endpoint: Option<String>,
    pub database_endpoint: Option<String>,
    pub celery_queue: String,
    /// The public webserver's address (PUBLIC_ONLY), from the public loopback range.
    #[serde(default)]
    pub public_ip: Option<String>,
    pub phase: Phase,
    /// What an update that will fail rolls back to (UPDATE_FAILED means "rolled back").
    #[serde(default)]
    pub rollback: Option<Rollback>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rollback {
    pub config: Map<String, Value>,
    pub security_group_ids: Vec<String>,
}

// Found by the stable part of its webserver hostname in any account (DNS).
airlock_store::record!(Environment, "mwaa.environment", name, name: host_id);

impl Environment {
    pub fn private_webserver(&self) -> bool {
        self.access_mode != "PUBLIC_ONLY"
    }

    /// `WebserverUrl`: hostname only, as AWS prints it.
    pub fn webserver_host(&self) -> String {
        let private = if self.private_webserver() {
            "-vpce"
        } else {
            ""
        };
        format!(
            "{}{private}.c{}.{}.airflow.{}",
            self.host_id,
            self.cell,
            self.region,
            crate::partition::dns_suffix(&self.region)
        )
    }

    /// The name of the source bucket (`SourceBucketArn`'s last part).
    pub fn source_bucket(&self) -> Option<&str> {
        let arn = self.config.get("SourceBucketArn")?.as_str()?;
        arn.rsplit(':').next().filter(|b| !b.is_empty())
    }

    /// The DAG folder's key prefix: `DagS3Path` with one trailing slash.
    pub fn dag_folder(&self) -> String {
        let path = self
            .config
            .get("DagS3Path")
            .and_then(Value::as_str)
            .unwrap_or("dags")
            .trim_matches('/');
        format!("{path}/")
    }

    pub fn airflow3(&self) -> bool {
        self.config
            .get("AirflowVersion")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with('3'))
    }

    /// The full endpoint service name of one of its services (`com.amazonaws.vpce.<region>.<id>`).
    pub fn service_name(&self, id: &str) -> String {
        crate::ec2::vpce::custom_service_name(&self.region, id)
    }

    /// When the customer's endpoints to this environment's services became available (CUSTOMER
    /// endpoint management); `None` inside when they are not all there.
    fn customer_endpoints(
        &self,
        clock: Clock,
        endpoints: &[std::sync::Arc<vpce::VpcEndpoint>],
    ) -> Option<Option<OffsetDateTime>> {
        if self.endpoint_management != "CUSTOMER" {
            return None;
        }
        let mut needed = vec![self.service_name(&self.database_service)];
        if let Some(w) = &self.webserver_service {
            needed.push(self.service_name(w));
        }
        let mut ready = OffsetDateTime::UNIX_EPOCH;
        for n in needed {
            match endpoints
                .iter()
                .filter(|e| e.vpc_id == self.vpc_id && e.service_name == n)
                .map(|e| e.available_at(clock))
                .min()
            {
                Some(t) => ready = ready.max(t),
                None => return Some(None),
            }
        }
        Some(Some(ready))
    }

    pub fn seen(
        &self,
        clock: Clock,
        endpoints: &[std::sync::Arc<vpce::VpcEndpoint>],
    ) -> lifecycle::Seen {
        lifecycle::seen(
            &self.phase,
            clock,
            self.customer_endpoints(clock, endpoints),
        )
    }
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(
        "ResourceNotFoundException",
        format!("Environment {name} not found."),
    )
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("ValidationException", message)
}

/// The environment as a client sees it now (in a snapshot or a transaction), or
/// ResourceNotFound.
fn visible<R: Read>(
    ctx: &Ctx<'_>,
    r: &R,
    name: &str,
) -> ApiResult<(std::sync::Arc<Environment>, lifecycle::Seen)> {
    let scope = ctx.scope();
    let env = r
        .get::<Environment>(&scope, name)
        .ok_or_else(|| not_found(name))?;
    let endpoints = r.list_in::<vpce::VpcEndpoint>(&scope, &env.vpc_id);
    let seen = env.seen(ctx.clock, &endpoints);
    if seen.status.is_none() {
        return Err(not_found(name));
    }
    Ok((env, seen))
}

fn hex_hash(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn log_groups(name: &str, region: &str, account: &str, logging: &Value) -> Value {
    let mut out = Map::new();
    for (member, suffix, default_on) in [
        ("DagProcessingLogs", "DAGProcessing", false),
        ("SchedulerLogs", "Scheduler", false),
        ("TaskLogs", "Task", true),
        ("WebserverLogs", "WebServer", false),
        ("WorkerLogs", "Worker", false),
    ] {
        let given = logging.get(member);
        let enabled = given
            .and_then(|g| g.get("Enabled"))
            .and_then(Value::as_bool)
            .unwrap_or(default_on);
        let level = given
            .and_then(|g| g.get("LogLevel"))
            .and_then(Value::as_str)
            .unwrap_or("INFO");
        let mut m = json!({"Enabled": enabled, "LogLevel": level});
        if enabled {
            m["CloudWatchLogGroupArn"] = json!(crate::partition::arn(
                region,
                "logs",
                account,
                &format!("log-group:airflow-{name}-{suffix}")
            ));
        }
        out.insert(member.to_owned(), m);
    }
    Value::Object(out)
}

/// The members of CreateEnvironment/UpdateEnvironment that are stored and echoed as given.
const ECHOED: &[&str] = &[
    "AirflowConfigurationOptions",
    "DagS3Path",
    "ExecutionRoleArn",
    "KmsKey",
    "PluginsS3Path",
    "PluginsS3ObjectVersion",
    "RequirementsS3Path",
    "RequirementsS3ObjectVersion",
    "SourceBucketArn",
    "StartupScriptS3Path",
    "StartupScriptS3ObjectVersion",
    "WeeklyMaintenanceWindowStart",
    "Teams",
    "IdentityCenterConfiguration",
];

fn create_environment(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = input::req(input, "Name")?.to_owned();
    let scope = ctx.scope();
    let env = ctx.store.write(|tx| {
        if let Some(existing) = tx.get::<Environment>(&scope, &name) {
            let endpoints = tx.list_in::<vpce::VpcEndpoint>(&scope, &existing.vpc_id);
            if existing.seen(ctx.clock, &endpoints).status.is_some() {
                return Err(invalid(format!("Invalid request provided: Environment {name} already exists.")));
            }
            finish_deletion(tx, &scope, &existing)?;
        }
        let live = tx.list::<Environment>(&scope).len();
        if live >= QUOTA {
            return Err(invalid(format!(
                "Invalid request provided: You have reached the quota of {QUOTA} environments in this Region."
            )));
        }
        let checked = validate::create(ctx, tx, input)?;
        crate::iam::ensure_mwaa_service_linked_role(tx, &ctx.region, ctx.account())?;
        let host_id = uuid::Uuid::new_v4().to_string();
        let cell = 1 + (u32::from_be_bytes(Sha256::digest(host_id.as_bytes())[..4].try_into().unwrap_or([0; 4])) % 70);
        let database_service = ids::resource_id("vpce-svc");
        let webserver_service = (checked.access_mode != "PUBLIC_ONLY").then(|| ids::resource_id("vpce-svc"));
        let mut config = Map::new();
        for k in ECHOED {
            if let Some(v) = input.get(*k) {
                config.insert((*k).to_owned(), v.clone());
            }
        }
        checked.apply(&mut config);
        config.entry("WeeklyMaintenanceWindowStart").or_insert_with(|| json!("FRI:12:00"));
        config.entry("AirflowConfigurationOptions").or_insert_with(|| json!({}));
        config.insert(
            "LoggingConfiguration".into(),
            log_groups(&name, &ctx.region, ctx.account(), input.get("LoggingConfiguration").unwrap_or(&Value::Null)),
        );
        let mut env = Environment {
            name: name.clone(),
            arn: crate::partition::arn(&ctx.region, "airflow", ctx.account(), &format!("environment/{name}")),
            account: ctx.account().to_owned(),
            region: ctx.region.clone(),
            created: ctx.clock.now(),
            config,
            tags: tags_of(input.get("Tags")),
            vpc_id: checked.vpc_id.clone(),
            subnet_ids: checked.subnet_ids.clone(),
            security_group_ids: checked.security_group_ids.clone(),
            access_mode: checked.access_mode.clone(),
            endpoint_management: checked.endpoint_management.clone(),
            host_id,
            cell,
            webserver_service,
            database_service,
            webserver_endpoint: None,
            database_endpoint: None,
            celery_queue: crate::partition::arn(&ctx.region, "sqs", SERVICE_ACCOUNT, &format!("airflow-celery-{}", uuid::Uuid::new_v4())),
            public_ip: None,
            rollback: None,
            phase: Phase::Creating { since: ctx.clock.now(), failure: checked.failure.clone() },
        };
        publish_services(tx, &env)?;
        set_public_ip(tx, &mut env)?;
        if env.endpoint_management == "SERVICE" {
            env.database_endpoint = Some(create_endpoint(ctx, tx, &env, &env.database_service.clone())?);
            if let Some(w) = env.webserver_service.clone() {
                env.webserver_endpoint = Some(create_endpoint(ctx, tx, &env, &w)?);
            }
        }
        tx.put(&scope, env.clone())?;
        Ok(env)
    })?;
    Ok(Output::new(dto::CreateEnvironmentOutput {
        arn: Some(env.arn),
    }))
}

fn tags_of(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The environment's endpoint services, offered in its region.
fn publish_services(tx: &mut Tx<'_>, env: &Environment) -> ApiResult<()> {
    let scope = vpce::services_scope(&env.region);
    let tags = vec![crate::tags::Tag {
        key: "AmazonMWAAEnvironment".into(),
        value: env.arn.clone(),
    }];
    for id in env
        .webserver_service
        .iter()
        .chain(std::iter::once(&env.database_service))
    {
        tx.put(
            &scope,
            vpce::EndpointService {
                id: id.clone(),
                owner: SERVICE_ACCOUNT.into(),
                tags: tags.clone(),
            },
        )?;
    }
    Ok(())
}

/// An interface endpoint MWAA creates in the environment's subnets (SERVICE endpoint management).
fn create_endpoint(
    ctx: &Ctx<'_>,
    tx: &mut Tx<'_>,
    env: &Environment,
    service_id: &str,
) -> ApiResult<String> {
    let e = vpce::create_in(
        ctx,
        tx,
        vpce::EndpointRequest {
            vpc_id: env.vpc_id.clone(),
            service_name: env.service_name(service_id),
            endpoint_type: "Interface".into(),
            subnet_ids: env.subnet_ids.clone(),
            security_group_ids: env.security_group_ids.clone(),
            private_dns_enabled: Some(false),
            tags: vec![crate::tags::Tag {
                key: "AmazonMWAAManaged".into(),
                value: "true".into(),
            }],
            ..Default::default()
        },
    )?;
    Ok(e.id)
}

/// Removes what the environment made: its endpoints, endpoint services and the record.
fn finish_deletion(tx: &mut Tx<'_>, scope: &Scope, env: &Environment) -> ApiResult<()> {
    for e in env
        .webserver_endpoint
        .iter()
        .chain(env.database_endpoint.iter())
    {
        vpce::delete_in(tx, scope, e)?;
    }
    let services = vpce::services_scope(&env.region);
    for s in env
        .webserver_service
        .iter()
        .chain(std::iter::once(&env.database_service))
    {
        tx.delete::<vpce::EndpointService>(&services, s);
    }
    for t in tx
        .list::<Token>(scope)
        .into_iter()
        .filter(|t| t.environment == env.name)
    {
        tx.delete::<Token>(scope, &t.token);
    }
    if let Some(ip) = &env.public_ip {
        nat::release_public_ip(tx, ip);
    }
    tx.delete::<Environment>(scope, &env.name);
    Ok(())
}

/// A public webserver gets an address from the public range; a private one gives it back.
fn set_public_ip(tx: &mut Tx<'_>, env: &mut Environment) -> ApiResult<()> {
    match (env.private_webserver(), &env.public_ip) {
        (false, None) => env.public_ip = Some(nat::take_public_ip(tx, &env.account)?),
        (true, Some(ip)) => {
            nat::release_public_ip(tx, ip);
            env.public_ip = None;
        }
        _ => {}
    }
    Ok(())
}

/// Persists finished phases: environments that became available or failed, and deletions that
/// completed (their endpoints go with them). Called by the server's ticker.
pub fn tick(store: &Store, _config: &crate::Config, clock: Clock) -> ApiResult<usize> {
    let due: Vec<(Scope, std::sync::Arc<Environment>, Option<Phase>)> = store.read(|v| {
        let mut due = Vec::new();
        for (scope, env) in v.list_all::<Environment>() {
            let endpoints = v.list_in::<vpce::VpcEndpoint>(&scope, &env.vpc_id);
            let seen = env.seen(clock, &endpoints);
            if seen.status.is_none() || seen.settled.is_some() {
                due.push((scope, env, seen.settled));
            }
        }
        due
    });
    if due.is_empty() {
        return Ok(0);
    }
    store.write(|tx| {
        for (scope, env, settled) in &due {
            match settled {
                Some(phase) => {
                    let mut e = (**env).clone();
                    e.phase = phase.clone();
                    if let (Phase::UpdateFailed { .. }, Some(r)) = (phase, e.rollback.take()) {
                        e.config = r.config;
                        if e.security_group_ids != r.security_group_ids {
                            e.security_group_ids = r.security_group_ids;
                            for ep in e
                                .webserver_endpoint
                                .iter()
                                .chain(e.database_endpoint.iter())
                            {
                                set_endpoint_groups(tx, scope, ep, &e.security_group_ids)?;
                            }
                        }
                    }
                    e.rollback = None;
                    tx.put(scope, e)?;
                }
                None => finish_deletion(tx, scope, env)?,
            }
        }
        Ok::<_, ApiError>(due.len())
    })
}

fn get_environment(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = input::req(input, "Name")?;
    let (env, seen) = ctx.store.read(|v| visible(ctx, v, name))?;
    // The answer is a function of the record and of what its lifecycle shows now: the cache
    // keeps its text for this version of the record under `seen`.
    Ok(Output::cached(env.clone(), seen.clone(), GetOut(env, seen)))
}

fn list_environments(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let scope = ctx.scope();
    let names: Vec<String> = ctx.store.read(|v| {
        v.list::<Environment>(&scope)
            .iter()
            .filter(|e| {
                let endpoints = v.list_in::<vpce::VpcEndpoint>(&scope, &e.vpc_id);
                e.seen(ctx.clock, &endpoints).status.is_some()
            })
            .map(|e| e.name.clone())
            .collect()
    });
    let max = input::int(input, "MaxResults").unwrap_or(25) as usize;
    let start = match input::str(input, "NextToken") {
        Some(t) => {
            use base64::Engine;
            let after = base64::engine::general_purpose::STANDARD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid("Invalid request provided: The NextToken is not valid."))?;
            names.iter().position(|n| *n > after).unwrap_or(names.len())
        }
        None => 0,
    };
    let page: Vec<String> = names.iter().skip(start).take(max).cloned().collect();
    let mut next_token = None;
    if start + max < names.len() {
        use base64::Engine;
        next_token = page
            .last()
            .map(|last| base64::engine::general_purpose::STANDARD.encode(last.as_bytes()));
    }
    Ok(Output::new(ListOut {
        environments: page,
        next_token,
    }))
}

fn update_environment(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = input::req(input, "Name")?.to_owned();
    let scope = ctx.scope();
    let env = ctx.store.write(|tx| {
        let (env, seen) = visible(ctx, tx, &name)?;
        match seen.status {
            Some("AVAILABLE") | Some("UPDATE_FAILED") => {}
            Some("CREATE_FAILED") => return Err(invalid("Environments with CREATE_FAILED status cannot be updated.")),
            Some(s) => {
                return Err(invalid(format!(
                    "Invalid request provided: Environment {name} is in {s} state and cannot be updated until it is AVAILABLE or UPDATE_FAILED."
                )))
            }
            None => return Err(not_found(&name)),
        }
        let mut env = (*env).clone();
        let checked = validate::update(ctx, tx, &env, input)?;
        env.rollback = checked
            .failure
            .as_ref()
            .map(|_| Rollback { config: env.config.clone(), security_group_ids: env.security_group_ids.clone() });
        let upgrade = checked.version != env.config.get("AirflowVersion").and_then(Value::as_str).unwrap_or("");
        for k in ECHOED {
            if let Some(v) = input.get(*k) {
                env.config.insert((*k).to_owned(), v.clone());
            }
        }
        checked.apply(&mut env.config);
        if let Some(l) = input.get("LoggingConfiguration") {
            env.config.insert("LoggingConfiguration".into(), log_groups(&env.name, &env.region, &env.account, l));
        }
        if checked.security_group_ids != env.security_group_ids {
            env.security_group_ids = checked.security_group_ids.clone();
            for e in env.webserver_endpoint.iter().chain(env.database_endpoint.iter()) {
                set_endpoint_groups(tx, &scope, e, &env.security_group_ids)?;
            }
        }
        if checked.access_mode != env.access_mode {
            let was_private = env.private_webserver();
            env.access_mode = checked.access_mode.clone();
            if env.private_webserver() && !was_private {
                let w = ids::resource_id("vpce-svc");
                env.webserver_service = Some(w.clone());
                publish_services(tx, &env)?;
                if env.endpoint_management == "SERVICE" {
                    env.webserver_endpoint = Some(create_endpoint(ctx, tx, &env, &w)?);
                }
            } else if !env.private_webserver() && was_private {
                if let Some(e) = env.webserver_endpoint.take() {
                    vpce::delete_in(tx, &scope, &e)?;
                }
                if let Some(s) = env.webserver_service.take() {
                    tx.delete::<vpce::EndpointService>(&vpce::services_scope(&env.region), &s);
                }
            }
        }
        set_public_ip(tx, &mut env)?;
        env.phase = Phase::Updating {
            since: ctx.clock.now(),
            upgrade,
            failure: checked.failure,
            strategy: input::str(input, "WorkerReplacementStrategy").map(str::to_owned),
        };
        tx.put(&scope, env.clone())?;
        Ok(env)
    })?;
    Ok(Output::new(dto::UpdateEnvironmentOutput {
        arn: Some(env.arn),
    }))
}

fn set_endpoint_groups(
    tx: &mut Tx<'_>,
    scope: &Scope,
    endpoint_id: &str,
    groups: &[String],
) -> ApiResult<()> {
    let Some(e) = tx.get::<vpce::VpcEndpoint>(scope, endpoint_id) else {
        return Ok(());
    };
    let mut e = (*e).clone();
    e.groups = groups.to_vec();
    for eni_id in &e.eni_ids {
        if let Some(n) = tx.get::<crate::ec2::eni::NetworkInterface>(scope, eni_id) {
            let mut n = (*n).clone();
            n.groups = groups.to_vec();
            tx.put(scope, n)?;
        }
    }
    tx.put(scope, e)?;
    Ok(())
}

fn delete_environment(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = input::req(input, "Name")?.to_owned();
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let (env, seen) = visible(ctx, tx, &name)?;
        if seen.status == Some("DELETING") {
            return Err(invalid(format!(
                "Invalid request provided: Environment {name} is already being deleted."
            )));
        }
        let mut env = (*env).clone();
        env.phase = Phase::Deleting {
            since: ctx.clock.now(),
        };
        tx.put(&scope, env)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::DeleteEnvironmentOutput {}))
}

fn publish_metrics(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = input::req(input, "EnvironmentName")?;
    ctx.store.read(|v| visible(ctx, v, name))?;
    Ok(Output::new(dto::PublishMetricsOutput {}))
}

/// Re-exported for validation.
pub(crate) fn subnet_is_public(tx: &Tx<'_>, scope: &Scope, s: &subnet::Subnet) -> bool {
    routes::subnet_is_public(tx, scope, s)
}

pub(crate) fn group(
    tx: &Tx<'_>,
    scope: &Scope,
    id: &str,
) -> Option<std::sync::Arc<sg::SecurityGroup>> {
    tx.get::<sg::SecurityGroup>(scope, id)
}

pub(crate) fn failure(code: &str, message: &str) -> Failure {
    Failure {
        code: code.into(),
        message: message.into(),
    }
}

/// What an MWAA operation needs: its action on the environment it names
/// (`arn:<partition>:airflow:<region>:<account>:environment/<name>`), the resource it names, or `*`;
/// CreateWebLoginToken and InvokeRestApi act on an Airflow role of the environment
/// (`…:role/<environment>/<role>`), any of which will do.
fn access(c: &crate::authz::Call<'_>) -> Vec<crate::authz::Access> {
    let (region, account) = (&c.ctx.region, c.ctx.account());
    let name = c.str("Name").or(c.str("EnvironmentName"));
    match (c.op, name) {
        ("TagResource" | "UntagResource" | "ListTagsForResource", _) => {
            c.on_member(&["ResourceArn"])
        }
        ("CreateWebLoginToken" | "InvokeRestApi", Some(name)) => vec![crate::authz::Access {
            resources: airflow::ROLES
                .iter()
                .map(|r| {
                    crate::partition::arn(region, "airflow", account, &format!("role/{name}/{r}"))
                })
                .collect(),
            ..crate::authz::Access::new(c.action(), "*")
        }],
        (_, Some(name)) => {
            let tags = match c.wants_tags() {
                true => c
                    .ctx
                    .store
                    .read(|v| v.get::<Environment>(&c.ctx.scope(), name))
                    .map(|e| e.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
                false => Vec::new(),
            };
            let arn =
                crate::partition::arn(region, "airflow", account, &format!("environment/{name}"));
            vec![crate::authz::Access::new(c.action(), arn).with_tags(None, tags)]
        }
        (_, None) => c.default_access(),
    }
}
