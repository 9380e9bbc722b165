//! The rest-xml protocol (S3): inputs bound to the URI path, query string, headers (one header
//! each, or a prefix map such as `x-amz-meta-*`) and an XML or raw payload; outputs written as
//! headers, a status code and an XML body (root element and namespace from the model) or a raw
//! payload; S3's `<Error>` envelope.
//!
//! A blob payload (an object's bytes) never travels inside the input value: the server hands it
//! to the service beside the input, and an output hands its bytes back with
//! [`Output::with_payload`](crate::Output::with_payload).

use crate::envelope::Response;
use crate::{xml, ApiError, HttpRequest, Output};
use airlock_model::{Member, Operation, ServiceModel, Shape, ShapeKind, Structure};
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use serde_json::{Map, Value};
use std::borrow::Cow;
use time::format_description::well_known::{Iso8601, Rfc2822, Rfc3339};
use time::OffsetDateTime;

const XML_DECL: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// How deep an XML request body may nest (S3's documents nest a few levels).
const MAX_DEPTH: usize = 32;

fn malformed_xml() -> ApiError {
    ApiError::new(
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
    .with_status(400)
}

fn invalid_argument(message: String) -> ApiError {
    ApiError::new("InvalidArgument", message).with_status(400)
}

/// The input of `op` from the request: URI labels (`path_params`, decoded), query string,
/// headers and an XML or text payload. A blob payload is left out (see the module docs).
pub fn decode(
    model: &ServiceModel,
    op: &Operation,
    path_params: &[(String, String)],
    req: &HttpRequest<'_>,
) -> Result<Value, ApiError> {
    let mut obj = Map::new();
    let Some(shape) = op.input.as_deref().map(|s| model.shape(s)) else {
        return Ok(Value::Object(obj));
    };
    let ShapeKind::Structure(st) = &shape.kind else {
        return Ok(Value::Object(obj));
    };
    let query: Vec<(String, String)> = form_urlencoded::parse(req.query.as_bytes())
        .into_owned()
        .collect();
    for m in &st.members {
        let wire = m.wire_name();
        let target = model.target(m);
        match m.location.as_deref() {
            Some("uri") => {
                if let Some((_, v)) = path_params.iter().find(|(k, _)| k == wire) {
                    obj.insert(m.name.to_string(), Value::String(v.clone()));
                }
            }
            Some("querystring") => {
                let values: Vec<&str> = query
                    .iter()
                    .filter(|(k, _)| k == wire)
                    .map(|(_, v)| v.as_str())
                    .collect();
                let Some(last) = values.last() else { continue };
                let v = match &target.kind {
                    ShapeKind::List { .. } => Value::Array(
                        values
                            .iter()
                            .map(|v| Value::String((*v).to_owned()))
                            .collect(),
                    ),
                    _ => scalar(target, last, wire)?,
                };
                obj.insert(m.name.to_string(), v);
            }
            Some("header") => {
                let Some(raw) = req.header(wire) else {
                    continue;
                };
                let v = match &target.kind {
                    ShapeKind::List { .. } => Value::Array(
                        raw.split(',')
                            .map(|v| Value::String(v.trim().to_owned()))
                            .collect(),
                    ),
                    // An unreadable date is ignored, as HTTP says of conditional headers.
                    ShapeKind::Timestamp { .. } => match parse_time(raw) {
                        Some(t) => Value::String(iso(t)),
                        None => continue,
                    },
                    _ => scalar(target, raw, wire)?,
                };
                obj.insert(m.name.to_string(), v);
            }
            Some("headers") => {
                let prefix = wire.to_ascii_lowercase();
                let map: Map<String, Value> = req
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        let k = k.to_ascii_lowercase();
                        let key = k.strip_prefix(&prefix)?;
                        Some((key.to_owned(), Value::String((*v).to_owned())))
                    })
                    .collect();
                if !map.is_empty() {
                    obj.insert(m.name.to_string(), Value::Object(map));
                }
            }
            _ => {}
        }
    }
    if let Some(payload) = st.payload.as_deref().and_then(|p| st.member(p)) {
        let target = model.target(payload);
        let required = st.required.contains(&payload.name);
        match &target.kind {
            ShapeKind::Blob => {}
            ShapeKind::Structure(_) => {
                if req.body.iter().all(u8::is_ascii_whitespace) {
                    if required {
                        return Err(malformed_xml());
                    }
                } else {
                    let root = parse(req.body)?;
                    obj.insert(
                        payload.name.to_string(),
                        element_value(model, target, &root)?,
                    );
                }
            }
            _ => {
                if !req.body.is_empty() {
                    let text = std::str::from_utf8(req.body).map_err(|_| malformed_xml())?;
                    obj.insert(payload.name.to_string(), Value::String(text.to_owned()));
                } else if required {
                    return Err(malformed_xml());
                }
            }
        }
    } else if st.members.iter().any(|m| m.location.is_none()) && !req.body.is_empty() {
        // Body members without a payload: the root element's children.
        let root = parse(req.body)?;
        if let Value::Object(body) = element_value(model, shape, &root)? {
            obj.extend(body);
        }
    }
    Ok(Value::Object(obj))
}

