//! What the output encoders share: the output a service hands back, the memo that keeps an
//! encoded answer with its record, the encoding error, and small serializer helpers.

use airlock_model::{Shape, ShapeKind};
use serde::ser::{self, Impossible, Serialize};
use std::fmt;
use std::sync::{Arc, Mutex};

/// A service's result: anything serde can serialize whose member names are the model's, a
/// `serde_json::Value` or a typed struct. The protocol encoders walk the output shape while it is
/// serialized (no intermediate value).
pub struct Output {
    value: Box<dyn Encode>,
    /// About how many bytes the encoded output takes (0: unknown).
    size: usize,
}

impl Output {
    pub fn new<T: Serialize + Send + 'static>(value: T) -> Output {
        Output {
            value: Box::new(Plain(value)),
            size: 0,
        }
    }

    /// With an estimate of the encoded size, so that large outputs are written into a buffer of
    /// the right size rather than one that keeps growing.
    pub fn with_size(mut self, bytes: usize) -> Output {
        self.size = bytes;
        self
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    pub(crate) fn xml(
        &self,
        buf: &mut String,
        model: &airlock_model::ServiceModel,
        shape: &Shape,
    ) -> Result<(), Error> {
        self.value.xml(buf, model, shape)
    }

    pub(crate) fn json(
        &self,
        buf: &mut Vec<u8>,
        model: &airlock_model::ServiceModel,
        shape: &Shape,
    ) -> Result<(), Error> {
        self.value.json(buf, model, shape)
    }

    /// The output as a JSON value (for callers inside Airlock and for tests).
    pub fn to_value(&self) -> serde_json::Value {
        self.value.value()
    }
}

/// The key a body was encoded for, and the body.
type Entry<K> = Option<(K, Arc<str>)>;

/// A memo's entry, shared by the memo and the outputs it makes.
struct Shared<K>(Arc<Mutex<Entry<K>>>);

impl<K: PartialEq + Clone> Shared<K> {
    /// The body kept for `key`. Never waits: a memo in use answers nothing.
    fn kept(&self, key: &K) -> Option<Arc<str>> {
        let last = self.0.try_lock().ok()?;
        let (k, body) = last.as_ref()?;
        (k == key).then(|| body.clone())
    }

    /// Keeps `body` as the one for `key` (unless the memo is in use).
    fn keep(&self, key: &K, body: Arc<str>) {
        if let Ok(mut last) = self.0.try_lock() {
            *last = Some((key.clone(), body));
        }
    }
}

/// The last body encoded for one kind of answer (one operation, so one protocol) about one
/// record, or for one part of such an answer, kept with the record and written again while `K`
/// (what else the answer depends on, such as the lifecycle state seen now) is the same.
///
/// Stored records are never changed in place (a change puts a new record), and a clone of a
/// memo starts empty, so a body is only ever reused for the record it was encoded from.
pub struct Memo<K> {
    last: Shared<K>,
}

impl<K: PartialEq + Clone + Send + 'static> Memo<K> {
    /// `value` as an output whose body is the one kept here if it was encoded for `key`, else
    /// `value`'s encoding, then kept. Never waits: an encoding that finds the memo in use
    /// goes without it.
    pub fn output<T: Serialize + Send + 'static>(&self, key: K, value: T) -> Output {
        Output {
            value: Box::new(Memoized {
                last: Shared(self.last.0.clone()),
                key,
                value,
            }),
            size: 0,
        }
    }

    /// A structure inside an answer (a list's item, a member's value) whose encoding is kept
    /// here: see [`Part`]. `value` makes it, and is only called when it is encoded.
    pub fn part<T: Serialize, F: Fn() -> T>(&self, key: K, value: F) -> Part<'_, K, F> {
        Part {
            memo: self,
            key,
            value,
        }
    }
}

struct Memoized<K, T> {
    last: Shared<K>,
    key: K,
    value: T,
}

