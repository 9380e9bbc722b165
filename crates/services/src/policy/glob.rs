//! IAM's wildcards: `*` matches any run of characters (also none), `?` exactly one.
//!
//! A pattern may also hold [`LITERAL_STAR`] and [`LITERAL_QUESTION`]: the `*` and `?` that a
//! policy variable put there (`${*}`, or a value containing them), which match only themselves.

/// A `*` that is not a wildcard (a private-use character no policy or ARN contains).
pub const LITERAL_STAR: char = '\u{E000}';
/// A `?` that is not a wildcard.
pub const LITERAL_QUESTION: char = '\u{E001}';

/// `LITERAL_STAR` and `LITERAL_QUESTION` in UTF-8: `EE 80 80`, `EE 80 81`.
const LITERAL_LEAD: [u8; 2] = [0xEE, 0x80];

/// The literal byte a pattern encodes at `p`, and the pattern bytes it takes.
fn literal_at(pattern: &[u8], p: usize) -> Option<u8> {
    if pattern.len() >= p + 3 && pattern[p..p + 2] == LITERAL_LEAD {
        match pattern[p + 2] {
            0x80 => return Some(b'*'),
            0x81 => return Some(b'?'),
            _ => {}
        }
    }
    None
}

/// Case-sensitive match of `text` against `pattern` (`StringLike`).
pub fn like(pattern: &str, text: &str) -> bool {
    matches(pattern.as_bytes(), text.as_bytes(), false)
}

/// Case-insensitive match (actions: `EC2:describe*` matches `ec2:DescribeVpcs`).
pub fn like_ignore_case(pattern: &str, text: &str) -> bool {
    matches(pattern.as_bytes(), text.as_bytes(), true)
}

/// `ArnLike`/`ArnEquals` and `Resource` matching: each of the six colon-separated parts of the
/// ARN is matched on its own (a wildcard does not cross into the next part, except in the
/// last, which may contain colons itself). A pattern of just `*` matches anything.
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let mut p = pattern.splitn(6, ':');
    let mut a = arn.splitn(6, ':');
    for _ in 0..6 {
        match (p.next(), a.next()) {
            (Some(p), Some(a)) if like(p, a) => {}
            _ => return false,
        }
    }
    true
}

/// `pattern` with its literal `*` and `?` as plain characters (for the operators that do not
/// take wildcards).
pub fn plain(pattern: &str) -> std::borrow::Cow<'_, str> {
    if pattern.contains([LITERAL_STAR, LITERAL_QUESTION]) {
        pattern
            .replace(LITERAL_STAR, "*")
            .replace(LITERAL_QUESTION, "?")
            .into()
    } else {
        pattern.into()
    }
}

/// Iterative wildcard matching with one backtracking point (linear in practice, never
/// exponential).
fn matches(pattern: &[u8], text: &[u8], ignore_case: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let literal = literal_at(pattern, p);
        if literal == Some(text[t]) {
            p += 3;
            t += 1;
        } else if literal.is_some() {
            // A literal that does not match: backtrack below.
            match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    let next = st + utf8_len(text[st]);
                    star = Some((sp, next));
                    t = next;
                }
                None => return false,
            }
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && (pattern[p] == b'?' || eq(pattern[p], text[t])) {
            // `?` stands for one character: skip a whole UTF-8 sequence.
            if pattern[p] == b'?' {
                t += utf8_len(text[t]);
            } else {
                t += 1;
            }
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            let next = st + utf8_len(text[st]);
            star = Some((sp, next));
            t = next;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    }
}
