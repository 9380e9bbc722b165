//! What the data plane asks of the EC2 model: which loopback slot a VPC has, which interface
//! holds an address, and whether security groups let a connection in.
//!
//! Slots are handed out on first use (a VPC that never hosts a listener never takes one) and
//! kept in a global record, so every VPC of every account and region has its own loopback /16.

use super::cidr::Cidr;
use super::{eni, sg, vpc};
use airlock_protocol::{ApiError, ApiResult};
use airlock_store::{Record, Scope, Store, View};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Slots are 1..=254 at most; 0 is the host's own 127.0.x.x, 255 the public range.
const SLOTS: std::ops::RangeInclusive<u8> = 1..=254;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FabricSlot {
    /// The slot number, zero-padded (`007`).
    pub id: String,
    pub scope: Scope,
    pub vpc_id: String,
}

impl Record for FabricSlot {
    const KIND: &'static str = "ec2.fabric_slot";
    fn id(&self) -> &str {
        &self.id
    }
}

fn global() -> Scope {
    Scope::new("", "")
}

/// The slot of `vpc_id`, taking a free one if it has none.
pub fn ensure_slot(
    store: &Store,
    config: &crate::Config,
    scope: &Scope,
    vpc_id: &str,
) -> ApiResult<u8> {
    let find = |v: &View<'_>| {
        v.list::<FabricSlot>(&global())
            .into_iter()
            .find(|s| &s.scope == scope && s.vpc_id == vpc_id)
            .and_then(|s| s.id.parse().ok())
    };
    if let Some(slot) = store.read(find) {
        return Ok(slot);
    }
    store.write(|tx| {
        let taken = tx.list::<FabricSlot>(&global());
        if let Some(s) = taken
            .iter()
            .find(|s| &s.scope == scope && s.vpc_id == vpc_id)
        {
            return Ok(s.id.parse().unwrap_or(0));
        }
        let range = (*config.fabric_slots.start()).max(*SLOTS.start())
            ..=(*config.fabric_slots.end()).min(*SLOTS.end());
        let slot = range
            .into_iter()
            .find(|n| !taken.iter().any(|s| s.id == format!("{n:03}")))
            .ok_or_else(|| {
                ApiError::new(
                    "VpcLimitExceeded",
                    "Airlock's loopback fabric has room for 254 VPCs with listeners.",
                )
            })?;
        tx.put(
            &global(),
            FabricSlot {
                id: format!("{slot:03}"),
                scope: scope.clone(),
                vpc_id: vpc_id.to_owned(),
            },
        )?;
        Ok(slot)
    })
}

/// The VPC that owns `slot`.
pub fn vpc_of_slot(v: &View<'_>, slot: u8) -> Option<(Scope, Arc<vpc::Vpc>)> {
    let s = v.get::<FabricSlot>(&global(), &format!("{slot:03}"))?;
    v.get::<vpc::Vpc>(&s.scope, &s.vpc_id)
        .map(|vpc| (s.scope.clone(), vpc))
}

/// Frees the slots of VPCs that no longer exist.
pub fn release_stale(store: &Store) -> ApiResult<()> {
    let stale: Vec<String> = store.read(|v| {
        v.list::<FabricSlot>(&global())
            .iter()
            .filter(|s| v.get::<vpc::Vpc>(&s.scope, &s.vpc_id).is_none())
            .map(|s| s.id.clone())
            .collect()
    });
    if stale.is_empty() {
        return Ok(());
    }
    store.write(|tx| {
        for id in &stale {
            tx.delete::<FabricSlot>(&global(), id);
        }
        Ok::<_, ApiError>(())
    })
}

/// The interface holding private address `ip` in `vpc_id`.
pub fn interface_at(
    v: &View<'_>,
    scope: &Scope,
    vpc_id: &str,
    ip: u32,
) -> Option<Arc<eni::NetworkInterface>> {
    v.list_in::<eni::NetworkInterface>(scope, vpc_id)
        .into_iter()
        .find(|e| e.private_ip == ip)
}

/// Whether the security groups `dest_groups` admit TCP to `port` from a peer at VPC address
/// `peer_ip` that carries `peer_groups`.
pub fn admits(
    v: &View<'_>,
    scope: &Scope,
    dest_groups: &[String],
    peer_ip: u32,
    peer_groups: &[String],
    port: u16,
) -> bool {
    rules_match(v, scope, dest_groups, false, peer_ip, peer_groups, port)
}

/// Whether the security groups `src_groups` let TCP out to `dest_ip`:`port` (carrying `dest_groups`).
pub fn lets_out(
    v: &View<'_>,
    scope: &Scope,
    src_groups: &[String],
    dest_ip: u32,
    dest_groups: &[String],
    port: u16,
) -> bool {
    rules_match(v, scope, src_groups, true, dest_ip, dest_groups, port)
}

fn rules_match(
    v: &View<'_>,
    scope: &Scope,
    groups: &[String],
    egress: bool,
    other_ip: u32,
    other_groups: &[String],
    port: u16,
) -> bool {
    groups
        .iter()
        .filter_map(|g| v.get::<sg::SecurityGroup>(scope, g))
        .any(|g| {
            g.rules.iter().filter(|r| r.egress == egress).any(|r| {
                let proto = r.protocol == "-1" || r.protocol == "tcp";
                let ports = r.protocol == "-1"
                    || (r.from_port.unwrap_or(0)..=r.to_port.unwrap_or(65535))
                        .contains(&i64::from(port));
                let peer = r
                    .cidr_ipv4
                    .as_deref()
                    .and_then(Cidr::parse_loose)
                    .is_some_and(|c| c.contains_ip(other_ip))
                    || r.group_id
                        .as_ref()
                        .is_some_and(|gid| other_groups.contains(gid));
                proto && ports && peer
            })
        })
}
