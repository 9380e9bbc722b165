//! What a load balancer does with a request or a connection, decided from the state alone (the
//! data plane in `airlock-net` does the I/O): which rule matches an HTTP request, where a
//! redirect points, which targets may receive traffic, and what a health check's answer means.

use super::actions::{Action, Redirect};
use super::listeners::Listener;
use super::loadbalancers::LoadBalancer;
use super::rules::{Condition, Rule};
use super::targetgroups::{self, Registration, TargetGroup, Targets};
use crate::ec2::cidr::Cidr;
use crate::ec2::instances;
use crate::Clock;
use airlock_store::{Scope, View};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// The parts of an HTTP request that rules look at.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The `Host` header (or HTTP/2 authority), port included if the client sent one.
    pub host: &'a str,
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: Option<&'a str>,
    /// Header names in lowercase, with their values.
    pub headers: &'a [(&'a str, &'a str)],
    /// The client's address as the load balancer sees it.
    pub source: Ipv4Addr,
}

/// `*` (any run, also empty) and `?` (one character) wildcards, as ELB conditions use them.
pub fn wildcard(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let eq = |a: char, b: char| {
        if case_insensitive {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point (the last `*`): linear in practice.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || (p[pi] != '*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Whether one rule condition holds for `req` (values within a condition are alternatives).
pub fn condition_holds(c: &Condition, req: &Request<'_>) -> bool {
    match c.field.as_str() {
        "host-header" => {
            let host = strip_port(req.host);
            c.values.iter().any(|p| wildcard(p, host, true))
        }
        "path-pattern" => c.values.iter().any(|p| wildcard(p, req.path, false)),
        "http-header" => {
            let name = c.header_name.as_deref().unwrap_or("").to_ascii_lowercase();
            req.headers
                .iter()
                .filter(|(n, _)| *n == name)
                .any(|(_, v)| c.values.iter().any(|p| wildcard(p, v, true)))
        }
        "http-request-method" => c.values.iter().any(|m| m == req.method),
        "source-ip" => c
            .values
            .iter()
            .any(|cidr| Cidr::parse(cidr).is_some_and(|c| c.contains_ip(u32::from(req.source)))),
        "query-string" => {
            let pairs: Vec<(String, String)> = req
                .query
                .unwrap_or("")
                .split('&')
                .filter(|s| !s.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (decode(k), decode(v))
                })
                .collect();
            c.query.iter().any(|q| {
                pairs.iter().any(|(k, v)| {
                    q.key.as_deref().is_none_or(|qk| wildcard(qk, k, true))
                        && wildcard(&q.value, v, true)
                })
            })
        }
        _ => false,
    }
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// The action that answers `req` on a listener: the first terminal action of the first rule (by
/// priority) whose conditions all hold, or of the listener's default actions. Authentication
/// actions are not emulated and are passed over.
pub fn choose<'a>(
    default_actions: &'a [Action],
    rules: &'a [Arc<Rule>],
    req: &Request<'_>,
) -> Option<&'a Action> {
    let terminal = |actions: &'a [Action]| {
        let mut ordered: Vec<&Action> = actions.iter().collect();
        ordered.sort_by_key(|a| a.order.unwrap_or(i64::MAX));
        ordered.into_iter().find(|a| a.is_terminal())
    };
    let mut sorted: Vec<&Arc<Rule>> = rules.iter().collect();
    sorted.sort_by_key(|r| r.priority);
    sorted
        .into_iter()
        .find(|r| r.conditions.iter().all(|c| condition_holds(c, req)))
        .map_or_else(|| terminal(default_actions), |r| terminal(&r.actions))
}

/// The status and `Location` of a redirect action for `req` arriving on a listener of
/// `protocol` (`HTTP`/`HTTPS`) and `port`. `#{protocol}`, `#{host}`, `#{port}`, `#{path}` and
/// `#{query}` stand for the request's own parts; a port that is the protocol's default is left
/// out of the URL.
pub fn redirect_location(
    r: &Redirect,
    req: &Request<'_>,
    protocol: &str,
    port: u16,
) -> (u16, String) {
    let own_protocol = protocol.to_ascii_lowercase();
    let own_host = strip_port(req.host);
    let own_path = req.path.strip_prefix('/').unwrap_or(req.path);
    let own_query = req.query.unwrap_or("");
    let fill = |s: &str| {
        s.replace("#{protocol}", &own_protocol)
            .replace("#{host}", own_host)
            .replace("#{port}", &port.to_string())
            .replace("#{path}", own_path)
            .replace("#{query}", own_query)
    };
    let scheme = fill(&r.protocol).to_ascii_lowercase();
    let host = fill(&r.host);
    let to_port = fill(&r.port);
    let path = fill(&r.path);
    let path = if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    };
    let query = fill(&r.query);
    let default_port = if scheme == "https" { "443" } else { "80" };
    let mut url = format!("{scheme}://{host}");
    if to_port != default_port {
        url.push(':');
        url.push_str(&to_port);
    }
    url.push_str(&path);
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query);
    }
    let status = if r.status_code == "HTTP_302" {
        302
    } else {
        301
    };
    (status, url)
}

