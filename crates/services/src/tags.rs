//! Tags as every service keeps them (a key and a value) and as outputs carry them (`Key`,
//! `Value`). Each service checks its own limits and wording (EC2: `ec2::common::check_tags`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One tag of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

pub fn tags_json(tags: &[Tag]) -> Value {
    serde_json::to_value(tags_out(tags)).unwrap_or(Value::Null)
}

/// A tag as outputs carry it (`Key`, `Value`).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagOut<'a> {
    pub key: &'a str,
    pub value: &'a str,
}

pub fn tags_out(tags: &[Tag]) -> Vec<TagOut<'_>> {
    tags.iter()
        .map(|t| TagOut {
            key: &t.key,
            value: &t.value,
        })
        .collect()
}
