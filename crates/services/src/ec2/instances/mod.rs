//! EC2 instances: RunInstances, DescribeInstances, StopInstances, StartInstances and
//! TerminateInstances (what a bastion host needs).
//!
//! An instance is a record plus the network interface it was launched with (created with
//! [`eni::create_in`], `in-use`, attached at device index 0) and, when the subnet maps public
//! addresses on launch or the request asks for one, an address from the public pool
//! ([`nat::take_public_ip`]). No machine runs: the state is bookkeeping that the bastion's
//! network side will later act on.
//!
//! States follow AWS's lifecycle on the scaled clock, derived at read time from the last action
//! and when it was taken: `pending`(0) → `running`(16) about 30 s after RunInstances or
//! StartInstances, `stopping`(64) → `stopped`(80) after StopInstances, `shutting-down`(32) →
//! `terminated`(48) after TerminateInstances; terminated instances stay visible for an hour and
//! are then forgotten. As on AWS, an auto-assigned public address is released on stop (a new one
//! comes with the next start) and on termination; an Elastic IP stays with the interface.
//!
//! Known differences from AWS: any well-formed `ami-…` id is accepted (there is no image
//! catalogue; every image is a 64-bit HVM EBS-backed Linux image with root device `/dev/xvda`);
//! only the instance types of [`TYPES`] are known; one network interface per instance; the
//! interface (with `DeleteOnTermination`) is deleted when termination starts rather than when it
//! completes; no IAM instance profiles, placement groups, spot, or user-data retrieval.

use super::common::{self, flag, one, tags_json, Field, Filterable, Tag};
use super::{eni, keypair, nat, regions, sg, vpc};
use crate::Clock;
use crate::{ids, input, Ctx};
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Scope, Tx, View};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;

/// Seconds of AWS time each transition (`pending`, `stopping`, `shutting-down`) takes.
pub const TRANSITION_SECS: f64 = 30.0;
/// How long a terminated instance stays visible in DescribeInstances.
pub const TERMINATED_VISIBLE_SECS: f64 = 3600.0;
/// The On-Demand instance limit a new account has (`max-instances` of DescribeAccountAttributes).
pub const INSTANCE_LIMIT: usize = 20;
/// RunInstances' default when `InstanceType` is absent.
pub const DEFAULT_TYPE: &str = "m1.small";

/// Instance types Airlock knows: `(type, cores, threads per core, Nitro)`. All are x86_64.
pub const TYPES: &[(&str, i64, i64, bool)] = &[
    ("m1.small", 1, 1, false),
    ("m1.medium", 1, 1, false),
    ("m1.large", 2, 1, false),
    ("m1.xlarge", 4, 1, false),
    ("t2.nano", 1, 1, false),
    ("t2.micro", 1, 1, false),
    ("t2.small", 1, 1, false),
    ("t2.medium", 2, 1, false),
    ("t2.large", 2, 1, false),
    ("t2.xlarge", 4, 1, false),
    ("t2.2xlarge", 8, 1, false),
    ("t3.nano", 1, 2, true),
    ("t3.micro", 1, 2, true),
    ("t3.small", 1, 2, true),
    ("t3.medium", 1, 2, true),
    ("t3.large", 1, 2, true),
    ("t3.xlarge", 2, 2, true),
    ("t3.2xlarge", 4, 2, true),
    ("t3a.nano", 1, 2, true),
    ("t3a.micro", 1, 2, true),
    ("t3a.small", 1, 2, true),
    ("t3a.medium", 1, 2, true),
    ("t3a.large", 1, 2, true),
    ("t3a.xlarge", 2, 2, true),
    ("t3a.2xlarge", 4, 2, true),
    ("m4.large", 1, 2, false),
    ("m4.xlarge", 2, 2, false),
    ("m4.2xlarge", 4, 2, false),
    ("m5.large", 1, 2, true),
    ("m5.xlarge", 2, 2, true),
    ("m5.2xlarge", 4, 2, true),
    ("m5.4xlarge", 8, 2, true),
    ("m5a.large", 1, 2, true),
    ("m5a.xlarge", 2, 2, true),
    ("m6i.large", 1, 2, true),
    ("m6i.xlarge", 2, 2, true),
    ("m6i.2xlarge", 4, 2, true),
    ("m6a.large", 1, 2, true),
    ("m6a.xlarge", 2, 2, true),
    ("m7i.large", 1, 2, true),
    ("m7i.xlarge", 2, 2, true),
    ("c5.large", 1, 2, true),
    ("c5.xlarge", 2, 2, true),
    ("c5.2xlarge", 4, 2, true),
    ("c6i.large", 1, 2, true),
    ("c6i.xlarge", 2, 2, true),
    ("c7i.large", 1, 2, true),
    ("c7i.xlarge", 2, 2, true),
    ("r5.large", 1, 2, true),
    ("r5.xlarge", 2, 2, true),
    ("r6i.large", 1, 2, true),
    ("r6i.xlarge", 2, 2, true),
];

