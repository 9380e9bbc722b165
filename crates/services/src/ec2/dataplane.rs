//! What EC2 runs on the data plane: every running instance launched with a key pair is an SSH
//! bastion on port 22 of its interface and, if it has one, of its public address (guarded by the
//! interface's security groups and subnet). An available interface endpoint to an AWS service
//! that Airlock runs serves that service's API on port 443 of each of its interfaces.

use super::{eni, instances, vpce};
use crate::dataplane::{Place, Want, Wants};
use crate::Clock;
use airlock_store::View;

/// Every bastion's SSH listeners and every interface endpoint's API listeners
/// ([`crate::dataplane::WantsFn`]).
pub fn wants(v: &View<'_>, clock: Clock, out: &mut Wants) {
    bastions(v, clock, out);
    super::clientvpn::dataplane::wants(v, clock, out);
    for (scope, e) in v.list_all::<vpce::VpcEndpoint>() {
        if e.endpoint_type != "Interface" || e.state(clock) != "available" {
            continue;
        }
        let Some(service) = e.aws_service().and_then(crate::service::serving) else {
            continue;
        };
        for id in &e.eni_ids {
            if let Some(n) = v.get::<eni::NetworkInterface>(&scope, id) {
                let want = Want::Api {
                    scope: scope.clone(),
                    endpoint: e.id.clone(),
                    service: service.name,
                };
                out.listeners.push((Place::on(&scope, &n, 443), want));
            }
        }
    }
}

fn bastions(v: &View<'_>, clock: Clock, out: &mut Wants) {
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
    use crate::auth::test_support::{ctx_as, ec2, root_principal, store, vpc_with_subnet};
    use crate::dns::Answer;
    use crate::Config;
    use airlock_store::Scope;
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

    /// An available interface endpoint to an AWS service Airlock runs serves its API on 443 of
    /// each interface, and (with private DNS) the VPC's resolver answers the service's name with
    /// them; other endpoints serve nothing, and elsewhere the name is AWS's public endpoint.
    #[test]
    fn interface_endpoints_serve_their_service_and_its_private_name() {
        let store = store();
        let config = Config::default();
        let ctx = ctx_as(&store, &config, root_principal("123456789012"));
        let call = |op: &str, input: serde_json::Value| ec2(&ctx, op, input).unwrap();
        let (vpc, subnet) = vpc_with_subnet(&ctx, "10.1.0.0/16", "10.1.1.0/24");
        call(
            "ModifyVpcAttribute",
            json!({"VpcId": vpc, "EnableDnsHostnames": {"Value": true}}),
        );
        let endpoint = |service: &str| {
            call(
                "CreateVpcEndpoint",
                json!({"VpcId": vpc, "VpcEndpointType": "Interface", "SubnetIds": [subnet],
                       "ServiceName": format!("com.amazonaws.us-west-2.{service}"),
                       "PrivateDnsEnabled": true}),
            )["VpcEndpoint"]["VpcEndpointId"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let sts = endpoint("sts");
        endpoint("kms");
        let scope = ctx.scope();
        let later = ctx.clock.now() + time::Duration::hours(1);
        let mut out = Wants::default();
        store.read(|v| wants(v, config.clock(ctx.clock.now()), &mut out));
        assert!(out.listeners.is_empty(), "pending endpoints serve nothing");
        store.read(|v| wants(v, config.clock(later), &mut out));
        let e = store
            .read(|v| v.get::<vpce::VpcEndpoint>(&scope, &sts))
            .unwrap();
        let n = store
            .read(|v| v.get::<eni::NetworkInterface>(&scope, &e.eni_ids[0]))
            .unwrap();
        let api = Want::Api {
            scope: scope.clone(),
            endpoint: sts.clone(),
            service: "sts",
        };
        assert_eq!(out.listeners, vec![(Place::on(&scope, &n, 443), api)]);

        let name = "sts.us-west-2.amazonaws.com";
        let inside = Some((&scope, vpc.as_str()));
        let clock = config.clock(later);
        assert_eq!(
            crate::dns::lookup_in(&store, clock, name, inside),
            Answer::A(vec![std::net::Ipv4Addr::from(n.private_ip)])
        );
        let public = Answer::A(vec![crate::ec2::fabric::AWS_PUBLIC]);
        assert_eq!(crate::dns::lookup_in(&store, clock, name, None), public);
        let other = (
            Scope::new("123456789012", "us-west-2"),
            "vpc-0000000000000000a",
        );
        assert_eq!(
            crate::dns::lookup_in(&store, clock, name, Some((&other.0, other.1))),
            public
        );
        call(
            "ModifyVpcEndpoint",
            json!({"VpcEndpointId": sts, "PrivateDnsEnabled": false}),
        );
        assert_eq!(crate::dns::lookup_in(&store, clock, name, inside), public);
    }
}
