//! The data channel: AES-256-GCM as OpenVPN frames it (`[opcode and peer id] [packet id]
//! [tag] [ciphertext]`, the nonce being the packet id followed by the key's implicit IV, the
//! header and packet id authenticated), with replay protection.

use crate::keys::DirectionKeys;
use crate::packet::{DATA_V1, DATA_V2};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};

const TAG: usize = 16;

/// Why a data packet was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    Truncated,
    NotData,
    /// A packet id seen before, or too old for the window.
    Replay,
    /// The tag does not verify (a wrong key or a forged packet).
    Auth,
}

/// Packet ids accepted once each: the highest seen and a bitmap of the [`WINDOW`] before it.
#[derive(Debug, Default)]
pub struct ReplayWindow {
    highest: u32,
    seen: u64,
}

/// How far behind the highest packet id a packet may arrive (OpenVPN's default backtrack).
pub const WINDOW: u32 = 64;

impl ReplayWindow {
    pub fn check(&self, id: u32) -> bool {
        if id == 0 {
            return false;
        }
        if id > self.highest {
            return true;
        }
        let back = self.highest - id;
        back < WINDOW && self.seen & (1u64 << back) == 0
    }

    /// Records `id`, which [`Self::check`] accepted.
    pub fn accept(&mut self, id: u32) {
        if id > self.highest {
            let shift = id - self.highest;
            self.seen = if shift >= 64 { 0 } else { self.seen << shift };
            self.seen |= 1;
            self.highest = id;
        } else {
            self.seen |= 1u64 << (self.highest - id);
        }
    }
}

/// One session's data channel.
pub struct DataChannel {
    send: LessSafeKey,
    send_iv: [u8; 8],
    receive: LessSafeKey,
    receive_iv: [u8; 8],
    next_id: u32,
    replay: ReplayWindow,
    key_id: u8,
    peer_id: u32,
}

fn key(k: &DirectionKeys) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &k.cipher).expect("a 32-byte key"))
}

fn nonce(id: [u8; 4], iv: &[u8; 8]) -> Nonce {
    let mut n = [0u8; 12];
    n[..4].copy_from_slice(&id);
    n[4..].copy_from_slice(iv);
    Nonce::assume_unique_for_key(n)
}

impl DataChannel {
    /// The server's side: it sends with `server_keys` and receives with `client_keys`.
    pub fn new(
        client_keys: &DirectionKeys,
        server_keys: &DirectionKeys,
        key_id: u8,
        peer_id: u32,
    ) -> DataChannel {
        DataChannel {
            send: key(server_keys),
            send_iv: server_keys.implicit_iv,
            receive: key(client_keys),
            receive_iv: client_keys.implicit_iv,
            next_id: 1,
            replay: ReplayWindow::default(),
            key_id,
            peer_id,
        }
    }

    pub fn key_id(&self) -> u8 {
        self.key_id
    }

    /// Seals `plain` into a `P_DATA_V2` packet.
    pub fn seal(&mut self, plain: &[u8]) -> Vec<u8> {
        let id = self.next_id.to_be_bytes();
        self.next_id = self.next_id.wrapping_add(1).max(1);
        let p = self.peer_id.to_be_bytes();
        let header = [DATA_V2 << 3 | self.key_id, p[1], p[2], p[3]];
        let mut aad = [0u8; 8];
        aad[..4].copy_from_slice(&header);
        aad[4..].copy_from_slice(&id);
        let mut body = plain.to_vec();
        let tag = self
            .send
            .seal_in_place_separate_tag(nonce(id, &self.send_iv), Aad::from(aad), &mut body)
            .expect("AES-GCM seals any length a datagram has");
        let mut out = Vec::with_capacity(8 + TAG + body.len());
        out.extend_from_slice(&header);
        out.extend_from_slice(&id);
        out.extend_from_slice(tag.as_ref());
        out.extend_from_slice(&body);
        out
    }

    /// Opens a `P_DATA_V1` or `P_DATA_V2` packet: its plaintext.
    pub fn open(&mut self, packet: &[u8]) -> Result<Vec<u8>, DataError> {
        let first = *packet.first().ok_or(DataError::Truncated)?;
        let header = match first >> 3 {
            DATA_V2 => 4,
            DATA_V1 => 1,
            _ => return Err(DataError::NotData),
        };
        if packet.len() < header + 4 + TAG {
            return Err(DataError::Truncated);
        }
        let mut id = [0u8; 4];
        id.copy_from_slice(&packet[header..header + 4]);
        let n = u32::from_be_bytes(id);
        if !self.replay.check(n) {
            return Err(DataError::Replay);
        }
        // P_DATA_V2 authenticates its header and packet id; P_DATA_V1 its packet id only.
        let aad = &packet[if header == 4 { 0 } else { 1 }..header + 4];
        let tag = &packet[header + 4..header + 4 + TAG];
        let mut body = packet[header + 4 + TAG..].to_vec();
        body.extend_from_slice(tag);
        let plain_len = self
            .receive
            .open_in_place(nonce(id, &self.receive_iv), Aad::from(aad), &mut body)
            .map_err(|_| DataError::Auth)?
            .len();
        body.truncate(plain_len);
        self.replay.accept(n);
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(b: u8) -> DirectionKeys {
        DirectionKeys {
            cipher: [b; 32],
            implicit_iv: [b.wrapping_add(1); 8],
        }
    }

    /// The client's side of the same keys: it sends with the client keys.
    fn client() -> DataChannel {
        DataChannel::new(&keys(2), &keys(1), 0, 5)
    }

    #[test]
    fn packets_round_trip_and_replays_are_dropped() {
        let mut server = DataChannel::new(&keys(1), &keys(2), 0, 5);
        let mut c = client();
        let sealed = server.seal(b"an IP packet");
        assert_eq!(&sealed[..4], &[DATA_V2 << 3, 0, 0, 5]);
        assert_eq!(&sealed[4..8], &1u32.to_be_bytes());
        assert_eq!(sealed.len(), 8 + 16 + 12);
        assert_eq!(c.open(&sealed).unwrap(), b"an IP packet");
        assert_eq!(c.open(&sealed), Err(DataError::Replay));
        let mut forged = server.seal(b"x");
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(c.open(&forged), Err(DataError::Auth));
        // The forged packet's id was not consumed: the genuine one still opens.
        forged[last] ^= 1;
        assert_eq!(c.open(&forged).unwrap(), b"x");
    }

    #[test]
    fn the_window_takes_late_packets_once() {
        let mut w = ReplayWindow::default();
        for id in [1, 3, 2, 70] {
            assert!(w.check(id), "{id}");
            w.accept(id);
        }
        assert!(!w.check(2));
        assert!(!w.check(6), "older than the window");
        assert!(w.check(7));
        assert!(!w.check(0));
    }
}
