//! Authorization: after its signature is verified, every request is evaluated against the
//! caller's IAM policies ([`crate::policy`]) for the actions and resources its operation needs.
//!
//! - Each service registers an [`Iam`]: its action prefix, the error AWS refuses with, and which
//!   (action, resources) each operation needs (`prefix:Operation` on `*` unless it says more).
//! - The caller's policies come from the store: an IAM user's inline and attached policies and
//!   permissions boundary; an assumed-role session's role policies, the role's boundary and the
//!   session policies AssumeRole was given. An account's root may do anything.
//! - A request that came through a VPC endpoint ([`Through`]: an interface endpoint, or a
//!   gateway endpoint for its service) is also evaluated against that endpoint's policy (the
//!   root's too).
//! - The request context carries the global condition keys the slice knows (`aws:username`,
//!   `aws:PrincipalArn`, `aws:SourceIp`, or through an endpoint `aws:SourceVpce`,
//!   `aws:SourceVpc` and `aws:VpcSourceIp`, `aws:RequestedRegion`, `aws:CurrentTime`,
//!   `aws:RequestTag/…`, …).
//! - `--iam enforce` refuses with each protocol's AccessDenied shape and AWS's wording; `log`
//!   logs the refusal and lets the request run; `off` skips this step.

use crate::auth::credentials_scope;
use crate::iam::policies::{lookup, PolicyRef};
use crate::iam::{key, parse_arn, Group, ManagedPolicy, Role, User};
use crate::policy::{self, Caller, Context, Decision, Denial, Policies, Policy, Request};
use crate::sts::{Session, SessionKind};
use crate::Ctx;
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Scope, View};
use serde_json::Value;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, OnceLock};

/// `--iam`: what happens to a request its caller's policies do not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Refused with AWS's AccessDenied answer.
    #[default]
    Enforce,
    /// Logged, then run as if allowed.
    Log,
    /// Not evaluated.
    Off,
}

/// How IAM sees one service.
#[derive(Clone, Copy)]
pub struct Iam {
    /// The prefix of its actions (`ec2`, `airflow`, `elasticloadbalancing`); empty: the service
    /// authorizes nothing.
    pub prefix: &'static str,
    /// The error code of a refusal (`AccessDenied`, `UnauthorizedOperation`,
    /// `AccessDeniedException`) and its HTTP status.
    pub denied: (&'static str, u16),
    /// Words before AWS's standard sentence (EC2: "You are not authorized to perform this
    /// operation. ").
    pub preamble: &'static str,
    /// S3 quotes the resource in its message.
    pub quote_resource: bool,
    /// What an operation needs; [`Call::default_access`] unless the service says more.
    pub access: fn(&Call<'_>) -> Vec<Access>,
}

impl Iam {
    pub const NONE: Iam = Iam::new("", "AccessDenied", 403);

    pub const fn new(prefix: &'static str, code: &'static str, status: u16) -> Iam {
        Iam {
            prefix,
            denied: (code, status),
            preamble: "",
            quote_resource: false,
            access: default_access,
        }
    }
}

fn default_access(call: &Call<'_>) -> Vec<Access> {
    call.default_access()
}

/// One operation call as its service's access function sees it.
pub struct Call<'a> {
    pub ctx: &'a Ctx<'a>,
    pub prefix: &'static str,
    pub op: &'a str,
    pub input: &'a Value,
    /// The condition keys the policies that bear on the request read (lowercase, sorted): a
    /// service looks up what only [`Access::keys`] would carry when one of them is wanted.
    pub wanted: &'a [String],
}

impl Call<'_> {
    /// `prefix:Operation`.
    pub fn action(&self) -> String {
        // Built by hand: it is made for every request, and `format!` costs ten times as much.
        let mut action = String::with_capacity(self.prefix.len() + 1 + self.op.len());
        action.push_str(self.prefix);
        action.push(':');
        action.push_str(self.op);
        action
    }

    /// `prefix:Operation` on `*`.
    pub fn default_access(&self) -> Vec<Access> {
        vec![Access::new(self.action(), "*")]
    }

    /// `prefix:Operation` on `resource`.
    pub fn on(&self, resource: impl Into<String>) -> Vec<Access> {
        vec![Access::new(self.action(), resource)]
    }

    /// `prefix:Operation` on the first of `members` the input has (an ARN), else on `*`.
    pub fn on_member(&self, members: &[&str]) -> Vec<Access> {
        let arn = members
            .iter()
            .find_map(|m| self.input.get(*m).and_then(Value::as_str))
            .unwrap_or("*");
        self.on(arn)
    }

    pub fn str(&self, member: &str) -> Option<&str> {
        self.input.get(member).and_then(Value::as_str)
    }

    /// Whether a policy reads condition key `key` (lowercase).
    pub fn wants(&self, key: &str) -> bool {
        self.wanted
            .binary_search_by(|w| w.as_str().cmp(key))
            .is_ok()
    }

    /// Whether a policy reads a resource's tags (`aws:ResourceTag/…`, `ec2:ResourceTag/…`).
    pub fn wants_tags(&self) -> bool {
        self.wanted.iter().any(|k| k.contains(":resourcetag/"))
    }
}

/// One action a request needs, on one of some resources.
#[derive(Debug, Clone)]
pub struct Access {
    pub action: String,
    /// Allowed when any of these is (MWAA's web login token: any Airflow role); usually one.
    pub resources: Vec<String>,
    /// The resource's own policy (a role's trust policy for `sts:AssumeRole`).
    pub resource_policy: Option<String>,
    /// Condition keys of this resource and their values (`aws:ResourceTag/<key>`, `ec2:Vpc`),
    /// when the service knows them and a policy reads them ([`Call::wanted`]).
    pub keys: Vec<(String, String)>,
}

impl Access {
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Access {
        Access {
            action: action.into(),
            resources: vec![resource.into()],
            resource_policy: None,
            keys: Vec::new(),
        }
    }

    /// With the resource's tags as its condition keys ([`tag_keys`]).
    pub fn with_tags(mut self, alias: Option<&str>, tags: Vec<(String, String)>) -> Access {
        self.keys.extend(tag_keys(alias, tags));
        self
    }
}

