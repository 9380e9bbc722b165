//! The API gateway: every AWS service on one HTTP port, plus the `/_airlock/*` admin endpoints.
//!
//! Request path: [`classify`] finds the service and operation (X-Amz-Target, then the MWAA REST
//! paths, then `Action` + `Version`, then the SigV4 scope), [`auth`] verifies the signature,
//! the protocol codecs decode the input against the service model, `airlock_services::call` runs
//! the operation against the store, and the result or error is encoded in the protocol's
//! envelope. One log line per request.

pub mod auth;
mod conn;
mod console;
mod gateway;
mod spool;

use airlock_services::Config;
use airlock_store::{Store, StoreError};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use conn::{connection_budget, Limits};
pub use gateway::app;

/// Everything `airlock serve` can be told.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The DNS server's address (UDP and TCP); `None`: no DNS server.
    pub dns_listen: Option<SocketAddr>,
    /// `None`: keep the state in memory (`--ephemeral`).
    pub data_dir: Option<PathBuf>,
    pub auth: bool,
    pub services: Config,
    /// Largest request body accepted, in bytes.
    pub max_body: usize,
    /// Largest body of an operation whose input is a blob payload (S3's PutObject and
    /// UploadPart), in bytes: spooled to a file under the data directory as it arrives, or held
    /// in memory by an ephemeral server (which keeps objects in memory anyway).
    pub max_object_body: usize,
    /// Time and number bounds on the API port's connections.
    pub limits: Limits,
    /// Start on a damaged database with what can be read, after copying the damaged files
    /// aside (`--recover`); without it such a database is refused.
    pub recover: bool,
    /// Serve the web console at `/_airlock/console/` (`--console on`, the default).
    pub console: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 4566)),
            dns_listen: Some(SocketAddr::from(([127, 0, 0, 1], 1053))),
            data_dir: None,
            auth: true,
            services: Config::default(),
            max_body: 16 * 1024 * 1024,
            // S3's largest single PUT: 5 GiB.
            max_object_body: 5 * 1024 * 1024 * 1024,
            limits: Limits::default(),
            recover: false,
            console: true,
        }
    }
}

/// State shared by every request.
pub struct AppState {
    pub store: Store,
    pub config: ServerConfig,
    /// The local certificate authority of the emulated webservers.
    pub ca: Arc<airlock_net::ca::Ca>,
    /// Where the DNS server answers, once it runs (the console's `dig` commands).
    pub dns_addr: std::sync::OnceLock<SocketAddr>,
    /// The console's CSRF secret: random per process, carried by its one form.
    pub console_secret: String,
}

impl AppState {
    /// The clock at this moment (the real time and `--time-scale`).
    pub fn clock(&self) -> airlock_services::Clock {
        self.config.services.clock(time::OffsetDateTime::now_utc())
    }
}

/// Opens the store the configuration asks for.
pub fn open_store(config: &ServerConfig) -> anyhow::Result<Store> {
    let mut kinds = airlock_services::record_kinds();
    kinds.extend(airlock_net::record_kinds());
    match &config.data_dir {
        None => Ok(Store::ephemeral(&kinds)),
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create data directory {}", dir.display()))?;
            spool::clear(dir);
            let path = dir.join("airlock.db");
            let (store, recovered) =
                Store::open_with(&path, &kinds, config.recover).map_err(|e: StoreError| {
                    anyhow::anyhow!("cannot open the state database {}: {e}", path.display())
                })?;
            if let Some(r) = recovered {
                tracing::error!(
                    "the state database {} was damaged: {}; the damaged files are copied to {}, \
                     and Airlock goes on with what could be read (--recover)",
                    path.display(),
                    r.damage,
                    r.copy.display()
                );
            }
            Ok(store)
        }
    }
}

impl AsRef<Store> for AppState {
    fn as_ref(&self) -> &Store {
        &self.store
    }
}

/// A running server (used by `airlock serve` and by the integration tests).
pub struct Running {
    pub addr: SocketAddr,
    /// Where the DNS server answers, if it runs.
    pub dns_addr: Option<SocketAddr>,
    pub state: Arc<AppState>,
    dns: Option<airlock_net::dns::DnsServer>,
    ticker: tokio::task::JoinHandle<()>,
    dataplane: tokio::task::JoinHandle<()>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(());
        self.ticker.abort();
        let _ = self.ticker.await;
        self.dataplane.abort();
        let _ = self.dataplane.await;
        if let Some(dns) = self.dns {
            dns.stop().await;
        }
        self.task.await.unwrap_or(Ok(()))
    }
}

/// Binds the listener and serves in the background.
pub async fn start(config: ServerConfig) -> anyhow::Result<Running> {
    let store = open_store(&config)?;
    let listener = airlock_net::accept::bind(config.listen).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            " (is another Airlock or AWS emulator running? choose another with --listen)"
        } else {
            ""
        };
        anyhow::anyhow!("cannot listen on {}: {e}{hint}", config.listen)
    })?;
    let addr = listener.local_addr()?;
    let ca = Arc::new(airlock_net::ca::Ca::new());
    // The local CA is loaded (or created) when first needed: see `airlock_net::ca::Ca`.
    let state = Arc::new(AppState {
        store,
        config,
        ca,
        dns_addr: std::sync::OnceLock::new(),
        console_secret: uuid::Uuid::new_v4().simple().to_string(),
    });
    let dns = match state.config.dns_listen {
        Some(dns_addr) => {
            let source = airlock_net::dns::Source {
                store: state.clone(),
                config: state.config.services.clone(),
            };
            let dns = airlock_net::dns::DnsServer::start(dns_addr, source)
                .await
                .map_err(|e| anyhow::anyhow!("cannot serve DNS on {dns_addr}: {e} (choose another with --dns-listen, or off)"))?;
            Some(dns)
        }
        None => None,
    };
    let dns_addr = dns.as_ref().map(|d| d.addr);
    if let Some(a) = dns_addr {
        let _ = state.dns_addr.set(a);
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = app(state.clone());
    let source = Arc::new(airlock_net::Source {
        store: state.clone(),
        config: state.config.services.clone(),
    });
    let endpoints = conn::endpoint_handler(router.clone(), state.config.limits);
    let budget = conn::listener_budget(state.config.limits.max_connections);
    let dataplane = tokio::spawn(airlock_net::dataplane::run(
        source,
        state.ca.clone(),
        Some(endpoints),
        budget.unwrap_or(usize::MAX),
    ));
    let ticker = state.clone();
    let ticker = tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_millis(100));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            every.tick().await;
            if let Err(e) =
                airlock_services::tick(&ticker.store, &ticker.config.services, ticker.clock())
            {
                tracing::warn!(target: "airlock::tick", error = %e, "could not persist a state transition");
            }
        }
    });
    let limits = state.config.limits;
    let task = tokio::spawn(conn::serve(listener, router, limits, async {
        let _ = rx.await;
    }));
    Ok(Running {
        addr,
        dns_addr,
        state,
        dns,
        ticker,
        dataplane,
        shutdown: tx,
        task,
    })
}
