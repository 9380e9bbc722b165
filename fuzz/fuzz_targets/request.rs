//! Fuzzes a whole request as the gateway reads it before authentication: the bytes as an HTTP
//! request (`airlock_fuzz::HttpRequest`), its form parameters, classification (X-Amz-Target,
//! the REST routes with their URI labels, query literals, required members and virtual-hosted
//! buckets, `Action`), and the input binding of whichever protocol the operation speaks
//! (`airlock_protocol::decode`: rest-json URI and query-string members, rest-xml headers and XML
//! payloads, JSON bodies, query forms), then the error envelope a rejection is answered with.
#![no_main]

use airlock_protocol::{classify, envelope, query, HttpRequest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let raw = airlock_fuzz::HttpRequest::parse(data);
    let headers: Vec<(&str, &str)> = raw
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let req = HttpRequest {
        method: &raw.method,
        path: &raw.path,
        query: &raw.query,
        headers: &headers,
        body: &raw.body,
    };
    let form = airlock_protocol::form(&req).unwrap_or_default();
    let target_header = req.header("x-amz-target");
    let Some(target) = classify::classify_request(&req, &form, None) else {
        let action = query::param(&form, "Action");
        let _ = classify::unknown_request(req.method, req.path, target_header, action, None, "id");
        return;
    };
    if let Err(e) = airlock_protocol::decode(&target, &req, &form) {
        let _ = envelope::error(target.model.protocol, Some(target.model), &e, "id");
    }
});
