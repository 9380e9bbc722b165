//! REST protocols (rest-json): operations found by method and URI template (labels `{Name}` and
//! greedy `{Name+}`, which keeps slashes), input members bound to the URI path and the query
//! string, and the bucket of an S3-style virtual-hosted request.

use crate::{json, validate, ApiError};
use airlock_model::{Operation, Protocol, ServiceModel, ShapeKind};
use serde_json::Value;
use std::sync::OnceLock;

/// One segment of a REST operation's URI template.
enum Segment {
    Literal(String),
    /// `{Name}`: one non-empty segment.
    Param(String),
    /// `{Name+}`: one or more segments, slashes kept.
    Greedy(String),
}

/// A URI template's path split into segments.
fn segments(template: &str) -> Vec<Segment> {
    let path = template.split('?').next().unwrap_or(template);
    path.trim_start_matches('/')
        .split('/')
        .map(
            |t| match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(name) => Segment::Greedy(name.to_owned()),
                    None => Segment::Param(name.to_owned()),
                },
                None => Segment::Literal(t.to_owned()),
            },
        )
        .collect()
}

/// A REST operation with its URI template split into segments.
struct Route {
    model: &'static ServiceModel,
    op: &'static Operation,
    segments: Vec<Segment>,
    /// The template's query literals (`?uploads`, `?list-type=2`): names, and values if given.
    query: Vec<(String, Option<String>)>,
    /// Required input members bound to the query string (`true`) or a header (`false`), by
    /// wire name: what tells operations on one path apart (UploadPart's `uploadId`,
    /// CopyObject's `x-amz-copy-source`).
    required: Vec<(bool, String)>,
    /// The wire names of every input member bound to the query string.
    query_members: Vec<String>,
}

/// The wire names of `op`'s input members bound to the query string.
fn query_members(model: &ServiceModel, op: &Operation) -> Vec<String> {
    let Some(ShapeKind::Structure(st)) = op.input.as_deref().map(|s| &model.shape(s).kind) else {
        return Vec::new();
    };
    st.members
        .iter()
        .filter(|m| m.location.as_deref() == Some("querystring"))
        .map(|m| m.wire_name().to_owned())
        .collect()
}

/// A query parameter no operation binds but clients send: SDKs' operation hint (`x-id`) and
/// presigned URLs' signature parameters.
fn incidental(name: &str) -> bool {
    name == "x-id" || name.len() > 6 && name.as_bytes()[..6].eq_ignore_ascii_case(b"x-amz-")
}

/// The query literals of a URI template.
fn template_query(template: &str) -> Vec<(String, Option<String>)> {
    let Some((_, q)) = template.split_once('?') else {
        return Vec::new();
    };
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
            None => (p.to_owned(), None),
        })
        .collect()
}

/// The required input members of `op` bound to the query string or a header.
fn required_bound(model: &ServiceModel, op: &Operation) -> Vec<(bool, String)> {
    let Some(ShapeKind::Structure(st)) = op.input.as_deref().map(|s| &model.shape(s).kind) else {
        return Vec::new();
    };
    st.required
        .iter()
        .filter_map(|r| st.member(r))
        .filter_map(|m| match m.location.as_deref() {
            Some("querystring") => Some((true, m.wire_name().to_owned())),
            Some("header") => Some((false, m.wire_name().to_ascii_lowercase())),
            _ => None,
        })
        .collect()
}

/// Every REST operation's route, built once from the models.
fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let mut routes = Vec::new();
        for &model in airlock_model::all() {
            if !matches!(model.protocol, Protocol::RestJson | Protocol::RestXml) {
                continue;
            }
            for op in model.operations() {
                routes.push(Route {
                    model,
                    op,
                    segments: segments(&op.request_uri),
                    query: template_query(&op.request_uri),
                    required: required_bound(model, op),
                    query_members: query_members(model, op),
                });
            }
        }
        routes
    })
}

/// A routed REST request: the model, the operation and its URI path parameters (decoded).
pub type Routed = (
    &'static ServiceModel,
    &'static Operation,
    Vec<(String, String)>,
);

/// The REST operation `method path` addresses, with its URI path parameters (decoded).
pub fn route(method: &str, path: &str) -> Option<Routed> {
    route_request(method, path, "", &[], None)
}

