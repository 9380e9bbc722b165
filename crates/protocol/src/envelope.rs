//! Whole responses: success bodies and error envelopes, per protocol.

use crate::{xml, ApiError, Output};
use airlock_model::{Operation, Protocol, ServiceModel, ShapeKind, Structure};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt::Write;

/// A response ready for the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    /// Protocol headers besides Content-Type (request ids, `x-amzn-ErrorType`).
    pub headers: Vec<(Cow<'static, str>, String)>,
    pub body: Vec<u8>,
    /// A body streamed from a file instead of `body` (S3's GetObject on a persistent store).
    pub file: Option<crate::encode::FileBody>,
}

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

fn namespace(model: &ServiceModel) -> String {
    let mut ns = String::new();
    push_namespace(&mut ns, model);
    ns
}

/// The model's XML namespace, ending in `/` as AWS writes it.
fn push_namespace(b: &mut String, model: &ServiceModel) {
    let ns = model.xml_namespace.as_deref().unwrap_or_default();
    b.push_str(ns);
    if !ns.ends_with('/') {
        b.push('/');
    }
}

/// Encodes a successful result of `op`. An output that does not fit the operation's output
/// shape is a bug of the service; it is answered as an internal error.
pub fn success(model: &ServiceModel, op: &Operation, request_id: &str, output: Output) -> Response {
    let encoded = if model.protocol == Protocol::RestXml {
        crate::restxml::success(model, op, request_id, output)
    } else {
        encode_success(model, op, request_id, &output)
    };
    match encoded {
        Ok(r) => r,
        Err(e) => error(
            model.protocol,
            Some(model),
            &ApiError::internal(format!("An internal error has occurred ({e})")),
            request_id,
        ),
    }
}

fn encode_success(
    model: &ServiceModel,
    op: &Operation,
    request_id: &str,
    output: &Output,
) -> Result<Response, crate::encode::Error> {
    Ok(match model.protocol {
        Protocol::Ec2 => {
            let mut b = String::with_capacity(capacity(output));
            b.push_str(XML_DECL);
            b.push('<');
            b.push_str(&op.name);
            b.push_str("Response xmlns=\"");
            push_namespace(&mut b, model);
            b.push_str("\"><requestId>");
            b.push_str(request_id);
            b.push_str("</requestId>");
            if let Some(shape) = &op.output {
                output.xml(&mut b, model, model.shape(shape))?;
            }
            b.push_str("</");
            b.push_str(&op.name);
            b.push_str("Response>");
            xml_response(200, b, request_id)
        }
        Protocol::Query => {
            let mut b = String::with_capacity(capacity(output));
            b.push_str(XML_DECL);
            let _ = write!(b, "<{}Response xmlns=\"{}\">", op.name, namespace(model));
            if let Some(shape) = &op.output {
                let wrapper = op
                    .result_wrapper
                    .as_deref()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{}Result", op.name));
                let _ = write!(b, "<{wrapper}>");
                output.xml(&mut b, model, model.shape(shape))?;
                let _ = write!(b, "</{wrapper}>");
            }
            let _ = write!(
                b,
                "<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{}Response>",
                op.name
            );
            xml_response(200, b, request_id)
        }
        Protocol::RestXml => {
            return Err(crate::encode::Error(
                "rest-xml answers are written by restxml::success".into(),
            ))
        }
        Protocol::Json | Protocol::RestJson => {
            let mut body = Vec::with_capacity(capacity(output));
            match &op.output {
                Some(shape) => output.json(&mut body, model, model.shape(shape))?,
                None => body.extend_from_slice(b"{}"),
            }
            let content_type = if model.protocol == Protocol::Json {
                json_content_type(model)
            } else {
                "application/json"
            };
            Response {
                status: 200,
                content_type,
                headers: vec![(Cow::Borrowed("x-amzn-RequestId"), request_id.to_owned())],
                body,
                file: None,
            }
        }
    })
}

/// The response buffer to start with: the output's own estimate, else enough for most answers.
fn capacity(output: &Output) -> usize {
    match output.size() {
        0 => 2048,
        n => n + 512,
    }
}

fn json_content_type(model: &ServiceModel) -> &'static str {
    match model.json_version.as_deref() {
        Some("1.0") => "application/x-amz-json-1.0",
        _ => "application/x-amz-json-1.1",
    }
}

fn xml_response(status: u16, body: String, request_id: &str) -> Response {
    Response {
        status,
        content_type: "text/xml;charset=UTF-8",
        headers: vec![(Cow::Borrowed("x-amzn-RequestId"), request_id.to_owned())],
        body: body.into_bytes(),
        file: None,
    }
}

/// The HTTP status AWS uses for `err`: the error's own, else the model's, else 400.
pub fn status_of(model: Option<&ServiceModel>, err: &ApiError) -> u16 {
    err.status
        .or_else(|| {
            model
                .and_then(|m| m.error_info(&err.code))
                .and_then(|i| i.http_status)
        })
        .unwrap_or(400)
}

