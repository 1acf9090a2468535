//! Block timing: an audioChannelFormat's audioBlockFormats, in document
//! order, placed on the programme's timeline for one audioObject (BS.2127
//! §7.2 and ear's `InterpretTimingMetadata` / `InterpretObjectMetadata`).
//!
//! - A block with `rtime` and `duration` spans `[object start + rtime,
//!   … + duration)`; a block with neither spans the object (to the end of the
//!   programme when the object has no duration).
//! - Repairs, each a `Notice` with old → new values:
//!   * `block-time-repaired`: a block that starts less than one sample period
//!     before or after the previous block's end makes the previous block end
//!     where it starts (Pro Tools writes ±10 µs gaps and overlaps between
//!     consecutive blocks; ear's `timing_fixes` does the same when asked);
//!     a block ending less than one sample period after its object is cut
//!     at the object's end; `rtime` without `duration` takes the next
//!     block's `rtime` (or the object's end, or the end of the programme or
//!     of the audio); `duration` without `rtime`
//!     starts where the previous block ended (or at 0).
//!   * `interpolation-length-repaired`: an interpolationLength longer than its
//!     block is clamped to the block.
//! - Refuses ([`SceneError::BlockTiming`]): blocks that overlap by a sample
//!   period or more, a negative duration, a block ending after its object,
//!   `rtime` without `duration` that nothing can complete.
//! - Ramps (Objects only): a block that starts exactly where the previous
//!   one ended ramps from the previous block's gains over its whole duration
//!   (jumpPosition absent/0), over interpolationLength (jumpPosition 1), or
//!   not at all (jumpPosition 1 without a length). DirectSpeakers and HOA
//!   blocks never ramp (ear applies their gains as fixed gains per block).

use std::collections::VecDeque;

use crate::adm::elements::{BlockFormat, JumpPosition};
use crate::notice::Notices;
use crate::time::Time;

use super::{SceneError, TimingProblem};

/// The timing of one object's instance of a channel.
#[derive(Clone, Debug)]
pub(crate) struct ObjectTiming {
    /// audioObject ID (for messages).
    pub object: String,
    /// audioObject `start` (0 when absent).
    pub start: Time,
    /// audioObject `duration`.
    pub duration: Option<Time>,
    /// The end of the programme timeline (audioProgramme end − start, else
    /// the end of the audio) and what it is, for blocks that give an `rtime`
    /// and nothing else to end them.
    pub timeline_end: Option<(Time, &'static str)>,
}

/// One block placed on the timeline.
#[derive(Clone, Debug)]
pub(crate) struct Placed {
    pub start: Time,
    pub end: Option<Time>,
    pub ramp_end: Option<Time>,
    /// The block's interpolationLength after clamping, if it was clamped.
    pub clamped_interpolation: Option<Time>,
}

/// What placing needs of a block.
#[derive(Clone, Debug)]
pub(crate) struct BlockInfo {
    id: String,
    line: u32,
    rtime: Option<Time>,
    duration: Option<Time>,
    /// jumpPosition where ramps apply (Objects), `None` otherwise.
    jump: Option<JumpPosition>,
}

impl BlockInfo {
    pub fn of(b: &BlockFormat, jump: Option<JumpPosition>) -> BlockInfo {
        BlockInfo {
            id: b.id.clone(),
            line: b.origin.line,
            rtime: b.rtime,
            duration: b.duration,
            jump,
        }
    }
}

fn overflow(b: &BlockInfo, object: &str) -> SceneError {
    SceneError::BlockTiming {
        block: b.id.clone(),
        object: object.to_string(),
        line: b.line,
        problem: TimingProblem::Overflow,
        detail: "block times overflow exact arithmetic".into(),
    }
}

fn err(b: &BlockInfo, object: &str, problem: TimingProblem, detail: String) -> SceneError {
    SceneError::BlockTiming {
        block: b.id.clone(),
        object: object.to_string(),
        line: b.line,
        problem,
        detail,
    }
}

fn abs_diff(a: Time, b: Time) -> Option<Time> {
    let d = a.checked_sub(b)?;
    if d < Time::ZERO {
        Time::ZERO.checked_sub(d)
    } else {
        Some(d)
    }
}

/// Places `blocks` (one channel, document order) for one object at sample
/// rate `rate`. `jump` gives a block's jumpPosition where ramps apply
/// (Objects), `None` for types whose gains never ramp. The whole-channel form
/// of [`Placer`].
pub(crate) fn place(
    blocks: &[BlockFormat],
    obj: &ObjectTiming,
    rate: u32,
    jump: impl Fn(&BlockFormat) -> Option<JumpPosition>,
    notices: &mut Notices,
) -> Result<Vec<Placed>, SceneError> {
    let Some(first) = blocks.first() else {
        return Ok(Vec::new());
    };
    let mut placer = Placer::new(obj.clone(), rate, &BlockInfo::of(first, None))?;
    let mut out: VecDeque<(usize, Placed)> = VecDeque::with_capacity(blocks.len());
    for (i, b) in blocks.iter().enumerate() {
        placer.push(BlockInfo::of(b, jump(b)), i, notices, &mut out)?;
    }
    placer.finish(notices, &mut out)?;
    Ok(out.into_iter().map(|(_, p)| p).collect())
}

/// A block seen, not yet final.
struct Held<T> {
    info: BlockInfo,
    payload: T,
    placed: Placed,
    /// It gave rtime/duration (or they were completed), rather than none.
    timed: bool,
}

/// Places one channel's blocks one at a time, in document order: a block is
/// final (its end may still be moved to meet the next one, its ramp depends
/// on that) once the next block has been seen, so memory is two blocks.
/// `T` travels with each block (the block itself, or its index).
pub(crate) struct Placer<T> {
    obj: ObjectTiming,
    object_end: Option<Time>,
    /// One sample period: gaps and overlaps below it are rounding in the
    /// writer (they cannot move a block boundary by a whole sample).
    tolerance: Time,
    /// The block waiting for the next one's rtime.
    raw: Option<(BlockInfo, T)>,
    /// The previous block's (rtime, duration) relative to the object.
    prev_rel: Option<Option<(Time, Time)>>,
    /// Placed, its end may still move.
    held: Option<Held<T>>,
    /// End of the last final block (`None` before the first).
    prev_end: Option<Option<Time>>,
}

impl<T> Placer<T> {
    /// `first` names the channel's first block in an overflow message.
    pub fn new(obj: ObjectTiming, rate: u32, first: &BlockInfo) -> Result<Placer<T>, SceneError> {
        let object_end = match obj.duration {
            Some(d) => Some(obj.start.checked_add(d).ok_or_else(|| overflow(first, &obj.object))?),
            None => None,
        };
        let tolerance = if rate == 0 {
            Time::ZERO
        } else {
            Time::new(1, i64::from(rate)).unwrap_or(Time::ZERO)
        };
        Ok(Placer {
            obj,
            object_end,
            tolerance,
            raw: None,
            prev_rel: None,
            held: None,
            prev_end: None,
        })
    }

