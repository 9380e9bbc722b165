//! OpenID Connect identity providers: the issuers whose tokens `sts:AssumeRoleWithWebIdentity`
//! takes (GitHub Actions, an EKS cluster's service accounts). A provider is named by its URL
//! without the scheme (`token.actions.githubusercontent.com`), which is its record id and the end
//! of its ARN (`arn:aws:iam::<account>:oidc-provider/<url>`); it holds the audiences (client ids)
//! a token may name and, for the record, the thumbprints of the issuer's certificate.

use super::identity::{add_tags, remove_tags, tags_page};
use super::{tags_input, tags_output, Tag};
use crate::input::typed;
use crate::Ctx;
use airlock_dto::iam as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Read, Scope};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// AWS's quotas per provider.
const MAX_CLIENT_IDS: usize = 100;
const MAX_THUMBPRINTS: usize = 5;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OidcProvider {
    /// The URL without `https://` and without a trailing `/`: the record id.
    pub url: String,
    pub arn: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub create_date: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

airlock_store::record!(OidcProvider, "iam.oidc_provider", url);

/// The ARN of the provider for `url` (as [`provider_url`] gives it) in `account`, in the
/// partition of `region`.
pub fn arn(region: &str, account: &str, url: &str) -> String {
    crate::partition::global_arn(region, "iam", account, &format!("oidc-provider/{url}"))
}

/// A provider's URL as IAM keeps it: `https://` required, then host and path (the host in
/// lowercase; no trailing `/`). `None` for anything else.
pub fn provider_url(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let rest = rest.trim_end_matches('/');
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    host_ok.then(|| format!("{}{path}", host.to_ascii_lowercase()))
}

fn not_found(arn: &str) -> ApiError {
    super::no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}"))
}

/// The provider an ARN names in the caller's account (any partition's spelling).
fn find(r: &impl Read, scope: &Scope, arn: &str) -> ApiResult<Arc<OidcProvider>> {
    let url = crate::partition::strip(arn, "iam")
        .and_then(|rest| rest.strip_prefix(&format!(":{}:oidc-provider/", scope.account)))
        .ok_or_else(|| not_found(arn))?;
    r.get::<OidcProvider>(scope, url)
        .ok_or_else(|| not_found(arn))
}

