//! Airlock's web console (`/_airlock/console/` on the API port): the state as pages laid out
//! like AWS's consoles, and what no console shows, whether each way into a private webserver
//! works and why not.
//!
//! A page is a function of the state and the URL: it reads through the services' own read
//! operations (`services::service::read`, the same code the API answers with, as the account's
//! root, without the hooks that create a region's defaults) and, for access paths, through
//! `services::mwaa::access`, the data plane's own judgements. It never writes. No HTTP types
//! here: the server hands over the path and query and sends back a [`Page`]. Every list is
//! filtered and sorted on the server (reading works without JavaScript); `console.js` only
//! reloads the page's `<main>` when its content changes (live status).

mod cloudformation;
mod ec2;
pub mod html;
mod mwaa;
mod services;
mod vpc;

use airlock_protocol::ApiError;
use airlock_services::{Config, Ctx};
use airlock_store::Store;
use html::esc;
use serde_json::Value;
use std::fmt::Write;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use time::OffsetDateTime;

/// Where the console lives on the API port.
pub const PREFIX: &str = "/_airlock/console/";

const CSS: &str = include_str!("../assets/console.css");
const JS: &str = include_str!("../assets/console.js");

/// What the pages say about the server they run in.
#[derive(Debug, Clone, Default)]
pub struct Site {
    /// The DNS server's address, for the `dig` commands a page shows.
    pub dns: Option<SocketAddr>,
    /// The server's secret that the console's one form carries (CSRF protection); empty: the
    /// action is refused.
    pub csrf: String,
    /// The port public webservers listen on (443, or 10443 without the privilege to bind it).
    pub https_port: u16,
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// Where a redirect points.
    pub location: Option<String>,
    /// The version of the page's `<main>` (`X-Airlock-Console-Version`): the script swaps the
    /// content in when it changes.
    pub version: Option<String>,
    /// Static assets may be cached; pages may not.
    pub cacheable: bool,
}

impl Page {
    fn asset(content_type: &'static str, body: &str) -> Page {
        Page {
            status: 200,
            content_type,
            body: body.to_owned(),
            location: None,
            version: None,
            cacheable: true,
        }
    }
}

/// One page request, as the pages read it.
pub struct Req<'a> {
    pub api: Api<'a>,
    pub account: String,
    pub region: String,
    pub view: html::View,
    pub site: &'a Site,
}

impl Req<'_> {
    /// The URL of console page `path` in this account and region, with `extra` parameters.
    pub fn href(&self, path: &str, extra: &[(&str, &str)]) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("account", &self.account);
        q.append_pair("region", &self.region);
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        format!("{PREFIX}{path}?{}", q.finish())
    }

    /// A page that is one list: its heading, under it the region the list is of (or `global`
    /// for a resource without a region), and its table.
    pub fn listing(&self, title: &str, path: &str, t: html::Table, global: bool) -> Content {
        let sub = if global { "global" } else { &self.region };
        let mut main = format!(
            "<h1>{} <span class=\"sub\">{}</span></h1>",
            esc(title),
            esc(sub)
        );
        self.table(path, t, &mut main);
        Content {
            title: title.to_owned(),
            main,
        }
    }

    /// Renders `table` with this request's filter and sort, on page `path`.
    pub fn table(&self, path: &str, t: html::Table, out: &mut String) {
        let keep = [
            ("account", self.account.as_str()),
            ("region", self.region.as_str()),
        ];
        let filter = self.view.filter.clone();
        t.render(
            &self.view,
            &keep,
            |col, desc| {
                let col = col.to_string();
                let mut extra = vec![
                    ("sort", col.as_str()),
                    ("desc", if desc { "1" } else { "0" }),
                ];
                if !filter.is_empty() {
                    extra.push(("q", filter.as_str()));
                }
                self.href(path, &extra)
            },
            out,
        );
    }
}

/// Reads through the services' operations as the account's root.
pub struct Api<'a> {
    ctx: Ctx<'a>,
}

impl Api<'_> {
    /// Read operation `op` of `service`.
    pub fn call(&self, service: &str, op: &str, input: Value) -> Result<Value, ApiError> {
        airlock_services::service::read(&self.ctx, service, op, &input)
            .unwrap_or_else(|| Err(ApiError::internal(format!("{service} {op} is not served"))))
    }

    /// Every item of a paginated list: the items under `key`, the next page's token read from
    /// `token_out` and given as `token_in`.
    pub fn all(
        &self,
        service: &str,
        op: &str,
        input: Value,
        key: &str,
        (token_in, token_out): (&str, &str),
    ) -> Result<Vec<Value>, ApiError> {
        let mut items = Vec::new();
        let mut input = input;
        for _ in 0..1000 {
            let out = self.call(service, op, input.clone())?;
            if let Some(Value::Array(a)) = out.get(key) {
                items.extend(a.iter().cloned());
            }
            match out.get(token_out).and_then(Value::as_str) {
                Some(t) if !t.is_empty() => input[token_in] = Value::String(t.to_owned()),
                _ => break,
            }
        }
        Ok(items)
    }

    pub fn ctx(&self) -> &Ctx<'_> {
        &self.ctx
    }
}

