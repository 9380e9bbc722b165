//! Target health checks that really probe.
//!
//! One checker runs per target group that an active load balancer forwards to. Every (scaled)
//! interval it probes each registered target that is not draining or unused, from an interface
//! of a load balancer using the group (the one in the target's zone if there is one), through the
//! fabric, so the target's security groups must admit the load balancer as on AWS. A probe uses
//! the group's protocol, port, path, timeout and matcher: TCP checks pass when the connection
//! opens, HTTP(S) checks send `GET <path>` and match the status code. Consecutive results move
//! the target between `initial`, `healthy` and `unhealthy` ([`routing::Streak`]), and each
//! change is written to the state ([`targetgroups::set_health`]), where DescribeTargetHealth and
//! the load balancers read it.

use crate::lb::{self, Unreachable};
use crate::source::Source;
use airlock_protocol::ApiError;
use airlock_services::ec2::eni;
use airlock_services::elbv2::routing::{self, Destination, Failure, Streak};
use airlock_services::elbv2::targetgroups::{self, Health, HealthCheck, HealthReport};
use airlock_store::Scope;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::task::JoinSet;

/// The shortest real interval between rounds (for very small time scales).
const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// The shortest real timeout: scaled timeouts below it would fail healthy targets on a busy
/// machine.
const MIN_TIMEOUT: Duration = Duration::from_millis(500);

/// A registration: target id, port, and when it was registered (a new registration of the same
/// target starts its checks afresh).
type Key = (String, Option<i64>, OffsetDateTime);

/// One target as the checker knows it: registration identity and where to probe it from.
struct Probe {
    key: Key,
    dest: Destination,
    from: Arc<eni::NetworkInterface>,
    /// What the state reports now: `(state, reason, description)`.
    reported: HealthReport,
}

fn real(source: &Source, seconds: f64, floor: Duration) -> Duration {
    source
        .clock()
        .scaled(seconds)
        .try_into()
        .unwrap_or(Duration::ZERO)
        .max(floor)
}

/// Checks group `arn` until the task is aborted.
pub async fn run(source: Arc<Source>, scope: Scope, arn: String) {
    let mut streaks: HashMap<Key, Streak> = HashMap::new();
    loop {
        let Some((hc, protocol, probes)) = plan(&source, &scope, &arn) else {
            return;
        };
        streaks.retain(|k, _| probes.iter().any(|p| &p.key == k));
        let timeout = real(&source, hc.timeout as f64, MIN_TIMEOUT);
        let mut round = JoinSet::new();
        for (i, p) in probes.iter().enumerate() {
            let (source, scope, hc, protocol) =
                (source.clone(), scope.clone(), hc.clone(), protocol.clone());
            let (from, dest) = (p.from.clone(), p.dest);
            round.spawn(async move {
                let started = tokio::time::Instant::now();
                let result = probe(&source, &scope, &from, dest, &hc, &protocol, timeout).await;
                if result == Err(Failure::Timeout) {
                    // Dropped packets are only noticed when the timeout runs out.
                    tokio::time::sleep_until(started + timeout).await;
                }
                (i, result)
            });
        }
        let mut results = Vec::new();
        while let Some(r) = round.join_next().await {
            if let Ok(r) = r {
                results.push(r);
            }
        }
        let mut changes = Vec::new();
        for (i, result) in results {
            let p = &probes[i];
            let streak = streaks
                .entry(p.key.clone())
                .or_insert_with(|| Streak::from_state(&p.reported.0));
            streak.record(result, &hc);
            let (state, reason, description) = streak.verdict();
            let now = (
                state.to_owned(),
                reason.map(str::to_owned),
                description.clone(),
            );
            if now != p.reported {
                changes.push((p.key.clone(), now));
            }
        }
        if !changes.is_empty() {
            if let Err(e) = record(&source, &scope, &arn, changes) {
                tracing::warn!(target: "airlock::health", error = %e, "cannot record target health");
            }
        }
        tokio::time::sleep(real(&source, hc.interval as f64, MIN_INTERVAL)).await;
    }
}

