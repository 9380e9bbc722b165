//! Tags on environments (TagResource, UntagResource, ListTagsForResource).

use super::*;
use crate::{input, Ctx};
use airlock_dto::mwaa as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use serde_json::Value;

/// The environment an MWAA ARN names, in the caller's account and region.
fn env_of_arn(ctx: &Ctx<'_>, arn: &str) -> ApiResult<String> {
    let prefix = crate::partition::arn(&ctx.region, "airflow", ctx.account(), "environment/");
    arn.strip_prefix(&prefix).map(str::to_owned).ok_or_else(|| {
        ApiError::new(
            "ResourceNotFoundException",
            format!("Resource {arn} not found."),
        )
    })
}

pub(super) fn tag_resource(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = env_of_arn(ctx, input::req(input, "ResourceArn")?)?;
    let new = tags_of(input.get("Tags"));
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let (env, _) = visible(ctx, tx, &name)?;
        let mut env = (*env).clone();
        env.tags.extend(new);
        if env.tags.len() > 50 {
            return Err(invalid(
                "Invalid request provided: An environment can have at most 50 tags.",
            ));
        }
        tx.put(&scope, env)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::TagResourceOutput {}))
}

pub(super) fn untag_resource(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = env_of_arn(ctx, input::req(input, "ResourceArn")?)?;
    let keys = input::strs(input, "tagKeys");
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        let (env, _) = visible(ctx, tx, &name)?;
        let mut env = (*env).clone();
        env.tags.retain(|k, _| !keys.contains(k));
        tx.put(&scope, env)?;
        Ok::<_, ApiError>(())
    })?;
    Ok(Output::new(dto::UntagResourceOutput {}))
}

pub(super) fn list_tags(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let name = env_of_arn(ctx, input::req(input, "ResourceArn")?)?;
    let (env, _) = ctx.store.read(|v| visible(ctx, v, &name))?;
    Ok(Output::new(dto::ListTagsForResourceOutput {
        tags: Some(env.tags.clone()),
    }))
}
