//! Fuzzes the `ec2` and `query` protocols' input path: the form parser, then the decoder against
//! the committed model of an operation picked from the first three bytes (`airlock_fuzz`), then
//! the error envelope a rejected request is answered with (it may quote the client's names).
#![no_main]

use airlock_model::Protocol;
use airlock_protocol::{envelope, query};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((model, op, body)) =
        airlock_fuzz::pick_operation(data, &[Protocol::Ec2, Protocol::Query])
    else {
        return;
    };
    let dialect = match model.protocol {
        Protocol::Ec2 => query::Dialect::Ec2,
        _ => query::Dialect::Query,
    };
    let err = match query::parse_form(body) {
        Ok(params) => match query::decode(model, dialect, op, &params) {
            Ok(_) => return,
            Err(e) => e,
        },
        Err(e) => e,
    };
    let _ = envelope::error(model.protocol, Some(model), &err, "request-id");
});
