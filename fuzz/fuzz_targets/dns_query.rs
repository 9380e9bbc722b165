//! Fuzzes the DNS query path: arbitrary bytes as a DNS message, answered from the served zones
//! over a store holding one environment-like set of names.
//!
//! Run: `cargo install cargo-fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run dns_query` (in this folder's parent).
#![no_main]

use airlock_net::dns::{answer, Source, Transport};
use airlock_store::Store;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

struct Owned(Store);
impl AsRef<Store> for Owned {
    fn as_ref(&self) -> &Store {
        &self.0
    }
}

fn source() -> Arc<Source> {
    static SOURCE: OnceLock<Arc<Source>> = OnceLock::new();
    SOURCE
        .get_or_init(|| {
            let store = Store::ephemeral(&airlock_services::record_kinds());
            Arc::new(Source {
                store: Arc::new(Owned(store)),
                config: airlock_services::Config::default(),
            })
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let _ = answer(&source(), data, Transport::Udp);
    let _ = answer(&source(), data, Transport::Tcp);
});