fn type_info(t: &str) -> Option<(i64, i64, bool)> {
    TYPES
        .iter()
        .find(|(name, ..)| *name == t)
        .map(|(_, c, th, nitro)| (*c, *th, *nitro))
}

/// The last lifecycle action taken on an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Launch,
    Start,
    Stop,
    Terminate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Running,
    ShuttingDown,
    Terminated,
    Stopping,
    Stopped,
}

impl State {
    pub fn code(self) -> i64 {
        match self {
            State::Pending => 0,
            State::Running => 16,
            State::ShuttingDown => 32,
            State::Terminated => 48,
            State::Stopping => 64,
            State::Stopped => 80,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::ShuttingDown => "shutting-down",
            State::Terminated => "terminated",
            State::Stopping => "stopping",
            State::Stopped => "stopped",
        }
    }

    fn json(self) -> Value {
        json!({"Code": self.code(), "Name": self.name()})
    }
}

/// The state an instance is in at `now`, `action` having been taken at `at` and each transition
/// lasting `transition`.
pub fn state_at(
    action: Action,
    at: OffsetDateTime,
    now: OffsetDateTime,
    transition: time::Duration,
) -> State {
    let done = now >= at + transition;
    match (action, done) {
        (Action::Launch | Action::Start, false) => State::Pending,
        (Action::Launch | Action::Start, true) => State::Running,
        (Action::Stop, false) => State::Stopping,
        (Action::Stop, true) => State::Stopped,
        (Action::Terminate, false) => State::ShuttingDown,
        (Action::Terminate, true) => State::Terminated,
    }
}

/// Whether a terminated instance has dropped out of sight (`visible` after it reached
/// `terminated`).
pub fn expired(
    action: Action,
    at: OffsetDateTime,
    now: OffsetDateTime,
    transition: time::Duration,
    visible: time::Duration,
) -> bool {
    action == Action::Terminate && now >= at + transition + visible
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    /// `i-` and 17 hex digits.
    pub id: String,
    /// `r-` and 17 hex digits, shared by the instances of one RunInstances call.
    pub reservation_id: String,
    pub owner: String,
    pub region: String,
    pub image_id: String,
    pub instance_type: String,
    pub key_name: Option<String>,
    pub subnet_id: String,
    pub vpc_id: String,
    pub az: String,
    pub az_id: String,
    /// The primary network interface (device index 0).
    pub eni_id: String,
    pub attachment_id: String,
    pub private_ip: u32,
    /// The auto-assigned public address currently held (not an Elastic IP).
    pub public_ip: Option<String>,
    /// Whether the instance gets an auto-assigned public address when it starts.
    pub assign_public_ip: bool,
    pub delete_eni_on_termination: bool,
    /// Security group ids at launch (the interface's groups are what DescribeInstances shows).
    pub groups: Vec<String>,
    /// The root EBS volume.
    pub volume_id: String,
    pub ami_launch_index: i64,
    pub client_token: Option<String>,
    pub tags: Vec<Tag>,
    /// Tags the launch asked for on the root volume (kept for when volumes exist).
    #[serde(default)]
    pub volume_tags: Vec<Tag>,
    pub monitoring: bool,
    pub ebs_optimized: bool,
    pub http_tokens: String,
    pub http_put_response_hop_limit: i64,
    pub http_endpoint: String,
    pub instance_metadata_tags: String,
    #[serde(default)]
    pub user_data: Option<String>,
    /// The IAM instance profile it runs with.
    #[serde(default)]
    pub profile: Option<ProfileAssociation>,
    /// CPU credits of a burstable type, when set (else the type's default).
    #[serde(default)]
    pub cpu_credits: Option<String>,
    /// What ModifyInstanceAttribute changes.
    #[serde(default)]
    pub settings: Settings,
    /// First launch (volume and interface attach time).
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// The last start (AWS's `LaunchTime` moves with each start).
    #[serde(with = "time::serde::rfc3339")]
    pub launch_time: OffsetDateTime,
    pub action: Action,
    #[serde(with = "time::serde::rfc3339")]
    pub action_at: OffsetDateTime,
}

