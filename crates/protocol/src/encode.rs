//! What the output encoders share: the output a service hands back (which may name the record
//! version it encodes, so that the text is kept in [`crate::cache`]), the encoding error, and
//! small serializer helpers.

use crate::cache::{Cache, Of};
use airlock_model::{ServiceModel, Shape, ShapeKind};
use serde::ser::{self, Impossible, Serialize};
use std::fmt;
use std::sync::Arc;

/// A service's result: anything serde can serialize whose member names are the model's, a
/// `serde_json::Value` or a typed struct. The protocol encoders walk the output shape while it is
/// serialized (no intermediate value).
pub struct Output {
    value: Box<dyn Encode>,
    /// About how many bytes the encoded output takes (0: unknown).
    size: usize,
    /// A raw payload written as the body (rest-xml blob payloads: an object's bytes).
    pub(crate) payload: Option<Payload>,
    /// The answer's HTTP status where the operation's is not fixed (rest-xml: S3's 206).
    pub(crate) status: Option<u16>,
}

impl Output {
    pub fn new<T: Serialize + Send + 'static>(value: T) -> Output {
        Output {
            value: Box::new(Plain(value)),
            size: 0,
            payload: None,
            status: None,
        }
    }

    /// `value` as the encoding of `of` (a record version, see [`crate::cache`]) under `view`
    /// (everything else the answer depends on): its text is kept in the cache and written again
    /// while `of` and `view` are the same.
    pub fn cached<R, K, T>(of: R, view: K, value: T) -> Output
    where
        R: Of + Send + 'static,
        K: PartialEq + Clone + Send + 'static,
        T: Serialize + Send + 'static,
    {
        Output {
            value: Box::new(Cached { of, view, value }),
            size: 0,
            payload: None,
            status: None,
        }
    }

    /// With an estimate of the encoded size, so that large outputs are written into a buffer of
    /// the right size rather than one that keeps growing.
    pub fn with_size(mut self, bytes: usize) -> Output {
        self.size = bytes;
        self
    }

    /// With the bytes of the output's blob payload (rest-xml: GetObject's body), which the
    /// encoder writes as the body as they are.
    pub fn with_payload(mut self, bytes: Vec<u8>) -> Output {
        self.payload = Some(Payload::Bytes(bytes));
        self
    }

    /// With `len` bytes of an open file from `offset` as the output's blob payload, which the
    /// server streams as the body (an object's content file; open, so that deleting or
    /// replacing the object meanwhile does not cut the answer short).
    pub fn with_payload_file(mut self, file: std::fs::File, offset: u64, len: u64) -> Output {
        self.payload = Some(Payload::File(FileBody {
            file: Arc::new(file),
            offset,
            len,
        }));
        self
    }

    /// With an HTTP status other than the operation's (rest-xml; S3's 206 Partial Content).
    pub fn with_status(mut self, status: u16) -> Output {
        self.status = Some(status);
        self
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    pub(crate) fn xml(
        &self,
        buf: &mut String,
        model: &ServiceModel,
        shape: &Shape,
    ) -> Result<(), Error> {
        self.value.xml(buf, model, shape)
    }

    pub(crate) fn json(
        &self,
        buf: &mut Vec<u8>,
        model: &ServiceModel,
        shape: &Shape,
    ) -> Result<(), Error> {
        self.value.json(buf, model, shape)
    }

    /// The output as a JSON value (for callers inside Airlock and for tests).
    pub fn to_value(&self) -> serde_json::Value {
        self.value.value()
    }
}

/// The raw body of an output (rest-xml blob payloads).
#[derive(Debug)]
pub enum Payload {
    Bytes(Vec<u8>),
    File(FileBody),
}

/// A body streamed from part of an open file.
#[derive(Debug, Clone)]
pub struct FileBody {
    pub file: Arc<std::fs::File>,
    pub offset: u64,
    pub len: u64,
}

impl PartialEq for FileBody {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.file, &other.file) && (self.offset, self.len) == (other.offset, other.len)
    }
}

