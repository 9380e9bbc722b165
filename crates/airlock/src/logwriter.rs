//! Where log lines go: to stderr, written by a thread of their own in batches (every 20 ms while
//! lines keep coming), so the request path never waits for a write system call. `Flush` (held by `main`) writes what is queued when
//! the server stops; a process killed with `kill -9` loses at most the lines still queued (the
//! state never depends on them).

use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Lines waiting for the writer thread at most; a logger that outruns it waits.
const QUEUE: usize = 16_384;
/// How long the writer lets lines gather while the server is busy (the most a line waits).
const GATHER: Duration = Duration::from_millis(20);

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

/// Writes what is queued, then sleeps a little so that lines gather: a busy server's loggers
/// never wake this thread (they only queue). When a round finds nothing, it waits for the next
/// line instead of polling.
fn write_batches(rx: Receiver<Msg>, out: &mut impl Write) {
    let mut batch = Vec::with_capacity(64 * 1024);
    let mut idle = true;
    loop {
        let first = if idle {
            match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => return,
            }
        } else {
            std::thread::sleep(GATHER);
            None
        };
        let mut stop = false;
        let mut gone = false;
        let mut next = first;
        loop {
            match next.take() {
                Some(Msg::Line(l)) => batch.extend_from_slice(&l),
                Some(Msg::Stop) => stop = true,
                None => {}
            }
            if stop || batch.len() >= 256 * 1024 {
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
        idle = batch.is_empty();
        if !idle {
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
pub struct Line {
    tx: SyncSender<Msg>,
    buf: Vec<u8>,
}

impl Write for Line {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
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
    type Writer = Line;
    fn make_writer(&'a self) -> Line {
        Line {
            tx: self.tx.clone(),
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
}
