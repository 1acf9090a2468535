//! Damaged real masters through the whole pipeline: every real sample file
//! (../shared/adm-samples, skipped with a notice where absent) is truncated,
//! has bytes of its ADM XML overwritten, or has a chunk size rewritten, at
//! positions drawn from a fixed-seed generator, and is then opened and
//! rendered (a second from the start and from the middle, to 5.1 and to
//! headphones). Nothing may panic; a
//! file that cannot be opened gets an error naming it. The reader-level
//! sweeps (every truncation point of a synthetic file, targeted header
//! corruptions) are in `io_malformed`.

use crate::common::{samples_dir, test_dir};
use admix::binaural::{BinauralOptions, headphone_layout};
use admix::input::open_input;
use admix::io::OutputFormat;
use admix::layout::Layout;
use admix::render::{OutputKind, OutputSpec, RenderOptions, cpu_engine, render_with};
use std::path::{Path, PathBuf};

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

fn wavs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            wavs(&p, out);
        } else if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav"))
            && p.metadata().is_ok_and(|m| m.len() < 4_000_000)
        {
            out.push(p);
        }
    }
}

/// Offsets of the 4-byte size fields of the top-level chunks.
fn size_fields(d: &[u8]) -> Vec<usize> {
    let mut v = vec![4];
    let mut pos = 12usize;
    while pos + 8 <= d.len() {
        v.push(pos + 4);
        let sz = u32::from_le_bytes([d[pos + 4], d[pos + 5], d[pos + 6], d[pos + 7]]) as usize;
        pos = pos.saturating_add(8).saturating_add(sz).saturating_add(sz & 1);
    }
    v
}

fn mutate(d: &[u8], kind: usize, rng: &mut Rng) -> (Vec<u8>, String) {
    let mut d = d.to_vec();
    match kind {
        0 => {
            let at = rng.below(d.len());
            d.truncate(at);
            (d, format!("truncated at {at}"))
        }
        1 => {
            let start = d.windows(20).position(|w| w == b"<audioFormatExtended").unwrap_or(0);
            let mut at = Vec::new();
            for _ in 0..1 + rng.below(6) {
                let i = start + rng.below(d.len() - start);
                let junk = b"<>\"/=& \0\xff9-x";
                d[i] = junk[rng.below(junk.len())];
                at.push(i);
            }
            (d, format!("bytes overwritten at {at:?}"))
        }
        _ => {
            let fields = size_fields(&d);
            let f = fields[rng.below(fields.len())];
            let old = u32::from_le_bytes([d[f], d[f + 1], d[f + 2], d[f + 3]]);
            let new = [
                0,
                1,
                u32::MAX,
                old.wrapping_add(1),
                old.wrapping_sub(1),
                rng.below(1 << 30) as u32,
            ][rng.below(6)];
            d[f..f + 4].copy_from_slice(&new.to_le_bytes());
            (d, format!("size field at {f}: {old} → {new}"))
        }
    }
}

#[test]
fn damaged_real_masters_never_panic_and_errors_name_the_file() {
    let Some(dir) = samples_dir("damaged_real_masters_never_panic_and_errors_name_the_file") else {
        return;
    };
    let mut files = Vec::new();
    wavs(&dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no sample WAVs under {}", dir.display());
    let tmp = test_dir("damaged");
    let path = tmp.path().join("damaged.wav");
    let speakers = OutputSpec {
        kind: OutputKind::Speakers,
        layout: Layout::builtin("5.1").unwrap().unwrap(),
        path: None,
        format: OutputFormat::F32,
        split: false,
        dither: false,
    };
    let phones = OutputSpec {
        kind: OutputKind::Binaural(BinauralOptions::default()),
        layout: headphone_layout(),
        ..speakers.clone()
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // blocks the renders from the middle left unread
    let skipped = std::sync::atomic::AtomicUsize::new(0);
    let (mut opened, mut refused, mut rendered) = (0, 0, 0);
    for f in &files {
        let original = std::fs::read(f).unwrap();
        for k in 0..6 {
            let (bytes, what) = mutate(&original, k % 3, &mut rng);
            std::fs::write(&path, &bytes).unwrap();
            let case = format!("{} {what}", f.display());
            let outcome = std::panic::catch_unwind(|| match open_input(&path, None, None) {
                Err(e) => Err(e.to_string()),
                Ok((mut input, mut scene)) => {
                    // from the start, then from the middle (which passes over
                    // the damaged blocks before it, see BlockFeed::start_at)
                    let half = scene.frames / 2;
                    let mut ranges = vec![(0, scene.frames.min(48_000))];
                    if half > 0 {
                        ranges.push((half, (scene.frames - half).min(48_000)));
                    }
                    let mut r = Ok(());
                    for (start, frames) in ranges {
                        let opts = RenderOptions {
                            start,
                            frames: Some(frames),
                        };
                        r = r.and(
                            render_with(
                                &mut scene,
                                &mut input,
                                &[speakers.clone(), phones.clone()],
                                &opts,
                                &cpu_engine,
                                &mut |_, _| {},
                            )
                            .map(|_| ()),
                        );
                    }
                    skipped.fetch_add(scene.skipped_blocks(), std::sync::atomic::Ordering::Relaxed);
                    Ok(r.map_err(|e| e.to_string()))
                }
            });
            match outcome {
                Err(_) => panic!("panicked on {case}"),
                Ok(Err(msg)) => {
                    refused += 1;
                    assert!(
                        msg.contains("damaged.wav"),
                        "{case}: the error does not name the file: {msg}"
                    );
                }
                Ok(Ok(r)) => {
                    opened += 1;
                    if let Err(msg) = r {
                        assert!(!msg.is_empty(), "{case}: empty render error");
                    } else {
                        rendered += 1;
                    }
                }
            }
        }
    }
    eprintln!(
        "{} damaged files from {} samples: {refused} refused with an error naming the file, {opened} opened, {rendered} rendered",
        files.len() * 6,
        files.len()
    );
    // the generator must have produced both outcomes, or the test tests nothing
    assert!(refused > 0 && rendered > 0, "refused {refused}, rendered {rendered}");
    // the damaged blocks before a late start were passed over, not parsed
    let skipped = skipped.into_inner();
    assert!(skipped > 100, "{skipped} blocks left unread");
}
