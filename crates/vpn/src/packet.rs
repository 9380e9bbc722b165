//! OpenVPN's packets on the wire (without `tls-auth`/`tls-crypt`, as Client VPN runs): the
//! first byte is the opcode (high five bits) and the key id (low three); control packets carry
//! the sender's session id, the packet ids they acknowledge (with the peer's session id when
//! there are any) and, except for a bare acknowledgement, their own packet id and payload.

use crate::reader::Reader;

/// `P_CONTROL_SOFT_RESET_V1`: a key renegotiation.
pub const SOFT_RESET: u8 = 3;
/// `P_CONTROL_V1`: TLS records of the control channel.
pub const CONTROL: u8 = 4;
/// `P_ACK_V1`: acknowledgements only.
pub const ACK: u8 = 5;
/// `P_DATA_V1`: a data packet without a peer id.
pub const DATA_V1: u8 = 6;
/// `P_CONTROL_HARD_RESET_CLIENT_V2`: a client starts a session.
pub const HARD_RESET_CLIENT_V2: u8 = 7;
/// `P_CONTROL_HARD_RESET_SERVER_V2`: the server's answer.
pub const HARD_RESET_SERVER_V2: u8 = 8;
/// `P_DATA_V2`: a data packet with a 24-bit peer id.
pub const DATA_V2: u8 = 9;
/// `P_CONTROL_HARD_RESET_CLIENT_V3`: a client with a `tls-crypt-v2` key (not Client VPN's).
pub const HARD_RESET_CLIENT_V3: u8 = 10;

pub type SessionId = [u8; 8];

/// A control-channel packet (every opcode but the data ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Control {
    pub opcode: u8,
    pub key_id: u8,
    pub session: SessionId,
    /// The packet ids this packet acknowledges.
    pub acks: Vec<u32>,
    /// The session id of the peer, sent with acknowledgements.
    pub remote: Option<SessionId>,
    /// Its own packet id (none for `P_ACK_V1`).
    pub id: Option<u32>,
    pub payload: Vec<u8>,
}

/// Why a packet could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    Empty,
    Truncated,
    TooManyAcks,
}

/// At most this many acknowledgements in one packet (OpenVPN's `RELIABLE_ACK_SIZE`).
pub const MAX_ACKS: usize = 8;

/// The opcode and key id of a packet's first byte.
pub fn header(bytes: &[u8]) -> Result<(u8, u8), Malformed> {
    let b = *bytes.first().ok_or(Malformed::Empty)?;
    Ok((b >> 3, b & 7))
}

pub fn is_data(opcode: u8) -> bool {
    opcode == DATA_V1 || opcode == DATA_V2
}

impl Control {
    pub fn parse(bytes: &[u8]) -> Result<Control, Malformed> {
        let (opcode, key_id) = header(bytes)?;
        let mut r = Reader(&bytes[1..]);
        let short = Malformed::Truncated;
        let session = r.array().ok_or(short.clone())?;
        let count = r.u8().ok_or(short.clone())? as usize;
        if count > MAX_ACKS {
            return Err(Malformed::TooManyAcks);
        }
        let mut acks = Vec::with_capacity(count);
        for _ in 0..count {
            acks.push(r.u32().ok_or(short.clone())?);
        }
        let remote = match count {
            0 => None,
            _ => Some(r.array().ok_or(short.clone())?),
        };
        let id = match opcode {
            ACK => None,
            _ => Some(r.u32().ok_or(short)?),
        };
        Ok(Control {
            opcode,
            key_id,
            session,
            acks,
            remote,
            id,
            payload: r.0.to_vec(),
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(1 + 8 + 1 + 4 * self.acks.len() + 8 + 4 + self.payload.len());
        out.push(self.opcode << 3 | (self.key_id & 7));
        out.extend_from_slice(&self.session);
        out.push(self.acks.len() as u8);
        for a in &self.acks {
            out.extend_from_slice(&a.to_be_bytes());
        }
        if !self.acks.is_empty() {
            out.extend_from_slice(&self.remote.unwrap_or_default());
        }
        if let Some(id) = self.id {
            out.extend_from_slice(&id.to_be_bytes());
        }
        out.extend_from_slice(&self.payload);
        out
    }
}

/// The 16 bytes OpenVPN sends as a keepalive on the data channel (`ping`).
pub const PING: [u8; 16] = [
    0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb, 0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_packets_round_trip() {
        let p = Control {
            opcode: CONTROL,
            key_id: 0,
            session: [1, 2, 3, 4, 5, 6, 7, 8],
            acks: vec![0, 1],
            remote: Some([9; 8]),
            id: Some(2),
            payload: b"tls".to_vec(),
        };
        let bytes = p.encode();
        assert_eq!(bytes[0], CONTROL << 3);
        assert_eq!(bytes.len(), 1 + 8 + 1 + 8 + 8 + 4 + 3);
        assert_eq!(Control::parse(&bytes), Ok(p));
        let ack = Control {
            opcode: ACK,
            key_id: 0,
            session: [1; 8],
            acks: vec![7],
            remote: Some([2; 8]),
            id: None,
            payload: Vec::new(),
        };
        assert_eq!(Control::parse(&ack.encode()), Ok(ack));
    }

    /// A client's hard reset as 2.6 sends it: no acknowledgements, packet id 0.
    #[test]
    fn a_hard_reset_is_read() {
        let mut bytes = vec![HARD_RESET_CLIENT_V2 << 3];
        bytes.extend_from_slice(&[0xaa; 8]);
        bytes.push(0);
        bytes.extend_from_slice(&0u32.to_be_bytes());
        let p = Control::parse(&bytes).unwrap();
        assert_eq!(
            (p.opcode, p.id, p.remote),
            (HARD_RESET_CLIENT_V2, Some(0), None)
        );
    }

    #[test]
    fn short_packets_are_refused() {
        assert_eq!(Control::parse(&[]), Err(Malformed::Empty));
        assert_eq!(
            Control::parse(&[CONTROL << 3, 1, 2]),
            Err(Malformed::Truncated)
        );
        let mut many = vec![CONTROL << 3];
        many.extend_from_slice(&[0; 8]);
        many.push(200);
        assert_eq!(Control::parse(&many), Err(Malformed::TooManyAcks));
    }
}