/// The REST operation a request addresses. Operations that share a method and path are told
/// apart as their URI templates and models say: the template's query literals must be in the
/// query string (`?uploads`, `?list-type=2`), and of the rest the operation whose required
/// query and header members are all present wins, the one with the most such members first
/// (UploadPart over PutObject, ListParts over GetObject, CopyObject over PutObject). Before
/// all that, an operation of the service the request is signed for (`scope`: its signing name)
/// wins, then the template with more literal segments (`/tags/{ResourceArn}` over
/// `/{Bucket}/{Key+}`).
pub fn route_request(
    method: &str,
    path: &str,
    raw_query: &str,
    headers: &[(&str, &str)],
    scope: Option<&str>,
) -> Option<Routed> {
    let path = path.split('?').next().unwrap_or(path);
    let mut segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // `/bucket/` is `/bucket`.
    if segs.len() == 2 && segs[1].is_empty() {
        segs.pop();
    }
    let query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let has_query = |k: &str| query.iter().any(|(n, _)| n == k);
    let has_header = |k: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(k));
    // (signed for, literal segments, literal query matches, all required present, count of
    // required) ranks candidates.
    type Rank = (bool, usize, usize, bool, usize);
    let mut best: Option<(Rank, Routed)> = None;
    for r in routes().iter().filter(|r| r.op.method == method) {
        let literals = r.query.iter().all(|(k, v)| match v {
            None => has_query(k),
            Some(v) => query.iter().any(|(n, x)| n == k && x == v),
        });
        // A valueless parameter names a sub-resource (`?acl`, `?cors`): only an operation
        // whose template or input names it is meant.
        let foreign = query.iter().any(|(k, v)| {
            v.is_empty()
                && !incidental(k)
                && !r.query.iter().any(|(n, _)| n == k)
                && !r.query_members.iter().any(|n| n == k)
        });
        if !literals || (foreign && r.model.protocol == Protocol::RestXml) {
            continue;
        }
        let Some(params) = match_template(&r.segments, &segs) else {
            continue;
        };
        let present = r.required.iter().all(|(in_query, name)| {
            if *in_query {
                has_query(name)
            } else {
                has_header(name)
            }
        });
        // All present: more required members is more specific. Some missing: prefer the
        // operation that needs the fewest (its own validation then names what is missing).
        let literal_segments = r
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(l) if !l.is_empty()))
            .count();
        let rank = (
            scope.is_some_and(|s| r.model.signing_name == s),
            literal_segments,
            r.query.len(),
            present,
            if present {
                r.required.len()
            } else {
                usize::MAX - r.required.len()
            },
        );
        if best.as_ref().is_none_or(|(b, _)| rank > *b) {
            best = Some((rank, (r.model, r.op, params)));
        }
    }
    best.map(|(_, routed)| routed)
}

fn match_template(template: &[Segment], segs: &[&str]) -> Option<Vec<(String, String)>> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let greedy = template.iter().any(|t| matches!(t, Segment::Greedy(_)));
    if (!greedy && template.len() != segs.len()) || (greedy && segs.len() < template.len()) {
        return None;
    }
    let mut params = Vec::new();
    let mut i = 0;
    for (n, t) in template.iter().enumerate() {
        match t {
            Segment::Param(name) => {
                let s = segs[i];
                if s.is_empty() {
                    return None;
                }
                params.push((name.clone(), decode(s)));
                i += 1;
            }
            Segment::Greedy(name) => {
                // Everything but what the template's later segments need.
                let take = segs.len() - i - (template.len() - n - 1);
                let joined = segs[i..i + take].join("/");
                if joined.is_empty() {
                    return None;
                }
                params.push((name.clone(), decode(&joined)));
                i += take;
            }
            Segment::Literal(l) if l != segs[i] => return None,
            Segment::Literal(_) => i += 1,
        }
    }
    Some(params)
}

/// The bucket named by the host of a virtual-hosted-style S3 request
/// (`bucket.s3.amazonaws.com`, `bucket.s3.<region>.amazonaws.com`, the same in
/// `amazonaws.com.cn`, `bucket.localhost[:port]`),
/// or `None` for path-style requests (`s3.<region>.amazonaws.com`, `localhost`, an address).
pub fn virtual_host_bucket(host: &str) -> Option<&str> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    // IP addresses (and bracketed IPv6) name no bucket.
    if name.starts_with('[') || name.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let local = name
        .strip_suffix(".localhost")
        .or_else(|| name.strip_suffix(".localhost.localstack.cloud"));
    let bucket = if let Some(b) = local {
        // `s3.localhost` is a path-style endpoint; `bucket.s3.localhost` names `bucket`.
        if b == "s3" {
            return None;
        }
        b.strip_suffix(".s3").unwrap_or(b)
    } else {
        let rest = name
            .strip_suffix(".amazonaws.com.cn")
            .or_else(|| name.strip_suffix(".amazonaws.com"))?;
        // `<bucket>.s3` or `<bucket>.s3.<region>` (also `s3-<region>`, the legacy form).
        match rest.rsplit_once(".s3.") {
            Some((b, region)) if !region.contains('.') => b,
            _ => match rest.strip_suffix(".s3") {
                Some(b) => b,
                None => {
                    let (b, tail) = rest.rsplit_once('.')?;
                    if !tail.starts_with("s3-") {
                        return None;
                    }
                    b
                }
            },
        }
    };
    (!bucket.is_empty()).then_some(bucket)
}

