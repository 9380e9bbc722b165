//! What the network side needs from the rest of Airlock.

use airlock_services::{Clock, Config};
use airlock_store::Store;
use std::sync::Arc;

/// The state and the service settings.
pub struct Source {
    pub store: Arc<dyn AsRef<Store> + Send + Sync>,
    pub config: Config,
}

impl Source {
    pub fn store(&self) -> &Store {
        (*self.store).as_ref()
    }

    /// The clock at this moment (the real time and `--time-scale`).
    pub fn clock(&self) -> Clock {
        self.config.clock(time::OffsetDateTime::now_utc())
    }
}
