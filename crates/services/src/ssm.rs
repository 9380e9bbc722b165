//! AWS Systems Manager Parameter Store: the account's parameters (String, StringList,
//! SecureString) with versions, tags and DescribeParameters' filters, and AWS's public
//! parameters that name the latest images (`/aws/service/ami-amazon-linux-latest/...`), which
//! bastion templates resolve (CloudFormation's `AWS::SSM::Parameter::Value<...>`, Terraform's
//! `data "aws_ssm_parameter"`).
//!
//! Parameters are regional records keyed by name. A SecureString is kept as given (Airlock has
//! no KMS); without `WithDecryption` its value is answered as an opaque base64 blob, as AWS
//! answers ciphertext.

use crate::input::typed;
use crate::service::{ops, Service};
use crate::Ctx;
use airlock_dto::ssm as dto;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Kind, Scope};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

pub fn record_kinds() -> Vec<Kind> {
    vec![Kind::of::<Parameter>()]
}

/// SSM's registration.
pub static SERVICE: Service = Service {
    name: "ssm",
    ops: ops! {
        "PutParameter" => Output(put_parameter),
        "GetParameter" => Output(get_parameter),
        "GetParameters" => Output(get_parameters),
        "GetParametersByPath" => Output(get_parameters_by_path),
        "DeleteParameter" => Output(delete_parameter),
        "DeleteParameters" => Output(delete_parameters),
        "DescribeParameters" => Output(describe_parameters),
        "AddTagsToResource" => Output(add_tags_to_resource),
        "RemoveTagsFromResource" => Output(remove_tags_from_resource),
        "ListTagsForResource" => Output(list_tags_for_resource),
    },
    records: record_kinds,
    iam: crate::authz::Iam {
        access,
        ..crate::authz::Iam::new("ssm", "AccessDeniedException", 400)
    },
    endpoints: &["ssm"],
    ..Service::NOTHING
};

/// Versions a parameter keeps (AWS keeps the last 100).
const HISTORY: usize = 100;
/// Tags per parameter.
const TAG_QUOTA: usize = 50;

/// One value of a parameter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    pub version: i64,
    pub value: String,
    pub modified: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parameter {
    /// As given: `/mwaa/db/host` or `plain-name` (the record id).
    pub name: String,
    /// `String`, `StringList` or `SecureString`.
    pub kind: String,
    pub data_type: String,
    pub description: Option<String>,
    pub allowed_pattern: Option<String>,
    /// A SecureString's KMS key (`alias/aws/ssm` by default).
    pub key_id: Option<String>,
    pub tier: String,
    /// Oldest first; the last is current.
    pub versions: Vec<Version>,
    pub modified_by: String,
    pub tags: Vec<(String, String)>,
}

airlock_store::record!(Parameter, "ssm.parameter", name);

impl Parameter {
    fn current(&self) -> &Version {
        self.versions.last().expect("a parameter has a version")
    }
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new("ValidationException", message)
}

fn not_found(name: &str) -> ApiError {
    ApiError::new("ParameterNotFound", format!("Parameter {name} not found."))
}

/// `arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash>`; AWS's public
/// parameters have no account.
fn arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{}:ssm:{region}:{account}:parameter/{}",
        crate::partition::of(region),
        name.trim_start_matches('/')
    )
}

/// A name AWS accepts for a new parameter: hierarchies are fully qualified (start with `/`), at
/// most 15 levels, and the `aws`/`ssm` prefixes are AWS's own.
fn check_name(name: &str) -> ApiResult<()> {
    if name.contains('/') && !name.starts_with('/') {
        return Err(validation("Parameter name must be a fully qualified name."));
    }
    let first = name.trim_start_matches('/').to_ascii_lowercase();
    if first.starts_with("aws") || first.starts_with("ssm") {
        return Err(validation(
            "No access to reserved parameter name: \"aws\" or \"ssm\" (case-insensitive) are reserved prefixes.",
        ));
    }
    if name.matches('/').count() > 15 {
        return Err(ApiError::new(
            "HierarchyLevelLimitExceededException",
            "Parameter name hierarchy levels cannot exceed 15.",
        ));
    }
    if name.ends_with('/') || name.contains("//") {
        return Err(validation(format!(
            "Parameter name: {name} is invalid. Parameter names can consist of letters, numbers, and the symbols . - _ and / in a hierarchy."
        )));
    }
    Ok(())
}