/// A string member of a JSON object (empty when absent).
pub fn s<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The items of a list member of a JSON object (none when absent).
pub fn items<'v>(v: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// A tag's value from an AWS `Tags` list (`[{Key, Value}]`).
pub fn tag<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get("Tags")
        .or_else(|| v.get("TagSet"))
        .and_then(Value::as_array)?
        .iter()
        .find(|t| s(t, "Key") == key)
        .map(|t| s(t, "Value"))
}

/// The sections and pages of the navigation: (section, [(title, path)]).
const NAV: &[(&str, &[(&str, &str)])] = &[
    (
        "VPC",
        &[
            ("Endpoints", "vpc/endpoints"),
            ("Endpoint services", "vpc/endpoint-services"),
            ("Your VPCs", "vpc/vpcs"),
            ("Subnets", "vpc/subnets"),
            ("Route tables", "vpc/route-tables"),
            ("Security groups", "vpc/security-groups"),
            ("Internet and NAT gateways", "vpc/gateways"),
            ("Network interfaces", "vpc/network-interfaces"),
        ],
    ),
    ("Amazon MWAA", &[("Environments", "mwaa/environments")]),
    (
        "EC2",
        &[
            ("Instances", "ec2/instances"),
            ("Key pairs", "ec2/key-pairs"),
            ("Load balancers", "ec2/load-balancers"),
            ("Target groups", "ec2/target-groups"),
        ],
    ),
    (
        "Certificate Manager",
        &[("Certificates", "acm/certificates")],
    ),
    ("IAM", &[("Roles", "iam/roles")]),
    ("S3", &[("Buckets", "s3/buckets")]),
    ("CloudFormation", &[("Stacks", "cloudformation/stacks")]),
];

/// What a page function writes: its title and the content of `<main>`.
pub struct Content {
    pub title: String,
    pub main: String,
}

type PageFn = fn(&Req<'_>, &str) -> Result<Content, ApiError>;

/// The page for `path` (below [`PREFIX`]): its function and the rest of the path (an id).
fn route(path: &str) -> Option<(PageFn, &str)> {
    const PAGES: &[(&str, PageFn)] = &[
        ("vpc/endpoints", vpc::endpoints),
        ("vpc/endpoint-services", vpc::endpoint_services),
        ("vpc/vpcs", vpc::vpcs),
        ("vpc/subnets", vpc::subnets),
        ("vpc/route-tables", vpc::route_tables),
        ("vpc/security-groups", vpc::security_groups),
        ("vpc/gateways", vpc::gateways),
        ("vpc/network-interfaces", vpc::network_interfaces),
        ("mwaa/environments", mwaa::environments),
        ("ec2/instances", ec2::instances),
        ("ec2/key-pairs", ec2::key_pairs),
        ("ec2/load-balancers", ec2::load_balancers),
        ("ec2/target-groups", ec2::target_groups),
        ("acm/certificates", services::certificates),
        ("iam/roles", services::roles),
        ("s3/buckets", services::buckets),
        ("cloudformation/stacks", cloudformation::stacks),
    ];
    PAGES.iter().find_map(|(p, f)| {
        let rest = path.strip_prefix(p)?;
        match rest {
            "" => Some((*f, "")),
            r => r
                .strip_prefix('/')
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .map(|id| (*f, id)),
        }
    })
}

/// The account and region a URL names (or the defaults), with the accounts that hold state.
struct Parsed<'a> {
    req: Req<'a>,
    accounts: Vec<String>,
    fragment: bool,
}

