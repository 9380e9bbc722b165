//! Elastic Load Balancing v2 (awsQuery, version 2015-12-01).
//! (Being written; see the task.)

use crate::Ctx;
use airlock_protocol::ApiResult;
use airlock_store::Kind;
use serde_json::Value;

pub fn record_kinds() -> Vec<Kind> {
    vec![]
}

pub fn call(_ctx: &Ctx<'_>, _op: &str, _input: &Value) -> Option<ApiResult<Value>> {
    None
}
