//! The target group `expose` makes and keeps: its shape and matcher, its targets synchronised
//! with the endpoint addresses, and the wait for them to become healthy.

use super::*;

/// The target group: both addresses, HTTPS (TLS for an NLB) on 443, matcher 200,302.
pub(super) async fn target_group(
    c: &Clients,
    facts: &Endpoints,
    via: Via,
    log: &mut Log,
) -> anyhow::Result<String> {
    let env = &facts.env;
    let name = rules::resource_name(&env.name, &format!("{}-web", via.suffix()));
    let found = c.elb.describe_target_groups().names(&name).send().await;
    let arn = if code(&found) == Some("TargetGroupNotFound") {
        if log.dry_run {
            log.change(&format!(
                "create target group {name} ({}:443, ip targets, matcher {})",
                via.protocol().as_str(),
                rules::MATCHER
            ));
            log.change(&format!("register {} in {name}", facts.ips().join(" ")));
            return Ok(log.pending("target group"));
        }
        let out = c
            .elb
            .create_target_group()
            .name(&name)
            .protocol(via.protocol())
            .port(443)
            .vpc_id(&env.vpc)
            .target_type(TargetTypeEnum::Ip)
            .health_check_protocol(ProtocolEnum::Https)
            .health_check_path("/")
            .matcher(Matcher::builder().http_code(rules::MATCHER).build())
            .tags(Tag::builder().key(ENV_TAG).value(&env.name).build())
            .send()
            .await
            .aws("CreateTargetGroup")?;
        let arn = out
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .unwrap_or_default()
            .to_owned();
        log.change(&format!("create target group {name}: {arn}"));
        arn
    } else {
        let found = found.aws("DescribeTargetGroups")?;
        let tg = found
            .target_groups()
            .first()
            .context("DescribeTargetGroups answered no group")?;
        let arn = tg.target_group_arn().unwrap_or_default().to_owned();
        let shape = (tg.vpc_id(), tg.protocol(), tg.port(), tg.target_type());
        if shape
            != (
                Some(env.vpc.as_str()),
                Some(&via.protocol()),
                Some(443),
                Some(&TargetTypeEnum::Ip),
            )
        {
            bail!(
                "the target group {name} exists but is not an ip target group on {}:443 in {}; delete it (aws elbv2 delete-target-group --target-group-arn {arn}) and run expose again",
                via.protocol().as_str(), env.vpc
            );
        }
        let matcher = tg.matcher().and_then(|m| m.http_code()).unwrap_or_default();
        if rules::matcher_accepts(matcher, &rules::WEBSERVER_CODES) {
            log.ok(&format!("target group {name} exists, matcher {matcher}"));
        } else {
            if !log.dry_run {
                c.elb
                    .modify_target_group()
                    .target_group_arn(&arn)
                    .matcher(Matcher::builder().http_code(rules::MATCHER).build())
                    .send()
                    .await
                    .aws("ModifyTargetGroup")?;
            }
            log.change(&format!(
                "set {name}'s matcher from {matcher} to {}",
                rules::MATCHER
            ));
        }
        arn
    };
    sync(c, &arn, &facts.ips(), log).await?;
    Ok(arn)
}

/// Makes target group `tg` hold exactly `ips` on 443.
pub async fn sync(c: &Clients, tg: &str, ips: &[String], log: &mut Log) -> anyhow::Result<()> {
    // Draining targets are already on their way out; one of the addresses is registered again.
    let registered: Vec<(String, i32)> = current_targets(c, tg)
        .await?
        .iter()
        .filter_map(|d| d.target())
        .map(|t| {
            (
                t.id().unwrap_or_default().to_owned(),
                t.port().unwrap_or(443),
            )
        })
        .collect();
    let missing: Vec<(String, i32)> = ips
        .iter()
        .filter(|ip| !registered.iter().any(|(r, p)| r == *ip && *p == 443))
        .map(|ip| (ip.clone(), 443))
        .collect();
    let stale: Vec<(String, i32)> = registered
        .into_iter()
        .filter(|(r, p)| !ips.contains(r) || *p != 443)
        .collect();
    if missing.is_empty() && stale.is_empty() {
        log.ok(&format!("{tg} holds {}", ips.join(" ")));
        return Ok(());
    }
    if !missing.is_empty() {
        if !log.dry_run {
            move_targets(c, tg, true, &missing).await?;
        }
        let shown = crate::spaced(missing.iter().map(|(ip, _)| ip));
        log.change(&format!("register {shown} in {tg}"));
    }
    if !stale.is_empty() {
        if !log.dry_run {
            move_targets(c, tg, false, &stale).await?;
        }
        let shown = crate::spaced(stale.iter().map(|(ip, p)| format!("{ip}:{p}")));
        log.change(&format!("deregister {shown} from {tg}"));
    }
    Ok(())
}

