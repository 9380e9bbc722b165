//! `expose` and `sync-targets`: the page's load-balancer procedure, done idempotently. Each step
//! reads what exists, says `ok` when it is already right, and otherwise changes it (or, with
//! `--dry-run`, says what it would change).

use crate::discover::{self, Endpoints, Lookup};
use crate::rules::{self, Peer};
use crate::sdk::filter;
use crate::sdk::{code, Aws, Clients};
use anyhow::{bail, Context};
use aws_sdk_ec2::types::builders::IpPermissionBuilder;
use aws_sdk_ec2::types::{IpPermission, IpRange, UserIdGroupPair};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Matcher,
    ProtocolEnum, Tag, TargetDescription, TargetHealthDescription, TargetHealthStateEnum,
    TargetTypeEnum,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod targets;

use targets::target_group;
pub use targets::{sync, sync_targets, tagged_target_groups, wait_healthy};

/// The tag `expose` puts on its target group; `sync-targets` finds the groups by it.
pub const ENV_TAG: &str = "airlock-mwaa-environment";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Alb,
    Nlb,
}

impl Via {
    fn suffix(self) -> &'static str {
        match self {
            Via::Alb => "alb",
            Via::Nlb => "nlb",
        }
    }
    fn lb_type(self) -> LoadBalancerTypeEnum {
        match self {
            Via::Alb => LoadBalancerTypeEnum::Application,
            Via::Nlb => LoadBalancerTypeEnum::Network,
        }
    }
    /// The protocol of the listener and of the target group: HTTPS for an ALB, TLS for an NLB.
    fn protocol(self) -> ProtocolEnum {
        match self {
            Via::Alb => ProtocolEnum::Https,
            Via::Nlb => ProtocolEnum::Tls,
        }
    }
}

#[derive(Debug, Clone)]
pub enum CertificateSource {
    Arn(String),
    Files {
        certificate: PathBuf,
        private_key: PathBuf,
        chain: Option<PathBuf>,
    },
}

#[derive(Debug, Clone)]
pub struct Options {
    pub via: Via,
    pub internet_facing: bool,
    pub certificate: CertificateSource,
    pub subnets: Vec<String>,
    pub dry_run: bool,
    /// How long to wait for the load balancer and the targets; zero: do not wait.
    pub wait: Duration,
}

/// What a run changed (or would change), printed as it goes.
pub struct Log {
    pub dry_run: bool,
    pub changes: usize,
}

impl Log {
    pub fn new(dry_run: bool) -> Self {
        Log {
            dry_run,
            changes: 0,
        }
    }
    fn change(&mut self, what: &str) {
        self.changes += 1;
        println!("{} {what}", if self.dry_run { "would:" } else { "done: " });
    }
    fn ok(&self, what: &str) {
        println!("ok:    {what}");
    }
    /// Placeholder for something only a real run creates.
    fn pending(&self, what: &str) -> String {
        format!("<{what}>")
    }
}

/// What `expose` built.
pub struct Exposed {
    pub load_balancer_dns: String,
    pub target_group: String,
    pub listener: String,
}

pub async fn expose(c: &Clients, name: &str, o: &Options) -> anyhow::Result<Exposed> {
    let facts = discover::endpoints(c, name, Lookup::Skip).await?;
    let env = &facts.env;
    if env.access_mode != "PRIVATE_ONLY" {
        println!(
            "note:  {name}'s webserver is {}; a load balancer is for PRIVATE_ONLY webservers",
            env.access_mode
        );
    }
    let ips = facts.ips();
    if ips.is_empty() {
        bail!("{name}'s webserver endpoint has no interfaces yet (status {}); wait until it is AVAILABLE", env.status);
    }
    let mut log = Log::new(o.dry_run);
    let cert = certificate(c, env, &o.certificate, &mut log).await?;
    let lb_group = lb_security_group(c, env, o, &mut log).await?;
    admit(c, env, &lb_group, &mut log).await?;
    let tg = target_group(c, &facts, o.via, &mut log).await?;
    let (lb, dns) = load_balancer(c, env, o, &lb_group, &mut log).await?;
    let listener = listener(c, &lb, &tg, &cert, o.via, &mut log).await?;
    if log.changes == 0 {
        println!("no changes: {name} is already exposed through {dns}");
    }
    if !o.dry_run && !o.wait.is_zero() {
        wait_healthy(c, &tg, o.wait).await?;
        println!("https://{dns}/ forwards to {name}'s webserver (name it in the certificate's domain with DNS)");
    }
    Ok(Exposed {
        load_balancer_dns: dns,
        target_group: tg,
        listener,
    })
}

