//! AWS Security Token Service: GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity
//! (`web_identity.rs`), GetSessionToken, GetFederationToken and GetAccessKeyInfo.
//!
//! AssumeRole, GetSessionToken and GetFederationToken issue session credentials (`ASIA...` key,
//! secret and session token) and keep them as [`Session`] records in
//! [`crate::auth::credentials_scope`], keyed by access key id, so that [`crate::auth::resolve`]
//! finds them whatever the account. A role's trust policy decides who may assume it
//! ([`trusts`]). Access key ids carry their account as AWS's do ([`crate::ids::access_key_id`]),
//! which is what GetAccessKeyInfo reads.

pub mod web_identity;

use crate::auth::credentials_scope;
use crate::iam::{self, Role};
use crate::service::{ops, Service};
use crate::{input, Ctx};
use airlock_dto::sts::{
    AssumeRoleRequest, AssumeRoleResponse, AssumedRoleUser, Credentials, FederatedUser,
    GetAccessKeyInfoRequest, GetAccessKeyInfoResponse, GetCallerIdentityResponse,
    GetFederationTokenRequest, GetFederationTokenResponse, GetSessionTokenRequest,
    GetSessionTokenResponse, PolicyDescriptorType, Tag,
};
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::Kind;
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub fn record_kinds() -> Vec<Kind> {
    vec![Kind::of::<Session>()]
}

/// STS's registration.
pub static SERVICE: Service = Service {
    name: "sts",
    ops: ops! {
        "GetCallerIdentity" => Output(get_caller_identity),
        "AssumeRole" => Output(assume_role),
        "AssumeRoleWithWebIdentity" => Output(web_identity::assume_role_with_web_identity),
        "GetSessionToken" => Output(get_session_token),
        "GetFederationToken" => Output(get_federation_token),
        "GetAccessKeyInfo" => Output(get_access_key_info),
    },
    records: record_kinds,
    iam: crate::authz::Iam {
        access,
        ..crate::authz::Iam::new("sts", "AccessDenied", 403)
    },
    endpoints: &["sts"],
    ..Service::NOTHING
};

/// Whom a session's credentials act as.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionKind {
    /// AssumeRole: the role (`role_*`), as session `session_name`.
    #[default]
    AssumedRole,
    /// GetSessionToken: the caller itself (`source_arn`, an IAM user or the root), whose
    /// `UserId` is `user_id`.
    Caller { user_id: String },
    /// GetFederationToken: federated user `session_name`, with the permissions that both the IAM
    /// user (or root) `source_arn` and the session policies grant.
    Federated,
}

/// Temporary credentials issued by AssumeRole, GetSessionToken or GetFederationToken (the
/// `role_*` fields are empty for the last two).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// `ASIA...`
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// The role's account: the account the session acts in.
    pub account: String,
    pub role_name: String,
    /// `AROA...` of the role.
    pub role_id: String,
    pub role_arn: String,
    pub session_name: String,
    /// `arn:<partition>:sts::<acct>:assumed-role/<role>/<session>`
    pub arn: String,
    /// Unix seconds after which the credentials are refused.
    pub expires_at: i64,
    /// Who called AssumeRole.
    pub source_arn: String,
    #[serde(default)]
    pub source_identity: Option<String>,
    /// AssumeRole's inline session policy: the session may do only what it allows too.
    #[serde(default)]
    pub policy: Option<String>,
    /// AssumeRole's `PolicyArns`: managed session policies.
    #[serde(default)]
    pub policy_arns: Vec<String>,
    #[serde(default)]
    pub kind: SessionKind,
}

impl Session {
    /// `UserId` of the session's principal: `<role id>:<session name>` for a role,
    /// `<account>:<name>` for a federated user, the caller's own for GetSessionToken.
    pub fn user_id(&self) -> String {
        match &self.kind {
            SessionKind::AssumedRole => format!("{}:{}", self.role_id, self.session_name),
            SessionKind::Caller { user_id } => user_id.clone(),
            SessionKind::Federated => format!("{}:{}", self.account, self.session_name),
        }
    }
}

airlock_store::record!(Session, "sts.session", access_key_id);