/// Reads a console URL's query: account (12 digits; default: the server's default account),
/// region (one Airlock knows; default: the first region where the account has state), filter
/// and sort. An unknown account or region is a 400 page.
fn request<'a>(
    store: &'a Store,
    config: &'a Config,
    now: OffsetDateTime,
    site: &'a Site,
    query: &str,
) -> Result<Parsed<'a>, Page> {
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // The accounts and regions that hold state: scopes of an account (12 digits) in a region, or
    // global (IAM). Other scopes are the services' own (a bucket's objects are kept under the
    // bucket's name, which may be 12 digits too).
    let known = |r: &str| airlock_services::ec2::regions::names().any(|n| n == r);
    let is_account = airlock_services::auth::is_account_id;
    let scopes: Vec<airlock_store::Scope> = store
        .read(|v| v.scopes())
        .into_iter()
        .filter(|s| is_account(&s.account) && (s.region.is_empty() || known(&s.region)))
        .collect();
    // A parameter that must pass `ok`: absent is None, present and wrong a 400 page.
    let checked = |name: &str, ok: &dyn Fn(&str) -> bool, title: &str, why: &str| match param(name)
    {
        Some(v) if ok(v) => Ok(Some(v.to_owned())),
        Some(v) => Err(error_page(400, title, &format!("{v:?} {why}"))),
        None => Ok(None),
    };
    let account = checked(
        "account",
        &is_account,
        "Unknown account",
        "is not a 12-digit account id.",
    )?
    .unwrap_or_else(|| config.default_account.clone());
    let mut accounts: Vec<String> = scopes.iter().map(|s| s.account.clone()).collect();
    accounts.extend([config.default_account.clone(), account.clone()]);
    accounts.sort();
    accounts.dedup();
    let region = checked(
        "region",
        &known,
        "Unknown region",
        "is not a region Airlock knows.",
    )?
    .unwrap_or_else(|| {
        scopes
            .iter()
            .find(|s| s.account == account && !s.region.is_empty())
            .map_or_else(|| "us-east-1".to_owned(), |s| s.region.clone())
    });
    let view = html::View {
        filter: param("q").unwrap_or("").to_owned(),
        sort: param("sort").and_then(|s| s.parse().ok()),
        desc: param("desc") == Some("1"),
    };
    let fragment = param("fragment") == Some("1");
    let principal = airlock_services::auth::root(&account, "console");
    let req = Req {
        api: Api {
            ctx: Ctx::internal(store, config, principal, &region, config.clock(now)),
        },
        account,
        region,
        view,
        site,
    };
    Ok(Parsed {
        req,
        accounts,
        fragment,
    })
}

fn redirect(location: String) -> Page {
    Page {
        status: 303,
        content_type: "text/plain; charset=utf-8",
        body: String::new(),
        location: Some(location),
        version: None,
        cacheable: false,
    }
}

/// The answer to `GET <PREFIX><path>?<query>` (`form`: None) or to the console's one form,
/// `POST <PREFIX>mwaa/environments/<name>/open` with the form's body.
pub fn answer(
    store: &Store,
    config: &Config,
    now: OffsetDateTime,
    site: &Site,
    path: &str,
    query: &str,
    form: Option<&[u8]>,
) -> Page {
    let opened = match form {
        None => None,
        Some(form) => match form_target(site, path, form) {
            Ok(name) => Some(name),
            Err(page) => return page,
        },
    };
    match (opened, path) {
        (None, "console.css") => return Page::asset("text/css; charset=utf-8", CSS),
        (None, "console.js") => return Page::asset("text/javascript; charset=utf-8", JS),
        _ => {}
    }
    match (request(store, config, now, site, query), opened) {
        (Err(page), _) => page,
        (Ok(parsed), None) => render(parsed, path),
        (Ok(parsed), Some(name)) => open(&parsed.req, site, name),
    }
}

fn render(parsed: Parsed<'_>, path: &str) -> Page {
    let Parsed {
        req,
        accounts,
        fragment,
    } = parsed;
    if path.is_empty() {
        return redirect(req.href("vpc/endpoints", &[]));
    }
    let Some((page, id)) = route(path) else {
        return error_page(404, "Not found", "No console page has this address.");
    };
    let (status, content) = match page(&req, id) {
        Ok(c) => (200, c),
        Err(e) => (error_status(&e), error_content(&e)),
    };
    let version = {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        content.main.hash(&mut h);
        format!("{:016x}", h.finish())
    };
    let body = if fragment {
        content.main
    } else {
        layout(&req, path, &accounts, &content, &version)
    };
    Page {
        status,
        content_type: "text/html; charset=utf-8",
        body,
        location: None,
        version: Some(version),
        cacheable: false,
    }
}

/// The environment the console's one form opens, if the form may: the path names an
/// environment's `open` and the form carries the `csrf` value (the server's secret, which only a
/// console page carries).
fn form_target<'p>(site: &Site, path: &'p str, form: &[u8]) -> Result<&'p str, Page> {
    let Some(name) = path
        .strip_prefix("mwaa/environments/")
        .and_then(|p| p.strip_suffix("/open"))
        .filter(|n| !n.is_empty() && !n.contains('/'))
    else {
        return Err(error_page(
            405,
            "Method not allowed",
            "The console only reads this page.",
        ));
    };
    let csrf = form_urlencoded::parse(form)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    if site.csrf.is_empty() || csrf != site.csrf {
        return Err(error_page(
            403,
            "Refused",
            "The form did not come from this console (its CSRF token is missing or wrong): open the environment's page and choose the button again.",
        ));
    }
    Ok(name)
}

