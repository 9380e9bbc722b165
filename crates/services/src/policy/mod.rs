//! IAM policy documents and AWS's evaluation logic, pure: no store, no clock, no I/O.
//!
//! - [`Policy::parse`] reads a document once into statements whose elements are ready to match.
//! - [`Statement::applies`] matches one request ([`Request`]): action, resource, principal and
//!   conditions, with policy variables (`${aws:username}`) substituted.
//! - [`evaluate`] combines the policies that bear on a request as AWS does within one account:
//!   an explicit deny anywhere wins; otherwise identity-based policies must allow, and each
//!   limiting policy present (permissions boundary, session policy, VPC endpoint policy) must
//!   allow too; anything else is an implicit deny.
//!
//! Crates considered: `aws-iam` (a policy model without an evaluator, unmaintained since 2020)
//! and `cedar-policy` (a different policy language); neither evaluates IAM's grammar, so the
//! evaluator is written here against AWS's published evaluation logic.

mod condition;
mod eval;
mod glob;

pub use eval::{evaluate, Decision, Denial, Kind, Policies};
pub use glob::{arn_like, like};

use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashMap;

/// A parsed policy document.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub statements: Vec<Statement>,
    /// The condition keys its conditions and policy variables read (lowercased, sorted, each
    /// once): a request context needs only these.
    keys: Vec<String>,
}

/// One statement.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: Option<String>,
    pub allow: bool,
    /// `Action` (or `NotAction` when negated); absent in trust policies only through `*`.
    pub action: Element,
    /// `Resource`/`NotResource`; `None` in policies that have neither (trust policies).
    pub resource: Option<Element>,
    /// `Principal`/`NotPrincipal` of resource-based policies.
    pub principal: Option<PrincipalElement>,
    pub conditions: Vec<condition::Condition>,
    /// `Version` 2012-10-17: policy variables are substituted (2008-10-17 treats `${...}` as text).
    pub variables: bool,
}

/// A list of patterns, or its negation (`NotAction`, `NotResource`).
#[derive(Debug, Clone)]
pub struct Element {
    pub negated: bool,
    pub patterns: Vec<String>,
}

/// `Principal` or `NotPrincipal`.
#[derive(Debug, Clone)]
pub struct PrincipalElement {
    pub negated: bool,
    /// `"*"` or `{"AWS": "*"}`.
    pub anyone: bool,
    /// `AWS` entries: ARNs or account ids.
    pub aws: Vec<String>,
    /// `Service` entries.
    pub service: Vec<String>,
    /// `Federated` entries: identity providers (`arn:aws:iam::<acct>:oidc-provider/<url>`).
    pub federated: Vec<String>,
}

/// Who makes a request, as resource-based policies name principals.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The principal's ARN (`...:user/alice`, `...:assumed-role/r/s`, `...:root`).
    pub arn: String,
    pub account: String,
    /// For an assumed-role session: the role's ARN, which names every session of the role.
    pub role_arn: Option<String>,
    /// For a service principal (`airflow.amazonaws.com`).
    pub service: Option<String>,
    /// For a web identity (AssumeRoleWithWebIdentity): the identity provider's ARN.
    pub federated: Option<String>,
}

/// The request context: condition keys (lowercased) and their values.
#[derive(Debug, Clone, Default)]
pub struct Context {
    keys: HashMap<String, Vec<String>>,
}

impl Context {
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.keys
            .insert(key.to_ascii_lowercase(), vec![value.into()]);
    }

    /// A multivalued key (`aws:TagKeys`).
    pub fn set_all(&mut self, key: &str, values: Vec<String>) {
        self.keys.insert(key.to_ascii_lowercase(), values);
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.get_lowercase(&key.to_ascii_lowercase())
    }

    /// [`Context::get`] for a key already in lowercase (conditions keep theirs so).
    pub fn get_lowercase(&self, key: &str) -> Option<&[String]> {
        self.keys.get(key).map(Vec::as_slice)
    }
}