pub fn get_caller_identity(ctx: &Ctx<'_>, _input: &Value) -> ApiResult<Output> {
    Ok(Output::new(GetCallerIdentityResponse {
        account: Some(ctx.principal.account.clone()),
        arn: Some(ctx.principal.arn.clone()),
        user_id: Some(ctx.principal.user_id.clone()),
    }))
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new("ValidationError", message)
}

/// A long opaque session token in the style of AWS's (base64 that starts with the same bytes).
fn session_token(min_len: usize) -> String {
    let mut bytes = vec![0u8; 272.max(min_len * 3 / 4 + 3)];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!(
        "IQoJb3JpZ2luX2Vj{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Whether a role's trust policy lets `who` assume it: an `Allow` statement for `sts:AssumeRole`
/// whose `AWS` principal is `*`, the caller's account (`123456789012` or its `:root` ARN), the
/// caller's ARN, or the role of the caller's session; and no `Deny` statement that matches.
/// (AWS refuses root credentials outright; Airlock lets them through when the account is trusted,
/// so the default `test` key can assume roles.)
pub fn trusts(document: &str, who: &crate::Principal) -> bool {
    // ARNs compared in any partition: what follows `arn:<partition>:iam:`.
    let session_role = crate::partition::strip(&who.arn, "sts").and_then(|rest| {
        let (account, path) = rest.split_once(":assumed-role/")?;
        let role = path.split('/').next()?;
        Some(format!("{account}:role/{role}"))
    });
    let root = format!(":{}:root", who.account);
    let names_caller = |statement: &Value| {
        let principals = match statement.get("Principal") {
            Some(Value::String(s)) if s == "*" => vec!["*".to_owned()],
            Some(p) => iam::strings(p.get("AWS")),
            None => Vec::new(),
        };
        principals.iter().any(|p| {
            p == "*"
                || *p == who.account
                || *p == who.arn
                || crate::partition::strip(p, "iam")
                    .is_some_and(|r| r == root || session_role.as_deref() == Some(r))
        })
    };
    let statements = iam::statements(document);
    let any = |effect: &str| {
        statements
            .iter()
            .any(|s| iam::about_assume_role(s, effect) && names_caller(s))
    };
    !any("Deny") && any("Allow")
}

/// GetCallerIdentity, GetSessionToken and AssumeRoleWithWebIdentity (unsigned: the role's trust
/// policy decides, in the operation) need no permission; AssumeRole needs `sts:AssumeRole` on the role, whose
/// trust policy is the resource-based policy (a trust policy that names the caller itself
/// suffices; one that names only the account leaves it to the caller's own policies).
fn access(c: &crate::authz::Call<'_>) -> Vec<crate::authz::Access> {
    // Authentication operations: policies do not control them.
    if matches!(
        c.op,
        "GetCallerIdentity" | "GetSessionToken" | "AssumeRoleWithWebIdentity"
    ) {
        return Vec::new();
    }
    let Some(arn) = c.str("RoleArn") else {
        return c.default_access();
    };
    let trust = c.ctx.store.read(|v| {
        iam::roles::find_by_arn(|s, id| v.get::<Role>(s, id), arn)
            .map(|(_, r)| r.assume_role_policy_document.clone())
    });
    vec![crate::authz::Access {
        resource_policy: trust,
        ..crate::authz::Access::new(c.action(), arn)
    }]
}

/// Session policies (an inline document, managed policy ARNs) and session tags, checked as STS
/// checks them: the estimated packed size in percent of the allowance, when there are any.
fn session_policies(
    policy: Option<&str>,
    policy_arns: &[PolicyDescriptorType],
    tags: &[Tag],
) -> ApiResult<Option<usize>> {
    if let Some(p) = policy {
        if serde_json::from_str::<Value>(p)
            .map(|v| !v.is_object())
            .unwrap_or(true)
        {
            return Err(ApiError::new(
                "MalformedPolicyDocument",
                "The policy is not in the valid JSON format.",
            ));
        }
    }
    if policy_arns.len() > 10 {
        return Err(validation("1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"));
    }
    let packed = (policy.is_some() || !policy_arns.is_empty() || !tags.is_empty()).then(|| {
        // An estimate of AWS's compressed size as a percentage of the allowance (unverified).
        let size =
            policy.map(iam::document_size).unwrap_or(0) + 60 * policy_arns.len() + 30 * tags.len();
        ((size * 100).div_ceil(6144)).max(1)
    });
    if let Some(p) = packed.filter(|p| *p > 100) {
        return Err(ApiError::new(
            "PackedPolicyTooLarge",
            format!("Packed policy consumes {p}% of allotted space, please use smaller policy for the RoleSessionName"),
        ));
    }
    Ok(packed)
}

/// When credentials issued now for `duration` seconds expire (whole seconds, as AWS's do).
fn expiration(ctx: &Ctx<'_>, duration: i64) -> time::OffsetDateTime {
    let now = ctx.clock.now();
    (now + time::Duration::seconds(duration))
        .replace_millisecond(0)
        .unwrap_or(now)
}

/// Keeps `session` under a new `ASIA…` key id of its account (forgetting sessions that have
/// expired) and returns it.
fn issue(
    ctx: &Ctx<'_>,
    tx: &mut airlock_store::Tx<'_>,
    mut session: Session,
) -> Result<Session, airlock_store::StoreError> {
    let key_scope = credentials_scope();
    let now = ctx.clock.now().unix_timestamp();
    for old in tx.list::<Session>(&key_scope) {
        if old.expires_at <= now {
            tx.delete::<Session>(&key_scope, &old.access_key_id);
        }
    }
    session.access_key_id = loop {
        let id = crate::ids::access_key_id("ASIA", &session.account);
        if tx.get::<Session>(&key_scope, &id).is_none() {
            break id;
        }
    };
    tx.put(&key_scope, session.clone())?;
    Ok(session)
}

fn credentials(session: Session, expiration: time::OffsetDateTime) -> Option<Credentials> {
    Some(Credentials {
        access_key_id: Some(session.access_key_id),
        expiration: Some(crate::iso(expiration)),
        secret_access_key: Some(session.secret_access_key),
        session_token: Some(session.session_token),
    })
}

/// Whether the caller signed with session credentials (of any kind).
fn with_session(ctx: &Ctx<'_>) -> bool {
    ctx.store.read(|v| {
        v.get::<Session>(&credentials_scope(), &ctx.principal.access_key_id)
            .is_some()
    })
}

/// GetSessionToken and GetFederationToken want long-term credentials.
fn long_term_only(ctx: &Ctx<'_>, op: &str) -> ApiResult<()> {
    if with_session(ctx) {
        return Err(ApiError::new(
            "AccessDenied",
            format!("Cannot call {op} with session credentials"),
        )
        .with_status(403));
    }
    Ok(())
}

/// What session credentials may not do whatever their policies say: those of GetSessionToken
/// and GetFederationToken are refused by IAM as if the token were unknown, and a federated user
/// may call no STS operation but GetCallerIdentity. `None`: no such limit applies.
pub fn session_limits(ctx: &Ctx<'_>, service: &str, op: &str) -> Option<ApiError> {
    // Every request is authorized: only session keys (`ASIA…`) cost a lookup.
    if !ctx.principal.access_key_id.starts_with("ASIA") {
        return None;
    }
    let kind = ctx.store.read(|v| {
        v.get::<Session>(&credentials_scope(), &ctx.principal.access_key_id)
            .map(|s| s.kind.clone())
    })?;
    match (kind, service) {
        (SessionKind::AssumedRole, _) => None,
        (_, "iam") => Some(
            ApiError::new(
                "InvalidClientTokenId",
                "The security token included in the request is invalid",
            )
            .with_status(403),
        ),
        (SessionKind::Federated, "sts") if op != "GetCallerIdentity" => Some(
            ApiError::new(
                "AccessDenied",
                format!("Cannot call {op} with session credentials"),
            )
            .with_status(403),
        ),
        _ => None,
    }
}

/// A role session's length: an hour unless the request says, within 15 minutes and 12 hours.
fn duration(requested: Option<i64>) -> ApiResult<i64> {
    let duration = requested.unwrap_or(3600);
    if duration < 900 {
        return Err(validation(format!("1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")));
    }
    if duration > 43200 {
        return Err(validation(format!("1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200")));
    }
    Ok(duration)
}

/// The root's temporary credentials last at most an hour (longer requests are cut to it).
fn root_capped(ctx: &Ctx<'_>, duration: i64) -> i64 {
    if ctx.principal.arn.ends_with(":root") {
        duration.min(3600)
    } else {
        duration
    }
}

pub fn assume_role(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: AssumeRoleRequest = input::typed(input)?;
    let role_arn = input.role_arn.as_str();
    let session_name = input.role_session_name.as_str();
    let requested = input.duration_seconds;
    let duration = duration(requested)?;
    // Session policies: kept with the session, whose requests they limit (`crate::authz`).
    let policy = input.policy.as_deref();
    let policy_arns = input.policy_arns.as_deref().unwrap_or_default();
    let packed = session_policies(
        policy,
        policy_arns,
        input.tags.as_deref().unwrap_or_default(),
    )?;
    let denied = || {
        ApiError::new(
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                ctx.principal.arn
            ),
        )
        .with_status(403)
    };
    let min_token = input.minimum_session_token_size.unwrap_or(0).max(0) as usize;
    let expiration = expiration(ctx, duration);
    let session = ctx.store.write(|tx| {
        let (role_scope, role) =
            iam::roles::find_by_arn(|s, id| tx.get::<Role>(s, id), role_arn).ok_or_else(denied)?;
        if !trusts(&role.assume_role_policy_document, &ctx.principal) {
            return Err(denied());
        }
        if duration > role.max_session_duration {
            return Err(validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            ));
        }
        // Role chaining: a role assumed with role credentials lasts at most an hour.
        if requested.is_some()
            && duration > 3600
            && crate::partition::strip(&ctx.principal.arn, "sts")
                .is_some_and(|r| r.contains(":assumed-role/"))
        {
            return Err(validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            ));
        }
        assume(
            ctx,
            tx,
            (&role_scope, &role),
            session_name,
            expiration,
            Grant {
                source_arn: ctx.principal.arn.clone(),
                source_identity: input.source_identity.clone(),
                policy: policy.map(str::to_owned),
                policy_arns: policy_arns.iter().filter_map(|p| p.arn.clone()).collect(),
                min_token,
            },
        )
    })?;
    Ok(Output::new(AssumeRoleResponse {
        assumed_role_user: Some(AssumedRoleUser {
            arn: Some(session.arn.clone()),
            assumed_role_id: Some(session.user_id()),
        }),
        source_identity: session.source_identity.clone(),
        credentials: credentials(session, expiration),
        packed_policy_size: packed.map(|p| p as i64),
        ..AssumeRoleResponse::default()
    }))
}