/// What a request names: the parameter and an optional `:<version>` selector.
fn selector(name: &str) -> (&str, Option<&str>) {
    match name.rsplit_once(':') {
        Some((n, v)) if !n.is_empty() && !n.starts_with("arn") => (n, Some(v)),
        _ => (name, None),
    }
}

/// A name given as an ARN is the parameter's name.
fn plain(name: &str) -> String {
    match name.split_once(":parameter/") {
        Some((_, rest)) if name.starts_with("arn:") => format!("/{rest}"),
        _ => name.to_owned(),
    }
}

/// A parameter as GetParameter(s) answer it (`None`: no such parameter or version).
struct Found {
    name: String,
    kind: String,
    data_type: String,
    version: Version,
    selector: Option<String>,
    arn: String,
}

impl Found {
    fn out(&self, decrypt: bool) -> dto::Parameter {
        let value = if self.kind == "SecureString" && !decrypt {
            base64::engine::general_purpose::STANDARD
                .encode(format!("airlock-kms:{}", self.version.value))
        } else {
            self.version.value.clone()
        };
        dto::Parameter {
            arn: Some(self.arn.clone()),
            data_type: Some(self.data_type.clone()),
            last_modified_date: Some(self.version.modified.clone()),
            name: Some(self.name.clone()),
            selector: self.selector.clone(),
            r#type: Some(self.kind.clone()),
            value: Some(value),
            version: Some(self.version.version),
            ..Default::default()
        }
    }
}

/// AWS's public parameter `name` of `region`: the image ids of the catalogue.
fn public(region: &str, name: &str) -> Option<Found> {
    crate::ec2::images::public_parameters(region)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(n, id)| public_found(region, n, id))
}

fn public_found(region: &str, name: &str, value: String) -> Found {
    Found {
        name: name.to_owned(),
        kind: "String".into(),
        data_type: "text".into(),
        version: Version {
            version: 1,
            value,
            modified: "2024-11-22T00:00:00Z".into(),
        },
        selector: None,
        arn: arn(region, "", name),
    }
}

fn found(ctx: &Ctx<'_>, p: &Parameter, version: &Version, selector: Option<&str>) -> Found {
    Found {
        name: p.name.clone(),
        kind: p.kind.clone(),
        data_type: p.data_type.clone(),
        version: version.clone(),
        selector: selector.map(|s| format!(":{s}")),
        arn: arn(&ctx.region, ctx.account(), &p.name),
    }
}

/// The parameter (and version) a Get names.
fn lookup(ctx: &Ctx<'_>, scope: &Scope, requested: &str) -> ApiResult<Option<Found>> {
    let (name, sel) = selector(requested);
    let name = plain(name);
    if let Some(p) = public(&ctx.region, &name) {
        return Ok(sel.is_none_or(|s| s == "1").then_some(p));
    }
    let Some(p) = ctx.store.read(|v| v.get::<Parameter>(scope, &name)) else {
        return Ok(None);
    };
    let version = match sel {
        None => Some(p.current()),
        Some(s) => {
            let n: i64 = s.parse().map_err(|_| {
                ApiError::new(
                    "ParameterVersionLabelNotFound",
                    format!("The specified parameter label {s} was not found."),
                )
            })?;
            match p.versions.iter().find(|v| v.version == n) {
                Some(v) => Some(v),
                None => {
                    return Err(ApiError::new(
                        "ParameterVersionNotFound",
                        format!(
                            "Systems Manager could not find version {n} of {name}. Verify the version and try again."
                        ),
                    ))
                }
            }
        }
    };
    Ok(version.map(|v| found(ctx, &p, v, sel)))
}