/// Registers `targets` (address and port) in `tg`, or deregisters them.
async fn move_targets(
    c: &Clients,
    tg: &str,
    register: bool,
    targets: &[(String, i32)],
) -> anyhow::Result<()> {
    let list = targets
        .iter()
        .map(|(ip, port)| TargetDescription::builder().id(ip).port(*port).build())
        .collect();
    if register {
        let call = c.elb.register_targets().target_group_arn(tg);
        let sent = call.set_targets(Some(list)).send().await;
        sent.aws("RegisterTargets")?;
    } else {
        let call = c.elb.deregister_targets().target_group_arn(tg);
        let sent = call.set_targets(Some(list)).send().await;
        sent.aws("DeregisterTargets")?;
    }
    Ok(())
}

/// The targets of `tg` and their health, but for those draining.
async fn current_targets(c: &Clients, tg: &str) -> anyhow::Result<Vec<TargetHealthDescription>> {
    let call = c.elb.describe_target_health().target_group_arn(tg);
    let mut all = call
        .send()
        .await
        .aws("DescribeTargetHealth")?
        .target_health_descriptions()
        .to_vec();
    all.retain(|d| {
        d.target_health().and_then(|t| t.state()) != Some(&TargetHealthStateEnum::Draining)
    });
    Ok(all)
}

/// Waits until every target of `tg` is healthy, showing each change of their states.
pub async fn wait_healthy(c: &Clients, tg: &str, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut shown = String::new();
    loop {
        let states: Vec<(String, String, String)> = current_targets(c, tg)
            .await?
            .iter()
            .map(|d| {
                let t = d.target_health();
                (
                    d.target()
                        .and_then(|t| t.id())
                        .unwrap_or_default()
                        .to_owned(),
                    t.and_then(|t| t.state())
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    t.and_then(|t| t.reason())
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                )
            })
            .collect();
        if !states.is_empty() && states.iter().all(|(_, s, _)| s == "healthy") {
            println!(
                "ok:    targets healthy: {}",
                crate::spaced(states.iter().map(|(ip, _, _)| ip.as_str()))
            );
            return Ok(());
        }
        let line = states
            .iter()
            .map(|(ip, s, r)| {
                if r.is_empty() {
                    format!("{ip} {s}")
                } else {
                    format!("{ip} {s} ({r})")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        progress(&mut shown, &format!("targets: {line}"), start);
        if start.elapsed() > limit {
            bail!("the targets are not healthy after {} s: {line}; run `airlock mwaa doctor` to see why", start.elapsed().as_secs());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `sync-targets`: every target group `expose` tagged for `name` holds the endpoint's current
/// addresses.
pub async fn sync_targets(c: &Clients, name: &str, dry_run: bool) -> anyhow::Result<usize> {
    let facts = discover::endpoints(c, name, Lookup::Skip).await?;
    let ips = facts.ips();
    if ips.is_empty() {
        bail!(
            "{name}'s webserver endpoint has no interfaces (status {})",
            facts.env.status
        );
    }
    let groups = tagged_target_groups(c, name).await?;
    if groups.is_empty() {
        bail!("no target group is tagged {ENV_TAG}={name}: run `airlock mwaa expose {name}` first");
    }
    let mut log = Log::new(dry_run);
    for tg in &groups {
        sync(c, tg, &ips, &mut log).await?;
    }
    if log.changes == 0 {
        println!("no changes: the target groups hold {}", ips.join(" "));
    }
    Ok(log.changes)
}

/// The ARNs of the target groups tagged for environment `name`.
pub async fn tagged_target_groups(c: &Clients, name: &str) -> anyhow::Result<Vec<String>> {
    let mut arns = Vec::new();
    let mut pages = c.elb.describe_target_groups().into_paginator().send();
    while let Some(page) = pages.next().await {
        arns.extend(
            page.aws("DescribeTargetGroups")?
                .target_groups()
                .iter()
                .filter_map(|t| t.target_group_arn())
                .map(str::to_owned),
        );
    }
    let mut tagged = Vec::new();
    for chunk in arns.chunks(20) {
        let tags = c
            .elb
            .describe_tags()
            .set_resource_arns(Some(chunk.to_vec()))
            .send()
            .await
            .aws("DescribeTags")?;
        for d in tags.tag_descriptions() {
            if d.tags()
                .iter()
                .any(|t| t.key() == Some(ENV_TAG) && t.value() == Some(name))
            {
                tagged.extend(d.resource_arn().map(str::to_owned));
            }
        }
    }
    Ok(tagged)
}
