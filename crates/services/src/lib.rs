//! The emulated AWS services.
//!
//! Each operation is a function from a request context and the decoded input (a JSON object
//! keyed by the model's member names) to the output object or an [`ApiError`]. Services know no
//! HTTP: the server decodes and encodes, services read and write the store. Services call each
//! other's model functions directly, never over HTTP.

pub mod acm;
pub mod auth;
pub mod authz;
pub mod ca;
pub mod cloudformation;
pub mod dataplane;
pub mod dns;
pub mod ec2;
pub mod elbv2;
pub mod iam;
pub mod ids;
pub mod input;
pub mod mwaa;
pub mod partition;
pub mod policy;
pub mod s3;
pub mod service;
pub mod ssm;
pub mod sts;
pub mod tags;

use airlock_store::{Scope, Store};
use time::OffsetDateTime;

/// Settings that change how services behave.
#[derive(Debug, Clone)]
pub struct Config {
    /// Multiplies AWS's real durations (0.01: a 2-minute provisioning takes 1.2 s).
    pub time_scale: f64,
    /// The account of the default `test` access key.
    pub default_account: String,
    /// The loopback /16s (`127.N.0.0`) this server may give VPCs. Servers that run side by side
    /// (the integration tests) take disjoint ranges so their listeners never collide.
    pub fabric_slots: std::ops::RangeInclusive<u8>,
    /// `--iam`: whether requests are authorized against their callers' policies.
    pub iam: authz::Mode,
}

impl Config {
    /// The clock of a request, a tick or a data-plane pass that acts at `now`.
    pub fn clock(&self, now: OffsetDateTime) -> Clock {
        Clock::new(now, self.time_scale)
    }
}

/// When an action happens, and how long AWS's durations last here.
///
/// The one policy for emulated time: records keep the real instants at which things happened
/// (`created`, a phase's `since`, an instance's `action_at`); how long AWS takes from there
/// (an endpoint's provisioning, an instance's start) is applied when the record is read, with
/// [`Clock::after`]. So no record holds a scaled deadline, and every reader of a state needs
/// only the clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    now: OffsetDateTime,
    /// `--time-scale`: AWS's 2-minute provisioning takes `120 * scale` seconds here.
    scale: f64,
    /// `now` in nanoseconds since the epoch, computed once: [`Clock::passed`] is asked for
    /// every record a describe lists.
    now_ns: i128,
}

impl Clock {
    pub fn new(now: OffsetDateTime, scale: f64) -> Clock {
        Clock {
            now,
            scale,
            now_ns: now.unix_timestamp_nanos(),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// `seconds` of AWS time, in real time.
    pub fn scaled(&self, seconds: f64) -> time::Duration {
        time::Duration::seconds_f64((seconds * self.scale).max(0.0))
    }

    /// The instant `seconds` of AWS time after `since`.
    pub fn after(&self, since: OffsetDateTime, seconds: f64) -> OffsetDateTime {
        since + self.scaled(seconds)
    }

    /// The same clock `seconds` of AWS time later: what will have happened by then.
    pub fn ahead(&self, seconds: f64) -> Clock {
        Clock::new(self.now + self.scaled(seconds), self.scale)
    }

    /// Whether `seconds` of AWS time have passed since `since`. (In whole nanoseconds: asked
    /// for every endpoint a describe lists, so it avoids `OffsetDateTime` arithmetic.)
    pub fn passed(&self, since: OffsetDateTime, seconds: f64) -> bool {
        let waited = self.now_ns - since.unix_timestamp_nanos();
        waited >= ((seconds * self.scale).max(0.0) * 1e9).round() as i128
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            time_scale: 0.01,
            default_account: "000000000000".into(),
            fabric_slots: 1..=254,
            iam: authz::Mode::Enforce,
        }
    }
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: String,
    /// `arn:aws:iam::<acct>:root`, `...:user/<name>` or `arn:aws:sts::<acct>:assumed-role/<role>/<session>`.
    pub arn: String,
    /// `UserId` as GetCallerIdentity reports it.
    pub user_id: String,
    pub access_key_id: String,
}

impl Principal {
    /// The principal as a request signed for `region` names it: its ARN in that region's
    /// partition (Airlock's accounts are not tied to one).
    pub fn seen_from(mut self, region: &str) -> Principal {
        let p = partition::of(region);
        if self.arn.split(':').nth(1) != Some(p) {
            self.arn = partition::with(&self.arn, p);
        }
        self
    }
}

/// One request, as a service sees it.
pub struct Ctx<'a> {
    pub store: &'a Store,
    pub config: &'a Config,
    pub principal: Principal,
    /// From the request's SigV4 credential scope.
    pub region: String,
    pub request_id: String,
    pub clock: Clock,
    /// The request's raw payload where the operation takes one as a blob (S3's object bytes,
    /// `aws-chunked` framing already removed); empty otherwise.
    pub body: Body<'a>,
    /// Where the request came from (the client's address), for IAM's condition keys.
    pub origin: authz::Origin,
}