/// A structure inside an output whose encoding is kept in a [`Memo`]: Airlock's encoders
/// write the text kept for its key, or encode the value and keep the text; any other serializer
/// (`serde_json::to_value`) serializes the value. A memo serves one place in one operation's
/// answer, since the text is what that place's shape and protocol made of the value.
///
/// How a part and an encoder talk (serde has no way to hand a serializer anything but values):
/// the part sets this thread's [`Stage`] to `Offer` (the text kept for its key, if any) and
/// serializes a newtype named [`PART`] holding the value. An encoder that meets that name takes
/// the offer ([`part_is`]) before anything else, writes the text or encodes the value and
/// leaves its text in the stage ([`wrote`]), which the part then keeps. A serializer that does
/// not know the name serializes the value and leaves the offer, which the part clears.
pub struct Part<'m, K, F> {
    memo: &'m Memo<K>,
    key: K,
    value: F,
}

/// The newtype name under which a [`Part`] reaches an encoder.
pub(crate) const PART: &str = "$airlock::Part";

/// Where a [`Part`] and the encoder writing it leave each other text.
#[derive(Default)]
enum Stage {
    #[default]
    Idle,
    /// From the part: the text kept for its key, if any.
    Offer(Option<Arc<str>>),
    /// From the encoder: the text it encoded the part's value as.
    Wrote(Arc<str>),
}

thread_local! {
    static STAGE: std::cell::Cell<Stage> = const { std::cell::Cell::new(Stage::Idle) };
}

/// What an encoder that met a [`PART`] newtype does with it.
pub(crate) enum PartIs {
    /// Write this text as the structure's content.
    Kept(Arc<str>),
    /// Encode the value as the structure's content and hand the text to [`wrote`].
    Fresh,
    /// Serialize the value as any other (not a structure, or no offer).
    Plain,
}

/// For an encoder that met a [`PART`] newtype where `shape` goes: takes the part's offer
/// (always, so that none is left behind). Only structures are kept.
pub(crate) fn part_is(shape: &Shape) -> PartIs {
    let offer = match STAGE.take() {
        Stage::Offer(kept) => kept,
        _ => return PartIs::Plain,
    };
    match (&shape.kind, offer) {
        (ShapeKind::Structure(_), Some(text)) => PartIs::Kept(text),
        (ShapeKind::Structure(_), None) => PartIs::Fresh,
        _ => PartIs::Plain,
    }
}

/// The text an encoder wrote for the part it was offered.
pub(crate) fn wrote(text: &str) {
    STAGE.set(Stage::Wrote(text.into()));
}

impl<K: PartialEq + Clone, T: Serialize, F: Fn() -> T> Serialize for Part<'_, K, F> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The value, made only if the serializer asks for it.
        struct Lazy<'a, F>(&'a F);
        impl<T: Serialize, F: Fn() -> T> Serialize for Lazy<'_, F> {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                (self.0)().serialize(s)
            }
        }
        STAGE.set(Stage::Offer(self.memo.last.kept(&self.key)));
        let out = s.serialize_newtype_struct(PART, &Lazy(&self.value));
        if let Stage::Wrote(text) = STAGE.take() {
            self.memo.last.keep(&self.key, text);
        }
        out
    }
}

impl<K> Default for Memo<K> {
    fn default() -> Self {
        Memo {
            last: Shared(Arc::new(Mutex::new(None))),
        }
    }
}

/// Empty: a copy of a record is about to be changed.
impl<K> Clone for Memo<K> {
    fn clone(&self) -> Self {
        Memo::default()
    }
}

impl<K> fmt::Debug for Memo<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Memo")
    }
}

impl From<serde_json::Value> for Output {
    fn from(v: serde_json::Value) -> Output {
        Output::new(v)
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Output({})", self.to_value())
    }
}

/// The object-safe face of `Serialize` the encoders need.
trait Encode: Send {
    fn xml(
        &self,
        buf: &mut String,
        model: &airlock_model::ServiceModel,
        shape: &Shape,
    ) -> Result<(), Error>;
    fn json(
        &self,
        buf: &mut Vec<u8>,
        model: &airlock_model::ServiceModel,
        shape: &Shape,
    ) -> Result<(), Error>;
    fn value(&self) -> serde_json::Value;
}

