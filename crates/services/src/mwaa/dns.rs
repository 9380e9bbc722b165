//! MWAA's names in DNS: an environment's webserver host.

use super::Environment;
use crate::dns::{Answer, Zone};
use crate::ec2::vpce;
use crate::Clock;
use airlock_store::View;

pub const ZONES: &[Zone] = &[
    Zone {
        name: "airflow.amazonaws.com",
        answer: webserver,
    },
    Zone {
        name: "airflow.amazonaws.com.cn",
        answer: webserver,
    },
];

/// `<uuid>-vpce.c<N>.<region>.airflow.amazonaws.com` → CNAME to the webserver endpoint;
/// `<uuid>.c<N>.<region>.airflow.amazonaws.com` → the public webserver address.
fn webserver(v: &View<'_>, clock: Clock, name: &str) -> Answer {
    let Some(first) = name.split('.').next() else {
        return Answer::NxDomain;
    };
    let (host_id, private) = match first.strip_suffix("-vpce") {
        Some(id) => (id, true),
        None => (first, false),
    };
    for (scope, env) in v.find::<Environment>(host_id) {
        if env.webserver_host() != name {
            continue;
        }
        let endpoints = v.list_in::<vpce::VpcEndpoint>(&scope, &env.vpc_id);
        if env.seen(clock, &endpoints).status.is_none() {
            return Answer::NxDomain;
        }
        if !private {
            return match &env.public_ip {
                Some(ip) => ip
                    .parse()
                    .map(|ip| Answer::A(vec![ip]))
                    .unwrap_or(Answer::NxDomain),
                None => Answer::NxDomain,
            };
        }
        let service = env
            .webserver_service
            .as_ref()
            .map(|s| vpce::custom_service_name(&env.region, s));
        let target = endpoints
            .iter()
            .filter(|e| {
                Some(&e.id) == env.webserver_endpoint.as_ref()
                    || (e.vpc_id == env.vpc_id && Some(&e.service_name) == service.as_ref())
            })
            .min_by_key(|e| (Some(&e.id) != env.webserver_endpoint.as_ref(), e.created));
        return match target {
            Some(e) => Answer::Cname(e.regional_dns_name()),
            None => Answer::NxDomain,
        };
    }
    Answer::NxDomain
}