/// One (action, resource) question about one caller.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `service:Operation`, as the Service Authorization Reference spells it.
    pub action: &'a str,
    /// A resource ARN, or `*` for actions that have no resource type.
    pub resource: &'a str,
    pub caller: &'a Caller,
    pub context: &'a Context,
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl Policy {
    /// Reads a policy document (JSON text).
    pub fn parse(document: &str) -> Result<Policy, Malformed> {
        let doc: Value = serde_json::from_str(document)
            .map_err(|_| Malformed("This policy contains invalid Json".into()))?;
        Policy::from_value(&doc)
    }

    pub fn from_value(doc: &Value) -> Result<Policy, Malformed> {
        let bad = |m: &str| Malformed(m.to_owned());
        let doc = doc
            .as_object()
            .ok_or_else(|| bad("Syntax errors in policy."))?;
        let variables = doc.get("Version").and_then(Value::as_str) == Some("2012-10-17");
        let statements = match doc.get("Statement") {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            None => return Err(bad("Missing required field Statement")),
            Some(_) => return Err(bad("Syntax errors in policy.")),
        };
        let statements: Vec<Statement> = statements
            .into_iter()
            .map(|s| Statement::from_value(s, variables))
            .collect::<Result<_, _>>()?;
        let mut keys: Vec<String> = statements.iter().flat_map(Statement::keys).collect();
        keys.sort();
        keys.dedup();
        Ok(Policy { statements, keys })
    }

    /// The condition keys the policy reads (lowercased, sorted).
    pub fn keys(&self) -> &[String] {
        &self.keys
    }
}

impl Statement {
    fn from_value(v: &Value, variables: bool) -> Result<Statement, Malformed> {
        let bad = |m: &str| Malformed(m.to_owned());
        let s = v
            .as_object()
            .ok_or_else(|| bad("Syntax errors in policy."))?;
        let allow = match s.get("Effect").and_then(Value::as_str) {
            Some("Allow") => true,
            Some("Deny") => false,
            None if !s.contains_key("Effect") => return Err(bad("Missing required field Effect")),
            _ => return Err(bad("Syntax errors in policy.")),
        };
        let action = element(s.get("Action"), s.get("NotAction"))?
            .ok_or_else(|| bad("Policy statement must contain actions."))?;
        let resource = element(s.get("Resource"), s.get("NotResource"))?;
        let principal = match (s.get("Principal"), s.get("NotPrincipal")) {
            (Some(_), Some(_)) => return Err(bad("Syntax errors in policy.")),
            (Some(p), None) => Some(principal(p, false)?),
            (None, Some(p)) => Some(principal(p, true)?),
            (None, None) => None,
        };
        let conditions = match s.get("Condition") {
            None => Vec::new(),
            Some(c) => condition::parse(c)?,
        };
        Ok(Statement {
            sid: s.get("Sid").and_then(Value::as_str).map(str::to_owned),
            allow,
            action,
            resource,
            principal,
            conditions,
            variables,
        })
    }

    /// The keys its conditions test and its policy variables name, lowercased.
    fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.conditions.iter().map(|c| c.key().to_owned()).collect();
        if self.variables {
            let texts = self
                .resource
                .iter()
                .flat_map(|r| r.patterns.iter())
                .chain(self.conditions.iter().flat_map(|c| c.values()));
            for text in texts {
                keys.extend(variables_in(text).map(str::to_ascii_lowercase));
            }
        }
        keys
    }

    /// Whether this statement is about `req`: its action, resource, principal (when it names
    /// one) and every condition match.
    pub fn applies(&self, req: &Request<'_>) -> bool {
        self.action
            .matches(|p| glob::like_ignore_case(p, req.action))
            && self.resource.as_ref().is_none_or(|r| {
                r.matches(|p| {
                    self.substitute(p, req.context)
                        .is_some_and(|p| glob::arn_like(&p, req.resource))
                })
            })
            && self
                .principal
                .as_ref()
                .is_none_or(|p| p.matches(req.caller))
            && self
                .conditions
                .iter()
                .all(|c| c.holds(req.context, |v| self.substitute(v, req.context)))
    }

    /// `text` with its policy variables replaced by the request's values; `None` when a
    /// variable's key is absent and has no default (the value then matches nothing).
    fn substitute<'t>(&self, text: &'t str, context: &Context) -> Option<Cow<'t, str>> {
        if !self.variables || !text.contains("${") {
            return Some(Cow::Borrowed(text));
        }
        substitute(text, context).map(Cow::Owned)
    }
}

/// The keys of the policy variables in `text` (`${aws:username}`, `${aws:PrincipalTag/x, 'd'}`;
/// not the escapes `${*}`, `${?}`, `${$}`).
fn variables_in(text: &str) -> impl Iterator<Item = &str> {
    text.split("${").skip(1).filter_map(|rest| {
        let inner = &rest[..rest.find('}')?];
        let key = inner.split(',').next().unwrap_or(inner).trim();
        (!matches!(key, "*" | "?" | "$")).then_some(key)
    })
}

