//! `airlock mwaa`'s library against the real server over loopback sockets: the facts it reads,
//! `expose` building the load-balancer path and then changing nothing, and `doctor` naming a
//! mistake with the fix AWS would accept.

use airlock_mwaa::discover::{self, Lookup};
use airlock_mwaa::doctor::{self, Finding};
use airlock_mwaa::expose::{self, CertificateSource, Options, Via};
use airlock_mwaa::Clients;
use airlock_server::{Running, ServerConfig};
use airlock_tests::{holds, prefixed_config, start_with, wait_until, World, DEADLINE};
use aws_sdk_elasticloadbalancingv2::types::Matcher;
use std::net::SocketAddr;
use std::time::Duration;

async fn server() -> Running {
    let mut config = ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        dns_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        ..ServerConfig::default()
    };
    config.services.time_scale = 0.001;
    start_with(config).await
}

/// An ISSUED certificate for `airflow.example.com` (ACM's RequestCertificate, issued after a
/// scaled delay).
async fn issued_certificate(w: &World) -> String {
    let arn = w
        .acm
        .request_certificate()
        .domain_name("airflow.example.com")
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_owned();
    wait_until(&format!("{arn} issued"), DEADLINE, || async {
        let d = w
            .acm
            .describe_certificate()
            .certificate_arn(&arn)
            .send()
            .await
            .unwrap();
        let status = d
            .certificate()
            .and_then(|c| c.status())
            .map(|s| s.as_str().to_owned());
        holds(status.as_deref() == Some("ISSUED"), status)
    })
    .await;
    arn
}

fn problems(r: &doctor::Report) -> Vec<(String, Option<String>)> {
    r.findings
        .iter()
        .filter_map(|f| match f {
            Finding::Problem { what, fix } => Some((what.clone(), fix.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn endpoints_agree_with_dns_and_the_interfaces() {
    let server = server().await;
    let w = World::new(&server).await;
    let net = w.network().await;
    let env = w.environment(&net, "env-endpoints").await;
    let c = Clients::from_config(&prefixed_config(&server).await).unwrap();

    let e = discover::endpoints(&c, "env-endpoints", Lookup::Dns(server.dns_addr))
        .await
        .unwrap();
    let mut ips = env.ips.clone();
    ips.sort();
    let mut got = e.ips();
    got.sort();
    assert_eq!(got, ips);
    assert_eq!(
        e.addresses
            .iter()
            .map(|a| a.zone.as_str())
            .collect::<Vec<_>>(),
        ["us-west-2a", "us-west-2b"]
    );
    assert_eq!(
        e.webserver.as_ref().map(|w| w.service.as_str()),
        Some(env.endpoint_service.as_str())
    );
    let cname = e.dns.as_ref().unwrap().cname.clone().unwrap();
    assert!(
        e.webserver.as_ref().unwrap().dns_names.contains(&cname),
        "{cname} names the endpoint"
    );
    assert!(e.dns_matches());

    let err = discover::endpoints(&c, "no-such-env", Lookup::Skip)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("GetEnvironment: ResourceNotFoundException"),
        "{err}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn expose_builds_the_path_once_and_doctor_names_a_wrong_matcher() {
    let server = server().await;
    let w = World::new(&server).await;
    let net = w.network().await;
    let env = w.environment(&net, "env-expose").await;
    let public_b = net.second_public_subnet().await;
    let cert = issued_certificate(&w).await;
    let c = Clients::from_config(&prefixed_config(&server).await).unwrap();
    let dns = server.dns_addr;

    let clean = doctor::doctor(&c, "env-expose", dns).await.unwrap();
    assert_eq!(problems(&clean), [], "{}", clean.render());

    let options = |dry_run| Options {
        via: Via::Alb,
        internet_facing: true,
        certificate: CertificateSource::Arn(cert.clone()),
        subnets: vec![net.public.clone(), public_b.clone()],
        dry_run,
        wait: Duration::from_secs(60),
    };
    let made = expose::expose(&c, "env-expose", &options(false))
        .await
        .unwrap();
    let tg = w
        .elb
        .describe_target_groups()
        .target_group_arns(&made.target_group)
        .send()
        .await
        .unwrap();
    let tg = &tg.target_groups()[0];
    assert_eq!(tg.matcher().and_then(|m| m.http_code()), Some("200,302"));
    let health = w
        .elb
        .describe_target_health()
        .target_group_arn(&made.target_group)
        .send()
        .await
        .unwrap();
    let mut held: Vec<String> = health
        .target_health_descriptions()
        .iter()
        .map(|d| d.target().unwrap().id().unwrap().to_owned())
        .collect();
    held.sort();
    let mut ips = env.ips.clone();
    ips.sort();
    assert_eq!(held, ips);
    assert!(health.target_health_descriptions().iter().all(|d| d
        .target_health()
        .and_then(|h| h.state())
        .map(|s| s.as_str())
        == Some("healthy")));

    // A second run finds everything in place.
    let again = expose::expose(&c, "env-expose", &options(false))
        .await
        .unwrap();
    assert_eq!(again.listener, made.listener);
    assert_eq!(
        expose::sync_targets(&c, "env-expose", false).await.unwrap(),
        0
    );
    let fine = doctor::doctor(&c, "env-expose", dns).await.unwrap();
    assert_eq!(problems(&fine), [], "{}", fine.render());

    // The page's first trap: matcher 200 against the webserver's 302.
    w.elb
        .modify_target_group()
        .target_group_arn(&made.target_group)
        .matcher(Matcher::builder().http_code("200").build())
        .send()
        .await
        .unwrap();
    let report = doctor::doctor(&c, "env-expose", dns).await.unwrap();
    let found = problems(&report);
    let matcher = found
        .iter()
        .find(|(what, _)| what.contains("matcher 200 does not accept"))
        .unwrap_or_else(|| panic!("no matcher problem in:\n{}", report.render()));
    assert_eq!(
        matcher.1.as_deref(),
        Some(
            format!(
                "aws elbv2 modify-target-group --target-group-arn {} --matcher 'HttpCode=\"200,302\"'",
                made.target_group
            )
            .as_str()
        )
    );
    // Running expose again repairs it.
    expose::expose(&c, "env-expose", &options(false))
        .await
        .unwrap();
    let tg = w
        .elb
        .describe_target_groups()
        .target_group_arns(&made.target_group)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tg.target_groups()[0].matcher().and_then(|m| m.http_code()),
        Some("200,302")
    );
    server.stop().await.unwrap();
}
