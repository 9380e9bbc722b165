//! An environment's status over time.
//!
//! The record keeps the phase the environment entered and when; the status a client sees is
//! derived from it and the (scaled) clock, so a restarted server resumes where it was. The
//! server's ticker persists finished phases ([`super::tick`]).

use crate::Clock;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// AWS's durations, in seconds of AWS time (see [`Clock`]).
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

/// The status of `phase` at the clock's time.
///
/// `customer_endpoints` is `Some(ready_at)` when the environment's endpoints are managed by the
/// customer: `ready_at` is when all of them became available (`None` inside: not yet).
pub fn seen(
    phase: &Phase,
    clock: Clock,
    customer_endpoints: Option<Option<OffsetDateTime>>,
) -> Seen {
    let now = clock.now();
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
                None => clock.after(since, CREATE_SECS),
                Some(ready) => {
                    let parked = clock.after(since, PENDING_AFTER_SECS);
                    match ready {
                        Some(r) if r <= now || now < parked => {
                            clock.after(parked.max(r), RESUME_SECS)
                        }
                        _ if now < parked => parked,
                        _ if now >= clock.after(parked, PENDING_TIMEOUT_SECS) => {
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
            let end = clock.after(since, total);
            if now < end {
                let snapshot = *upgrade
                    && now >= clock.after(since, SNAPSHOT_AFTER_SECS)
                    && now < clock.after(since, SNAPSHOT_AFTER_SECS + SNAPSHOT_SECS);
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
            if now < clock.after(*since, DELETE_SECS) {
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

    use time::Duration;

    /// `seconds` after `t0` at time scale 0.01.
    fn at(t0: OffsetDateTime, seconds: i64) -> Clock {
        Clock::new(t0 + Duration::seconds(seconds), 0.01)
    }

    #[test]
    fn creation_takes_scaled_time() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let p = Phase::Creating {
            since: t0,
            failure: None,
        };
        assert_eq!(seen(&p, at(t0, 1), None).status, Some("CREATING"));
        let s = seen(&p, at(t0, 16), None);
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
        assert_eq!(seen(&p, at(t0, 2), Some(None)).status, Some("CREATING"));
        assert_eq!(seen(&p, at(t0, 4), Some(None)).status, Some("PENDING"));
        let ready = t0 + Duration::seconds(10);
        assert_eq!(
            seen(&p, at(t0, 11), Some(Some(ready))).status,
            Some("CREATING")
        );
        assert_eq!(
            seen(&p, at(t0, 23), Some(Some(ready))).status,
            Some("AVAILABLE")
        );
        let late = seen(&p, at(t0, 3000), Some(None));
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
        assert_eq!(seen(&p, at(t0, 1), None).status, Some("UPDATING"));
        assert_eq!(seen(&p, at(t0, 4), None).status, Some("CREATING_SNAPSHOT"));
        assert_eq!(seen(&p, at(t0, 7), None).status, Some("UPDATING"));
        assert_eq!(seen(&p, at(t0, 19), None).status, Some("AVAILABLE"));
        let d = Phase::Deleting { since: t0 };
        assert_eq!(seen(&d, at(t0, 1), None).status, Some("DELETING"));
        assert_eq!(seen(&d, at(t0, 10), None).status, None);
    }
}