/// An output encoded as it is serialized.
struct Plain<T>(T);

impl<T: Serialize + Send> Encode for Plain<T> {
    fn xml(
        &self,
        buf: &mut String,
        model: &airlock_model::ServiceModel,
        shape: &Shape,
    ) -> Result<(), Error> {
        crate::xml::write_members(buf, model, shape, &self.0)
    }
    fn json(
        &self,
        buf: &mut Vec<u8>,
        model: &airlock_model::ServiceModel,
        shape: &Shape,
    ) -> Result<(), Error> {
        crate::json::write(buf, model, shape, &self.0)
    }
    fn value(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

impl<K: PartialEq + Clone + Send, T: Serialize + Send> Encode for Memoized<K, T> {
    fn xml(
        &self,
        buf: &mut String,
        model: &airlock_model::ServiceModel,
        shape: &Shape,
    ) -> Result<(), Error> {
        if let Some(body) = self.last.kept(&self.key) {
            buf.push_str(&body);
            return Ok(());
        }
        let start = buf.len();
        crate::xml::write_members(buf, model, shape, &self.value)?;
        self.last.keep(&self.key, buf[start..].into());
        Ok(())
    }
    fn json(
        &self,
        buf: &mut Vec<u8>,
        model: &airlock_model::ServiceModel,
        shape: &Shape,
    ) -> Result<(), Error> {
        if let Some(body) = self.last.kept(&self.key) {
            buf.extend_from_slice(body.as_bytes());
            return Ok(());
        }
        let start = buf.len();
        crate::json::write(buf, model, shape, &self.value)?;
        // The encoder writes only text, so this is always UTF-8.
        if let Ok(text) = std::str::from_utf8(&buf[start..]) {
            self.last.keep(&self.key, text.into());
        }
        Ok(())
    }
    fn value(&self) -> serde_json::Value {
        serde_json::to_value(&self.value).unwrap_or(serde_json::Value::Null)
    }
}

/// An output that does not fit its shape (a service bug, answered as an internal error).
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

pub(crate) fn mismatch(shape: &Shape, got: &str) -> Error {
    Error(format!("output shape {} cannot hold {got}", shape.name))
}

/// Text values belong in scalar shapes only.
pub(crate) fn check_scalar(shape: &Shape) -> Result<(), Error> {
    match shape.kind {
        ShapeKind::Structure(_) | ShapeKind::List { .. } | ShapeKind::Map { .. } => {
            Err(mismatch(shape, "a string"))
        }
        _ => Ok(()),
    }
}

/// Whether any byte of `bytes` is `special`: sixteen bytes at a time (the last sixteen
/// overlapping) with a branch-free test the compiler turns into a few vector instructions; a
/// shorter text byte by byte. Escaping asks this first and copies clean text whole.
#[inline(always)]
pub(crate) fn any_byte(bytes: &[u8], special: impl Fn(u8) -> bool + Copy) -> bool {
    match (bytes.as_chunks::<16>(), bytes.last_chunk::<16>()) {
        ((blocks, _), Some(last)) => {
            blocks.iter().any(|b| block_has(b, special)) || block_has(last, special)
        }
        _ => bytes.iter().copied().any(special),
    }
}

/// Whether any of sixteen bytes is `special` (no early exit, so that it vectorises).
#[inline(always)]
pub(crate) fn block_has(block: &[u8; 16], special: impl Fn(u8) -> bool) -> bool {
    block.iter().fold(false, |hit, &b| hit | special(b))
}

/// The methods both shape-driven `Serializer`s share, for a type with `raw(self, &str)` (text
/// written as it is), `part(self, &T)` (a [`Part`]'s newtype) and a list type `List`: booleans
/// as `true`/`false`, integers in decimal, narrower numbers widened, a char as a one-character
/// string, options, other newtypes and unit variants as what they hold, tuples as lists. Each
/// encoder writes the rest (`f64`, strings, nulls, lists, structures, maps).
macro_rules! shared_methods {
    () => {
        fn serialize_bool(self, v: bool) -> Result<(), $crate::encode::Error> {
            self.raw(if v { "true" } else { "false" })
        }
        fn serialize_i8(self, v: i8) -> Result<(), $crate::encode::Error> {
            self.serialize_i64(v.into())
        }
        fn serialize_i16(self, v: i16) -> Result<(), $crate::encode::Error> {
            self.serialize_i64(v.into())
        }
        fn serialize_i32(self, v: i32) -> Result<(), $crate::encode::Error> {
            self.serialize_i64(v.into())
        }
        fn serialize_i64(self, v: i64) -> Result<(), $crate::encode::Error> {
            self.raw(itoa::Buffer::new().format(v))
        }
        fn serialize_u8(self, v: u8) -> Result<(), $crate::encode::Error> {
            self.serialize_u64(v.into())
        }
        fn serialize_u16(self, v: u16) -> Result<(), $crate::encode::Error> {
            self.serialize_u64(v.into())
        }
        fn serialize_u32(self, v: u32) -> Result<(), $crate::encode::Error> {
            self.serialize_u64(v.into())
        }
        fn serialize_u64(self, v: u64) -> Result<(), $crate::encode::Error> {
            self.raw(itoa::Buffer::new().format(v))
        }
        fn serialize_f32(self, v: f32) -> Result<(), $crate::encode::Error> {
            self.serialize_f64(v.into())
        }
        fn serialize_char(self, v: char) -> Result<(), $crate::encode::Error> {
            self.serialize_str(v.encode_utf8(&mut [0; 4]))
        }
        fn serialize_some<T: ::serde::Serialize + ?Sized>(
            self,
            value: &T,
        ) -> Result<(), $crate::encode::Error> {
            value.serialize(self)
        }
        fn serialize_unit_variant(
            self,
            _: &'static str,
            _: u32,
            variant: &'static str,
        ) -> Result<(), $crate::encode::Error> {
            self.serialize_str(variant)
        }
        fn serialize_newtype_struct<T: ::serde::Serialize + ?Sized>(
            self,
            name: &'static str,
            value: &T,
        ) -> Result<(), $crate::encode::Error> {
            if name == $crate::encode::PART {
                self.part(value)
            } else {
                value.serialize(self)
            }
        }
        fn serialize_newtype_variant<T: ::serde::Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            value: &T,
        ) -> Result<(), $crate::encode::Error> {
            value.serialize(self)
        }
        fn serialize_tuple(self, len: usize) -> Result<List<'a>, $crate::encode::Error> {
            self.serialize_seq(Some(len))
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            len: usize,
        ) -> Result<List<'a>, $crate::encode::Error> {
            self.serialize_seq(Some(len))
        }
    };
}
pub(crate) use shared_methods;

