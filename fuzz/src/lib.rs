//! Helpers shared by the fuzz targets in `fuzz_targets/`: a target is one small file that asks
//! this module for a model and an operation picked from the input's first bytes and hands the
//! rest to one decoder.
//!
//! Everything here is deterministic: the same bytes pick the same operation in every run, so a
//! crashing input replays (`cargo fuzz run <target> <file>`).

use airlock_model::{Operation, Protocol, ServiceModel};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The committed models that speak one of `protocols`, in `airlock_model::all()` order.
pub fn models(protocols: &[Protocol]) -> Vec<&'static ServiceModel> {
    airlock_model::all()
        .iter()
        .copied()
        .filter(|m| protocols.contains(&m.protocol))
        .collect()
}

/// A model's operations sorted by name (the model keeps them in a hash map, whose order changes
/// from one process to the next).
pub fn operations(model: &'static ServiceModel) -> &'static [&'static Operation] {
    static SORTED: OnceLock<HashMap<&'static str, Vec<&'static Operation>>> = OnceLock::new();
    let all = SORTED.get_or_init(|| {
        airlock_model::all()
            .iter()
            .map(|m| {
                let mut ops: Vec<&'static Operation> = m.operations().collect();
                ops.sort_by(|a, b| a.name.cmp(&b.name));
                (m.name, ops)
            })
            .collect()
    });
    all.get(model.name).map(Vec::as_slice).unwrap_or(&[])
}

/// Picks a model speaking one of `protocols` with the first byte of `data` and one of its
/// operations with the next two; returns them and the bytes left. `None` when `data` is too short
/// or no model speaks these protocols.
pub fn pick_operation<'a>(
    data: &'a [u8],
    protocols: &[Protocol],
) -> Option<(&'static ServiceModel, &'static Operation, &'a [u8])> {
    let [m, o1, o2, rest @ ..] = data else {
        return None;
    };
    let models = models(protocols);
    let model = *models.get(usize::from(*m) % models.len().max(1))?;
    let ops = operations(model);
    let op = *ops.get(usize::from(u16::from_le_bytes([*o1, *o2])) % ops.len().max(1))?;
    Some((model, op, rest))
}

/// An HTTP request read from fuzz bytes in HTTP/1.1's own layout, so that seeds are readable:
/// `METHOD target` on the first line (the target split at its first `?` into path and query),
/// then `Name: value` header lines, an empty line, and the body. Bytes that are not UTF-8 are
/// replaced; a missing piece is empty.
#[derive(Debug, Default)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn parse(data: &[u8]) -> HttpRequest {
        let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, &[][..]),
        };
        let head = String::from_utf8_lossy(head);
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next().unwrap_or("");
        let (method, target) = first.split_once(' ').unwrap_or((first, ""));
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let headers = lines
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap_or((l, ""));
                (n.to_owned(), v.trim_start().to_owned())
            })
            .collect();
        HttpRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: body.to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_same_operation_every_time() {
        let (m, op, rest) = pick_operation(&[0, 1, 0, b'x'], &[Protocol::Ec2]).unwrap();
        assert_eq!(m.name, "ec2");
        assert_eq!(op.name, operations(m)[1].name);
        assert_eq!(rest, b"x");
        assert!(pick_operation(&[0, 1], &[Protocol::Ec2]).is_none());
    }

    #[test]
    fn reads_an_http_request() {
        let r = HttpRequest::parse(b"GET /a?b=c\r\nHost: h\nX:  y\n\nbody");
        assert_eq!((&*r.method, &*r.path, &*r.query), ("GET", "/a", "b=c"));
        assert_eq!(
            r.headers,
            [("Host".into(), "h".into()), ("X".into(), "y".into())]
        );
        assert_eq!(r.body, b"body");
    }
}
