//! An Objects item's blocks as the render needs them: a window that moves
//! along the timeline. Blocks of a file read with
//! [`crate::adm::stream::read_document`] stay in the file; [`ObjectBlocks`]
//! reads them with a [`BlockCursor`], places them with the same
//! [`Placer`] as whole channels, and holds only the blocks from the one
//! before the current chunk to the first one after it. So a two-hour
//! master's automation costs what one chunk's does.
//!
//! Protocol (see `crate::render`): before each chunk `[c0, c1)` the render
//! calls [`ObjectBlocks::feed`] (hold every block that starts before `c1`,
//! and the one after); the engines index blocks by their absolute number
//! (blocks before [`ObjectBlocks::first_index`] were dropped — an engine
//! that has not reached them skips them, which only happens when a render
//! starts late: they end before its first chunk); after the chunk it calls
//! [`ObjectBlocks::release`] (drop the blocks every engine has entered).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::adm::elements::{BlockFormat, BlockKind, ObjectBlock, PositionOffset, TypeDefinition};
use crate::adm::stream::{BlockCursor, DeferredBlocks, XmlSource};
use crate::notice::{Notice, Notices};
use crate::time::Time;

use super::timing::{BlockInfo, ObjectTiming, Placed, Placer};
use super::{BlockSummary, SceneError, TimedBlock};

/// What an Objects item's stream is made from (kept to start it again).
#[derive(Clone, Debug)]
pub(crate) struct StreamSpec {
    pub source: XmlSource,
    pub span: DeferredBlocks,
    pub channel_id: String,
    pub item_id: String,
    pub timing: ObjectTiming,
    pub rate: u32,
    pub offset: Option<PositionOffset>,
}

/// An Objects block made ready for the renderer: interpolation length as
/// clamped by the placer, the audioObject's positionOffset applied.
/// Returns the block and whether the offset was in the other coordinate
/// system (not applied).
pub(crate) fn object_block(
    b: BlockFormat,
    p: Placed,
    offset: Option<&PositionOffset>,
) -> Option<(TimedBlock<ObjectBlock>, bool)> {
    let BlockKind::Objects(mut ob) = b.kind else {
        return None;
    };
    if let Some(il) = p.clamped_interpolation {
        ob.jump_position.interpolation_length = Some(il);
    }
    let ignored = offset.is_some_and(|off| !super::build::apply_offset(&mut ob.position, off));
    Some((
        TimedBlock {
            id: b.id,
            start: p.start,
            end: p.end,
            ramp_end: p.ramp_end,
            block: ob,
        },
        ignored,
    ))
}

/// `position-offset-ignored`: an audioObject's positionOffset in the other
/// coordinate system than its channel's blocks.
pub(crate) fn offset_ignored_notice(notices: &mut Notices, item: &str, object: &str, channel: &str) {
    notices.add(
        "position-offset-ignored",
        item,
        format!(
            "the positionOffset of {object} is in the other coordinate system than the blocks of {channel}: not applied"
        ),
    );
}

/// `head-locked-not-supported` for a channel whose blocks are headLocked.
pub(crate) fn head_locked_notice(notices: &mut Notices, item: &str, channel: &str) {
    notices.add(
        "head-locked-not-supported",
        item,
        format!("blocks of {channel} are headLocked; admix renders them as if they were not"),
    );
}

/// Reads, places and prepares one item's blocks, in order.
struct ObjectStream {
    spec: Arc<StreamSpec>,
    cursor: BlockCursor,
    placer: Option<Placer<BlockFormat>>,
    ready: VecDeque<(BlockFormat, Placed)>,
    finished: bool,
    offset_ignored: bool,
    head_locked: bool,
}

impl ObjectStream {
    fn new(spec: Arc<StreamSpec>) -> ObjectStream {
        let cursor = BlockCursor::new(
            spec.source.clone(),
            &spec.span,
            TypeDefinition::Objects,
            &spec.channel_id,
        );
        ObjectStream {
            spec,
            cursor,
            placer: None,
            ready: VecDeque::new(),
            finished: false,
            offset_ignored: false,
            head_locked: false,
        }
    }

