//! Model constraints (`min`, `max`, `pattern`, `enum`) as AWS's front ends check them.

use airlock_model::{Shape, ShapeKind};
use regex::Regex;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One broken constraint, worded as AWS's validation layer words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where, in AWS's lowerCamel member path (`roleName`, `tags.1.member.key`).
    pub path: String,
    /// The offending value as AWS prints it (`'abc'`, `null`).
    pub value: String,
    pub constraint: String,
}

impl Violation {
    pub fn missing(path: String) -> Self {
        Violation {
            path,
            value: "null".into(),
            constraint: "Member must not be null".into(),
        }
    }
}

/// `1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: ...`
pub fn message(violations: &[Violation]) -> String {
    let n = violations.len();
    let parts: Vec<String> = violations
        .iter()
        .map(|v| {
            format!(
                "Value {} at '{}' failed to satisfy constraint: {}",
                v.value, v.path, v.constraint
            )
        })
        .collect();
    format!(
        "{n} validation error{} detected: {}",
        if n == 1 { "" } else { "s" },
        parts.join("; ")
    )
}

/// AWS's path segment for a member: its name with the first letter lowercased.
pub fn camel(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) if f.is_ascii() => {
            let mut s = String::with_capacity(name.len());
            s.push(f.to_ascii_lowercase());
            s.push_str(c.as_str());
            s
        }
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

/// Checks a string value against its shape.
pub fn check_string(shape: &Shape, path: &str, s: &str, sensitive: bool, out: &mut Vec<Violation>) {
    // How the value is shown, worked out only for a violation.
    let shown = || {
        if sensitive || shape.sensitive {
            "'***'".to_owned()
        } else {
            quoted(s)
        }
    };
    let len = s.chars().count() as i64;
    if let Some(min) = shape.min {
        if len < min {
            out.push(Violation {
                path: path.into(),
                value: shown(),
                constraint: format!("Member must have length greater than or equal to {min}"),
            });
        }
    }
    if let Some(max) = shape.max {
        if len > max {
            out.push(Violation {
                path: path.into(),
                value: shown(),
                constraint: format!("Member must have length less than or equal to {max}"),
            });
        }
    }
    if let Some(p) = &shape.pattern {
        if pattern_matches(p, s) == Some(false) {
            out.push(Violation {
                path: path.into(),
                value: shown(),
                constraint: format!("Member must satisfy regular expression pattern: {p}"),
            });
        }
    }
    if !shape.enum_values.is_empty() && !shape.enum_values.iter().any(|e| e == s) {
        out.push(Violation {
            path: path.into(),
            value: shown(),
            constraint: format!(
                "Member must satisfy enum value set: [{}]",
                shape.enum_values.join(", ")
            ),
        });
    }
}

/// Checks a number against its shape's range.
pub fn check_number(shape: &Shape, path: &str, n: i64, out: &mut Vec<Violation>) {
    if let Some(min) = shape.min {
        if n < min {
            out.push(Violation {
                path: path.into(),
                value: quoted(&n.to_string()),
                constraint: format!("Member must have value greater than or equal to {min}"),
            });
        }
    }
    if let Some(max) = shape.max {
        if n > max {
            out.push(Violation {
                path: path.into(),
                value: quoted(&n.to_string()),
                constraint: format!("Member must have value less than or equal to {max}"),
            });
        }
    }
}

/// Checks a list or map's size.
pub fn check_len(shape: &Shape, path: &str, len: usize, out: &mut Vec<Violation>) {
    if !matches!(shape.kind, ShapeKind::List { .. } | ShapeKind::Map { .. }) {
        return;
    }
    let len = len as i64;
    if let Some(min) = shape.min.filter(|m| len < *m) {
        out.push(Violation {
            path: path.into(),
            value: "[...]".into(),
            constraint: format!("Member must have length greater than or equal to {min}"),
        });
    }
    if let Some(max) = shape.max.filter(|m| len > *m) {
        out.push(Violation {
            path: path.into(),
            value: "[...]".into(),
            constraint: format!("Member must have length less than or equal to {max}"),
        });
    }
}

/// Whether `s` matches the model's pattern `p`, or `None` when the pattern cannot be enforced.
/// The model's patterns are Java regular expressions meant to match the whole value; those the
/// `regex` crate cannot express are not enforced. Each thread compiles a pattern once and
/// matches with it in place (a cloned `Regex` would start a fresh match cache every time).
fn pattern_matches(p: &str, s: &str) -> Option<bool> {
    thread_local! {
        static CACHE: std::cell::RefCell<HashMap<String, Option<Regex>>> = Default::default();
    }
    CACHE.with(|cache| {
        if let Some(re) = cache.borrow().get(p) {
            return re.as_ref().map(|re| re.is_match(s));
        }
        let re = compile(p);
        let matched = re.as_ref().map(|re| re.is_match(s));
        cache.borrow_mut().insert(p.to_owned(), re);
        matched
    })
}

/// A Java pattern as an anchored `regex`, if it can be expressed.
fn compile(p: &str) -> Option<Regex> {
    static ESC: OnceLock<Regex> = OnceLock::new();
    let esc = ESC.get_or_init(|| Regex::new(r"\\u([0-9A-Fa-f]{4,6})").expect("valid"));
    let rust = esc.replace_all(p, r"\x{$1}");
    Regex::new(&format!("^(?:{rust})$")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_patterns_translate_and_anchor() {
        let text =
            r"[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+";
        assert_eq!(
            pattern_matches(text, "{\"Version\":\"2012-10-17\"}"),
            Some(true)
        );
        let name = "[a-zA-Z][0-9a-zA-Z-_]*";
        assert_eq!(pattern_matches(name, "MyEnv-1"), Some(true));
        assert_eq!(pattern_matches(name, "1abc"), Some(false));
        // Twice: the second answer comes from the thread's cache.
        assert_eq!(pattern_matches(name, "1abc"), Some(false));
        assert_eq!(pattern_matches("(?<=x)y", "xy"), None);
    }

    #[test]
    fn message_format() {
        let v = vec![Violation::missing("roleName".into())];
        assert_eq!(
            message(&v),
            "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null"
        );
    }
}
