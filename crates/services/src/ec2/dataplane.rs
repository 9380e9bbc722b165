//! What EC2 runs on the data plane: every running instance launched with a key pair is an SSH
//! bastion on port 22 of its interface and, if it has one, of its public address (guarded by the
//! interface's security groups and subnet).

use super::{eni, instances};
use crate::dataplane::{Place, Want, Wants};
use crate::Clock;
use airlock_store::View;

/// Every bastion's SSH listeners ([`crate::dataplane::WantsFn`]).
pub fn wants(v: &View<'_>, clock: Clock, out: &mut Wants) {
    for (scope, i) in v.list_all::<instances::Instance>() {
        if i.key_name.is_none() || !i.is_running(clock) {
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
        if let Some(place) = Place::public(&scope, n.public_ip.as_ref(), 22, Some(n.id.clone())) {
            out.listeners.push((place, want.clone()));
        }
        out.listeners.push((Place::on(&scope, &n, 22), want));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::test_support::{ctx_as, root_principal, store};
    use crate::Config;
    use serde_json::json;

    /// A running instance launched with a key pair is a bastion on its interface (and its public
    /// address, guarded by the interface); one without a key, or not yet running, is not.
    #[test]
    fn running_instances_with_a_key_are_bastions() {
        let store = store();
        let config = Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let call = |op: &str, input: serde_json::Value| {
            crate::call(&ctx, "ec2", op, &input)
                .expect("implemented")
                .expect("succeeds")
        };
        call("CreateKeyPair", json!({"KeyName": "k"}));
        call(
            "RunInstances",
            json!({"ImageId": "ami-0123456789abcdef0", "KeyName": "k"}),
        );
        call("RunInstances", json!({"ImageId": "ami-0123456789abcdef0"}));
        let wants_at = |now| {
            let mut out = Wants::default();
            store.read(|v| wants(v, config.clock(now), &mut out));
            out.listeners
        };
        assert!(
            wants_at(ctx.clock.now()).is_empty(),
            "pending instances serve nothing"
        );
        let later = wants_at(ctx.clock.now() + time::Duration::hours(1));
        let scope = ctx.scope();
        let (instance, n) = store.read(|v| {
            let i = v
                .list::<instances::Instance>(&scope)
                .into_iter()
                .find(|i| i.key_name.is_some())
                .unwrap();
            let n = v.get::<eni::NetworkInterface>(&scope, &i.eni_id).unwrap();
            (i.id.clone(), n)
        });
        let ssh = Want::Ssh {
            scope: scope.clone(),
            instance,
        };
        let mut expected = vec![(Place::on(&scope, &n, 22), ssh.clone())];
        if let Some(ip) = n.public_ip.as_ref() {
            let public = Place::Public {
                scope: scope.clone(),
                ip: ip.parse().unwrap(),
                port: 22,
                guard: Some(n.id.clone()),
            };
            expected.insert(0, (public, ssh));
        }
        assert_eq!(later, expected);
    }
}