/// What a role session carries besides its role and name.
struct Grant {
    /// Who assumed the role: the caller's ARN, or the identity provider's.
    source_arn: String,
    source_identity: Option<String>,
    policy: Option<String>,
    policy_arns: Vec<String>,
    min_token: usize,
}

/// Issues a session of `role` (of `role_scope`) named `session_name` and records the role's
/// use: what AssumeRole and AssumeRoleWithWebIdentity give once their checks pass.
fn assume(
    ctx: &Ctx<'_>,
    tx: &mut airlock_store::Tx<'_>,
    (role_scope, role): (&airlock_store::Scope, &Role),
    session_name: &str,
    expiration: time::OffsetDateTime,
    grant: Grant,
) -> ApiResult<Session> {
    let session = issue(
        ctx,
        tx,
        Session {
            access_key_id: String::new(),
            secret_access_key: crate::ids::secret_key(),
            session_token: session_token(grant.min_token),
            account: role_scope.account.clone(),
            role_name: role.name.clone(),
            role_id: role.role_id.clone(),
            role_arn: role.arn.clone(),
            session_name: session_name.to_owned(),
            arn: crate::partition::global_arn(
                &ctx.region,
                "sts",
                &role_scope.account,
                &format!("assumed-role/{}/{session_name}", role.name),
            ),
            expires_at: expiration.unix_timestamp(),
            source_arn: grant.source_arn,
            source_identity: grant.source_identity,
            policy: grant.policy,
            policy_arns: grant.policy_arns,
            kind: SessionKind::AssumedRole,
        },
    )?;
    iam::roles::record_use(
        tx,
        role_scope,
        role,
        crate::iso(ctx.clock.now()),
        &ctx.region,
    )?;
    Ok(session)
}

