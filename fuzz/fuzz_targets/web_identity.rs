//! Fuzzes what AssumeRoleWithWebIdentity reads before anything is checked, from a request that
//! needs no signature: the web identity token (`web_identity::claims`: a JWT's three base64url
//! parts, its header and claims as JSON) and the issuer as an OIDC provider URL
//! (`oidc::provider_url`). Neither may panic.
#![no_main]

use airlock_services::iam::oidc::provider_url;
use airlock_services::sts::web_identity::claims;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    if let Ok(c) = claims(&token) {
        let _ = provider_url(&c.iss);
    }
    let _ = provider_url(&token);
});
