//! `aws-chunked` bodies signed chunk by chunk (`x-amz-content-sha256:
//! STREAMING-AWS4-HMAC-SHA256-PAYLOAD`): each chunk is
//! `<hex size>;chunk-signature=<64 hex>\r\n<data>\r\n`, ending with a zero-size chunk, and each
//! chunk's signature chains from the previous one (the first from the request's own signature,
//! the seed).
//!
//! [`ChunkDecoder`] takes the body in pieces of any size ([`ChunkDecoder::push`]) and hands out
//! a chunk's data only once its signature is verified, so it can sit on a byte stream;
//! [`decode`] is the one-buffer form.

use super::{hmac, signing_key, Claim, ALGORITHM, EMPTY_SHA256};
use crate::ApiError;
use sha2::{Digest, Sha256};

/// `x-amz-content-sha256` of a body signed chunk by chunk.
pub const STREAMING_PAYLOAD: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// `x-amz-content-sha256` of an unsigned `aws-chunked` body with trailing checksums.
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// The longest chunk header line accepted (`<hex size>;chunk-signature=<64 hex>` is ~90 bytes).
const MAX_HEADER_LINE: usize = 4096;

/// Why an `aws-chunked` body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkError {
    /// A chunk's signature is not the one its data and the previous signature give.
    SignatureDoesNotMatch,
    /// The body ended before its final (zero-size) chunk.
    IncompleteBody,
    /// A chunk header or separator is not what the framing requires.
    Malformed(&'static str),
}

impl ChunkError {
    /// S3's answer to the failure.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            ChunkError::SignatureDoesNotMatch => ApiError::new(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            )
            .with_status(403),
            ChunkError::IncompleteBody => ApiError::new(
                "IncompleteBody",
                "The request body terminated unexpectedly",
            )
            .with_status(400),
            ChunkError::Malformed(what) => ApiError::new(
                "InvalidRequest",
                format!("Invalid chunked upload: {what}."),
            )
            .with_status(400),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a chunk header line.
    Header,
    /// Waiting for `size` bytes of data and their `\r\n`, signed `signature`.
    Data { size: usize, signature: [u8; 64] },
    /// After the final chunk of an unsigned body: trailer lines (`x-amz-checksum-crc32:...`)
    /// up to an empty line.
    Trailer,
    /// The final chunk has been read; nothing may follow but an empty line.
    Done,
}

/// How a decoder treats chunk signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Each chunk carries a signature, verified (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`).
    Signed,
    /// Signatures are read but not checked (authentication is off).
    Unverified,
    /// No signatures; trailer headers after the final chunk
    /// (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`).
    Unsigned,
}

/// Decodes an `aws-chunked` body incrementally, verifying each chunk's chained signature.
#[derive(Debug)]
pub struct ChunkDecoder {
    key: [u8; 32],
    /// `AWS4-HMAC-SHA256-PAYLOAD\n<amz date>\n<scope>\n`: the start of every string to sign.
    prefix: String,
    /// The previous chunk's signature (the seed at first), hex.
    previous: String,
    buf: Vec<u8>,
    state: State,
    mode: Mode,
    /// Trailer headers read after the final chunk (unsigned bodies), names lowercased.
    pub trailers: Vec<(String, String)>,
}

impl ChunkDecoder {
    /// A decoder for a request whose claim `claim` has been verified with `secret`: the claim's
    /// signature is the seed.
    pub fn new(claim: &Claim<'_>, secret: &str) -> Self {
        let key = signing_key(secret, &claim.date, &claim.region, &claim.service);
        Self::with_seed(key, &claim.amz_date, &claim.scope(), &claim.signature)
    }

    /// A decoder from the signing key, the request time, the credential scope and the seed
    /// signature.
    pub fn with_seed(key: [u8; 32], amz_date: &str, scope: &str, seed: &str) -> Self {
        ChunkDecoder {
            key,
            prefix: format!("{ALGORITHM}-PAYLOAD\n{amz_date}\n{scope}\n"),
            previous: seed.to_owned(),
            buf: Vec::new(),
            state: State::Header,
            mode: Mode::Signed,
            trailers: Vec::new(),
        }
    }

    /// A decoder that reads signed chunks without checking their signatures (for servers
    /// running without authentication).
    pub fn unverified() -> Self {
        let mut d = ChunkDecoder::with_seed([0; 32], "", "", "");
        d.mode = Mode::Unverified;
        d
    }

    /// A decoder for `STREAMING-UNSIGNED-PAYLOAD-TRAILER` bodies: `<hex size>\r\n<data>\r\n`
    /// chunks, a `0\r\n` final chunk, trailer lines and an empty line.
    pub fn unsigned() -> Self {
        let mut d = ChunkDecoder::with_seed([0; 32], "", "", "");
        d.mode = Mode::Unsigned;
        d
    }