pub fn put_parameter(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::PutParameterRequest = typed(input)?;
    let name = plain(&req.name);
    check_name(&name)?;
    let overwrite = req.overwrite.unwrap_or(false);
    if overwrite && req.tags.as_ref().is_some_and(|t| !t.is_empty()) {
        return Err(validation(
            "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
        ));
    }
    if req.tier.as_deref() == Some("Standard") && req.value.len() > 4096 {
        return Err(validation(
            "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.",
        ));
    }
    let data_type = req.data_type.clone().unwrap_or_else(|| "text".into());
    if !matches!(
        data_type.as_str(),
        "text" | "aws:ec2:image" | "aws:ssm:integration"
    ) {
        return Err(validation(format!(
            "The following data type is not supported: {data_type} (Data type names are all lowercase.)"
        )));
    }
    if data_type == "aws:ec2:image" && crate::ec2::instances::check_image_id(&req.value).is_err() {
        return Err(validation(format!(
            "Parameter value, {}, is not a valid image id.",
            req.value
        )));
    }
    let tags: Vec<(String, String)> = req
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
        .collect();
    if tags.len() > TAG_QUOTA {
        return Err(ApiError::new(
            "TooManyTagsError",
            "The Parameter has too many tags.",
        ));
    }
    let scope = ctx.scope();
    let now = crate::iso(ctx.clock.now());
    let (version, tier) = ctx.store.write(|tx| {
        let existing = tx.get::<Parameter>(&scope, &name);
        let mut p = match existing {
            Some(_) if !overwrite => {
                return Err(ApiError::new(
                    "ParameterAlreadyExists",
                    "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
                ))
            }
            Some(p) => (*p).clone(),
            None => {
                let Some(kind) = req.r#type.clone() else {
                    return Err(validation(
                        "A parameter type is required when you create a parameter.",
                    ));
                };
                Parameter {
                    name: name.clone(),
                    key_id: (kind == "SecureString").then(|| "alias/aws/ssm".to_owned()),
                    kind,
                    data_type: data_type.clone(),
                    description: None,
                    allowed_pattern: None,
                    tier: "Standard".into(),
                    versions: Vec::new(),
                    modified_by: String::new(),
                    tags,
                }
            }
        };
        if let Some(kind) = &req.r#type {
            p.kind = kind.clone();
            if p.kind == "SecureString" && p.key_id.is_none() {
                p.key_id = Some("alias/aws/ssm".into());
            }
        }
        if req.description.is_some() {
            p.description = req.description.clone();
        }
        if req.allowed_pattern.is_some() {
            p.allowed_pattern = req.allowed_pattern.clone();
        }
        if let Some(pattern) = &p.allowed_pattern {
            let matches = regex::Regex::new(pattern)
                .map_err(|_| {
                    ApiError::new(
                        "InvalidAllowedPatternException",
                        format!("The allowed pattern {pattern} is invalid."),
                    )
                })?
                .is_match(&req.value);
            if !matches {
                return Err(ApiError::new(
                    "ParameterPatternMismatchException",
                    format!("Parameter value, cannot be validated against allowedPattern: {pattern}"),
                ));
            }
        }
        if p.kind == "SecureString" && req.key_id.is_some() {
            p.key_id = req.key_id.clone();
        }
        if let Some(t) = &req.tier {
            if t == "Advanced" || t == "Intelligent-Tiering" && req.value.len() > 4096 {
                p.tier = "Advanced".into();
            } else if t == "Standard" && p.tier == "Advanced" {
                return Err(validation(
                    "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.",
                ));
            }
        }
        p.data_type = data_type.clone();
        let version = p.versions.last().map_or(1, |v| v.version + 1);
        p.versions.push(Version {
            version,
            value: req.value.clone(),
            modified: now.clone(),
        });
        if p.versions.len() > HISTORY {
            p.versions.remove(0);
        }
        p.modified_by = ctx.principal.arn.clone();
        let tier = p.tier.clone();
        tx.put(&scope, p)?;
        Ok::<_, ApiError>((version, tier))
    })?;
    Ok(Output::new(dto::PutParameterResult {
        tier: Some(tier),
        version: Some(version),
    }))
}

pub fn get_parameter(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::GetParameterRequest = typed(input)?;
    let found = lookup(ctx, &ctx.scope(), &req.name)?.ok_or_else(|| not_found(&req.name))?;
    Ok(Output::new(dto::GetParameterResult {
        parameter: Some(found.out(req.with_decryption.unwrap_or(false))),
    }))
}

