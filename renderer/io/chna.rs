//! The `chna` chunk (ITU-R BS.2088-1, chna chunk): which audioTrackUID (and track and
//! pack format) each track of the `data` chunk carries.
//!
//! Layout: `numTracks` (u16), `numUIDs` (u16), then 40-byte `audioID` entries:
//! `trackIndex` (u16, 1-based; 0 = unused slot), `UID` (12 chars, e.g.
//! `ATU_00000001`), `trackRef` (14 chars, `AT_00010001_01`), `packRef` (11
//! chars, `AP_00010002`), one pad byte. BS.2088 lets a writer reserve more
//! entries than it uses, so the chunk may hold slots beyond `numUIDs`.
//!
//! Parsing takes the chunk body (already capped by the reader), keeps every
//! used entry (trailing NUL/space trimmed from the strings), skips unused ones,
//! and refuses a body shorter than 4 + 40 × `numUIDs` bytes. Disagreements
//! between the counts and the entries found become notices, not errors.
//! Serialising refuses strings longer than their fields, non-ASCII strings and
//! track index 0.

use super::Bw64Error;
use super::error::{ChunkId, Ctx};
use crate::notice::Notices;

/// Bytes of one `audioID` entry.
pub const ENTRY_SIZE: usize = 40;
/// Largest meaningful `chna` body: the count fields plus 65535 entries.
pub const MAX_CHNA_SIZE: u64 = 4 + 65_535 * ENTRY_SIZE as u64;

const UID_LEN: usize = 12;
const TRACK_REF_LEN: usize = 14;
const PACK_REF_LEN: usize = 11;

/// One `audioID` entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChnaEntry {
    /// 1-based index of the track (channel) in the `data` chunk.
    pub track_index: u16,
    /// audioTrackUID ID, e.g. `ATU_00000001`.
    pub uid: String,
    /// audioTrackFormat ID (`AT_…`), or an audioChannelFormat ID (`AC_…`) in
    /// BS.2076-2 files that skip track and stream formats; may be empty.
    pub track_ref: String,
    /// audioPackFormat ID (`AP_…`); may be empty.
    pub pack_ref: String,
}

/// A parsed `chna` chunk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Chna {
    /// `numTracks` as declared: the number of distinct tracks referenced.
    pub num_tracks: u16,
    /// `numUIDs` as declared: the number of used entries.
    pub num_uids: u16,
    /// Used entries (track index ≠ 0), in file order.
    pub entries: Vec<ChnaEntry>,
}

impl Chna {
    /// A table with the counts computed from `entries`.
    pub fn new(entries: Vec<ChnaEntry>) -> Self {
        let mut tracks: Vec<u16> = entries.iter().map(|e| e.track_index).collect();
        tracks.sort_unstable();
        tracks.dedup();
        Chna {
            num_tracks: u16::try_from(tracks.len()).unwrap_or(u16::MAX),
            num_uids: u16::try_from(entries.len()).unwrap_or(u16::MAX),
            entries,
        }
    }

    /// Entries for the given 1-based track index.
    pub fn entries_for_track(&self, track_index: u16) -> impl Iterator<Item = &ChnaEntry> {
        self.entries.iter().filter(move |e| e.track_index == track_index)
    }

    /// Parses a `chna` body found at `offset` (of the chunk header).
    pub(crate) fn parse(body: &[u8], ctx: &Ctx, offset: u64, notices: &mut Notices) -> Result<Chna, Bw64Error> {
        let id = ChunkId::CHNA;
        let [t0, t1, u0, u1, rest @ ..] = body else {
            return Err(ctx.malformed(
                id,
                offset,
                format!("{} bytes long; numTracks and numUIDs need 4", body.len()),
            ));
        };
        let num_tracks = u16::from_le_bytes([*t0, *t1]);
        let num_uids = u16::from_le_bytes([*u0, *u1]);
        let needed = 4 + usize::from(num_uids) * ENTRY_SIZE;
        if body.len() < needed {
            return Err(ctx.malformed(
                id,
                offset,
                format!(
                    "numUIDs is {num_uids}, which needs {needed} bytes, but the chunk is {} bytes",
                    body.len()
                ),
            ));
        }
        let slots = rest.chunks_exact(ENTRY_SIZE);
        let trailing = slots.remainder().len();
        if trailing != 0 {
            notices.add(
                "chna-trailing-bytes",
                ctx.subject(id, offset),
                format!("{trailing} bytes after the last 40-byte entry ignored"),
            );
        }
        let mut entries = Vec::with_capacity(usize::from(num_uids));
        for slot in slots {
            let track_index =
                u16::from_le_bytes([slot.first().copied().unwrap_or(0), slot.get(1).copied().unwrap_or(0)]);
            if track_index == 0 {
                continue; // unused (reserved) slot (BS.2088-1, chna chunk)
            }
            let field = |from: usize, len: usize| text(slot.get(from..from + len).unwrap_or(&[]));
            entries.push(ChnaEntry {
                track_index,
                uid: field(2, UID_LEN),
                track_ref: field(2 + UID_LEN, TRACK_REF_LEN),
                pack_ref: field(2 + UID_LEN + TRACK_REF_LEN, PACK_REF_LEN),
            });
        }
        let chna = Chna {
            num_tracks,
            num_uids,
            entries,
        };
        if chna.entries.len() != usize::from(num_uids) {
            notices.add(
                "chna-count-mismatch",
                ctx.subject(id, offset),
                format!(
                    "numUIDs is {num_uids} but {} entries are in use; keeping all used entries",
                    chna.entries.len()
                ),
            );
        }
        let distinct = Chna::new(chna.entries.clone()).num_tracks;
        if distinct != num_tracks {
            notices.add(
                "chna-count-mismatch",
                ctx.subject(id, offset),
                format!("numTracks is {num_tracks} but the entries name {distinct} distinct tracks"),
            );
        }
        Ok(chna)
    }