    fn next_block(&mut self, notices: &mut Notices) -> Result<Option<TimedBlock<ObjectBlock>>, SceneError> {
        loop {
            if let Some((b, p)) = self.ready.pop_front() {
                let Some((tb, ignored)) = object_block(b, p, self.spec.offset.as_ref()) else {
                    continue;
                };
                self.note(&tb, ignored, notices);
                return Ok(Some(tb));
            }
            if self.finished {
                return Ok(None);
            }
            let block = self.cursor.next_block().map_err(SceneError::Adm);
            notices.extend(self.cursor.take_notices());
            match block? {
                Some(b) => {
                    let jump = match &b.kind {
                        BlockKind::Objects(o) => Some(o.jump_position),
                        _ => None,
                    };
                    let info = BlockInfo::of(&b, jump);
                    if self.placer.is_none() {
                        self.placer = Some(Placer::new(self.spec.timing.clone(), self.spec.rate, &info)?);
                    }
                    if let Some(p) = self.placer.as_mut() {
                        p.push(info, b, notices, &mut self.ready)?;
                    }
                }
                None => {
                    self.finished = true;
                    if let Some(p) = self.placer.as_mut() {
                        p.finish(notices, &mut self.ready)?;
                    }
                }
            }
        }
    }

    /// Before the first block is read: leaves unread the blocks that end
    /// by `t` (absolute, as placed blocks' times) but the last two (see
    /// [`BlockCursor::skip_ended`]); returns how many.
    fn skip_before(&mut self, t: Time) -> Result<usize, SceneError> {
        if self.placer.is_some() || !self.ready.is_empty() || self.finished {
            return Ok(0);
        }
        // block times are relative to the audioObject's start
        let Some(t) = t.checked_sub(self.spec.timing.start).filter(|t| *t > Time::ZERO) else {
            return Ok(0);
        };
        self.cursor
            .skip_ended(|rtime, duration| rtime.checked_add(duration).is_some_and(|end| end <= t))
            .map_err(SceneError::Adm)
    }

    /// The notices the whole-channel path gives once per item.
    fn note(&mut self, b: &TimedBlock<ObjectBlock>, ignored: bool, notices: &mut Notices) {
        let spec = &self.spec;
        if ignored && !self.offset_ignored {
            self.offset_ignored = true;
            offset_ignored_notice(notices, &spec.item_id, &spec.timing.object, &spec.channel_id);
        }
        if b.block.head_locked && !self.head_locked {
            self.head_locked = true;
            head_locked_notice(notices, &spec.item_id, &spec.channel_id);
        }
    }
}

/// An Objects item's blocks, numbered 0 .. [`Self::len`]: all of them in
/// memory, or a window of them streamed from the ADM source during a render
/// (through a [`BlockFeed`]).
#[derive(Clone)]
pub struct ObjectBlocks {
    /// Number of `held[0]`.
    first: usize,
    held: VecDeque<TimedBlock<ObjectBlock>>,
    total: usize,
    /// Where a streamed item's blocks come from.
    spec: Option<Arc<StreamSpec>>,
    /// The first block (kept: inspect and the binaural engine ask for it).
    head: Option<Box<TimedBlock<ObjectBlock>>>,
    /// Most blocks held at once.
    peak: usize,
    /// Blocks the last render left unread (they end before it starts).
    skipped: usize,
}

impl std::fmt::Debug for ObjectBlocks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectBlocks")
            .field("first", &self.first)
            .field("held", &self.held.len())
            .field("total", &self.total)
            .field("streamed", &self.spec.is_some())
            .finish_non_exhaustive()
    }
}

impl PartialEq for ObjectBlocks {
    /// Equal when they hold the same blocks at the same numbers (for tests of
    /// in-memory scenes).
    fn eq(&self, other: &Self) -> bool {
        self.first == other.first && self.total == other.total && self.held == other.held
    }
}

