//! AssumeRoleWithWebIdentity: a role assumed with an OpenID Connect ID token (GitHub Actions,
//! EKS service accounts) instead of AWS credentials; the request is not signed.
//!
//! As STS does: the token's issuer (`iss`) must be an IAM OIDC provider of the role's account,
//! one of its audiences (`aud`) one of the provider's client ids, the token unexpired, and the
//! role's trust policy must allow `sts:AssumeRoleWithWebIdentity` to the provider (`Federated`
//! principal) under its conditions on `<provider url>:aud`, `:sub` and `:amr`. Airlock runs
//! offline and cannot fetch the issuer's signing keys, so it does not verify the token's
//! signature: it reads the claims of any well-formed JWT.

use super::{credentials, expiration, session_policies, validation};
use crate::iam::{self, oidc::OidcProvider, Role};
use crate::input::typed;
use crate::policy::{self, Caller, Context, Decision, Policies, Policy, Request};
use crate::Ctx;
use airlock_dto::sts::{
    AssumeRoleWithWebIdentityRequest, AssumeRoleWithWebIdentityResponse, AssumedRoleUser,
};
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::Scope;
use base64::Engine as _;
use serde_json::Value;

const ACTION: &str = "sts:AssumeRoleWithWebIdentity";

/// The claims of an ID token that STS reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    /// The authorized party: with several audiences, the one the token was issued to.
    pub azp: Option<String>,
    pub amr: Vec<String>,
    /// Unix seconds.
    pub exp: i64,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidIdentityToken", message)
}

/// The claims of a JWT (`header.payload.signature`, base64url), unverified.
pub fn claims(token: &str) -> ApiResult<Claims> {
    let malformed = || invalid("The web identity token is not a well-formed JSON Web Token.");
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let decode = |s: &str| -> Option<Value> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim_end_matches('='))
            .ok()?;
        serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
    };
    decode(header).ok_or_else(malformed)?;
    let c = decode(payload).ok_or_else(malformed)?;
    let strings = |k: &str| crate::iam::strings(c.get(k));
    let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
    let iss = text("iss").ok_or_else(|| invalid("The web identity token has no issuer (iss)."))?;
    let exp = c
        .get("exp")
        .and_then(Value::as_f64)
        .ok_or_else(|| invalid("The web identity token has no expiration time (exp)."))?;
    Ok(Claims {
        iss,
        sub: text("sub").unwrap_or_default(),
        aud: strings("aud"),
        azp: text("azp"),
        amr: strings("amr"),
        exp: exp as i64,
    })
}

/// The provider's URL as IAM names it (and its condition keys start with): no scheme, no
/// trailing `/`.
fn provider_url(iss: &str) -> String {
    iam::oidc::provider_url(iss)
        .or_else(|| iam::oidc::provider_url(&format!("https://{iss}")))
        .unwrap_or_else(|| iss.to_owned())
}