/// Reads, changes and writes one provider in one transaction.
fn update(
    ctx: &Ctx<'_>,
    arn: &str,
    f: impl FnOnce(&mut OidcProvider) -> ApiResult<()>,
) -> ApiResult<Output> {
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let mut p = find(tx, &scope, arn)?;
        let p = Arc::make_mut(&mut p);
        f(p)?;
        tx.put(&scope, p.clone())?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

fn thumbprints(list: Vec<String>) -> ApiResult<Vec<String>> {
    if list.len() > MAX_THUMBPRINTS {
        return Err(ApiError::new(
            "LimitExceeded",
            format!(
                "Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: {MAX_THUMBPRINTS}"
            ),
        ));
    }
    if let Some(bad) = list
        .iter()
        .find(|t| t.len() != 40 || !t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(ApiError::new(
            "InvalidInput",
            format!("Thumbprint {bad} is not a 40-character hexadecimal SHA-1 fingerprint."),
        ));
    }
    Ok(list)
}

fn client_id_quota(n: usize) -> ApiResult<()> {
    if n > MAX_CLIENT_IDS {
        return Err(ApiError::new(
            "LimitExceeded",
            format!("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}"),
        ));
    }
    Ok(())
}

pub fn create_open_id_connect_provider(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::CreateOpenIDConnectProviderRequest = typed(input)?;
    let url = provider_url(&input.url).ok_or_else(|| {
        ApiError::new(
            "InvalidInput",
            format!(
                "Invalid URL {}: it must begin with https:// and name a host.",
                input.url
            ),
        )
    })?;
    let thumbprints = thumbprints(input.thumbprint_list.unwrap_or_default())?;
    let mut client_ids: Vec<String> = Vec::new();
    for c in input.client_id_list.unwrap_or_default() {
        if !client_ids.contains(&c) {
            client_ids.push(c);
        }
    }
    client_id_quota(client_ids.len())?;
    let tags = tags_input(input.tags.as_deref(), "OpenIdConnectProvider")?;
    let scope = ctx.global_scope();
    let provider = ctx.store.write(|tx| {
        if tx.get::<OidcProvider>(&scope, &url).is_some() {
            return Err(ApiError::new(
                "EntityAlreadyExists",
                format!("Provider with url https://{url} already exists."),
            ));
        }
        let p = OidcProvider {
            arn: arn(&ctx.region, ctx.account(), &url),
            url: url.clone(),
            client_ids,
            thumbprints,
            create_date: crate::iso(ctx.clock.now()),
            tags,
        };
        tx.put(&scope, p.clone())?;
        Ok(p)
    })?;
    Ok(Output::new(dto::CreateOpenIDConnectProviderResponse {
        open_id_connect_provider_arn: Some(provider.arn.clone()),
        tags: tags_output(&provider.tags),
    }))
}

pub fn get_open_id_connect_provider(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::GetOpenIDConnectProviderRequest = typed(input)?;
    let scope = ctx.global_scope();
    let p = ctx
        .store
        .read(|v| find(v, &scope, &input.open_id_connect_provider_arn))?;
    Ok(Output::new(dto::GetOpenIDConnectProviderResponse {
        url: Some(p.url.clone()),
        client_id_list: Some(p.client_ids.clone()),
        thumbprint_list: Some(p.thumbprints.clone()),
        create_date: Some(p.create_date.clone()),
        tags: tags_output(&p.tags),
        ..Default::default()
    }))
}

pub fn list_open_id_connect_providers(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let _: dto::ListOpenIDConnectProvidersRequest = typed(input)?;
    let scope = ctx.global_scope();
    let all = ctx.store.read(|v| v.list::<OidcProvider>(&scope));
    Ok(Output::new(dto::ListOpenIDConnectProvidersResponse {
        open_id_connect_provider_list: Some(
            all.iter()
                .map(|p| dto::OpenIDConnectProviderListEntry {
                    arn: Some(p.arn.clone()),
                    ..Default::default()
                })
                .collect(),
        ),
    }))
}

pub fn delete_open_id_connect_provider(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::DeleteOpenIDConnectProviderRequest = typed(input)?;
    let scope = ctx.global_scope();
    ctx.store.write(|tx| {
        let p = find(tx, &scope, &input.open_id_connect_provider_arn)?;
        tx.delete::<OidcProvider>(&scope, &p.url);
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(()))
}

/// Adding a client id the provider has already is not an error.
pub fn add_client_id(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::AddClientIDToOpenIDConnectProviderRequest = typed(input)?;
    update(ctx, &input.open_id_connect_provider_arn, |p| {
        if !p.client_ids.contains(&input.client_id) {
            client_id_quota(p.client_ids.len() + 1)?;
            p.client_ids.push(input.client_id.clone());
        }
        Ok(())
    })
}

/// Removing a client id the provider does not have is not an error either.
pub fn remove_client_id(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::RemoveClientIDFromOpenIDConnectProviderRequest = typed(input)?;
    update(ctx, &input.open_id_connect_provider_arn, |p| {
        p.client_ids.retain(|c| *c != input.client_id);
        Ok(())
    })
}

pub fn update_thumbprint(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::UpdateOpenIDConnectProviderThumbprintRequest = typed(input)?;
    let list = thumbprints(input.thumbprint_list)?;
    update(ctx, &input.open_id_connect_provider_arn, |p| {
        p.thumbprints = list;
        Ok(())
    })
}

pub fn tag_provider(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::TagOpenIDConnectProviderRequest = typed(input)?;
    let new = tags_input(Some(&input.tags), "OpenIdConnectProvider")?;
    update(ctx, &input.open_id_connect_provider_arn, |p| {
        add_tags(&mut p.tags, new, "OpenIdConnectProvider")
    })
}

pub fn untag_provider(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::UntagOpenIDConnectProviderRequest = typed(input)?;
    update(ctx, &input.open_id_connect_provider_arn, |p| {
        remove_tags(&mut p.tags, &input.tag_keys);
        Ok(())
    })
}

pub fn list_provider_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let input: dto::ListOpenIDConnectProviderTagsRequest = typed(input)?;
    let scope = ctx.global_scope();
    let p = ctx
        .store
        .read(|v| find(v, &scope, &input.open_id_connect_provider_arn))?;
    let (tags, is_truncated, marker) = tags_page(&p.tags, input.max_items, input.marker.as_deref());
    Ok(Output::new(dto::ListOpenIDConnectProviderTagsResponse {
        is_truncated: Some(is_truncated),
        marker,
        tags,
    }))
}

#[cfg(test)]
mod tests {
    use super::provider_url;

    #[test]
    fn urls_as_iam_keeps_them() {
        assert_eq!(
            provider_url("https://Token.Actions.GitHubUserContent.com/").as_deref(),
            Some("token.actions.githubusercontent.com")
        );
        assert_eq!(
            provider_url("https://oidc.eks.us-east-1.amazonaws.com/id/ABC123").as_deref(),
            Some("oidc.eks.us-east-1.amazonaws.com/id/ABC123")
        );
        assert_eq!(provider_url("http://example.com"), None);
        assert_eq!(provider_url("https://"), None);
        assert_eq!(provider_url("https://exa mple.com"), None);
    }
}