/// A resource's tags as condition keys: `aws:ResourceTag/<key>` and, for a service that names
/// its own, `<alias>:ResourceTag/<key>` (EC2's `ec2:ResourceTag/…`).
pub fn tag_keys(alias: Option<&str>, tags: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut keys = Vec::with_capacity(tags.len() * 2);
    for (k, v) in tags {
        if let Some(a) = alias {
            keys.push((format!("{a}:ResourceTag/{k}"), v.clone()));
        }
        keys.push((format!("aws:ResourceTag/{k}"), v));
    }
    keys
}

/// Where a request came from, beyond its signature.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The client's address (`aws:SourceIp`; none through an endpoint, as in AWS).
    pub source_ip: Option<IpAddr>,
    /// Over TLS (`aws:SecureTransport`).
    pub secure: bool,
    /// The VPC endpoint it came through (interface, or gateway), if it came from inside a VPC.
    pub endpoint: Option<Through>,
}

/// How a request reached AWS other than on the API port: what the server's endpoint handler
/// puts on each request of such a connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arrival {
    /// The interface endpoint it came through: only its service's requests are served.
    pub endpoint: Option<Through>,
    /// From inside a VPC to AWS's public endpoints: the gateway endpoints on the subnet's route
    /// table, each applying to its service's requests.
    pub gateways: Vec<Through>,
    /// The address the internet sees (`aws:SourceIp`), if any.
    pub source_ip: Option<IpAddr>,
}

impl Arrival {
    /// Where a request for `service` (a botocore name) came from.
    pub fn origin(&self, service: &str) -> Origin {
        let endpoint = self
            .endpoint
            .clone()
            .or_else(|| self.gateways.iter().find(|g| g.service == service).cloned());
        Origin {
            source_ip: if endpoint.is_some() {
                None
            } else {
                self.source_ip
            },
            secure: true,
            endpoint,
        }
    }
}

/// A VPC endpoint (interface, or gateway) a request came through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Through {
    /// The endpoint's scope (its owner's account and region) and id (`aws:SourceVpce`).
    pub scope: Scope,
    pub endpoint: String,
    /// Its VPC (`aws:SourceVpc`).
    pub vpc: String,
    /// The client's address in the VPC (`aws:VpcSourceIp`).
    pub vpc_source_ip: Option<Ipv4Addr>,
    /// The service (botocore name) whose API the endpoint serves.
    pub service: &'static str,
}

/// Whether the caller may run `op` of `service` with `input`: `Err` is the refusal AWS would
/// answer with.
pub fn authorize(ctx: &Ctx<'_>, service: &str, op: &str, input: &Value) -> ApiResult<()> {
    let Some(iam) = crate::service::find(service).map(|s| &s.iam) else {
        return Ok(());
    };
    if iam.prefix.is_empty() {
        return Ok(());
    }
    if let Some(refusal) = crate::sts::session_limits(ctx, service, op) {
        return Err(refusal);
    }
    let endpoint = endpoint_policy(ctx);
    if endpoint.is_none() && is_root(ctx) {
        return Ok(());
    }
    let subject = subject(ctx);
    let wanted: std::borrow::Cow<'_, [String]> = match &endpoint {
        None => (&subject.wanted[..]).into(),
        Some(e) => {
            let mut all = subject.wanted.clone();
            all.extend(e.keys().iter().cloned());
            all.sort();
            all.dedup();
            all.into()
        }
    };
    let call = Call {
        ctx,
        prefix: iam.prefix,
        op,
        input,
        wanted: &wanted,
    };
    let needs = (iam.access)(&call);
    if needs.is_empty() {
        return Ok(());
    }
    let resource_policies: Vec<Option<Arc<Policy>>> = needs
        .iter()
        .map(|n| n.resource_policy.as_deref().map(parsed))
        .collect();
    let context = subject.context(
        ctx,
        input,
        resource_policies.iter().flatten().chain(&endpoint),
    );
    for (need, resource_policy) in needs.iter().zip(&resource_policies) {
        let policies = subject.policies(resource_policy.as_deref(), endpoint.as_deref());
        let extended;
        let context = if need.keys.is_empty() {
            &context
        } else {
            extended = with_keys(&context, &need.keys);
            &extended
        };
        if let Err((resource, denial)) = check(&subject, context, need, &policies) {
            return Err(refusal(
                iam,
                &ctx.principal.arn,
                &need.action,
                resource,
                denial,
            ));
        }
    }
    Ok(())
}

/// The most privileged Airflow role (Admin, Op, User, Viewer, Public) of environment `env`
/// that the caller may act as with `action` (`airflow:CreateWebLoginToken`,
/// `airflow:InvokeRestApi`): the first whose resource `arn:<partition>:airflow:<region>:<account>:
/// role/<env>/<role>` its policies allow, as AWS picks the role a web login token carries.
/// The root, `--iam off` and (when nothing is allowed) `--iam log` act as Admin.
pub fn airflow_role(ctx: &Ctx<'_>, action: &str, env: &str) -> Option<&'static str> {
    use crate::mwaa::airflow::ROLES;
    let endpoint = endpoint_policy(ctx);
    if ctx.config.iam == Mode::Off || (endpoint.is_none() && is_root(ctx)) {
        return Some(ROLES[0]);
    }
    let subject = subject(ctx);
    let context = subject.context(ctx, &Value::Null, &endpoint);
    let policies = subject.policies(None, endpoint.as_deref());
    let allowed = ROLES.iter().copied().find(|role| {
        let resource = crate::partition::arn(
            &ctx.region,
            "airflow",
            ctx.account(),
            &format!("role/{env}/{role}"),
        );
        let req = Request {
            action,
            resource: &resource,
            caller: &subject.caller,
            context: &context,
        };
        policy::evaluate(&req, &policies) == Decision::Allow
    });
    match ctx.config.iam {
        Mode::Log => allowed.or(Some(ROLES[0])),
        _ => allowed,
    }
}

/// `context` with a resource's own condition keys.
fn with_keys(context: &Context, keys: &[(String, String)]) -> Context {
    let mut c = context.clone();
    for (k, v) in keys {
        c.set(k, v.clone());
    }
    c
}

fn is_root(ctx: &Ctx<'_>) -> bool {
    ctx.principal.arn.ends_with(":root")
}

/// The policy of the VPC endpoint the request came through (none if it came otherwise, or the
/// endpoint is gone).
fn endpoint_policy(ctx: &Ctx<'_>) -> Option<Arc<Policy>> {
    let t = ctx.origin.endpoint.as_ref()?;
    let e = ctx
        .store
        .read(|v| v.get::<crate::ec2::vpce::VpcEndpoint>(&t.scope, &t.endpoint))?;
    Some(parsed(&e.policy))
}

/// Evaluates one need: allowed when any of its resources is; else the first resource's denial.
fn check<'n>(
    subject: &Subject,
    context: &Context,
    need: &'n Access,
    policies: &Policies<'_>,
) -> Result<(), (&'n str, Denial)> {
    let mut first = None;
    for resource in &need.resources {
        let req = Request {
            action: &need.action,
            resource,
            caller: &subject.caller,
            context,
        };
        match policy::evaluate(&req, policies) {
            Decision::Allow => return Ok(()),
            Decision::Deny(d) => {
                first.get_or_insert((resource.as_str(), d));
            }
        }
    }
    Err(first.unwrap_or((
        "*",
        Denial {
            kind: policy::Kind::Identity,
            explicit: false,
        },
    )))
}