/// rest-json input: the JSON body plus members bound to the URI path and query string.
pub fn decode_json(
    model: &ServiceModel,
    op: &Operation,
    path_params: &[(String, String)],
    body: &[u8],
    raw_query: &str,
) -> Result<Value, ApiError> {
    let mut input = json::decode(model, op.input.as_deref(), body)?;
    let Some(shape) = op.input.as_deref().map(|s| model.shape(s)) else {
        return Ok(input);
    };
    let ShapeKind::Structure(st) = &shape.kind else {
        return Ok(input);
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let Some(obj) = input.as_object_mut() else {
        return Ok(input);
    };
    let mut violations = Vec::new();
    for m in &st.members {
        let wire = m.wire_name();
        match m.location.as_deref() {
            Some("uri") => {
                if let Some((_, v)) = path_params.iter().find(|(k, _)| k == wire) {
                    let shape = model.target(m);
                    validate::check_string(
                        shape,
                        &validate::camel(&m.name),
                        v,
                        false,
                        &mut violations,
                    );
                    obj.insert(m.name.to_string(), Value::String(v.clone()));
                }
            }
            Some("querystring") => {
                let values: Vec<&String> = query
                    .iter()
                    .filter(|(k, _)| k == wire)
                    .map(|(_, v)| v)
                    .collect();
                if values.is_empty() {
                    continue;
                }
                let v = match &model.target(m).kind {
                    ShapeKind::List { .. } => Value::Array(
                        values
                            .into_iter()
                            .map(|v| Value::String(v.clone()))
                            .collect(),
                    ),
                    ShapeKind::Integer | ShapeKind::Long => {
                        let raw = values[values.len() - 1];
                        match raw.parse::<i64>() {
                            Ok(n) => {
                                let shape = model.target(m);
                                validate::check_number(
                                    shape,
                                    &validate::camel(&m.name),
                                    n,
                                    &mut violations,
                                );
                                Value::from(n)
                            }
                            Err(_) => {
                                return Err(ApiError::new(
                                    "SerializationException",
                                    format!(
                                        "Value '{raw}' for query parameter {wire} is not a number"
                                    ),
                                ))
                            }
                        }
                    }
                    _ => Value::String(values[values.len() - 1].clone()),
                };
                obj.insert(m.name.to_string(), v);
            }
            _ => {}
        }
    }
    if !violations.is_empty() {
        return Err(ApiError::new(
            "ValidationException",
            validate::message(&violations),
        ));
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incidental_parameters_by_prefix_whatever_the_name_holds() {
        assert!(incidental("x-id"));
        assert!(incidental("X-Amz-Signature"));
        assert!(!incidental("x-amz-"));
        // A multi-byte character across byte 6 (a fuzz find: `?asul%E2%82%ACs` once panicked).
        assert!(!incidental("asul€s"));
        assert!(!incidental("x-am€z-date"));
    }

    fn matched(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match_template(&segments(template), &segs)
    }

    #[test]
    fn greedy_labels_keep_slashes_and_decode() {
        assert_eq!(
            matched("/{Bucket}/{Key+}", "/b/dir/sub/file%20name.txt"),
            Some(vec![
                ("Bucket".into(), "b".into()),
                ("Key".into(), "dir/sub/file name.txt".into()),
            ])
        );
        assert_eq!(
            matched("/{Bucket}/{Key+}?uploads", "/b/k"),
            Some(vec![
                ("Bucket".into(), "b".into()),
                ("Key".into(), "k".into())
            ])
        );
        // A greedy label needs at least one non-empty segment.
        assert_eq!(matched("/{Bucket}/{Key+}", "/b"), None);
        assert_eq!(matched("/{Bucket}/{Key+}", "/b/"), None);
        // Later literal segments still have to match.
        assert_eq!(
            matched("/v1/{Path+}/tail", "/v1/a/b/tail"),
            Some(vec![("Path".into(), "a/b".into())])
        );
        assert_eq!(matched("/v1/{Path+}/tail", "/v1/a/b/other"), None);
        // Plain labels stay one segment.
        assert_eq!(matched("/{Bucket}", "/a/b"), None);
    }

    #[test]
    fn virtual_hosted_buckets_come_from_the_host() {
        for (host, bucket) in [
            ("my-bucket.s3.amazonaws.com", Some("my-bucket")),
            (
                "my.dotted.bucket.s3.us-west-2.amazonaws.com",
                Some("my.dotted.bucket"),
            ),
            ("b.s3-us-west-2.amazonaws.com", Some("b")),
            ("b.localhost:4566", Some("b")),
            ("b.localhost", Some("b")),
            ("b.s3.localhost:4566", Some("b")),
            ("s3.localhost:4566", None),
            ("b.s3.localhost.localstack.cloud:4566", Some("b")),
            ("s3.amazonaws.com", None),
            ("b.s3.cn-north-1.amazonaws.com.cn", Some("b")),
            ("s3.cn-north-1.amazonaws.com.cn", None),
            ("s3.us-west-2.amazonaws.com", None),
            ("localhost:4566", None),
            ("127.0.0.1:4566", None),
            ("[::1]:4566", None),
            ("ec2.us-east-1.amazonaws.com", None),
            ("example.com", None),
        ] {
            assert_eq!(virtual_host_bucket(host), bucket, "{host}");
        }
    }
}