impl FromIterator<TimedBlock<ObjectBlock>> for ObjectBlocks {
    fn from_iter<I: IntoIterator<Item = TimedBlock<ObjectBlock>>>(iter: I) -> Self {
        ObjectBlocks::from_vec(iter.into_iter().collect())
    }
}

impl std::ops::Index<usize> for ObjectBlocks {
    type Output = TimedBlock<ObjectBlock>;
    /// Block number `i`, which must be held (the render feeds the window
    /// before each chunk; see the module docs).
    fn index(&self, i: usize) -> &Self::Output {
        match i.checked_sub(self.first).and_then(|k| self.held.get(k)) {
            Some(b) => b,
            None => panic!(
                "block {i} of an Objects item is not held (held: {}..{}): the render must feed the block window",
                self.first,
                self.first + self.held.len()
            ),
        }
    }
}

impl ObjectBlocks {
    /// Blocks held in memory from the start.
    pub fn from_vec(blocks: Vec<TimedBlock<ObjectBlock>>) -> ObjectBlocks {
        ObjectBlocks {
            first: 0,
            total: blocks.len(),
            head: blocks.first().cloned().map(Box::new),
            peak: blocks.len(),
            skipped: 0,
            held: blocks.into(),
            spec: None,
        }
    }

    /// Blocks streamed from `spec`'s source. The first one is read now (its
    /// errors are the scene's, and the scene knows its first block); the
    /// window is empty until a render feeds it.
    pub(crate) fn streamed(spec: StreamSpec, notices: &mut Notices) -> Result<ObjectBlocks, SceneError> {
        let spec = Arc::new(spec);
        let head = ObjectStream::new(spec.clone()).next_block(notices)?.map(Box::new);
        Ok(ObjectBlocks {
            first: 0,
            held: VecDeque::new(),
            total: spec.span.count,
            spec: Some(spec),
            head,
            peak: 0,
            skipped: 0,
        })
    }

    /// Number of blocks (held or not).
    pub fn len(&self) -> usize {
        self.total
    }
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
    /// The first block of the item, whether held or not.
    pub fn first(&self) -> Option<&TimedBlock<ObjectBlock>> {
        self.head.as_deref()
    }
    /// Number of the first block held.
    pub fn first_index(&self) -> usize {
        self.first
    }
    /// Block `i` if it is held.
    pub fn get(&self, i: usize) -> Option<&TimedBlock<ObjectBlock>> {
        self.held.get(i.checked_sub(self.first)?)
    }
    /// The blocks held now, in order.
    pub fn held(&self) -> impl Iterator<Item = &TimedBlock<ObjectBlock>> {
        self.held.iter()
    }
    /// Most blocks held at once so far.
    pub fn peak_held(&self) -> usize {
        self.peak
    }
    /// Blocks the last render left unread because they end before it starts.
    pub fn skipped(&self) -> usize {
        self.skipped
    }
    /// True when the blocks are read from the source as the render goes.
    pub fn is_streamed(&self) -> bool {
        self.spec.is_some()
    }

    /// Empties the window before a render reads the blocks from the start.
    fn reset(&mut self) {
        if self.spec.is_some() {
            self.first = 0;
            self.held.clear();
            self.skipped = 0;
        }
    }

    fn first_sample(b: &TimedBlock<ObjectBlock>, rate: u32) -> i64 {
        b.start.to_sample_ceil(rate)
    }

