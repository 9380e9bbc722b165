//! The `Condition` element: operators, the `...IfExists` and `ForAnyValue:`/`ForAllValues:`
//! forms, and how each treats a key the request does not have.
//!
//! Within a block every operator must hold, within an operator every key, and a key holds when
//! any of its policy values matches (for a negated operator: when none does). A key absent from
//! the request fails a positive operator and satisfies a negated one; `...IfExists` makes an
//! absent key hold either way; `Null` tests presence itself.

use super::{glob, Context, Malformed};
use serde_json::Value;
use std::borrow::Cow;
use std::net::IpAddr;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnLike,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    /// A single-valued key (or a multivalued one without a qualifier).
    Single,
    ForAnyValue,
    ForAllValues,
}

/// One (operator, key, values) test of a `Condition` block.
#[derive(Debug, Clone)]
pub struct Condition {
    op: Op,
    /// `StringNotEquals`, `NotIpAddress`, `ArnNotLike`, ...: the match is inverted.
    negated: bool,
    if_exists: bool,
    set: SetOp,
    /// Lowercased: condition keys are case-insensitive.
    key: String,
    values: Vec<String>,
}

/// The operator names IAM knows, with their base operator and whether they negate it.
fn operator(name: &str) -> Option<(Op, bool)> {
    use Op::*;
    Some(match name {
        "StringEquals" => (StringEquals, false),
        "StringNotEquals" => (StringEquals, true),
        "StringEqualsIgnoreCase" => (StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (StringEqualsIgnoreCase, true),
        "StringLike" => (StringLike, false),
        "StringNotLike" => (StringLike, true),
        "NumericEquals" => (NumericEquals, false),
        "NumericNotEquals" => (NumericEquals, true),
        "NumericLessThan" => (NumericLessThan, false),
        "NumericLessThanEquals" => (NumericLessThanEquals, false),
        "NumericGreaterThan" => (NumericGreaterThan, false),
        "NumericGreaterThanEquals" => (NumericGreaterThanEquals, false),
        "DateEquals" => (DateEquals, false),
        "DateNotEquals" => (DateEquals, true),
        "DateLessThan" => (DateLessThan, false),
        "DateLessThanEquals" => (DateLessThanEquals, false),
        "DateGreaterThan" => (DateGreaterThan, false),
        "DateGreaterThanEquals" => (DateGreaterThanEquals, false),
        "Bool" => (Bool, false),
        "BinaryEquals" => (BinaryEquals, false),
        "IpAddress" => (IpAddress, false),
        "NotIpAddress" => (IpAddress, true),
        "ArnEquals" | "ArnLike" => (ArnLike, false),
        "ArnNotEquals" | "ArnNotLike" => (ArnLike, true),
        "Null" => (Null, false),
        _ => return None,
    })
}

/// Reads a `Condition` element.
pub fn parse(v: &Value) -> Result<Vec<Condition>, Malformed> {
    let syntax = || Malformed("Syntax errors in policy.".into());
    let block = v.as_object().ok_or_else(syntax)?;
    let mut out = Vec::new();
    for (name, tests) in block {
        let (set, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (SetOp::ForAnyValue, r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (SetOp::ForAllValues, r)
        } else {
            (SetOp::Single, name.as_str())
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(b) if b != "Null" => (b, true),
            _ => (rest, false),
        };
        let (op, negated) = operator(base).ok_or_else(syntax)?;
        let tests = tests.as_object().ok_or_else(syntax)?;
        for (key, values) in tests {
            let values = match values {
                Value::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>(),
                v => scalar(v).map(|s| vec![s]),
            }
            .ok_or_else(syntax)?;
            out.push(Condition {
                op,
                negated,
                if_exists,
                set,
                key: key.to_ascii_lowercase(),
                values,
            });
        }
    }
    Ok(out)
}

/// A condition value: JSON strings, numbers and booleans all compare as their text.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Condition {
    /// The key it tests (lowercased).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The policy's values (before policy variables are substituted).
    pub fn values(&self) -> impl Iterator<Item = &String> {
        self.values.iter()
    }

    /// Whether this test holds for `context`; `expand` substitutes policy variables in a
    /// policy value (`None`: a variable whose key is absent, which matches nothing).
    pub fn holds<'s>(
        &'s self,
        context: &Context,
        expand: impl Fn(&'s str) -> Option<Cow<'s, str>>,
    ) -> bool {
        let present = context.get_lowercase(&self.key).filter(|v| !v.is_empty());
        if self.op == Op::Null {
            let want_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            return present.is_none() == want_absent;
        }
        let Some(values) = present else {
            return match self.set {
                // "For all values" of an empty set is vacuously true.
                SetOp::ForAllValues => true,
                SetOp::ForAnyValue => false,
                SetOp::Single => self.if_exists || self.negated,
            };
        };
        let expanded: Vec<Cow<'s, str>> = self.values.iter().filter_map(|v| expand(v)).collect();
        // Whether one request value matches any of the policy's values (before negation).
        let hit = |value: &str| expanded.iter().any(|p| self.compare(p, value));
        match self.set {
            SetOp::Single | SetOp::ForAnyValue => {
                if self.negated {
                    // ForAnyValue:StringNotEquals: some value matches none of the policy's.
                    match self.set {
                        SetOp::ForAnyValue => values.iter().any(|v| !hit(v)),
                        _ => !values.iter().any(|v| hit(v)),
                    }
                } else {
                    values.iter().any(|v| hit(v))
                }
            }
            SetOp::ForAllValues => values.iter().all(|v| hit(v) != self.negated),
        }
    }

    /// Whether the request's `value` matches the policy's `pattern` under this operator.
    fn compare(&self, pattern: &str, value: &str) -> bool {
        use Op::*;
        let wildcards = matches!(self.op, StringLike | ArnLike);
        let plain;
        let pattern = if wildcards {
            pattern
        } else {
            plain = glob::plain(pattern);
            &plain
        };
        match self.op {
            StringEquals => pattern == value,
            StringEqualsIgnoreCase => pattern.to_lowercase() == value.to_lowercase(),
            StringLike => glob::like(pattern, value),
            NumericEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => {
                let (Ok(p), Ok(v)) = (pattern.trim().parse::<f64>(), value.trim().parse::<f64>())
                else {
                    return false;
                };
                order(self.op, v.partial_cmp(&p))
            }
            DateEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => match (date(pattern), date(value)) {
                (Some(p), Some(v)) => order(self.op, Some(v.cmp(&p))),
                _ => false,
            },
            Bool => pattern.eq_ignore_ascii_case(value),
            BinaryEquals => pattern == value,
            IpAddress => in_cidr(pattern, value),
            ArnLike => glob::arn_like(pattern, value),
            Null => false,
        }
    }
}

/// Whether `ordering` (request value compared with policy value) satisfies the operator.
fn order(op: Op, ordering: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    use Op::*;
    let Some(o) = ordering else { return false };
    match op {
        NumericEquals | DateEquals => o == Equal,
        NumericLessThan | DateLessThan => o == Less,
        NumericLessThanEquals | DateLessThanEquals => o != Greater,
        NumericGreaterThan | DateGreaterThan => o == Greater,
        NumericGreaterThanEquals | DateGreaterThanEquals => o != Less,
        _ => false,
    }
}

/// A date as IAM accepts it: ISO 8601 (`2026-12-04T00:00:00Z`, or a bare date) or epoch seconds;
/// compared in nanoseconds.
fn date(text: &str) -> Option<i128> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<i64>() {
        return Some(secs as i128 * 1_000_000_000);
    }
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t.unix_timestamp_nanos());
    }
    // A bare date means its midnight UTC.
    OffsetDateTime::parse(&format!("{text}T00:00:00Z"), &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos())
}

/// Whether the address `value` lies in `cidr` (`203.0.113.0/24`, `2001:db8::/32`, or a bare
/// address).
fn in_cidr(cidr: &str, value: &str) -> bool {
    let (net, bits) = match cidr.trim().split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr.trim(), None),
    };
    let (Ok(net), Ok(addr)) = (net.parse::<IpAddr>(), value.trim().parse::<IpAddr>()) else {
        return false;
    };
    match (net, addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let bits = bits.unwrap_or(32);
            bits <= 32 && prefix_eq(u32::from(n).into(), u32::from(a).into(), bits, 32)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let bits = bits.unwrap_or(128);
            bits <= 128 && prefix_eq(u128::from(n), u128::from(a), bits, 128)
        }
        _ => false,
    }
}

fn prefix_eq(net: u128, addr: u128, bits: u32, width: u32) -> bool {
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (net >> shift) == (addr >> shift)
}
