//! One client's session, as a state machine without I/O: datagrams in ([`Session::receive`]),
//! datagrams out ([`Session::take_output`]), and what happened ([`Event`]). The control
//! channel is TLS (rustls, the server's certificate and the client's verified by the
//! configuration given) carried by the reliability layer; inside it, key method 2 and the
//! push request; then the data channel.

use crate::data::DataChannel;
use crate::keys::{self, ClientKeys, KeyMethodError};
use crate::packet::{self, Control, SessionId, PING};
use crate::reliable::{Incoming, Outgoing};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Control packets carry at most this much TLS (OpenVPN's `tls-mtu` is 1250 with headers).
pub const MAX_CONTROL_PAYLOAD: usize = 1100;
/// Acknowledgements piggybacked on one packet, at most.
const ACKS_PER_PACKET: usize = 4;
/// Keepalive: a ping after this long without sending data (`ping 10`, pushed).
pub const PING_EVERY: Duration = Duration::from_secs(10);
/// The peer is gone after this long without a packet (`ping-restart 60`, pushed).
pub const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// The handshake must finish within this (OpenVPN's `hand-window`).
pub const HANDSHAKE_LIMIT: Duration = Duration::from_secs(60);

/// What the session tells its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// TLS is up and the client's certificate verified: its chain (leaf first, DER).
    Authenticated { certificates: Vec<Vec<u8>> },
    /// The data channel is up (keys derived, options pushed).
    Connected,
    /// An IP packet from the client.
    Packet(Vec<u8>),
    /// The session is over; the reason, for the log.
    Closed(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the client's hard reset.
    New,
    /// TLS and key method 2.
    Handshake,
    /// Keys exchanged, waiting for the push request.
    KeysExchanged,
    Connected,
    Closed,
}

/// The server's part of one session.
pub struct Session {
    tls: rustls::ServerConnection,
    server_session: SessionId,
    client_session: Option<SessionId>,
    key_id: u8,
    incoming: Incoming<(u8, Vec<u8>)>,
    outgoing: Outgoing,
    plain: Vec<u8>,
    phase: Phase,
    client_keys: Option<ClientKeys>,
    randoms: ([u8; 32], [u8; 32]),
    /// The push reply's options (the server's; peer id, cipher and key derivation are added).
    push: String,
    options: String,
    peer_id: u32,
    data: Option<DataChannel>,
    output: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    started: Instant,
    last_received: Instant,
    last_sent: Instant,
}

impl Session {
    /// A session for a client that sent a hard reset: `push` is the options for its push
    /// reply (`route-gateway …,topology subnet,ifconfig …,route …`), `options` the server's
    /// options string (key method 2), `peer_id` its id on the data channel.
    pub fn new(
        tls: Arc<rustls::ServerConfig>,
        push: String,
        options: String,
        peer_id: u32,
        now: Instant,
    ) -> Result<Session, rustls::Error> {
        Ok(Session {
            tls: rustls::ServerConnection::new(tls)?,
            server_session: rand::random(),
            client_session: None,
            key_id: 0,
            incoming: Incoming::default(),
            outgoing: Outgoing::default(),
            plain: Vec::new(),
            phase: Phase::New,
            client_keys: None,
            randoms: (rand::random(), rand::random()),
            push,
            options,
            peer_id,
            data: None,
            output: VecDeque::new(),
            events: VecDeque::new(),
            started: now,
            last_received: now,
            last_sent: now,
        })
    }

    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// The datagrams to send, oldest first.
    pub fn take_output(&mut self) -> Vec<Vec<u8>> {
        self.output.drain(..).collect()
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    fn close(&mut self, why: impl Into<String>) {
        if self.phase != Phase::Closed {
            self.phase = Phase::Closed;
            self.events.push_back(Event::Closed(why.into()));
        }
    }

    /// Ends the session from the server's side (TerminateClientVpnConnections, the session
    /// timeout): the client is told to reconnect (`RESTART`, as an OpenVPN server's `kill`
    /// does) or, with `restart` false, to stop (`HALT`); then TLS is closed.
    pub fn terminate(&mut self, now: Instant, why: &str, restart: bool) {
        if self.phase == Phase::Connected {
            let message: &[u8] = if restart { b"RESTART\0" } else { b"HALT\0" };
            let _ = self.tls.writer().write_all(message);
        }
        self.tls.send_close_notify();
        self.flush_tls();
        self.flush(now);
        self.close(why);
    }

    /// Takes one datagram from the client.
    pub fn receive(&mut self, now: Instant, bytes: &[u8]) {
        if self.phase == Phase::Closed {
            return;
        }
        let Ok((opcode, key_id)) = packet::header(bytes) else {
            return;
        };
        if packet::is_data(opcode) {
            self.receive_data(now, bytes);
            return;
        }
        let Ok(p) = Control::parse(bytes) else {
            return;
        };
        match (self.phase, opcode) {
            (Phase::New, packet::HARD_RESET_CLIENT_V2) => {
                self.client_session = Some(p.session);
                self.key_id = key_id;
                self.phase = Phase::Handshake;
                self.outgoing.push(packet::HARD_RESET_SERVER_V2, Vec::new());
            }
            (Phase::New, packet::HARD_RESET_CLIENT_V3) => {
                self.close("the client uses tls-crypt-v2, which Client VPN does not");
                return;
            }
            (Phase::New, _) => return,
            _ => {}
        }
        if Some(p.session) != self.client_session {
            return;
        }
        if !p.acks.is_empty() && p.remote != Some(self.server_session) {
            return;
        }
        self.last_received = now;
        for a in &p.acks {
            self.outgoing.acked(*a);
        }
        if opcode == packet::SOFT_RESET {
            self.close("the client renegotiates keys, which this server does not do (reneg-sec 0)");
            return;
        }
        if let Some(id) = p.id {
            for (op, payload) in self.incoming.receive(id, (opcode, p.payload)) {
                if op == packet::CONTROL {
                    self.receive_tls(&payload);
                }
            }
        }
        self.flush(now);
    }

    fn receive_data(&mut self, now: Instant, bytes: &[u8]) {
        let Some(data) = self.data.as_mut() else {
            return;
        };
        let Ok(plain) = data.open(bytes) else {
            return;
        };
        self.last_received = now;
        if plain.as_slice() != PING && !plain.is_empty() {
            self.events.push_back(Event::Packet(plain));
        }
    }

    fn receive_tls(&mut self, mut payload: &[u8]) {
        while !payload.is_empty() {
            match self.tls.read_tls(&mut payload) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return self.close(format!("TLS: {e}")),
            }
            if let Err(e) = self.tls.process_new_packets() {
                // The alert that says why goes out before the session ends.
                self.flush_tls();
                return self.close(format!("TLS handshake failed: {e}"));
            }
        }
        let mut buf = Vec::new();
        match self.tls.reader().read_to_end(&mut buf) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return self.close(format!("TLS: {e}")),
        }
        self.plain.extend_from_slice(&buf);
        self.handle_plaintext();
        self.flush_tls();
    }

    fn handle_plaintext(&mut self) {
        if self.client_keys.is_none() {
            match keys::read_client(&self.plain) {
                Ok((k, used)) => {
                    self.plain.drain(..used);
                    self.accept_keys(k);
                }
                Err(KeyMethodError::Truncated) => return,
                Err(e) => return self.close(format!("key method 2: {e:?}")),
            }
        }
        while let Some(end) = self.plain.iter().position(|b| *b == 0) {
            let message: Vec<u8> = self.plain.drain(..=end).collect();
            let text = String::from_utf8_lossy(&message[..end]).into_owned();
            match text.as_str() {
                "PUSH_REQUEST" => self.push_reply(),
                "EXIT" => self.close("the client disconnected"),
                _ => {}
            }
        }
    }

    fn accept_keys(&mut self, k: ClientKeys) {
        let certificates = self
            .tls
            .peer_certificates()
            .map(|c| c.iter().map(|d| d.as_ref().to_vec()).collect())
            .unwrap_or_default();
        let reply = keys::write_server(&self.randoms.0, &self.randoms.1, &self.options);
        if self.tls.writer().write_all(&reply).is_err() {
            return self.close("TLS: cannot write");
        }
        self.client_keys = Some(k);
        self.phase = Phase::KeysExchanged;
        self.events.push_back(Event::Authenticated { certificates });
    }

    fn push_reply(&mut self) {
        let Some(k) = self.client_keys.as_ref() else {
            return;
        };
        if self.data.is_some() {
            // A repeated request (its reply was slow): the same answer again.
            let reply = self.reply_text(k.proto_flags());
            let _ = self.tls.writer().write_all(reply.as_bytes());
            return;
        }
        let ekm = k.proto_flags() & keys::IV_PROTO_TLS_KEY_EXPORT != 0;
        let mut block = [0u8; 256];
        if ekm {
            if let Err(e) = self
                .tls
                .export_keying_material(&mut block, keys::EKM_LABEL, None)
            {
                return self.close(format!("TLS-EKM: {e}"));
            }
        } else {
            let Some(client) = self.client_session else {
                return;
            };
            block = keys::prf_block(
                k,
                &self.randoms.0,
                &self.randoms.1,
                &client,
                &self.server_session,
            );
        }
        let (to_server, to_client) = keys::split(&block);
        self.data = Some(DataChannel::new(
            &to_server,
            &to_client,
            self.key_id,
            self.peer_id,
        ));
        let reply = self.reply_text(k.proto_flags());
        if self.tls.writer().write_all(reply.as_bytes()).is_err() {
            return self.close("TLS: cannot write");
        }
        self.phase = Phase::Connected;
        self.events.push_back(Event::Connected);
    }

    fn reply_text(&self, flags: u32) -> String {
        let mut reply = format!(
            "PUSH_REPLY,{},ping {},ping-restart {},peer-id {},cipher AES-256-GCM",
            self.push,
            PING_EVERY.as_secs(),
            SILENCE_LIMIT.as_secs(),
            self.peer_id
        );
        if flags & keys::IV_PROTO_TLS_KEY_EXPORT != 0 {
            reply.push_str(",key-derivation tls-ekm");
        }
        reply.push('\0');
        reply
    }

    /// Moves what TLS has to send into control packets.
    fn flush_tls(&mut self) {
        let mut out = Vec::new();
        while self.tls.wants_write() {
            if self.tls.write_tls(&mut out).is_err() {
                break;
            }
        }
        for chunk in out.chunks(MAX_CONTROL_PAYLOAD) {
            self.outgoing.push(packet::CONTROL, chunk.to_vec());
        }
    }

    /// Sends what is due: new and retransmitted control packets (with acknowledgements), or a
    /// bare acknowledgement.
    fn flush(&mut self, now: Instant) {
        let Some(remote) = self.client_session else {
            return;
        };
        for (opcode, id, payload) in self.outgoing.due(now) {
            let acks = self.incoming.take_acks(ACKS_PER_PACKET);
            let p = Control {
                opcode,
                key_id: self.key_id,
                session: self.server_session,
                remote: (!acks.is_empty()).then_some(remote),
                acks,
                id: Some(id),
                payload,
            };
            self.output.push_back(p.encode());
        }
        while self.incoming.has_acks() {
            let acks = self.incoming.take_acks(ACKS_PER_PACKET);
            let p = Control {
                opcode: packet::ACK,
                key_id: self.key_id,
                session: self.server_session,
                remote: Some(remote),
                acks,
                id: None,
                payload: Vec::new(),
            };
            self.output.push_back(p.encode());
        }
    }

    /// Time passes: retransmissions, keepalives, and the limits on silence and on the handshake.
    pub fn tick(&mut self, now: Instant) {
        if self.phase == Phase::Closed {
            return;
        }
        if now.duration_since(self.last_received) > SILENCE_LIMIT {
            return self.close("the client went silent (ping-restart)");
        }
        if self.phase != Phase::Connected && now.duration_since(self.started) > HANDSHAKE_LIMIT {
            return self.close("the handshake did not finish in time");
        }
        self.flush(now);
        if self.data.is_some() && now.duration_since(self.last_sent) >= PING_EVERY {
            self.send_packet(now, &PING);
        }
    }

    /// When [`Self::tick`] next has something to do.
    pub fn next_tick(&self) -> Instant {
        let mut at = self.last_received + SILENCE_LIMIT;
        if let Some(r) = self.outgoing.next_deadline() {
            at = at.min(r);
        }
        if self.data.is_some() {
            at = at.min(self.last_sent + PING_EVERY);
        }
        at
    }

    /// Sends an IP packet to the client (dropped until the data channel is up).
    pub fn send_packet(&mut self, now: Instant, packet: &[u8]) {
        if let Some(d) = self.data.as_mut() {
            let sealed = d.seal(packet);
            self.output.push_back(sealed);
            self.last_sent = now;
        }
    }
}
