//! ELBv2's control plane through the AWS SDK for Rust: an internet-facing Application Load
//! Balancer in front of private addresses (the MWAA user guide's "advanced" access), its
//! interfaces, DNS name, target health, listeners, rules, tags and errors.

use crate::mwaa::{config, world, World};
use airlock_server::Running;
use airlock_services::dns::{lookup, Answer};
pub use airlock_tests::world::wait_active;
use airlock_tests::{default_config, holds, start_with, wait_until, DEADLINE};
use aws_sdk_ec2::types::Filter;
use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, Matcher, ProtocolEnum, RuleCondition, Tag,
    TargetDescription, TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use std::net::Ipv4Addr;

pub fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// A second public subnet (us-west-2b) beside the world's one, on the same route table.
pub async fn second_public_subnet(w: &World) -> String {
    w.second_public_subnet().await
}

pub fn forward(tg: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(tg)
        .build()
}

pub fn ip(id: &str) -> TargetDescription {
    TargetDescription::builder().id(id).build()
}

fn resolve(server: &Running, name: &str) -> Answer {
    lookup(
        &server.state.store,
        server.state.clock(),
        &name.to_ascii_lowercase(),
    )
}

/// States of DescribeTargetHealth, by target id: `(id, state, reason)`.
pub async fn health(elb: &Client, tg: &str) -> Vec<(String, String, Option<String>)> {
    crate::lb::target_health(elb, tg)
        .await
        .into_iter()
        .map(|(id, state, reason, _)| (id, state, (!reason.is_empty()).then_some(reason)))
        .collect()
}

/// A server with the user guide's network and a second public subnet, and an ELBv2 client.
async fn base() -> (Running, World, String, Client) {
    let server = start_with(config(None)).await;
    let w = world(&server).await;
    let public_b = second_public_subnet(&w).await;
    let elb = Client::new(&default_config(&server).await);
    (server, w, public_b, elb)
}

/// The internet-facing ALB `mwaa-alb` (tagged team=data) of [`base`]'s network.
struct Alb {
    server: Running,
    w: World,
    public_b: String,
    elb: Client,
    lb: aws_sdk_elasticloadbalancingv2::types::LoadBalancer,
    lb_arn: String,
    /// The ARN's last part.
    id: String,
    dns: String,
}

async fn alb() -> Alb {
    let (server, w, public_b, elb) = base().await;
    let created = elb
        .create_load_balancer()
        .name("mwaa-alb")
        .subnets(&w.public)
        .subnets(&public_b)
        .security_groups(&w.sg)
        .tags(Tag::builder().key("team").value("data").build())
        .send()
        .await
        .unwrap();
    let lb = created.load_balancers()[0].clone();
    let lb_arn = lb.load_balancer_arn().unwrap().to_owned();
    let id = lb_arn
        .strip_prefix(
            "arn:aws:elasticloadbalancing:us-west-2:000000000000:loadbalancer/app/mwaa-alb/",
        )
        .expect("ALB ARN");
    let id = id.to_owned();
    let dns = lb.dns_name().unwrap().to_owned();
    Alb {
        server,
        w,
        public_b,
        elb,
        lb,
        lb_arn,
        id,
        dns,
    }
}

/// [`alb`], waited until active.
async fn active_alb() -> Alb {
    let a = alb().await;
    wait_active(&a.elb, &a.lb_arn).await;
    a
}

/// The target group of the user guide in the ALB's VPC (no targets).
async fn group(a: &Alb) -> aws_sdk_elasticloadbalancingv2::types::TargetGroup {
    let (elb, w) = (&a.elb, &a.w);
    let tg = elb
        .create_target_group()
        .name("mwaa-webserver")
        .protocol(ProtocolEnum::Https)
        .port(443)
        .vpc_id(&w.vpc)
        .target_type(TargetTypeEnum::Ip)
        .matcher(Matcher::builder().http_code("200,302").build())
        .send()
        .await
        .unwrap();
    let g = &tg.target_groups()[0];
    g.clone()
}

/// [`group`] with two targets inside the VPC: its ARN.
async fn group_with_targets(a: &Alb) -> String {
    let elb = &a.elb;
    let tg_arn = group(a).await.target_group_arn().unwrap().to_owned();
    elb.register_targets()
        .target_group_arn(&tg_arn)
        .targets(ip("10.192.20.17"))
        .targets(ip("10.192.21.45"))
        .send()
        .await
        .unwrap();
    tg_arn
}

/// An HTTP listener on port 80 of the ALB forwarding to `tg_arn`.
async fn http_listener(a: &Alb, tg_arn: &str) -> aws_sdk_elasticloadbalancingv2::types::Listener {
    let (elb, lb_arn) = (&a.elb, a.lb_arn.clone());
    let listener = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward(tg_arn))
        .send()
        .await
        .unwrap();
    listener.listeners()[0].clone()
}