/// What to probe now: the group's check settings and protocol, and the targets.
fn plan(source: &Source, scope: &Scope, arn: &str) -> Option<(HealthCheck, String, Vec<Probe>)> {
    let clock = source.clock();
    (*source.store).as_ref().read(|v| {
        let g = routing::group_now(v, scope, arn, clock)?;
        let hc = g.group.health_check.clone();
        let protocol = hc
            .protocol
            .clone()
            .or_else(|| g.group.protocol.clone())
            .unwrap_or_else(|| "HTTP".into());
        let zones: Vec<(String, String)> = g
            .lbs
            .iter()
            .filter(|lb| lb.is_active(clock))
            .flat_map(|lb| lb.zones.iter().map(|z| (z.az.clone(), z.eni_id.clone())))
            .collect();
        let probes = g
            .targets
            .iter()
            .filter(|(_, _, (state, _, _))| {
                matches!(state.as_str(), "initial" | "healthy" | "unhealthy")
            })
            .filter_map(|(reg, dest, reported)| {
                let dest = (*dest)?;
                let port = g
                    .group
                    .health_check_port(reg.port)
                    .and_then(|p| p.parse::<u16>().ok())
                    .unwrap_or(dest.port);
                let eni_id = zones
                    .iter()
                    .find(|(az, _)| reg.zone.as_ref() == Some(az))
                    .or_else(|| zones.first())
                    .map(|(_, e)| e)?;
                let from = v.get::<eni::NetworkInterface>(scope, eni_id)?;
                Some(Probe {
                    key: (reg.id.clone(), reg.port, reg.registered_at),
                    dest: Destination { ip: dest.ip, port },
                    from,
                    reported: reported.clone(),
                })
            })
            .collect();
        Some((hc, protocol, probes))
    })
}

/// Writes the new verdicts in one transaction.
fn record(
    source: &Source,
    scope: &Scope,
    arn: &str,
    changes: Vec<(Key, HealthReport)>,
) -> Result<(), ApiError> {
    let at = OffsetDateTime::now_utc();
    (*source.store).as_ref().write(|tx| {
        for ((id, port, _), (state, reason, description)) in &changes {
            let health = Health {
                state: state.clone(),
                reason: reason.clone(),
                description: description.clone(),
                at,
            };
            targetgroups::set_health(tx, scope, arn, id, *port, health)?;
        }
        Ok(())
    })
}

/// One health check of `dest` from interface `from`.
async fn probe(
    source: &Source,
    scope: &Scope,
    from: &eni::NetworkInterface,
    dest: Destination,
    hc: &HealthCheck,
    protocol: &str,
    timeout: Duration,
) -> Result<(), Failure> {
    let check = async {
        let tls = protocol == "HTTPS" || protocol == "TLS";
        let io = lb::open(source, scope, from, dest, tls)
            .await
            .map_err(|e| match e {
                Unreachable::Dropped => Failure::Timeout,
                Unreachable::Failed => Failure::Failed,
            })?;
        if !matches!(protocol, "HTTP" | "HTTPS") {
            return Ok(());
        }
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|_| Failure::Failed)?;
        tokio::spawn(conn);
        let path = hc.path.as_deref().unwrap_or("/");
        let req = hyper::Request::get(path)
            .header(hyper::header::HOST, format!("{}:{}", dest.ip, dest.port))
            .header(hyper::header::USER_AGENT, "ELB-HealthChecker/2.0")
            .header(hyper::header::CONNECTION, "close")
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .map_err(|_| Failure::Failed)?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|_| Failure::Failed)?;
        let status = resp.status().as_u16();
        let codes = hc
            .matcher
            .as_ref()
            .and_then(|m| m.http_code.as_deref())
            .unwrap_or("200");
        if targetgroups::http_code_matches(codes, status) {
            Ok(())
        } else {
            Err(Failure::Code(status))
        }
    };
    tokio::time::timeout(timeout, check)
        .await
        .unwrap_or(Err(Failure::Timeout))
}