/// Renders `err` in the envelope of `protocol` (the model, when known, supplies status codes and
/// message member names).
pub fn error(
    protocol: Protocol,
    model: Option<&ServiceModel>,
    err: &ApiError,
    request_id: &str,
) -> Response {
    let status = status_of(model, err);
    match protocol {
        Protocol::RestXml => crate::restxml::error(err, status, request_id),
        Protocol::Ec2 => {
            let mut b = String::from(XML_DECL);
            b.push_str("<Response><Errors><Error><Code>");
            xml::escape_into(&mut b, &err.code);
            b.push_str("</Code><Message>");
            xml::escape_into(&mut b, &err.message);
            let _ = write!(
                b,
                "</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            );
            xml_response(status, b, request_id)
        }
        Protocol::Query => {
            let ns = model.map(namespace).unwrap_or_default();
            let kind = if status >= 500 { "Receiver" } else { "Sender" };
            let mut b = String::from(XML_DECL);
            let _ = write!(
                b,
                "<ErrorResponse xmlns=\"{ns}\"><Error><Type>{kind}</Type><Code>"
            );
            xml::escape_into(&mut b, &err.code);
            b.push_str("</Code><Message>");
            xml::escape_into(&mut b, &err.message);
            let _ = write!(
                b,
                "</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            );
            xml_response(status, b, request_id)
        }
        Protocol::Json | Protocol::RestJson => {
            let mut body = Map::new();
            if protocol == Protocol::Json {
                body.insert("__type".into(), Value::String(err.code.clone()));
            }
            body.insert(
                message_member(model, &err.code).into(),
                Value::String(err.message.clone()),
            );
            for (k, v) in &err.extra {
                body.insert(k.clone(), v.clone());
            }
            let mut headers = vec![(Cow::Borrowed("x-amzn-RequestId"), request_id.to_owned())];
            if protocol == Protocol::RestJson {
                headers.push((Cow::Borrowed("x-amzn-ErrorType"), err.code.clone()));
            }
            Response {
                status,
                content_type: match (protocol, model) {
                    (Protocol::Json, Some(m)) => json_content_type(m),
                    (Protocol::Json, None) => "application/x-amz-json-1.1",
                    _ => "application/json",
                },
                headers,
                body: serde_json::to_vec(&body).unwrap_or_default(),
                file: None,
            }
        }
    }
}

/// `message`, or `Message` where the model's error shape spells it so (MWAA's AccessDenied).
fn message_member(model: Option<&ServiceModel>, code: &str) -> &'static str {
    let capital = model
        .and_then(|m| m.find_shape(code))
        .map(|s| match &s.kind {
            ShapeKind::Structure(Structure { members, .. }) => {
                members.iter().any(|m| m.name == "Message")
            }
            _ => false,
        })
        .unwrap_or(false);
    if capital {
        "Message"
    } else {
        "message"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ec2_error_envelope() {
        let e = ApiError::new("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist");
        let r = error(Protocol::Ec2, Some(airlock_model::ec2()), &e, "rid");
        assert_eq!(r.status, 400);
        assert_eq!(
            String::from_utf8(r.body).unwrap(),
            format!("{XML_DECL}<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>The vpc ID &apos;vpc-1&apos; does not exist</Message></Error></Errors><RequestID>rid</RequestID></Response>")
        );
    }

    #[test]
    fn query_error_status_from_model() {
        let e = ApiError::new("NoSuchEntity", "The role with name r cannot be found.");
        let r = error(Protocol::Query, Some(airlock_model::iam()), &e, "rid");
        assert_eq!(r.status, 404);
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.contains("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>NoSuchEntity</Code>"), "{body}");
    }

    #[test]
    fn rest_json_error_uses_model_member_names() {
        let m = airlock_model::mwaa();
        let r = error(
            Protocol::RestJson,
            Some(m),
            &ApiError::new("AccessDeniedException", "no"),
            "rid",
        );
        assert_eq!(r.status, 403);
        assert_eq!(
            r.body,
            serde_json::to_vec(&json!({"Message": "no"})).unwrap()
        );
        assert!(r
            .headers
            .contains(&("x-amzn-ErrorType".into(), "AccessDeniedException".into())));
        let r = error(
            Protocol::RestJson,
            Some(m),
            &ApiError::new("ResourceNotFoundException", "gone"),
            "rid",
        );
        assert_eq!(r.status, 404);
    }

    #[test]
    fn query_success_wraps_result() {
        let m = airlock_model::sts();
        let op = m.operation("GetCallerIdentity").unwrap();
        let r = success(m, op, "rid", json!({"Account": "000000000000"}).into());
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.ends_with("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Account>000000000000</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetCallerIdentityResponse>"), "{body}");
    }
}