#[tokio::test]
async fn creating_an_alb_validates_its_subnets_and_name() {
    let (_server, w, public_b, elb) = base().await;
    // Validation before anything is created.
    let err = elb
        .create_load_balancer()
        .name("one-subnet")
        .subnets(&w.public)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidConfigurationRequest"));
    assert_eq!(
        err.message(),
        Some("At least two subnets in two different Availability Zones must be specified")
    );
    for bad in [
        "-lead",
        "under_score",
        "internal-x",
        "a-name-that-is-much-too-long-for-elb",
    ] {
        let err = elb
            .create_load_balancer()
            .name(bad)
            .subnets(&w.public)
            .subnets(&public_b)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ValidationError"), "{bad}");
    }
    let err = elb
        .create_load_balancer()
        .name("no-subnet")
        .subnets("subnet-0123456789abcdef0")
        .subnets(&public_b)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SubnetNotFound"));
}

#[tokio::test]
async fn an_alb_has_aws_arn_dns_name_and_settings() {
    let Alb {
        server: _server,
        w,
        lb,
        id,
        dns,
        ..
    } = alb().await;
    let lb = &lb;
    // The load balancer.
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let digits = dns
        .strip_prefix("mwaa-alb-")
        .and_then(|r| r.strip_suffix(".us-west-2.elb.amazonaws.com"))
        .expect("ALB DNS name");
    assert!(
        digits.len() >= 9 && digits.bytes().all(|b| b.is_ascii_digit()),
        "{dns}"
    );
    assert_eq!(lb.canonical_hosted_zone_id(), Some("Z1H1FL5HABSF5"));
    assert_eq!(lb.scheme().unwrap().as_str(), "internet-facing");
    assert_eq!(lb.r#type().unwrap().as_str(), "application");
    assert_eq!(lb.vpc_id(), Some(w.vpc.as_str()));
    assert_eq!(lb.security_groups(), std::slice::from_ref(&w.sg));
    assert_eq!(lb.ip_address_type().unwrap().as_str(), "ipv4");
    let mut zones: Vec<&str> = lb
        .availability_zones()
        .iter()
        .map(|z| z.zone_name().unwrap())
        .collect();
    zones.sort();
    assert_eq!(zones, ["us-west-2a", "us-west-2b"]);
}

#[tokio::test]
async fn the_same_name_is_the_same_alb_only_with_the_same_settings() {
    let Alb {
        server: _server,
        w,
        public_b,
        elb,
        lb_arn,
        ..
    } = alb().await;
    // Same name: the same load balancer with the same settings, an error with others.
    let again = elb
        .create_load_balancer()
        .name("mwaa-alb")
        .subnets(&public_b)
        .subnets(&w.public)
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.load_balancers()[0].load_balancer_arn(),
        Some(lb_arn.as_str())
    );
    let err = elb
        .create_load_balancer()
        .name("mwaa-alb")
        .scheme("internal".into())
        .subnets(&w.private[0])
        .subnets(&w.private[1])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DuplicateLoadBalancerName"));
}

