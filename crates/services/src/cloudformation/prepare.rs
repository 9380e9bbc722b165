//! What a request to make or change a stack is checked for before anything exists: the
//! template (from the body or S3), capabilities, parameters and their constraints, conditions.

use super::*;

/// The template a request gives: `TemplateBody`, or `TemplateURL` read from Airlock's S3 as
/// the caller (who needs `s3:GetObject` on it, as on AWS).
pub(super) fn template_text(
    ctx: &Ctx<'_>,
    body: Option<&str>,
    url: Option<&str>,
) -> ApiResult<String> {
    match (body, url) {
        (Some(_), Some(_)) => Err(validation(
            "Specify exactly one of TemplateBody or TemplateURL.",
        )),
        (None, None) => Err(validation(
            "Either Template URL or Template Body must be specified.",
        )),
        (Some(b), None) => {
            if b.len() > template::MAX_BODY {
                return Err(validation(format!(
                    "1 validation error detected: Value '{}...' at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to {}",
                    b.chars().take(20).collect::<String>(),
                    template::MAX_BODY
                )));
            }
            Ok(b.to_string())
        }
        (None, Some(u)) => read_url(ctx, u),
    }
}

/// `https://<bucket>.s3[.<region>].amazonaws.com/<key>` or `https://s3[.<region>].amazonaws.com/<bucket>/<key>`.
pub(super) fn read_url(ctx: &Ctx<'_>, url: &str) -> ApiResult<String> {
    let bad = || validation("TemplateURL must be a supported URL.");
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let (host, path) = rest.split_once('/').ok_or_else(bad)?;
    let host = host.split(':').next().unwrap_or(host);
    let (bucket, key) = if host.starts_with("s3.") || host.starts_with("s3-") || host == "localhost"
    {
        let (b, k) = path.split_once('/').ok_or_else(bad)?;
        (b.to_string(), k.to_string())
    } else {
        let b = host.split(".s3").next().ok_or_else(bad)?;
        (b.to_string(), path.to_string())
    };
    let key = percent_encoding::percent_decode_str(key.split('?').next().unwrap_or_default())
        .decode_utf8_lossy()
        .to_string();
    let unreachable = || {
        validation(format!(
            "S3 error: Access Denied For more information check http://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (reading {url})"
        ))
    };
    crate::authz::authorize(
        ctx,
        "s3",
        "GetObject",
        &serde_json::json!({"Bucket": bucket, "Key": key}),
    )
    .map_err(|_| unreachable())?;
    let object = ctx
        .store
        .read(|v| v.get::<crate::s3::objects::Object>(&crate::s3::objects_of(&bucket), &key))
        .filter(|o| !o.delete_marker)
        .ok_or_else(unreachable)?;
    if object.size > template::MAX_URL_BODY as u64 {
        return Err(validation(format!(
            "Template may not exceed {} bytes in size.",
            template::MAX_URL_BODY
        )));
    }
    let bytes = crate::s3::blob::read(ctx.store, &object.blob, 0, object.size)?;
    String::from_utf8(bytes)
        .map_err(|_| validation("Template format error: the template is not UTF-8 text"))
}

/// The capabilities a template needs: IAM resources need `CAPABILITY_IAM`, named ones
/// `CAPABILITY_NAMED_IAM`.
pub(super) fn needed_capability(doc: &Value) -> Option<(&'static str, Vec<String>)> {
    let mut named = false;
    let mut iam = Vec::new();
    for (name, r) in template::resources(doc) {
        let t = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        if t.starts_with("AWS::IAM::") {
            iam.push(name.to_string());
            let props = r.get("Properties");
            let named_key = match t {
                "AWS::IAM::Role" => "RoleName",
                "AWS::IAM::User" => "UserName",
                "AWS::IAM::ManagedPolicy" => "ManagedPolicyName",
                "AWS::IAM::InstanceProfile" => "InstanceProfileName",
                "AWS::IAM::Group" => "GroupName",
                _ => "",
            };
            named |= !named_key.is_empty() && props.and_then(|p| p.get(named_key)).is_some();
        }
    }
    if iam.is_empty() {
        None
    } else if named {
        Some(("CAPABILITY_NAMED_IAM", iam))
    } else {
        Some(("CAPABILITY_IAM", iam))
    }
}

pub(super) fn check_capabilities(doc: &Value, given: &[String]) -> ApiResult<()> {
    if let Some((needed, _)) = needed_capability(doc) {
        let ok = given.iter().any(|c| c == needed)
            || (needed == "CAPABILITY_IAM" && given.iter().any(|c| c == "CAPABILITY_NAMED_IAM"));
        if !ok {
            return Err(ApiError::new(
                "InsufficientCapabilitiesException",
                format!("Requires capabilities : [{needed}]"),
            ));
        }
    }
    Ok(())
}

