//! A check of SQLite's write-ahead log before SQLite reads it.
//!
//! SQLite replays the log's frames from the start and stops at the first one whose salts or
//! checksum do not match, silently: committed transactions after damage in the middle of the
//! log are dropped, and the first checkpoint then deletes them for good. Frames past the end of
//! the valid chain are normal when they belong to an earlier generation of the log (a restarted
//! log is rewritten from its start with new salts and the file is not truncated), and so is a
//! broken last frame or uncommitted tail: `kill -9` in the middle of a write leaves one, and no
//! client was told that transaction succeeded. A commit frame of the current generation after
//! the broken frame is damage: the log held a committed transaction that SQLite would lose. The
//! layout and checksum are SQLite's file format
//! (<https://sqlite.org/fileformat2.html#the_write_ahead_log>).

/// The log's header: magic, format version, page size, checkpoint sequence, two salts and the
/// header's own checksum.
const HEADER: usize = 32;
/// A frame's header: page number, database size after a commit, the two salts, the checksum.
const FRAME_HEADER: usize = 24;
const MAGIC: u32 = 0x377f_0682;

/// What a log holds, read as SQLite will.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Log {
    /// Frames SQLite will replay (up to and including the last valid commit frame).
    pub committed: usize,
}

/// Why SQLite would not replay all of a log's transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The header is not a valid log header, yet frames follow it: SQLite ignores the whole
    /// log.
    Header { len: u64 },
    /// The frame at `offset` does not verify, and `lost` committed transactions of the current
    /// generation (their commit frames) lie after it.
    Frames {
        offset: u64,
        committed: usize,
        lost: usize,
    },
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Damage::Header { len } => write!(
                f,
                "its write-ahead log ({len} bytes) has a damaged header, so none of the \
                 transactions in it can be read"
            ),
            Damage::Frames {
                offset,
                committed,
                lost,
            } => write!(
                f,
                "its write-ahead log is damaged at byte {offset}: {committed} frames before it \
                 can be read, {lost} committed transactions after it cannot"
            ),
        }
    }
}

/// Reads a log (the whole `-wal` file) and says whether SQLite will replay all of it.
pub fn check(wal: &[u8]) -> Result<Log, Damage> {
    let empty = Log { committed: 0 };
    if wal.len() < HEADER {
        // SQLite writes the header in one piece; a shorter file holds no frame.
        return Ok(empty);
    }
    let word = |at: usize| u32::from_be_bytes([wal[at], wal[at + 1], wal[at + 2], wal[at + 3]]);
    let magic = word(0);
    let page = word(8) as usize;
    let header_ok = magic & !1 == MAGIC
        && page.is_power_of_two()
        && (512..=65536).contains(&page)
        && checksum(magic, (0, 0), &wal[..24]) == (word(24), word(28));
    let frame = FRAME_HEADER + if header_ok { page } else { 0 };
    if !header_ok {
        return if wal.len() > HEADER {
            Err(Damage::Header {
                len: wal.len() as u64,
            })
        } else {
            Ok(empty)
        };
    }
    let salts = (word(16), word(20));
    let frames = (wal.len() - HEADER) / frame;
    let at = |i: usize| HEADER + i * frame;
    let mut sum = (word(24), word(28));
    let mut committed = 0;
    let mut valid = 0;
    while valid < frames {
        let f = at(valid);
        let ours = (word(f + 8), word(f + 12)) == salts;
        sum = checksum(magic, sum, &wal[f..f + 8]);
        sum = checksum(magic, sum, &wal[f + FRAME_HEADER..f + frame]);
        if !ours || word(f) == 0 || sum != (word(f + 16), word(f + 20)) {
            break;
        }
        valid += 1;
        if word(f + 4) != 0 {
            committed = valid;
        }
    }
    // The broken frame itself may be a write cut short; what follows it of this generation
    // and ends a transaction is what a client was told had been committed.
    let lost = (valid + 1..frames)
        .filter(|&i| (word(at(i) + 8), word(at(i) + 12)) == salts && word(at(i) + 4) != 0)
        .count();
    if lost == 0 {
        return Ok(Log { committed });
    }
    Err(Damage::Frames {
        offset: at(valid) as u64,
        committed,
        lost,
    })
}