/// A scalar from text (query string or header), typed by its shape.
fn scalar(shape: &Shape, raw: &str, wire: &str) -> Result<Value, ApiError> {
    Ok(match &shape.kind {
        ShapeKind::Integer | ShapeKind::Long => match raw.trim().parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => {
                return Err(invalid_argument(format!(
                    "Provided {wire} not an integer or within integer range"
                )))
            }
        },
        ShapeKind::Float | ShapeKind::Double => match raw.trim().parse::<f64>() {
            Ok(n) => Value::from(n),
            Err(_) => return Err(invalid_argument(format!("Provided {wire} not a number"))),
        },
        ShapeKind::Boolean => match raw.trim() {
            t if t.eq_ignore_ascii_case("true") => Value::Bool(true),
            f if f.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => return Err(invalid_argument(format!("Invalid {wire}: {raw}"))),
        },
        _ => Value::String(raw.to_owned()),
    })
}

/// An HTTP date (RFC 7231's IMF-fixdate, RFC 2822), or ISO 8601 / epoch seconds.
pub fn parse_time(raw: &str) -> Option<OffsetDateTime> {
    let raw = raw.trim();
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc2822) {
        return Some(t);
    }
    // `GMT` is not a zone RFC 2822's grammar in `time` accepts everywhere; try `+0000`.
    if let Some(head) = raw
        .strip_suffix(" GMT")
        .or_else(|| raw.strip_suffix(" UTC"))
    {
        if let Ok(t) = OffsetDateTime::parse(&format!("{head} +0000"), &Rfc2822) {
            return Some(t);
        }
    }
    if let Ok(t) = OffsetDateTime::parse(raw, &Rfc3339) {
        return Some(t);
    }
    if let Ok(t) = OffsetDateTime::parse(raw, &Iso8601::DEFAULT) {
        return Some(t);
    }
    raw.parse::<i64>()
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
}

/// ISO 8601 with milliseconds in UTC, how timestamps travel inside Airlock.
fn iso(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// `t` as an HTTP date (`Wed, 12 Oct 2009 17:50:00 GMT`).
pub fn http_date(t: OffsetDateTime) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[t.weekday().number_days_from_monday() as usize],
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A parsed XML element: its local name, child elements and text.
#[derive(Debug, Default)]
struct Element {
    name: String,
    children: Vec<Element>,
    text: String,
}

/// Parses a request body into its root element (`MalformedXML` if it is not XML).
fn parse(body: &[u8]) -> Result<Element, ApiError> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let open = |e: &quick_xml::events::BytesStart<'_>| -> Result<Element, ApiError> {
        Ok(Element {
            name: std::str::from_utf8(e.local_name().as_ref())
                .map_err(|_| malformed_xml())?
                .to_owned(),
            ..Element::default()
        })
    };
    let close = |stack: &mut Vec<Element>, root: &mut Option<Element>, el: Element| {
        match stack.last_mut() {
            Some(parent) => parent.children.push(el),
            None if root.is_none() => *root = Some(el),
            None => return Err(malformed_xml()),
        }
        Ok(())
    };
    loop {
        match reader.read_event().map_err(|_| malformed_xml())? {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH || root.is_some() {
                    return Err(malformed_xml());
                }
                stack.push(open(&e)?);
            }
            Event::Empty(e) => {
                let el = open(&e)?;
                close(&mut stack, &mut root, el)?;
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(malformed_xml)?;
                close(&mut stack, &mut root, el)?;
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|_| malformed_xml())?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(malformed_xml()),
                }
            }
            Event::CData(t) => {
                let el = stack.last_mut().ok_or_else(malformed_xml)?;
                el.text
                    .push_str(std::str::from_utf8(&t).map_err(|_| malformed_xml())?);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(malformed_xml());
    }
    root.ok_or_else(malformed_xml)
}

