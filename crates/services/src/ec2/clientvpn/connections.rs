//! Client connections: one record per connection, written by the VPN server (`airlock-net`)
//! when a client connects, every [`HEARTBEAT_SECS`] while it stays (its traffic counters) and
//! when it goes; read by DescribeClientVpnConnections, and marked `terminating` by
//! TerminateClientVpnConnections, which the server notices and acts on.
//!
//! A connection whose server stopped writing (Airlock was stopped, or the endpoint's listener
//! with it) is shown `terminated` from its last heartbeat on. Ended connections are listed for
//! an hour, as AWS lists them.

use super::get;
use crate::ec2::common::{self, one, Field, Filterable};
use crate::input::{self, typed};
use crate::{ids, Ctx};
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Store};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// How often the server writes a live connection's counters (real seconds).
pub const HEARTBEAT_SECS: i64 = 30;
/// A connection not written for this long is over (real seconds).
const STALE_SECS: i64 = 3 * HEARTBEAT_SECS;
/// How long an ended connection is listed.
const LISTED_SECS: i64 = 3600;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub ingress_bytes: u64,
    pub egress_bytes: u64,
    pub ingress_packets: u64,
    pub egress_packets: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Connection {
    /// `cvpn-connection-` and 17 hex digits.
    pub id: String,
    pub endpoint: String,
    /// The client certificate's common name.
    pub common_name: String,
    /// The address of the client CIDR the client was given.
    pub client_ip: String,
    #[serde(with = "time::serde::rfc3339")]
    pub established: OffsetDateTime,
    /// The last write by the server.
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub ended: Option<OffsetDateTime>,
    /// `active`, `terminating` (asked to end) or `terminated`.
    pub status: String,
    pub counters: Counters,
}

airlock_store::record!(Connection, "ec2.client_vpn_connection", id, group: endpoint);

impl Connection {
    /// The status and end at `now` (a connection whose server went silent is over).
    fn seen(&self, now: OffsetDateTime) -> (&str, Option<OffsetDateTime>) {
        match self.ended {
            Some(end) => ("terminated", Some(end)),
            None if now - self.updated > Duration::seconds(STALE_SECS) => {
                ("terminated", Some(self.updated))
            }
            None => (self.status.as_str(), None),
        }
    }

    fn listed(&self, now: OffsetDateTime) -> bool {
        self.seen(now)
            .1
            .is_none_or(|end| now - end < Duration::seconds(LISTED_SECS))
    }
}

/// Client VPN's connection times: `2019-08-12 07:58:34`.
fn when(t: OffsetDateTime) -> String {
    crate::iso(t)[..19].replace('T', " ")
}

fn status(code: &str) -> dto::ClientVpnConnectionStatus {
    dto::ClientVpnConnectionStatus {
        code: Some(code.into()),
        message: None,
    }
}

/// Records a client that connected: the connection's id.
pub fn opened(
    store: &Store,
    scope: &Scope,
    endpoint: &str,
    common_name: &str,
    client_ip: &str,
    now: OffsetDateTime,
) -> ApiResult<String> {
    let c = Connection {
        id: ids::resource_id("cvpn-connection"),
        endpoint: endpoint.to_owned(),
        common_name: common_name.to_owned(),
        client_ip: client_ip.to_owned(),
        established: now,
        updated: now,
        ended: None,
        status: "active".into(),
        counters: Counters::default(),
    };
    let id = c.id.clone();
    store.write(|tx| tx.put(scope, c))?;
    Ok(id)
}

/// Writes a live connection's counters (the heartbeat); whether it was asked to end.
pub fn heartbeat(
    store: &Store,
    scope: &Scope,
    id: &str,
    counters: &Counters,
    now: OffsetDateTime,
) -> ApiResult<bool> {
    store.write(|tx| {
        let Some(c) = tx.get::<Connection>(scope, id) else {
            return Ok(true);
        };
        let terminating = c.status == "terminating";
        let mut c = (*c).clone();
        c.counters = counters.clone();
        c.updated = now;
        tx.put(scope, c)?;
        Ok(terminating)
    })
}

/// Whether connection `id` was asked to end (or is gone).
pub fn terminating(store: &Store, scope: &Scope, id: &str) -> bool {
    store.read(|v| {
        v.get::<Connection>(scope, id)
            .is_none_or(|c| c.status != "active")
    })
}

/// Records that a connection ended.
pub fn closed(
    store: &Store,
    scope: &Scope,
    id: &str,
    counters: &Counters,
    now: OffsetDateTime,
) -> ApiResult<()> {
    store.write(|tx| {
        if let Some(c) = tx.get::<Connection>(scope, id) {
            let mut c = (*c).clone();
            c.counters = counters.clone();
            c.updated = now;
            c.ended = Some(now);
            c.status = "terminated".into();
            tx.put(scope, c)?;
        }
        Ok(())
    })
}

struct Shown<'a>(&'a Connection);

impl Filterable for Shown<'_> {
    fn field(&self, name: &str) -> Field {
        match name {
            "connection-id" => one(&self.0.id),
            // Certificate authentication has no user name.
            "username" => Some(Vec::new()),
            _ => None,
        }
    }
}

