//! DescribeListenerAttributes and ModifyListenerAttributes: the headers an HTTP(S) listener
//! adds or renames, and a TCP listener's idle timeout (Terraform's `aws_lb_listener` reads them
//! on every refresh). A listener stores only the attributes changed from AWS's defaults.

use super::listeners::{self, Listener};
use crate::input::typed;
use crate::Ctx;
use airlock_dto::elbv2 as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;

/// Response headers HTTP and HTTPS listeners can set (empty: not set).
const RESPONSE_HEADERS: &[&str] = &[
    "routing.http.response.access_control_allow_credentials.header_value",
    "routing.http.response.access_control_allow_headers.header_value",
    "routing.http.response.access_control_allow_methods.header_value",
    "routing.http.response.access_control_allow_origin.header_value",
    "routing.http.response.access_control_expose_headers.header_value",
    "routing.http.response.access_control_max_age.header_value",
    "routing.http.response.content_security_policy.header_value",
    "routing.http.response.strict_transport_security.header_value",
    "routing.http.response.x_content_type_options.header_value",
    "routing.http.response.x_frame_options.header_value",
];

/// Request headers an HTTPS listener adds, and the names it gives them by default.
const HTTPS_REQUEST_HEADERS: &[(&str, &str)] = &[
    (
        "routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name",
        "X-Amzn-Mtls-Clientcert-Serial-Number",
    ),
    (
        "routing.http.request.x_amzn_mtls_clientcert_issuer.header_name",
        "X-Amzn-Mtls-Clientcert-Issuer",
    ),
    (
        "routing.http.request.x_amzn_mtls_clientcert_subject.header_name",
        "X-Amzn-Mtls-Clientcert-Subject",
    ),
    (
        "routing.http.request.x_amzn_mtls_clientcert_validity.header_name",
        "X-Amzn-Mtls-Clientcert-Validity",
    ),
    (
        "routing.http.request.x_amzn_mtls_clientcert_leaf.header_name",
        "X-Amzn-Mtls-Clientcert-Leaf",
    ),
    (
        "routing.http.request.x_amzn_mtls_clientcert.header_name",
        "X-Amzn-Mtls-Clientcert",
    ),
    (
        "routing.http.request.x_amzn_tls_version.header_name",
        "X-Amzn-Tls-Version",
    ),
    (
        "routing.http.request.x_amzn_tls_cipher_suite.header_name",
        "X-Amzn-Tls-Cipher-Suite",
    ),
];

const SERVER_HEADER: &str = "routing.http.response.server.enabled";
const TCP_IDLE: &str = "tcp.idle_timeout.seconds";

/// AWS's attributes of a listener of `protocol`, with their defaults.
fn defaults(protocol: &str) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if protocol == "HTTPS" {
        out.extend(HTTPS_REQUEST_HEADERS.iter().copied());
    }
    if matches!(protocol, "HTTP" | "HTTPS") {
        out.push((SERVER_HEADER, "true"));
        out.extend(RESPONSE_HEADERS.iter().map(|k| (*k, "")));
    }
    if protocol == "TCP" {
        out.push((TCP_IDLE, "350"));
    }
    out
}

/// The listener's attributes: AWS's defaults with its changes applied.
fn current(l: &Listener) -> Vec<dto::ListenerAttribute> {
    defaults(&l.protocol)
        .into_iter()
        .map(|(key, default)| dto::ListenerAttribute {
            key: Some(key.to_owned()),
            value: Some(
                super::attribute(&l.attributes, key)
                    .unwrap_or(default)
                    .to_owned(),
            ),
        })
        .collect()
}

fn check(l: &Listener, key: &str, value: &str) -> ApiResult<()> {
    let known = RESPONSE_HEADERS.contains(&key)
        || HTTPS_REQUEST_HEADERS.iter().any(|(k, _)| *k == key)
        || key == SERVER_HEADER
        || key == TCP_IDLE;
    if !known {
        return Err(super::validation(format!(
            "Listener attribute key '{key}' is not recognized"
        )));
    }
    if !defaults(&l.protocol).iter().any(|(k, _)| *k == key) {
        return Err(super::invalid_config(format!(
            "Listener attribute '{key}' is not supported for {} listeners",
            l.protocol
        )));
    }
    match key {
        SERVER_HEADER => super::check_bool(key, value),
        TCP_IDLE => super::check_range(key, value, 60, 6000),
        _ if value.len() > 1024 => Err(super::validation(format!(
            "The value of listener attribute '{key}' cannot be longer than 1024 characters"
        ))),
        _ => Ok(()),
    }
}

pub fn describe_listener_attributes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeListenerAttributesInput = typed(input)?;
    let scope = ctx.scope();
    let l = ctx
        .store
        .read(|v| listeners::get(v, &scope, &req.listener_arn))?;
    Ok(Output::new(dto::DescribeListenerAttributesOutput {
        attributes: Some(current(&l)),
    }))
}

pub fn modify_listener_attributes(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ModifyListenerAttributesInput = typed(input)?;
    if req.attributes.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter Attributes",
        ));
    }
    let scope = ctx.scope();
    let l = ctx.store.write(|tx| {
        let mut l = (*listeners::get(tx, &scope, &req.listener_arn)?).clone();
        for a in &req.attributes {
            let key = a.key.as_deref().unwrap_or_default();
            let value = a.value.as_deref().unwrap_or_default();
            check(&l, key, value)?;
            super::set_attribute(&mut l.attributes, key, value);
        }
        tx.put(&scope, l.clone())?;
        Ok::<_, ApiError>(l)
    })?;
    let changed: Vec<dto::ListenerAttribute> = req
        .attributes
        .iter()
        .map(|a| dto::ListenerAttribute {
            key: a.key.clone(),
            value: super::attribute(&l.attributes, a.key.as_deref().unwrap_or_default())
                .map(str::to_owned),
        })
        .collect();
    Ok(Output::new(dto::ModifyListenerAttributesOutput {
        attributes: Some(changed),
    }))
}