/// The value of element `el` read as `shape`.
fn element_value(model: &ServiceModel, shape: &Shape, el: &Element) -> Result<Value, ApiError> {
    Ok(match &shape.kind {
        ShapeKind::Structure(st) => {
            let mut obj = Map::new();
            for child in &el.children {
                let Some(m) = member_for(model, st, &child.name) else {
                    // Elements the model does not know are ignored, as S3 does.
                    continue;
                };
                let target = model.target(m);
                match &target.kind {
                    ShapeKind::List { member, flattened } if *flattened || m.flattened => {
                        let item = element_value(model, model.target(member), child)?;
                        match obj
                            .entry(m.name.to_string())
                            .or_insert_with(|| Value::Array(Vec::new()))
                        {
                            Value::Array(items) => items.push(item),
                            _ => return Err(malformed_xml()),
                        }
                    }
                    _ => {
                        obj.insert(m.name.to_string(), element_value(model, target, child)?);
                    }
                }
            }
            Value::Object(obj)
        }
        ShapeKind::List { member, .. } => Value::Array(
            el.children
                .iter()
                .map(|c| element_value(model, model.target(member), c))
                .collect::<Result<_, _>>()?,
        ),
        ShapeKind::Map { key, value, .. } => {
            let mut obj = Map::new();
            for entry in &el.children {
                let find = |name: &str| entry.children.iter().find(|c| c.name == name);
                let (Some(k), Some(v)) = (find(key.wire_name()), find(value.wire_name())) else {
                    return Err(malformed_xml());
                };
                obj.insert(
                    k.text.clone(),
                    element_value(model, model.target(value), v)?,
                );
            }
            Value::Object(obj)
        }
        ShapeKind::Integer | ShapeKind::Long => el
            .text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| malformed_xml())?,
        ShapeKind::Float | ShapeKind::Double => el
            .text
            .trim()
            .parse::<f64>()
            .map(Value::from)
            .map_err(|_| malformed_xml())?,
        ShapeKind::Boolean => match el.text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(malformed_xml()),
        },
        ShapeKind::Timestamp { .. } => {
            let t = parse_time(&el.text).ok_or_else(malformed_xml)?;
            Value::String(iso(t))
        }
        ShapeKind::Document => Value::String(el.text.clone()),
        ShapeKind::String | ShapeKind::Blob => Value::String(el.text.clone()),
    })
}

/// The member of `st` whose element is called `name` (a flattened list's items carry the
/// member's name, or its list member's).
fn member_for<'m>(model: &ServiceModel, st: &'m Structure, name: &str) -> Option<&'m Member> {
    st.members.iter().find(|m| {
        m.location.is_none()
            && (m.wire_name() == name
                || match &model.target(m).kind {
                    ShapeKind::List { member, flattened } if *flattened || m.flattened => {
                        member.location_name.as_deref() == Some(name)
                    }
                    _ => false,
                })
    })
}

