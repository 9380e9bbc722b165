//! Fuzzes the `json` and `rest-json` protocols' body decoding: the bytes after the first three
//! (which pick a model and operation, `airlock_fuzz`) as the JSON body, checked against the
//! operation's input shape, then the error envelope a rejected body is answered with.
#![no_main]

use airlock_model::Protocol;
use airlock_protocol::{envelope, json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((model, op, body)) =
        airlock_fuzz::pick_operation(data, &[Protocol::Json, Protocol::RestJson])
    else {
        return;
    };
    if let Err(e) = json::decode(model, op.input.as_deref(), body) {
        let _ = envelope::error(model.protocol, Some(model), &e, "request-id");
    }
});