airlock_store::record!(Instance, "ec2.instance", id);

impl Instance {
    pub fn state(&self, clock: Clock) -> State {
        state_at(
            self.action,
            self.action_at,
            clock.now(),
            clock.scaled(TRANSITION_SECS),
        )
    }

    /// Whether the instance is `running` at `now` (what the data plane serves a bastion for).
    pub fn is_running(&self, clock: Clock) -> bool {
        self.state(clock) == State::Running
    }

    pub fn is_expired(&self, clock: Clock) -> bool {
        expired(
            self.action,
            self.action_at,
            clock.now(),
            clock.scaled(TRANSITION_SECS),
            clock.scaled(TERMINATED_VISIBLE_SECS),
        )
    }

    /// Ordering key: reservations together, by launch index within one.
    fn sort_key(&self) -> String {
        format!("{}/{:04}", self.reservation_id, self.ami_launch_index)
    }
}

/// `ec2-127-255-1-2.us-west-2.compute.amazonaws.com` (`ec2-….compute-1.amazonaws.com` in
/// us-east-1).
pub fn public_dns_name(region: &str, ip: &str) -> String {
    let dashed = ip.replace('.', "-");
    if region == "us-east-1" {
        format!("ec2-{dashed}.compute-1.amazonaws.com")
    } else {
        let suffix = crate::partition::dns_suffix(region);
        format!("ec2-{dashed}.{region}.compute.{suffix}")
    }
}

/// `User initiated (2024-05-01 10:00:00 GMT)`.
fn user_initiated(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "User initiated ({:04}-{:02}-{:02} {:02}:{:02}:{:02} GMT)",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

mod attributes;
mod describe;
mod options;
mod profile;
mod run;
mod types;

use attributes::Settings;
pub use attributes::{describe_instance_attribute, describe_volumes, modify_instance_attribute};

pub use describe::describe_instances;
use describe::Snapshot;
pub use options::{
    describe_instance_credit_specifications, modify_instance_credit_specification,
    modify_instance_metadata_options, monitor_instances, unmonitor_instances,
};
pub use profile::{
    associate_iam_instance_profile, describe_iam_instance_profile_associations,
    disassociate_iam_instance_profile, replace_iam_instance_profile_association,
    ProfileAssociation,
};
pub(crate) use run::check_image_id;
pub use run::run_instances;
use run::{check_instance_id, not_found, purge_expired};
pub use types::describe_instance_types;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Stop,
    Start,
    Terminate,
}