    /// Before the chunk `[c0, c1)` (samples): hold every block that starts
    /// before `c1` and the first one that starts at or after it, taking them
    /// from `ahead`. Blocks that end before `c0` and are followed by another
    /// such block are dropped as they come (a render that starts late does
    /// not hold what comes before it).
    fn feed(&mut self, ahead: &mut Ahead, c0: i64, c1: i64, rate: u32) -> Result<(), SceneError> {
        let ends_before = |b: &TimedBlock<ObjectBlock>| b.end.is_some_and(|e| e.to_sample_ceil(rate) <= c0);
        // the blocks left unread come first: the first one read is number `skipped`
        if self.held.is_empty() && self.first < ahead.skipped {
            self.first = ahead.skipped;
            self.skipped = ahead.skipped;
        }
        loop {
            if let Some(last) = self.held.back()
                && Self::first_sample(last, rate) >= c1
            {
                return Ok(());
            }
            let Some(b) = ahead.next(rate)? else {
                return Ok(());
            };
            self.held.push_back(b);
            self.peak = self.peak.max(self.held.len());
            // keep one block ending before c0: it is the gains the next one ramps from
            while self.held.len() >= 2 && ends_before(&self.held[0]) && ends_before(&self.held[1]) {
                self.held.pop_front();
                self.first += 1;
            }
        }
    }

    /// After the chunk ending at `c1`: drop the blocks every engine has
    /// entered (those that start before `c1`), keeping the last of them.
    pub fn release(&mut self, c1: i64, rate: u32) {
        if self.spec.is_none() {
            return;
        }
        while self.held.len() >= 2 && Self::first_sample(&self.held[1], rate) < c1 {
            self.held.pop_front();
            self.first += 1;
        }
    }

    /// Every block of the item, read again from the start (tests and tools;
    /// a render never holds them all). Notices of the blocks go to `notices`.
    pub fn read_all(&self, notices: &mut Notices) -> Result<Vec<TimedBlock<ObjectBlock>>, SceneError> {
        let Some(spec) = &self.spec else {
            return Ok(self.held.iter().cloned().collect());
        };
        let mut stream = ObjectStream::new(spec.clone());
        let mut v = Vec::with_capacity(self.total);
        while let Some(b) = stream.next_block(notices)? {
            v.push(b);
        }
        Ok(v)
    }

    /// Reads a streamed item's blocks to the end without holding them
    /// (`inspect`): count, start of the first, end of the last.
    pub fn scan(&self, notices: &mut Notices) -> Result<BlockSummary, SceneError> {
        let Some(spec) = &self.spec else {
            return Ok(BlockSummary {
                count: self.total,
                start: self.head.as_ref().map(|b| b.start),
                end: self.held.back().map(|b| b.end),
            });
        };
        let mut stream = ObjectStream::new(spec.clone());
        let (mut n, mut start, mut end) = (0, None, None);
        while let Some(b) = stream.next_block(notices)? {
            n += 1;
            start.get_or_insert(b.start);
            end = Some(b.end);
        }
        Ok(BlockSummary { count: n, start, end })
    }
}

/// Blocks of one streamed item read ahead of the render.
///
/// The notices raised while reading a block travel with it and are handed
/// out when the render takes the block (those of the end of the item, or
/// of an error, with the end or the error). So which notices a chunk
/// reports, and in which order, does not depend on how far ahead the
/// reading ran: a render's notices are the same whatever the threads did.
struct Ahead {
    item: usize,
    stream: ObjectStream,
    queue: VecDeque<(TimedBlock<ObjectBlock>, Vec<Notice>)>,
    /// The notices of the read that found the end, or the error.
    last: Vec<Notice>,
    /// Notices of the blocks taken, for the feed to collect.
    taken: Vec<Notice>,
    /// An error met while reading ahead: given when the render reaches it.
    err: Option<SceneError>,
    done: bool,
    /// Blocks left unread at the start (see [`BlockFeed::start_at`]).
    skipped: usize,
}

impl Ahead {
    /// Reads until the last block read starts at or after sample `until`.
    fn fill(&mut self, until: i64, rate: u32) {
        while !self.done && self.err.is_none() {
            if self
                .queue
                .back()
                .is_some_and(|(b, _)| ObjectBlocks::first_sample(b, rate) >= until)
            {
                return;
            }
            let mut notices = Notices::default();
            match self.stream.next_block(&mut notices) {
                Ok(Some(b)) => self.queue.push_back((b, notices.into_vec())),
                Ok(None) => {
                    self.done = true;
                    self.last = notices.into_vec();
                }
                Err(e) => {
                    self.err = Some(e);
                    self.last = notices.into_vec();
                }
            }
        }
    }