/// `SerializeSeq`, `SerializeTuple` and `SerializeTupleStruct` for an encoder's list type,
/// whose `item` writes one element and `finish` closes the list.
macro_rules! list_serializers {
    ($list:ident) => {
        impl ::serde::ser::SerializeSeq for $list<'_> {
            type Ok = ();
            type Error = $crate::encode::Error;
            fn serialize_element<T: ::serde::Serialize + ?Sized>(
                &mut self,
                value: &T,
            ) -> Result<(), Self::Error> {
                self.item(value)
            }
            fn end(self) -> Result<(), Self::Error> {
                self.finish()
            }
        }

        impl ::serde::ser::SerializeTuple for $list<'_> {
            type Ok = ();
            type Error = $crate::encode::Error;
            fn serialize_element<T: ::serde::Serialize + ?Sized>(
                &mut self,
                value: &T,
            ) -> Result<(), Self::Error> {
                self.item(value)
            }
            fn end(self) -> Result<(), Self::Error> {
                self.finish()
            }
        }

        impl ::serde::ser::SerializeTupleStruct for $list<'_> {
            type Ok = ();
            type Error = $crate::encode::Error;
            fn serialize_field<T: ::serde::Serialize + ?Sized>(
                &mut self,
                value: &T,
            ) -> Result<(), Self::Error> {
                self.item(value)
            }
            fn end(self) -> Result<(), Self::Error> {
                self.finish()
            }
        }
    };
}
pub(crate) use list_serializers;

