//! Which service and operation a request is for.

use airlock_model::{Operation, Protocol, ServiceModel};
use airlock_protocol::query;
use std::sync::OnceLock;

/// What a request addresses.
#[derive(Debug)]
pub struct Target {
    pub model: &'static ServiceModel,
    /// `None`: the service is known but the operation is not (the protocol's "unknown action").
    pub op: Option<&'static Operation>,
    /// The name the client asked for (`Action=...`, the X-Amz-Target suffix).
    pub requested: String,
    /// URI path parameters of REST operations, decoded.
    pub path_params: Vec<(String, String)>,
}

/// Botocore's service name for a SigV4 scope service.
pub fn service_for_scope(scope: &str) -> Option<&'static ServiceModel> {
    airlock_model::all()
        .iter()
        .copied()
        .find(|m| m.signing_name == scope)
}

fn by_version(version: &str) -> Option<&'static ServiceModel> {
    airlock_model::all()
        .iter()
        .copied()
        .find(|m| m.api_version == version && matches!(m.protocol, Protocol::Ec2 | Protocol::Query))
}

/// Classifies a request. `form` holds the form parameters (body or query string) if any.
pub fn classify(
    method: &str,
    path: &str,
    target_header: Option<&str>,
    form: &[(String, String)],
    scope_service: Option<&str>,
) -> Option<Target> {
    if let Some(t) = target_header {
        let (prefix, name) = t.split_once('.')?;
        let model = airlock_model::all()
            .iter()
            .copied()
            .find(|m| m.target_prefix.as_deref() == Some(prefix))?;
        return Some(Target {
            model,
            op: model.operation(name),
            requested: name.into(),
            path_params: vec![],
        });
    }
    if let Some(t) = rest(method, path) {
        return Some(t);
    }
    if let Some(action) = query::param(form, "Action") {
        let model = query::param(form, "Version")
            .and_then(by_version)
            .or_else(|| scope_service.and_then(service_for_scope))?;
        return Some(Target {
            model,
            op: model.operation(action),
            requested: action.into(),
            path_params: vec![],
        });
    }
    let model = scope_service.and_then(service_for_scope)?;
    Some(Target {
        model,
        op: None,
        requested: String::new(),
        path_params: vec![],
    })
}

/// One segment of a REST operation's URI template.
enum Segment {
    Literal(String),
    /// `{Name}` or `{Name+}`.
    Param(String),
}

/// A rest-json operation with its URI template split into segments.
struct Route {
    model: &'static ServiceModel,
    op: &'static Operation,
    segments: Vec<Segment>,
}

/// Every rest-json operation's route, built once from the models.
fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let mut routes = Vec::new();
        for &model in airlock_model::all() {
            if model.protocol != Protocol::RestJson {
                continue;
            }
            for op in model.operations() {
                let path = op.request_uri.split('?').next().unwrap_or(&op.request_uri);
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(
                        |t| match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                            Some(name) => Segment::Param(name.trim_end_matches('+').to_owned()),
                            None => Segment::Literal(t.to_owned()),
                        },
                    )
                    .collect();
                routes.push(Route {
                    model,
                    op,
                    segments,
                });
            }
        }
        routes
    })
}

/// Matches REST operations (rest-json services) by method and URI template.
fn rest(method: &str, path: &str) -> Option<Target> {
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    routes()
        .iter()
        .filter(|r| r.op.method == method)
        .find_map(|r| {
            match_template(&r.segments, &segs).map(|params| Target {
                model: r.model,
                op: Some(r.op),
                requested: r.op.name.to_string(),
                path_params: params,
            })
        })
}

fn match_template(template: &[Segment], segs: &[&str]) -> Option<Vec<(String, String)>> {
    if template.len() != segs.len() {
        return None;
    }
    let mut params = Vec::new();
    for (t, s) in template.iter().zip(segs) {
        match t {
            Segment::Param(name) => {
                if s.is_empty() {
                    return None;
                }
                let value = percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned();
                params.push((name.clone(), value));
            }
            Segment::Literal(l) if l != s => return None,
            Segment::Literal(_) => {}
        }
    }
    Some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(s: &str) -> Vec<(String, String)> {
        query::parse_form(s.as_bytes()).unwrap()
    }

    #[test]
    fn by_action_and_version() {
        let t = classify(
            "POST",
            "/",
            None,
            &form("Action=DescribeVpcs&Version=2016-11-15"),
            None,
        )
        .unwrap();
        assert_eq!(
            (t.model.name, &*t.op.unwrap().name),
            ("ec2", "DescribeVpcs")
        );
        let t = classify(
            "POST",
            "/",
            None,
            &form("Action=GetCallerIdentity&Version=2011-06-15"),
            Some("sts"),
        )
        .unwrap();
        assert_eq!(t.model.name, "sts");
        let t = classify(
            "POST",
            "/",
            None,
            &form("Action=Nope&Version=2010-05-08"),
            None,
        )
        .unwrap();
        assert_eq!(t.model.name, "iam");
        assert!(t.op.is_none());
        // Without a Version, the signature's scope decides.
        let t = classify("POST", "/", None, &form("Action=ListRoles"), Some("iam")).unwrap();
        assert_eq!(t.model.name, "iam");
    }

    #[test]
    fn mwaa_rest_paths_decode_the_single_segment() {
        let t = classify("GET", "/environments/MyEnv", None, &[], Some("airflow")).unwrap();
        assert_eq!(t.op.unwrap().name, "GetEnvironment");
        assert_eq!(t.path_params, [("Name".to_owned(), "MyEnv".to_owned())]);
        let t = classify(
            "DELETE",
            "/tags/arn%3Aaws%3Aairflow%3Aus-west-2%3A123456789012%3Aenvironment%2FMyEnv",
            None,
            &[],
            None,
        )
        .unwrap();
        assert_eq!(t.op.unwrap().name, "UntagResource");
        assert_eq!(
            t.path_params[0].1,
            "arn:aws:airflow:us-west-2:123456789012:environment/MyEnv"
        );
        let t = classify("GET", "/environments", None, &[], None).unwrap();
        assert_eq!(t.op.unwrap().name, "ListEnvironments");
    }
}