/// SQLite's log checksum: 32-bit words in the byte order the magic names (its lowest bit set:
/// big-endian), folded in pairs from `(s0, s1)`.
fn checksum(magic: u32, (mut s0, mut s1): (u32, u32), data: &[u8]) -> (u32, u32) {
    let big = magic & 1 == 1;
    for pair in data.chunks_exact(8) {
        let read = |b: &[u8]| {
            let b = [b[0], b[1], b[2], b[3]];
            if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        s0 = s0.wrapping_add(read(&pair[..4])).wrapping_add(s1);
        s1 = s1.wrapping_add(read(&pair[4..])).wrapping_add(s0);
    }
    (s0, s1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// A directory of its own under the system's temporary directory.
    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("airlock-wal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A database whose transactions are all still in its log: `rows` inserts of 3 KB each,
    /// one transaction apiece, and the log's bytes read while the connection is open (closing
    /// would checkpoint it away).
    fn logged(dir: &std::path::Path, rows: usize, restart_after: Option<usize>) -> Vec<u8> {
        let db = dir.join("t.db");
        let conn = Connection::open(&db).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
            .unwrap();
        for i in 0..rows {
            if restart_after == Some(i) {
                // Copies the log into the database and starts the log over from its first
                // frame with new salts; the older frames stay in the file behind the new ones.
                conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))
                    .unwrap();
            }
            conn.execute(
                "INSERT INTO t (id, body) VALUES (?1, ?2)",
                rusqlite::params![i as i64, "x".repeat(3000)],
            )
            .unwrap();
        }
        let wal = std::fs::read(dir.join("t.db-wal")).unwrap();
        std::mem::forget(conn);
        wal
    }

    /// The frames SQLite itself counts in a log.
    fn sqlite_frames(dir: &std::path::Path, wal: &[u8]) -> i64 {
        let copy = dir.join("copy");
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(dir.join("t.db"), copy.join("t.db")).unwrap();
        std::fs::write(copy.join("t.db-wal"), wal).unwrap();
        let conn = Connection::open(copy.join("t.db")).unwrap();
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(1))
            .unwrap()
    }

    #[test]
    fn an_intact_log_is_read_as_sqlite_reads_it() {
        let dir = scratch("intact");
        let wal = logged(&dir, 40, None);
        let log = check(&wal).unwrap();
        assert_eq!(log.committed as i64, sqlite_frames(&dir, &wal));
        assert!(log.committed > 40);
    }

    #[test]
    fn garbage_in_the_middle_is_damage_sqlite_would_hide() {
        let dir = scratch("middle");
        let mut wal = logged(&dir, 40, None);
        let mid = wal.len() / 2;
        wal[mid..mid + 8192].fill(0xde);
        let Err(Damage::Frames {
            offset,
            committed,
            lost,
        }) = check(&wal)
        else {
            panic!("not seen as damage: {:?}", check(&wal));
        };
        assert!(offset as usize <= mid && mid - (offset as usize) < 4096 + 24 + 24);
        // SQLite itself keeps exactly the frames before the damage, silently.
        assert_eq!(committed as i64, sqlite_frames(&dir, &wal));
        assert!(lost > 10, "{lost}");
    }

    #[test]
    fn a_damaged_header_is_damage() {
        let dir = scratch("header");
        let mut wal = logged(&dir, 5, None);
        wal[17] ^= 0xff;
        assert!(matches!(check(&wal), Err(Damage::Header { .. })));
        assert_eq!(sqlite_frames(&dir, &wal), 0);
    }

    #[test]
    fn frames_of_an_earlier_generation_behind_the_chain_are_not_damage() {
        let dir = scratch("restart");
        let wal = logged(&dir, 40, Some(30));
        let log = check(&wal).unwrap();
        assert_eq!(log.committed as i64, sqlite_frames(&dir, &wal));
        // The new generation is the ten later inserts; the first generation's frames remain.
        assert!(log.committed < 40 && wal.len() > 40 * 3000);
    }

    #[test]
    fn a_frame_cut_short_at_the_end_is_an_unfinished_write() {
        let dir = scratch("short");
        let wal = logged(&dir, 10, None);
        let cut = &wal[..wal.len() - 100];
        let log = check(cut).unwrap();
        assert_eq!(log.committed as i64, sqlite_frames(&dir, cut));
    }

    #[test]
    fn a_last_frame_torn_by_kill_9_is_an_unfinished_write() {
        // The frame's header was written, its page only in part.
        let dir = scratch("torn");
        let mut wal = logged(&dir, 10, None);
        let n = wal.len();
        wal[n - 2000..].fill(0x5a);
        let log = check(&wal).unwrap();
        assert_eq!(log.committed as i64, sqlite_frames(&dir, &wal));
    }

    #[test]
    fn short_and_empty_logs_hold_nothing() {
        assert_eq!(check(&[]), Ok(Log { committed: 0 }));
        assert_eq!(check(&[7; 20]), Ok(Log { committed: 0 }));
        assert_eq!(check(&[7; 32]), Ok(Log { committed: 0 }));
        assert!(matches!(check(&[7; 33]), Err(Damage::Header { len: 33 })));
    }

    #[test]
    fn checksums_follow_the_byte_order_of_the_magic() {
        let data = [1, 0, 0, 0, 2, 0, 0, 0];
        assert_eq!(checksum(MAGIC, (0, 0), &data), (1, 3));
        assert_eq!(checksum(MAGIC | 1, (0, 0), &data), (1 << 24, 3 << 24));
    }
}