/// A target the load balancer may send traffic to: its VPC address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    pub ip: Ipv4Addr,
    pub port: u16,
}

/// What the health checker and the router need about a target group now.
#[derive(Debug, Clone)]
pub struct GroupNow {
    pub group: Arc<TargetGroup>,
    pub lbs: Vec<Arc<LoadBalancer>>,
    /// Registered targets that are not draining, each with where it is and what AWS reports
    /// for it (`(state, reason, description)`).
    pub targets: Vec<(
        Registration,
        Option<Destination>,
        targetgroups::HealthReport,
    )>,
}

/// Reads group `arn` as the data plane sees it at the clock's time (`None` if it is gone).
pub fn group_now(v: &View<'_>, scope: &Scope, arn: &str, clock: Clock) -> Option<GroupNow> {
    let group = v.get::<TargetGroup>(scope, arn)?;
    let lbs: Vec<Arc<LoadBalancer>> = targetgroups::usage(v, scope)
        .remove(arn)
        .unwrap_or_default()
        .iter()
        .filter_map(|a| v.get::<LoadBalancer>(scope, a))
        .collect();
    let regs = v
        .get::<Targets>(scope, arn)
        .map(|t| t.targets.clone())
        .unwrap_or_default();
    let targets = regs
        .into_iter()
        .filter(|r| r.deregistered_at.is_none())
        .map(|r| {
            let instance = (group.target_type == "instance")
                .then(|| v.get::<instances::Instance>(scope, &r.id))
                .flatten();
            let report = targetgroups::health_of(&group, &r, &lbs, instance.as_deref(), clock);
            let ip = match &instance {
                Some(i) => Some(Ipv4Addr::from(i.private_ip)),
                None => r.id.parse::<Ipv4Addr>().ok(),
            };
            let port = r.port.or(group.port).and_then(|p| u16::try_from(p).ok());
            let dest = ip.zip(port).map(|(ip, port)| Destination { ip, port });
            (r, dest, report)
        })
        .collect();
    Some(GroupNow {
        group,
        lbs,
        targets,
    })
}

impl GroupNow {
    /// Where traffic goes: the healthy targets; when none is healthy, every target the load
    /// balancer checks (AWS fails open); none when nothing is registered in an enabled zone.
    pub fn destinations(&self) -> Vec<Destination> {
        let pick = |states: &[&str]| -> Vec<Destination> {
            self.targets
                .iter()
                .filter(|(_, _, (s, _, _))| states.contains(&s.as_str()))
                .filter_map(|(_, d, _)| *d)
                .collect()
        };
        let healthy = pick(&["healthy", "unavailable"]);
        if healthy.is_empty() {
            pick(&["initial", "unhealthy"])
        } else {
            healthy
        }
    }
}

/// Every listener of an active load balancer, with its load balancer.
pub fn listening(
    v: &View<'_>,
    scope: &Scope,
    clock: Clock,
) -> Vec<(Arc<LoadBalancer>, Arc<Listener>)> {
    let lbs: Vec<Arc<LoadBalancer>> = v
        .list::<LoadBalancer>(scope)
        .into_iter()
        .filter(|l| l.is_active(clock))
        .collect();
    v.list::<Listener>(scope)
        .into_iter()
        .filter_map(|l| {
            lbs.iter()
                .find(|lb| lb.arn == l.lb_arn)
                .map(|lb| (lb.clone(), l))
        })
        .collect()
}

/// The rules of listener `arn`.
pub fn rules_of(v: &View<'_>, scope: &Scope, arn: &str) -> Vec<Arc<Rule>> {
    v.list::<Rule>(scope)
        .into_iter()
        .filter(|r| r.listener_arn == arn)
        .collect()
}

/// Why one health check failed, and what AWS reports for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the timeout (security groups dropping the probe look the same).
    Timeout,
    /// An HTTP answer the matcher does not accept.
    Code(u16),
    /// The connection was refused or broke.
    Failed,
}