    /// Takes the next block; blocks that became final go to `out`.
    pub fn push(
        &mut self,
        info: BlockInfo,
        payload: T,
        notices: &mut Notices,
        out: &mut VecDeque<(T, Placed)>,
    ) -> Result<(), SceneError> {
        let next_rtime = info.rtime;
        if let Some((b, t)) = self.raw.take() {
            self.settle(b, t, next_rtime, notices, out)?;
        }
        self.raw = Some((info, payload));
        Ok(())
    }

    /// After the last block: the rest goes to `out`.
    pub fn finish(&mut self, notices: &mut Notices, out: &mut VecDeque<(T, Placed)>) -> Result<(), SceneError> {
        if let Some((b, t)) = self.raw.take() {
            self.settle(b, t, None, notices, out)?;
        }
        if let Some(h) = self.held.take() {
            self.ramp(h, notices, out)?;
        }
        Ok(())
    }

    /// Steps 1 and 2 for block `b`, whose successor has `next_rtime`.
    fn settle(
        &mut self,
        b: BlockInfo,
        payload: T,
        next_rtime: Option<Time>,
        notices: &mut Notices,
        out: &mut VecDeque<(T, Placed)>,
    ) -> Result<(), SceneError> {
        let obj = &self.obj;
        let object = obj.object.as_str();
        // Step 1: (rtime, duration) relative to the object, completing the
        // half-specified ones.
        let r = match (b.rtime, b.duration) {
            (Some(r), Some(d)) => Some((r, d)),
            (None, None) => None,
            (Some(r), None) => {
                let timeline = obj
                    .timeline_end
                    .and_then(|(e, what)| Some((e.checked_sub(obj.start)?, what)))
                    .filter(|(e, _)| *e > r);
                let (until, what) = match (next_rtime, obj.duration, timeline) {
                    (Some(n), _, _) => (n, format!("the next block's rtime {n}")),
                    (None, Some(d), _) => (d, format!("the end of audioObject {object}")),
                    (None, None, Some((e, what))) => (e, format!("the end of the {what}")),
                    (None, None, None) => {
                        return Err(err(
                            &b,
                            object,
                            TimingProblem::RtimeWithoutDuration,
                            format!(
                                "has rtime {r} but no duration, and neither a next block with an rtime, a \
                                 duration of audioObject {object}, nor the end of the programme or audio \
                                 after {r} says where it ends"
                            ),
                        ));
                    }
                };
                let d = until.checked_sub(r).ok_or_else(|| overflow(&b, object))?;
                if d < Time::ZERO {
                    return Err(err(
                        &b,
                        object,
                        TimingProblem::NegativeDuration,
                        format!("has rtime {r} but no duration, and {what} comes before it"),
                    ));
                }
                notices.add(
                    "block-time-repaired",
                    b.id.as_str(),
                    format!("rtime {r} without duration: duration set to {d} (to {what})"),
                );
                Some((r, d))
            }
            (None, Some(d)) => {
                let r = match self.prev_rel {
                    Some(Some((pr, pd))) => pr.checked_add(pd).ok_or_else(|| overflow(&b, object))?,
                    _ => Time::ZERO,
                };
                notices.add(
                    "block-time-repaired",
                    b.id.as_str(),
                    format!("duration {d} without rtime: rtime set to {r}"),
                );
                Some((r, d))
            }
        };
        self.prev_rel = Some(r);

        // Step 2: absolute times; near-misses repaired, overlaps refused.
        let (start, mut end) = match r {
            Some((r, d)) => {
                let s = obj.start.checked_add(r).ok_or_else(|| overflow(&b, object))?;
                (s, Some(s.checked_add(d).ok_or_else(|| overflow(&b, object))?))
            }
            None => (obj.start, self.object_end),
        };
        if let Some(prev) = self.held.as_mut() {
            let prev_block = prev.info.id.as_str();
            match prev.placed.end {
                None => {
                    return Err(err(
                        &b,
                        object,
                        TimingProblem::Overlap,
                        format!(
                            "starts at {start}, but the previous block {prev_block} has no end (it lasts \
                             to the end of the programme)"
                        ),
                    ));
                }
                Some(prev_end) if prev_end != start => {
                    let miss = abs_diff(start, prev_end).ok_or_else(|| overflow(&b, object))?;
                    let both_timed = r.is_some() && prev.timed;
                    if miss < self.tolerance && both_timed && start >= prev.placed.start {
                        let old = prev_end
                            .checked_sub(prev.placed.start)
                            .ok_or_else(|| overflow(&b, object))?;
                        let new = start
                            .checked_sub(prev.placed.start)
                            .ok_or_else(|| overflow(&b, object))?;
                        notices.add(
                            "block-time-repaired",
                            prev_block,
                            format!(
                                "{} duration to meet the next block {}: was {old}, now {new} \
                                 (the blocks missed by less than one sample period)",
                                if new > old { "expanded" } else { "contracted" },
                                b.id
                            ),
                        );
                        prev.placed.end = Some(start);
                    } else if start < prev_end {
                        return Err(err(
                            &b,
                            object,
                            TimingProblem::Overlap,
                            format!(
                                "starts at {start}, before the previous block {prev_block} ends at {prev_end} \
                                 (overlap of {miss}, one sample period or more)"
                            ),
                        ));
                    }
                }
                Some(_) => {}
            }
        }
        if let (Some(e), Some(oe)) = (end, self.object_end)
            && e > oe
        {
            let over = e.checked_sub(oe).ok_or_else(|| overflow(&b, object))?;
            if over < self.tolerance && start <= oe {
                notices.add(
                    "block-time-repaired",
                    b.id.as_str(),
                    format!(
                        "ended {over} after audioObject {object} (less than one sample period): end moved \
                         from {e} to {oe}"
                    ),
                );
                end = Some(oe);
            } else {
                return Err(err(
                    &b,
                    object,
                    TimingProblem::EndsAfterObject,
                    format!("ends at {e}, after audioObject {object} ends at {oe}"),
                ));
            }
        }
        let now = Held {
            info: b,
            payload,
            placed: Placed {
                start,
                end,
                ramp_end: None,
                clamped_interpolation: None,
            },
            timed: r.is_some(),
        };
        if let Some(prev) = self.held.replace(now) {
            self.ramp(prev, notices, out)?;
        }
        Ok(())
    }