fn out(c: &Connection, now: OffsetDateTime) -> dto::ClientVpnConnection {
    let (code, end) = c.seen(now);
    dto::ClientVpnConnection {
        client_vpn_endpoint_id: Some(c.endpoint.clone()),
        timestamp: Some(when(now)),
        connection_id: Some(c.id.clone()),
        connection_established_time: Some(when(c.established)),
        ingress_bytes: Some(c.counters.ingress_bytes.to_string()),
        egress_bytes: Some(c.counters.egress_bytes.to_string()),
        ingress_packets: Some(c.counters.ingress_packets.to_string()),
        egress_packets: Some(c.counters.egress_packets.to_string()),
        client_ip: Some(c.client_ip.clone()),
        common_name: Some(c.common_name.clone()),
        status: Some(status(code)),
        connection_end_time: Some(end.map(when).unwrap_or_else(|| "-".into())),
        posture_compliance_statuses: Some(Vec::new()),
        ..Default::default()
    }
}

fn connections_of(ctx: &Ctx<'_>, endpoint: &str) -> ApiResult<Vec<Arc<Connection>>> {
    let scope = ctx.scope();
    ctx.store.read(|v| {
        get(v, &scope, endpoint)?;
        let mut all = v.list_in::<Connection>(&scope, endpoint);
        all.sort_by(|a, b| (a.established, &a.id).cmp(&(b.established, &b.id)));
        Ok(all)
    })
}

pub fn describe_client_vpn_connections(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::DescribeClientVpnConnectionsRequest = typed(input)?;
    let filters = common::filters(input);
    let now = ctx.clock.now();
    let mut kept = Vec::new();
    for c in connections_of(ctx, &req.client_vpn_endpoint_id)? {
        if c.listed(now) && common::matches(&Shown(&c), &filters)? {
            kept.push(c);
        }
    }
    let (page, next) = common::paginate(kept, input, (5, 1000), false, |c| c.id.clone())?;
    Ok(Output::new(dto::DescribeClientVpnConnectionsResult {
        connections: Some(page.iter().map(|c| out(c, now)).collect()),
        next_token: next,
    }))
}

pub fn terminate_client_vpn_connections(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::TerminateClientVpnConnectionsRequest = typed(input)?;
    let now = ctx.clock.now();
    let scope = ctx.scope();
    let doomed: Vec<Arc<Connection>> = match (&req.connection_id, &req.username) {
        (Some(id), None) => {
            let c = connections_of(ctx, &req.client_vpn_endpoint_id)?
                .into_iter()
                .find(|c| &c.id == id)
                .ok_or_else(|| {
                    ApiError::new(
                        "InvalidClientVpnConnection.IdNotFound",
                        format!("Connection {id} does not exist"),
                    )
                })?;
            vec![c]
        }
        (None, Some(user)) => {
            // Certificate authentication has no user names: no connection is a user's.
            connections_of(ctx, &req.client_vpn_endpoint_id)?;
            return Err(ApiError::new(
                "InvalidClientVpnConnection.UserNotFound",
                format!(
                    "User {user} does not have an active connection to the Client VPN endpoint"
                ),
            ));
        }
        _ => {
            return Err(ApiError::new(
                "InvalidParameterCombination",
                "Specify either ConnectionId or Username",
            ))
        }
    };
    let mut statuses = Vec::new();
    ctx.store.write(|tx| {
        for c in &doomed {
            let (previous, _) = c.seen(now);
            let previous = previous.to_owned();
            let current = if previous == "active" {
                let mut c = (**c).clone();
                c.status = "terminating".into();
                tx.put(&scope, c)?;
                "terminating".to_owned()
            } else {
                previous.clone()
            };
            statuses.push(dto::TerminateConnectionStatus {
                connection_id: Some(c.id.clone()),
                previous_status: Some(status(&previous)),
                current_status: Some(status(&current)),
            });
        }
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::TerminateClientVpnConnectionsResult {
        client_vpn_endpoint_id: Some(req.client_vpn_endpoint_id.clone()),
        connection_statuses: Some(statuses),
        username: req.username.clone(),
    }))
}

/// Removes an endpoint's connection records (the endpoint is being deleted).
pub fn delete_of(tx: &mut airlock_store::Tx<'_>, scope: &Scope, endpoint: &str) {
    for c in tx.list_in::<Connection>(scope, endpoint) {
        tx.delete::<Connection>(scope, &c.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(updated: OffsetDateTime, ended: Option<OffsetDateTime>) -> Connection {
        Connection {
            id: "cvpn-connection-0123456789abcdef0".into(),
            endpoint: "cvpn-endpoint-0123456789abcdef0".into(),
            common_name: "client1.domain.tld".into(),
            client_ip: "10.100.0.2".into(),
            established: updated,
            updated,
            ended,
            status: "active".into(),
            counters: Counters::default(),
        }
    }

    /// A connection is active while its server writes heartbeats, terminated from its last one
    /// when they stop, and listed for an hour after it ended.
    #[test]
    fn silent_connections_end_at_their_last_heartbeat() {
        let t = OffsetDateTime::now_utc();
        let live = connection(t, None);
        assert_eq!(live.seen(t + Duration::seconds(60)), ("active", None));
        assert_eq!(
            live.seen(t + Duration::seconds(STALE_SECS + 1)),
            ("terminated", Some(t))
        );
        let ended = connection(t, Some(t));
        assert!(ended.listed(t + Duration::seconds(LISTED_SECS - 1)));
        assert!(!ended.listed(t + Duration::seconds(LISTED_SECS + 1)));
        assert_eq!(when(t).len(), 19);
        assert_eq!(&when(t)[10..11], " ");
    }
}
