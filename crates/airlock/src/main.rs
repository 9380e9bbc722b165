//! `airlock`: the emulator (`airlock serve`) and its helpers.

mod jsonlog;
mod logwriter;

use airlock_server::ServerConfig;
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "airlock",
    version,
    about = "Offline emulator of Amazon MWAA's VPC endpoint access path and the AWS APIs around it"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the emulator: every AWS API on one port.
    Serve(Serve),
    /// Print shell exports that point the AWS CLI and SDKs at Airlock: `eval "$(airlock env)"`.
    Env(Env),
    /// The AWS page's procedure as commands: `airlock mwaa endpoints|expose|sync-targets|doctor`
    /// (runs the `airlock-mwaa` program installed next to `airlock`; `airlock mwaa --help`).
    #[command(disable_help_flag = true)]
    Mwaa {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<std::ffi::OsString>,
    },
    /// Print the certificate of Airlock's local CA (PEM), which issues the webservers'
    /// certificates: `airlock ca > airlock-ca.pem`, then `curl --cacert airlock-ca.pem ...`.
    Ca(CaArgs),
}

#[derive(Parser)]
struct CaArgs {
    /// The running Airlock's API address.
    #[arg(long, env = "AIRLOCK_LISTEN", default_value = "127.0.0.1:4566")]
    listen: SocketAddr,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Auth {
    On,
    Off,
}

/// `--iam`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Iam {
    Enforce,
    Log,
    Off,
}

#[derive(Parser)]
struct Serve {
    /// Address of the API gateway (every AWS service, and /_airlock/*).
    #[arg(long, env = "AIRLOCK_LISTEN", default_value = "127.0.0.1:4566")]
    listen: SocketAddr,
    /// Address of the DNS server (UDP and TCP), or `off`.
    #[arg(long, env = "AIRLOCK_DNS_LISTEN", default_value = "127.0.0.1:1053", value_parser = parse_dns_listen)]
    dns_listen: DnsListen,
    /// Where the state lives [default: $XDG_DATA_HOME/airlock, or ~/.local/share/airlock].
    #[arg(long, env = "AIRLOCK_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Keep the state in memory only; nothing is written to disk.
    #[arg(long, env = "AIRLOCK_EPHEMERAL")]
    ephemeral: bool,
    /// Multiplies AWS's real durations (1 = real time; 0 = instant).
    #[arg(long, env = "AIRLOCK_TIME_SCALE", default_value_t = 0.01)]
    time_scale: f64,
    /// Verify SigV4 signatures (`off` accepts any credentials).
    #[arg(long, env = "AIRLOCK_AUTH", value_enum, default_value = "on")]
    auth: Auth,
    /// Authorize requests against the caller's IAM policies: `enforce` refuses what they do
    /// not allow (AWS's AccessDenied), `log` logs it and lets it run, `off` skips the check.
    /// An account's root (the default `test` key, 12-digit keys) may do anything.
    #[arg(long, env = "AIRLOCK_IAM", value_enum, default_value = "enforce")]
    iam: Iam,
    /// Account of the default `test` access key.
    #[arg(long, env = "AIRLOCK_DEFAULT_ACCOUNT", default_value = "000000000000")]
    default_account: String,
    /// Log format.
    #[arg(long, env = "AIRLOCK_LOG_FORMAT", value_parser = ["text", "json"], default_value = "text")]
    log_format: String,
    /// Seconds a connection may take to send a request's headers (or sit idle between
    /// requests), and the longest pause inside a request body; then it is closed.
    #[arg(long, env = "AIRLOCK_READ_TIMEOUT", default_value_t = 20.0)]
    read_timeout: f64,
    /// Connections one source address may hold open on the API port at once.
    #[arg(long, env = "AIRLOCK_MAX_CONNECTIONS_PER_IP", default_value_t = 1024)]
    max_connections_per_ip: usize,
    /// Connections all sources together may hold open on the API port at once (at most what
    /// the open-file limit leaves beside 1,024 descriptors for the rest of the server).
    #[arg(long, env = "AIRLOCK_MAX_CONNECTIONS", default_value_t = 8192)]
    max_connections: usize,
    /// Start on a damaged state database (an empty file, or a write-ahead log SQLite would
    /// read only in part) with what can be read, after copying the damaged files to
    /// `damaged-<unix time>/` in the data directory. Without it Airlock refuses to start on one.
    #[arg(long, env = "AIRLOCK_RECOVER")]
    recover: bool,
    /// Serve the web console at http://<listen>/_airlock/console/ (it only reads the state).
    #[arg(long, env = "AIRLOCK_CONSOLE", value_enum, default_value = "on")]
    console: Auth,
}

#[derive(Parser)]
struct Env {
    /// Airlock's API address.
    #[arg(long, env = "AIRLOCK_LISTEN", default_value = "127.0.0.1:4566")]
    listen: SocketAddr,
    /// Region for the clients.
    #[arg(long, default_value = "us-west-2")]
    region: String,
    /// Airlock's DNS server, for `airlock mwaa` (AIRLOCK_DNS_SERVER).
    #[arg(long, env = "AIRLOCK_DNS_LISTEN", default_value = "127.0.0.1:1053")]
    dns_listen: SocketAddr,
}

#[derive(Clone, Copy)]
struct DnsListen(Option<SocketAddr>);

fn parse_dns_listen(s: &str) -> Result<DnsListen, String> {
    if s == "off" {
        return Ok(DnsListen(None));
    }
    s.parse()
        .map(|a| DnsListen(Some(a)))
        .map_err(|e| format!("{e} (an address like 127.0.0.1:1053, or off)"))
}