/// A session with no role: GetSessionToken's and GetFederationToken's.
fn caller_session(
    ctx: &Ctx<'_>,
    min_token: Option<i64>,
    expiration: time::OffsetDateTime,
    kind: SessionKind,
    (arn, session_name): (String, String),
) -> Session {
    Session {
        access_key_id: String::new(),
        secret_access_key: crate::ids::secret_key(),
        session_token: session_token(min_token.unwrap_or(0).max(0) as usize),
        account: ctx.principal.account.clone(),
        role_name: String::new(),
        role_id: String::new(),
        role_arn: String::new(),
        session_name,
        arn,
        expires_at: expiration.unix_timestamp(),
        source_arn: ctx.principal.arn.clone(),
        source_identity: None,
        policy: None,
        policy_arns: Vec::new(),
        kind,
    }
}

/// Credentials that act as the caller (an IAM user or the root) for 12 hours by default
/// (the root's for at most one). Airlock has no MFA devices, so a request that names one fails
/// as a code AWS cannot validate does.
pub fn get_session_token(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: GetSessionTokenRequest = input::typed(input)?;
    long_term_only(ctx, "GetSessionToken")?;
    if input.serial_number.is_some() || input.token_code.is_some() {
        return Err(ApiError::new(
            "AccessDenied",
            "MultiFactorAuthentication failed, unable to validate MFA code.",
        )
        .with_status(403));
    }
    let expiration = expiration(
        ctx,
        root_capped(ctx, input.duration_seconds.unwrap_or(43200)),
    );
    let kind = SessionKind::Caller {
        user_id: ctx.principal.user_id.clone(),
    };
    let who = (ctx.principal.arn.clone(), String::new());
    let template = caller_session(ctx, input.minimum_session_token_size, expiration, kind, who);
    let session = ctx.store.write(|tx| issue(ctx, tx, template))?;
    Ok(Output::new(GetSessionTokenResponse {
        credentials: credentials(session, expiration),
        ..GetSessionTokenResponse::default()
    }))
}

