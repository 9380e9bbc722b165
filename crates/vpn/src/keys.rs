//! Key method 2 (the messages the peers exchange inside TLS once it is up) and the data
//! channel's key derivation: TLS-EKM (RFC 5705 exporter, label `EXPORTER-OpenVPN-datakeys`)
//! where the client offers it, OpenVPN's PRF over the key-method-2 randoms otherwise.

use crate::packet::SessionId;
use crate::reader::Reader;
use hmac::{Hmac, Mac};

/// What a client sends in key method 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientKeys {
    pub pre_master: [u8; 48],
    pub random1: [u8; 32],
    pub random2: [u8; 32],
    pub options: String,
    pub username: String,
    /// `IV_VER=2.6.14\nIV_PLAT=linux\nIV_PROTO=…\n…`.
    pub peer_info: String,
}

impl ClientKeys {
    /// A value of the peer info (`IV_PROTO`, `IV_CIPHERS`, ...).
    pub fn info(&self, key: &str) -> Option<&str> {
        self.peer_info
            .lines()
            .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
    }

    /// The client's `IV_PROTO` flags (none: 0).
    pub fn proto_flags(&self) -> u32 {
        self.info("IV_PROTO")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }
}

/// `IV_PROTO_DATA_V2`: the client takes `P_DATA_V2` with a peer id.
pub const IV_PROTO_DATA_V2: u32 = 1 << 1;
/// `IV_PROTO_TLS_KEY_EXPORT`: the client can derive keys with TLS-EKM.
pub const IV_PROTO_TLS_KEY_EXPORT: u32 = 1 << 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMethodError {
    Truncated,
    NotKeyMethod2,
    BadString,
}

