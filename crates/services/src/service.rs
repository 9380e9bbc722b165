//! One registration per service: what an emulated AWS service gives the rest of Airlock.
//!
//! A service module exports one [`Service`] value; [`SERVICES`] collects them. The request path
//! finds an operation's handler here, the store learns every record kind from here (a record
//! whose kind is not registered cannot be written), and the server's ticker runs every
//! registered tick. Adding a service is a new module plus one line in [`SERVICES`]; adding an
//! operation is one line in its service's `ops` (and the operation in the model generator's list).

use crate::Clock;
use crate::Ctx;
use airlock_protocol::{ApiError, ApiResult, Output};
use airlock_store::{Kind, Store};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// A service's operation table, one line an operation: `"Name" => Output(module::handler)` or
/// `"Name" => Value(module::handler)` (see [`Handler`]).
macro_rules! ops {
    ($($op:literal => $kind:ident($f:expr)),* $(,)?) => {
        &[$(($op, $crate::service::Handler::$kind($f))),*]
    };
}
pub(crate) use ops;

/// Runs one operation.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Returns the output as a JSON value keyed by the model's member names (services not yet
    /// moved to `airlock_dto`).
    Value(fn(&Ctx<'_>, &Value) -> ApiResult<Value>),
    /// Returns a typed output: a generated `airlock_dto` struct, or a hand-written one for the
    /// busiest reads.
    Output(fn(&Ctx<'_>, &Value) -> ApiResult<Output>),
}

impl Handler {
    fn run(self, ctx: &Ctx<'_>, input: &Value) -> ApiResult<Output> {
        match self {
            Handler::Value(f) => f(ctx, input).map(Output::from),
            Handler::Output(f) => f(ctx, input),
        }
    }
}

/// Persists a service's finished time-driven phases at `now`; returns how many records moved.
pub type Tick = fn(&Store, &crate::Config, Clock) -> ApiResult<usize>;

/// An operation of the committed model that Airlock answers with an error on purpose, and the
/// error AWS would give in its place.
pub struct Unimplemented {
    pub op: &'static str,
    pub code: &'static str,
    pub message: &'static str,
}

/// Everything one emulated service registers.
pub struct Service {
    /// Botocore's service name: the committed model this service is served from
    /// (`airlock_model::all()`), which gives its signing name and protocol.
    pub name: &'static str,
    /// The operations it runs, by the model's operation name.
    pub ops: &'static [(&'static str, Handler)],
    /// Operations of the model it deliberately does not run.
    pub unimplemented: &'static [Unimplemented],
    /// Runs before every operation (EC2 and ELBv2 create a region's default network on first
    /// use).
    pub before: Option<fn(&Ctx<'_>) -> ApiResult<()>>,
    /// Every record type the service keeps: the store loads and accepts only registered kinds.
    pub records: fn() -> Vec<Kind>,
    /// Persists time-driven transitions; the server calls it a few times a second. Reads never
    /// depend on it having run.
    pub tick: Option<Tick>,
    /// The DNS zones it answers for, each with the function that answers its names.
    pub dns: &'static [crate::dns::Zone],
    /// What its records call for on the data plane (listeners, health checks).
    pub wants: Option<crate::dataplane::WantsFn>,
    /// How IAM authorizes its operations ([`crate::authz`]).
    pub iam: crate::authz::Iam,
    /// The AWS endpoint services (`com.amazonaws.<region>.<name>`, by `<name>`) whose interface
    /// endpoints serve its API inside a VPC.
    pub endpoints: &'static [&'static str],
    /// Names a VPC's own resolver answers before public DNS (private DNS of its interface
    /// endpoints): `Some` answer for a name it holds, asked for queries from inside `vpc`.
    pub vpc_dns: Option<crate::dns::VpcDnsFn>,
}

impl Service {
    /// What a service has when its registration says nothing else: no operations, no records,
    /// no clock-driven state, no DNS names, no data plane
    /// (`Service { name, ops, ..Service::NOTHING }`).
    pub const NOTHING: Service = Service {
        name: "",
        ops: &[],
        unimplemented: &[],
        before: None,
        records: Vec::new,
        tick: None,
        dns: &[],
        wants: None,
        iam: crate::authz::Iam::NONE,
        endpoints: &[],
        vpc_dns: None,
    };

    /// Runs one of this service's operations and gives the output as a JSON value (for tests
    /// that drive a service without the protocol layer).
    pub fn call_value(&self, ctx: &Ctx<'_>, op: &str, input: &Value) -> Option<ApiResult<Value>> {
        dispatch(&routes_of(&[self]), ctx, self.name, op, input).map(|r| r.map(|o| o.to_value()))
    }
}

/// Every emulated service.
pub static SERVICES: &[&Service] = &[
    &crate::ec2::SERVICE,
    &crate::mwaa::SERVICE,
    &crate::iam::SERVICE,
    &crate::sts::SERVICE,
    &crate::acm::SERVICE,
    &crate::elbv2::SERVICE,
    &crate::s3::SERVICE,
    &crate::ssm::SERVICE,
    &crate::cloudformation::SERVICE,
];

/// The service whose API an interface endpoint to AWS endpoint service `short` (`sts`,
/// `airflow.env`) serves, if Airlock runs it.
pub fn serving(short: &str) -> Option<&'static Service> {
    SERVICES
        .iter()
        .copied()
        .find(|s| s.endpoints.contains(&short))
}