/// The certificate ARN to use: the given one, checked; or the files, imported into the
/// environment's region unless an identical certificate is already there.
async fn certificate(
    c: &Clients,
    env: &discover::Environment,
    src: &CertificateSource,
    log: &mut Log,
) -> anyhow::Result<String> {
    match src {
        CertificateSource::Arn(arn) => {
            let region = rules::arn_region(arn);
            if region != c.region {
                bail!(
                    "the certificate {arn} is in {region}, the environment in {}: a load balancer uses only certificates of its own region. Import it there (--certificate FILE --private-key FILE) or give one from {}",
                    c.region, c.region
                );
            }
            let d = c
                .acm
                .describe_certificate()
                .certificate_arn(arn)
                .send()
                .await
                .aws("DescribeCertificate")?;
            let status = d
                .certificate()
                .and_then(|x| x.status())
                .map(|s| s.as_str())
                .unwrap_or("");
            if status != "ISSUED" {
                bail!("the certificate {arn} is {status}; a listener needs an ISSUED certificate");
            }
            log.ok(&format!("certificate {arn} is ISSUED in {}", c.region));
            Ok(arn.clone())
        }
        CertificateSource::Files {
            certificate,
            private_key,
            chain,
        } => {
            let read = |p: &PathBuf| {
                std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))
            };
            let body = read(certificate)?;
            let key = read(private_key)?;
            let chain = chain.as_ref().map(read).transpose()?;
            let wanted = normalize(&body);
            let mut pages = c.acm.list_certificates().into_paginator().send();
            while let Some(page) = pages.next().await {
                for s in page.aws("ListCertificates")?.certificate_summary_list() {
                    let Some(arn) = s.certificate_arn() else {
                        continue;
                    };
                    if s.r#type().map(|t| t.as_str()) != Some("IMPORTED") {
                        continue;
                    }
                    let got = c.acm.get_certificate().certificate_arn(arn).send().await;
                    if let Ok(g) = got {
                        if normalize(g.certificate().unwrap_or_default().as_bytes()) == wanted {
                            log.ok(&format!(
                                "certificate {} is already imported in {}: {arn}",
                                certificate.display(),
                                c.region
                            ));
                            return Ok(arn.to_owned());
                        }
                    }
                }
            }
            if log.dry_run {
                log.change(&format!(
                    "import {} into ACM in {} ({})",
                    certificate.display(),
                    c.region,
                    env.name
                ));
                return Ok(log.pending("imported certificate"));
            }
            let out = c
                .acm
                .import_certificate()
                .certificate(aws_sdk_acm::primitives::Blob::new(body))
                .private_key(aws_sdk_acm::primitives::Blob::new(key))
                .set_certificate_chain(chain.map(aws_sdk_acm::primitives::Blob::new))
                .send()
                .await
                .aws("ImportCertificate")?;
            let arn = out.certificate_arn().unwrap_or_default().to_owned();
            log.change(&format!(
                "import {} into ACM in {}: {arn}",
                certificate.display(),
                c.region
            ));
            Ok(arn)
        }
    }
}

fn normalize(pem: &[u8]) -> String {
    String::from_utf8_lossy(pem).split_whitespace().collect()
}

/// The load balancer's own group: created if missing, admitting 443 from anywhere
/// (internet-facing) or from the VPC.
async fn lb_security_group(
    c: &Clients,
    env: &discover::Environment,
    o: &Options,
    log: &mut Log,
) -> anyhow::Result<String> {
    let name = rules::resource_name(&env.name, o.via.suffix());
    let found = c
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &env.vpc))
        .filters(filter("group-name", &name))
        .send()
        .await
        .aws("DescribeSecurityGroups")?;
    let source = if o.internet_facing {
        "0.0.0.0/0"
    } else {
        env.vpc_cidr.as_str()
    };
    let source_ip = source
        .split('/')
        .next()
        .unwrap_or_default()
        .parse()
        .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
    let (id, rules_now) = match found.security_groups().first() {
        Some(g) => {
            let id = g.group_id().unwrap_or_default().to_owned();
            log.ok(&format!("security group {name} ({id}) exists"));
            (id, g.ip_permissions().to_vec())
        }
        None if log.dry_run => {
            log.change(&format!("create security group {name} in {}", env.vpc));
            (log.pending("load balancer's security group"), Vec::new())
        }
        None => {
            let out = c
                .ec2
                .create_security_group()
                .group_name(&name)
                .description(format!(
                    "Load balancer for MWAA environment {} (airlock mwaa expose)",
                    env.name
                ))
                .vpc_id(&env.vpc)
                .send()
                .await
                .aws("CreateSecurityGroup")?;
            let id = out.group_id().unwrap_or_default().to_owned();
            log.change(&format!("create security group {name}: {id}"));
            (id, Vec::new())
        }
    };
    if rules::admits(&rules_now, 443, Peer::Address(source_ip)) {
        log.ok(&format!("{id} admits tcp/443 from {source}"));
    } else {
        if !log.dry_run {
            let range = IpRange::builder().cidr_ip(source).build();
            admit_https(c, &id, |p| p.ip_ranges(range)).await?;
        }
        log.change(&format!("let {id} admit tcp/443 from {source}"));
    }
    Ok(id)
}