/// Credentials of federated user `Name`: what both the caller's policies and the session
/// policies given here allow (nothing, without session policies).
pub fn get_federation_token(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: GetFederationTokenRequest = input::typed(input)?;
    long_term_only(ctx, "GetFederationToken")?;
    let policy_arns = input.policy_arns.as_deref().unwrap_or_default();
    let packed = session_policies(
        input.policy.as_deref(),
        policy_arns,
        input.tags.as_deref().unwrap_or_default(),
    )?;
    let expiration = expiration(
        ctx,
        root_capped(ctx, input.duration_seconds.unwrap_or(43200)),
    );
    let arn = crate::partition::global_arn(
        &ctx.region,
        "sts",
        &ctx.principal.account,
        &format!("federated-user/{}", input.name),
    );
    let mut template = caller_session(
        ctx,
        input.minimum_session_token_size,
        expiration,
        SessionKind::Federated,
        (arn, input.name.clone()),
    );
    template.policy = input.policy.clone();
    template.policy_arns = policy_arns.iter().filter_map(|p| p.arn.clone()).collect();
    let session = ctx.store.write(|tx| issue(ctx, tx, template))?;
    Ok(Output::new(GetFederationTokenResponse {
        federated_user: Some(FederatedUser {
            arn: Some(session.arn.clone()),
            federated_user_id: Some(session.user_id()),
        }),
        credentials: credentials(session, expiration),
        packed_policy_size: packed.map(|p| p as i64),
        ..GetFederationTokenResponse::default()
    }))
}