/// The stack's parameter values from what the request gives and the template declares, with
/// CloudFormation's checks: unknown and missing parameters, types, constraints, AWS-specific
/// types that must name existing resources, and SSM parameter types resolved.
pub(super) fn parameters(
    ctx: &Ctx<'_>,
    doc: &Value,
    given: &[dto::Parameter],
    previous: Option<&Stack>,
) -> ApiResult<(Vec<Shown>, BTreeMap<String, Value>)> {
    let declared = template::section(doc, "Parameters")?;
    let unknown: Vec<&str> = given
        .iter()
        .filter_map(|p| p.parameter_key.as_deref())
        .filter(|k| !declared.contains_key(k))
        .collect();
    if !unknown.is_empty() {
        return Err(validation(format!(
            "Parameters: [{}] do not exist in the template",
            unknown.join(", ")
        )));
    }
    let mut missing = Vec::new();
    let mut shown = Vec::new();
    let mut values = BTreeMap::new();
    for (key, decl) in &declared {
        let g = given
            .iter()
            .find(|p| p.parameter_key.as_deref() == Some(*key));
        let value = match g {
            Some(p) if p.use_previous_value == Some(true) => previous
                .and_then(|s| s.template.params.iter().find(|x| x.key == *key))
                .map(|x| x.value.clone()),
            Some(p) => p.parameter_value.clone(),
            None => decl.get("Default").and_then(eval::scalar),
        };
        let Some(value) = value else {
            missing.push(key.to_string());
            continue;
        };
        let t = decl.get("Type").and_then(Value::as_str).unwrap_or("String");
        check_constraints(key, decl, t, &value)?;
        let (resolved, effective) = match t
            .strip_prefix("AWS::SSM::Parameter::Value<")
            .and_then(|s| s.strip_suffix('>'))
        {
            Some(inner) => {
                let v = ssm_value(ctx, &value)?;
                (Some(v.clone()), typed_value(inner, &v))
            }
            None => {
                check_exists(ctx, key, t, &value)?;
                (None, typed_value(t, &value))
            }
        };
        values.insert(key.to_string(), effective);
        shown.push(Shown {
            key: key.to_string(),
            value,
            resolved,
            no_echo: decl
                .get("NoEcho")
                .and_then(eval::scalar)
                .is_some_and(|v| v == "true"),
        });
    }
    if !missing.is_empty() {
        return Err(validation(format!(
            "Parameters: [{}] must have values",
            missing.join(", ")
        )));
    }
    Ok((shown, values))
}

pub(super) fn typed_value(t: &str, v: &str) -> Value {
    if t.starts_with("List<") || t == "CommaDelimitedList" {
        Value::from(
            v.split(',')
                .map(|s| Value::String(s.trim().to_string()))
                .collect::<Vec<_>>(),
        )
    } else {
        Value::String(v.to_string())
    }
}

pub(super) fn check_constraints(key: &str, decl: &Value, t: &str, value: &str) -> ApiResult<()> {
    let fail = |default: String| {
        let message = match decl.get("ConstraintDescription").and_then(eval::scalar) {
            Some(d) => format!("Parameter '{key}' failed to satisfy constraint: {d}"),
            None => default,
        };
        Err(validation(message))
    };
    if let Some(Value::Array(allowed)) = decl.get("AllowedValues") {
        let items: Vec<String> = allowed.iter().filter_map(eval::scalar).collect();
        let each: Vec<&str> = if t.starts_with("List<") || t == "CommaDelimitedList" {
            value.split(',').map(str::trim).collect()
        } else {
            vec![value]
        };
        if each.iter().any(|v| !items.iter().any(|a| a == v)) {
            return fail(format!("Parameter '{key}' must be one of AllowedValues"));
        }
    }
    if let Some(p) = decl.get("AllowedPattern").and_then(eval::scalar) {
        let anchored = format!("^(?:{p})$");
        if let Ok(re) = regex::Regex::new(&anchored) {
            if !re.is_match(value) {
                return fail(format!("Parameter '{key}' must match pattern {p}"));
            }
        }
    }
    let num = |k: &str| {
        decl.get(k)
            .and_then(eval::scalar)
            .and_then(|s| s.parse::<f64>().ok())
    };
    if let Some(min) = num("MinLength") {
        if (value.chars().count() as f64) < min {
            return fail(format!(
                "Parameter '{key}' must contain at least {min} characters"
            ));
        }
    }
    if let Some(max) = num("MaxLength") {
        if (value.chars().count() as f64) > max {
            return fail(format!(
                "Parameter '{key}' must contain at most {max} characters"
            ));
        }
    }
    if t == "Number" || t == "List<Number>" {
        for v in value.split(',') {
            let Ok(n) = v.trim().parse::<f64>() else {
                return Err(validation(format!("Parameter '{key}' must be a number.")));
            };
            if num("MinValue").is_some_and(|m| n < m) {
                return fail(format!(
                    "Parameter '{key}' must be a number not less than {}",
                    num("MinValue").unwrap_or_default()
                ));
            }
            if num("MaxValue").is_some_and(|m| n > m) {
                return fail(format!(
                    "Parameter '{key}' must be a number not greater than {}",
                    num("MaxValue").unwrap_or_default()
                ));
            }
        }
    }
    Ok(())
}

