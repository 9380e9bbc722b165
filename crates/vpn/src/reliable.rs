//! The control channel's reliability layer: packet ids, acknowledgements, in-order delivery
//! and retransmission over an unreliable transport (OpenVPN's `reliable.c`, rewritten).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Packets received ahead of the next expected one that are kept (and acknowledged).
pub const RECEIVE_WINDOW: u32 = 8;
/// Packets sent and not yet acknowledged, at most.
pub const SEND_WINDOW: usize = 4;
/// The first retransmission's delay; it doubles up to [`MAX_TIMEOUT`].
pub const INITIAL_TIMEOUT: Duration = Duration::from_secs(2);
pub const MAX_TIMEOUT: Duration = Duration::from_secs(16);

/// What arrives: items delivered in packet-id order, and the ids to acknowledge.
#[derive(Debug)]
pub struct Incoming<T = Vec<u8>> {
    next: u32,
    early: BTreeMap<u32, T>,
    to_ack: Vec<u32>,
}

impl<T> Default for Incoming<T> {
    fn default() -> Self {
        Incoming {
            next: 0,
            early: BTreeMap::new(),
            to_ack: Vec::new(),
        }
    }
}

impl<T> Incoming<T> {
    /// Takes packet `id`; returns the payloads now deliverable, in order. A packet already
    /// delivered is acknowledged again (its acknowledgement was lost); one beyond the window is
    /// dropped unacknowledged, so the peer sends it again later.
    pub fn receive(&mut self, id: u32, payload: T) -> Vec<T> {
        if id < self.next {
            self.ack(id);
            return Vec::new();
        }
        if id - self.next >= RECEIVE_WINDOW {
            return Vec::new();
        }
        self.ack(id);
        self.early.insert(id, payload);
        let mut out = Vec::new();
        while let Some(p) = self.early.remove(&self.next) {
            out.push(p);
            self.next += 1;
        }
        out
    }

    fn ack(&mut self, id: u32) {
        if !self.to_ack.contains(&id) {
            self.to_ack.push(id);
        }
    }

    /// The acknowledgements to send (at most `max`), removed from the queue.
    pub fn take_acks(&mut self, max: usize) -> Vec<u32> {
        let n = self.to_ack.len().min(max);
        self.to_ack.drain(..n).collect()
    }

    pub fn has_acks(&self) -> bool {
        !self.to_ack.is_empty()
    }
}

#[derive(Debug)]
struct Unacked {
    opcode: u8,
    payload: Vec<u8>,
    sent: Option<Instant>,
    timeout: Duration,
}

/// What is sent: packets get ids in order, at most [`SEND_WINDOW`] are in flight, and each is
/// sent again until it is acknowledged.
#[derive(Debug, Default)]
pub struct Outgoing {
    next: u32,
    queue: BTreeMap<u32, Unacked>,
}

impl Outgoing {
    /// Queues a packet: its id.
    pub fn push(&mut self, opcode: u8, payload: Vec<u8>) -> u32 {
        let id = self.next;
        self.next += 1;
        self.queue.insert(
            id,
            Unacked {
                opcode,
                payload,
                sent: None,
                timeout: INITIAL_TIMEOUT,
            },
        );
        id
    }

    pub fn acked(&mut self, id: u32) {
        self.queue.remove(&id);
    }

    /// The packets to (re)send now: `(opcode, id, payload)`, within the send window.
    pub fn due(&mut self, now: Instant) -> Vec<(u8, u32, Vec<u8>)> {
        let mut out = Vec::new();
        for (id, u) in self.queue.iter_mut().take(SEND_WINDOW) {
            let send = match u.sent {
                None => true,
                Some(at) if now.duration_since(at) >= u.timeout => {
                    u.timeout = (u.timeout * 2).min(MAX_TIMEOUT);
                    true
                }
                Some(_) => false,
            };
            if send {
                u.sent = Some(now);
                out.push((u.opcode, *id, u.payload.clone()));
            }
        }
        out
    }

    /// When the next retransmission is due, if anything waits.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.queue
            .values()
            .take(SEND_WINDOW)
            .filter_map(|u| u.sent.map(|s| s + u.timeout))
            .min()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_packets_are_delivered_in_order_and_acknowledged() {
        let mut r: Incoming = Incoming::default();
        assert!(r.receive(1, b"b".to_vec()).is_empty());
        assert_eq!(
            r.receive(0, b"a".to_vec()),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(r.take_acks(8), vec![1, 0]);
        // A duplicate is acknowledged again, not delivered.
        assert!(r.receive(0, b"a".to_vec()).is_empty());
        assert_eq!(r.take_acks(8), vec![0]);
        // Beyond the window: dropped, not acknowledged.
        assert!(r.receive(2 + RECEIVE_WINDOW, b"z".to_vec()).is_empty());
        assert!(!r.has_acks());
    }

    #[test]
    fn unacknowledged_packets_are_sent_again_with_backoff() {
        let t0 = Instant::now();
        let mut s = Outgoing::default();
        for i in 0..6u8 {
            s.push(4, vec![i]);
        }
        let first = s.due(t0);
        assert_eq!(first.len(), SEND_WINDOW);
        assert!(s.due(t0 + Duration::from_secs(1)).is_empty());
        s.acked(0);
        // The window moved: packet 4 goes out; 1..3 are not yet due again.
        let next = s.due(t0 + Duration::from_secs(1));
        assert_eq!(next.iter().map(|p| p.1).collect::<Vec<_>>(), vec![4]);
        let again = s.due(t0 + Duration::from_secs(2));
        assert_eq!(again.iter().map(|p| p.1).collect::<Vec<_>>(), vec![1, 2, 3]);
        // Packet 4 is due two seconds after it went out; 1 to 3 now wait twice as long.
        assert_eq!(s.next_deadline(), Some(t0 + Duration::from_secs(3)));
        let ids = |v: Vec<(u8, u32, Vec<u8>)>| v.iter().map(|p| p.1).collect::<Vec<_>>();
        assert_eq!(ids(s.due(t0 + Duration::from_secs(3))), vec![4]);
        assert!(s.due(t0 + Duration::from_secs(5)).is_empty());
        assert_eq!(ids(s.due(t0 + Duration::from_secs(6))), vec![1, 2, 3]);
    }
}