/// A float as AWS writes it (shortest round-trip form, as serde_json does).
pub(crate) fn float(v: f64) -> String {
    if v.is_finite() {
        ryu::Buffer::new().format_finite(v).to_owned()
    } else if v.is_nan() {
        "NaN".to_owned()
    } else if v > 0.0 {
        "Infinity".to_owned()
    } else {
        "-Infinity".to_owned()
    }
}

pub(crate) fn base64(v: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(v)
}

/// A service's output names a member its shape does not have.
pub(crate) fn undeclared(key: &str) -> Error {
    Error(format!(
        "the output names {key}, which its shape does not declare"
    ))
}

/// Calls `f` with the text of a map key or field name (strings, chars, numbers, unit variants).
pub(crate) fn with_key<K: Serialize + ?Sized>(key: &K, f: impl FnOnce(&str)) -> Result<(), Error> {
    key.serialize(KeyText(f))
}

struct KeyText<F>(F);

macro_rules! int_key {
    ($($m:ident: $t:ty),*) => {
        $(fn $m(self, v: $t) -> Result<(), Error> {
            (self.0)(itoa::Buffer::new().format(v));
            Ok(())
        })*
    };
}

impl<F: FnOnce(&str)> ser::Serializer for KeyText<F> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        (self.0)(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        (self.0)(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    int_key!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_bool(self, _: bool) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_f32(self, _: f32) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_f64(self, _: f64) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(key_error())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_error())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_error())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_error())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_error())
    }
}

fn key_error() -> Error {
    Error("map keys must be strings".to_owned())
}

