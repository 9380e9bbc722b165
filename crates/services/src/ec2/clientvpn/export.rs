//! ExportClientVpnClientConfiguration: the OpenVPN client configuration file AWS exports.

use super::{get, ClientVpnEndpoint};
use crate::acm;
use crate::input::{self, typed};
use crate::Ctx;
use airlock_dto::ec2 as dto;
use airlock_protocol::{ApiResult, Output};
use serde_json::Value;

/// The file, line by line as AWS writes it: the endpoint's name (a client prepends a random
/// label, `remote-random-hostname`) and port, the transport, AES-256-GCM, the CA that signed
/// the server certificate (its ACM chain; the certificate itself when it has none), and
/// `verify-x509-name` with the server certificate's common name. The client's certificate and
/// key are the user's to append (`<cert>`, `<key>`); a user-based option adds its prompt.
pub fn client_configuration(e: &ClientVpnEndpoint, ca: &str, server_cn: Option<&str>) -> String {
    let mut out = String::new();
    for line in [
        "client",
        "dev tun",
        &format!("proto {}", e.transport),
        &format!("remote {} {}", e.host(), e.vpn_port),
        "remote-random-hostname",
        "resolv-retry infinite",
        "nobind",
        "remote-cert-tls server",
        "cipher AES-256-GCM",
        "verb 3",
    ] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("<ca>\n");
    out.push_str(ca);
    if !ca.ends_with('\n') {
        out.push('\n');
    }
    out.push_str("\n</ca>\n\n\n");
    for a in &e.authentication {
        match a.kind.as_str() {
            "directory-service-authentication" => out.push_str("auth-user-pass\n\n"),
            "federated-authentication" => out.push_str("auth-federate\n\n"),
            _ => {}
        }
    }
    out.push_str("reneg-sec 0\n");
    if let Some(cn) = server_cn {
        out.push_str(&format!("\nverify-x509-name {cn} name\n"));
    }
    out
}

/// The common name of a subject as ACM renders it (`C=US,O=Org,CN=server`).
fn common_name(subject: &str) -> Option<&str> {
    subject
        .split(',')
        .find_map(|rdn| rdn.trim().strip_prefix("CN="))
        .filter(|cn| !cn.is_empty())
}

pub fn export_client_vpn_client_configuration(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    input::dry_run(input)?;
    let req: dto::ExportClientVpnClientConfigurationRequest = typed(input)?;
    let scope = ctx.scope();
    let text = ctx.store.read(|v| {
        let e = get(v, &scope, &req.client_vpn_endpoint_id)?;
        let cert = acm::find_in(v, &scope, &e.server_certificate_arn);
        let material = cert.as_ref().and_then(|c| c.material.as_ref());
        let ca = match material {
            Some(m) if !m.chain.is_empty() => m.chain.concat(),
            Some(m) => m.certificate.clone(),
            None => String::new(),
        };
        let cn = material.and_then(|m| common_name(&m.info.subject));
        Ok::<_, airlock_protocol::ApiError>(client_configuration(&e, &ca, cn))
    })?;
    Ok(Output::new(dto::ExportClientVpnClientConfigurationResult {
        client_configuration: Some(text),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_names_are_read_from_acm_subjects() {
        assert_eq!(common_name("C=US,O=Org,CN=server"), Some("server"));
        assert_eq!(common_name("CN=vpn.example.com"), Some("vpn.example.com"));
        assert_eq!(common_name("C=US,O=Org"), None);
    }
}