#[tokio::test]
async fn an_alb_has_a_public_interface_per_subnet_its_name_resolves_to() {
    let Alb {
        server,
        w,
        elb,
        lb_arn,
        id,
        dns,
        ..
    } = alb().await;
    // One interface per subnet, AWS's, each with a public address.
    let enis = w
        .ec2
        .describe_network_interfaces()
        .filters(filter("description", &format!("ELB app/mwaa-alb/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(enis.network_interfaces().len(), 2);
    let mut public_ips: Vec<Ipv4Addr> = Vec::new();
    for n in enis.network_interfaces() {
        assert_eq!(n.requester_managed(), Some(true));
        assert_eq!(n.requester_id(), Some("amazon-elb"));
        assert_eq!(n.interface_type().unwrap().as_str(), "interface");
        assert_eq!(n.status().unwrap().as_str(), "in-use");
        assert_eq!(n.groups()[0].group_id(), Some(w.sg.as_str()));
        let public = n.association().unwrap().public_ip().unwrap();
        public_ips.push(public.parse().unwrap());
    }
    public_ips.sort();

    // Active after the (scaled) provisioning time; then its name resolves to the public
    // addresses.
    wait_active(&elb, &lb_arn).await;
    match resolve(&server, &dns) {
        Answer::A(mut ips) => {
            ips.sort();
            assert_eq!(ips, public_ips);
        }
        other => panic!("{dns}: {other:?}"),
    }
}

#[tokio::test]
async fn the_user_guide_target_group_has_aws_defaults() {
    let a = alb().await;
    let (elb, w) = (&a.elb, &a.w);
    let g = &group(&a).await;
    let tg_arn = g.target_group_arn().unwrap().to_owned();
    // The target group of the user guide: IP targets, HTTPS 443, matcher 200,302.
    assert!(tg_arn.starts_with(
        "arn:aws:elasticloadbalancing:us-west-2:000000000000:targetgroup/mwaa-webserver/"
    ));
    assert_eq!(g.health_check_protocol().unwrap().as_str(), "HTTPS");
    assert_eq!(g.health_check_port(), Some("traffic-port"));
    assert_eq!(g.health_check_path(), Some("/"));
    assert_eq!(g.health_check_interval_seconds(), Some(30));
    assert_eq!(g.health_check_timeout_seconds(), Some(10));
    assert_eq!(g.healthy_threshold_count(), Some(5));
    assert_eq!(g.unhealthy_threshold_count(), Some(2));
    assert_eq!(g.matcher().unwrap().http_code(), Some("200,302"));
    assert_eq!(g.protocol_version(), Some("HTTP1"));
    assert!(g.load_balancer_arns().is_empty());
    for (codes, name) in [("600", "bad-matcher-1"), ("2xx", "bad-matcher-2")] {
        let err = elb
            .create_target_group()
            .name(name)
            .protocol(ProtocolEnum::Http)
            .port(80)
            .vpc_id(&w.vpc)
            .matcher(Matcher::builder().http_code(codes).build())
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ValidationError"), "{codes}");
    }
    let err = elb
        .create_target_group()
        .name("mwaa-webserver")
        .protocol(ProtocolEnum::Https)
        .port(8443)
        .vpc_id(&w.vpc)
        .target_type(TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DuplicateTargetGroupName"));
}

#[tokio::test]
async fn ip_targets_inside_the_vpc_are_registered_unused() {
    let a = alb().await;
    let elb = &a.elb;
    let tg_arn = group_with_targets(&a).await;
    // Targets: two addresses inside the VPC (their zones are detected); public and malformed
    // addresses are refused; private ones outside the VPC need a zone.
    let err = elb
        .register_targets()
        .target_group_arn(&tg_arn)
        .targets(ip("8.8.8.8"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidTarget"));
    for bad in ["10.200.0.5", "not-an-ip"] {
        let err = elb
            .register_targets()
            .target_group_arn(&tg_arn)
            .targets(ip(bad))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("ValidationError"), "{bad}");
    }
    let h = elb
        .describe_target_health()
        .target_group_arn(&tg_arn)
        .send()
        .await
        .unwrap();
    let mut seen: Vec<(String, i32, String, String, String)> = h
        .target_health_descriptions()
        .iter()
        .map(|d| {
            let t = d.target().unwrap();
            let th = d.target_health().unwrap();
            (
                t.id().unwrap().to_owned(),
                t.port().unwrap(),
                t.availability_zone().unwrap().to_owned(),
                th.state().unwrap().as_str().to_owned(),
                th.reason().unwrap().as_str().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "10.192.20.17".into(),
                443,
                "us-west-2a".into(),
                "unused".into(),
                "Target.NotInUse".into()
            ),
            (
                "10.192.21.45".into(),
                443,
                "us-west-2b".into(),
                "unused".into(),
                "Target.NotInUse".into()
            ),
        ]
    );
    assert_eq!(
        h.target_health_descriptions()[0]
            .target_health()
            .unwrap()
            .description(),
        Some("Target group is not configured to receive traffic from the load balancer")
    );
}

#[tokio::test]
async fn an_https_listener_needs_a_certificate_acm_issued() {
    let a = active_alb().await;
    let (elb, lb_arn) = (&a.elb, a.lb_arn.clone());
    let tg_arn = group_with_targets(&a).await;
    // An HTTPS listener needs a certificate ACM has issued in this account and region.
    let err = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(ProtocolEnum::Https)
        .port(443)
        .default_actions(forward(&tg_arn))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    let missing =
        "arn:aws:acm:us-west-2:000000000000:certificate/8c3bd4a6-0000-4000-8000-000000000000";
    let err = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(ProtocolEnum::Https)
        .port(443)
        .certificates(Certificate::builder().certificate_arn(missing).build())
        .default_actions(forward(&tg_arn))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("CertificateNotFound"));
    assert_eq!(
        err.message(),
        Some(format!("Certificate '{missing}' not found").as_str())
    );
    let err = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(ProtocolEnum::Tcp)
        .port(443)
        .default_actions(forward(&tg_arn))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
}

#[tokio::test]
async fn an_http_listener_forwards_and_puts_the_group_in_use() {
    let a = active_alb().await;
    let (elb, lb_arn, id) = (&a.elb, a.lb_arn.clone(), a.id.clone());
    let tg_arn = group_with_targets(&a).await;
    let l = &http_listener(&a, &tg_arn).await;
    let l_arn = l.listener_arn().unwrap().to_owned();
    // An HTTP listener forwarding to the group: its targets are now being registered.
    assert!(l_arn.starts_with(&format!(
        "arn:aws:elasticloadbalancing:us-west-2:000000000000:listener/app/mwaa-alb/{id}/"
    )));
    let action = &l.default_actions()[0];
    assert_eq!(action.target_group_arn(), Some(tg_arn.as_str()));
    assert_eq!(
        action.forward_config().unwrap().target_groups()[0].weight(),
        Some(1)
    );
    let err = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    aws_sdk_elasticloadbalancingv2::types::FixedResponseActionConfig::builder()
                        .status_code("404")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("DuplicateListener"));
    // Registered, then checked (the health checker may already have started).
    let h = health(elb, &tg_arn).await;
    assert_eq!(h.len(), 2);
    for (t, (id, state, reason)) in ["10.192.20.17", "10.192.21.45"].iter().zip(&h) {
        assert_eq!(id, t);
        // Being registered, or (nothing answers at these addresses) already timed out.
        assert!(
            matches!(
                (state.as_str(), reason.as_deref()),
                (
                    "initial",
                    Some("Elb.RegistrationInProgress" | "Elb.InitialHealthChecking")
                ) | ("unhealthy", Some("Target.Timeout"))
            ),
            "{id}: {state} {reason:?}"
        );
    }
    let groups = elb
        .describe_target_groups()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.target_groups().len(), 1);
    assert_eq!(
        groups.target_groups()[0].load_balancer_arns(),
        std::slice::from_ref(&lb_arn)
    );

    // A group in use cannot be deleted.
    let err = elb
        .delete_target_group()
        .target_group_arn(&tg_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ResourceInUse"));
}

#[tokio::test]
async fn rule_priorities_are_unique_and_the_default_rule_comes_last() {
    let a = active_alb().await;
    let elb = &a.elb;
    let tg_arn = group_with_targets(&a).await;
    let l_arn = http_listener(&a, &tg_arn)
        .await
        .listener_arn()
        .unwrap()
        .to_owned();
    // Rules: priorities are unique; the default rule comes last.
    let path = |p: &str| {
        RuleCondition::builder()
            .field("path-pattern")
            .path_pattern_config(
                aws_sdk_elasticloadbalancingv2::types::PathPatternConditionConfig::builder()
                    .values(p)
                    .build(),
            )
            .build()
    };
    elb.create_rule()
        .listener_arn(&l_arn)
        .priority(10)
        .conditions(path("/api/*"))
        .actions(forward(&tg_arn))
        .send()
        .await
        .unwrap();
    let err = elb
        .create_rule()
        .listener_arn(&l_arn)
        .priority(10)
        .conditions(path("/other/*"))
        .actions(forward(&tg_arn))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PriorityInUse"));
    let rules = elb
        .describe_rules()
        .listener_arn(&l_arn)
        .send()
        .await
        .unwrap();
    let prio: Vec<(&str, bool)> = rules
        .rules()
        .iter()
        .map(|r| (r.priority().unwrap(), r.is_default().unwrap()))
        .collect();
    assert_eq!(prio, [("10", false), ("default", true)]);
    let err = elb
        .delete_rule()
        .rule_arn(rules.rules()[1].rule_arn().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("OperationNotPermitted"));
}

#[tokio::test]
async fn a_target_deregistered_from_a_group_in_use_drains_then_goes() {
    let a = active_alb().await;
    let elb = &a.elb;
    let tg_arn = group_with_targets(&a).await;
    http_listener(&a, &tg_arn).await;
    // Deregistering from a group in use: the target drains for the (scaled) delay:
    // half an hour, so that the draining state is seen.
    elb.modify_target_group_attributes()
        .target_group_arn(&tg_arn)
        .attributes(
            aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("1800")
                .build(),
        )
        .send()
        .await
        .unwrap();
    elb.deregister_targets()
        .target_group_arn(&tg_arn)
        .targets(ip("10.192.21.45"))
        .send()
        .await
        .unwrap();
    // Draining for the delay (1.8 s here), then gone.
    let h = health(elb, &tg_arn).await;
    assert_eq!(h.len(), 2, "{h:?}");
    assert_eq!(h[1].1, "draining");
    assert_eq!(h[1].2.as_deref(), Some("Target.DeregistrationInProgress"));
    wait_until("10.192.21.45 deregistered", DEADLINE, || async {
        let h = health(elb, &tg_arn).await;
        holds(h.len() == 1, h)
    })
    .await;
}

#[tokio::test]
async fn tags_attributes_and_deletion_protection() {
    let a = alb().await;
    let (elb, lb_arn) = (&a.elb, a.lb_arn.clone());
    // Tags and attributes.
    let tags = elb
        .describe_tags()
        .resource_arns(&lb_arn)
        .send()
        .await
        .unwrap();
    let t = &tags.tag_descriptions()[0].tags()[0];
    assert_eq!((t.key(), t.value()), (Some("team"), Some("data")));
    let attrs = elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    let get = |k: &str| {
        attrs
            .attributes()
            .iter()
            .find(|a| a.key() == Some(k))
            .and_then(|a| a.value().map(str::to_owned))
    };
    assert_eq!(get("idle_timeout.timeout_seconds").as_deref(), Some("60"));
    assert_eq!(get("routing.http2.enabled").as_deref(), Some("true"));
    assert_eq!(get("deletion_protection.enabled").as_deref(), Some("false"));
    let set = |k: &str, v: &str| {
        elb.modify_load_balancer_attributes()
            .load_balancer_arn(&lb_arn)
            .attributes(
                aws_sdk_elasticloadbalancingv2::types::LoadBalancerAttribute::builder()
                    .key(k)
                    .value(v)
                    .build(),
            )
            .send()
    };
    assert_eq!(
        set("idle_timeout.timeout_seconds", "0")
            .await
            .unwrap_err()
            .code(),
        Some("ValidationError")
    );
    assert_eq!(
        set("no.such.attribute", "1").await.unwrap_err().code(),
        Some("ValidationError")
    );
    set("deletion_protection.enabled", "true").await.unwrap();
    let err = elb
        .delete_load_balancer()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("OperationNotPermitted"));
    set("deletion_protection.enabled", "false").await.unwrap();
}

#[tokio::test]
async fn deleting_an_alb_removes_its_listeners_interfaces_and_name() {
    let a = active_alb().await;
    let tg_arn = group_with_targets(&a).await;
    let l_arn = http_listener(&a, &tg_arn)
        .await
        .listener_arn()
        .unwrap()
        .to_owned();
    let Alb {
        server,
        w,
        elb,
        lb_arn,
        id,
        dns,
        ..
    } = a;
    // Deleting the load balancer removes its listeners and interfaces and frees the group.
    elb.delete_load_balancer()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .unwrap();
    let enis = w
        .ec2
        .describe_network_interfaces()
        .filters(filter("description", &format!("ELB app/mwaa-alb/{id}")))
        .send()
        .await
        .unwrap();
    assert!(enis.network_interfaces().is_empty());
    assert_eq!(resolve(&server, &dns), Answer::NxDomain);
    let err = elb
        .describe_load_balancers()
        .load_balancer_arns(&lb_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LoadBalancerNotFound"));
    let err = elb
        .describe_listeners()
        .listener_arns(&l_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ListenerNotFound"));
    assert_eq!(
        health(&elb, &tg_arn).await,
        [
            (
                "10.192.20.17".into(),
                "unused".into(),
                Some("Target.NotInUse".into())
            ),
            (
                "10.192.21.45".into(),
                "unused".into(),
                Some("Target.NotInUse".into())
            )
        ]
    );
    elb.delete_target_group()
        .target_group_arn(&tg_arn)
        .send()
        .await
        .unwrap();
    server.stop().await.unwrap();
}

#[tokio::test]
async fn internal_and_network_load_balancers() {
    let server = start_with(config(None)).await;
    let w = world(&server).await;
    let elb = Client::new(&default_config(&server).await);

    // Internal ALB: `internal-` name, private addresses in DNS.
    let lb = elb
        .create_load_balancer()
        .name("private-alb")
        .scheme("internal".into())
        .subnets(&w.private[0])
        .subnets(&w.private[1])
        .send()
        .await
        .unwrap();
    let lb = &lb.load_balancers()[0];
    let dns = lb.dns_name().unwrap().to_owned();
    assert!(dns.starts_with("internal-private-alb-"), "{dns}");
    // No groups given: the VPC's default group.
    let groups = w
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &w.vpc))
        .filters(filter("group-name", "default"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        lb.security_groups(),
        [groups.security_groups()[0].group_id().unwrap().to_owned()]
    );
    wait_active(&elb, lb.load_balancer_arn().unwrap()).await;
    match resolve(&server, &dns) {
        Answer::A(ips) => {
            assert_eq!(ips.len(), 2);
            assert!(
                ips.iter().all(|ip| ip.octets()[..2] == [10, 192]),
                "{ips:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    // NLB: one subnet is enough, `net/` ARN, hex DNS name under elb.<region>.
    let nlb = elb
        .create_load_balancer()
        .name("tcp-nlb")
        .r#type("network".into())
        .scheme("internal".into())
        .subnets(&w.private[0])
        .send()
        .await
        .unwrap();
    let nlb = &nlb.load_balancers()[0];
    let nlb_arn = nlb.load_balancer_arn().unwrap().to_owned();
    assert!(nlb_arn.contains(":loadbalancer/net/tcp-nlb/"));
    let ndns = nlb.dns_name().unwrap();
    assert!(
        ndns.starts_with("tcp-nlb-") && ndns.ends_with(".elb.us-west-2.amazonaws.com"),
        "{ndns}"
    );
    assert_eq!(nlb.canonical_hosted_zone_id(), Some("Z18D5FSROUN65G"));
    let tg = elb
        .create_target_group()
        .name("tcp-targets")
        .protocol(ProtocolEnum::Tcp)
        .port(5432)
        .vpc_id(&w.vpc)
        .target_type(TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap();
    let g = &tg.target_groups()[0];
    assert_eq!(g.health_check_protocol().unwrap().as_str(), "TCP");
    assert!(g.matcher().is_none());
    let tg_arn = g.target_group_arn().unwrap().to_owned();
    // An HTTP listener on an NLB, or a TCP group behind an ALB, are refused.
    let err = elb
        .create_listener()
        .load_balancer_arn(&nlb_arn)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward(&tg_arn))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    let err = elb
        .create_listener()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward(&tg_arn))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("IncompatibleProtocols"));
    elb.create_listener()
        .load_balancer_arn(&nlb_arn)
        .protocol(ProtocolEnum::Tcp)
        .port(5432)
        .default_actions(forward(&tg_arn))
        .send()
        .await
        .unwrap();
    // The group now belongs to the NLB.
    let other = elb
        .create_load_balancer()
        .name("other-nlb")
        .r#type("network".into())
        .scheme("internal".into())
        .subnets(&w.private[1])
        .send()
        .await
        .unwrap();
    let err = elb
        .create_listener()
        .load_balancer_arn(other.load_balancers()[0].load_balancer_arn().unwrap())
        .protocol(ProtocolEnum::Tcp)
        .port(5432)
        .default_actions(forward(&tg_arn))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("TargetGroupAssociationLimit"));
    let all = elb
        .describe_load_balancers()
        .page_size(2)
        .send()
        .await
        .unwrap();
    assert_eq!(all.load_balancers().len(), 2);
    let rest = elb
        .describe_load_balancers()
        .marker(all.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.load_balancers().len(), 1);
    assert!(rest.next_marker().is_none());
    let policies = elb.describe_ssl_policies().send().await.unwrap();
    assert!(policies
        .ssl_policies()
        .iter()
        .any(|p| p.name() == Some("ELBSecurityPolicy-2016-08")));
    server.stop().await.unwrap();
}

/// The HTTPS path: a certificate ACM has issued, the default security policy, the load
/// balancer in the certificate's `InUseBy`.
#[tokio::test]
async fn an_https_listener_with_an_issued_acm_certificate() {
    let server = start_with(config(None)).await;
    let w = world(&server).await;
    let public_b = second_public_subnet(&w).await;
    let elb = Client::new(&default_config(&server).await);
    let acm = aws_sdk_acm::Client::new(&default_config(&server).await);
    let cert = acm
        .request_certificate()
        .domain_name("airflow.example.com")
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned();
    let status = wait_until(&format!("{cert} issued"), DEADLINE, || async {
        let d = acm
            .describe_certificate()
            .certificate_arn(&cert)
            .send()
            .await
            .unwrap();
        let status = d
            .certificate()
            .unwrap()
            .status()
            .unwrap()
            .as_str()
            .to_owned();
        holds(status == "ISSUED", status.clone()).map(|()| status)
    })
    .await;
    assert_eq!(status, "ISSUED");
    let lb = elb
        .create_load_balancer()
        .name("tls-alb")
        .subnets(&w.public)
        .subnets(&public_b)
        .security_groups(&w.sg)
        .send()
        .await
        .unwrap();
    let lb_arn = lb.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_owned();
    let tg = elb
        .create_target_group()
        .name("tls-targets")
        .protocol(ProtocolEnum::Https)
        .port(443)
        .vpc_id(&w.vpc)
        .target_type(TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap();
    let tg_arn = tg.target_groups()[0].target_group_arn().unwrap().to_owned();
    let err = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(ProtocolEnum::Https)
        .port(443)
        .ssl_policy("ELBSecurityPolicy-Nope")
        .certificates(Certificate::builder().certificate_arn(&cert).build())
        .default_actions(forward(&tg_arn))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SSLPolicyNotFound"));
    let l = elb
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(ProtocolEnum::Https)
        .port(443)
        .certificates(Certificate::builder().certificate_arn(&cert).build())
        .default_actions(forward(&tg_arn))
        .send()
        .await
        .unwrap();
    let l = &l.listeners()[0];
    assert_eq!(l.ssl_policy(), Some("ELBSecurityPolicy-2016-08"));
    assert_eq!(l.certificates()[0].certificate_arn(), Some(cert.as_str()));
    let in_use = acm
        .describe_certificate()
        .certificate_arn(&cert)
        .send()
        .await
        .unwrap();
    assert_eq!(
        in_use.certificate().unwrap().in_use_by(),
        std::slice::from_ref(&lb_arn)
    );
    let listed = elb
        .describe_listener_certificates()
        .listener_arn(l.listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.certificates()[0].is_default(), Some(true));
    elb.delete_listener()
        .listener_arn(l.listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    let freed = acm
        .describe_certificate()
        .certificate_arn(&cert)
        .send()
        .await
        .unwrap();
    assert!(freed.certificate().unwrap().in_use_by().is_empty());
    server.stop().await.unwrap();
}

/// What Terraform changes in place on an `aws_lb` and `aws_lb_listener_rule`: the zones
/// (SetSubnets adds a node with its interface and removes one, giving its interface back), the
/// address type, and rule priorities (swapped in one call); and the account's quotas.
#[tokio::test]
async fn subnets_address_type_and_rule_priorities_change_in_place() {
    let a = alb().await;
    let (elb, ec2) = (&a.elb, &a.w.ec2);
    let nodes = || async {
        let out = ec2
            .describe_network_interfaces()
            .filters(filter("description", &format!("ELB app/mwaa-alb/{}", a.id)))
            .send()
            .await
            .unwrap();
        let mut subnets: Vec<String> = out
            .network_interfaces()
            .iter()
            .map(|n| n.subnet_id().unwrap().to_owned())
            .collect();
        subnets.sort();
        subnets
    };
    let third = ec2
        .create_subnet()
        .vpc_id(&a.w.vpc)
        .cidr_block("10.192.40.0/24")
        .availability_zone("us-west-2c")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_owned();
    let out = elb
        .set_subnets()
        .load_balancer_arn(&a.lb_arn)
        .subnets(&a.w.public)
        .subnets(&a.public_b)
        .subnets(&third)
        .send()
        .await
        .unwrap();
    let zones: Vec<&str> = out
        .availability_zones()
        .iter()
        .map(|z| z.zone_name().unwrap())
        .collect();
    assert_eq!(zones, ["us-west-2a", "us-west-2b", "us-west-2c"]);
    let mut want = vec![a.w.public.clone(), a.public_b.clone(), third.clone()];
    want.sort();
    assert_eq!(nodes().await, want);
    // Leaving the first subnet out removes its node; the others keep theirs.
    let before: Vec<String> =
        a.lb.availability_zones()
            .iter()
            .map(|z| z.subnet_id().unwrap().to_owned())
            .collect();
    assert!(before.contains(&a.w.public));
    elb.set_subnets()
        .load_balancer_arn(&a.lb_arn)
        .subnets(&a.public_b)
        .subnets(&third)
        .send()
        .await
        .unwrap();
    let mut want = vec![a.public_b.clone(), third.clone()];
    want.sort();
    assert_eq!(nodes().await, want);
    let lb = elb
        .describe_load_balancers()
        .load_balancer_arns(&a.lb_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(lb.load_balancers()[0].availability_zones().len(), 2);
    // An ALB keeps two zones at least; the address type stays IPv4 (no IPv6 in Airlock's VPCs).
    let err = elb
        .set_subnets()
        .load_balancer_arn(&a.lb_arn)
        .subnets(&third)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidConfigurationRequest"));
    assert_eq!(nodes().await.len(), 2, "a refused change changes nothing");
    let err = elb
        .set_ip_address_type()
        .load_balancer_arn(&a.lb_arn)
        .ip_address_type(aws_sdk_elasticloadbalancingv2::types::IpAddressType::Dualstack)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidConfigurationRequest"));
    let kept = elb
        .set_ip_address_type()
        .load_balancer_arn(&a.lb_arn)
        .ip_address_type(aws_sdk_elasticloadbalancingv2::types::IpAddressType::Ipv4)
        .send()
        .await
        .unwrap();
    assert_eq!(kept.ip_address_type().map(|t| t.as_str()), Some("ipv4"));

    // Rule priorities: two rules swap theirs in one call; a third's is taken; the default
    // rule has none to change.
    let tg_arn = group(&a).await.target_group_arn().unwrap().to_owned();
    // A target not registered: unused, with the port its check would use.
    let health = elb
        .describe_target_health()
        .target_group_arn(&tg_arn)
        .targets(ip("10.192.20.9"))
        .send()
        .await
        .unwrap();
    let d = &health.target_health_descriptions()[0];
    assert_eq!(
        d.target_health().unwrap().reason().map(|r| r.as_str()),
        Some("Target.NotRegistered")
    );
    assert_eq!(d.health_check_port(), Some("443"));
    let listener = http_listener(&a, &tg_arn).await;
    let l_arn = listener.listener_arn().unwrap();
    let mut rules = Vec::new();
    for (priority, p) in [(10, "/a/*"), (20, "/b/*"), (30, "/c/*")] {
        let made = elb
            .create_rule()
            .listener_arn(l_arn)
            .priority(priority)
            .conditions(
                RuleCondition::builder()
                    .field("path-pattern")
                    .values(p)
                    .build(),
            )
            .actions(forward(&tg_arn))
            .send()
            .await
            .unwrap();
        rules.push(made.rules()[0].rule_arn().unwrap().to_owned());
    }
    let priority = |arn: &str, p: i32| {
        aws_sdk_elasticloadbalancingv2::types::RulePriorityPair::builder()
            .rule_arn(arn)
            .priority(p)
            .build()
    };
    let swapped = elb
        .set_rule_priorities()
        .rule_priorities(priority(&rules[0], 20))
        .rule_priorities(priority(&rules[1], 10))
        .send()
        .await
        .unwrap();
    assert_eq!(swapped.rules().len(), 2);
    let listed = elb
        .describe_rules()
        .listener_arn(l_arn)
        .send()
        .await
        .unwrap();
    let order: Vec<(&str, &str)> = listed
        .rules()
        .iter()
        .map(|r| (r.priority().unwrap(), r.rule_arn().unwrap()))
        .collect();
    assert_eq!(order[0], ("10", rules[1].as_str()));
    assert_eq!(order[1], ("20", rules[0].as_str()));
    assert_eq!(order[3].0, "default");
    let err = elb
        .set_rule_priorities()
        .rule_priorities(priority(&rules[0], 30))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PriorityInUse"));
    let err = elb
        .set_rule_priorities()
        .rule_priorities(priority(order[3].1, 5))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("OperationNotPermitted"));

    // Quotas, paged.
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let page = elb
            .describe_account_limits()
            .page_size(5)
            .set_marker(marker)
            .send()
            .await
            .unwrap();
        assert!(page.limits().len() <= 5);
        for l in page.limits() {
            names.push((l.name().unwrap().to_owned(), l.max().unwrap().to_owned()));
        }
        marker = page.next_marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    assert!(names.len() > 5);
    assert!(names.contains(&("application-load-balancers".into(), "50".into())));
    assert!(names.contains(&("rules-per-application-load-balancer".into(), "100".into())));
}

/// What a client reads back of an HTTPS listener's OIDC action and mutual authentication and of
/// a rule's transforms is what it gave, without the OIDC client secret.
#[tokio::test]
async fn authentication_mutual_tls_and_transforms_come_back_as_given() {
    use aws_sdk_elasticloadbalancingv2::types::{
        AuthenticateOidcActionConfig, MutualAuthenticationAttributes, RewriteConfig, RuleTransform,
        TransformTypeEnum, UrlRewriteConfig,
    };
    let a = alb().await;
    let tg = group(&a).await.target_group_arn().unwrap().to_owned();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["airflow.example.com".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let blob = |s: String| aws_sdk_acm::primitives::Blob::new(s.into_bytes());
    let acm = aws_sdk_acm::Client::new(&default_config(&a.server).await);
    let imported = acm
        .import_certificate()
        .certificate(blob(leaf.pem()))
        .private_key(blob(key.serialize_pem()))
        .send()
        .await
        .unwrap();
    let cert = imported.certificate_arn().unwrap();
    let oidc = AuthenticateOidcActionConfig::builder()
        .issuer("https://idp.example.com")
        .authorization_endpoint("https://idp.example.com/auth")
        .token_endpoint("https://idp.example.com/token")
        .user_info_endpoint("https://idp.example.com/userinfo")
        .client_id("airlock")
        .client_secret("s3cret")
        .session_timeout(3600)
        .authentication_request_extra_params("prompt", "login")
        .build();
    let created = a
        .elb
        .create_listener()
        .load_balancer_arn(&a.lb_arn)
        .protocol(ProtocolEnum::Https)
        .port(443)
        .certificates(Certificate::builder().certificate_arn(cert).build())
        .mutual_authentication(
            MutualAuthenticationAttributes::builder()
                .mode("passthrough")
                .build(),
        )
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::AuthenticateOidc)
                .order(1)
                .authenticate_oidc_config(oidc.clone())
                .build(),
        )
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .order(2)
                .target_group_arn(&tg)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let listener = created.listeners()[0].clone();
    let described = a
        .elb
        .describe_listeners()
        .listener_arns(listener.listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(described.listeners(), std::slice::from_ref(&listener));
    let shown = listener.default_actions()[0]
        .authenticate_oidc_config()
        .unwrap();
    let mut without_secret = oidc.clone();
    without_secret.client_secret = None;
    assert_eq!(shown, &without_secret);
    assert_eq!(
        listener.mutual_authentication().and_then(|m| m.mode()),
        Some("passthrough")
    );

    let rewrite = RuleTransform::builder()
        .r#type(TransformTypeEnum::UrlRewrite)
        .url_rewrite_config(
            UrlRewriteConfig::builder()
                .rewrites(
                    RewriteConfig::builder()
                        .regex("^/old/(.*)$")
                        .replace("/new/$1")
                        .build(),
                )
                .build(),
        )
        .build();
    let rule = a
        .elb
        .create_rule()
        .listener_arn(listener.listener_arn().unwrap())
        .priority(5)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .values("/old/*")
                .build(),
        )
        .actions(forward(&tg))
        .transforms(rewrite.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(rule.rules()[0].transforms(), std::slice::from_ref(&rewrite));
    let rules = a
        .elb
        .describe_rules()
        .listener_arn(listener.listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        rules.rules()[0].transforms(),
        std::slice::from_ref(&rewrite)
    );
    assert_eq!(rules.rules()[1].is_default(), Some(true));
    a.server.stop().await.unwrap();
}