/// Replaces `${key}`, `${key, 'default'}` and the escapes `${*}`, `${?}`, `${$}`.
fn substitute(text: &str, context: &Context) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[at..]);
            return Some(out);
        };
        let inner = &after[..end];
        match inner {
            "*" => out.push(glob::LITERAL_STAR),
            "?" => out.push(glob::LITERAL_QUESTION),
            "$" => out.push('$'),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => {
                        let d = d.trim();
                        let d = d
                            .strip_prefix('\'')
                            .and_then(|d| d.strip_suffix('\''))
                            .unwrap_or(d);
                        (k.trim(), Some(d))
                    }
                    None => (inner.trim(), None),
                };
                let value = match context.get(key).and_then(|v| v.first()) {
                    Some(v) => v.as_str(),
                    None => default?,
                };
                // A value's own `*` and `?` are text, not wildcards.
                out.extend(value.chars().map(|c| match c {
                    '*' => glob::LITERAL_STAR,
                    '?' => glob::LITERAL_QUESTION,
                    c => c,
                }));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

impl Element {
    fn matches(&self, mut pattern_matches: impl FnMut(&str) -> bool) -> bool {
        self.patterns.iter().any(|p| pattern_matches(p)) != self.negated
    }
}

impl PrincipalElement {
    /// Whether the element names the caller: `Some(true)` directly (`*`, its ARN, its role's
    /// ARN, its service), `Some(false)` only through its account, `None` not at all.
    fn names(&self, caller: &Caller) -> Option<bool> {
        let direct = self.anyone
            || self
                .aws
                .iter()
                .any(|p| *p == caller.arn || caller.role_arn.as_deref() == Some(p.as_str()))
            || caller
                .service
                .as_ref()
                .is_some_and(|s| self.service.iter().any(|p| p == s))
            || caller
                .federated
                .as_ref()
                .is_some_and(|f| self.federated.iter().any(|p| p == f));
        if direct {
            return Some(true);
        }
        let root = format!(":{}:root", caller.account);
        self.aws
            .iter()
            .any(|p| {
                *p == caller.account || crate::partition::strip(p, "iam") == Some(root.as_str())
            })
            .then_some(false)
    }

    fn matches(&self, caller: &Caller) -> bool {
        self.names(caller).is_some() != self.negated
    }
}

impl Statement {
    /// Whether this (resource-based) statement names the caller itself, so that its `Allow`
    /// suffices without an identity-based policy; naming only the caller's account delegates
    /// the decision to the account's identity-based policies.
    pub fn names_directly(&self, caller: &Caller) -> bool {
        self.principal
            .as_ref()
            .is_some_and(|p| !p.negated && p.names(caller) == Some(true))
    }
}

fn strings(v: &Value) -> Result<Vec<String>, Malformed> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| Malformed("Syntax errors in policy.".into()))
            })
            .collect(),
        _ => Err(Malformed("Syntax errors in policy.".into())),
    }
}

fn element(
    positive: Option<&Value>,
    negative: Option<&Value>,
) -> Result<Option<Element>, Malformed> {
    Ok(match (positive, negative) {
        (Some(_), Some(_)) => return Err(Malformed("Syntax errors in policy.".into())),
        (Some(v), None) => Some(Element {
            negated: false,
            patterns: strings(v)?,
        }),
        (None, Some(v)) => Some(Element {
            negated: true,
            patterns: strings(v)?,
        }),
        (None, None) => None,
    })
}

fn principal(v: &Value, negated: bool) -> Result<PrincipalElement, Malformed> {
    let mut p = PrincipalElement {
        negated,
        anyone: false,
        aws: Vec::new(),
        service: Vec::new(),
        federated: Vec::new(),
    };
    match v {
        Value::String(s) if s == "*" => p.anyone = true,
        Value::Object(map) => {
            for (kind, values) in map {
                let values = strings(values)?;
                match kind.as_str() {
                    "AWS" => {
                        p.anyone |= values.iter().any(|v| v == "*");
                        p.aws.extend(values);
                    }
                    "Service" => p.service.extend(values),
                    "Federated" => p.federated.extend(values),
                    // CanonicalUser principals name no caller Airlock has.
                    _ => {}
                }
            }
        }
        _ => return Err(Malformed("Syntax errors in policy.".into())),
    }
    Ok(p)
}

#[cfg(test)]
mod tests;