/// A successful answer to `op`: headers, status and body from the output shape's bindings.
pub fn success(
    model: &ServiceModel,
    op: &Operation,
    request_id: &str,
    mut output: Output,
) -> Result<Response, crate::encode::Error> {
    let payload_bytes = output.payload.take();
    let mut resp = Response {
        status: output.status.or(op.response_code).unwrap_or(200),
        content_type: "application/xml",
        headers: base_headers(request_id),
        body: Vec::new(),
        file: None,
    };
    let Some(shape) = op.output.as_deref().map(|s| model.shape(s)) else {
        return Ok(resp);
    };
    let ShapeKind::Structure(st) = &shape.kind else {
        return Ok(resp);
    };
    let value = output.to_value();
    let Value::Object(obj) = &value else {
        return Err(crate::encode::Error("output is not a structure".into()));
    };
    if let Some(unknown) = obj.keys().find(|k| st.member(k).is_none()) {
        return Err(crate::encode::Error(format!(
            "member {unknown} is not in {}",
            shape.name
        )));
    }
    let mut body_members = false;
    for m in &st.members {
        let Some(v) = obj.get(&*m.name).filter(|v| !v.is_null()) else {
            if m.location.is_none() && st.payload.as_deref() != Some(&*m.name) {
                body_members = true;
            }
            continue;
        };
        let wire = m.wire_name();
        match m.location.as_deref() {
            Some("header") => {
                if let Some(text) = header_text(model.target(m), m, v) {
                    resp.headers.push((Cow::Owned(wire.to_owned()), text));
                }
            }
            Some("headers") => {
                if let Value::Object(map) = v {
                    for (k, v) in map {
                        if let Some(v) = v.as_str() {
                            resp.headers
                                .push((Cow::Owned(format!("{wire}{k}")), v.to_owned()));
                        }
                    }
                }
            }
            Some("statusCode") => {
                if let Some(code) = v.as_u64().and_then(|c| u16::try_from(c).ok()) {
                    resp.status = code;
                }
            }
            _ if st.payload.as_deref() == Some(&*m.name) => {}
            _ => body_members = true,
        }
    }
    let ns = model.xml_namespace.as_deref().unwrap_or_default();
    if let Some(payload) = st.payload.as_deref().and_then(|p| st.member(p)) {
        let target = model.target(payload);
        match (&target.kind, obj.get(&*payload.name)) {
            (ShapeKind::Blob, _) => {
                resp.content_type = "binary/octet-stream";
                match payload_bytes {
                    Some(crate::encode::Payload::Bytes(b)) => resp.body = b,
                    Some(crate::encode::Payload::File(f)) => resp.file = Some(f),
                    None => {}
                }
            }
            (ShapeKind::Structure(_), Some(v)) => {
                let mut b = String::from(XML_DECL);
                write_root(&mut b, model, target, payload.wire_name(), ns, v)?;
                resp.body = b.into_bytes();
            }
            (_, Some(Value::String(text))) => {
                resp.content_type = "text/plain";
                resp.body = text.clone().into_bytes();
            }
            _ => {}
        }
    } else if body_members || st.members.iter().all(|m| m.location.is_none()) {
        let root = shape.xml_name.as_deref().unwrap_or(&shape.name);
        let mut b = String::from(XML_DECL);
        // A root that is its structure's one body member's element holds that value itself
        // (GetBucketLocation's `<LocationConstraint>`).
        let sole = st.members.iter().filter(|m| m.location.is_none()).count() == 1;
        match st.members.iter().find(|m| m.location.is_none()) {
            Some(m) if sole && m.wire_name() == root => {
                let v = obj.get(&*m.name).cloned().unwrap_or(Value::Null);
                write_root(&mut b, model, model.target(m), root, ns, &v)?;
            }
            _ => write_root(&mut b, model, shape, root, ns, &value)?,
        }
        resp.body = b.into_bytes();
    }
    Ok(resp)
}

/// The headers of every rest-xml answer.
fn base_headers(request_id: &str) -> Vec<(Cow<'static, str>, String)> {
    vec![
        (Cow::Borrowed("x-amz-request-id"), request_id.to_owned()),
        (
            Cow::Borrowed("x-amz-id-2"),
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                request_id.as_bytes(),
            ),
        ),
    ]
}