pub fn assume_role_with_web_identity(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: AssumeRoleWithWebIdentityRequest = typed(input)?;
    let role_arn = input.role_arn.as_str();
    let session_name = input.role_session_name.as_str();
    let duration = super::duration(input.duration_seconds)?;
    let policy_arns = input.policy_arns.as_deref().unwrap_or_default();
    let packed = session_policies(input.policy.as_deref(), policy_arns, &[])?;
    let token = claims(&input.web_identity_token)?;
    let now = ctx.clock.now().unix_timestamp();
    if token.exp <= now {
        return Err(ApiError::new(
            "ExpiredTokenException",
            format!(
                "Token expired: current date/time {now} must be before the expiration date/time {}",
                token.exp
            ),
        ));
    }
    let url = provider_url(&token.iss);
    let denied = || {
        ApiError::new(
            "AccessDenied",
            format!("Not authorized to perform {ACTION}"),
        )
        .with_status(403)
    };
    let expiration = expiration(ctx, duration);
    let (session, audience) = ctx.store.write(|tx| {
        let (role_scope, role) =
            iam::roles::find_by_arn(|s, id| tx.get::<Role>(s, id), role_arn).ok_or_else(denied)?;
        let provider = tx
            .get::<OidcProvider>(&Scope::global(&role_scope.account), &url)
            .ok_or_else(|| {
                invalid(format!(
                    "No OpenIDConnect provider found in your account for {}",
                    token.iss
                ))
            })?;
        // With several audiences the authorized party is the client; else the audience.
        let audience = token
            .azp
            .clone()
            .filter(|_| token.aud.len() > 1)
            .or_else(|| {
                token
                    .aud
                    .iter()
                    .find(|a| provider.client_ids.contains(a))
                    .cloned()
            })
            .filter(|a| provider.client_ids.contains(a))
            .ok_or_else(|| invalid("Incorrect token audience"))?;
        if !trusted(&role, &provider, &url, &token, &audience) {
            return Err(denied());
        }
        if duration > role.max_session_duration {
            return Err(validation(
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            ));
        }
        let session = super::assume(
            ctx,
            tx,
            (&role_scope, &role),
            session_name,
            expiration,
            super::Grant {
                source_arn: provider.arn.clone(),
                source_identity: None,
                policy: input.policy.clone(),
                policy_arns: policy_arns.iter().filter_map(|p| p.arn.clone()).collect(),
                min_token: 0,
            },
        )?;
        Ok::<_, ApiError>((session, audience))
    })?;
    Ok(Output::new(AssumeRoleWithWebIdentityResponse {
        assumed_role_user: Some(AssumedRoleUser {
            arn: Some(session.arn.clone()),
            assumed_role_id: Some(session.user_id()),
        }),
        audience: Some(audience),
        provider: Some(token.iss.clone()),
        subject_from_web_identity_token: Some(token.sub.clone()),
        credentials: credentials(session, expiration),
        packed_policy_size: packed.map(|p| p as i64),
        ..AssumeRoleWithWebIdentityResponse::default()
    }))
}

/// Whether the role's trust policy allows the provider's token: the provider is the
/// principal, and the token's claims are the request's condition keys.
fn trusted(
    role: &Role,
    provider: &OidcProvider,
    url: &str,
    token: &Claims,
    audience: &str,
) -> bool {
    let Ok(trust) = Policy::parse(&role.assume_role_policy_document) else {
        return false;
    };
    let mut context = Context::default();
    context.set(&format!("{url}:aud"), audience);
    context.set(&format!("{url}:sub"), token.sub.clone());
    if !token.amr.is_empty() {
        context.set_all(&format!("{url}:amr"), token.amr.clone());
    }
    let caller = Caller {
        arn: provider.arn.clone(),
        account: String::new(),
        role_arn: None,
        service: None,
        federated: Some(provider.arn.clone()),
    };
    let request = Request {
        action: ACTION,
        resource: &role.arn,
        caller: &caller,
        context: &context,
    };
    let policies = Policies {
        resource: vec![&trust],
        ..Policies::default()
    };
    policy::evaluate(&request, &policies) == Decision::Allow
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(payload: &str) -> String {
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!(
            "{}.{}.{}",
            b(r#"{"alg":"RS256","kid":"k"}"#),
            b(payload),
            b("sig")
        )
    }

    #[test]
    fn tokens_are_read_for_their_claims() {
        let t = jwt(
            r#"{"iss":"https://token.actions.githubusercontent.com","sub":"repo:acme/site:ref:refs/heads/main","aud":"sts.amazonaws.com","exp":1900000000}"#,
        );
        let c = claims(&t).unwrap();
        assert_eq!(c.iss, "https://token.actions.githubusercontent.com");
        assert_eq!(c.aud, vec!["sts.amazonaws.com"]);
        assert_eq!(c.exp, 1_900_000_000);
        assert_eq!(provider_url(&c.iss), "token.actions.githubusercontent.com");
        let many = jwt(r#"{"iss":"https://i","aud":["a","b"],"azp":"a","exp":1}"#);
        assert_eq!(claims(&many).unwrap().aud, vec!["a", "b"]);
    }

    #[test]
    fn malformed_tokens_are_invalid() {
        for t in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.!!.!!",
            &jwt("[1]"),
            &jwt(r#"{"sub":"x","exp":1}"#),
        ] {
            let e = claims(t).unwrap_err();
            assert_eq!(e.code, "InvalidIdentityToken", "{t}");
        }
        let no_exp = jwt(r#"{"iss":"https://i"}"#);
        assert_eq!(claims(&no_exp).unwrap_err().code, "InvalidIdentityToken");
    }
}