/// A structure inside an output that is the encoding of one version of a record under a view
/// (see [`crate::cache`]): Airlock's encoders write the text the cache keeps for it, or encode
/// the value and keep the text; any other serializer (`serde_json::to_value`) serializes the
/// value. The value is made only when it is encoded.
///
/// How a part and an encoder talk (serde has no way to hand a serializer anything but values):
/// the part sets this thread's [`Stage`] to `Offer` (the text the cache keeps for its record
/// and view, with the shape it was encoded for) and serializes a newtype named [`PART`] holding
/// the value. An encoder that meets that name takes the offer ([`part_is`]) before anything
/// else, writes the text if it was encoded for the shape at hand, or encodes the value and
/// leaves its text in the stage ([`wrote`]), which the part then keeps. A serializer that does
/// not know the name serializes the value and leaves the offer, which the part clears. The
/// stage is the encoders' own: services only build parts.
pub struct Part<'a, R, K, F> {
    of: &'a R,
    view: K,
    value: F,
}

/// `value()` as the encoding of `of` under `view` (everything else the text depends on).
pub fn part<R: Of, K: PartialEq + Clone + Send + 'static, T: Serialize, F: Fn() -> T>(
    of: &R,
    view: K,
    value: F,
) -> Part<'_, R, K, F> {
    Part { of, view, value }
}

/// The newtype name under which a [`Part`] reaches an encoder.
pub(crate) const PART: &str = "$airlock::Part";

/// Where a [`Part`] and the encoder writing it leave each other text.
#[derive(Default)]
enum Stage {
    #[default]
    Idle,
    /// From the part: the text kept for its record and view, with the shape it was written
    /// for, if any.
    Offer(Option<(usize, Arc<str>)>),
    /// From the encoder: encoding the part for this shape.
    Writing(usize),
    /// From the encoder: the text it encoded the part's value as, and for which shape.
    Wrote(usize, Arc<str>),
}

thread_local! {
    static STAGE: std::cell::Cell<Stage> = const { std::cell::Cell::new(Stage::Idle) };
}

/// A shape's identity (models are parsed once and never freed), which names the place in an
/// answer and the protocol.
fn place(shape: &Shape) -> usize {
    shape as *const Shape as usize
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
    if !matches!(shape.kind, ShapeKind::Structure(_)) {
        return PartIs::Plain;
    }
    match offer {
        Some((at, text)) if at == place(shape) => PartIs::Kept(text),
        _ => {
            STAGE.set(Stage::Writing(place(shape)));
            PartIs::Fresh
        }
    }
}

/// The text an encoder wrote for the part it was offered.
pub(crate) fn wrote(text: &str) {
    if let Stage::Writing(at) = STAGE.take() {
        STAGE.set(Stage::Wrote(at, text.into()));
    }
}

impl<R: Of, K: PartialEq + Clone + Send + 'static, T: Serialize, F: Fn() -> T> Serialize
    for Part<'_, R, K, F>
{
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// The value, made only if the serializer asks for it.
        struct Lazy<'a, F>(&'a F);
        impl<T: Serialize, F: Fn() -> T> Serialize for Lazy<'_, F> {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                (self.0)().serialize(s)
            }
        }
        let cache = Cache::global();
        STAGE.set(Stage::Offer(cache.find(self.of, &self.view, |_| true)));
        let out = s.serialize_newtype_struct(PART, &Lazy(&self.value));
        if let Stage::Wrote(at, text) = STAGE.take() {
            cache.put(self.of, self.view.clone(), at, text);
        }
        out
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
    fn xml(&self, buf: &mut String, model: &ServiceModel, shape: &Shape) -> Result<(), Error>;
    fn json(&self, buf: &mut Vec<u8>, model: &ServiceModel, shape: &Shape) -> Result<(), Error>;
    fn value(&self) -> serde_json::Value;
}

/// An output encoded as it is serialized.
struct Plain<T>(T);

impl<T: Serialize + Send> Encode for Plain<T> {
    fn xml(&self, buf: &mut String, model: &ServiceModel, shape: &Shape) -> Result<(), Error> {
        crate::xml::write_members(buf, model, shape, &self.0)
    }
    fn json(&self, buf: &mut Vec<u8>, model: &ServiceModel, shape: &Shape) -> Result<(), Error> {
        crate::json::write(buf, model, shape, &self.0)
    }
    fn value(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).unwrap_or(serde_json::Value::Null)
    }
}

/// An output that is the encoding of one version of a record under a view ([`Output::cached`]).
struct Cached<R, K, T> {
    of: R,
    view: K,
    value: T,
}