/// AWS-specific parameter types name resources that must exist.
pub(super) fn check_exists(ctx: &Ctx<'_>, key: &str, t: &str, value: &str) -> ApiResult<()> {
    let inner = t
        .strip_prefix("List<")
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or(t);
    let (op, member) = match inner {
        "AWS::EC2::VPC::Id" => ("DescribeVpcs", "VpcIds"),
        "AWS::EC2::Subnet::Id" => ("DescribeSubnets", "SubnetIds"),
        "AWS::EC2::SecurityGroup::Id" => ("DescribeSecurityGroups", "GroupIds"),
        "AWS::EC2::KeyPair::KeyName" => ("DescribeKeyPairs", "KeyNames"),
        "AWS::EC2::Instance::Id" => ("DescribeInstances", "InstanceIds"),
        _ => return Ok(()),
    };
    for v in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let found = crate::call(ctx, "ec2", op, &serde_json::json!({ member: [v] }))
            .is_some_and(|r| r.is_ok());
        if !found {
            return Err(validation(format!(
                "Parameter validation failed: parameter value {v} for parameter name {key} does not exist"
            )));
        }
    }
    Ok(())
}

/// An SSM parameter's current value (`AWS::SSM::Parameter::Value<...>` parameters).
pub(super) fn ssm_value(ctx: &Ctx<'_>, name: &str) -> ApiResult<String> {
    let out = call(
        ctx,
        "ssm",
        "GetParameter",
        serde_json::json!({ "Name": name }),
    );
    match out {
        Ok(v) => Ok(v
            .pointer("/Parameter/Value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()),
        Err(e) if e.code == "ParameterNotFound" => Err(validation(format!(
            "Parameters: [ssm:{name}] cannot be found."
        ))),
        Err(e) if e.code.contains("AccessDenied") => Err(validation(format!(
            "User: {} is not authorized to perform: ssm:GetParameters on resource: {name}",
            ctx.principal.arn
        ))),
        Err(e) => Err(e),
    }
}

/// The conditions' truth values, each evaluated once before anything is created.
pub(super) fn conditions(
    doc: &Value,
    values: &BTreeMap<String, Value>,
    region: &str,
) -> ApiResult<BTreeMap<String, bool>> {
    let declared = template::section(doc, "Conditions")?;
    let mut done: BTreeMap<String, bool> = BTreeMap::new();
    let empty_resources = BTreeMap::new();
    let empty_exports = BTreeMap::new();
    let mut left: Vec<(&str, &Value)> = declared.into_iter().collect();
    while !left.is_empty() {
        let before = left.len();
        let mut still = Vec::new();
        for (name, expr) in left {
            let env = eval::Env {
                doc,
                params: values,
                resources: &empty_resources,
                conditions: &done,
                azs: &[],
                region,
                exports: &empty_exports,
            };
            match env.truth(expr) {
                Ok(t) => {
                    done.insert(name.to_string(), t);
                }
                Err(e) if e.contains("unresolved condition dependency") => still.push((name, expr)),
                Err(e) => return Err(validation(e)),
            }
        }
        if still.len() == before {
            return Err(validation(format!(
                "Template format error: Circular dependency between conditions: [{}]",
                still.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            )));
        }
        left = still;
    }
    Ok(done)
}

pub(super) fn prepare(
    ctx: &Ctx<'_>,
    body: String,
    given: &[dto::Parameter],
    capabilities: &[String],
    stack_id: &str,
    stack_name: &str,
    previous: Option<&Stack>,
) -> ApiResult<Template> {
    let doc = template::parse(&body)?;
    template::check(&doc)?;
    let (params, values) = parameters(ctx, &doc, given, previous)?;
    check_capabilities(&doc, capabilities)?;
    let mut all = values.clone();
    all.extend(pseudo(ctx, stack_id, stack_name));
    let conditions = conditions(&doc, &all, &ctx.region)?;
    Ok(Template {
        body,
        doc,
        params,
        values,
        conditions,
    })
}

pub(super) fn tags_of(tags: Option<&Vec<dto::Tag>>) -> ApiResult<Vec<(String, String)>> {
    let tags: Vec<(String, String)> = tags
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t.key.clone().unwrap_or_default(),
                t.value.clone().unwrap_or_default(),
            )
        })
        .collect();
    if tags.len() > 50 {
        return Err(validation(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
        ));
    }
    if let Some((k, _)) = tags
        .iter()
        .find(|(k, _)| k.to_ascii_lowercase().starts_with("aws:"))
    {
        return Err(validation(format!(
            "Invalid tag key {k}: tag keys starting with aws: are reserved"
        )));
    }
    Ok(tags)
}