/// `GET /_airlock/ca` from the running server (plain HTTP on loopback).
fn fetch_ca(addr: SocketAddr) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5))?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    write!(
        s,
        "GET /_airlock/ca HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    if !head.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(
            head.lines().next().unwrap_or("no answer").to_owned(),
        ));
    }
    Ok(body.to_owned())
}

/// `airlock mwaa ...`: runs `airlock-mwaa` from `airlock`'s own directory (where `cargo build`
/// and `cargo install` put it), else from PATH. The AWS SDK it needs stays out of the server's
/// build.
fn run_mwaa(args: Vec<std::ffi::OsString>) -> ExitCode {
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.join("airlock-mwaa")))
        .filter(|p| p.is_file());
    let program = sibling.unwrap_or_else(|| PathBuf::from("airlock-mwaa"));
    let mut cmd = std::process::Command::new(&program);
    cmd.args(&args);
    #[cfg(unix)]
    let e = std::os::unix::process::CommandExt::exec(&mut cmd);
    #[cfg(not(unix))]
    let e = match cmd.status() {
        Ok(s) => return ExitCode::from(s.code().unwrap_or(2) as u8),
        Err(e) => e,
    };
    eprintln!(
        "error: cannot run {}: {e} (build it with `cargo build --release -p airlock-mwaa`, or `cargo install --path crates/mwaa`)",
        program.display()
    );
    ExitCode::from(2)
}

fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("airlock")
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Env(env) => {
            print!(
                "export AWS_ENDPOINT_URL=http://{listen}\n\
                 export AWS_DISABLE_HOST_PREFIX_INJECTION=true\n\
                 export AWS_ACCESS_KEY_ID=test\n\
                 export AWS_SECRET_ACCESS_KEY=test\n\
                 export AWS_REGION={region}\n\
                 export AWS_DEFAULT_REGION={region}\n\
                 export AIRLOCK_DNS_SERVER={dns}\n\
                 # the web console: http://{listen}/_airlock/console/\n",
                listen = env.listen,
                region = env.region,
                dns = env.dns_listen,
            );
            ExitCode::SUCCESS
        }
        Command::Serve(serve) => run_serve(serve),
        Command::Mwaa { args } => run_mwaa(args),
        Command::Ca(args) => match fetch_ca(args.listen) {
            Ok(pem) => {
                print!("{pem}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot get the CA from Airlock at {}: {e} (is `airlock serve` running?)", args.listen);
                ExitCode::FAILURE
            }
        },
    }
}

fn run_serve(s: Serve) -> ExitCode {
    // One line per API request and per data-plane event (DNS queries are not logged).
    let filter = tracing_subscriber::EnvFilter::try_from_env("AIRLOCK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Lines are written to stderr by a thread of their own; `_flush` writes the rest on exit.
    let (lines, _flush) = logwriter::stderr();
    if s.log_format == "json" {
        tracing_subscriber::fmt()
            .event_format(jsonlog::JsonLines)
            .with_env_filter(filter)
            .with_writer(lines)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(lines)
            .init();
    }
    if !(s.time_scale >= 0.0 && s.time_scale.is_finite()) {
        eprintln!("error: --time-scale must be a number >= 0");
        return ExitCode::from(2);
    }
    let Ok(read_timeout) = std::time::Duration::try_from_secs_f64(s.read_timeout) else {
        eprintln!("error: --read-timeout must be a number of seconds > 0");
        return ExitCode::from(2);
    };
    if read_timeout.is_zero() || s.max_connections_per_ip == 0 || s.max_connections == 0 {
        eprintln!(
            "error: --read-timeout, --max-connections-per-ip and --max-connections must be > 0"
        );
        return ExitCode::from(2);
    }
    let mut max_connections = s.max_connections;
    if let Some(budget) = airlock_server::connection_budget() {
        if max_connections > budget {
            tracing::warn!(
                "--max-connections {max_connections} lowered to {budget}: the open-file limit \
                 (ulimit -n) leaves no more beside what the rest of the server needs"
            );
            max_connections = budget;
        }
    }
    let data_dir = if s.ephemeral {
        None
    } else {
        Some(s.data_dir.unwrap_or_else(default_data_dir))
    };
    let config = ServerConfig {
        listen: s.listen,
        dns_listen: s.dns_listen.0,
        data_dir,
        auth: s.auth == Auth::On,
        services: airlock_services::Config {
            time_scale: s.time_scale,
            default_account: s.default_account,
            iam: match s.iam {
                Iam::Enforce => airlock_services::authz::Mode::Enforce,
                Iam::Log => airlock_services::authz::Mode::Log,
                Iam::Off => airlock_services::authz::Mode::Off,
            },
            ..airlock_services::Config::default()
        },
        limits: airlock_server::Limits {
            read_timeout,
            max_connections_per_ip: s.max_connections_per_ip,
            max_connections,
        },
        recover: s.recover,
        console: s.console == Auth::On,
        ..ServerConfig::default()
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let running = match airlock_server::start(config).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::FAILURE;
            }
        };
        let cfg = &running.state.config;
        tracing::info!(
            target: "airlock",
            listen = %running.addr,
            dns = running.dns_addr.map(|a| a.to_string()).unwrap_or_else(|| "off".into()),
            data_dir = cfg.data_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_else(|| "(ephemeral)".into()),
            auth = cfg.auth,
            time_scale = cfg.services.time_scale,
            console = if cfg.console { format!("http://{}/_airlock/console/", running.addr) } else { "off".into() },
            "airlock ready"
        );
        shutdown_signal().await;
        tracing::info!(target: "airlock", "shutting down");
        match running.stop().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