/// The environment's groups admit the load balancer's on 443 (the page's first trap).
async fn admit(
    c: &Clients,
    env: &discover::Environment,
    lb_group: &str,
    log: &mut Log,
) -> anyhow::Result<()> {
    let Some(first) = env.groups.first() else {
        bail!("{} has no security groups", env.name);
    };
    let groups = c
        .ec2
        .describe_security_groups()
        .set_group_ids(Some(env.groups.clone()))
        .send()
        .await
        .aws("DescribeSecurityGroups")?;
    if groups
        .security_groups()
        .iter()
        .any(|g| rules::admits(g.ip_permissions(), 443, Peer::Group(lb_group)))
    {
        log.ok(&format!(
            "the environment's security group admits {lb_group} on tcp/443"
        ));
        return Ok(());
    }
    if !log.dry_run {
        let pair = UserIdGroupPair::builder().group_id(lb_group).build();
        admit_https(c, first, |p| p.user_id_group_pairs(pair)).await?;
    }
    log.change(&format!(
        "let the environment's group {first} admit {lb_group} on tcp/443"
    ));
    Ok(())
}

/// The load balancer (created in `--subnets` if missing) and its DNS name, once active.
async fn load_balancer(
    c: &Clients,
    env: &discover::Environment,
    o: &Options,
    group: &str,
    log: &mut Log,
) -> anyhow::Result<(String, String)> {
    let name = rules::resource_name(&env.name, o.via.suffix());
    let scheme = if o.internet_facing {
        LoadBalancerSchemeEnum::InternetFacing
    } else {
        LoadBalancerSchemeEnum::Internal
    };
    let found = c.elb.describe_load_balancers().names(&name).send().await;
    let (arn, dns) = if code(&found) == Some("LoadBalancerNotFound") {
        if o.subnets.is_empty() {
            bail!(
                "give --subnets (two, in different zones{}) to create the load balancer {name}",
                if o.internet_facing { ", public" } else { "" }
            );
        }
        if log.dry_run {
            log.change(&format!(
                "create {} load balancer {name} ({}) in {}",
                o.via.lb_type().as_str(),
                scheme.as_str(),
                o.subnets.join(" ")
            ));
            return Ok((
                log.pending("load balancer"),
                log.pending("load balancer's DNS name"),
            ));
        }
        let out = c
            .elb
            .create_load_balancer()
            .name(&name)
            .r#type(o.via.lb_type())
            .scheme(scheme)
            .set_subnets(Some(o.subnets.clone()))
            .security_groups(group)
            .tags(Tag::builder().key(ENV_TAG).value(&env.name).build())
            .send()
            .await
            .aws("CreateLoadBalancer")?;
        let lb = out
            .load_balancers()
            .first()
            .context("CreateLoadBalancer answered no load balancer")?;
        let arn = lb.load_balancer_arn().unwrap_or_default().to_owned();
        log.change(&format!(
            "create {} load balancer {name}: {arn}",
            o.via.lb_type().as_str()
        ));
        (arn, lb.dns_name().unwrap_or_default().to_owned())
    } else {
        let found = found.aws("DescribeLoadBalancers")?;
        let lb = found
            .load_balancers()
            .first()
            .context("DescribeLoadBalancers answered no load balancer")?;
        let arn = lb.load_balancer_arn().unwrap_or_default().to_owned();
        if lb.r#type() != Some(&o.via.lb_type())
            || lb.scheme() != Some(&scheme)
            || lb.vpc_id() != Some(env.vpc.as_str())
        {
            bail!("the load balancer {name} exists but is not an {} {} one in {}; delete it (aws elbv2 delete-load-balancer --load-balancer-arn {arn}) or expose it the way it is", scheme.as_str(), o.via.lb_type().as_str(), env.vpc);
        }
        log.ok(&format!("load balancer {name} exists: {arn}"));
        (arn, lb.dns_name().unwrap_or_default().to_owned())
    };
    if !log.dry_run && !o.wait.is_zero() {
        let start = Instant::now();
        let mut shown = String::new();
        loop {
            let d = c
                .elb
                .describe_load_balancers()
                .load_balancer_arns(&arn)
                .send()
                .await
                .aws("DescribeLoadBalancers")?;
            let state = d
                .load_balancers()
                .first()
                .and_then(|l| l.state())
                .and_then(|s| s.code())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default();
            if state == "active" {
                break;
            }
            progress(&mut shown, &format!("load balancer {name}: {state}"), start);
            if state == "failed" || start.elapsed() > o.wait {
                bail!(
                    "the load balancer {name} is {state} after {} s",
                    start.elapsed().as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok((arn, dns))
}

/// Prints a waiting step's state when it changes, with the time waited so far.
fn progress(shown: &mut String, state: &str, start: Instant) {
    if shown != state {
        eprintln!("wait:  {state} ({} s)", start.elapsed().as_secs());
        *shown = state.to_owned();
    }
}

/// The listener on 443: HTTPS (TLS for an NLB) with the certificate, forwarding to `tg`.
async fn listener(
    c: &Clients,
    lb: &str,
    tg: &str,
    cert: &str,
    via: Via,
    log: &mut Log,
) -> anyhow::Result<String> {
    let forward = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(tg)
        .build();
    let certificate = Certificate::builder().certificate_arn(cert).build();
    // What CreateListener and ModifyListener (two builder types) both set.
    macro_rules! https {
        ($call:expr) => {
            $call
                .protocol(via.protocol())
                .port(443)
                .certificates(certificate)
                .default_actions(forward)
        };
    }
    // A load balancer a dry run would create has no listeners yet.
    let found = if log.dry_run && lb.starts_with('<') {
        None
    } else {
        let all = c
            .elb
            .describe_listeners()
            .load_balancer_arn(lb)
            .send()
            .await
            .aws("DescribeListeners")?;
        all.listeners()
            .iter()
            .find(|l| l.port() == Some(443))
            .cloned()
    };
    match found {
        Some(l) => {
            let arn = l.listener_arn().unwrap_or_default().to_owned();
            let forwards = l.default_actions().iter().any(|a| {
                a.r#type() == Some(&ActionTypeEnum::Forward) && a.target_group_arn() == Some(tg)
            });
            let certified = l
                .certificates()
                .iter()
                .any(|x| x.certificate_arn() == Some(cert));
            if l.protocol() == Some(&via.protocol()) && forwards && certified {
                log.ok(&format!(
                    "listener {arn} ({}:443) forwards to the target group with the certificate",
                    via.protocol().as_str()
                ));
                return Ok(arn);
            }
            if !log.dry_run {
                let call = c.elb.modify_listener().listener_arn(&arn);
                https!(call).send().await.aws("ModifyListener")?;
            }
            log.change(&format!(
                "set listener {arn} to {}:443 with {cert}, forwarding to {tg}",
                via.protocol().as_str()
            ));
            Ok(arn)
        }
        None if log.dry_run => {
            log.change(&format!(
                "create a {} listener on 443 with {cert}, forwarding to {tg}",
                via.protocol().as_str()
            ));
            Ok(log.pending("listener"))
        }
        None => {
            let call = c.elb.create_listener().load_balancer_arn(lb);
            let out = https!(call).send().await.aws("CreateListener")?;
            let arn = out
                .listeners()
                .first()
                .and_then(|l| l.listener_arn())
                .unwrap_or_default()
                .to_owned();
            log.change(&format!(
                "create {} listener on 443: {arn}",
                via.protocol().as_str()
            ));
            Ok(arn)
        }
    }
}

/// Lets `group` admit tcp/443 from the peer `from` adds to the permission.
async fn admit_https(
    c: &Clients,
    group: &str,
    from: impl FnOnce(IpPermissionBuilder) -> IpPermissionBuilder,
) -> anyhow::Result<()> {
    let https = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443);
    c.ec2
        .authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(from(https).build())
        .send()
        .await
        .aws("AuthorizeSecurityGroupIngress")?;
    Ok(())
}
