//! `--log-format json`: one JSON object per line, in the shape of tracing-subscriber's JSON
//! format (`timestamp`, `level`, `fields` with the message, `target`), written without an
//! intermediate serializer: the request log line is on every API request's path.

use std::fmt::{self, Write};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        // Built in a plain String (direct calls) and handed to the writer in one piece.
        let meta = event.metadata();
        let mut line = String::with_capacity(256);
        line.push_str("{\"timestamp\":\"");
        timestamp(&mut line, time::OffsetDateTime::now_utc())?;
        line.push_str("\",\"level\":\"");
        line.push_str(meta.level().as_str());
        line.push_str("\",\"fields\":{");
        let mut fields = Fields {
            w: &mut line,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        line.push_str("},\"target\":");
        string(&mut line, meta.target())?;
        line.push_str("}\n");
        w.write_str(&line)
    }
}

/// RFC 3339 in UTC with microseconds, as tracing-subscriber writes it.
fn timestamp(w: &mut impl Write, t: time::OffsetDateTime) -> fmt::Result {
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    let (h, mi, s, us) = (t.hour(), t.minute(), t.second(), t.microsecond());
    let mut buf = itoa::Buffer::new();
    pad(w, &mut buf, y.unsigned_abs(), 4)?;
    w.write_char('-')?;
    pad(w, &mut buf, u32::from(mo), 2)?;
    w.write_char('-')?;
    pad(w, &mut buf, u32::from(d), 2)?;
    w.write_char('T')?;
    pad(w, &mut buf, u32::from(h), 2)?;
    w.write_char(':')?;
    pad(w, &mut buf, u32::from(mi), 2)?;
    w.write_char(':')?;
    pad(w, &mut buf, u32::from(s), 2)?;
    w.write_char('.')?;
    pad(w, &mut buf, us, 6)?;
    w.write_char('Z')
}

/// `n` in decimal, zero-padded to `width` digits.
fn pad(w: &mut impl Write, buf: &mut itoa::Buffer, n: u32, width: usize) -> fmt::Result {
    let digits = buf.format(n);
    for _ in digits.len()..width {
        w.write_char('0')?;
    }
    w.write_str(digits)
}

/// A JSON string.
fn string(w: &mut impl Write, s: &str) -> fmt::Result {
    w.write_char('"')?;
    Escaped(w).write_str(s)?;
    w.write_char('"')
}

/// Writes text with JSON's escapes.
struct Escaped<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(i) = rest
            .bytes()
            .position(|b| b < 0x20 || b == b'"' || b == b'\\')
        {
            self.0.write_str(&rest[..i])?;
            match rest.as_bytes()[i] {
                b'"' => self.0.write_str("\\\"")?,
                b'\\' => self.0.write_str("\\\\")?,
                b'\n' => self.0.write_str("\\n")?,
                b'\r' => self.0.write_str("\\r")?,
                b'\t' => self.0.write_str("\\t")?,
                c => write!(self.0, "\\u{:04x}", c)?,
            }
            rest = &rest[i + 1..];
        }
        self.0.write_str(rest)
    }
}

struct Fields<'a> {
    w: &'a mut String,
    first: bool,
    result: fmt::Result,
}

impl Fields<'_> {
    fn field(&mut self, f: &Field, value: impl FnOnce(&mut String) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !self.first {
                self.w.write_char(',')?;
            }
            self.first = false;
            string(self.w, f.name())?;
            self.w.write_char(':')?;
            value(self.w)
        })();
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, f: &Field, v: &str) {
        self.field(f, |w| string(w, v));
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.field(f, |w| w.write_str(if v { "true" } else { "false" }));
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.field(f, |w| w.write_str(itoa::Buffer::new().format(v)));
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.field(f, |w| w.write_str(itoa::Buffer::new().format(v)));
    }
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.field(f, |w| {
            if v.is_finite() {
                w.write_str(ryu::Buffer::new().format_finite(v))
            } else {
                w.write_str("null")
            }
        });
    }
    fn record_debug(&mut self, f: &Field, v: &dyn fmt::Debug) {
        self.field(f, |w| {
            w.write_char('"')?;
            write!(Escaped(w), "{v:?}")?;
            w.write_char('"')
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_json_in_tracing_subscribers_shape() {
        let out = Captured::default();
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(JsonLines)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(target: "airlock::request", service = "ec2", status = 200u16, latency_ms = 0.25, ok = true, n = -3i64, "done \"quoted\"\n");
            tracing::warn!(target: "airlock::tick", error = %"bad\tthing", addr = ?"127.0.0.1:1", "could not");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect(l))
            .collect();
        assert_eq!(lines.len(), 2);
        let a = &lines[0];
        assert_eq!(a["level"], "INFO");
        assert_eq!(a["target"], "airlock::request");
        assert_eq!(a["fields"]["message"], "done \"quoted\"\n");
        assert_eq!(a["fields"]["service"], "ec2");
        assert_eq!(a["fields"]["status"], 200);
        assert_eq!(a["fields"]["latency_ms"], 0.25);
        assert_eq!(a["fields"]["ok"], true);
        assert_eq!(a["fields"]["n"], -3);
        let ts = a["timestamp"].as_str().unwrap();
        let parsed =
            time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339)
                .unwrap();
        assert!((time::OffsetDateTime::now_utc() - parsed).abs() < time::Duration::minutes(1));
        assert_eq!(ts.len(), "2026-12-01T20:47:03.123456Z".len());
        assert_eq!(lines[1]["fields"]["error"], "bad\tthing");
        assert_eq!(lines[1]["fields"]["addr"], "\"127.0.0.1:1\"");
        assert_eq!(lines[1]["level"], "WARN");
    }

    #[test]
    fn timestamps_pad_every_part() {
        let mut s = String::new();
        timestamp(
            &mut s,
            time::macros::datetime!(2024-01-02 03:04:05.000006 UTC),
        )
        .unwrap();
        assert_eq!(s, "2024-01-02T03:04:05.000006Z");
    }
}
