//! Fuzzes CloudFormation templates as CreateStack and ValidateTemplate read them: the body (JSON,
//! or YAML with the short-form tags) into its long form, the structure checks and dependency
//! order, and, for a template that passes them, its conditions, every resource's properties and
//! its outputs resolved (parameters at their defaults, each resource known with a made-up
//! reference and attributes). None may panic, and each is linear in the template's size.
#![no_main]

use airlock_services::cloudformation::{eval, template};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let Ok(doc) = template::parse(&body) else {
        return;
    };
    if template::check(&doc).is_err() {
        return;
    }
    let mut params: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in template::section(&doc, "Parameters").unwrap_or_default() {
        params.insert(k.to_string(), v.get("Default").cloned().unwrap_or(Value::from("x")));
    }
    for (k, v) in [
        ("AWS::Region", "us-west-2"),
        ("AWS::AccountId", "000000000000"),
        ("AWS::StackName", "fuzz"),
        ("AWS::Partition", "aws"),
    ] {
        params.insert(k.into(), Value::from(v));
    }
    let resources: BTreeMap<String, eval::Known> = template::resources(&doc)
        .into_iter()
        .map(|(name, _)| {
            let mut attrs = Map::new();
            attrs.insert("CidrBlock".into(), Value::from("10.0.0.0/16"));
            attrs.insert("Arn".into(), Value::from(format!("arn:aws:x:::{name}")));
            (
                name.to_string(),
                eval::Known {
                    reference: Value::from(format!("id-{name}")),
                    attrs,
                },
            )
        })
        .collect();
    let exports = BTreeMap::from([("net-azs".to_string(), "us-west-2a,us-west-2b".to_string())]);
    let azs = vec!["us-west-2a".to_string(), "us-west-2b".to_string()];
    let mut conditions = BTreeMap::new();
    let none = BTreeMap::new();
    for (name, expr) in template::section(&doc, "Conditions").unwrap_or_default() {
        let env = eval::Env {
            doc: &doc,
            params: &params,
            resources: &none,
            conditions: &conditions,
            azs: &azs,
            region: "us-west-2",
            exports: &exports,
        };
        let truth = env.truth(expr).unwrap_or(false);
        conditions.insert(name.to_string(), truth);
    }
    let env = eval::Env {
        doc: &doc,
        params: &params,
        resources: &resources,
        conditions: &conditions,
        azs: &azs,
        region: "us-west-2",
        exports: &exports,
    };
    for (_, r) in template::resources(&doc) {
        if let Some(p) = r.get("Properties") {
            let _ = env.resolve(p);
        }
    }
    let _ = airlock_services::cloudformation::outputs(&env, &doc);
});
