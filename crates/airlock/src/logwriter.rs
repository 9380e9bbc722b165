//! Where log lines go: to stderr, written by a thread of their own in batches, so the request
//! path never waits for a write system call. While lines keep coming the thread lets them gather
//! for 20 ms between writes, and writes at once while a full batch is queued. `Flush` (held by
//! `main`) writes what is queued when the server stops; a process killed with `kill -9` loses at
//! most the lines still queued (the state never depends on them).

use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Lines waiting for the writer thread at most; a logger that outruns it waits.
const QUEUE: usize = 16_384;
/// How long the writer lets lines gather while the server is busy (the most a line waits).
const GATHER: Duration = Duration::from_millis(20);
/// The most one write holds.
const BATCH: usize = 256 * 1024;

enum Msg {
    Line(Vec<u8>),
    Stop,
}

/// The `MakeWriter` for tracing-subscriber: each log line is handed to the writer thread.
#[derive(Clone)]
pub struct Lines {
    tx: SyncSender<Msg>,
}

/// Stops the writer thread once every queued line is written.
pub struct Flush {
    tx: SyncSender<Msg>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the writer thread.
pub fn stderr() -> (Lines, Flush) {
    let (tx, rx) = sync_channel(QUEUE);
    let thread = std::thread::Builder::new()
        .name("airlock-log".into())
        .spawn(move || write_batches(rx, &mut std::io::stderr()))
        .ok();
    (Lines { tx: tx.clone() }, Flush { tx, thread })
}

/// What the last round of the writer thread found queued.
enum Found {
    /// Nothing: wait for the next line (no polling while the server is idle).
    Nothing,
    /// Some lines: let more gather before the next round, so that a busy server's loggers
    /// never wake this thread (they only queue).
    Some,
    /// A full batch: more may be queued, so go on at once (waiting here would cap the lines
    /// written per second at a batch per `GATHER`, and then the loggers would wait).
    Full,
}

/// Writes what is queued, in batches, until told to stop or every sender is gone.
fn write_batches(rx: Receiver<Msg>, out: &mut impl Write) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut found = Found::Nothing;
    loop {
        let mut next = match found {
            Found::Nothing => match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => return,
            },
            Found::Some => {
                std::thread::sleep(GATHER);
                None
            }
            Found::Full => None,
        };
        let mut stop = false;
        let mut gone = false;
        loop {
            match next.take() {
                Some(Msg::Line(l)) => batch.extend_from_slice(&l),
                Some(Msg::Stop) => stop = true,
                None => {}
            }
            if stop || batch.len() >= BATCH {
                break;
            }
            match rx.try_recv() {
                Ok(m) => next = Some(m),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    gone = true;
                    break;
                }
            }
        }
        found = match batch.len() {
            0 => Found::Nothing,
            n if n >= BATCH => Found::Full,
            _ => Found::Some,
        };
        if !batch.is_empty() {
            let _ = out.write_all(&batch);
            let _ = out.flush();
            batch.clear();
        }
        if stop || gone {
            return;
        }
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One line being written (tracing-subscriber writes a line, then drops its writer).
pub struct Line<'a> {
    /// Borrowed: a clone per line would bump the channel's shared sender count twice.
    tx: &'a SyncSender<Msg>,
    buf: Vec<u8>,
}

impl Write for Line<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        let line = std::mem::take(&mut self.buf);
        if line.is_empty() {
            return;
        }
        // After the writer thread stopped (the server is exiting), write directly.
        if let Err(std::sync::mpsc::SendError(Msg::Line(line))) = self.tx.send(Msg::Line(line)) {
            let _ = std::io::stderr().write_all(&line);
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = Line<'a>;
    fn make_writer(&'a self) -> Line<'a> {
        Line {
            tx: &self.tx,
            buf: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_lines_are_written_in_order_and_flushed_on_stop() {
        let (tx, rx) = sync_channel(QUEUE);
        let lines = Lines { tx: tx.clone() };
        for i in 0..1000 {
            let mut l = tracing_subscriber::fmt::MakeWriter::make_writer(&lines);
            writeln!(l, "line {i}").unwrap();
        }
        tx.send(Msg::Stop).unwrap();
        let mut out = Vec::new();
        write_batches(rx, &mut out);
        let text = String::from_utf8(out).unwrap();
        let want: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, want);
    }

    #[test]
    fn more_than_a_batch_is_written_whole_and_in_order() {
        let (tx, rx) = sync_channel(QUEUE);
        let lines = Lines { tx: tx.clone() };
        // About ten batches' worth of 300-byte lines.
        let line = |i: usize| format!("{i:>299}\n");
        let n = 10 * BATCH / 300;
        for i in 0..n {
            let mut l = tracing_subscriber::fmt::MakeWriter::make_writer(&lines);
            l.write_all(line(i).as_bytes()).unwrap();
        }
        tx.send(Msg::Stop).unwrap();
        let mut out = Vec::new();
        write_batches(rx, &mut out);
        assert_eq!(out.len(), n * 300);
        let want: String = (0..n).map(line).collect();
        assert!(out == want.as_bytes());
    }
}
