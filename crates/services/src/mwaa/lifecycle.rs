//! An environment's status over time.
//!
//! The record keeps the phase the environment entered and when; the status a client sees is
//! derived from it and the (scaled) clock, so a restarted server resumes where it was. The
//! server's ticker persists finished phases ([`super::tick`]).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// AWS's durations, in real seconds (multiplied by `--time-scale`).
pub const CREATE_SECS: f64 = 1500.0;
/// How long CUSTOMER-managed environments work before they wait for the customer's endpoints.
pub const PENDING_AFTER_SECS: f64 = 300.0;
/// Creation after the customer's endpoints appear.
pub const RESUME_SECS: f64 = 1200.0;
/// A CUSTOMER-managed environment without its endpoints fails after 72 hours.
pub const PENDING_TIMEOUT_SECS: f64 = 72.0 * 3600.0;
pub const UPDATE_SECS: f64 = 1200.0;
/// Version upgrades: UPDATING, then CREATING_SNAPSHOT, then UPDATING again.
pub const SNAPSHOT_AFTER_SECS: f64 = 300.0;
pub const SNAPSHOT_SECS: f64 = 300.0;
pub const DELETE_SECS: f64 = 900.0;

/// A configuration problem found at creation that AWS only reports at the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase")]
pub enum Phase {
    Creating {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
        failure: Option<Failure>,
    },
    Available {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
    },
    CreateFailed {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
        failure: Failure,
    },
    Updating {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
        upgrade: bool,
        failure: Option<Failure>,
        strategy: Option<String>,
    },
    UpdateFailed {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
        failure: Failure,
    },
    Deleting {
        #[serde(with = "time::serde::rfc3339")]
        since: OffsetDateTime,
    },
}

/// What a client sees now.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    /// `None`: the environment is gone (deletion finished).
    pub status: Option<&'static str>,
    /// `LastUpdate` (`Status`, `CreatedAt`, error) if any.
    pub last_update: Option<(
        &'static str,
        OffsetDateTime,
        Option<Failure>,
        Option<String>,
    )>,
    /// The phase the record should move to (a finished one), for the ticker.
    pub settled: Option<Phase>,
}