pub fn get_parameters(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::GetParametersRequest = typed(input)?;
    let decrypt = req.with_decryption.unwrap_or(false);
    let scope = ctx.scope();
    let mut parameters = Vec::new();
    let mut invalid = Vec::new();
    for name in &req.names {
        match lookup(ctx, &scope, name) {
            Ok(Some(f)) => parameters.push(f.out(decrypt)),
            _ => invalid.push(name.clone()),
        }
    }
    Ok(Output::new(dto::GetParametersResult {
        invalid_parameters: Some(invalid),
        parameters: Some(parameters),
    }))
}

/// Whether `name` lies under `path` (a direct child unless `recursive`).
fn under(name: &str, path: &str, recursive: bool) -> bool {
    let prefix = if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    };
    name.strip_prefix(&prefix)
        .is_some_and(|rest| !rest.is_empty() && (recursive || !rest.contains('/')))
}

/// One page of `items` (in name order) after the token, at most `max` long.
fn page<T>(
    items: Vec<(String, T)>,
    token: Option<&str>,
    max: usize,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let after = match token {
        Some(t) => Some(
            b64.decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ApiError::new("InvalidNextToken", "The specified token is not valid.")
                })?,
        ),
        None => None,
    };
    let mut rest: Vec<(String, T)> = items
        .into_iter()
        .filter(|(k, _)| after.as_deref().is_none_or(|a| k.as_str() > a))
        .collect();
    let next = (rest.len() > max).then(|| b64.encode(&rest[max - 1].0));
    rest.truncate(max);
    Ok((rest.into_iter().map(|(_, v)| v).collect(), next))
}