/// AWS's refusal: "User: <arn> is not authorized to perform: <action>[ on resource: <arn>]
/// because no <kind> allows the <action> action" (or "with an explicit deny in a <kind>").
pub fn refusal(iam: &Iam, principal: &str, action: &str, resource: &str, d: Denial) -> ApiError {
    let on = match resource {
        "*" => String::new(),
        r if iam.quote_resource => format!(" on resource: \"{r}\""),
        r => format!(" on resource: {r}"),
    };
    let why = if d.explicit {
        format!(
            "with an explicit deny in {} {}",
            d.kind.article(),
            d.kind.phrase()
        )
    } else {
        format!("because no {} allows the {action} action", d.kind.phrase())
    };
    let (code, status) = iam.denied;
    ApiError::new(
        code,
        format!(
            "{}User: {principal} is not authorized to perform: {action}{on} {why}",
            iam.preamble
        ),
    )
    .with_status(status)
}

/// The caller's subject, read once per state: kept (by store, access key and the store's
/// generation) until any transaction commits, so that a caller's requests do not re-read and
/// re-parse its policies while nothing changes.
fn subject(ctx: &Ctx<'_>) -> Arc<Subject> {
    /// (store, access key id) → (generation, subject).
    type Cache = HashMap<(usize, String), (u64, Arc<Subject>)>;
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    const MAX_ENTRIES: usize = 4096;
    let cache = CACHE.get_or_init(Default::default);
    let key = (
        ctx.store as *const airlock_store::Store as usize,
        ctx.principal.access_key_id.clone(),
    );
    ctx.store.read(|v| {
        let generation = v.generation();
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((g, s)) = cache.get(&key) {
            if *g == generation {
                return s.clone();
            }
        }
        let subject = Arc::new(Subject::load(v, ctx));
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(key, (generation, subject.clone()));
        subject
    })
}

/// A session's policies (its inline document and managed ARNs), which limit what it may do.
fn session_policies(v: &View<'_>, scope: &Scope, session: &Session) -> Vec<Arc<Policy>> {
    let mut limits: Vec<Arc<Policy>> = session.policy.as_deref().map(parsed).into_iter().collect();
    limits.extend(
        session
            .policy_arns
            .iter()
            .filter_map(|arn| managed(v, scope, arn)),
    );
    limits
}

/// What the root's identity policy amounts to.
const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// The caller and every policy of theirs that bears on a request.
struct Subject {
    caller: Caller,
    kind: &'static str,
    username: Option<String>,
    tags: Vec<(String, String)>,
    identity: Vec<Arc<Policy>>,
    boundary: Option<Arc<Policy>>,
    session: Option<Vec<Arc<Policy>>>,
    /// The condition keys its policies read (sorted): the request context holds only these
    /// (and those of the resource's policy).
    wanted: Vec<String>,
}

impl Subject {
    fn load(v: &View<'_>, ctx: &Ctx<'_>) -> Subject {
        let p = &ctx.principal;
        let mut s = Subject {
            caller: Caller {
                arn: p.arn.clone(),
                account: p.account.clone(),
                role_arn: None,
                service: None,
                federated: None,
            },
            kind: "User",
            username: None,
            tags: Vec::new(),
            identity: Vec::new(),
            boundary: None,
            session: None,
            wanted: Vec::new(),
        };
        if p.arn.ends_with(":root") {
            // The root may do anything; only an endpoint's policy limits it.
            s.identity = vec![parsed(ALLOW_ALL)];
        } else if let Some((account, _, name)) = parse_arn(&p.arn, "user") {
            s.username = Some(name.to_owned());
            let scope = Scope::global(account);
            // A user deleted since its key was made has no policies left: everything is denied.
            if let Some(user) = v.get::<User>(&scope, &key(name)) {
                s.identity = user_policies(v, &scope, &user);
                s.boundary = boundary(v, &scope, user.permissions_boundary.as_deref());
                s.tags = tags(&user.tags);
            }
        } else if let Some(session) = v
            .get::<Session>(&credentials_scope(), &p.access_key_id)
            .filter(|s| s.kind == SessionKind::Federated)
        {
            // What the IAM user (or root) allows, limited by the session policies (none given:
            // nothing is allowed).
            s.kind = "FederatedUser";
            let scope = Scope::global(&session.account);
            if session.source_arn.ends_with(":root") {
                s.identity = vec![parsed(ALLOW_ALL)];
            } else if let Some((_, _, name)) = parse_arn(&session.source_arn, "user") {
                if let Some(user) = v.get::<User>(&scope, &key(name)) {
                    s.identity = user_policies(v, &scope, &user);
                    s.boundary = boundary(v, &scope, user.permissions_boundary.as_deref());
                }
            }
            s.session = Some(session_policies(v, &scope, &session));
        } else if let Some(session) = v.get::<Session>(&credentials_scope(), &p.access_key_id) {
            s.kind = "AssumedRole";
            s.caller.role_arn = Some(session.role_arn.clone());
            let scope = Scope::global(&session.account);
            if let Some(role) = v.get::<Role>(&scope, &key(&session.role_name)) {
                s.identity = held(v, &scope, &role.inline_policies, &role.attached_policies);
                s.boundary = boundary(v, &scope, role.permissions_boundary.as_deref());
                s.tags = tags(&role.tags);
            }
            if session.policy.is_some() || !session.policy_arns.is_empty() {
                s.session = Some(session_policies(v, &scope, &session));
            }
        }
        let all = s
            .identity
            .iter()
            .chain(&s.boundary)
            .chain(s.session.iter().flatten());
        s.wanted = all.flat_map(|p| p.keys().iter().cloned()).collect();
        s.wanted.sort();
        s.wanted.dedup();
        s
    }