impl Failure {
    /// `(reason, description)` as DescribeTargetHealth shows them.
    pub fn report(&self) -> (&'static str, String) {
        match self {
            Failure::Timeout => ("Target.Timeout", "Request timed out".into()),
            Failure::Code(c) => (
                "Target.ResponseCodeMismatch",
                format!("Health checks failed with these codes: [{c}]"),
            ),
            Failure::Failed => ("Target.FailedHealthChecks", "Health checks failed".into()),
        }
    }
}

/// The health checker's memory of one target: consecutive results and the current verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Streak {
    pub passed: i64,
    pub failed: i64,
    /// `None` while checks are under way (`initial`).
    pub healthy: Option<bool>,
    pub last_failure: Option<Failure>,
}

impl Streak {
    /// Starts from a persisted verdict (after a restart, a target keeps its state).
    pub fn from_state(state: &str) -> Streak {
        Streak {
            healthy: match state {
                "healthy" => Some(true),
                "unhealthy" => Some(false),
                _ => None,
            },
            ..Streak::default()
        }
    }

    /// Counts one check: `healthy_threshold` consecutive passes make a target healthy,
    /// `unhealthy_threshold` consecutive failures unhealthy.
    pub fn record(&mut self, result: Result<(), Failure>, hc: &targetgroups::HealthCheck) {
        match result {
            Ok(()) => {
                self.passed += 1;
                self.failed = 0;
                if self.passed >= hc.healthy_threshold {
                    self.healthy = Some(true);
                    self.last_failure = None;
                }
            }
            Err(f) => {
                self.failed += 1;
                self.passed = 0;
                if self.failed >= hc.unhealthy_threshold {
                    self.healthy = Some(false);
                    self.last_failure = Some(f);
                } else if self.healthy == Some(false) {
                    self.last_failure = Some(f);
                }
            }
        }
    }