impl<R: Of + Send, K: PartialEq + Clone + Send + 'static, T: Serialize + Send> Encode
    for Cached<R, K, T>
{
    fn xml(&self, buf: &mut String, model: &ServiceModel, shape: &Shape) -> Result<(), Error> {
        let cache = Cache::global();
        if let Some(body) = cache.get(&self.of, &self.view, place(shape)) {
            buf.push_str(&body);
            return Ok(());
        }
        let start = buf.len();
        crate::xml::write_members(buf, model, shape, &self.value)?;
        cache.put(
            &self.of,
            self.view.clone(),
            place(shape),
            buf[start..].into(),
        );
        Ok(())
    }
    fn json(&self, buf: &mut Vec<u8>, model: &ServiceModel, shape: &Shape) -> Result<(), Error> {
        let cache = Cache::global();
        if let Some(body) = cache.get(&self.of, &self.view, place(shape)) {
            buf.extend_from_slice(body.as_bytes());
            return Ok(());
        }
        let start = buf.len();
        crate::json::write(buf, model, shape, &self.value)?;
        // The encoder writes only text, so this is always UTF-8.
        if let Ok(text) = std::str::from_utf8(&buf[start..]) {
            cache.put(&self.of, self.view.clone(), place(shape), text.into());
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

/// The associated types and methods both shape-driven `Serializer`s share, for a type with
/// `raw(self, &str)` (text written as it is), `fresh(self, &T)` (a [`Part`]'s structure encoded
/// and handed to [`wrote`]), a `shape` field, and list and fields types `List` and `Fields`:
/// booleans as `true`/`false`, integers in decimal, narrower numbers widened, a char as a
/// one-character string, options, other newtypes and unit variants as what they hold, a [`Part`]
/// as kept or fresh, tuples as lists, enum variants with data refused. Each encoder writes the
/// rest (`f64`, strings, nulls, lists, structures, maps).
macro_rules! shared_methods {
    () => {
        type Ok = ();
        type Error = $crate::encode::Error;
        type SerializeSeq = List<'a>;
        type SerializeTuple = List<'a>;
        type SerializeTupleStruct = List<'a>;
        type SerializeTupleVariant = ::serde::ser::Impossible<(), $crate::encode::Error>;
        type SerializeMap = Fields<'a>;
        type SerializeStruct = Fields<'a>;
        type SerializeStructVariant = ::serde::ser::Impossible<(), $crate::encode::Error>;

        fn serialize_bool(self, v: bool) -> Result<(), $crate::encode::Error> {
            self.raw(if v { "true" } else { "false" })
        }
        fn serialize_i64(self, v: i64) -> Result<(), $crate::encode::Error> {
            self.raw(itoa::Buffer::new().format(v))
        }
        fn serialize_u64(self, v: u64) -> Result<(), $crate::encode::Error> {
            self.raw(itoa::Buffer::new().format(v))
        }
        $crate::encode::shared_methods!(@widen serialize_i8: i8, serialize_i16: i16, serialize_i32: i32 => serialize_i64);
        $crate::encode::shared_methods!(@widen serialize_u8: u8, serialize_u16: u16, serialize_u32: u32 => serialize_u64);
        $crate::encode::shared_methods!(@widen serialize_f32: f32 => serialize_f64);
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
            if name != $crate::encode::PART {
                return value.serialize(self);
            }
            match $crate::encode::part_is(self.shape) {
                $crate::encode::PartIs::Kept(text) => self.raw(&text),
                $crate::encode::PartIs::Fresh => self.fresh(value),
                $crate::encode::PartIs::Plain => value.serialize(self),
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
        $crate::encode::shared_methods!(@refuse serialize_tuple_variant -> SerializeTupleVariant, "a tuple variant");
        $crate::encode::shared_methods!(@refuse serialize_struct_variant -> SerializeStructVariant, "a struct variant");
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            len: usize,
        ) -> Result<List<'a>, $crate::encode::Error> {
            self.serialize_seq(Some(len))
        }
    };
    (@refuse $method:ident -> $out:ident, $what:literal) => {
        fn $method(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::$out, $crate::encode::Error> {
            Err($crate::encode::mismatch(self.shape, $what))
        }
    };
    (@widen $($method:ident: $narrow:ty),+ => $wide:ident) => {
        $(
            fn $method(self, v: $narrow) -> Result<(), $crate::encode::Error> {
                self.$wide(v.into())
            }
        )+
    };
}
pub(crate) use shared_methods;

/// `SerializeSeq`, `SerializeTuple` and `SerializeTupleStruct` for an encoder's list type,
/// whose `item` writes one element and `finish` closes the list.
macro_rules! list_serializers {
    ($list:ident) => {
        $crate::encode::list_serializers!(@one $list, SerializeSeq, serialize_element);
        $crate::encode::list_serializers!(@one $list, SerializeTuple, serialize_element);
        $crate::encode::list_serializers!(@one $list, SerializeTupleStruct, serialize_field);
    };
    (@one $list:ident, $trait:ident, $method:ident) => {
        impl ::serde::ser::$trait for $list<'_> {
            type Ok = ();
            type Error = $crate::encode::Error;
            fn $method<T: ::serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
                self.item(value)
            }
            fn end(self) -> Result<(), Self::Error> {
                self.finish()
            }
        }
    };
}
pub(crate) use list_serializers;

/// `SerializeMap` and `SerializeStruct` for an encoder's fields type, whose `key` names the next
/// member, `value` writes it and `finish` closes the structure or map.
macro_rules! field_serializers {
    ($fields:ident) => {
        impl ::serde::ser::SerializeMap for $fields<'_> {
            type Ok = ();
            type Error = $crate::encode::Error;
            fn serialize_key<T: ::serde::Serialize + ?Sized>(
                &mut self,
                key: &T,
            ) -> Result<(), Self::Error> {
                $crate::encode::with_key(key, |k| self.key(k))
            }
            fn serialize_value<T: ::serde::Serialize + ?Sized>(
                &mut self,
                value: &T,
            ) -> Result<(), Self::Error> {
                self.value(value)
            }
            fn end(self) -> Result<(), Self::Error> {
                self.finish()
            }
        }

        impl ::serde::ser::SerializeStruct for $fields<'_> {
            type Ok = ();
            type Error = $crate::encode::Error;
            fn serialize_field<T: ::serde::Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Self::Error> {
                self.key(key);
                self.value(value)
            }
            fn end(self) -> Result<(), Self::Error> {
                self.finish()
            }
        }
    };
}
pub(crate) use field_serializers;

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
    fn a_cached_answer_is_written_again_only_for_its_record_version_and_view() {
        use serde_json::json;
        let m = airlock_model::mwaa();
        let shape = m.shape("Environment");
        let body = |o: &Output| {
            let mut b = Vec::new();
            o.json(&mut b, m, shape).unwrap();
            String::from_utf8(b).unwrap()
        };
        let record = Arc::new("environment a".to_owned());
        let value = json!({"Name": "a", "CreatedAt": "2024-05-01T10:00:00Z"});
        // Encoded as it would be without the cache.
        assert_eq!(
            body(&Output::cached(record.clone(), 1, value.clone())),
            body(&Output::new(value))
        );
        // The same record version and view: the kept body, whatever the value says now.
        let kept = r#"{"Name":"a","CreatedAt":1714557600.0}"#;
        assert_eq!(
            body(&Output::cached(record.clone(), 1, json!({"Name": "b"}))),
            kept
        );
        // Another view: encoded again, and kept beside the first.
        assert_eq!(
            body(&Output::cached(record.clone(), 2, json!({"Name": "b"}))),
            r#"{"Name":"b"}"#
        );
        assert_eq!(
            body(&Output::cached(record.clone(), 2, json!({}))),
            r#"{"Name":"b"}"#
        );
        assert_eq!(body(&Output::cached(record.clone(), 1, json!({}))), kept);
        // Another version of the record (a changed copy): encoded afresh.
        let mut copy = record.clone();
        Arc::make_mut(&mut copy).push('!');
        assert_eq!(
            body(&Output::cached(copy, 1, json!({"Name": "d"}))),
            r#"{"Name":"d"}"#
        );

        // XML likewise; the same record and view at another shape is another entry.
        let ec2 = airlock_model::ec2();
        let shape = ec2.shape("DescribeAvailabilityZonesResult");
        let xml = |o: &Output| {
            let mut b = String::new();
            o.xml(&mut b, ec2, shape).unwrap();
            b
        };
        let zones = |name: &str| json!({"AvailabilityZones": [{"ZoneName": name}]});
        let first = xml(&Output::cached(record.clone(), 1, zones("a")));
        assert_eq!(first, xml(&Output::new(zones("a"))));
        assert!(first.contains("<zoneName>a</zoneName>"), "{first}");
        assert_eq!(xml(&Output::cached(record.clone(), 1, zones("b"))), first);
        assert!(
            xml(&Output::cached(record.clone(), 2, zones("b"))).contains("<zoneName>b</zoneName>")
        );
        assert_eq!(body(&Output::cached(record, 1, json!({}))), kept);
    }

    /// A list member named `list` of three items, the first two parts (each the encoding of a
    /// record under a view), made from `names`; `made` counts the values made.
    struct Parts<'a> {
        list: &'static str,
        records: &'a [Arc<u32>; 2],
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
                    seq.serialize_element(&part(&p.records[0], p.keys[0], || make(0)))?;
                    seq.serialize_element(&part(&p.records[1], p.keys[1], || make(1)))?;
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
    fn a_part_is_written_from_the_cache_while_its_record_and_view_are_the_same() {
        let records = [Arc::new(1u32), Arc::new(2u32)];
        let made = std::cell::Cell::new(0);
        let zones = |keys, names| Parts {
            list: "AvailabilityZones",
            records: &records,
            keys,
            names,
            made: &made,
        };
        let plain = |names| plain("AvailabilityZones", names);
        // First: encoded as without the cache, and kept.
        let first = xml_of(&zones([1, 1], ["a", "b", "c"]));
        assert_eq!(first, xml_of(&plain(["a", "b", "c"])));
        assert!(first.contains("<item><zoneName>a</zoneName>"), "{first}");
        assert_eq!(made.get(), 2);
        // The same views: the kept items, whatever the values would be now (not even made).
        assert_eq!(
            xml_of(&zones([1, 1], ["x", "y", "z"])),
            xml_of(&plain(["a", "b", "z"]))
        );
        assert_eq!(made.get(), 2);
        // The second part's view changed: it alone is encoded again.
        assert_eq!(
            xml_of(&zones([1, 2], ["x", "y", "z"])),
            xml_of(&plain(["a", "y", "z"]))
        );
        assert_eq!(made.get(), 3);
        // Any other serializer sees the values, and leaves the cache as it was.
        assert_eq!(
            serde_json::to_value(zones([1, 2], ["p", "q", "r"])).unwrap(),
            plain(["p", "q", "r"])
        );
        assert_eq!(
            xml_of(&zones([1, 2], ["x", "x", "x"])),
            xml_of(&plain(["a", "y", "x"]))
        );
        // Other versions of the records (changed copies) are encoded afresh.
        let mut copies = records.clone();
        for c in &mut copies {
            *Arc::make_mut(c) += 10;
        }
        let copied = Parts {
            records: &copies,
            ..zones([1, 2], ["p", "q", "r"])
        };
        assert_eq!(xml_of(&copied), xml_of(&plain(["p", "q", "r"])));
        // The same record and view in another place (JSON, another shape): encoded for it.
        let summaries = Parts {
            list: "CertificateSummaryList",
            ..zones([1, 2], ["s", "t", "u"])
        };
        assert_eq!(
            json_of(&summaries),
            json_of(&self::plain("CertificateSummaryList", ["s", "t", "u"]))
        );

        // Only structures are kept: a part where a string goes is written afresh each time.
        struct Token<'a>(&'a Arc<u32>, &'a str);
        impl Serialize for Token<'_> {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeStruct;
                let mut out = s.serialize_struct("Token", 1)?;
                out.serialize_field("NextToken", &part(self.0, 1, || self.1))?;
                out.end()
            }
        }
        let record = Arc::new(3u32);
        assert_eq!(json_of(&Token(&record, "a")), r#"{"NextToken":"a"}"#);
        assert_eq!(json_of(&Token(&record, "b")), r#"{"NextToken":"b"}"#);
    }

    #[test]
    fn a_json_part_is_the_object_alone() {
        let records = [Arc::new(4u32), Arc::new(5u32)];
        let made = std::cell::Cell::new(0);
        let summaries = |names| Parts {
            list: "CertificateSummaryList",
            records: &records,
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