/// The account an access key id belongs to: read from the id itself, as AWS does (so any key of
/// AWS's format answers, issued here or not); Airlock's account-number keys are their account.
pub fn get_access_key_info(_ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: GetAccessKeyInfoRequest = input::typed(input)?;
    let id = input.access_key_id.as_str();
    let account = if crate::auth::is_account_id(id) {
        Some(id.to_owned())
    } else {
        crate::ids::account_of_key(id)
    };
    let account = account.ok_or_else(|| {
        validation(format!(
            "1 validation error detected: Value '{id}' at 'accessKeyId' failed to satisfy constraint: Member must be a valid access key id"
        ))
    })?;
    Ok(Output::new(GetAccessKeyInfoResponse {
        account: Some(account),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::*;
    use serde_json::json;

    fn create_role(ctx: &Ctx<'_>, name: &str, extra: Value) -> Value {
        let mut input = json!({"RoleName": name, "AssumeRolePolicyDocument": TRUST});
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        crate::iam::SERVICE
            .call_value(ctx, "CreateRole", &input)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn get_caller_identity_reports_the_principal() {
        let store = store();
        let config = crate::Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let out = SERVICE
            .call_value(&ctx, "GetCallerIdentity", &json!({}))
            .unwrap()
            .unwrap();
        assert_eq!(
            out,
            json!({"UserId": "123456789012", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root"})
        );
    }

    #[test]
    fn assume_role_issues_resolvable_credentials() {
        let store = store();
        let config = crate::Config::default();
        let owner = ctx_as(&store, &config, root_principal("111111111111"));
        let role = create_role(&owner, "Deployer", json!({"Path": "/ops/"}));
        let role_id = role["Role"]["RoleId"].as_str().unwrap().to_owned();
        let arn = "arn:aws:iam::111111111111:role/ops/Deployer";

        // From another account: allowed (no policy enforcement yet).
        let caller = ctx_as(&store, &config, root_principal("222222222222"));
        let out = SERVICE
            .call_value(
                &caller,
                "AssumeRole",
                &json!({"RoleArn": arn, "RoleSessionName": "s1"}),
            )
            .unwrap()
            .unwrap();
        let creds = &out["Credentials"];
        let key = creds["AccessKeyId"].as_str().unwrap();
        assert!(key.starts_with("ASIA") && key.len() == 20);
        assert_eq!(creds["SecretAccessKey"].as_str().unwrap().len(), 40);
        assert!(creds["SessionToken"].as_str().unwrap().len() > 300);
        assert_eq!(creds["Expiration"], json!("2024-05-01T11:00:00.000Z"));
        assert_eq!(
            out["AssumedRoleUser"]["AssumedRoleId"],
            json!(format!("{role_id}:s1"))
        );
        assert_eq!(
            out["AssumedRoleUser"]["Arn"],
            json!("arn:aws:sts::111111111111:assumed-role/Deployer/s1")
        );
        assert!(out.get("PackedPolicySize").is_none());

        let resolved = crate::auth::resolve(&store, &config, key, caller.clock.now()).unwrap();
        assert_eq!(
            resolved.secret_access_key,
            creds["SecretAccessKey"].as_str().unwrap()
        );
        assert_eq!(
            resolved.session_token.as_deref(),
            creds["SessionToken"].as_str()
        );
        assert_eq!(resolved.principal.account, "111111111111");
        assert_eq!(
            resolved.principal.arn,
            "arn:aws:sts::111111111111:assumed-role/Deployer/s1"
        );
        assert_eq!(resolved.principal.user_id, format!("{role_id}:s1"));
        // Expired credentials are refused.
        assert!(crate::auth::resolve(
            &store,
            &config,
            key,
            caller.clock.now() + time::Duration::hours(2)
        )
        .is_none());

        // The session's own GetCallerIdentity.
        let session_ctx = ctx_as(&store, &config, resolved.principal.clone());
        let me = SERVICE
            .call_value(&session_ctx, "GetCallerIdentity", &json!({}))
            .unwrap()
            .unwrap();
        assert_eq!(
            me["Arn"],
            json!("arn:aws:sts::111111111111:assumed-role/Deployer/s1")
        );
        assert_eq!(me["UserId"], json!(format!("{role_id}:s1")));
        assert_eq!(me["Account"], json!("111111111111"));

        // The role records its last use.
        let got = crate::iam::SERVICE
            .call_value(&owner, "GetRole", &json!({"RoleName": "Deployer"}))
            .unwrap()
            .unwrap();
        assert_eq!(got["Role"]["RoleLastUsed"]["Region"], json!("us-west-2"));
    }

    #[test]
    fn assume_role_errors() {
        let store = store();
        let config = crate::Config::default();
        let ctx = ctx_as(&store, &config, root_principal("111111111111"));
        create_role(&ctx, "Short", json!({}));
        let arn = "arn:aws:iam::111111111111:role/Short";

        let err = SERVICE
            .call_value(
                &ctx,
                "AssumeRole",
                &json!({"RoleArn": "arn:aws:iam::111111111111:role/Nope", "RoleSessionName": "s"}),
            )
            .unwrap()
            .unwrap_err();
        assert_eq!(err.code, "AccessDenied");
        assert_eq!(err.status, Some(403));
        assert_eq!(err.message, "User: arn:aws:iam::111111111111:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/Nope");

        // The role lives in another account than the ARN names.
        let err = SERVICE
            .call_value(
                &ctx,
                "AssumeRole",
                &json!({"RoleArn": "arn:aws:iam::999999999999:role/Short", "RoleSessionName": "s"}),
            )
            .unwrap()
            .unwrap_err();
        assert_eq!(err.code, "AccessDenied");

        let err = SERVICE
            .call_value(
                &ctx,
                "AssumeRole",
                &json!({"RoleArn": arn, "RoleSessionName": "s", "DurationSeconds": 7200}),
            )
            .unwrap()
            .unwrap_err();
        assert_eq!(err.code, "ValidationError");
        assert_eq!(
            err.message,
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        );

        create_role(&ctx, "Long", json!({"MaxSessionDuration": 43200}));
        let out = SERVICE.call_value(&ctx, "AssumeRole", &json!({"RoleArn": "arn:aws:iam::111111111111:role/Long", "RoleSessionName": "s", "DurationSeconds": 7200, "Policy": "{\"Version\":\"2012-10-17\",\"Statement\":[]}"}))
            .unwrap()
            .unwrap();
        assert!(out["PackedPolicySize"].as_u64().unwrap() >= 1);

        // Role chaining is limited to an hour.
        let key = out["Credentials"]["AccessKeyId"].as_str().unwrap();
        let session = crate::auth::resolve(&store, &config, key, ctx.clock.now()).unwrap();
        let chained = ctx_as(&store, &config, session.principal);
        let err = SERVICE.call_value(&chained, "AssumeRole", &json!({"RoleArn": "arn:aws:iam::111111111111:role/Long", "RoleSessionName": "s2", "DurationSeconds": 7200}))
            .unwrap()
            .unwrap_err();
        assert_eq!(err.code, "ValidationError");
        assert!(SERVICE
            .call_value(
                &chained,
                "AssumeRole",
                &json!({"RoleArn": arn, "RoleSessionName": "s2"})
            )
            .unwrap()
            .is_ok());

        let err = SERVICE
            .call_value(
                &ctx,
                "AssumeRole",
                &json!({"RoleArn": arn, "RoleSessionName": "s", "Policy": "{nope"}),
            )
            .unwrap()
            .unwrap_err();
        assert_eq!(err.code, "MalformedPolicyDocument");
    }

    #[test]
    fn trust_policies_decide_who_may_assume_a_role() {
        let p = |arn: &str| crate::Principal {
            account: arn.split(':').nth(4).unwrap().to_owned(),
            arn: arn.to_owned(),
            user_id: String::new(),
            access_key_id: String::new(),
        };
        let root = p("arn:aws:iam::111111111111:root");
        let alice = p("arn:aws:iam::111111111111:user/alice");
        let session = p("arn:aws:sts::111111111111:assumed-role/ops/s1");
        let other = p("arn:aws:iam::222222222222:root");
        let doc = |principal: &str| {
            format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}]}}"#
            )
        };
        let account = doc(r#"{"AWS":"arn:aws:iam::111111111111:root"}"#);
        assert!(trusts(&account, &root) && trusts(&account, &alice) && trusts(&account, &session));
        assert!(!trusts(&account, &other));
        assert!(trusts(&doc(r#"{"AWS":"111111111111"}"#), &alice));
        assert!(trusts(
            &doc(r#"{"AWS":["arn:aws:iam::111111111111:role/ops"]}"#),
            &session
        ));
        assert!(!trusts(
            &doc(r#"{"AWS":"arn:aws:iam::111111111111:user/bob"}"#),
            &alice
        ));
        assert!(!trusts(
            &doc(r#"{"Service":"airflow.amazonaws.com"}"#),
            &root
        ));
        assert!(trusts(&doc(r#""*""#), &other));
        let denied = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111111111111:user/alice"},"Action":"sts:AssumeRole"}]}"#;
        assert!(!trusts(denied, &alice) && trusts(denied, &root));
    }
}
