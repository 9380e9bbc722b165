//! MWAA environments.

use super::*;

pub(super) static TYPES: &[Type] = &[Type {
    name: "AWS::MWAA::Environment",
    create: |ctx, p| {
        let name = p.req("Name")?;
        let mut input = p.v.clone();
        if let Some(m) = input.as_object_mut() {
            m.remove("Tags");
            if let Some(Value::Object(c)) = m.get("AirflowConfigurationOptions") {
                let c: Map<String, Value> = c
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(scalar(v))))
                    .collect();
                m.insert("AirflowConfigurationOptions".into(), Value::Object(c));
            }
            let tags: Map<String, Value> = p
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .chain(
                    p.get("Tags")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), json!(scalar(v)))),
                )
                .collect();
            if !tags.is_empty() {
                m.insert("Tags".into(), Value::Object(tags));
            }
        }
        one(ctx, "mwaa", "CreateEnvironment", input)?;
        Ok(name)
    },
    ready: |ctx, name| {
        let out = one(ctx, "mwaa", "GetEnvironment", json!({"Name": name}))?;
        match ptr(&out, "/Environment/Status").as_str() {
            Some("AVAILABLE") => Ok(true),
            Some("CREATING") | Some("UPDATING") => Ok(false),
            other => Err(ApiError::new(
                ptr(&out, "/Environment/LastUpdate/Error/ErrorCode")
                    .as_str()
                    .unwrap_or("EnvironmentFailed"),
                ptr(&out, "/Environment/LastUpdate/Error/ErrorMessage")
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        format!("Environment {name} is {}", other.unwrap_or("unknown"))
                    }),
            )),
        }
    },
    made: |ctx, name, _| {
        let out = one(ctx, "mwaa", "GetEnvironment", json!({"Name": name}))?;
        let e = ptr(&out, "/Environment");
        let mut a = attrs(vec![
            ("Arn", ptr(e, "/Arn").clone()),
            ("WebserverUrl", ptr(e, "/WebserverUrl").clone()),
            (
                "CeleryExecutorQueue",
                ptr(e, "/CeleryExecutorQueue").clone(),
            ),
            (
                "DatabaseVpcEndpointService",
                ptr(e, "/DatabaseVpcEndpointService").clone(),
            ),
            (
                "WebserverVpcEndpointService",
                ptr(e, "/WebserverVpcEndpointService").clone(),
            ),
        ]);
        for kind in [
            "DagProcessingLogs",
            "SchedulerLogs",
            "TaskLogs",
            "WebserverLogs",
            "WorkerLogs",
        ] {
            a.insert(
                format!("LoggingConfiguration.{kind}.CloudWatchLogGroupArn"),
                ptr(
                    e,
                    &format!("/LoggingConfiguration/{kind}/CloudWatchLogGroupArn"),
                )
                .clone(),
            );
        }
        Ok(Made {
            reference: json!(name),
            attrs: a,
        })
    },
    delete: |ctx, name, _| delete_by(ctx, "mwaa", "DeleteEnvironment", "Name", name),
    // Gone once MWAA has removed the environment with its endpoints (on its ticker), so
    // that the subnets and security groups it used can be deleted next.
    gone: |ctx, name| {
        Ok(ctx
            .store
            .read(|v| v.get::<crate::mwaa::Environment>(&ctx.scope(), name))
            .is_none())
    },
    mutable: MWAA_MUTABLE,
    update: Some(update_environment),
    name_prop: Some("Name"),
}];

/// The members of an environment that UpdateEnvironment changes.
const MWAA_MUTABLE: &[&str] = &[
    "AirflowConfigurationOptions",
    "AirflowVersion",
    "DagS3Path",
    "EnvironmentClass",
    "ExecutionRoleArn",
    "LoggingConfiguration",
    "MaxWebservers",
    "MaxWorkers",
    "MinWebservers",
    "MinWorkers",
    "PluginsS3ObjectVersion",
    "PluginsS3Path",
    "RequirementsS3ObjectVersion",
    "RequirementsS3Path",
    "Schedulers",
    "SourceBucketArn",
    "StartupScriptS3ObjectVersion",
    "StartupScriptS3Path",
    "WebserverAccessMode",
    "WeeklyMaintenanceWindowStart",
    "Tags",
];

fn update_environment(ctx: &Ctx<'_>, name: &str, change: &Change<'_>) -> ApiResult<Option<String>> {
    let Change { old, new } = *change;
    let mut input = json!({"Name": name});
    let mut any = false;
    for k in MWAA_MUTABLE.iter().filter(|k| **k != "Tags") {
        if change.changed(k) {
            if let Some(v) = new.get(k) {
                input[*k] = v.clone();
                any = true;
            }
        }
    }
    if any {
        one(ctx, "mwaa", "UpdateEnvironment", input)?;
    }
    if change.changed("Tags") {
        let out = one(ctx, "mwaa", "GetEnvironment", json!({"Name": name}))?;
        let arn = ptr(&out, "/Environment/Arn").clone();
        let tags = |p: &Props<'_>| -> Map<String, Value> {
            p.get("Tags")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let (o, n) = (tags(old), tags(new));
        let gone: Vec<&String> = o.keys().filter(|k| !n.contains_key(*k)).collect();
        if !gone.is_empty() {
            one(
                ctx,
                "mwaa",
                "UntagResource",
                json!({"ResourceArn": arn, "tagKeys": gone}),
            )?;
        }
        if !n.is_empty() {
            let n: Map<String, Value> =
                n.into_iter().map(|(k, v)| (k, json!(scalar(&v)))).collect();
            one(
                ctx,
                "mwaa",
                "TagResource",
                json!({"ResourceArn": arn, "Tags": n}),
            )?;
        }
    }
    Ok(None)
}
