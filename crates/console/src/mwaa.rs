//! Amazon MWAA → Environments, and one environment: its lifecycle, its two endpoints with their
//! addresses (the page's "identify the private IP addresses" steps, with the `dig` commands that
//! verify them), and for a private webserver every way in, marked works or broken with the rule
//! or setting that breaks it (`services::mwaa::access`, the data plane's own judgements).

use crate::html::{esc, facts, status_class, Cell, Table};
use crate::{items, s, Content, Req};
use airlock_protocol::ApiError;
use airlock_services::mwaa::{access, Environment};
use airlock_store::Scope;
use serde_json::{json, Value};
use std::fmt::Write;

fn get(r: &Req<'_>, name: &str) -> Result<Value, ApiError> {
    Ok(r.api
        .call("mwaa", "GetEnvironment", json!({ "Name": name }))?
        .get("Environment")
        .cloned()
        .unwrap_or(Value::Null))
}

/// The list, or one environment.
pub fn environments(r: &Req<'_>, name: &str) -> Result<Content, ApiError> {
    if !name.is_empty() {
        return environment(r, name);
    }
    let names = r.api.all(
        "mwaa",
        "ListEnvironments",
        json!({}),
        "Environments",
        ("NextToken", "NextToken"),
    )?;
    let mut t = Table::new(vec![
        "Name",
        "Status",
        "Airflow version",
        "Webserver access",
        "Endpoint management",
        "Webserver URL",
        "Created",
    ]);
    for n in names.iter().filter_map(Value::as_str) {
        let e = get(r, n)?;
        t.push(vec![
            Cell::link(n, &r.href(&format!("mwaa/environments/{n}"), &[])),
            Cell::status(s(&e, "Status")),
            Cell::text(s(&e, "AirflowVersion")),
            Cell::text(s(&e, "WebserverAccessMode")),
            Cell::text(s(&e, "EndpointManagement")),
            Cell::text(s(&e, "WebserverUrl")),
            Cell::text(s(&e, "CreatedAt")),
        ]);
    }
    Ok(r.listing("Environments", "mwaa/environments", t, false))
}

