//! `airlock-mwaa` (run as `airlock mwaa ...`): the AWS page's procedure for a private MWAA
//! webserver as commands, against Airlock (`AWS_ENDPOINT_URL`) or real AWS.

use airlock_mwaa::discover::{self, Lookup};
use airlock_mwaa::expose::{self, CertificateSource, Options, Via};
use airlock_mwaa::{doctor, Clients};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "airlock mwaa",
    bin_name = "airlock mwaa",
    version,
    about = "The AWS page's procedure for reaching a private MWAA webserver, as commands",
    long_about = "The AWS page's procedure for reaching a private MWAA webserver, as commands.\n\n\
        Credentials and region come from the standard AWS chain (environment, profiles, SSO, \
        credential_process); AWS_ENDPOINT_URL points every call at Airlock (eval \"$(airlock env)\")."
)]
struct Cli {
    #[command(flatten)]
    aws: AwsArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct AwsArgs {
    /// Region of the environment [default: the chain's: AWS_REGION, the profile's].
    #[arg(long, global = true)]
    region: Option<String>,
    /// Named profile of ~/.aws/config [default: AWS_PROFILE].
    #[arg(long, global = true)]
    profile: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Steps 1-4 of the page: the webserver host, its CNAME, the endpoint and its private IPs
    /// per zone, from DNS and cross-checked with the endpoint's interfaces.
    Endpoints {
        /// The environment's name.
        name: String,
        #[command(flatten)]
        dns: DnsArgs,
        #[arg(long, value_enum, default_value = "table")]
        output: Output,
    },
    /// The load-balancer path: target group (both IPs, HTTPS:443, matcher 200,302), load
    /// balancer, HTTPS/TLS listener with the certificate, security group rules. Idempotent.
    Expose(ExposeArgs),
    /// Re-registers the webserver endpoint's current IPs in the target groups `expose` made.
    SyncTargets {
        /// The environment's name.
        name: String,
        /// Print what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Checks every mistake the page and MWAA's troubleshooting guide warn about and prints the
    /// command that fixes each; exits 1 when it finds a problem.
    Doctor {
        /// The environment's name.
        name: String,
        #[command(flatten)]
        dns: DnsArgs,
    },
}

#[derive(Args)]
struct DnsArgs {
    /// DNS server to ask, as `dig @server` [default: the system's; Airlock's is 127.0.0.1:1053].
    #[arg(long, env = "AIRLOCK_DNS_SERVER")]
    dns_server: Option<SocketAddr>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ViaArg {
    Alb,
    Nlb,
}

#[derive(Args)]
struct ExposeArgs {
    /// The environment's name.
    name: String,
    /// Application (HTTPS listener) or Network (TLS listener) Load Balancer.
    #[arg(long, value_enum)]
    via: ViaArg,
    /// An internet-facing load balancer (public subnets); otherwise internal.
    #[arg(long)]
    internet_facing: bool,
    /// An ISSUED ACM certificate of the environment's region.
    #[arg(long, conflicts_with_all = ["certificate", "private_key", "chain"], required_unless_present = "certificate")]
    certificate_arn: Option<String>,
    /// A PEM certificate to import into ACM in the environment's region (unless already there).
    #[arg(long, requires = "private_key")]
    certificate: Option<PathBuf>,
    /// The certificate's PEM private key (unencrypted).
    #[arg(long, requires = "certificate")]
    private_key: Option<PathBuf>,
    /// The PEM chain of the certificate's issuers.
    #[arg(long, requires = "certificate")]
    chain: Option<PathBuf>,
    /// Subnets for a new load balancer (two zones; public ones with --internet-facing).
    #[arg(long, num_args = 1.., value_delimiter = ',')]
    subnets: Vec<String>,
    /// Print the plan; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Seconds to wait for the load balancer to be active and the targets healthy (0: do not wait).
    #[arg(long, default_value_t = 900)]
    wait: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let c = Clients::from_env(cli.aws.region, cli.aws.profile).await?;
    match cli.command {
        Command::Endpoints { name, dns, output } => {
            let e = discover::endpoints(&c, &name, Lookup::Dns(dns.dns_server)).await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&e.to_json())?),
                Output::Table => print!("{}", e.to_table()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Expose(a) => {
            let certificate = match (a.certificate_arn, a.certificate, a.private_key) {
                (Some(arn), _, _) => CertificateSource::Arn(arn),
                (None, Some(certificate), Some(private_key)) => CertificateSource::Files {
                    certificate,
                    private_key,
                    chain: a.chain,
                },
                _ => anyhow::bail!("give --certificate-arn, or --certificate and --private-key"),
            };
            let o = Options {
                via: match a.via {
                    ViaArg::Alb => Via::Alb,
                    ViaArg::Nlb => Via::Nlb,
                },
                internet_facing: a.internet_facing,
                certificate,
                subnets: a.subnets,
                dry_run: a.dry_run,
                wait: Duration::from_secs(a.wait),
            };
            expose::expose(&c, &a.name, &o).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::SyncTargets { name, dry_run } => {
            expose::sync_targets(&c, &name, dry_run).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor { name, dns } => {
            let report = doctor::doctor(&c, &name, dns.dns_server).await?;
            print!("{}", report.render());
            Ok(if report.problems() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