    /// Feeds the next bytes of the body; the data of every chunk completed and verified by them
    /// is appended to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), ChunkError> {
        self.buf.extend_from_slice(input);
        let mut at = 0;
        let result = loop {
            match self.step(at, out) {
                Ok(Some(next)) => at = next,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..at);
        result
    }

    /// Says whether the body was complete: its final chunk was read.
    pub fn finish(&self) -> Result<(), ChunkError> {
        match self.state {
            State::Done => Ok(()),
            _ => Err(ChunkError::IncompleteBody),
        }
    }

    /// Consumes one element from `self.buf[at..]`: `Some(next offset)`, or `None` when more
    /// input is needed.
    fn step(&mut self, at: usize, out: &mut Vec<u8>) -> Result<Option<usize>, ChunkError> {
        let rest = &self.buf[at..];
        match self.state {
            State::Header => {
                let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
                    if rest.len() > MAX_HEADER_LINE {
                        return Err(ChunkError::Malformed("chunk header too long"));
                    }
                    return Ok(None);
                };
                let line = std::str::from_utf8(&rest[..end])
                    .map_err(|_| ChunkError::Malformed("chunk header is not text"))?;
                if self.mode == Mode::Unsigned {
                    let size = line.split(';').next().unwrap_or_default().trim();
                    let size = usize::from_str_radix(size, 16)
                        .map_err(|_| ChunkError::Malformed("chunk size is not hexadecimal"))?;
                    // `0\r\n` is followed directly by the trailer lines.
                    self.state = if size == 0 {
                        State::Trailer
                    } else {
                        State::Data {
                            size,
                            signature: [b'0'; 64],
                        }
                    };
                    return Ok(Some(at + end + 2));
                }
                let (size, ext) = line
                    .split_once(';')
                    .ok_or(ChunkError::Malformed("chunk header without a signature"))?;
                let size = usize::from_str_radix(size, 16)
                    .map_err(|_| ChunkError::Malformed("chunk size is not hexadecimal"))?;
                let sig = ext
                    .strip_prefix("chunk-signature=")
                    .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or(ChunkError::Malformed(
                        "chunk signature is not 64 hex digits",
                    ))?;
                let mut signature = [0u8; 64];
                signature.copy_from_slice(sig.as_bytes());
                self.state = State::Data { size, signature };
                Ok(Some(at + end + 2))
            }
            State::Data { size, signature } => {
                let Some(needed) = size.checked_add(2) else {
                    return Err(ChunkError::Malformed("chunk size too large"));
                };
                if rest.len() < needed {
                    return Ok(None);
                }
                if &rest[size..needed] != b"\r\n" {
                    return Err(ChunkError::Malformed("chunk data not followed by CRLF"));
                }
                let data = &rest[..size];
                if self.mode == Mode::Signed {
                    let expected = self.chunk_signature(data);
                    let claimed = std::str::from_utf8(&signature).unwrap_or_default();
                    if !expected.eq_ignore_ascii_case(claimed) {
                        return Err(ChunkError::SignatureDoesNotMatch);
                    }
                    self.previous = expected;
                }
                out.extend_from_slice(data);
                self.state = if size == 0 {
                    State::Done
                } else {
                    State::Header
                };
                Ok(Some(at + needed))
            }
            State::Trailer => {
                let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
                    if rest.len() > MAX_HEADER_LINE {
                        return Err(ChunkError::Malformed("trailer too long"));
                    }
                    return Ok(None);
                };
                if end == 0 {
                    self.state = State::Done;
                    return Ok(Some(at + 2));
                }
                let line = std::str::from_utf8(&rest[..end])
                    .map_err(|_| ChunkError::Malformed("trailer is not text"))?;
                let (name, value) = line
                    .split_once(':')
                    .ok_or(ChunkError::Malformed("trailer is not a header"))?;
                if self.trailers.len() >= 16 {
                    return Err(ChunkError::Malformed("too many trailers"));
                }
                self.trailers
                    .push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
                Ok(Some(at + end + 2))
            }
            State::Done if rest.is_empty() => Ok(None),
            State::Done => Err(ChunkError::Malformed("data after the final chunk")),
        }
    }

    /// The signature of the next chunk, holding `data`.
    fn chunk_signature(&self, data: &[u8]) -> String {
        let sts = format!(
            "{}{}\n{EMPTY_SHA256}\n{}",
            self.prefix,
            self.previous,
            hex::encode(Sha256::digest(data))
        );
        hex::encode(hmac(&self.key, sts.as_bytes()))
    }
}

