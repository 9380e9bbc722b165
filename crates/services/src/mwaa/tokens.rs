//! CLI and web login tokens (CreateCliToken, CreateWebLoginToken) and InvokeRestApi.

use super::*;
use crate::{input, Ctx};
use airlock_dto::mwaa as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Scope, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// A CLI or web login token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub token: String,
    pub environment: String,
    pub kind: TokenKind,
    pub principal_arn: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires: OffsetDateTime,
    /// The Airflow role the token signs in as (web tokens: the most privileged one the caller's
    /// policies allow; CLI tokens: Admin, as MWAA runs CLI commands).
    #[serde(default = "admin")]
    pub airflow_role: String,
}

fn admin() -> String {
    super::airflow::ROLES[0].to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenKind {
    Cli,
    Web,
}

airlock_store::record!(Token, "mwaa.token", token);

/// Checks a CLI token: valid for 60 s, any number of calls (the MWAA CLI endpoint).
pub fn check_cli_token(
    store: &Store,
    scope: &Scope,
    token: &str,
    now: OffsetDateTime,
) -> Option<Token> {
    store
        .read(|v| v.get::<Token>(scope, token))
        .filter(|t| t.kind == TokenKind::Cli && now < t.expires)
        .map(|t| (*t).clone())
}

/// Takes a token for `env` (the webserver's login and CLI endpoints): valid once, for 60 s.
pub fn redeem_token(
    store: &Store,
    scope: &Scope,
    token: &str,
    kind: TokenKind,
    now: OffsetDateTime,
) -> Option<Token> {
    store
        .write(|tx| {
            let t = tx.get::<Token>(scope, token);
            tx.delete::<Token>(scope, token);
            Ok::<_, ApiError>(
                t.filter(|t| t.kind == kind && now < t.expires)
                    .map(|t| (*t).clone()),
            )
        })
        .ok()
        .flatten()
}

/// `IamIdentity` as CreateWebLoginToken reports it (`assumed-role/Admin/you`, `user/alice`).
fn iam_identity(arn: &str) -> String {
    arn.split_once(":root")
        .map(|_| "root".to_owned())
        .unwrap_or_else(|| arn.splitn(6, ':').nth(5).unwrap_or(arn).to_owned())
}

pub(super) fn create_token(ctx: &Ctx<'_>, input: &Value, kind: TokenKind) -> ApiResult<Output> {
    let name = input::req(input, "Name")?.to_owned();
    let scope = ctx.scope();
    let airflow_role = match kind {
        TokenKind::Web => crate::authz::airflow_role(ctx, "airflow:CreateWebLoginToken", &name)
            .unwrap_or("Public")
            .to_owned(),
        TokenKind::Cli => admin(),
    };
    let (env, token) = ctx.store.write(|tx| {
        let (env, seen) = visible(ctx, tx, &name)?;
        if seen.status != Some("AVAILABLE") && seen.status != Some("UPDATING") {
            return Err(invalid(format!(
                "Invalid request provided: Environment {name} is not available (status {}).",
                seen.status.unwrap_or("DELETED")
            )));
        }
        let raw: [u8; 48] = std::array::from_fn(|_| rand::random());
        use base64::Engine;
        let token = Token {
            token: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw),
            environment: name.clone(),
            kind,
            principal_arn: ctx.principal.arn.clone(),
            expires: ctx.clock.now() + time::Duration::seconds(TOKEN_SECS),
            airflow_role: airflow_role.clone(),
        };
        for old in tx
            .list::<Token>(&scope)
            .into_iter()
            .filter(|t| t.expires < ctx.clock.now())
        {
            tx.delete::<Token>(&scope, &old.token);
        }
        tx.put(&scope, token.clone())?;
        Ok((env, token))
    })?;
    let host = Some(env.webserver_host());
    Ok(match kind {
        TokenKind::Cli => Output::new(dto::CreateCliTokenResponse {
            cli_token: Some(token.token),
            web_server_hostname: host,
        }),
        TokenKind::Web => Output::new(dto::CreateWebLoginTokenResponse {
            airflow_identity: Some(hex_hash(&ctx.principal.arn)),
            iam_identity: Some(iam_identity(&ctx.principal.arn)),
            web_server_hostname: host,
            web_token: Some(token.token),
        }),
    })
}

pub(super) fn invoke_rest_api(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = input::req(input, "Name")?.to_owned();
    let path = input::req(input, "Path")?.to_owned();
    let method = input::req(input, "Method")?.to_owned();
    let (env, seen) = ctx.store.read(|v| visible(ctx, v, &name))?;
    if seen.status != Some("AVAILABLE") && seen.status != Some("UPDATING") {
        return Err(invalid(format!(
            "Invalid request provided: Environment {name} is not available (status {}).",
            seen.status.unwrap_or("DELETED")
        )));
    }
    let body = input.get("Body").cloned().unwrap_or(Value::Null);
    // The call runs as the most privileged Airflow role the caller may invoke the API as.
    let role = crate::authz::airflow_role(ctx, "airflow:InvokeRestApi", &name).unwrap_or("Public");
    let (status, response) =
        airflow::rest(ctx, &env.name, env.airflow3(), role, &method, &path, &body);
    if status >= 400 {
        let code = if status >= 500 {
            "RestApiServerException"
        } else {
            "RestApiClientException"
        };
        return Err(ApiError::new(code, format!("Airflow answered {status}"))
            .with_status(400)
            .with_extra("RestApiStatusCode", json!(status))
            .with_extra("RestApiResponse", response));
    }
    Ok(Output::new(dto::InvokeRestApiResponse {
        rest_api_response: Some(response),
        rest_api_status_code: Some(status.into()),
    }))
}
