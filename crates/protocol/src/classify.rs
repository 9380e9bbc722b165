//! Which service and operation a request is for: `X-Amz-Target`, then REST routes, then
//! `Action`/`Version`, then the SigV4 scope.

use crate::envelope::{self, Response};
use crate::{query, rest, ApiError, HttpRequest};
use airlock_model::{Operation, Protocol, ServiceModel};

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

/// Classifies a request by method and path alone (no query string, headers or host). `form`
/// holds the form parameters (body or query string) if any.
pub fn classify(
    method: &str,
    path: &str,
    target_header: Option<&str>,
    form: &[(String, String)],
    scope_service: Option<&str>,
) -> Option<Target> {
    let req = HttpRequest {
        method,
        path,
        query: "",
        headers: &[],
        body: &[],
    };
    classify_with(&req, path, target_header, form, scope_service)
}

/// Classifies a request. `form` holds the form parameters (body or query string) if any,
/// `scope_service` the service of its SigV4 scope. A virtual-hosted-style host
/// (`bucket.s3.amazonaws.com`, `bucket.localhost:4566`) names the bucket of a rest-xml
/// request: the path is routed as `/<bucket><path>`.
pub fn classify_request(
    req: &HttpRequest<'_>,
    form: &[(String, String)],
    scope_service: Option<&str>,
) -> Option<Target> {
    let target_header = req.header("x-amz-target");
    let rest_xml = match scope_service {
        Some(s) => service_for_scope(s).is_some_and(|m| m.protocol == Protocol::RestXml),
        None => query::param(form, "Action").is_none(),
    };
    let bucket = req
        .header("host")
        .filter(|_| rest_xml && target_header.is_none())
        .and_then(rest::virtual_host_bucket);
    let path = match bucket {
        Some(b) if req.path == "/" || req.path.is_empty() => format!("/{b}"),
        Some(b) => format!("/{b}{}", req.path),
        None => req.path.to_owned(),
    };
    classify_with(req, &path, target_header, form, scope_service)
}

/// Classifies a request that reached `model`'s own front end (an interface endpoint, whose host
/// names the service): as [`classify_request`] does when that finds an operation of `model`;
/// otherwise the operation its `Action` or `X-Amz-Target` names in `model`, or none (the front
/// end then refuses it: its signature names another service, or `model` has no such
/// operation).
pub fn classify_at(
    model: &'static ServiceModel,
    req: &HttpRequest<'_>,
    form: &[(String, String)],
) -> Target {
    if let Some(t) = classify_request(req, form, Some(&model.signing_name)) {
        if std::ptr::eq(t.model, model) {
            return t;
        }
    }
    let requested = req
        .header("x-amz-target")
        .and_then(|t| t.split_once('.'))
        .map(|(_, name)| name)
        .or_else(|| query::param(form, "Action"))
        .unwrap_or_default();
    Target {
        model,
        op: model.operation(requested),
        requested: requested.into(),
        path_params: vec![],
    }
}

/// Whether the request is for an operation whose input is a blob payload (S3's PutObject and
/// UploadPart): the server accepts larger bodies for those. Reads no body.
pub fn takes_blob_payload(req: &HttpRequest<'_>) -> bool {
    let Some(t) = classify_request(req, &[], None) else {
        return false;
    };
    let (Some(op), model) = (t.op, t.model) else {
        return false;
    };
    let Some(airlock_model::ShapeKind::Structure(st)) =
        op.input.as_deref().map(|s| &model.shape(s).kind)
    else {
        return false;
    };
    st.payload
        .as_deref()
        .and_then(|p| st.member(p))
        .is_some_and(|m| matches!(model.target(m).kind, airlock_model::ShapeKind::Blob))
}

