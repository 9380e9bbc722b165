//! What an MWAA environment runs on the data plane: its webserver (HTTPS on each interface of
//! its webserver endpoint, or on its public address) and its metadata database port (on each
//! interface of its database endpoint), while its status is one that serves.

use super::Environment;
use crate::dataplane::{Place, Want, Wants};
use crate::ec2::{eni, vpce};
use crate::Clock;
use airlock_store::View;

/// The statuses in which an environment's webserver runs.
const SERVING: &[&str] = &[
    "AVAILABLE",
    "UPDATING",
    "CREATING_SNAPSHOT",
    "UPDATE_FAILED",
    "MAINTENANCE",
];

/// Every serving environment's webserver and database listeners ([`crate::dataplane::WantsFn`]).
pub fn wants(v: &View<'_>, clock: Clock, out: &mut Wants) {
    for (scope, env) in v.list_all::<Environment>() {
        let endpoints = v.list_in::<vpce::VpcEndpoint>(&scope, &env.vpc_id);
        let seen = env.seen(clock, &endpoints);
        if !seen.status.is_some_and(|s| SERVING.contains(&s)) {
            continue;
        }
        let web_service = env
            .webserver_service
            .as_deref()
            .map(|id| env.service_name(id));
        let db_service = env.service_name(&env.database_service);
        let web = Want::Web {
            scope: scope.clone(),
            environment: env.name.clone(),
            host: env.webserver_host(),
        };
        let database = Want::Database {
            scope: scope.clone(),
            environment: env.name.clone(),
        };
        for e in endpoints
            .iter()
            .filter(|e| e.vpc_id == env.vpc_id && e.state(clock) == "available")
        {
            for eni_id in &e.eni_ids {
                let Some(n) = v.get::<eni::NetworkInterface>(&scope, eni_id) else {
                    continue;
                };
                if Some(&e.service_name) == web_service.as_ref() {
                    out.listeners
                        .push((Place::on(&scope, &n, 443), web.clone()));
                }
                if e.service_name == db_service {
                    out.listeners
                        .push((Place::on(&scope, &n, 5432), database.clone()));
                }
            }
        }
        if let Some(place) = Place::public(&scope, env.public_ip.as_ref(), 443, None) {
            out.listeners.push((place, web));
        }
    }
}