    /// The chunk body: counts recomputed from the entries, each string
    /// NUL-padded to its field. Fails (with a reason) on a field too long, a
    /// non-ASCII string, track index 0 or more than 65535 entries.
    pub fn to_chunk_body(&self) -> Result<Vec<u8>, String> {
        let counted = Chna::new(self.entries.clone());
        if self.entries.len() > usize::from(u16::MAX) {
            return Err(format!("{} chna entries; at most 65535", self.entries.len()));
        }
        let mut b = Vec::with_capacity(4 + self.entries.len() * ENTRY_SIZE);
        b.extend_from_slice(&counted.num_tracks.to_le_bytes());
        b.extend_from_slice(&counted.num_uids.to_le_bytes());
        for (i, e) in self.entries.iter().enumerate() {
            if e.track_index == 0 {
                return Err(format!("chna entry {i} ({}) has track index 0", e.uid));
            }
            b.extend_from_slice(&e.track_index.to_le_bytes());
            for (value, len, name) in [
                (&e.uid, UID_LEN, "UID"),
                (&e.track_ref, TRACK_REF_LEN, "trackRef"),
                (&e.pack_ref, PACK_REF_LEN, "packRef"),
            ] {
                if !value.is_ascii() || value.len() > len {
                    return Err(format!(
                        "chna entry {i}: {name} {value:?} is not ASCII of at most {len} characters"
                    ));
                }
                b.extend_from_slice(value.as_bytes());
                b.resize(b.len() + len - value.len(), 0);
            }
            b.push(0);
        }
        Ok(b)
    }
}

/// A fixed-width text field: trailing NULs and spaces trimmed, anything after
/// an embedded NUL dropped, non-UTF-8 bytes replaced.
fn text(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let s = String::from_utf8_lossy(raw.get(..end).unwrap_or(raw));
    s.trim_end_matches([' ', '\0']).to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn entry(t: u16, uid: &str) -> ChnaEntry {
        ChnaEntry {
            track_index: t,
            uid: uid.into(),
            track_ref: "AT_00031001_01".into(),
            pack_ref: "AP_00031001".into(),
        }
    }

    #[test]
    fn round_trip_and_reserved_slots() {
        let chna = Chna::new(vec![entry(1, "ATU_00000001"), entry(2, "ATU_00000002")]);
        let mut body = chna.to_chunk_body().unwrap();
        assert_eq!(body.len(), 4 + 80);
        body.resize(body.len() + 3 * ENTRY_SIZE, 0); // reserved slots
        let mut n = Notices::default();
        let back = Chna::parse(&body, &Ctx::new("x.wav"), 0, &mut n).unwrap();
        assert_eq!(back, chna);
        assert!(n.is_empty(), "{n:?}");
    }

    #[test]
    fn short_body_is_an_error_and_counts_are_checked() {
        let ctx = Ctx::new("x.wav");
        let mut n = Notices::default();
        assert!(Chna::parse(&[1, 0], &ctx, 7, &mut n).is_err());
        let mut body = Chna::new(vec![entry(1, "ATU_00000001")]).to_chunk_body().unwrap();
        body[2] = 2; // numUIDs = 2 but only one entry's bytes
        let e = Chna::parse(&body, &ctx, 7, &mut n).unwrap_err().to_string();
        assert!(e.contains("numUIDs is 2") && e.contains("byte 7"), "{e}");
        body[2] = 0; // numUIDs = 0 but one entry used
        let c = Chna::parse(&body, &ctx, 7, &mut n).unwrap();
        assert_eq!(c.entries.len(), 1);
        assert_eq!(n.iter().next().unwrap().kind, "chna-count-mismatch");
    }

    #[test]
    fn refuses_long_fields() {
        let mut e = entry(1, "ATU_000000001");
        assert!(Chna::new(vec![e.clone()]).to_chunk_body().is_err());
        e.uid = "ATU_00000001".into();
        e.track_index = 0;
        assert!(Chna::new(vec![e]).to_chunk_body().is_err());
    }
}