/// The registration of a service, by botocore name.
pub fn find(name: &str) -> Option<&'static Service> {
    SERVICES.iter().copied().find(|s| s.name == name)
}

/// Records kept by no single service (the local CA).
fn shared_records() -> Vec<Kind> {
    vec![Kind::of::<crate::ca::CaRecord>()]
}

/// What a request for (service, operation) runs.
enum Route<'a> {
    Run(&'a Service, Handler),
    Refuse(&'a Unimplemented),
}

type Routes<'a> = HashMap<(&'a str, &'a str), Route<'a>>;

fn routes_of<'a>(services: &[&'a Service]) -> Routes<'a> {
    let mut routes = HashMap::new();
    for &s in services {
        for &(op, h) in s.ops {
            routes.insert((s.name, op), Route::Run(s, h));
        }
        for u in s.unimplemented {
            routes.insert((s.name, u.op), Route::Refuse(u));
        }
    }
    routes
}

fn dispatch(
    routes: &Routes<'_>,
    ctx: &Ctx<'_>,
    service: &str,
    op: &str,
    input: &Value,
) -> Option<ApiResult<Output>> {
    Some(match routes.get(&(service, op))? {
        Route::Run(s, h) => match s.before.map_or(Ok(()), |f| f(ctx)) {
            Ok(()) => h.run(ctx, input),
            Err(e) => Err(e),
        },
        Route::Refuse(u) => Err(ApiError::new(u.code, u.message)),
    })
}

/// Runs operation `op` of service `service` (botocore's names). `None`: no registered service
/// runs it (the protocol's "unknown operation").
pub fn call(ctx: &Ctx<'_>, service: &str, op: &str, input: &Value) -> Option<ApiResult<Output>> {
    static ROUTES: OnceLock<Routes<'static>> = OnceLock::new();
    dispatch(
        ROUTES.get_or_init(|| routes_of(SERVICES)),
        ctx,
        service,
        op,
        input,
    )
}

/// Runs read operation `op` of `service` for a reader that must not change the state (the
/// console): as [`call`], but without the service's `before` hook, which may create what a
/// first request finds (EC2's default network of a region). The output as its JSON value.
pub fn read(ctx: &Ctx<'_>, service: &str, op: &str, input: &Value) -> Option<ApiResult<Value>> {
    static ROUTES: OnceLock<Routes<'static>> = OnceLock::new();
    match ROUTES
        .get_or_init(|| routes_of(SERVICES))
        .get(&(service, op))?
    {
        Route::Run(_, h) => Some(h.run(ctx, input).map(|o| o.to_value())),
        Route::Refuse(u) => Some(Err(ApiError::new(u.code, u.message))),
    }
}

/// Every record kind the services keep; the store needs them to load a data directory and
/// refuses to write any other.
pub fn record_kinds() -> Vec<Kind> {
    let mut kinds = shared_records();
    for s in SERVICES {
        kinds.extend((s.records)());
    }
    kinds
}