    /// Step 3 for a final block: interpolation length and ramp.
    fn ramp(&mut self, h: Held<T>, notices: &mut Notices, out: &mut VecDeque<(T, Placed)>) -> Result<(), SceneError> {
        let Held {
            info: b,
            payload,
            placed: mut p,
            ..
        } = h;
        let object = self.obj.object.as_str();
        let touching = self.prev_end == Some(Some(p.start));
        self.prev_end = Some(p.end);
        if let Some(jp) = b.jump {
            let duration = match p.end {
                Some(e) => Some(e.checked_sub(p.start).ok_or_else(|| overflow(&b, object))?),
                None => None,
            };
            let mut length = jp.interpolation_length;
            if let (true, Some(il), Some(d)) = (jp.flag, length, duration)
                && il > d
            {
                notices.add(
                    "interpolation-length-repaired",
                    b.id.as_str(),
                    format!("interpolationLength {il} is longer than the block: clamped to its duration {d}"),
                );
                length = Some(d);
                p.clamped_interpolation = Some(d);
            }
            if touching {
                let interp = if jp.flag {
                    Some(length.unwrap_or(Time::ZERO))
                } else {
                    duration
                };
                p.ramp_end = match interp {
                    Some(t) if t > Time::ZERO => Some(p.start.checked_add(t).ok_or_else(|| overflow(&b, object))?),
                    _ => None,
                };
            }
        }
        out.push_back((payload, p));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adm::elements::{BlockKind, ObjectBlock, Origin};

    fn t(s: &str) -> Time {
        Time::parse_decimal_seconds(s).unwrap()
    }

    fn block(id: u32, rtime: Option<&str>, duration: Option<&str>, jp: Option<(bool, Option<&str>)>) -> BlockFormat {
        let mut ob = ObjectBlock::default();
        if let Some((flag, il)) = jp {
            ob.jump_position = JumpPosition {
                flag,
                interpolation_length: il.map(t),
            };
        }
        BlockFormat {
            id: format!("AB_00031001_{id:08x}"),
            rtime: rtime.map(t),
            duration: duration.map(t),
            kind: BlockKind::Objects(ob),
            origin: Origin {
                line: 10 + id,
                common_definition: false,
            },
        }
    }

    fn jump(b: &BlockFormat) -> Option<JumpPosition> {
        match &b.kind {
            BlockKind::Objects(o) => Some(o.jump_position),
            _ => None,
        }
    }

    fn obj(start: &str, duration: Option<&str>) -> ObjectTiming {
        ObjectTiming {
            object: "AO_1001".into(),
            start: t(start),
            duration: duration.map(t),
            timeline_end: None,
        }
    }

    fn run(blocks: &[BlockFormat], o: &ObjectTiming) -> (Result<Vec<Placed>, SceneError>, Notices) {
        let mut n = Notices::default();
        (place(blocks, o, 48_000, jump, &mut n), n)
    }

    #[test]
    fn ramps_follow_ear() {
        let blocks = [
            block(1, Some("0"), Some("0.25"), None),
            block(2, Some("0.25"), Some("0.25"), None),
            block(3, Some("0.5"), Some("0.5"), Some((true, Some("0.05")))),
            block(4, Some("1.0"), Some("0.5"), Some((true, None))),
            block(5, Some("2.0"), Some("0.5"), None), // after a gap: no ramp
        ];
        let (p, n) = run(&blocks, &obj("1", None));
        let p = p.unwrap();
        assert!(n.is_empty());
        assert_eq!(p[0].start, t("1"));
        assert_eq!(p[0].ramp_end, None);
        assert_eq!(p[1].ramp_end, Some(t("1.5")));
        assert_eq!(p[2].ramp_end, Some(t("1.55")));
        assert_eq!(p[3].ramp_end, None);
        assert_eq!(p[4].ramp_end, None);
        assert_eq!(p[4].end, Some(t("3.5")));
    }

    #[test]
    fn zero_length_block_sets_the_next_ramp_start() {
        let blocks = [
            block(1, Some("0.00025"), Some("0"), None),
            block(2, Some("0.00025"), Some("0.00025"), None),
        ];
        let (p, _) = run(&blocks, &obj("0", None));
        let p = p.unwrap();
        assert_eq!(p[0].ramp_end, None);
        assert_eq!(p[1].ramp_end, Some(t("0.0005")));
    }

    #[test]
    fn near_misses_are_repaired_and_overlaps_refused() {
        // 10 µs overlap and 10 µs gap (Pro Tools)
        let blocks = [
            block(1, Some("0"), Some("0.01067"), None),
            block(2, Some("0.01066"), Some("0.01067"), Some((true, Some("0.005208")))),
            block(3, Some("0.02134"), Some("0.00002"), Some((true, Some("0.005208")))),
        ];
        let (p, n) = run(&blocks, &obj("0", Some("1")));
        let p = p.unwrap();
        let kinds: Vec<_> = n.iter().map(|x| x.kind).collect();
        assert_eq!(
            kinds,
            [
                "block-time-repaired",
                "block-time-repaired",
                "interpolation-length-repaired"
            ]
        );
        assert!(n.as_slice()[0].message.contains("contracted"), "{:?}", n.as_slice()[0]);
        assert!(
            n.as_slice()[0]
                .message
                .contains("was 00:00:00.01067, now 00:00:00.01066")
        );
        assert!(n.as_slice()[1].message.contains("expanded"));
        assert_eq!(p[0].end, Some(t("0.01066")));
        assert_eq!(p[1].ramp_end, Some(t("0.015868")));
        assert_eq!(p[2].clamped_interpolation, Some(t("0.00002")));
        assert_eq!(p[2].ramp_end, Some(t("0.02136")));

        let blocks = [
            block(1, Some("0"), Some("0.5"), None),
            block(2, Some("0.4"), Some("0.5"), None),
        ];
        let (p, _) = run(&blocks, &obj("0", None));
        match p.err().unwrap() {
            SceneError::BlockTiming {
                block, problem, line, ..
            } => {
                assert_eq!(block, "AB_00031001_00000002");
                assert_eq!(problem, TimingProblem::Overlap);
                assert_eq!(line, 12);
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn untimed_blocks_span_the_object() {
        let (p, _) = run(&[block(1, None, None, None)], &obj("0.5", Some("2")));
        let p = p.unwrap();
        assert_eq!((p[0].start, p[0].end), (t("0.5"), Some(t("2.5"))));
        let (p, _) = run(&[block(1, None, None, None)], &obj("0", None));
        assert_eq!(p.unwrap()[0].end, None);
        let (p, _) = run(
            &[block(1, None, None, None), block(2, None, None, None)],
            &obj("0", None),
        );
        assert!(matches!(
            p.err().unwrap(),
            SceneError::BlockTiming {
                problem: TimingProblem::Overlap,
                ..
            }
        ));
    }

    #[test]
    fn half_timed_blocks() {
        let blocks = [
            block(1, Some("0"), None, None),
            block(2, Some("3"), None, None),
            block(3, Some("6"), None, None),
        ];
        let (p, n) = run(&blocks, &obj("0", Some("10")));
        let p = p.unwrap();
        assert_eq!(n.len(), 3);
        assert_eq!(p[0].end, Some(t("3")));
        assert_eq!(p[2].end, Some(t("10")));
        assert_eq!(p[1].ramp_end, Some(t("6")));
        let (p, _) = run(&blocks, &obj("0", None));
        assert!(matches!(
            p.err().unwrap(),
            SceneError::BlockTiming {
                problem: TimingProblem::RtimeWithoutDuration,
                ..
            }
        ));
        let mut o = obj("1", None);
        o.timeline_end = Some((t("11"), "programme"));
        let (p, n) = run(&blocks, &o);
        assert_eq!(p.unwrap()[2].end, Some(t("11")));
        assert!(
            n.as_slice()[2].message.contains("the end of the programme"),
            "{:?}",
            n.as_slice()[2]
        );
        o.timeline_end = Some((t("7"), "audio"));
        assert!(run(&blocks, &o).0.is_err());
        let blocks = [block(1, Some("4"), None, None), block(2, Some("3"), Some("1"), None)];
        let (p, _) = run(&blocks, &obj("0", None));
        assert!(matches!(
            p.err().unwrap(),
            SceneError::BlockTiming {
                problem: TimingProblem::NegativeDuration,
                ..
            }
        ));
        let (p, n) = run(&[block(1, None, Some("0.5"), None)], &obj("0", None));
        assert_eq!(p.unwrap()[0].end, Some(t("0.5")));
        assert_eq!(n.len(), 1);
    }

    #[test]
    fn block_after_object_end() {
        let (p, _) = run(&[block(1, Some("0"), Some("2"), None)], &obj("0", Some("1")));
        assert!(matches!(
            p.err().unwrap(),
            SceneError::BlockTiming {
                problem: TimingProblem::EndsAfterObject,
                ..
            }
        ));
        let (p, n) = run(&[block(1, Some("0"), Some("1.00001"), None)], &obj("0", Some("1")));
        assert_eq!(p.unwrap()[0].end, Some(t("1")));
        assert_eq!(n.len(), 1);
    }
}