/// The data of a whole `aws-chunked` body, every chunk verified.
pub fn decode(body: &[u8], claim: &Claim<'_>, secret: &str) -> Result<Vec<u8>, ChunkError> {
    let mut decoder = ChunkDecoder::new(claim, secret);
    let mut out = Vec::with_capacity(body.len());
    decoder.push(body, &mut out)?;
    decoder.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's example (S3 API reference, "Signature Calculations for the Authorization Header:
    /// Transferring Payload in Multiple Chunks"): 66560 bytes of `a` in a 64 KB and a 1 KB chunk.
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const SEED: &str = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    const SIG1: &str = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
    const SIG2: &str = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
    const SIG3: &str = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";

    fn decoder() -> ChunkDecoder {
        let key = signing_key(SECRET, "20130524", "us-east-1", "s3");
        ChunkDecoder::with_seed(
            key,
            "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request",
            SEED,
        )
    }

    fn example_body() -> Vec<u8> {
        let mut b = format!("10000;chunk-signature={SIG1}\r\n").into_bytes();
        b.extend_from_slice(&[b'a'; 65536]);
        b.extend_from_slice(format!("\r\n400;chunk-signature={SIG2}\r\n").as_bytes());
        b.extend_from_slice(&[b'a'; 1024]);
        b.extend_from_slice(format!("\r\n0;chunk-signature={SIG3}\r\n\r\n").as_bytes());
        b
    }

    #[test]
    fn aws_example_decodes_in_one_piece_and_in_small_pieces() {
        let body = example_body();
        let mut d = decoder();
        let mut out = Vec::new();
        d.push(&body, &mut out).unwrap();
        d.finish().unwrap();
        assert_eq!(out, vec![b'a'; 66560]);

        for piece in [1, 7, 1000, 65537] {
            let mut d = decoder();
            let mut out = Vec::new();
            for part in body.chunks(piece) {
                d.push(part, &mut out).unwrap();
            }
            d.finish().unwrap();
            assert_eq!(out.len(), 66560, "pieces of {piece}");
        }
    }

    #[test]
    fn tampered_or_reordered_chunks_do_not_match() {
        let mut body = example_body();
        let at = body.len() - 200;
        body[at] = b'b';
        let mut out = Vec::new();
        assert_eq!(
            decoder().push(&body, &mut out),
            Err(ChunkError::SignatureDoesNotMatch)
        );
        // The first chunk's data was verified and handed out; the second was not.
        assert_eq!(out.len(), 65536);

        let mut swapped = format!("400;chunk-signature={SIG2}\r\n").into_bytes();
        swapped.extend_from_slice(&[b'a'; 1024]);
        swapped.extend_from_slice(b"\r\n");
        assert_eq!(
            decoder().push(&swapped, &mut Vec::new()),
            Err(ChunkError::SignatureDoesNotMatch)
        );
        assert_eq!(
            ChunkError::SignatureDoesNotMatch.to_api_error().code,
            "SignatureDoesNotMatch"
        );
    }

    #[test]
    fn truncated_and_malformed_framing_is_refused() {
        let body = example_body();
        let mut d = decoder();
        d.push(&body[..body.len() - 90], &mut Vec::new()).unwrap();
        assert_eq!(d.finish(), Err(ChunkError::IncompleteBody));
        assert_eq!(
            ChunkError::IncompleteBody.to_api_error().code,
            "IncompleteBody"
        );

        for bad in [
            "zz;chunk-signature=00\r\n".to_owned(),
            "10\r\n".to_owned(),
            format!("4;chunk-signature={SIG1}\r\nabcdXX"),
            format!("ffffffffffffffffff;chunk-signature={SIG1}\r\n"),
        ] {
            let r = decoder().push(bad.as_bytes(), &mut Vec::new());
            assert!(matches!(r, Err(ChunkError::Malformed(_))), "{bad:?}: {r:?}");
        }
        let mut after = body.clone();
        after.extend_from_slice(b"junk");
        assert!(matches!(
            decoder().push(&after, &mut Vec::new()),
            Err(ChunkError::Malformed(_))
        ));
    }

    #[test]
    fn unsigned_bodies_with_trailers() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
        for split in 1..body.len() {
            let mut d = ChunkDecoder::unsigned();
            let mut out = Vec::new();
            d.push(&body[..split], &mut out).unwrap();
            d.push(&body[split..], &mut out).unwrap();
            d.finish().unwrap();
            assert_eq!(out, b"hello world");
            assert_eq!(
                d.trailers,
                [("x-amz-checksum-crc32".to_owned(), "DUoRhQ==".to_owned())]
            );
        }
        let mut d = ChunkDecoder::unsigned();
        d.push(b"5\r\nhel", &mut Vec::new()).unwrap();
        assert_eq!(d.finish(), Err(ChunkError::IncompleteBody));
        let mut d = ChunkDecoder::unsigned();
        assert!(d.push(b"zz\r\n", &mut Vec::new()).is_err());
    }

    #[test]
    fn unverified_decoder_reads_signed_framing() {
        let mut d = ChunkDecoder::unverified();
        let mut out = Vec::new();
        d.push(&example_body(), &mut out).unwrap();
        d.finish().unwrap();
        assert_eq!(out.len(), 66560);
    }
}