/// Moves time-based state forward in every service that has some.
pub fn tick(store: &Store, config: &crate::Config, clock: Clock) -> ApiResult<usize> {
    let mut moved = 0;
    for f in SERVICES.iter().filter_map(|s| s.tick) {
        moved += f(store, config, clock)?;
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_model_has_exactly_one_registered_service() {
        let models: BTreeSet<&str> = airlock_model::all().iter().map(|m| m.name).collect();
        let services: Vec<&str> = SERVICES.iter().map(|s| s.name).collect();
        let unique: BTreeSet<&str> = services.iter().copied().collect();
        assert_eq!(
            unique.len(),
            services.len(),
            "a service is registered twice"
        );
        assert_eq!(models, unique);
    }

    /// An operation of a committed model that nothing dispatches would answer "unknown
    /// operation" although Airlock claims it; one dispatched but absent from the model can never
    /// be reached.
    #[test]
    fn every_model_operation_is_dispatched_or_refused_on_purpose() {
        for s in SERVICES {
            let model = airlock_model::all()
                .iter()
                .find(|m| m.name == s.name)
                .expect("registered services have models");
            let in_model: BTreeSet<&str> = model.operations().map(|o| &*o.name).collect();
            let mut handled = BTreeSet::new();
            for op in s
                .ops
                .iter()
                .map(|(op, _)| *op)
                .chain(s.unimplemented.iter().map(|u| u.op))
            {
                assert!(handled.insert(op), "{}: {op} is listed twice", s.name);
            }
            let missing: Vec<_> = in_model.difference(&handled).collect();
            let extra: Vec<_> = handled.difference(&in_model).collect();
            assert!(
                missing.is_empty(),
                "{}: operations of the model that nothing dispatches: {missing:?}",
                s.name
            );
            assert!(
                extra.is_empty(),
                "{}: dispatched operations the model does not have: {extra:?}",
                s.name
            );
        }
    }

    /// A registration's operations run after its `before` hook (whose error stops them);
    /// refused operations answer their error; anything else is no one's.
    #[test]
    fn dispatch_runs_refuses_or_knows_nothing() {
        fn echo(_: &Ctx<'_>, input: &Value) -> ApiResult<Value> {
            Ok(input.clone())
        }
        fn closed(ctx: &Ctx<'_>) -> ApiResult<()> {
            match ctx.region.as_str() {
                "closed-1" => Err(ApiError::new("OptInRequired", "closed")),
                _ => Ok(()),
            }
        }
        static TEST: Service = Service {
            name: "test",
            ops: &[("Echo", Handler::Value(echo))],
            unimplemented: &[Unimplemented {
                op: "Later",
                code: "NotImplemented",
                message: "Not yet.",
            }],
            before: Some(closed),
            ..Service::NOTHING
        };
        let routes = routes_of(&[&TEST]);
        let store = Store::ephemeral(&[]);
        let config = crate::Config::default();
        let mut ctx = crate::auth::test_support::ctx_as(
            &store,
            &config,
            crate::auth::test_support::root_principal("123456789012"),
        );
        let input = serde_json::json!({"A": 1});
        let out = dispatch(&routes, &ctx, "test", "Echo", &input)
            .unwrap()
            .unwrap();
        assert_eq!(out.to_value(), input);
        let refused = dispatch(&routes, &ctx, "test", "Later", &input)
            .unwrap()
            .unwrap_err();
        assert_eq!(
            (refused.code.as_str(), refused.message.as_str()),
            ("NotImplemented", "Not yet.")
        );
        assert!(dispatch(&routes, &ctx, "test", "Other", &input).is_none());
        assert!(dispatch(&routes, &ctx, "other", "Echo", &input).is_none());
        ctx.region = "closed-1".into();
        let stopped = dispatch(&routes, &ctx, "test", "Echo", &input)
            .unwrap()
            .unwrap_err();
        assert_eq!(stopped.code, "OptInRequired");
    }

    /// EC2 and ELBv2 resources live in VPCs: their first operation in a region makes its
    /// default network; the others leave the region alone.
    #[test]
    fn vpc_services_make_the_default_network_first() {
        use crate::auth::test_support::{ctx_as, root_principal};
        let config = crate::Config::default();
        for (service, op, makes) in [
            (&crate::ec2::SERVICE, "DescribeVpcs", true),
            (&crate::elbv2::SERVICE, "DescribeLoadBalancers", true),
            (&crate::acm::SERVICE, "ListCertificates", false),
        ] {
            let store = Store::ephemeral(&record_kinds());
            let ctx = ctx_as(&store, &config, root_principal("123456789012"));
            service
                .call_value(&ctx, op, &serde_json::json!({}))
                .unwrap()
                .unwrap();
            let made = store.read(|v| {
                v.get::<crate::ec2::vpc::RegionState>(&ctx.scope(), "state")
                    .is_some_and(|r| r.default_vpc_id.is_some())
            });
            assert_eq!(made, makes, "{} {op}", service.name);
        }
    }

    #[test]
    fn record_kinds_are_registered_once() {
        let kinds = record_kinds();
        let names: BTreeSet<&str> = kinds.iter().map(|k| k.name).collect();
        assert_eq!(
            names.len(),
            kinds.len(),
            "a record kind is registered twice"
        );
    }
}