    /// `(state, reason, description)` for DescribeTargetHealth.
    pub fn verdict(&self) -> (&'static str, Option<&'static str>, Option<String>) {
        match (self.healthy, &self.last_failure) {
            (Some(true), _) => ("healthy", None, None),
            (Some(false), Some(f)) => {
                let (r, d) = f.report();
                ("unhealthy", Some(r), Some(d))
            }
            (Some(false), None) => (
                "unhealthy",
                Some("Target.FailedHealthChecks"),
                Some("Health checks failed".into()),
            ),
            (None, _) => (
                "initial",
                Some("Elb.InitialHealthChecking"),
                Some("Initial health checks in progress".into()),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elbv2::rules::QueryPair;

    fn req<'a>(
        path: &'a str,
        query: Option<&'a str>,
        headers: &'a [(&'a str, &'a str)],
    ) -> Request<'a> {
        Request {
            method: "GET",
            host: "Airflow.Example.com:443",
            path,
            query,
            headers,
            source: Ipv4Addr::new(10, 0, 1, 5),
        }
    }

    fn cond(field: &str, values: &[&str]) -> Condition {
        Condition {
            field: field.into(),
            values: values.iter().map(|s| s.to_string()).collect(),
            regex_values: vec![],
            header_name: None,
            query: vec![],
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("/api/*", "/api/v1/dags", false));
        assert!(wildcard("/api/*", "/api/", false));
        assert!(!wildcard("/api/*", "/API/x", false));
        assert!(wildcard("*.example.com", "airflow.EXAMPLE.com", true));
        assert!(wildcard("a?c", "abc", false));
        assert!(!wildcard("a?c", "ac", false));
        assert!(wildcard("*", "", false));
        assert!(wildcard("*a*b*", "xxaxxbxx", false));
        assert!(!wildcard("*a*b", "xxaxxbxxc", false));
    }

    #[test]
    fn conditions() {
        let h = [("x-team", "Data"), ("user-agent", "curl/8")];
        let r = req("/api/v1/dags", Some("env=Prod&x=%41+b"), &h);
        assert!(condition_holds(
            &cond("host-header", &["*.example.com"]),
            &r
        ));
        assert!(!condition_holds(&cond("host-header", &["other.com"]), &r));
        assert!(condition_holds(
            &cond("path-pattern", &["/login", "/api/*"]),
            &r
        ));
        assert!(condition_holds(&cond("http-request-method", &["GET"]), &r));
        assert!(!condition_holds(&cond("http-request-method", &["get"]), &r));
        assert!(condition_holds(&cond("source-ip", &["10.0.0.0/16"]), &r));
        assert!(!condition_holds(
            &cond("source-ip", &["192.168.0.0/16"]),
            &r
        ));
        let mut header = cond("http-header", &["data"]);
        header.header_name = Some("X-Team".into());
        assert!(condition_holds(&header, &r));
        let mut q = cond("query-string", &[]);
        q.query = vec![QueryPair {
            key: Some("env".into()),
            value: "prod".into(),
        }];
        assert!(condition_holds(&q, &r));
        q.query = vec![QueryPair {
            key: None,
            value: "a b".into(),
        }];
        assert!(condition_holds(&q, &r));
        q.query = vec![QueryPair {
            key: Some("env".into()),
            value: "dev".into(),
        }];
        assert!(!condition_holds(&q, &r));
    }

    #[test]
    fn redirects() {
        let r = req("/home", Some("a=1"), &[]);
        let to_https = Redirect {
            protocol: "HTTPS".into(),
            port: "443".into(),
            host: "#{host}".into(),
            path: "/#{path}".into(),
            query: "#{query}".into(),
            status_code: "HTTP_301".into(),
        };
        assert_eq!(
            redirect_location(&to_https, &r, "HTTP", 80),
            (301, "https://Airflow.Example.com/home?a=1".into())
        );
        let keep = Redirect {
            protocol: "#{protocol}".into(),
            port: "#{port}".into(),
            host: "new.example.com".into(),
            path: "/x/#{path}".into(),
            query: "".into(),
            status_code: "HTTP_302".into(),
        };
        assert_eq!(
            redirect_location(&keep, &r, "HTTP", 8080),
            (302, "http://new.example.com:8080/x/home".into())
        );
    }

    fn hc(healthy: i64, unhealthy: i64) -> targetgroups::HealthCheck {
        targetgroups::HealthCheck {
            enabled: true,
            protocol: Some("HTTPS".into()),
            port: Some("traffic-port".into()),
            path: Some("/".into()),
            interval: 30,
            timeout: 5,
            healthy_threshold: healthy,
            unhealthy_threshold: unhealthy,
            matcher: None,
        }
    }

    #[test]
    fn streaks_follow_the_thresholds() {
        let hc = hc(3, 2);
        let mut s = Streak::default();
        assert_eq!(s.verdict().0, "initial");
        s.record(Err(Failure::Code(302)), &hc);
        assert_eq!(s.verdict().1, Some("Elb.InitialHealthChecking"));
        s.record(Err(Failure::Code(302)), &hc);
        assert_eq!(
            s.verdict(),
            (
                "unhealthy",
                Some("Target.ResponseCodeMismatch"),
                Some("Health checks failed with these codes: [302]".into())
            )
        );
        s.record(Ok(()), &hc);
        s.record(Ok(()), &hc);
        assert_eq!(s.verdict().0, "unhealthy");
        s.record(Ok(()), &hc);
        assert_eq!(s.verdict(), ("healthy", None, None));
        s.record(Err(Failure::Timeout), &hc);
        assert_eq!(s.verdict().0, "healthy");
        s.record(Err(Failure::Timeout), &hc);
        assert_eq!(s.verdict().1, Some("Target.Timeout"));
        assert_eq!(Streak::from_state("healthy").verdict().0, "healthy");
    }

    #[test]
    fn rules_in_priority_order_then_the_default() {
        use crate::elbv2::actions::FixedResponse;
        let fixed = |code: &str| Action {
            action_type: "fixed-response".into(),
            order: None,
            target_groups: vec![],
            single_target_group: false,
            stickiness: None,
            redirect: None,
            fixed_response: Some(FixedResponse {
                status_code: code.into(),
                content_type: None,
                message_body: None,
            }),
            config: None,
        };
        let rule = |priority: i64, path: &str, code: &str| {
            Arc::new(Rule {
                arn: format!("r{priority}"),
                listener_arn: "l".into(),
                priority,
                conditions: vec![cond("path-pattern", &[path])],
                actions: vec![fixed(code)],
                transforms: vec![],
                created: time::OffsetDateTime::UNIX_EPOCH,
                tags: vec![],
            })
        };
        let rules = [rule(20, "/api/*", "418"), rule(10, "/api/v1/*", "200")];
        let default = [fixed("404")];
        let code = |path: &str| {
            choose(&default, &rules, &req(path, None, &[]))
                .and_then(|a| a.fixed_response.as_ref())
                .map(|f| f.status_code.clone())
        };
        assert_eq!(code("/api/v1/dags").as_deref(), Some("200"));
        assert_eq!(code("/api/v2").as_deref(), Some("418"));
        assert_eq!(code("/other").as_deref(), Some("404"));
    }
}
