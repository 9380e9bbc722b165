//! The built-in stand-in for an environment's Airflow: its REST API (what `InvokeRestApi`
//! reaches, and what the webserver serves) over the DAG files in the environment's bucket
//! ([`super::dags`]) and a small persisted state of runs, which go from queued to running to
//! success on the scaled clock.

use super::dags::{self, Dag};
use super::Environment;
use crate::Ctx;
use airlock_store::Scope;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// How long a triggered run waits for the scheduler, then runs, in AWS seconds.
const QUEUED_SECONDS: f64 = 5.0;
const RUN_SECONDS: f64 = 60.0;

/// The DAGs environment `env` (a name in the context's scope) has now.
pub fn dags_of(ctx: &Ctx<'_>, env: &str) -> Vec<Dag> {
    let scope = ctx.scope();
    match ctx.store.read(|v| v.get::<Environment>(&scope, env)) {
        Some(e) => dags::of(ctx, &e),
        None => Vec::new(),
    }
}

/// A DAG run triggered through the API or the CLI.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DagRun {
    /// `<environment>/<dag id>/<run id>`
    pub id: String,
    pub environment: String,
    pub dag_id: String,
    pub run_id: String,
    pub conf: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

airlock_store::record!(DagRun, "mwaa.dag_run", id);

/// An Airflow REST answer: HTTP status and JSON body.
pub type Answer = (u16, Value);

/// Airflow's roles, most privileged first.
pub const ROLES: [&str; 5] = ["Admin", "Op", "User", "Viewer", "Public"];

/// Whether Airflow's role `role` may make this REST call, as Airflow's default roles allow:
/// anyone the health and version; Viewer reads; User also changes DAGs, runs and task
/// instances; Op also connections, pools, variables and the configuration; Admin also users
/// and roles.
pub fn permits(role: &str, method: &str, segs: &[&str]) -> bool {
    if matches!(segs, ["health"] | ["monitor", "health"] | ["version"]) {
        return true;
    }
    // Public 0, Viewer 1, User 2, Op 3, Admin 4.
    let rank = ROLES.len()
        - 1
        - ROLES
            .iter()
            .position(|r| *r == role)
            .unwrap_or(ROLES.len() - 1);
    let read = matches!(method, "GET" | "HEAD");
    let needed = match segs.first().copied().unwrap_or("") {
        "roles" | "users" | "permissions" => 4,
        "connections" | "pools" | "variables" | "config" => 3,
        _ if read => 1,
        _ => 2,
    };
    rank >= needed
}

/// Airflow's answer to a call its role may not make.
fn forbidden() -> Answer {
    (
        403,
        json!({"detail": null, "status": 403, "title": "Forbidden",
               "type": "https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html#section/Errors/PermissionDenied"}),
    )
}

fn problem(status: u16, title: &str, detail: &str) -> Answer {
    (
        status,
        json!({"detail": detail, "status": status, "title": title,
               "type": format!("https://airflow.apache.org/docs/apache-airflow/stable/stable-rest-api-ref.html#section/Errors/{}", title.replace(' ', ""))}),
    )
}

fn ts(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn dag_json(d: &Dag) -> Value {
    let schedule = match &d.schedule {
        Some(s) => json!({"__type": "CronExpression", "value": s}),
        None => Value::Null,
    };
    json!({
        "dag_id": d.id, "dag_display_name": d.id, "is_paused": false, "is_active": true,
        "fileloc": d.fileloc, "owners": ["airflow"],
        "schedule_interval": schedule, "tags": [],
        "description": null, "root_dag_id": null, "is_subdag": false,
    })
}

impl DagRun {
    /// `queued`, `running` or `success`, by how long ago the run was triggered.
    pub fn state(&self, clock: &crate::Clock) -> &'static str {
        if !clock.passed(self.created, QUEUED_SECONDS) {
            "queued"
        } else if !clock.passed(self.created, QUEUED_SECONDS + RUN_SECONDS) {
            "running"
        } else {
            "success"
        }
    }
}

fn run_json(r: &DagRun, clock: &crate::Clock) -> Value {
    let state = r.state(clock);
    let at = |aws_seconds: f64| ts(r.created + clock.scaled(aws_seconds));
    json!({
        "dag_id": r.dag_id, "dag_run_id": r.run_id, "conf": r.conf, "state": state,
        "execution_date": ts(r.created), "logical_date": ts(r.created),
        "start_date": if state == "queued" { Value::Null } else { json!(at(QUEUED_SECONDS)) },
        "end_date": if state == "success" { json!(at(QUEUED_SECONDS + RUN_SECONDS)) } else { Value::Null },
        "external_trigger": true, "run_type": "manual",
        "data_interval_start": ts(r.created), "data_interval_end": ts(r.created),
    })
}