/// The status of `phase` at `now`.
///
/// `customer_endpoints` is `Some(ready_at)` when the environment's endpoints are managed by the
/// customer: `ready_at` is when all of them became available (`None` inside: not yet).
pub fn seen(
    phase: &Phase,
    now: OffsetDateTime,
    scale: &dyn Fn(f64) -> Duration,
    customer_endpoints: Option<Option<OffsetDateTime>>,
) -> Seen {
    let done = |status, since, failure: Option<Failure>, settled| Seen {
        status: Some(status),
        last_update: Some((
            if failure.is_some() {
                "FAILED"
            } else {
                "SUCCESS"
            },
            since,
            failure,
            None,
        )),
        settled,
    };
    match phase {
        Phase::Creating { since, failure } => {
            let since = *since;
            let finished_at = match customer_endpoints {
                None => since + scale(CREATE_SECS),
                Some(ready) => {
                    let parked = since + scale(PENDING_AFTER_SECS);
                    match ready {
                        Some(r) if r <= now || now < parked => parked.max(r) + scale(RESUME_SECS),
                        _ if now < parked => parked,
                        _ if now >= parked + scale(PENDING_TIMEOUT_SECS) => {
                            let failure = Failure {
                                code: "INCORRECT_CONFIGURATION".into(),
                                message: "The VPC endpoints for the environment's webserver and database were not created within 72 hours. Create them with the services named in WebserverVpcEndpointService and DatabaseVpcEndpointService.".into(),
                            };
                            let settled = Phase::CreateFailed {
                                since: now,
                                failure: failure.clone(),
                            };
                            return done("CREATE_FAILED", since, Some(failure), Some(settled));
                        }
                        _ => {
                            return Seen {
                                status: Some("PENDING"),
                                last_update: Some(("PENDING", since, None, None)),
                                settled: None,
                            }
                        }
                    }
                }
            };
            if now < finished_at {
                return Seen {
                    status: Some("CREATING"),
                    last_update: Some(("PENDING", since, None, None)),
                    settled: None,
                };
            }
            match failure {
                Some(f) => done(
                    "CREATE_FAILED",
                    since,
                    Some(f.clone()),
                    Some(Phase::CreateFailed {
                        since: finished_at,
                        failure: f.clone(),
                    }),
                ),
                None => done("AVAILABLE", since, None, Some(Phase::Available { since })),
            }
        }
        Phase::Available { since } => Seen {
            status: Some("AVAILABLE"),
            last_update: Some(("SUCCESS", *since, None, None)),
            settled: None,
        },
        Phase::CreateFailed { since, failure } => {
            done("CREATE_FAILED", *since, Some(failure.clone()), None)
        }
        Phase::UpdateFailed { since, failure } => {
            done("UPDATE_FAILED", *since, Some(failure.clone()), None)
        }
        Phase::Updating {
            since,
            upgrade,
            failure,
            strategy,
        } => {
            let since = *since;
            let total = if *upgrade {
                SNAPSHOT_AFTER_SECS + SNAPSHOT_SECS + UPDATE_SECS
            } else {
                UPDATE_SECS
            };
            let end = since + scale(total);
            if now < end {
                let snapshot = *upgrade
                    && now >= since + scale(SNAPSHOT_AFTER_SECS)
                    && now < since + scale(SNAPSHOT_AFTER_SECS + SNAPSHOT_SECS);
                return Seen {
                    status: Some(if snapshot {
                        "CREATING_SNAPSHOT"
                    } else {
                        "UPDATING"
                    }),
                    last_update: Some(("PENDING", since, None, strategy.clone())),
                    settled: None,
                };
            }
            match failure {
                Some(f) => Seen {
                    status: Some("UPDATE_FAILED"),
                    last_update: Some(("FAILED", since, Some(f.clone()), strategy.clone())),
                    settled: Some(Phase::UpdateFailed {
                        since,
                        failure: f.clone(),
                    }),
                },
                None => Seen {
                    status: Some("AVAILABLE"),
                    last_update: Some(("SUCCESS", since, None, strategy.clone())),
                    settled: Some(Phase::Available { since }),
                },
            }
        }
        Phase::Deleting { since } => {
            if now < *since + scale(DELETE_SECS) {
                Seen {
                    status: Some("DELETING"),
                    last_update: None,
                    settled: None,
                }
            } else {
                Seen {
                    status: None,
                    last_update: None,
                    settled: None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale(s: f64) -> Duration {
        Duration::seconds_f64(s * 0.01)
    }

    #[test]
    fn creation_takes_scaled_time() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let p = Phase::Creating {
            since: t0,
            failure: None,
        };
        assert_eq!(
            seen(&p, t0 + Duration::seconds(1), &scale, None).status,
            Some("CREATING")
        );
        let s = seen(&p, t0 + Duration::seconds(16), &scale, None);
        assert_eq!(s.status, Some("AVAILABLE"));
        assert!(matches!(s.settled, Some(Phase::Available { .. })));
    }

    #[test]
    fn customer_endpoints_park_the_environment_in_pending() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let p = Phase::Creating {
            since: t0,
            failure: None,
        };
        assert_eq!(
            seen(&p, t0 + Duration::seconds(2), &scale, Some(None)).status,
            Some("CREATING")
        );
        assert_eq!(
            seen(&p, t0 + Duration::seconds(4), &scale, Some(None)).status,
            Some("PENDING")
        );
        let ready = t0 + Duration::seconds(10);
        assert_eq!(
            seen(&p, t0 + Duration::seconds(11), &scale, Some(Some(ready))).status,
            Some("CREATING")
        );
        assert_eq!(
            seen(&p, t0 + Duration::seconds(23), &scale, Some(Some(ready))).status,
            Some("AVAILABLE")
        );
        let late = seen(&p, t0 + Duration::seconds(3000), &scale, Some(None));
        assert_eq!(late.status, Some("CREATE_FAILED"));
    }

    #[test]
    fn upgrades_pass_through_a_snapshot_and_deletion_ends_in_nothing() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let p = Phase::Updating {
            since: t0,
            upgrade: true,
            failure: None,
            strategy: None,
        };
        assert_eq!(
            seen(&p, t0 + Duration::seconds(1), &scale, None).status,
            Some("UPDATING")
        );
        assert_eq!(
            seen(&p, t0 + Duration::seconds(4), &scale, None).status,
            Some("CREATING_SNAPSHOT")
        );
        assert_eq!(
            seen(&p, t0 + Duration::seconds(7), &scale, None).status,
            Some("UPDATING")
        );
        assert_eq!(
            seen(&p, t0 + Duration::seconds(19), &scale, None).status,
            Some("AVAILABLE")
        );
        let d = Phase::Deleting { since: t0 };
        assert_eq!(
            seen(&d, t0 + Duration::seconds(1), &scale, None).status,
            Some("DELETING")
        );
        assert_eq!(
            seen(&d, t0 + Duration::seconds(10), &scale, None).status,
            None
        );
    }
}