    fn policies<'a>(
        &'a self,
        resource: Option<&'a Policy>,
        endpoint: Option<&'a Policy>,
    ) -> Policies<'a> {
        Policies {
            identity: self.identity.iter().map(|p| &**p).collect(),
            resource: resource.into_iter().collect(),
            boundary: self.boundary.as_deref(),
            session: self
                .session
                .as_ref()
                .map(|s| s.iter().map(|p| &**p).collect()),
            endpoint,
        }
    }

    /// The request context: the global condition keys that its policies (and `resource`'s)
    /// read, and nothing else (a key no policy reads would never be looked at).
    fn context<'p>(
        &self,
        ctx: &Ctx<'_>,
        input: &Value,
        resource: impl IntoIterator<Item = &'p Arc<Policy>>,
    ) -> Context {
        let extra: Vec<&String> = resource.into_iter().flat_map(|p| p.keys()).collect();
        let wants = |key: &str| {
            self.wanted
                .binary_search_by(|w| w.as_str().cmp(key))
                .is_ok()
                || extra.iter().any(|k| *k == key)
        };
        let wants_prefix = |prefix: &str| {
            self.wanted
                .iter()
                .chain(extra.iter().copied())
                .any(|k| k.starts_with(prefix))
        };
        let mut c = Context::default();
        let p = &ctx.principal;
        let origin = &ctx.origin;
        // Keys in lowercase, as policies' keys are kept.
        let mut set = |key: &str, value: &dyn Fn() -> String| {
            if wants(key) {
                c.set(key, value());
            }
        };
        set("aws:principalarn", &|| {
            self.caller
                .role_arn
                .clone()
                .unwrap_or_else(|| p.arn.clone())
        });
        set("aws:principalaccount", &|| p.account.clone());
        set("aws:principaltype", &|| self.kind.to_owned());
        set("aws:userid", &|| p.user_id.clone());
        if let Some(u) = &self.username {
            set("aws:username", &|| u.clone());
        }
        set("aws:requestedregion", &|| ctx.region.clone());
        set("aws:currenttime", &|| crate::iso(ctx.clock.now()));
        set("aws:epochtime", &|| {
            ctx.clock.now().unix_timestamp().to_string()
        });
        set("aws:securetransport", &|| origin.secure.to_string());
        if let Some(ip) = origin.source_ip {
            set("aws:sourceip", &|| ip.to_string());
        }
        if let Some(t) = &origin.endpoint {
            set("aws:sourcevpce", &|| t.endpoint.clone());
            set("aws:sourcevpc", &|| t.vpc.clone());
            if let Some(ip) = t.vpc_source_ip {
                set("aws:vpcsourceip", &|| ip.to_string());
            }
        }
        if wants_prefix("aws:principaltag/") {
            for (k, v) in &self.tags {
                c.set(&format!("aws:PrincipalTag/{k}"), v);
            }
        }
        if wants_prefix("aws:requesttag/") || wants("aws:tagkeys") {
            let tags = request_tags(input);
            if !tags.is_empty() {
                for (k, v) in &tags {
                    c.set(&format!("aws:RequestTag/{k}"), v.clone());
                }
                c.set_all("aws:TagKeys", tags.into_iter().map(|(k, _)| k).collect());
            }
        }
        c
    }
}

fn tags(tags: &[crate::iam::Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// An identity's inline policies and the documents of its attached managed policies.
fn held(
    v: &View<'_>,
    scope: &Scope,
    inline: &std::collections::BTreeMap<String, String>,
    attached: &[String],
) -> Vec<Arc<Policy>> {
    inline
        .values()
        .map(|d| parsed(d))
        .chain(attached.iter().filter_map(|arn| managed(v, scope, arn)))
        .collect()
}

/// A user's own policies and those of its groups.
fn user_policies(v: &View<'_>, scope: &Scope, user: &User) -> Vec<Arc<Policy>> {
    let mut all = held(v, scope, &user.inline_policies, &user.attached_policies);
    for group in user.groups.iter().filter_map(|g| v.get::<Group>(scope, g)) {
        all.extend(held(
            v,
            scope,
            &group.inline_policies,
            &group.attached_policies,
        ));
    }
    all
}

fn boundary(v: &View<'_>, scope: &Scope, arn: Option<&str>) -> Option<Arc<Policy>> {
    // A boundary whose policy cannot be found allows nothing.
    arn.map(|arn| managed(v, scope, arn).unwrap_or_default())
}

/// The default version of a managed policy, parsed. An AWS managed policy attached by its ARN
/// in another partition (`arn:aws-cn:iam::aws:policy/…`) names that partition's resources, as
/// AWS's copy there does.
fn managed(v: &View<'_>, scope: &Scope, arn: &str) -> Option<Arc<Policy>> {
    let policy = lookup(&scope.account, arn, |k| v.get::<ManagedPolicy>(scope, k))?;
    match (&policy, arn.split(':').nth(1)) {
        (PolicyRef::Aws(p), Some(partition)) if partition != "aws" => Some(parsed(
            &p.document.replace("arn:aws:", &format!("arn:{partition}:")),
        )),
        _ => Some(parsed(policy.document())),
    }
}

/// A document, parsed once: policies are read on every request, and change rarely. A document
/// that does not parse (IAM checks them when they are stored) allows nothing.
fn parsed(document: &str) -> Arc<Policy> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Policy>>>> = OnceLock::new();
    const MAX_ENTRIES: usize = 4096;
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().ok().and_then(|c| c.get(document).cloned()) {
        return p;
    }
    let policy = Arc::new(Policy::parse(document).unwrap_or_default());
    if let Ok(mut c) = cache.lock() {
        if c.len() >= MAX_ENTRIES {
            c.clear();
        }
        c.insert(document.to_owned(), policy.clone());
    }
    policy
}

/// The tags a request asks to set, whatever the protocol's shape: `Tags` as a list of
/// `{Key, Value}` (IAM, STS, ELBv2, ACM) or a map (MWAA), or EC2's `TagSpecifications`.
fn request_tags(input: &Value) -> Vec<(String, String)> {
    fn list(tags: &Value, out: &mut Vec<(String, String)>) {
        match tags {
            Value::Array(items) => out.extend(items.iter().filter_map(|t| {
                Some((
                    t.get("Key")?.as_str()?.to_owned(),
                    t.get("Value")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                ))
            })),
            Value::Object(map) => out.extend(
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))),
            ),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(t) = input.get("Tags") {
        list(t, &mut out);
    }
    if let Some(Value::Array(specs)) = input.get("TagSpecifications") {
        for spec in specs {
            if let Some(t) = spec.get("Tags") {
                list(t, &mut out);
            }
        }
    }
    out
}

