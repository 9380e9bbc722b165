//! AWS's policy evaluation logic within one account (no organizations, so no SCPs or RCPs).

use super::{Policy, Request};

/// The kinds of policy that bear on a request, as refusals name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Identity,
    Resource,
    Boundary,
    Session,
    Endpoint,
}

impl Kind {
    /// How AWS's AccessDenied messages name the kind: "... because no {phrase} allows the ...
    /// action", "... with an explicit deny in {article} {phrase}".
    pub fn phrase(self) -> &'static str {
        match self {
            Kind::Identity => "identity-based policy",
            Kind::Resource => "resource-based policy",
            Kind::Boundary => "permissions boundary",
            Kind::Session => "session policy",
            Kind::Endpoint => "VPC endpoint policy",
        }
    }

    pub fn article(self) -> &'static str {
        match self {
            Kind::Identity => "an",
            _ => "a",
        }
    }
}

/// Every policy that bears on one request.
#[derive(Debug, Default)]
pub struct Policies<'a> {
    /// The principal's identity-based policies: inline and managed, a user's and their groups',
    /// or the assumed role's.
    pub identity: Vec<&'a Policy>,
    /// The resource's own policies (a bucket policy, a role's trust policy for AssumeRole).
    pub resource: Vec<&'a Policy>,
    /// The principal's permissions boundary, when it has one.
    pub boundary: Option<&'a Policy>,
    /// An assumed-role session's inline and managed session policies, when AssumeRole passed any.
    pub session: Option<Vec<&'a Policy>>,
    /// The policy of the VPC endpoint the request came through.
    pub endpoint: Option<&'a Policy>,
}

/// Why a request is refused: the kind of policy that denied it, and whether it did so with a
/// `Deny` statement (explicit) or by allowing nothing (implicit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    pub kind: Kind,
    pub explicit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(Denial),
}

/// What the statements of some policies say about a request.
#[derive(Debug, Default, Clone, Copy)]
struct Verdict {
    allows: bool,
    denies: bool,
}

/// `resource`: the policies are resource-based, whose `Allow` counts only where it names the
/// caller directly.
fn verdict<'a>(
    policies: impl IntoIterator<Item = &'a Policy>,
    req: &Request<'_>,
    resource: bool,
) -> Verdict {
    let mut v = Verdict::default();
    for policy in policies {
        for s in &policy.statements {
            let wanted = if s.allow {
                !v.allows && (!resource || s.names_directly(req.caller))
            } else {
                !v.denies
            };
            if wanted && s.applies(req) {
                if s.allow {
                    v.allows = true;
                } else {
                    v.denies = true;
                    return v;
                }
            }
        }
    }
    v
}

/// AWS's decision for `req`:
/// 1. a `Deny` that applies, in any policy, refuses (explicit deny);
/// 2. otherwise an identity-based or resource-based policy must allow;
/// 3. and each limiting policy that is present (permissions boundary, session policies, the VPC
///    endpoint's policy) must allow too;
/// 4. anything else is refused (implicit deny).
pub fn evaluate(req: &Request<'_>, p: &Policies<'_>) -> Decision {
    let identity = verdict(p.identity.iter().copied(), req, false);
    let resource = verdict(p.resource.iter().copied(), req, true);
    let boundary = p.boundary.map(|b| verdict([b], req, false));
    let session = p
        .session
        .as_ref()
        .map(|s| verdict(s.iter().copied(), req, false));
    let endpoint = p.endpoint.map(|e| verdict([e], req, false));
    let deny = |kind, explicit| Decision::Deny(Denial { kind, explicit });
    let limits = [
        (Kind::Boundary, boundary),
        (Kind::Session, session),
        (Kind::Endpoint, endpoint),
    ];
    for (kind, v) in [
        (Kind::Identity, Some(identity)),
        (Kind::Resource, Some(resource)),
    ]
    .into_iter()
    .chain(limits)
    {
        if v.is_some_and(|v| v.denies) {
            return deny(kind, true);
        }
    }
    if !identity.allows && !resource.allows {
        return deny(Kind::Identity, false);
    }
    for (kind, v) in limits {
        if v.is_some_and(|v| !v.allows) {
            return deny(kind, false);
        }
    }
    Decision::Allow
}