/// "Open Airflow UI" of a public webserver: a web login token (MWAA's CreateWebLoginToken, as
/// the account's root) and the browser sent to the webserver's sign-in page with it, as the MWAA
/// console does.
fn open(req: &Req<'_>, site: &Site, name: &str) -> Page {
    let out = airlock_services::call(
        &req.api.ctx,
        "mwaa",
        "CreateWebLoginToken",
        &serde_json::json!({ "Name": name }),
    )
    .unwrap_or_else(|| Err(ApiError::internal("CreateWebLoginToken is not served")))
    .map(|o| o.to_value());
    match out {
        Ok(t) => {
            let port = match site.https_port {
                443 | 0 => String::new(),
                p => format!(":{p}"),
            };
            redirect(format!(
                "https://{}{port}/aws_mwaa/aws-console-sso?login=true#{}",
                s(&t, "WebServerHostname"),
                s(&t, "WebToken")
            ))
        }
        Err(e) => error_page(error_status(&e), &e.code, &e.message),
    }
}

fn error_status(e: &ApiError) -> u16 {
    if e.code.contains("NotFound") || e.code.contains("NoSuch") {
        404
    } else {
        400
    }
}

fn error_content(e: &ApiError) -> Content {
    Content {
        title: e.code.clone(),
        main: format!(
            "<h1>{}</h1><p class=\"error\">{}</p>",
            esc(&e.code),
            esc(&e.message)
        ),
    }
}

fn error_page(status: u16, title: &str, message: &str) -> Page {
    Page {
        status,
        content_type: "text/html; charset=utf-8",
        body: format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t} · Airlock console</title>\
             <link rel=\"stylesheet\" href=\"{PREFIX}console.css\"></head><body><main><h1>{t}</h1>\
             <p class=\"error\">{m}</p><p><a href=\"{PREFIX}\">Console home</a></p></main></body></html>",
            t = esc(title),
            m = esc(message)
        ),
        location: None,
        version: None,
        cacheable: false,
    }
}

/// The whole document: header with the account and region selectors, navigation, `<main>`.
fn layout(req: &Req<'_>, path: &str, accounts: &[String], c: &Content, version: &str) -> String {
    let mut o = String::with_capacity(c.main.len() + 4096);
    let _ = write!(
        o,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Airlock console</title><link rel=\"stylesheet\" href=\"{PREFIX}console.css\">\
         <script src=\"{PREFIX}console.js\" defer></script></head><body>",
        esc(&c.title)
    );
    let section = path.split('/').take(2).collect::<Vec<_>>().join("/");
    let _ = write!(
        o,
        "<header><a class=\"brand\" href=\"{}\">Airlock console</a>\
         <form class=\"selectors\" method=\"get\" action=\"{PREFIX}{}\">\
         <label>Account <select name=\"account\" id=\"account\" data-autosubmit>",
        esc(&req.href("vpc/endpoints", &[])),
        esc(&section)
    );
    for a in accounts {
        let sel = if *a == req.account { " selected" } else { "" };
        let _ = write!(o, "<option{sel}>{}</option>", esc(a));
    }
    o.push_str(
        "</select></label> <label>Region <select name=\"region\" id=\"region\" data-autosubmit>",
    );
    for r in airlock_services::ec2::regions::names() {
        let sel = if r == req.region { " selected" } else { "" };
        let _ = write!(o, "<option{sel}>{r}</option>");
    }
    o.push_str("</select></label> <button type=\"submit\" class=\"go\">Go</button></form>");
    o.push_str("<span id=\"live\" class=\"live\" title=\"The page follows changes as they happen\"></span></header><nav>");
    for (name, pages) in NAV {
        let _ = write!(o, "<h2>{}</h2><ul>", esc(name));
        for (title, p) in *pages {
            let here = if *p == section { " class=\"here\"" } else { "" };
            let _ = write!(
                o,
                "<li><a{here} href=\"{}\">{}</a></li>",
                esc(&req.href(p, &[])),
                esc(title)
            );
        }
        o.push_str("</ul>");
    }
    let _ = write!(
        o,
        "</nav><main id=\"main\" data-version=\"{}\">{}</main></body></html>",
        esc(version),
        c.main
    );
    o
}

#[cfg(test)]
mod tests;