pub fn get_parameters_by_path(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::GetParametersByPathRequest = typed(input)?;
    let path = req.path.as_str();
    if !path.starts_with('/') {
        return Err(validation(
            "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.",
        ));
    }
    let recursive = req.recursive.unwrap_or(false);
    let decrypt = req.with_decryption.unwrap_or(false);
    let scope = ctx.scope();
    let mut items: Vec<(String, dto::Parameter)> =
        crate::ec2::images::public_parameters(&ctx.region)
            .into_iter()
            .filter(|(n, _)| under(n, path, recursive))
            .map(|(n, id)| (n.to_owned(), public_found(&ctx.region, n, id).out(decrypt)))
            .collect();
    let own = ctx.store.read(|v| v.list::<Parameter>(&scope));
    for p in own.iter().filter(|p| under(&p.name, path, recursive)) {
        let f = found(ctx, p, p.current(), None);
        items.push((p.name.clone(), f.out(decrypt)));
    }
    for f in req.parameter_filters.as_deref().unwrap_or_default() {
        if f.key == "Name" || f.key == "Path" {
            return Err(validation(format!(
                "The following filter key is not valid: {}. Valid filter keys include: [Type, KeyId, Label].",
                f.key
            )));
        }
    }
    items.retain(|(name, p)| {
        req.parameter_filters
            .as_deref()
            .unwrap_or_default()
            .iter()
            .all(|f| {
                let values = f.values.as_deref().unwrap_or_default();
                match f.key.as_str() {
                    "Type" => values.iter().any(|v| Some(v) == p.r#type.as_ref()),
                    "KeyId" => own
                        .iter()
                        .find(|o| &o.name == name)
                        .and_then(|o| o.key_id.as_ref())
                        .is_some_and(|k| values.contains(k)),
                    _ => true,
                }
            })
    });
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let max = req.max_results.unwrap_or(10) as usize;
    let (parameters, next) = page(items, req.next_token.as_deref(), max)?;
    Ok(Output::new(dto::GetParametersByPathResult {
        next_token: next,
        parameters: Some(parameters),
    }))
}

pub fn delete_parameter(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DeleteParameterRequest = typed(input)?;
    let name = plain(&req.name);
    let scope = ctx.scope();
    ctx.store.write(|tx| {
        if tx.get::<Parameter>(&scope, &name).is_none() {
            return Err(not_found(&req.name));
        }
        tx.delete::<Parameter>(&scope, &name);
        Ok(())
    })?;
    Ok(Output::new(dto::DeleteParameterResult {}))
}

pub fn delete_parameters(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DeleteParametersRequest = typed(input)?;
    let scope = ctx.scope();
    let (deleted, invalid) = ctx.store.write(|tx| {
        let mut deleted = Vec::new();
        let mut invalid = Vec::new();
        for name in &req.names {
            let key = plain(name);
            if tx.get::<Parameter>(&scope, &key).is_some() {
                tx.delete::<Parameter>(&scope, &key);
                deleted.push(name.clone());
            } else {
                invalid.push(name.clone());
            }
        }
        Ok::<_, ApiError>((deleted, invalid))
    })?;
    Ok(Output::new(dto::DeleteParametersResult {
        deleted_parameters: Some(deleted),
        invalid_parameters: Some(invalid),
    }))
}

/// Whether a DescribeParameters `ParameterFilters` entry holds for `p`.
fn passes(p: &Parameter, f: &dto::ParameterStringFilter) -> ApiResult<bool> {
    let values = f.values.as_deref().unwrap_or_default();
    let option = f.option.as_deref().unwrap_or("Equals");
    let any = |have: &str| values.iter().any(|v| v == have);
    Ok(match f.key.as_str() {
        "Name" => {
            let name = p.name.trim_start_matches('/');
            values.iter().any(|v| {
                let v = v.trim_start_matches('/');
                match option {
                    "BeginsWith" => name.starts_with(v),
                    "Contains" => name.contains(v),
                    _ => name == v,
                }
            })
        }
        "Path" => values
            .iter()
            .any(|v| under(&p.name, v, option == "Recursive")),
        "Type" => any(&p.kind),
        "KeyId" => p.key_id.as_deref().is_some_and(any),
        "DataType" => any(&p.data_type),
        "Tier" => any(&p.tier),
        key => match key.strip_prefix("tag:") {
            Some(tag) => p
                .tags
                .iter()
                .any(|(k, v)| k == tag && (values.is_empty() || values.contains(v))),
            None if key == "tag-key" => p.tags.iter().any(|(k, _)| values.contains(k)),
            None => {
                return Err(ApiError::new(
                    "InvalidFilterKey",
                    format!("The following filter key is not valid: {key}"),
                ))
            }
        },
    })
}

pub fn describe_parameters(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::DescribeParametersRequest = typed(input)?;
    let scope = ctx.scope();
    let all = ctx.store.read(|v| v.list::<Parameter>(&scope));
    let mut items = Vec::new();
    for p in all.iter() {
        let mut keep = true;
        for f in req.parameter_filters.as_deref().unwrap_or_default() {
            keep &= passes(p, f)?;
        }
        for f in req.filters.as_deref().unwrap_or_default() {
            let as_string = dto::ParameterStringFilter {
                key: f.key.clone(),
                option: Some("Equals".into()),
                values: Some(f.values.clone()),
            };
            keep &= passes(p, &as_string)?;
        }
        if keep {
            items.push((p.name.clone(), metadata(ctx, p)));
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let max = req.max_results.unwrap_or(10) as usize;
    let (parameters, next) = page(items, req.next_token.as_deref(), max)?;
    Ok(Output::new(dto::DescribeParametersResult {
        next_token: next,
        parameters: Some(parameters),
    }))
}

fn metadata(ctx: &Ctx<'_>, p: &Parameter) -> dto::ParameterMetadata {
    let v = p.current();
    dto::ParameterMetadata {
        arn: Some(arn(&ctx.region, ctx.account(), &p.name)),
        allowed_pattern: p.allowed_pattern.clone(),
        data_type: Some(p.data_type.clone()),
        description: p.description.clone(),
        key_id: p.key_id.clone(),
        last_modified_date: Some(v.modified.clone()),
        last_modified_user: Some(p.modified_by.clone()),
        name: Some(p.name.clone()),
        policies: Some(Vec::new()),
        tier: Some(p.tier.clone()),
        r#type: Some(p.kind.clone()),
        version: Some(v.version),
    }
}

/// The parameter a tagging request names (`ResourceType` `Parameter`, the only kind kept).
fn tagged<R>(
    ctx: &Ctx<'_>,
    resource_type: &str,
    id: &str,
    f: impl FnOnce(&mut Parameter) -> ApiResult<R>,
) -> ApiResult<R> {
    if resource_type != "Parameter" {
        return Err(ApiError::new(
            "InvalidResourceType",
            format!(
                "The resource type {resource_type} is not supported by Airlock (only Parameter)."
            ),
        ));
    }
    let scope = ctx.scope();
    let name = plain(id);
    ctx.store.write(|tx| {
        let mut p: Arc<Parameter> = tx.get::<Parameter>(&scope, &name).ok_or_else(|| {
            ApiError::new(
                "InvalidResourceId",
                "The resource ID is not valid. Verify the ID and try again.",
            )
        })?;
        let p = Arc::make_mut(&mut p);
        let out = f(p)?;
        tx.put(&scope, p.clone())?;
        Ok(out)
    })
}

pub fn add_tags_to_resource(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::AddTagsToResourceRequest = typed(input)?;
    tagged(ctx, &req.resource_type, &req.resource_id, |p| {
        for t in &req.tags {
            let key = t.key.clone().unwrap_or_default();
            let value = t.value.clone().unwrap_or_default();
            match p.tags.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => p.tags.push((key, value)),
            }
        }
        if p.tags.len() > TAG_QUOTA {
            return Err(ApiError::new(
                "TooManyTagsError",
                "The Parameter has too many tags.",
            ));
        }
        Ok(())
    })?;
    Ok(Output::new(dto::AddTagsToResourceResult {}))
}

pub fn remove_tags_from_resource(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::RemoveTagsFromResourceRequest = typed(input)?;
    tagged(ctx, &req.resource_type, &req.resource_id, |p| {
        p.tags.retain(|(k, _)| !req.tag_keys.contains(k));
        Ok(())
    })?;
    Ok(Output::new(dto::RemoveTagsFromResourceResult {}))
}

pub fn list_tags_for_resource(ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
    let req: dto::ListTagsForResourceRequest = typed(input)?;
    let tags = tagged(ctx, &req.resource_type, &req.resource_id, |p| {
        Ok(p.tags.clone())
    })?;
    Ok(Output::new(dto::ListTagsForResourceResult {
        tag_list: Some(
            tags.into_iter()
                .map(|(k, v)| dto::Tag {
                    key: Some(k),
                    value: Some(v),
                })
                .collect(),
        ),
    }))
}

/// A parameter operation acts on the parameter it names (`Name`, or each of `Names`, or a
/// tagged `ResourceId`); DescribeParameters on `*`.
fn access(c: &crate::authz::Call<'_>) -> Vec<crate::authz::Access> {
    let ctx = c.ctx;
    let name = c
        .str("Name")
        .or_else(|| c.str("ResourceId"))
        .or_else(|| c.str("Path"));
    match name {
        Some(n) => {
            let n = plain(selector(n).0);
            let account = if public(&ctx.region, &n).is_some() {
                ""
            } else {
                ctx.account()
            };
            c.on(arn(&ctx.region, account, &n))
        }
        None => c.default_access(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_paths_and_selectors() {
        assert!(check_name("/mwaa/db/host").is_ok());
        assert!(check_name("plain").is_ok());
        assert!(check_name("a/b").is_err());
        assert!(check_name("/aws/mine").is_err());
        assert!(check_name("SSM-thing").is_err());
        assert!(under("/a/b", "/a", false));
        assert!(!under("/a/b/c", "/a", false));
        assert!(under("/a/b/c", "/a/", true));
        assert!(!under("/ab", "/a", true));
        assert_eq!(selector("/a/b:3"), ("/a/b", Some("3")));
        assert_eq!(selector("/a/b"), ("/a/b", None));
        assert_eq!(
            plain("arn:aws:ssm:us-west-2:000000000000:parameter/a/b"),
            "/a/b"
        );
        assert_eq!(
            arn("cn-north-1", "1", "/a/b"),
            "arn:aws-cn:ssm:cn-north-1:1:parameter/a/b"
        );
    }
}