/// Triggers a run of `dag_id` (REST API and `airflow dags trigger`).
pub fn trigger(
    ctx: &Ctx<'_>,
    env: &str,
    dag_id: &str,
    run_id: Option<&str>,
    conf: Value,
) -> Result<DagRun, Answer> {
    if !dags_of(ctx, env).iter().any(|d| d.id == dag_id) {
        return Err(problem(
            404,
            "DAG not found",
            &format!("DAG with dag_id: '{dag_id}' not found"),
        ));
    }
    let run_id = run_id
        .map(str::to_owned)
        .unwrap_or_else(|| format!("manual__{}", ts(ctx.clock.now())));
    let run = DagRun {
        id: format!("{env}/{dag_id}/{run_id}"),
        environment: env.to_owned(),
        dag_id: dag_id.to_owned(),
        run_id,
        conf,
        created: ctx.clock.now(),
    };
    let scope = ctx.scope();
    let stored = ctx.store.write(|tx| {
        if tx.get::<DagRun>(&scope, &run.id).is_some() {
            return Ok(false);
        }
        tx.put(&scope, run.clone())?;
        Ok::<_, airlock_protocol::ApiError>(true)
    });
    match stored {
        Ok(true) => Ok(run),
        Ok(false) => Err(problem(
            409,
            "Conflict",
            &format!(
                "DAGRun with DAG ID: '{dag_id}' and DAGRun ID: '{}' already exists",
                run.run_id
            ),
        )),
        Err(_) => Err(problem(
            500,
            "Internal Server Error",
            "the run could not be stored",
        )),
    }
}

pub fn runs(ctx: &Ctx<'_>, scope: &Scope, env: &str, dag_id: &str) -> Vec<DagRun> {
    ctx.store.read(|v| {
        v.list::<DagRun>(scope)
            .iter()
            .filter(|r| r.environment == env && r.dag_id == dag_id)
            .map(|r| (**r).clone())
            .collect()
    })
}

/// Answers one REST request made as Airflow role `role`. `path` is relative to the API root
/// (`/api/v1` on Airflow 2, `/api/v2` on Airflow 3), as `InvokeRestApi` takes it.
pub fn rest(
    ctx: &Ctx<'_>,
    env: &str,
    airflow3: bool,
    role: &str,
    method: &str,
    path: &str,
    body: &Value,
) -> Answer {
    let scope = ctx.scope();
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if !permits(role, method, &segs) {
        return forbidden();
    }
    let health = || {
        let beat = ts(ctx.clock.now());
        (
            200,
            json!({
                "metadatabase": {"status": "healthy"},
                "scheduler": {"status": "healthy", "latest_scheduler_heartbeat": beat},
                "triggerer": {"status": "healthy", "latest_triggerer_heartbeat": beat},
                "dag_processor": {"status": null, "latest_dag_processor_heartbeat": null},
            }),
        )
    };
    match (method, segs.as_slice()) {
        ("GET", ["health"]) if !airflow3 => health(),
        ("GET", ["monitor", "health"]) if airflow3 => health(),
        ("GET", ["version"]) => (200, json!({"version": if airflow3 { "3.0.6" } else { "2.10.3" }, "git_version": null})),
        ("GET", ["dags"]) => {
            let dags: Vec<Value> = dags_of(ctx, env).iter().map(dag_json).collect();
            (200, json!({"total_entries": dags.len(), "dags": dags}))
        }
        ("GET", ["dags", dag]) => match dags_of(ctx, env).iter().find(|d| d.id == *dag) {
            Some(d) => (200, dag_json(d)),
            None => problem(404, "DAG not found", &format!("DAG with dag_id: '{dag}' not found")),
        },
        ("GET", ["dags", dag, "dagRuns"]) => {
            if !dags_of(ctx, env).iter().any(|d| d.id == *dag) {
                return problem(404, "DAG not found", &format!("DAG with dag_id: '{dag}' not found"));
            }
            let runs: Vec<Value> = runs(ctx, &scope, env, dag).iter().map(|r| run_json(r, &ctx.clock)).collect();
            (200, json!({"total_entries": runs.len(), "dag_runs": runs}))
        }
        ("POST", ["dags", dag, "dagRuns"]) => {
            let run_id = body.get("dag_run_id").and_then(Value::as_str);
            let conf = body.get("conf").cloned().unwrap_or_else(|| json!({}));
            match trigger(ctx, env, dag, run_id, conf) {
                Ok(run) => (200, run_json(&run, &ctx.clock)),
                Err(answer) => answer,
            }
        }
        (_, ["dags", ..]) | (_, ["health"]) => problem(405, "Method Not Allowed", "The method is not allowed for the requested URL."),
        _ => problem(404, "Not Found", "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."),
    }
}

#[cfg(test)]
mod tests {
    use super::permits;

    #[test]
    fn airflows_default_roles() {
        let can = |role, method, path: &str| {
            let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            permits(role, method, &segs)
        };
        assert!(can("Public", "GET", "/health"));
        assert!(can("Public", "GET", "/version"));
        assert!(!can("Public", "GET", "/dags"));
        assert!(can("Viewer", "GET", "/dags/tutorial/dagRuns"));
        assert!(!can("Viewer", "POST", "/dags/tutorial/dagRuns"));
        assert!(!can("Viewer", "GET", "/variables"));
        assert!(can("User", "POST", "/dags/tutorial/dagRuns"));
        assert!(can("User", "PATCH", "/dags/tutorial"));
        assert!(!can("User", "POST", "/connections"));
        assert!(can("Op", "POST", "/connections"));
        assert!(can("Op", "GET", "/config"));
        assert!(!can("Op", "GET", "/users"));
        assert!(can("Admin", "POST", "/roles"));
        // An unknown role is treated as Public.
        assert!(!can("Superuser", "GET", "/dags"));
    }
}