/// A request's blob payload.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// In memory.
    Bytes(&'a [u8]),
    /// Spooled to a file under the data directory as it arrived (uploads to a persistent
    /// store), with its length and MD5; a service that keeps it renames the file into its own
    /// place (the server removes it otherwise).
    File {
        path: &'a std::path::Path,
        len: u64,
        md5: [u8; 16],
    },
}

impl Body<'_> {
    /// No payload.
    pub const EMPTY: Body<'static> = Body::Bytes(&[]);

    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::File { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The payload's MD5.
    pub fn md5(&self) -> [u8; 16] {
        use md5::Digest;
        match self {
            Body::Bytes(b) => md5::Md5::digest(b).into(),
            Body::File { md5, .. } => *md5,
        }
    }
}

impl<'a> Ctx<'a> {
    /// A call Airlock makes itself (the console, the webserver stand-in, tests), as `principal`
    /// in `region`: a fresh request id, no payload, no client address.
    pub fn internal(
        store: &'a Store,
        config: &'a Config,
        principal: Principal,
        region: &str,
        clock: Clock,
    ) -> Ctx<'a> {
        Ctx {
            store,
            config,
            principal,
            region: region.to_owned(),
            request_id: uuid::Uuid::new_v4().to_string(),
            clock,
            body: Body::EMPTY,
            origin: Default::default(),
        }
    }
}

impl Ctx<'_> {
    pub fn account(&self) -> &str {
        &self.principal.account
    }

    /// The scope of regional records for this request.
    pub fn scope(&self) -> Scope {
        Scope::new(self.principal.account.clone(), self.region.clone())
    }

    /// The scope of global (IAM) records for this request.
    pub fn global_scope(&self) -> Scope {
        Scope::global(self.principal.account.clone())
    }
}

pub use service::{call, record_kinds, tick, Service, SERVICES};

/// Reads a record field that an older Airlock kept as the JSON it was given: a value that does
/// not read as `T` reads as `T::default()` (none), so one odd stored value never keeps the store
/// from opening (`#[serde(default, deserialize_with = "crate::lenient")]`).
pub fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    let v = <serde_json::Value as serde::Deserialize>::deserialize(d)?;
    Ok(T::deserialize(v).unwrap_or_default())
}

/// Timestamps travel between services and codecs as ISO 8601 with milliseconds, in UTC
/// (`2024-05-01T10:00:00.123Z`); the codecs convert them for JSON protocols.
pub fn iso(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let year = t.year().unsigned_abs();
    let mut out = String::with_capacity(24);
    for d in [year / 1000 % 10, year / 100 % 10, year / 10 % 10, year % 10] {
        out.push(char::from(b'0' + d as u8));
    }
    let parts = [
        ('-', u8::from(t.month())),
        ('-', t.day()),
        ('T', t.hour()),
        (':', t.minute()),
        (':', t.second()),
    ];
    for (sep, n) in parts {
        out.push(sep);
        out.push(char::from(b'0' + n / 10));
        out.push(char::from(b'0' + n % 10));
    }
    let ms = t.millisecond();
    out.push('.');
    for d in [ms / 100, ms / 10 % 10, ms % 10] {
        out.push(char::from(b'0' + d as u8));
    }
    out.push('Z');
    out
}

#[cfg(test)]
mod tests {
    use super::Clock;
    use time::macros::datetime;
    use time::Duration;

    #[test]
    fn the_clock_scales_aws_durations() {
        let t0 = datetime!(2024-05-01 10:00:00 UTC);
        let clock = Clock::new(t0, 0.01);
        assert_eq!(clock.scaled(120.0), Duration::milliseconds(1200));
        assert_eq!(clock.after(t0, 120.0), t0 + Duration::milliseconds(1200));
        assert!(!clock.passed(t0, 120.0));
        let later = Clock::new(t0 + Duration::milliseconds(1200), 0.01);
        assert!(later.passed(t0, 120.0));
        // Negative durations are none; scale 0 makes everything instant.
        assert_eq!(clock.scaled(-5.0), Duration::ZERO);
        let instant = Clock {
            scale: 0.0,
            ..clock
        };
        assert!(instant.passed(t0, 72.0 * 3600.0));
    }

    #[test]
    fn iso_timestamps_have_milliseconds_in_utc() {
        use time::macros::datetime;
        assert_eq!(
            super::iso(datetime!(2024-05-01 10:00:00.5 UTC)),
            "2024-05-01T10:00:00.500Z"
        );
        assert_eq!(
            super::iso(datetime!(0999-01-02 03:04:05.007 UTC)),
            "0999-01-02T03:04:05.007Z"
        );
        assert_eq!(
            super::iso(datetime!(2024-12-31 23:30:00 -2)),
            "2025-01-01T01:30:00.000Z"
        );
    }
}
