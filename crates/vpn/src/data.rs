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

    /// A key block and the first two data packets of a real session with Debian's OpenVPN
    /// 2.6.14 client (captured from Airlock's end of `client_vpn_tunnel.test.sh`): the client
    /// sealed them with the first half of the block, as [`crate::keys::split`] reads it, and the
    /// data channel opens them into what the client's tun device sent (IPv6 link-local
    /// traffic first, then IPv4 from its tunnel address).
    #[test]
    fn packets_of_the_real_client_open() {
        let block: Vec<u8> = unhex(&[
        "97e7a3f06f59441d185d9bf1ca5c05ed90487926b805cdc0255bacfd108d454a5f692c675e5cc663ecc17d1eb0bb2cbc",
        "60766210307e9331f092ffcadae1f9a0615fc30004aa5a0204db7092ee6c59f992ff8eb50db800abc6232a463d025370",
        "230e281baa8fb168e90854a2d9644cd327fd545cc93447ee0bae943acd635f56123a7cd6f560220b7a7c7ca141c18fca",
        "60f370164c112af628723a5022f08e148b1f3c6bc4a2fab02879881214854e2e76c969057f0e67b9ae4b9536e3fe6637",
        "5949e66ea89b4a228ebe169c02e5d11af123c52e5519db675034a0bab3887b11524cd4f80c34623eae7d425ea6e39227",
        "baa2fc796d70d43b351a8584af5f9628",
        ]);
        let block: crate::keys::KeyBlock = block.try_into().unwrap();
        let (to_server, to_client) = crate::keys::split(&block);
        let mut server = DataChannel::new(&to_server, &to_client, 0, 0x64_0002);
        let mut versions = Vec::new();
        for packet in [
            unhex(&[
        "4864000200000001efbf07c4e9d53475a648ae8b038aae15f91d2de1bd93a7c9f90fb52fd53f98fd18d7c81211637701",
        "3cff922542d51b8cdd89c022f423fb9c46faae1509a441c8",
            ]),
            unhex(&[
        "48640002000000028aed69569527941c7dceba9b85ebb888076e197d67b558bb9850d2bdc18b35ed2ee1887a5b1df619",
        "f9e8d572a7b079e3d14715dadc60a7d3b57ae9451d70c0a1bf066d2cfaca2c2f5e2bce2406c4ee296dc003f9000a3a8c",
        "bf55173586c623fb967971376d2625360849e223db6576f643d56d797b06a8beb65c7725acbe3386d9bff4540f9b70ea",
        "93e0c8a619f71833431665ec9056655b4b747a953c5092092cfb",
            ]),
        ] {
            let ip = server.open(&packet).unwrap();
            versions.push(ip[0] >> 4);
            match ip[0] >> 4 {
                4 => assert_eq!(&ip[12..16], &[10, 100, 0, 2], "from the tunnel address"),
                // The tun device's own IPv6 link-local traffic (router solicitations).
                6 => assert_eq!(&ip[8..10], &[0xfe, 0x80], "from a link-local address"),
                v => panic!("IP version {v}"),
            }
        }
        assert_eq!(versions, [6, 4]);
    }

    fn unhex(parts: &[&str]) -> Vec<u8> {
        let s: String = parts.concat();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