/// A header-bound output value as header text (timestamps as HTTP dates).
fn header_text(shape: &Shape, m: &Member, v: &Value) -> Option<String> {
    match (&shape.kind, v) {
        (ShapeKind::Timestamp { format }, Value::String(s)) => {
            let t = parse_time(s)?;
            match m.timestamp_format.as_deref().or(format.as_deref()) {
                Some("iso8601") => Some(iso(t)),
                Some("unixTimestamp") => Some(t.unix_timestamp().to_string()),
                _ => Some(http_date(t)),
            }
        }
        (ShapeKind::List { .. }, Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(|i| i.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
        (_, Value::String(s)) => Some(s.clone()),
        (_, Value::Bool(b)) => Some(b.to_string()),
        (_, Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// The root element `name` (with the namespace) holding `v` as `shape`.
fn write_root(
    b: &mut String,
    model: &ServiceModel,
    shape: &Shape,
    name: &str,
    ns: &str,
    v: &Value,
) -> Result<(), crate::encode::Error> {
    if ns.is_empty() {
        b.push('<');
        b.push_str(name);
        b.push('>');
    } else {
        b.push('<');
        b.push_str(name);
        b.push_str(" xmlns=\"");
        b.push_str(ns);
        b.push_str("\">");
    }
    write_content(b, model, shape, v)?;
    b.push_str("</");
    b.push_str(name);
    b.push('>');
    Ok(())
}

/// `<name>v</name>`; a structure's members that the model marks `xmlAttribute` (S3's
/// `xsi:type`) are attributes of `<name ...>`, after the declaration of its namespace.
fn write_element(
    b: &mut String,
    model: &ServiceModel,
    shape: &Shape,
    name: &str,
    v: &Value,
) -> Result<(), crate::encode::Error> {
    b.push('<');
    b.push_str(name);
    if let (ShapeKind::Structure(st), Value::Object(obj)) = (&shape.kind, v) {
        let mut attributes = st
            .members
            .iter()
            .filter(|m| m.xml_attribute)
            .filter_map(|m| Some((m, obj.get(&*m.name)?.as_str()?)))
            .peekable();
        if attributes.peek().is_some() {
            b.push_str(st.xml_namespace_declaration.as_deref().unwrap_or(""));
        }
        for (m, text) in attributes {
            b.push(' ');
            b.push_str(m.wire_name());
            b.push_str("=\"");
            xml::escape_into(b, text);
            b.push('"');
        }
    }
    b.push('>');
    write_content(b, model, shape, v)?;
    b.push_str("</");
    b.push_str(name);
    b.push('>');
    Ok(())
}

/// The content of an element holding `v` as `shape`.
fn write_content(
    b: &mut String,
    model: &ServiceModel,
    shape: &Shape,
    v: &Value,
) -> Result<(), crate::encode::Error> {
    match (&shape.kind, v) {
        (_, Value::Null) => {}
        (ShapeKind::Structure(st), Value::Object(obj)) => {
            if let Some(unknown) = obj.keys().find(|k| st.member(k).is_none()) {
                return Err(crate::encode::Error(format!(
                    "member {unknown} is not in {}",
                    shape.name
                )));
            }
            for m in st.members.iter().filter(|m| !m.xml_attribute) {
                let Some(v) = obj.get(&*m.name).filter(|v| !v.is_null()) else {
                    continue;
                };
                let target = model.target(m);
                match (&target.kind, v) {
                    (ShapeKind::List { member, flattened }, Value::Array(items))
                        if *flattened || m.flattened =>
                    {
                        let name = m.wire_name();
                        for item in items {
                            write_element(b, model, model.target(member), name, item)?;
                        }
                    }
                    _ => write_element(b, model, target, m.wire_name(), v)?,
                }
            }
        }
        (ShapeKind::List { member, .. }, Value::Array(items)) => {
            let name = member.location_name.as_deref().unwrap_or("member");
            for item in items {
                write_element(b, model, model.target(member), name, item)?;
            }
        }
        (ShapeKind::Map { key, value, .. }, Value::Object(obj)) => {
            for (k, v) in obj {
                b.push_str("<entry>");
                write_element(
                    b,
                    model,
                    model.target(key),
                    key.wire_name(),
                    &Value::String(k.clone()),
                )?;
                write_element(b, model, model.target(value), value.wire_name(), v)?;
                b.push_str("</entry>");
            }
        }
        (_, Value::String(s)) => xml::escape_into(b, s),
        (_, Value::Bool(x)) => b.push_str(if *x { "true" } else { "false" }),
        (_, Value::Number(n)) => b.push_str(&n.to_string()),
        _ => {
            return Err(crate::encode::Error(format!(
                "value does not fit shape {}",
                shape.name
            )))
        }
    }
    Ok(())
}

/// S3's error envelope: `<Error><Code/><Message/>` with the error's extra members (`Resource`,
/// `BucketName`, `Key`, ...) and `<RequestId/>`. (A HEAD answer carries no body on the wire.)
pub fn error(err: &ApiError, status: u16, request_id: &str) -> Response {
    let mut b = String::from(XML_DECL);
    b.push_str("<Error><Code>");
    xml::escape_into(&mut b, &err.code);
    b.push_str("</Code><Message>");
    xml::escape_into(&mut b, &err.message);
    b.push_str("</Message>");
    for (k, v) in &err.extra {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        b.push('<');
        b.push_str(k);
        b.push('>');
        xml::escape_into(&mut b, &text);
        b.push_str("</");
        b.push_str(k);
        b.push('>');
    }
    b.push_str("<RequestId>");
    b.push_str(request_id);
    b.push_str("</RequestId></Error>");
    Response {
        status,
        content_type: "application/xml",
        headers: base_headers(request_id),
        body: b.into_bytes(),
        file: None,
    }
}

#[cfg(test)]
mod tests;