/// What `change` does to an instance in `state`: `Ok(true)` acts, `Ok(false)` leaves it as it is
/// (AWS answers such repeats with the current state), `Err` is `IncorrectInstanceState`.
fn allowed(change: Change, state: State, id: &str) -> ApiResult<bool> {
    use State::*;
    let verb = match change {
        Change::Stop => match state {
            Running => return Ok(true),
            Stopping | Stopped => return Ok(false),
            _ => "stopped",
        },
        Change::Start => match state {
            Stopped => return Ok(true),
            Pending | Running => return Ok(false),
            _ => "started",
        },
        Change::Terminate => match state {
            ShuttingDown | Terminated => return Ok(false),
            _ => return Ok(true),
        },
    };
    Err(ApiError::new(
        "IncorrectInstanceState",
        format!("The instance '{id}' is not in a state from which it can be {verb}."),
    ))
}

/// Gives up the instance's auto-assigned public address (an Elastic IP stays with the interface
/// unless `detach_eip`).
fn release_public(
    tx: &mut Tx<'_>,
    scope: &Scope,
    inst: &mut Instance,
    e: Option<&mut eni::NetworkInterface>,
    detach_eip: bool,
) -> ApiResult<()> {
    if let Some(ip) = inst.public_ip.take() {
        nat::release_public_ip(tx, &ip);
        if let Some(e) = e {
            if e.public_ip.as_ref() == Some(&ip) && e.allocation_id.is_none() {
                e.public_ip = None;
            }
        }
        return Ok(());
    }
    if let (true, Some(e)) = (detach_eip, e) {
        if let Some(alloc) = e.allocation_id.take() {
            if let Some(a) = tx.get::<nat::Address>(scope, &alloc) {
                let mut a = (*a).clone();
                a.association = None;
                a.vpc_id = None;
                tx.put(scope, a)?;
            }
            e.public_ip = None;
            e.association_id = None;
        }
    }
    Ok(())
}

fn apply(ctx: &Ctx<'_>, tx: &mut Tx<'_>, change: Change, i: &Instance) -> ApiResult<()> {
    let scope = &ctx.scope();
    let mut inst = i.clone();
    let mut e = tx
        .get::<eni::NetworkInterface>(scope, &inst.eni_id)
        .map(|e| (*e).clone())
        .filter(|e| {
            e.attachment
                .as_ref()
                .is_some_and(|a| a.instance_id == inst.id)
        });
    inst.action_at = ctx.clock.now();
    match change {
        Change::Stop => {
            inst.action = Action::Stop;
            release_public(tx, scope, &mut inst, e.as_mut(), false)?;
        }
        Change::Start => {
            inst.action = Action::Start;
            inst.launch_time = ctx.clock.now();
            let has_eip = e.as_ref().is_some_and(|e| e.public_ip.is_some());
            if inst.assign_public_ip && !has_eip {
                let ip = nat::take_public_ip(tx, ctx.account())?;
                if let Some(e) = e.as_mut() {
                    e.public_ip = Some(ip.clone());
                }
                inst.public_ip = Some(ip);
            }
        }
        Change::Terminate => {
            inst.action = Action::Terminate;
            release_public(tx, scope, &mut inst, e.as_mut(), true)?;
            if let Some(mut e) = e.take() {
                if inst.delete_eni_on_termination {
                    tx.delete::<eni::NetworkInterface>(scope, &e.id);
                } else {
                    e.attachment = None;
                    e.status = "available".into();
                    tx.put(scope, e)?;
                }
            }
            // Interfaces attached later go with it or stay behind, as each one's attachment says.
            for other in tx.list_in::<eni::NetworkInterface>(scope, &inst.vpc_id) {
                let Some(a) = other
                    .attachment
                    .as_ref()
                    .filter(|a| a.instance_id == inst.id)
                else {
                    continue;
                };
                if a.delete_on_termination {
                    tx.delete::<eni::NetworkInterface>(scope, &other.id);
                } else {
                    let mut other = (*other).clone();
                    other.attachment = None;
                    other.status = "available".into();
                    tx.put(scope, other)?;
                }
            }
        }
    }
    if let Some(e) = e {
        tx.put(scope, e)?;
    }
    tx.put(scope, inst)?;
    Ok(())
}