/// Seconds since the epoch of an ISO 8601 / RFC 3339 timestamp, as services write them
/// (`2024-05-01T10:00:00.123Z`); other offsets and precisions go through `time`'s parser.
pub(crate) fn epoch_seconds(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        part.iter().try_fold(0i64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
        })
    };
    let fast = (|| {
        if b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let (y, mo, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let (h, mi, sec) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
        let (millis, end) = match b[19] {
            b'.' if b.len() == 24 => (digits(20..23)?, 23),
            b'Z' if b.len() == 20 => (0, 19),
            _ => return None,
        };
        if b[end] != b'Z'
            || !(1..=12).contains(&mo)
            || !(1..=31).contains(&d)
            || h > 23
            || mi > 59
            || sec > 60
        {
            return None;
        }
        let days = days_from_civil(y, mo, d);
        Some((days * 86_400 + h * 3600 + mi * 60 + sec) as f64 + millis as f64 / 1000.0)
    })();
    fast.or_else(|| {
        let t =
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
        Some(t.unix_timestamp() as f64 + f64::from(t.millisecond()) / 1000.0)
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_seconds_match_the_time_crate() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2024-05-01T10:00:00.500Z",
            "2000-02-29T23:59:59.999Z",
            "1999-12-31T00:00:01.000Z",
            "2100-03-01T12:00:00Z",
            "2024-05-01T12:00:00+02:00",
            "2024-05-01T10:00:00.123456Z",
        ] {
            let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .unwrap();
            let want = t.unix_timestamp() as f64 + f64::from(t.millisecond()) / 1000.0;
            assert_eq!(epoch_seconds(s), Some(want), "{s}");
        }
        assert_eq!(epoch_seconds("yesterday"), None);
        assert_eq!(epoch_seconds("2024-13-01T00:00:00Z"), None);
    }

    #[test]
    fn a_memo_answers_again_only_for_its_key_and_record() {
        use serde_json::json;
        let m = airlock_model::mwaa();
        let shape = m.shape("Environment");
        let body = |o: &Output| {
            let mut b = Vec::new();
            o.json(&mut b, m, shape).unwrap();
            String::from_utf8(b).unwrap()
        };
        let memo = Memo::default();
        let value = json!({"Name": "a", "CreatedAt": "2024-05-01T10:00:00Z"});
        // Encoded as it would be without the memo.
        assert_eq!(
            body(&memo.output(1, value.clone())),
            body(&Output::new(value))
        );
        // The same key: the kept body, whatever the value says now.
        let kept = r#"{"Name":"a","CreatedAt":1714557600.0}"#;
        assert_eq!(body(&memo.output(1, json!({"Name": "b"}))), kept);
        // Another key: encoded again, and kept instead.
        assert_eq!(
            body(&memo.output(2, json!({"Name": "b"}))),
            r#"{"Name":"b"}"#
        );
        assert_eq!(body(&memo.output(2, json!({}))), r#"{"Name":"b"}"#);
        assert_eq!(
            body(&memo.output(1, json!({"Name": "c"}))),
            r#"{"Name":"c"}"#
        );
        // A clone is the memo of a changed copy of the record: it keeps nothing.
        let copy = memo.clone();
        assert_eq!(
            body(&copy.output(1, json!({"Name": "d"}))),
            r#"{"Name":"d"}"#
        );
        assert_eq!(body(&memo.output(1, json!({}))), r#"{"Name":"c"}"#);

        // XML likewise.
        let ec2 = airlock_model::ec2();
        let shape = ec2.shape("DescribeAvailabilityZonesResult");
        let xml = |o: &Output| {
            let mut b = String::new();
            o.xml(&mut b, ec2, shape).unwrap();
            b
        };
        let zones = |name: &str| json!({"AvailabilityZones": [{"ZoneName": name}]});
        let memo = Memo::default();
        let first = xml(&memo.output(1, zones("a")));
        assert_eq!(first, xml(&Output::new(zones("a"))));
        assert!(first.contains("<zoneName>a</zoneName>"), "{first}");
        assert_eq!(xml(&memo.output(1, zones("b"))), first);
        assert!(xml(&memo.output(2, zones("b"))).contains("<zoneName>b</zoneName>"));
    }

    /// A list member named `list` of three items, the first two parts (each with its memo and
    /// key), made from `names`; `made` counts the values made.
    struct Parts<'a> {
        list: &'static str,
        memos: &'a [Memo<u8>; 2],
        keys: [u8; 2],
        names: [&'a str; 3],
        made: &'a std::cell::Cell<usize>,
    }

    impl Serialize for Parts<'_> {
        fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::{SerializeSeq, SerializeStruct};
            struct Items<'b>(&'b Parts<'b>);
            impl Serialize for Items<'_> {
                fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    let p = self.0;
                    let make = |i: usize| {
                        p.made.set(p.made.get() + 1);
                        item(p.list, p.names[i])
                    };
                    let mut seq = s.serialize_seq(Some(3))?;
                    seq.serialize_element(&p.memos[0].part(p.keys[0], || make(0)))?;
                    seq.serialize_element(&p.memos[1].part(p.keys[1], || make(1)))?;
                    seq.serialize_element(&item(p.list, p.names[2]))?;
                    seq.end()
                }
            }
            let mut out = s.serialize_struct("Parts", 2)?;
            if self.list != "AvailabilityZones" {
                out.serialize_field("NextToken", "t")?;
            }
            out.serialize_field(self.list, &Items(self))?;
            out.end()
        }
    }

    /// An item of either list below: an availability zone, or a certificate summary.
    fn item(list: &str, name: &str) -> serde_json::Value {
        match list {
            "AvailabilityZones" => serde_json::json!({"ZoneName": name, "State": "available"}),
            _ => serde_json::json!({"DomainName": name, "Status": "ISSUED"}),
        }
    }

    fn plain(list: &str, names: [&str; 3]) -> serde_json::Value {
        let items = names.map(|n| item(list, n));
        match list {
            "AvailabilityZones" => serde_json::json!({ list: items }),
            _ => serde_json::json!({"NextToken": "t", list: items}),
        }
    }

    fn xml_of<T: Serialize>(v: &T) -> String {
        let ec2 = airlock_model::ec2();
        let mut b = String::new();
        crate::xml::write_members(&mut b, ec2, ec2.shape("DescribeAvailabilityZonesResult"), v)
            .unwrap();
        b
    }

    fn json_of<T: Serialize>(v: &T) -> String {
        let acm = airlock_model::acm();
        let mut b = Vec::new();
        crate::json::write(&mut b, acm, acm.shape("ListCertificatesResponse"), v).unwrap();
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn a_part_is_written_from_its_memo_while_its_key_is_the_same() {
        let memos = [Memo::default(), Memo::default()];
        let made = std::cell::Cell::new(0);
        let zones = |keys, names| Parts {
            list: "AvailabilityZones",
            memos: &memos,
            keys,
            names,
            made: &made,
        };
        let plain = |names| plain("AvailabilityZones", names);
        // First: encoded as without memos, and kept.
        let first = xml_of(&zones([1, 1], ["a", "b", "c"]));
        assert_eq!(first, xml_of(&plain(["a", "b", "c"])));
        assert!(first.contains("<item><zoneName>a</zoneName>"), "{first}");
        assert_eq!(made.get(), 2);
        // The same keys: the kept items, whatever the values would be now (not even made).
        assert_eq!(
            xml_of(&zones([1, 1], ["x", "y", "z"])),
            xml_of(&plain(["a", "b", "z"]))
        );
        assert_eq!(made.get(), 2);
        // The second part's key changed: it alone is encoded again.
        assert_eq!(
            xml_of(&zones([1, 2], ["x", "y", "z"])),
            xml_of(&plain(["a", "y", "z"]))
        );
        assert_eq!(made.get(), 3);
        // Any other serializer sees the values, and leaves the memos as they were.
        assert_eq!(
            serde_json::to_value(zones([1, 2], ["p", "q", "r"])).unwrap(),
            plain(["p", "q", "r"])
        );
        assert_eq!(
            xml_of(&zones([1, 2], ["x", "x", "x"])),
            xml_of(&plain(["a", "y", "x"]))
        );
        // A clone of a memo keeps nothing.
        let copies = [memos[0].clone(), memos[1].clone()];
        let copied = Parts {
            memos: &copies,
            ..zones([1, 2], ["p", "q", "r"])
        };
        assert_eq!(xml_of(&copied), xml_of(&plain(["p", "q", "r"])));

        // Only structures are kept: a part where a string goes is written afresh each time.
        struct Token<'a>(&'a Memo<u8>, &'a str);
        impl Serialize for Token<'_> {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut out = s.serialize_struct("Token", 1)?;
                out.serialize_field("NextToken", &self.0.part(1, || self.1))?;
                out.end()
            }
        }
        let memo = Memo::default();
        assert_eq!(json_of(&Token(&memo, "a")), r#"{"NextToken":"a"}"#);
        assert_eq!(json_of(&Token(&memo, "b")), r#"{"NextToken":"b"}"#);
    }

    #[test]
    fn a_json_part_is_the_object_alone() {
        let memos = [Memo::default(), Memo::default()];
        let made = std::cell::Cell::new(0);
        let summaries = |names| Parts {
            list: "CertificateSummaryList",
            memos: &memos,
            keys: [1, 1],
            names,
            made: &made,
        };
        let plain = |names| plain("CertificateSummaryList", names);
        let first = json_of(&summaries(["a", "b", "c"]));
        assert_eq!(first, json_of(&plain(["a", "b", "c"])));
        // Kept objects go after the separator: the second item's text has no comma of its own.
        assert_eq!(
            json_of(&summaries(["x", "y", "z"])),
            json_of(&plain(["a", "b", "z"]))
        );
        assert_eq!(made.get(), 2);
        assert!(
            first.starts_with(r#"{"NextToken":"t","CertificateSummaryList":[{"#),
            "{first}"
        );
    }
}