    /// The next block: read ahead, else read now.
    fn next(&mut self, rate: u32) -> Result<Option<TimedBlock<ObjectBlock>>, SceneError> {
        if self.queue.is_empty() {
            self.fill(i64::MIN, rate);
        }
        if let Some((b, notices)) = self.queue.pop_front() {
            self.taken.extend(notices);
            return Ok(Some(b));
        }
        self.taken.append(&mut self.last);
        match self.err.take() {
            Some(e) => Err(e),
            None => Ok(None),
        }
    }
}

/// The streamed items' block readers for one render (see
/// [`super::Scene::block_feed`]). [`BlockFeed::read_ahead`] may run on
/// another thread while the render feeds chunks from it: each item's
/// reader is locked only while one of them uses it.
pub struct BlockFeed {
    items: Vec<Mutex<Ahead>>,
    rate: u32,
    /// The render's notices about its blocks (after the scene's own: not
    /// repeated, at most so many of a kind).
    notices: Mutex<Notices>,
}

/// The item's reader, even if a thread panicked while holding it (the
/// render then fails with that panic anyway).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl BlockFeed {
    pub(crate) fn new(items: &mut [super::RenderItem], rate: u32, seen: &[crate::notice::Notice]) -> BlockFeed {
        let mut ahead = Vec::new();
        for (i, it) in items.iter_mut().enumerate() {
            if let super::ItemKind::Object { blocks } = &mut it.kind
                && let Some(spec) = &blocks.spec
            {
                ahead.push(Mutex::new(Ahead {
                    item: i,
                    stream: ObjectStream::new(spec.clone()),
                    queue: VecDeque::new(),
                    last: Vec::new(),
                    taken: Vec::new(),
                    err: None,
                    done: false,
                    skipped: 0,
                }));
                blocks.reset();
            }
        }
        BlockFeed {
            items: ahead,
            rate,
            notices: Mutex::new(Notices::after(seen)),
        }
    }

    /// The notices of the blocks fed so far (taken).
    pub fn take_notices(&mut self) -> Vec<crate::notice::Notice> {
        let fresh = Notices::after(&[]);
        let notices = self
            .notices
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(notices, fresh).into_vec()
    }

    /// True when no item is streamed (nothing to feed).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Before anything is read: a render that starts at sample `first`
    /// leaves unread each item's blocks that end by then (but the two
    /// before the first it needs), reading only their start tags. A read
    /// error is kept for when the render reaches that item.
    pub fn start_at(&self, first: i64) {
        let Some(t) = Time::new(first, i64::from(self.rate)) else {
            return;
        };
        use rayon::prelude::*;
        // (the items' reads are independent: across the cores)
        self.items.par_iter().for_each(|a| {
            let mut a = lock(a);
            match a.stream.skip_before(t) {
                Ok(n) => a.skipped = n,
                Err(e) => a.err = Some(e),
            }
        });
    }

    /// Reads every item's blocks up to the first one starting at or after
    /// sample `until` (errors are kept for when the render reaches them).
    pub fn read_ahead(&self, until: i64) {
        for a in &self.items {
            lock(a).fill(until, self.rate);
        }
    }

    /// Before the chunk `[c0, c1)`: fills each streamed item's window.
    pub(crate) fn feed(&self, items: &mut [super::RenderItem], c0: i64, c1: i64) -> Result<(), SceneError> {
        let rate = self.rate;
        for a in &self.items {
            let mut a = lock(a);
            let r = match items.get_mut(a.item).map(|it| &mut it.kind) {
                Some(super::ItemKind::Object { blocks }) => blocks.feed(&mut a, c0, c1, rate),
                _ => Ok(()),
            };
            lock(&self.notices).extend(a.taken.drain(..));
            r?;
        }
        Ok(())
    }
}
