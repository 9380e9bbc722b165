//! What EC2 runs on the data plane: every running instance launched with a key pair is an SSH
//! bastion on port 22 of its interface and, if it has one, of its public address (guarded by the
//! interface's security groups and subnet).

use super::{eni, instances};
use crate::dataplane::{Place, Want, Wants};
use airlock_store::View;
use std::net::Ipv4Addr;
use time::OffsetDateTime;

/// Every bastion's SSH listeners ([`crate::dataplane::WantsFn`]).
pub fn wants(
    v: &View<'_>,
    now: OffsetDateTime,
    scale: &dyn Fn(f64) -> time::Duration,
    out: &mut Wants,
) {
    for (scope, i) in v.list_all::<instances::Instance>() {
        if i.key_name.is_none() || !i.is_running(now, scale) {
            continue;
        }
        let Some(n) = v
            .get::<eni::NetworkInterface>(&scope, &i.eni_id)
            .filter(|n| n.attachment.as_ref().is_some_and(|a| a.instance_id == i.id))
        else {
            continue;
        };
        let want = Want::Ssh {
            scope: scope.clone(),
            instance: i.id.clone(),
        };
        if let Some(ip) = n
            .public_ip
            .as_ref()
            .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
        {
            let place = Place::Public {
                scope: scope.clone(),
                ip,
                port: 22,
                guard: Some(n.id.clone()),
            };
            out.listeners.push((place, want.clone()));
        }
        out.listeners.push((Place::on(&scope, &n, 22), want));
    }
}