fn classify_with(
    req: &HttpRequest<'_>,
    path: &str,
    target_header: Option<&str>,
    form: &[(String, String)],
    scope_service: Option<&str>,
) -> Option<Target> {
    let method = req.method;
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
    if let Some(t) = rest(method, path, req, scope_service) {
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

/// Matches REST operations by method and URI template.
fn rest(method: &str, path: &str, req: &HttpRequest<'_>, scope: Option<&str>) -> Option<Target> {
    rest::route_request(method, path, req.query, req.headers, scope).map(|(model, op, params)| {
        Target {
            model,
            op: Some(op),
            requested: op.name.to_string(),
            path_params: params,
        }
    })
}

/// A request for a service Airlock does not emulate (yet), or for nothing recognisable: answered in
/// the envelope its shape asks for, so clients report an error code rather than a parse failure.
pub fn unknown_request(
    method: &str,
    path: &str,
    target: Option<&str>,
    action: Option<&str>,
    scope: Option<&str>,
    request_id: &str,
) -> Response {
    let service = scope.map(|s| format!(" (service {s})")).unwrap_or_default();
    if let Some(t) = target {
        let e = ApiError::new(
            "UnknownOperationException",
            format!("Airlock does not implement {t}{service}."),
        );
        return envelope::error(Protocol::Json, None, &e, request_id);
    }
    if let Some(a) = action {
        let e = ApiError::new(
            "InvalidAction",
            format!("The action {a} is not valid for this web service{service}."),
        );
        return envelope::error(Protocol::Query, None, &e, request_id);
    }
    let e = ApiError::new(
        "UnknownOperationException",
        format!("Airlock cannot tell which AWS operation {method} {path} is{service}: no X-Amz-Target, Action or known REST path."),
    );
    envelope::error(Protocol::RestJson, None, &e, request_id)
}

/// The protocol's answer to an operation the service does not have (or Airlock does not
/// dispatch).
pub fn unknown_operation(protocol: Protocol, name: &str) -> ApiError {
    match protocol {
        Protocol::Ec2 => ApiError::new(
            "InvalidAction",
            format!("The action {name} is not valid for this web service."),
        ),
        Protocol::Query => ApiError::new(
            "InvalidAction",
            format!("Could not find operation {name} for version of this service"),
        ),
        Protocol::Json | Protocol::RestJson => ApiError::new(
            "UnknownOperationException",
            format!("Unknown operation {name}"),
        ),
        Protocol::RestXml => ApiError::new(
            "NotImplemented",
            "A header you provided implies functionality that is not implemented",
        )
        .with_status(501),
    }
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

    /// At one service's front end (an interface endpoint), a request is that service's: a route
    /// of another service does not take it, and another service's operation is unknown there.
    #[test]
    fn at_a_front_end_only_its_service() {
        let model = |name: &str| {
            *airlock_model::all()
                .iter()
                .find(|m| m.name == name)
                .unwrap()
        };
        let request = |method, path, query, headers| HttpRequest {
            method,
            path,
            query,
            headers,
            body: &[],
        };
        // `GET /` is S3's ListBuckets elsewhere.
        let query = "Action=GetCallerIdentity&Version=2011-06-15";
        let t = classify_at(model("sts"), &request("GET", "/", query, &[]), &form(query));
        assert_eq!(
            (t.model.name, t.op.map(|o| &*o.name)),
            ("sts", Some("GetCallerIdentity"))
        );
        let query = "Action=DescribeVpcs&Version=2016-11-15";
        let t = classify_at(model("mwaa"), &request("POST", "/", "", &[]), &form(query));
        assert_eq!((t.model.name, t.op.is_none()), ("mwaa", true));
        assert_eq!(t.requested, "DescribeVpcs");
        let headers = [("x-amz-target", "CertificateManager.ListCertificates")];
        let t = classify_at(model("acm"), &request("POST", "/", "", &headers), &[]);
        assert_eq!(t.op.map(|o| &*o.name), Some("ListCertificates"));
        let t = classify_at(model("sts"), &request("POST", "/", "", &headers), &[]);
        assert_eq!((t.model.name, t.op.is_none()), ("sts", true));
        let t = classify_at(
            model("mwaa"),
            &request("GET", "/environments/e", "", &[]),
            &[],
        );
        assert_eq!(t.op.map(|o| &*o.name), Some("GetEnvironment"));
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