fn change_state(ctx: &Ctx<'_>, input: &Value, change: Change, out_key: &str) -> ApiResult<Value> {
    input::dry_run(input)?;
    let mut ids: Vec<String> = Vec::new();
    for id in input::strs(input, "InstanceIds") {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter InstanceId",
        ));
    }
    for id in &ids {
        check_instance_id(id)?;
    }
    let scope = ctx.scope();
    let changes = ctx.store.write(|tx| {
        purge_expired(ctx, tx, &scope);
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for id in &ids {
            match tx.get::<Instance>(&scope, id) {
                Some(i) => found.push(i),
                None => missing.push(id.clone()),
            }
        }
        if !missing.is_empty() {
            return Err(not_found(&missing));
        }
        let mut plan = Vec::new();
        for i in &found {
            let state = i.state(ctx.clock);
            let act = allowed(change, state, &i.id)?;
            if act && change != Change::Start {
                attributes::protected(i, change == Change::Terminate)?;
            }
            plan.push((state, act));
        }
        let mut out = Vec::new();
        for (i, (previous, act)) in found.iter().zip(plan) {
            let current = if act {
                apply(ctx, tx, change, i)?;
                match change {
                    Change::Stop => State::Stopping,
                    Change::Start => State::Pending,
                    Change::Terminate => State::ShuttingDown,
                }
            } else {
                previous
            };
            out.push(json!({
                "InstanceId": i.id, "CurrentState": current.json(), "PreviousState": previous.json(),
            }));
        }
        Ok::<_, ApiError>(out)
    })?;
    let mut res = json!({});
    res[out_key] = Value::Array(changes);
    Ok(res)
}

pub fn stop_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    change_state(ctx, input, Change::Stop, "StoppingInstances")
}

pub fn start_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    change_state(ctx, input, Change::Start, "StartingInstances")
}

pub fn terminate_instances(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
    change_state(ctx, input, Change::Terminate, "TerminatingInstances")
}

/// Whether an instance that is pending or running holds the public address `ip` in `region`, in a
/// VPC with DNS hostnames (so that its public DNS name resolves; for the DNS server).
pub fn public_ip_in_use(v: &View<'_>, clock: Clock, region: &str, ip: &str) -> bool {
    v.find::<eni::NetworkInterface>(ip)
        .iter()
        .any(|(scope, e)| {
            let Some(attachment) = e.attachment.as_ref() else {
                return false;
            };
            scope.region == region
                && e.public_ip.as_deref() == Some(ip)
                && v.get::<Instance>(scope, &attachment.instance_id)
                    .is_some_and(|i| {
                        i.eni_id == e.id
                            && matches!(i.state(clock), State::Pending | State::Running)
                            && v.get::<vpc::Vpc>(scope, &i.vpc_id)
                                .is_some_and(|x| x.dns_hostnames)
                    })
        })
}

#[cfg(test)]
mod tests {
    use super::run::*;
    use super::*;
    use time::macros::datetime;

    const T: time::Duration = time::Duration::seconds(30);
    const HOUR: time::Duration = time::Duration::hours(1);

    #[test]
    fn launch_and_start_go_pending_then_running() {
        let at = datetime!(2024-05-01 10:00:00 UTC);
        for action in [Action::Launch, Action::Start] {
            assert_eq!(state_at(action, at, at, T), State::Pending);
            assert_eq!(
                state_at(action, at, at + T - time::Duration::milliseconds(1), T),
                State::Pending
            );
            assert_eq!(state_at(action, at, at + T, T), State::Running);
            assert_eq!(state_at(action, at, at + HOUR * 24, T), State::Running);
        }
    }

