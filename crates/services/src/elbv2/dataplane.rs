//! What ELBv2 runs on the data plane: every listener of an active load balancer on each zone's
//! interface and, when internet-facing, on the zone's public address (guarded by the zone
//! interface's security groups and subnet); a health checker for every target group such a load
//! balancer forwards to.

use super::listeners::Listener;
use super::{routing, targetgroups};
use crate::dataplane::{Place, Task, Want, Wants};
use crate::ec2::eni;
use crate::Clock;
use airlock_store::{Scope, View};
use std::collections::BTreeSet;
use std::collections::HashSet;

/// Every active listener's places and every used target group's health checker
/// ([`crate::dataplane::WantsFn`]).
pub fn wants(v: &View<'_>, clock: Clock, out: &mut Wants) {
    let scopes: HashSet<Scope> = v
        .list_all::<Listener>()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    for scope in scopes {
        let listening = routing::listening(v, &scope, clock);
        for (lb, l) in &listening {
            let Ok(port) = u16::try_from(l.port) else {
                continue;
            };
            for z in &lb.zones {
                let Some(n) = v.get::<eni::NetworkInterface>(&scope, &z.eni_id) else {
                    continue;
                };
                let want = Want::Lb {
                    scope: scope.clone(),
                    listener: l.arn.clone(),
                    eni: z.eni_id.clone(),
                };
                if let Some(ip) = z.public_ip.as_ref().and_then(|ip| ip.parse().ok()) {
                    let place = Place::Public {
                        scope: scope.clone(),
                        ip,
                        port,
                        guard: Some(z.eni_id.clone()),
                    };
                    out.listeners.push((place, want.clone()));
                }
                out.listeners.push((Place::on(&scope, &n, port), want));
            }
        }
        let active: HashSet<&str> = listening.iter().map(|(lb, _)| lb.arn.as_str()).collect();
        let checked: BTreeSet<String> = targetgroups::usage(v, &scope)
            .into_iter()
            .filter(|(_, lbs)| lbs.iter().any(|lb| active.contains(lb.as_str())))
            .map(|(tg, _)| tg)
            .collect();
        out.tasks
            .extend(checked.into_iter().map(|arn| Task::HealthCheck {
                scope: scope.clone(),
                arn,
            }));
    }
}