/// A string: a 16-bit length that counts its terminating NUL, or 0 for none; a message that
/// ends before it has it empty (OpenVPN reads the optional trailing strings so).
fn string(r: &mut Reader<'_>) -> Result<String, KeyMethodError> {
    if r.0.is_empty() {
        return Ok(String::new());
    }
    let len = r.u16().ok_or(KeyMethodError::Truncated)? as usize;
    if len == 0 {
        return Ok(String::new());
    }
    let bytes = r.take(len).ok_or(KeyMethodError::Truncated)?;
    let text = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    String::from_utf8(text.to_vec()).map_err(|_| KeyMethodError::BadString)
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&((s.len() + 1) as u16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// Reads a client's key method 2 message: it, and how many bytes it took (what follows is the
/// next control message).
pub fn read_client(bytes: &[u8]) -> Result<(ClientKeys, usize), KeyMethodError> {
    let mut r = Reader(bytes);
    let short = KeyMethodError::Truncated;
    r.take(4).ok_or(short.clone())?;
    if r.u8().ok_or(short.clone())? & 0x0f != 2 {
        return Err(KeyMethodError::NotKeyMethod2);
    }
    let keys = ClientKeys {
        pre_master: r.array().ok_or(short.clone())?,
        random1: r.array().ok_or(short.clone())?,
        random2: r.array().ok_or(short)?,
        options: string(&mut r)?,
        username: string(&mut r)?,
        // The password is read past, never kept.
        peer_info: {
            string(&mut r)?;
            string(&mut r)?
        },
    };
    Ok((keys, bytes.len() - r.0.len()))
}

/// The server's key method 2 message: its randoms and options string.
pub fn write_server(random1: &[u8; 32], random2: &[u8; 32], options: &str) -> Vec<u8> {
    let mut out = vec![0, 0, 0, 0, 2];
    out.extend_from_slice(random1);
    out.extend_from_slice(random2);
    write_string(&mut out, options);
    // Empty username, password and peer info (what an OpenVPN 2.6 server sends).
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    out
}

/// The 256 bytes of key material: two keys of a 64-byte cipher part and a 64-byte HMAC part,
/// the first for what the client sends, the second for what the server sends.
pub type KeyBlock = [u8; 256];

/// The data channel's keys for AES-256-GCM, one direction.
#[derive(Clone)]
pub struct DirectionKeys {
    pub cipher: [u8; 32],
    /// The AEAD nonce's implicit part (from the HMAC part of the key).
    pub implicit_iv: [u8; 8],
}

/// `(client to server, server to client)`.
pub fn split(block: &KeyBlock) -> (DirectionKeys, DirectionKeys) {
    let at = |k: usize| {
        let base = k * 128;
        let mut cipher = [0u8; 32];
        cipher.copy_from_slice(&block[base..base + 32]);
        let mut implicit_iv = [0u8; 8];
        implicit_iv.copy_from_slice(&block[base + 64..base + 72]);
        DirectionKeys {
            cipher,
            implicit_iv,
        }
    };
    (at(0), at(1))
}

/// OpenVPN's PRF: TLS 1.0's (P_MD5 over the first half of the secret XOR P_SHA1 over the
/// second).
pub fn tls1_prf(secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) {
    let half = secret.len().div_ceil(2);
    let (s1, s2) = (&secret[..half], &secret[secret.len() - half..]);
    let mut label_seed = label.to_vec();
    label_seed.extend_from_slice(seed);
    out.fill(0);
    p_hash::<Hmac<md5::Md5>>(s1, &label_seed, out);
    p_hash::<Hmac<sha1::Sha1>>(s2, &label_seed, out);
}

/// XORs P_hash(secret, seed) into `out`.
fn p_hash<M: Mac + hmac::digest::KeyInit>(secret: &[u8], seed: &[u8], out: &mut [u8]) {
    let mac = |data: &[&[u8]]| {
        let mut m =
            <M as hmac::digest::KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
        for d in data {
            m.update(d);
        }
        m.finalize().into_bytes().to_vec()
    };
    let mut a = mac(&[seed]);
    let mut done = 0;
    while done < out.len() {
        let chunk = mac(&[&a, seed]);
        for (o, c) in out[done..].iter_mut().zip(&chunk) {
            *o ^= c;
        }
        done += chunk.len();
        a = mac(&[&a]);
    }
}

/// The key block from key method 2's randoms (the PRF method).
pub fn prf_block(
    client: &ClientKeys,
    server_random1: &[u8; 32],
    server_random2: &[u8; 32],
    client_session: &SessionId,
    server_session: &SessionId,
) -> KeyBlock {
    let mut master = [0u8; 48];
    let seed1 = [client.random1.as_slice(), server_random1].concat();
    tls1_prf(
        &client.pre_master,
        b"OpenVPN master secret",
        &seed1,
        &mut master,
    );
    let seed2 = [
        client.random2.as_slice(),
        server_random2,
        client_session,
        server_session,
    ]
    .concat();
    let mut block = [0u8; 256];
    tls1_prf(&master, b"OpenVPN key expansion", &seed2, &mut block);
    block
}

/// TLS-EKM's label.
pub const EKM_LABEL: &[u8] = b"EXPORTER-OpenVPN-datakeys";

#[cfg(test)]
mod tests {
    use super::*;

    fn client_message(peer_info: &str) -> Vec<u8> {
        let mut m = vec![0, 0, 0, 0, 2];
        m.extend_from_slice(&[1; 48]);
        m.extend_from_slice(&[2; 32]);
        m.extend_from_slice(&[3; 32]);
        write_string(&mut m, "V4,dev-type tun,tls-client");
        m.extend_from_slice(&[0, 0, 0, 0]);
        write_string(&mut m, peer_info);
        m
    }

    #[test]
    fn a_client_message_is_read() {
        let mut message = client_message("IV_VER=2.6.14\nIV_PROTO=990\nIV_CIPHERS=AES-256-GCM\n");
        let len = message.len();
        message.extend_from_slice(b"PUSH_REQUEST\0");
        let (k, used) = read_client(&message).unwrap();
        assert_eq!(used, len, "the push request after it is left");
        assert_eq!(k.pre_master, [1; 48]);
        assert_eq!(k.random2, [3; 32]);
        assert_eq!(k.options, "V4,dev-type tun,tls-client");
        assert_eq!(k.info("IV_CIPHERS"), Some("AES-256-GCM"));
        assert_eq!(k.proto_flags(), 990);
        assert_ne!(k.proto_flags() & IV_PROTO_TLS_KEY_EXPORT, 0);
        assert_eq!(
            read_client(&[0, 0, 0, 0, 1]),
            Err(KeyMethodError::NotKeyMethod2)
        );
        assert_eq!(
            read_client(&[0, 0, 0, 0, 2, 1]),
            Err(KeyMethodError::Truncated)
        );
    }

    /// TLS 1.0's published PRF test vector (secret 48×0xab, label "PRF Testvector", seed
    /// 64×0xcd, 104 bytes), which Python's hmac module reproduces from RFC 2246's definition.
    #[test]
    fn the_prf_matches_tls_1_0() {
        let mut out = [0u8; 104];
        tls1_prf(&[0xab; 48], b"PRF Testvector", &[0xcd; 64], &mut out);
        assert_eq!(hex(&out), PRF_VECTOR);
    }

    const PRF_VECTOR: &str = "d3d4d1e349b5d515044666d51de32bab258cb521b6b053463e354832fd976754443bcf9a296519bc289abcbc1187e4ebd31e602353776c408aafb74cbc85eff69255f9788faa184cbb957a9819d84a5d7eb006eb459d3ae8de9810454b8b2d8f1afbc655a8c9a013";

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