fn environment(r: &Req<'_>, name: &str) -> Result<Content, ApiError> {
    let e = get(r, name)?;
    let mut main = format!(
        "<p class=\"crumbs\"><a href=\"{}\">Environments</a> › {}</p><h1>{} <span class=\"status {}\">{}</span></h1>",
        esc(&r.href("mwaa/environments", &[])),
        esc(name),
        esc(name),
        status_class(s(&e, "Status")),
        esc(s(&e, "Status"))
    );
    let last = e.get("LastUpdate").cloned().unwrap_or(Value::Null);
    let error = last
        .get("Error")
        .filter(|x| !s(x, "ErrorCode").is_empty())
        .map(|x| format!("{}: {}", s(x, "ErrorCode"), s(x, "ErrorMessage")))
        .unwrap_or_else(|| "-".into());
    let url = s(&e, "WebserverUrl");
    facts(
        &[
            (
                "Webserver access mode",
                s(&e, "WebserverAccessMode").to_owned(),
            ),
            ("Webserver URL", url.to_owned()),
            (
                "Endpoint management",
                s(&e, "EndpointManagement").to_owned(),
            ),
            ("Airflow version", s(&e, "AirflowVersion").to_owned()),
            ("Environment class", s(&e, "EnvironmentClass").to_owned()),
            ("Execution role", s(&e, "ExecutionRoleArn").to_owned()),
            ("Source bucket", s(&e, "SourceBucketArn").to_owned()),
            ("Created", s(&e, "CreatedAt").to_owned()),
            (
                "Last update",
                format!("{} {}", s(&last, "Status"), s(&last, "CreatedAt")),
            ),
            ("Last error", error),
        ],
        &mut main,
    );
    let scope = Scope::new(r.account.clone(), r.region.clone());
    let clock = r.api.ctx().clock;
    let store = r.api.ctx().store;
    let (record, web, paths) = store.read(|v| {
        let record = v.get::<Environment>(&scope, name);
        let web = record
            .as_deref()
            .and_then(|env| access::webserver(v, &scope, env));
        let paths = match (&record, &web) {
            (Some(env), Some(w)) => access::paths(v, &scope, env, w, clock),
            _ => Vec::new(),
        };
        (record, web, paths)
    });
    // The endpoints and their addresses.
    if let Some(env) = &record {
        let web_service = env
            .webserver_service
            .as_deref()
            .map(|id| env.service_name(id));
        let services: Vec<String> = web_service
            .iter()
            .cloned()
            .chain([env.service_name(&env.database_service)])
            .collect();
        let eps = r.api.call(
            "ec2",
            "DescribeVpcEndpoints",
            json!({"Filters": [
                {"Name": "vpc-id", "Values": [env.vpc_id]},
                {"Name": "service-name", "Values": services},
            ]}),
        )?;
        main.push_str("<h2>VPC endpoints</h2><table><thead><tr><th>Role</th><th>Endpoint</th><th>Status</th><th>Private IPs</th><th>DNS name</th></tr></thead><tbody>");
        let mut digs = Vec::new();
        for ep in items(&eps, "VpcEndpoints") {
            let role = if Some(s(ep, "ServiceName")) == web_service.as_deref() {
                "webserver"
            } else {
                "database"
            };
            let id = s(ep, "VpcEndpointId");
            let enis: Vec<Value> = ep
                .get("NetworkInterfaceIds")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let ips: Vec<String> = if enis.is_empty() {
                Vec::new()
            } else {
                r.api
                    .call(
                        "ec2",
                        "DescribeNetworkInterfaces",
                        json!({ "NetworkInterfaceIds": enis }),
                    )?
                    .get("NetworkInterfaces")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|n| s(n, "PrivateIpAddress").to_owned())
                    .collect()
            };
            let dns = ep
                .get("DnsEntries")
                .and_then(Value::as_array)
                .and_then(|d| d.first())
                .map(|d| s(d, "DnsName").to_owned())
                .unwrap_or_default();
            if role == "webserver" && !dns.is_empty() {
                digs.push(dns.clone());
            }
            let _ = write!(
                main,
                "<tr><td>{role}</td><td><a href=\"{}\">{}</a></td><td><span class=\"status {}\">{}</span></td><td class=\"ip\">{}</td><td>{}</td></tr>",
                esc(&r.href(&format!("vpc/endpoints/{id}"), &[])),
                esc(id),
                status_class(s(ep, "State")),
                esc(s(ep, "State")),
                ips.iter().map(|i| esc(i)).collect::<Vec<_>>().join("<br>"),
                esc(&dns)
            );
        }
        main.push_str("</tbody></table>");
        if let Some(dns) = r.site.dns {
            main.push_str("<h3>Verify with dig</h3><pre>");
            let at = format!("dig @{} -p {} +short", dns.ip(), dns.port());
            if !url.is_empty() {
                let _ = writeln!(main, "{at} {}", esc(url));
            }
            for d in digs {
                let _ = writeln!(main, "{at} {}", esc(&d));
            }
            main.push_str("</pre>");
        }
    }
    if s(&e, "WebserverAccessMode") == "PUBLIC_ONLY" {
        main.push_str("<h2>Open the Airflow UI</h2><p>The webserver is public: the console signs you in with a web login token (your browser must resolve the webserver's name through Airlock's DNS, and trust <code>airlock ca</code>).</p>");
        if s(&e, "Status") == "AVAILABLE" {
            let _ = write!(
                main,
                "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <button type=\"submit\" id=\"open-airflow\">Open Airflow UI</button></form>",
                esc(&r.href(&format!("mwaa/environments/{name}/open"), &[])),
                esc(&r.site.csrf)
            );
        }
        let _ = write!(
            main,
            "<pre>aws mwaa create-web-login-token --name {n} --region {r}\n\
             # then open https://{u}/aws_mwaa/aws-console-sso?login=true#&lt;WebToken&gt;</pre>",
            n = esc(name),
            r = esc(&r.region),
            u = esc(url)
        );
    } else {
        access_paths(&mut main, web.as_ref(), &paths);
    }
    Ok(Content {
        title: name.to_owned(),
        main,
    })
}

fn access_paths(main: &mut String, web: Option<&access::Webserver>, paths: &[access::Path]) {
    main.push_str("<h2>Access paths</h2>");
    let Some(web) = web else {
        main.push_str("<p>The webserver has no endpoint yet (with CUSTOMER endpoint management, create the interface endpoint to the webserver service).</p>");
        return;
    };
    let _ = write!(
        main,
        "<p>The webserver is private: it answers only inside {} through endpoint {} ({}). Ways in:</p>",
        esc(&web.endpoint.vpc_id),
        esc(&web.endpoint.id),
        web.interfaces
            .iter()
            .map(|n| std::net::Ipv4Addr::from(n.private_ip).to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if paths.is_empty() {
        main.push_str("<p class=\"none\">None yet: launch a bastion host in a public subnet of the VPC, or put an internet-facing load balancer in front of the endpoint's addresses.</p>");
        return;
    }
    main.push_str("<ul class=\"paths\">");
    for p in paths {
        let verdict = p.verdict().label();
        let _ = write!(
            main,
            "<li class=\"path {verdict}\" data-verdict=\"{verdict}\"><div class=\"path-head\"><span class=\"verdict\">{verdict}</span> <b>{}</b> {}</div><ul>",
            esc(p.kind),
            esc(&p.name)
        );
        for x in &p.problems {
            let _ = write!(main, "<li class=\"problem\">{}</li>", esc(x));
        }
        for x in &p.pending {
            let _ = write!(main, "<li class=\"pending\">{}</li>", esc(x));
        }
        for x in &p.facts {
            let _ = write!(main, "<li class=\"fact\">{}</li>", esc(x));
        }
        main.push_str("</ul></li>");
    }
    main.push_str("</ul>");
}