/// A user's or role's identity-based policies and permissions boundary.
pub struct Held {
    pub identity: Vec<Arc<Policy>>,
    pub boundary: Option<Arc<Policy>>,
}

/// What IAM's SimulatePrincipalPolicy shares with request authorization: the policies of a
/// user or role named by ARN.
pub fn principal_policies(ctx: &Ctx<'_>, arn: &str) -> Option<Held> {
    ctx.store.read(|v| {
        if let Some((account, _, name)) = parse_arn(arn, "user") {
            let scope = Scope::global(account);
            let user = v.get::<User>(&scope, &key(name))?;
            Some(Held {
                identity: user_policies(v, &scope, &user),
                boundary: boundary(v, &scope, user.permissions_boundary.as_deref()),
            })
        } else if let Some((account, _, name)) = parse_arn(arn, "role") {
            let scope = Scope::global(account);
            let role = v.get::<Role>(&scope, &key(name))?;
            Some(Held {
                identity: held(v, &scope, &role.inline_policies, &role.attached_policies),
                boundary: boundary(v, &scope, role.permissions_boundary.as_deref()),
            })
        } else {
            None
        }
    })
}

/// A document parsed as [`authorize`] would read it (for the simulators).
pub fn parse_cached(document: &str) -> Arc<Policy> {
    parsed(document)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{ctx_as, root_principal, store};
    use crate::Config;
    use serde_json::json;

    fn call(ctx: &Ctx<'_>, service: &str, op: &str, input: Value) -> Value {
        crate::service::find(service)
            .unwrap()
            .call_value(ctx, op, &input)
            .expect("implemented")
            .unwrap_or_else(|e| panic!("{service} {op}: {e}"))
    }

    /// Creates user `name` with `policy` inline (if any) as the root; the user's principal.
    fn user(
        store: &airlock_store::Store,
        config: &Config,
        name: &str,
        policy: Option<&str>,
    ) -> crate::Principal {
        let root = ctx_as(store, config, root_principal("000000000000"));
        call(&root, "iam", "CreateUser", json!({"UserName": name}));
        if let Some(p) = policy {
            call(
                &root,
                "iam",
                "PutUserPolicy",
                json!({"UserName": name, "PolicyName": "p", "PolicyDocument": p}),
            );
        }
        let key = call(&root, "iam", "CreateAccessKey", json!({"UserName": name}));
        let id = key["AccessKey"]["AccessKeyId"].as_str().unwrap();
        crate::auth::resolve(store, config, id, time::OffsetDateTime::now_utc())
            .unwrap()
            .principal
    }

    fn check(ctx: &Ctx<'_>, service: &str, op: &str, input: Value) -> ApiResult<()> {
        authorize(ctx, service, op, &input)
    }

    #[test]
    fn the_root_may_do_anything() {
        let (store, config) = (store(), Config::default());
        let ctx = ctx_as(&store, &config, root_principal("000000000000"));
        assert!(check(&ctx, "ec2", "CreateVpc", json!({})).is_ok());
        assert!(check(&ctx, "iam", "CreateUser", json!({"UserName": "x"})).is_ok());
    }

    /// Through an interface endpoint its policy limits every caller (the root too), and the
    /// request carries `aws:SourceVpce`, `aws:SourceVpc` and `aws:VpcSourceIp` (no
    /// `aws:SourceIp`).
    #[test]
    fn endpoint_policies_limit_requests_that_came_through_them() {
        let (store, config) = (store(), Config::default());
        let mut root = ctx_as(&store, &config, root_principal("000000000000"));
        let vpc = call(
            &root,
            "ec2",
            "CreateVpc",
            json!({"CidrBlock": "10.1.0.0/16"}),
        )["Vpc"]["VpcId"]
            .as_str()
            .unwrap()
            .to_owned();
        let policy = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ec2:Describe*","Resource":"*"}]}"#;
        let vpce = call(
            &root,
            "ec2",
            "CreateVpcEndpoint",
            json!({"VpcId": vpc, "VpcEndpointType": "Interface", "PolicyDocument": policy,
                   "PrivateDnsEnabled": false,
                   "ServiceName": "com.amazonaws.us-west-2.ec2"}),
        )["VpcEndpoint"]["VpcEndpointId"]
            .as_str()
            .unwrap()
            .to_owned();
        let through = Through {
            scope: root.scope(),
            endpoint: vpce.clone(),
            vpc: vpc.clone(),
            vpc_source_ip: Some(Ipv4Addr::new(10, 1, 0, 9)),
            service: "ec2",
        };
        root.origin.endpoint = Some(through.clone());
        assert!(check(&root, "ec2", "DescribeVpcs", json!({})).is_ok());
        let e = check(&root, "ec2", "CreateVpc", json!({})).unwrap_err();
        assert_eq!(e.message, "You are not authorized to perform this operation. User: arn:aws:iam::000000000000:root is not authorized to perform: ec2:CreateVpc on resource: arn:aws:ec2:us-west-2:000000000000:vpc/* because no VPC endpoint policy allows the ec2:CreateVpc action");

        let carol = user(
            &store,
            &config,
            "carol",
            Some(&format!(
                r#"{{"Statement":[{{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{{
                    "StringEquals":{{"aws:SourceVpce":"{vpce}","aws:SourceVpc":"{vpc}"}},
                    "IpAddress":{{"aws:VpcSourceIp":"10.1.0.0/24"}},
                    "Null":{{"aws:SourceIp":"true"}}}}}}]}}"#
            )),
        );
        let mut ctx = ctx_as(&store, &config, carol);
        ctx.origin.source_ip = Some("127.0.0.1".parse().unwrap());
        assert!(check(&ctx, "ec2", "DescribeVpcs", json!({})).is_err());
        ctx.origin = Origin {
            source_ip: None,
            secure: true,
            endpoint: Some(through.clone()),
        };
        assert!(check(&ctx, "ec2", "DescribeVpcs", json!({})).is_ok());
        ctx.origin.endpoint = Some(Through {
            vpc_source_ip: Some(Ipv4Addr::new(10, 1, 1, 9)),
            ..through
        });
        assert!(check(&ctx, "ec2", "DescribeVpcs", json!({})).is_err());
    }

    /// EC2 actions other than Describe* are authorized on every resource the request names and
    /// creates (all must be allowed), with the resource's tags as `aws:ResourceTag/…` and
    /// `ec2:ResourceTag/…`; MWAA's environment likewise.
    #[test]
    fn ec2_resources_and_resource_tags() {
        let (store, config) = (store(), Config::default());
        let root = ctx_as(&store, &config, root_principal("000000000000"));
        let vpc = call(
            &root,
            "ec2",
            "CreateVpc",
            json!({"CidrBlock": "10.1.0.0/16", "TagSpecifications": [
                {"ResourceType": "vpc", "Tags": [{"Key": "team", "Value": "data"}]}]}),
        )["Vpc"]["VpcId"]
            .as_str()
            .unwrap()
            .to_owned();
        let other = call(
            &root,
            "ec2",
            "CreateVpc",
            json!({"CidrBlock": "10.2.0.0/16"}),
        )["Vpc"]["VpcId"]
            .as_str()
            .unwrap()
            .to_owned();
        let arn = |t: &str| format!("arn:aws:ec2:us-west-2:000000000000:{t}");
        let subnet = |vpc: &str| json!({"VpcId": vpc, "CidrBlock": "10.1.1.0/24"});
        // Subnets only in VPCs tagged team=data.
        let p = format!(
            r#"{{"Statement":[
                {{"Effect":"Allow","Action":"ec2:CreateSubnet","Resource":"{}"}},
                {{"Effect":"Allow","Action":"ec2:CreateSubnet","Resource":"{}",
                  "Condition":{{"StringEquals":{{"ec2:ResourceTag/team":"data"}}}}}},
                {{"Effect":"Allow","Action":"ec2:DeleteVpc","Resource":"*",
                  "Condition":{{"StringEquals":{{"aws:ResourceTag/team":"data"}}}}}}]}}"#,
            arn("subnet/*"),
            arn("vpc/*")
        );
        let erin = user(&store, &config, "erin", Some(&p));
        let ctx = ctx_as(&store, &config, erin);
        assert!(check(&ctx, "ec2", "CreateSubnet", subnet(&vpc)).is_ok());
        let e = check(&ctx, "ec2", "CreateSubnet", subnet(&other)).unwrap_err();
        assert!(
            e.message.contains(&format!(
                "ec2:CreateSubnet on resource: {} because no identity-based policy allows",
                arn(&format!("vpc/{other}"))
            )),
            "{}",
            e.message
        );
        assert!(check(&ctx, "ec2", "DeleteVpc", json!({"VpcId": vpc})).is_ok());
        assert!(check(&ctx, "ec2", "DeleteVpc", json!({"VpcId": other})).is_err());
        // A policy on the VPC alone does not cover the subnet CreateSubnet makes.
        let p = format!(
            r#"{{"Statement":[{{"Effect":"Allow","Action":"ec2:CreateSubnet","Resource":"{}"}}]}}"#,
            arn("vpc/*")
        );
        let fred = user(&store, &config, "fred", Some(&p));
        let ctx = ctx_as(&store, &config, fred);
        let e = check(&ctx, "ec2", "CreateSubnet", subnet(&vpc)).unwrap_err();
        assert!(e.message.contains(&arn("subnet/*")), "{}", e.message);

        // EC2's own keys: ec2:Region, ec2:Vpc, ec2:InstanceType, ec2:VpceServiceName.
        let group = |vpc: &str, name: &str| {
            call(
                &root,
                "ec2",
                "CreateSecurityGroup",
                json!({"GroupName": name, "Description": name, "VpcId": vpc}),
            )["GroupId"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (mine, theirs) = (group(&vpc, "mine"), group(&other, "theirs"));
        let p = format!(
            r#"{{"Statement":[
                {{"Effect":"Allow","Action":"ec2:CreateSecurityGroup","Resource":"*",
                  "Condition":{{"StringEquals":{{"ec2:Region":"us-west-2"}}}}}},
                {{"Effect":"Allow","Action":"ec2:DeleteSecurityGroup","Resource":"*",
                  "Condition":{{"ArnEquals":{{"ec2:Vpc":"{}"}}}}}},
                {{"Effect":"Allow","Action":"ec2:RunInstances","Resource":"*",
                  "Condition":{{"StringEqualsIfExists":{{"ec2:InstanceType":"t3.micro"}}}}}},
                {{"Effect":"Allow","Action":"ec2:CreateVpcEndpoint","Resource":"*",
                  "Condition":{{"StringLikeIfExists":{{"ec2:VpceServiceName":"com.amazonaws.*.s3"}}}}}}]}}"#,
            arn(&format!("vpc/{vpc}"))
        );
        let hank = user(&store, &config, "hank", Some(&p));
        let mut ctx = ctx_as(&store, &config, hank);
        let sg = json!({"GroupName": "g", "Description": "g", "VpcId": vpc});
        assert!(check(&ctx, "ec2", "CreateSecurityGroup", sg.clone()).is_ok());
        assert!(check(&ctx, "ec2", "DeleteSecurityGroup", json!({"GroupId": mine})).is_ok());
        assert!(check(
            &ctx,
            "ec2",
            "DeleteSecurityGroup",
            json!({"GroupId": theirs})
        )
        .is_err());
        let run = |t: &str| json!({"ImageId": "ami-0123456789abcdef0", "InstanceType": t});
        assert!(check(&ctx, "ec2", "RunInstances", run("t3.micro")).is_ok());
        assert!(check(&ctx, "ec2", "RunInstances", run("m5.large")).is_err());
        let endpoint =
            |s: &str| json!({"VpcId": vpc, "ServiceName": format!("com.amazonaws.us-west-2.{s}")});
        assert!(check(&ctx, "ec2", "CreateVpcEndpoint", endpoint("s3")).is_ok());
        assert!(check(&ctx, "ec2", "CreateVpcEndpoint", endpoint("sts")).is_err());
        ctx.region = "eu-west-1".into();
        assert!(check(&ctx, "ec2", "CreateSecurityGroup", sg).is_err());

        // MWAA: the environment's tags.
        let p = r#"{"Statement":[{"Effect":"Allow","Action":"airflow:GetEnvironment","Resource":"*",
            "Condition":{"StringEquals":{"aws:ResourceTag/team":"data"}}}]}"#;
        let gina = user(&store, &config, "gina", Some(p));
        let ctx = ctx_as(&store, &config, gina);
        assert!(check(&ctx, "mwaa", "GetEnvironment", json!({"Name": "none"})).is_err());
    }

    #[test]
    fn refusals_read_like_each_service() {
        let (store, config) = (store(), Config::default());
        let bob = user(&store, &config, "bob", None);
        let arn = bob.arn.clone();
        let ctx = ctx_as(&store, &config, bob);
        let e = check(&ctx, "ec2", "DescribeVpcs", json!({})).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.status),
            ("UnauthorizedOperation", Some(403))
        );
        assert_eq!(e.message, format!("You are not authorized to perform this operation. User: {arn} is not authorized to perform: ec2:DescribeVpcs because no identity-based policy allows the ec2:DescribeVpcs action"));
        let e = check(
            &ctx,
            "acm",
            "DescribeCertificate",
            json!({"CertificateArn": "arn:aws:acm:us-west-2:000000000000:certificate/c"}),
        )
        .unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.status),
            ("AccessDeniedException", Some(400))
        );
        assert!(e.message.contains("acm:DescribeCertificate on resource: arn:aws:acm:us-west-2:000000000000:certificate/c because"), "{}", e.message);
        let e = check(&ctx, "s3", "HeadObject", json!({"Bucket": "b", "Key": "k"})).unwrap_err();
        assert_eq!((e.code.as_str(), e.status), ("AccessDenied", Some(403)));
        assert!(e.message.contains("s3:GetObject on resource: \"arn:aws:s3:::b/k\" because no identity-based policy allows the s3:GetObject action"), "{}", e.message);
        let e = check(&ctx, "mwaa", "GetEnvironment", json!({"Name": "env"})).unwrap_err();
        assert_eq!(e.code, "AccessDeniedException");
        assert!(e.message.contains("airflow:GetEnvironment on resource: arn:aws:airflow:us-west-2:000000000000:environment/env"), "{}", e.message);
        // GetCallerIdentity needs no permission.
        assert!(check(&ctx, "sts", "GetCallerIdentity", json!({})).is_ok());
    }

    #[test]
    fn a_users_policies_decide_and_a_deleted_user_has_none() {
        let (store, config) = (store(), Config::default());
        let p = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"},{"Effect":"Allow","Action":"airflow:CreateWebLoginToken","Resource":"arn:aws:airflow:*:*:role/*/Viewer"}]}"#;
        let carol = user(&store, &config, "carol", Some(p));
        let ctx = ctx_as(&store, &config, carol.clone());
        assert!(check(&ctx, "ec2", "DescribeVpcs", json!({})).is_ok());
        assert!(check(&ctx, "ec2", "CreateVpc", json!({})).is_err());
        // A web login token may act as any Airflow role: Viewer alone is enough.
        assert!(check(&ctx, "mwaa", "CreateWebLoginToken", json!({"Name": "env"})).is_ok());
        let e = check(&ctx, "mwaa", "CreateCliToken", json!({"Name": "env"})).unwrap_err();
        assert!(e.message.contains("airflow:CreateCliToken on resource: arn:aws:airflow:us-west-2:000000000000:environment/env"), "{}", e.message);
        // The policy is gone with the user (its key is still resolvable here).
        let root = ctx_as(&store, &config, root_principal("000000000000"));
        call(
            &root,
            "iam",
            "DeleteUserPolicy",
            json!({"UserName": "carol", "PolicyName": "p"}),
        );
        assert!(check(&ctx, "ec2", "DescribeVpcs", json!({})).is_err());
    }

    #[test]
    fn sessions_get_their_roles_policies_limited_by_session_policies() {
        let (store, config) = (store(), Config::default());
        let root = ctx_as(&store, &config, root_principal("000000000000"));
        call(
            &root,
            "iam",
            "CreateRole",
            json!({"RoleName": "r", "AssumeRolePolicyDocument": crate::auth::test_support::TRUST}),
        );
        call(
            &root,
            "iam",
            "AttachRolePolicy",
            json!({"RoleName": "r", "PolicyArn": "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess"}),
        );
        let assume = |policy: Option<&str>| {
            let mut input =
                json!({"RoleArn": "arn:aws:iam::000000000000:role/r", "RoleSessionName": "s"});
            if let Some(p) = policy {
                input["Policy"] = json!(p);
            }
            let out = call(&root, "sts", "AssumeRole", input);
            let id = out["Credentials"]["AccessKeyId"].as_str().unwrap();
            // Sessions expire relative to the test's clock.
            crate::auth::resolve(&store, &config, id, root.clock.now())
                .unwrap()
                .principal
        };
        let plain = ctx_as(&store, &config, assume(None));
        assert!(check(&plain, "ec2", "DescribeVpcs", json!({})).is_ok());
        assert!(check(&plain, "ec2", "CreateVpc", json!({})).is_err());
        let limited = ctx_as(
            &store,
            &config,
            assume(Some(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeSubnets","Resource":"*"}]}"#,
            )),
        );
        assert!(check(&limited, "ec2", "DescribeSubnets", json!({})).is_ok());
        let e = check(&limited, "ec2", "DescribeVpcs", json!({})).unwrap_err();
        assert!(
            e.message
                .contains("because no session policy allows the ec2:DescribeVpcs action"),
            "{}",
            e.message
        );
    }

    #[test]
    fn request_tags_in_every_protocols_shape() {
        let tags = |v: Value| request_tags(&v);
        assert_eq!(
            tags(json!({"Tags": [{"Key": "a", "Value": "1"}]})),
            vec![("a".into(), "1".into())]
        );
        assert_eq!(
            tags(json!({"Tags": {"a": "1"}})),
            vec![("a".into(), "1".into())]
        );
        assert_eq!(
            tags(
                json!({"TagSpecifications": [{"ResourceType": "vpc", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b"}]}]})
            ),
            vec![("a".into(), "1".into()), ("b".into(), String::new())]
        );
        assert!(tags(json!({"Tags": "nonsense"})).is_empty());
    }

    #[test]
    fn conditions_see_the_request_tags_and_the_source() {
        let (store, config) = (store(), Config::default());
        let p = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:CreateVpc","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/team":"data"},"ForAllValues:StringEquals":{"aws:TagKeys":["team"]},"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}"#;
        let dan = user(&store, &config, "dan", Some(p));
        let mut ctx = ctx_as(&store, &config, dan);
        let tagged = json!({"TagSpecifications": [{"ResourceType": "vpc", "Tags": [{"Key": "team", "Value": "data"}]}]});
        let local = Origin {
            source_ip: Some("127.0.0.1".parse().unwrap()),
            secure: false,
            endpoint: None,
        };
        assert!(authorize(&ctx, "ec2", "CreateVpc", &tagged).is_err());
        ctx.origin = local;
        assert!(authorize(&ctx, "ec2", "CreateVpc", &tagged).is_ok());
        let other = json!({"TagSpecifications": [{"ResourceType": "vpc", "Tags": [{"Key": "team", "Value": "web"}]}]});
        assert!(authorize(&ctx, "ec2", "CreateVpc", &other).is_err());
        let extra = json!({"TagSpecifications": [{"ResourceType": "vpc", "Tags": [{"Key": "team", "Value": "data"}, {"Key": "cost", "Value": "x"}]}]});
        assert!(authorize(&ctx, "ec2", "CreateVpc", &extra).is_err());
    }

    #[test]
    fn the_airflow_role_is_the_most_privileged_one_allowed() {
        let (store, config) = (store(), Config::default());
        let root = ctx_as(&store, &config, root_principal("000000000000"));
        assert_eq!(
            airflow_role(&root, "airflow:CreateWebLoginToken", "env"),
            Some("Admin")
        );
        let viewer = user(
            &store,
            &config,
            "v",
            Some(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"airflow:CreateWebLoginToken","Resource":"arn:aws:airflow:*:*:role/env/Viewer"}]}"#,
            ),
        );
        let ctx = ctx_as(&store, &config, viewer);
        assert_eq!(
            airflow_role(&ctx, "airflow:CreateWebLoginToken", "env"),
            Some("Viewer")
        );
        assert_eq!(
            airflow_role(&ctx, "airflow:CreateWebLoginToken", "other"),
            None
        );
        assert_eq!(airflow_role(&ctx, "airflow:InvokeRestApi", "env"), None);
        // AmazonMWAAWebServerAccess allows Viewer, User and Op: Op wins.
        call(
            &root,
            "iam",
            "AttachUserPolicy",
            json!({"UserName": "v", "PolicyArn": "arn:aws:iam::aws:policy/AmazonMWAAWebServerAccess"}),
        );
        assert_eq!(
            airflow_role(&ctx, "airflow:CreateWebLoginToken", "env"),
            Some("Op")
        );
        // A deny on Op leaves User.
        call(
            &root,
            "iam",
            "PutUserPolicy",
            json!({"UserName": "v", "PolicyName": "no-op", "PolicyDocument": r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"airflow:*","Resource":"arn:aws:airflow:*:*:role/*/Op"}]}"#}),
        );
        assert_eq!(
            airflow_role(&ctx, "airflow:CreateWebLoginToken", "env"),
            Some("User")
        );
        // In China the policy is attached by its ARN there, and names the airflow roles there.
        let mut china = ctx_as(&store, &config, ctx.principal.clone());
        china.region = "cn-north-1".into();
        call(
            &root,
            "iam",
            "DetachUserPolicy",
            json!({"UserName": "v", "PolicyArn": "arn:aws:iam::aws:policy/AmazonMWAAWebServerAccess"}),
        );
        call(
            &root,
            "iam",
            "DeleteUserPolicy",
            json!({"UserName": "v", "PolicyName": "no-op"}),
        );
        call(
            &root,
            "iam",
            "DeleteUserPolicy",
            json!({"UserName": "v", "PolicyName": "p"}),
        );
        assert_eq!(
            airflow_role(&china, "airflow:CreateWebLoginToken", "env"),
            None
        );
        call(
            &root,
            "iam",
            "AttachUserPolicy",
            json!({"UserName": "v", "PolicyArn": "arn:aws-cn:iam::aws:policy/AmazonMWAAWebServerAccess"}),
        );
        assert_eq!(
            airflow_role(&china, "airflow:CreateWebLoginToken", "env"),
            Some("Op")
        );
        // --iam off: Admin.
        let off = Config {
            iam: Mode::Off,
            ..Config::default()
        };
        let mut ctx_off = ctx_as(&store, &off, ctx.principal.clone());
        ctx_off.region = ctx.region.clone();
        assert_eq!(
            airflow_role(&ctx_off, "airflow:InvokeRestApi", "env"),
            Some("Admin")
        );
    }
}