    #[test]
    fn stop_and_terminate_settle() {
        let at = datetime!(2024-05-01 10:00:00 UTC);
        assert_eq!(state_at(Action::Stop, at, at, T), State::Stopping);
        assert_eq!(state_at(Action::Stop, at, at + T, T), State::Stopped);
        assert_eq!(state_at(Action::Terminate, at, at, T), State::ShuttingDown);
        assert_eq!(
            state_at(Action::Terminate, at, at + T, T),
            State::Terminated
        );
        assert_eq!(
            [
                State::Pending,
                State::Running,
                State::ShuttingDown,
                State::Terminated,
                State::Stopping,
                State::Stopped
            ]
            .map(State::code),
            [0, 16, 32, 48, 64, 80]
        );
    }

    #[test]
    fn terminated_instances_disappear_after_an_hour() {
        let at = datetime!(2024-05-01 10:00:00 UTC);
        assert!(!expired(Action::Terminate, at, at + T, T, HOUR));
        assert!(!expired(Action::Terminate, at, at + HOUR, T, HOUR));
        assert!(expired(Action::Terminate, at, at + T + HOUR, T, HOUR));
        assert!(!expired(Action::Stop, at, at + HOUR * 48, T, HOUR));
    }

    #[test]
    fn transitions_allowed_per_state() {
        use State::*;
        assert!(allowed(Change::Stop, Running, "i-1").unwrap());
        assert!(!allowed(Change::Stop, Stopped, "i-1").unwrap());
        let e = allowed(Change::Stop, Terminated, "i-1").unwrap_err();
        assert_eq!(e.code, "IncorrectInstanceState");
        assert_eq!(
            e.message,
            "The instance 'i-1' is not in a state from which it can be stopped."
        );
        assert!(allowed(Change::Stop, Pending, "i-1").is_err());
        assert!(allowed(Change::Start, Stopped, "i-1").unwrap());
        assert!(!allowed(Change::Start, Running, "i-1").unwrap());
        assert!(allowed(Change::Start, Stopping, "i-1").is_err());
        assert!(allowed(Change::Start, ShuttingDown, "i-1").is_err());
        assert!(allowed(Change::Terminate, Stopped, "i-1").unwrap());
        assert!(allowed(Change::Terminate, Pending, "i-1").unwrap());
        assert!(!allowed(Change::Terminate, Terminated, "i-1").unwrap());
    }

    #[test]
    fn names_and_ids() {
        assert_eq!(
            public_dns_name("us-west-2", "127.255.1.2"),
            "ec2-127-255-1-2.us-west-2.compute.amazonaws.com"
        );
        assert_eq!(
            public_dns_name("us-east-1", "127.255.1.2"),
            "ec2-127-255-1-2.compute-1.amazonaws.com"
        );
        assert_eq!(
            user_initiated(datetime!(2024-05-01 10:02:03 UTC)),
            "User initiated (2024-05-01 10:02:03 GMT)"
        );
        assert!(check_image_id("ami-12345678").is_ok());
        assert!(check_image_id("ami-0123456789abcdef0").is_ok());
        assert_eq!(
            check_image_id("ami-xyz").unwrap_err().code,
            "InvalidAMIID.Malformed"
        );
        assert!(check_image_id("ami-0123456789ABCDEF0").is_err());
        assert!(check_instance_id("i-0123456789abcdef0").is_ok());
        assert_eq!(
            check_instance_id("i-zz").unwrap_err().code,
            "InvalidInstanceID.Malformed"
        );
        assert_eq!(
            not_found(&["i-1".into(), "i-2".into()]).message,
            "The instance IDs 'i-1, i-2' do not exist"
        );
    }

    #[test]
    fn type_table_is_consistent() {
        assert!(type_info(DEFAULT_TYPE).is_some());
        for (name, cores, threads, _) in TYPES {
            assert!(name.contains('.'));
            assert!(*cores >= 1 && (1..=2).contains(threads));
        }
        assert_eq!(type_info("t3.micro"), Some((1, 2, true)));
        assert_eq!(type_info("x9.huge"), None);
    }
}
