//! Reading a long master's ADM without holding its automation: memory grows
//! with the number of channels, not with the number of blocks.
//!
//! A two-hour, 128-object Pro Tools master writes ~27 audioBlockFormats per
//! object per second: tens of millions of blocks, gigabytes of XML. Parsing
//! all of it into memory before the first sample is rendered makes memory
//! grow with the programme's length. Instead:
//!
//! 1. [`read_document`] streams the XML once through a small lexer
//!    ([`Lexer`]-style functions below, aware of comments, CDATA, PIs and
//!    quoted attributes) and copies everything except the audioBlockFormat
//!    elements of each audioChannelFormat into a *skeleton* text, recording
//!    for each channel where its blocks are ([`DeferredBlocks`]: the byte
//!    range from the first block to the end of the last, their count and
//!    line). The skeleton is parsed by [`super::xml`] as usual (messages keep
//!    the original file's line numbers). Objects channels keep their blocks
//!    in the source; the few blocks of other channels are read back at once.
//! 2. During the render, one [`BlockCursor`] per Objects item reads its
//!    channel's range in small pieces and parses whole audioBlockFormats as
//!    the timeline reaches them (the scene's block stream, see
//!    `crate::scene::ObjectBlocks`). A render that starts later in the file
//!    first passes over the blocks that end before it, reading only their
//!    start tags' times ([`BlockCursor::skip_ended`]).
//!
//! Errors inside blocks are therefore found when the render reaches them; they
//! name the file, the line and the element like every other ADM error, and a
//! failed render leaves no output (outputs are written atomically).

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::sync::Arc;

use serde::Serialize;

use super::elements::{BlockFormat, TypeDefinition};
use super::xml::{self, BlockState, Deferred};
use super::{AdmError, AdmErrorKind, Document, Location};
use crate::notice::Notice;
use crate::time::Time;

/// Bytes read from the source at a time.
const READ: usize = 1 << 20;
/// Bytes a block cursor reads at a time (doubled while one block does not fit).
const CURSOR_READ: usize = 32 << 10;
/// Whitespace and comments held between two cut blocks before the run of
/// cut blocks is ended and they are copied to the skeleton.
const MAX_PENDING: usize = 64 << 10;
/// Largest skeleton text (the ADM without its Objects automation).
const MAX_SKELETON: usize = 1 << 30;

/// Positioned reads from something shared by every block cursor of a render.
pub trait ReadAt: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset`; 0 only at the end.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize>;
}

impl ReadAt for File {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_at(self, buf, offset)
        }
        #[cfg(windows)]
        {
            std::os::windows::fs::FileExt::seek_read(self, buf, offset)
        }
    }
}

impl ReadAt for Vec<u8> {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.len());
        let src = self.get(start..).unwrap_or_default();
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }
}

/// Where an ADM XML text is: `len` bytes at `offset` of `bytes` (an `axml`
/// chunk inside a BW64 file, a whole `.xml` file, or text in memory).
#[derive(Clone)]
pub struct XmlSource {
    pub bytes: Arc<dyn ReadAt>,
    pub offset: u64,
    pub len: u64,
    /// Names the text in messages, e.g. `master.wav (axml)`.
    pub name: String,
}

impl std::fmt::Debug for XmlSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XmlSource")
            .field("name", &self.name)
            .field("offset", &self.offset)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl XmlSource {
    /// A text held in memory.
    pub fn from_text(text: impl Into<String>, name: impl Into<String>) -> XmlSource {
        let bytes: Vec<u8> = text.into().into_bytes();
        XmlSource {
            len: bytes.len() as u64,
            bytes: Arc::new(bytes),
            offset: 0,
            name: name.into(),
        }
    }

    /// Reads exactly `buf.len()` bytes at `at` (relative to the text).
    fn read_exact(&self, at: u64, buf: &mut [u8]) -> Result<(), AdmError> {
        let mut got = 0;
        while got < buf.len() {
            let n = self
                .bytes
                .read_at(self.offset + at + got as u64, &mut buf[got..])
                .map_err(|e| self.read_error(format!("cannot read at byte {}: {e}", at + got as u64)))?;
            if n == 0 {
                return Err(self.read_error(format!(
                    "the text ends at byte {} of {}: the file is shorter than its header says",
                    at + got as u64,
                    self.len
                )));
            }
            got += n;
        }
        Ok(())
    }

    fn read_error(&self, message: String) -> AdmError {
        AdmErrorKind::Xml {
            at: Location {
                file: self.name.clone(),
                line: 0,
                column: 0,
            },
            message,
        }
        .into()
    }
}

/// Where an audioChannelFormat's audioBlockFormats are in its [`XmlSource`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeferredBlocks {
    /// Byte range from the first block's `<` to the last block's `>`
    /// (relative to the text; other elements inside it are skipped).
    pub start: u64,
    pub end: u64,
    /// How many audioBlockFormat elements the range holds.
    pub count: usize,
    /// Line of `start` in the text.
    pub line: u32,
}

// ---- a lexer that only finds element boundaries ----------------------------

/// One lexical unit of XML.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Text,
    /// `<name …>` / `<name …/>`; `name` is the byte range of the qualified name.
    Start {
        name: (usize, usize),
        empty: bool,
    },
    End {
        name: (usize, usize),
    },
    /// Comment, CDATA section, processing instruction, declaration.
    Other,
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay.get(from..)?, needle).map(|p| p + from)
}

/// The token at `buf[i..]` and the offset just after it; `None` when `buf`
/// ends inside it and more bytes may come (`eof` false). At the end of the
/// text an unterminated token runs to the end (the XML parser reports it).
fn lex(buf: &[u8], i: usize, eof: bool) -> Option<(Tok, usize)> {
    let rest = buf.get(i..)?;
    let first = *rest.first()?;
    let more = |tok| if eof { Some((tok, buf.len())) } else { None };
    if first != b'<' {
        let end = memchr::memchr(b'<', rest).map_or(buf.len(), |p| i + p);
        return Some((Tok::Text, end));
    }
    let closing = |needle: &[u8], from: usize| find(buf, i + from, needle).map(|p| (Tok::Other, p + needle.len()));
    match rest.get(1) {
        None if !eof => return None,
        Some(b'!') => {
            if rest.len() < 9
                && !eof
                && (b"<!--".starts_with(&rest[..rest.len().min(4)]) || b"<![CDATA[".starts_with(rest))
            {
                return None; // cannot tell which yet
            }
            if rest.starts_with(b"<!--") {
                return closing(b"-->", 4).or_else(|| more(Tok::Other));
            }
            if rest.starts_with(b"<![CDATA[") {
                return closing(b"]]>", 9).or_else(|| more(Tok::Other));
            }
            // <!DOCTYPE …> with an optional [internal subset]
            let mut depth = 0i32;
            for (k, &b) in rest.iter().enumerate().skip(2) {
                match b {
                    b'[' => depth += 1,
                    b']' => depth -= 1,
                    b'>' if depth <= 0 => return Some((Tok::Other, i + k + 1)),
                    _ => {}
                }
            }
            return more(Tok::Other);
        }
        Some(b'?') => return closing(b"?>", 2).or_else(|| more(Tok::Other)),
        _ => {}
    }
    let end_tag = rest.get(1) == Some(&b'/');
    let name_start = i + if end_tag { 2 } else { 1 };
    let name_end = buf
        .get(name_start..)
        .and_then(|r| {
            r.iter()
                .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
        })
        .map_or(buf.len(), |p| name_start + p);
    let name = (name_start, name_end);
    // the closing '>', skipping quoted attribute values
    let mut k = name_end;
    loop {
        let Some(p) = buf.get(k..).and_then(|r| memchr::memchr3(b'>', b'"', b'\'', r)) else {
            return more(Tok::Other);
        };
        k += p;
        let b = buf[k];
        if b == b'>' {
            let tok = if end_tag {
                Tok::End { name }
            } else {
                Tok::Start {
                    name,
                    empty: k > name_end && buf[k - 1] == b'/',
                }
            };
            return Some((tok, k + 1));
        }
        match buf.get(k + 1..).and_then(|r| memchr::memchr(b, r)) {
            Some(q) => k += 1 + q + 1,
            None => return more(Tok::Other),
        }
    }
}

/// The local name (prefix dropped) of a name range.
fn local_name(buf: &[u8], (a, b): (usize, usize)) -> &[u8] {
    let name = buf.get(a..b).unwrap_or_default();
    match name.iter().rposition(|&c| c == b':') {
        Some(p) => &name[p + 1..],
        None => name,
    }
}

pub(super) fn newlines(bytes: &[u8]) -> u32 {
    u32::try_from(memchr::memchr_iter(b'\n', bytes).count()).unwrap_or(u32::MAX)
}

/// The value of attribute `key` in start tag `tag` (no entity decoding: IDs
/// have none).
fn attribute<'t>(tag: &'t [u8], key: &[u8]) -> Option<&'t [u8]> {
    let mut from = 0;
    while let Some(p) = find(tag, from, key) {
        from = p + key.len();
        let before_ok = p > 0 && tag.get(p - 1).is_some_and(|b| b.is_ascii_whitespace() || *b == b':');
        let mut k = p + key.len();
        while tag.get(k).is_some_and(u8::is_ascii_whitespace) {
            k += 1;
        }
        if !before_ok || tag.get(k) != Some(&b'=') {
            continue;
        }
        k += 1;
        while tag.get(k).is_some_and(u8::is_ascii_whitespace) {
            k += 1;
        }
        let q = *tag.get(k)?;
        if q != b'"' && q != b'\'' {
            return None;
        }
        let end = tag.get(k + 1..)?.iter().position(|&b| b == q)? + k + 1;
        return tag.get(k + 1..end);
    }
    None
}

/// Offset just after the last complete top-level element (or text) of
/// `buf` (0 when its first element is cut off).
fn complete_prefix(buf: &[u8]) -> usize {
    let (mut i, mut depth, mut last) = (0usize, 0usize, 0usize);
    while let Some((tok, end)) = lex(buf, i, false) {
        match tok {
            Tok::Start { empty: false, .. } => depth += 1,
            Tok::End { .. } => depth = depth.saturating_sub(1),
            Tok::Text if end == buf.len() => break, // the text may go on
            _ => {}
        }
        i = end;
        if depth == 0 {
            last = end;
        }
    }
    last
}

// ---- the skeleton ----------------------------------------------------------

/// The channel being copied, while its blocks are cut out.
struct Channel {
    id: Option<String>,
    span: Option<DeferredBlocks>,
}

/// State of one streaming pass that cuts audioBlockFormats out.
struct Cutter {
    out: Vec<u8>,
    spans: HashMap<String, DeferredBlocks>,
    /// (skeleton offset, lines cut before it)
    removed: Vec<(usize, u32)>,
    removed_lines: u32,
    /// Line at the current token (1-based).
    line: u32,
    channel: Option<Channel>,
    in_block: bool,
    /// Inside a run of cut blocks (between two blocks: whitespace and
    /// comments wait in `pending`).
    run: bool,
    pending: Vec<u8>,
}

impl Cutter {
    fn close_run(&mut self) {
        if self.run {
            self.run = false;
            self.removed.push((self.out.len(), self.removed_lines));
            self.out.append(&mut self.pending);
        }
    }

    /// Takes one token `t` (bytes `buf[a..b]` at text offset `at`).
    fn token(&mut self, buf: &[u8], tok: Tok, a: usize, b: usize, at: u64) {
        let bytes = &buf[a..b];
        let nl = newlines(bytes);
        let is_block = |name| local_name(buf, name) == b"audioBlockFormat";
        if self.in_block {
            self.removed_lines = self.removed_lines.saturating_add(nl);
            if let Tok::End { name } = tok
                && is_block(name)
            {
                self.in_block = false;
                if let Some(s) = self.channel.as_mut().and_then(|c| c.span.as_mut()) {
                    s.end = at + bytes.len() as u64;
                }
            }
            self.line = self.line.saturating_add(nl);
            return;
        }
        let cutting = self.channel.as_ref().is_some_and(|c| c.id.is_some());
        match tok {
            Tok::Start { name, empty } if cutting && is_block(name) => {
                // a block: cut it (and what waited since the previous one)
                self.removed_lines = self.removed_lines.saturating_add(newlines(&self.pending) + nl);
                self.pending.clear();
                self.run = true;
                let line = self.line;
                if let Some(c) = self.channel.as_mut() {
                    let span = c.span.get_or_insert(DeferredBlocks {
                        start: at,
                        end: at,
                        count: 0,
                        line,
                    });
                    span.count += 1;
                    span.end = at + bytes.len() as u64;
                }
                self.in_block = !empty;
            }
            Tok::Text | Tok::Other
                if self.run
                    && (tok == Tok::Other && bytes.starts_with(b"<!--")
                        || bytes.iter().all(u8::is_ascii_whitespace))
                    && self.pending.len() + bytes.len() <= MAX_PENDING =>
            {
                self.pending.extend_from_slice(bytes);
            }
            _ => {
                self.close_run();
                match tok {
                    Tok::Start { name, empty: false } if local_name(buf, name) == b"audioChannelFormat" => {
                        let id = attribute(bytes, b"audioChannelFormatID")
                            .and_then(|v| std::str::from_utf8(v).ok())
                            .map(|v| v.trim().to_owned())
                            .filter(|v| !v.is_empty());
                        self.channel = Some(Channel { id, span: None });
                    }
                    Tok::End { name } if local_name(buf, name) == b"audioChannelFormat" => {
                        if let Some(Channel {
                            id: Some(id),
                            span: Some(s),
                        }) = self.channel.take()
                        {
                            // a second channel with the same ID is refused by
                            // the parser; keep the first one's blocks
                            self.spans.entry(id).or_insert(s);
                        }
                    }
                    _ => {}
                }
                self.out.extend_from_slice(bytes);
            }
        }
        self.line = self.line.saturating_add(nl);
    }
}

/// Where the block whose start tag ends at `buf[i]` ends (just after its end
/// tag) and the newlines in `buf[i..end]`, found in one pass over the bytes
/// rather than token by token. It answers only where the lexer would split
/// the bytes at the same places: every `<` starts a tag (none sits inside a
/// quoted value: no `'` at all, and an even number of `"` since the last
/// `<`), and no comment, CDATA section, processing instruction or
/// declaration comes first. Otherwise, or when `buf` ends first, `None`:
/// the block is then lexed token by token.
fn block_end(buf: &[u8], i: usize) -> Option<(usize, u32)> {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::avx2() {
        // SAFETY: the CPU has AVX2.
        return unsafe { block_end_avx2(buf, i) };
    }
    block_end_from(buf, i, i, 0)
}

/// [`block_end`] a byte of interest at a time, from `k`, with `quotes` `"`
/// seen since the last `<` (the newlines are counted from `i`).
fn block_end_from(buf: &[u8], i: usize, mut k: usize, mut quotes: u32) -> Option<(usize, u32)> {
    loop {
        k += memchr::memchr3(b'<', b'"', b'\'', buf.get(k..)?)?;
        match buf[k] {
            b'"' => quotes += 1,
            b'\'' => return None,
            _ => {
                // '<'
                if quotes % 2 == 1 {
                    return None;
                }
                quotes = 0;
                match *buf.get(k + 1)? {
                    b'!' | b'?' => return None,
                    b'/' => {
                        if let Some(e) = block_end_tag(buf, k)? {
                            return Some((e + 1, newlines(&buf[i..e])));
                        }
                    }
                    _ => {}
                }
            }
        }
        k += 1;
    }
}

/// At an end tag (`</` at `buf[k]`), its name as the lexer delimits it:
/// `Some(Some(e))` when it ends the block, with its `>` at `e`; `Some(None)`
/// for another element's; `None` when `buf` ends first or the block's end
/// tag has something else before its `>` (the lexer reads it then).
fn block_end_tag(buf: &[u8], k: usize) -> Option<Option<usize>> {
    const NAME: &[u8] = b"audioBlockFormat";
    let name_start = k + 2;
    let len = buf
        .get(name_start..)?
        .iter()
        .position(|&c| c.is_ascii_whitespace() || c == b'/' || c == b'>')?;
    let name = &buf[name_start..name_start + len];
    let local = name.iter().rposition(|&c| c == b':').map_or(name, |p| &name[p + 1..]);
    if local != NAME {
        return Some(None);
    }
    let mut e = name_start + len;
    while buf.get(e)?.is_ascii_whitespace() {
        e += 1;
    }
    (buf[e] == b'>').then_some(Some(e))
}

/// The bits of a 32-byte chunk below `p` (all of them for `p` = 32).
#[cfg(target_arch = "x86_64")]
fn below(p: u32) -> u32 {
    1u32.checked_shl(p).map_or(u32::MAX, |b| b - 1)
}

/// [`block_end_from`] 32 bytes at a time: each chunk's `<`, `"`, `'` and
/// newlines found at once as bit masks, then its `<` taken in order as the
/// byte loop takes them (the `"` and `'` before each counted or refused
/// first). The last bytes of `buf`, under 32, go to the byte loop. The
/// answers are the byte loop's (tested).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn block_end_avx2(buf: &[u8], i: usize) -> Option<(usize, u32)> {
    use std::arch::x86_64::*;
    let splat = |b: u8| _mm256_set1_epi8(b as i8);
    let (lt, dq, sq, nl) = (splat(b'<'), splat(b'"'), splat(b'\''), splat(b'\n'));
    let (mut quotes, mut lines) = (0u32, 0u32);
    let mut c = i;
    while c + 32 <= buf.len() {
        // SAFETY: c + 32 ≤ buf.len().
        let v = unsafe { _mm256_loadu_si256(buf.as_ptr().add(c).cast()) };
        let bits = |x: __m256i| _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, x)) as u32;
        let (lts, dqs, sqs, nls) = (bits(lt), bits(dq), bits(sq), bits(nl));
        // the chunk's bits below `from` are taken
        let mut from = 0;
        let mut rest = lts;
        while rest != 0 {
            let p = rest.trailing_zeros();
            rest &= rest - 1;
            let span = below(p) & !below(from);
            if sqs & span != 0 {
                return None;
            }
            quotes += (dqs & span).count_ones();
            if quotes % 2 == 1 {
                return None;
            }
            quotes = 0;
            let k = c + p as usize;
            match *buf.get(k + 1)? {
                b'!' | b'?' => return None,
                b'/' => {
                    if let Some(e) = block_end_tag(buf, k)? {
                        return Some((e + 1, lines + (nls & below(p)).count_ones() + newlines(&buf[k..e])));
                    }
                }
                _ => {}
            }
            from = p + 1;
        }
        let span = !below(from);
        if sqs & span != 0 {
            return None;
        }
        quotes += (dqs & span).count_ones();
        lines += nls.count_ones();
        c += 32;
    }
    block_end_from(buf, i, c, quotes)
}

/// Reads the ADM document of `source` as a skeleton (see the module docs):
/// the document, with Objects channels' blocks left in the source
/// ([`crate::adm::elements::AudioChannelFormat::deferred`]), and the notices.
pub fn read_document(source: &XmlSource) -> Result<(Document, Vec<Notice>), AdmError> {
    let cut = cut_blocks(source, true)?;
    let text = String::from_utf8(cut.out).map_err(|e| {
        source.read_error(format!(
            "the ADM XML is not UTF-8 text (invalid byte at offset {} of the skeleton)",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let deferred = Deferred {
        spans: cut.spans,
        source,
    };
    xml::parse_skeleton(&text, &source.name, &cut.removed, deferred)
}

/// The pass of [`read_document`] that cuts the blocks out; `fast` lets
/// [`block_end`] skip the rest of a block in one step (the tests compare
/// the two ways).
fn cut_blocks(source: &XmlSource, fast: bool) -> Result<Cutter, AdmError> {
    let mut cut = Cutter {
        out: Vec::new(),
        spans: HashMap::new(),
        removed: Vec::new(),
        removed_lines: 0,
        line: 1,
        channel: None,
        in_block: false,
        run: false,
        pending: Vec::new(),
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut base = 0u64; // text offset of buf[0]
    let mut read = 0u64; // bytes of the text read so far
    loop {
        let want = usize::try_from(source.len - read).unwrap_or(usize::MAX).min(READ);
        if want > 0 {
            let old = buf.len();
            buf.resize(old + want, 0);
            source.read_exact(read, &mut buf[old..])?;
            read += want as u64;
        }
        let eof = read >= source.len;
        let mut i = 0;
        if base == 0 && i == 0 && buf.starts_with(b"\xEF\xBB\xBF") {
            i = 3;
        }
        while let Some((tok, end)) = lex(&buf, i, eof) {
            cut.token(&buf, tok, i, end, base + i as u64);
            i = end;
            // the rest of a block just begun, in one step where that is exact
            if fast
                && cut.in_block
                && let Some((e, nl)) = block_end(&buf, i)
            {
                cut.removed_lines = cut.removed_lines.saturating_add(nl);
                cut.line = cut.line.saturating_add(nl);
                cut.in_block = false;
                if let Some(s) = cut.channel.as_mut().and_then(|c| c.span.as_mut()) {
                    s.end = base + e as u64;
                }
                i = e;
            }
        }
        if cut.out.len() > MAX_SKELETON {
            return Err(source.read_error(format!(
                "the ADM without its Objects automation is over {MAX_SKELETON} bytes; admix reads at most that"
            )));
        }
        buf.drain(..i);
        base += i as u64;
        if eof {
            break;
        }
    }
    // a text that ends inside a block: give the parser what was cut so that
    // it reports the truncation where it is
    if cut.in_block || cut.channel.is_some() {
        cut.channel = None;
        cut.in_block = false;
    }
    cut.close_run();
    Ok(cut)
}

// ---- block cursors ---------------------------------------------------------

/// Reads one channel's deferred audioBlockFormats in order, a few kilobytes
/// at a time.
pub struct BlockCursor {
    source: XmlSource,
    channel_id: String,
    type_definition: TypeDefinition,
    /// Next byte to read, end of the range (text offsets).
    pos: u64,
    end: u64,
    /// Line at `buf[0]`.
    line: u32,
    /// Blocks not parsed yet.
    remaining: usize,
    count: usize,
    buf: Vec<u8>,
    ready: VecDeque<BlockFormat>,
    state: BlockState,
}

impl std::fmt::Debug for BlockCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCursor")
            .field("channel", &self.channel_id)
            .field("pos", &self.pos)
            .field("end", &self.end)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl BlockCursor {
    pub fn new(source: XmlSource, span: &DeferredBlocks, type_definition: TypeDefinition, channel_id: &str) -> Self {
        BlockCursor {
            source,
            channel_id: channel_id.to_owned(),
            type_definition,
            pos: span.start,
            end: span.end,
            line: span.line,
            remaining: span.count,
            count: span.count,
            buf: Vec::new(),
            ready: VecDeque::new(),
            state: BlockState::default(),
        }
    }

    /// The next block, `None` after the last.
    pub fn next_block(&mut self) -> Result<Option<BlockFormat>, AdmError> {
        loop {
            if let Some(b) = self.ready.pop_front() {
                return Ok(Some(b));
            }
            if self.pos >= self.end && self.buf.is_empty() {
                if self.remaining != 0 {
                    return Err(self.changed());
                }
                return Ok(None);
            }
            let want = usize::try_from(self.end - self.pos)
                .unwrap_or(usize::MAX)
                .min(CURSOR_READ.max(self.buf.len()));
            let old = self.buf.len();
            self.buf.resize(old + want, 0);
            self.source.read_exact(self.pos, &mut self.buf[old..])?;
            self.pos += want as u64;
            let eof = self.pos >= self.end;
            // the text up to the last whole character (a read may end inside one)
            let text = match std::str::from_utf8(&self.buf) {
                Ok(t) => t,
                Err(e) if e.error_len().is_none() && !eof => {
                    std::str::from_utf8(&self.buf[..e.valid_up_to()]).unwrap_or_default()
                }
                Err(e) => {
                    return Err(self.source.read_error(format!(
                        "the blocks of audioChannelFormat {} are not UTF-8 text (near line {})",
                        self.channel_id,
                        self.line.saturating_add(newlines(&self.buf[..e.valid_up_to()]))
                    )));
                }
            };
            let valid = text.len();
            let before = self.ready.len();
            let parsed = xml::parse_blocks(
                text,
                &self.source.name,
                self.line,
                self.type_definition,
                &self.channel_id,
                &mut self.state,
                &mut self.ready,
            );
            // A read ends inside an element more often than not: the parse
            // fails there, and what follows that element's start is read
            // again with more bytes. An element that is whole and still fails
            // is an error in the file.
            let (used, line) = match parsed {
                Ok(line) => (valid, line),
                Err((_, at, line)) if !eof && complete_prefix(&self.buf[at.min(valid)..valid]) == 0 => {
                    (at.min(valid), line)
                }
                Err((e, ..)) => return Err(e),
            };
            let n = self.ready.len() - before;
            if n > self.remaining {
                return Err(self.changed());
            }
            self.remaining -= n;
            self.line = line;
            self.buf.drain(..used);
        }
    }

    /// Before the first block is read: leaves unread the blocks that a
    /// render starting later does not need, reading of each only its start
    /// tag's `rtime` and `duration` and finding its end as the skeleton pass
    /// does. `ends_by(rtime, duration)` says whether a block ends by the
    /// render's start. The scan stops at the first block that does not (or
    /// whose times are missing, or that holds anything the skeleton's fast
    /// skip does not read: comments, an empty element, …), and reading
    /// resumes two blocks before it: the block before the first one needed
    /// gives the gains that one ramps from, and a block's end may still be
    /// moved to meet the next one. Returns the number of blocks left unread
    /// (so the next one read is that block of the channel).
    ///
    /// The blocks left unread are not checked: a render from later in a file
    /// does not report their notices or errors (`admix inspect` reads them all).
    pub fn skip_ended(&mut self, ends_by: impl Fn(Time, Time) -> bool) -> Result<usize, AdmError> {
        if !self.buf.is_empty() || !self.ready.is_empty() || self.remaining != self.count {
            return Ok(0);
        }
        // start (text offset, line) of the last two blocks scanned
        let mut last = [(self.pos, self.line); 2];
        let mut scanned = 0usize;
        let mut buf: Vec<u8> = Vec::new();
        // text offset and line of buf[i]; next byte to read
        let (mut base, mut line, mut read_to) = (self.pos, self.line, self.pos);
        let time = |tag: &[u8], key: &[u8]| -> Option<Time> {
            let v = attribute(tag, key)?;
            if v.iter().any(|c| matches!(c, b'&' | b'<' | b'\t' | b'\n' | b'\r')) {
                return None;
            }
            Time::parse(std::str::from_utf8(v).ok()?).ok()
        };
        'scan: while scanned < self.remaining {
            let want = usize::try_from(self.end - read_to)
                .unwrap_or(usize::MAX)
                .min(CURSOR_READ.max(buf.len()));
            if want > 0 {
                let old = buf.len();
                buf.resize(old + want, 0);
                self.source.read_exact(read_to, &mut buf[old..])?;
                read_to += want as u64;
            }
            let eof = read_to >= self.end;
            let mut i = 0;
            while scanned < self.remaining {
                let ws = buf[i..].iter().take_while(|c| c.is_ascii_whitespace()).count();
                line = line.saturating_add(newlines(&buf[i..i + ws]));
                i += ws;
                let Some((tok, tag_end)) = lex(&buf, i, eof) else {
                    if eof {
                        break 'scan;
                    }
                    break; // cut by the end of what was read
                };
                let Tok::Start { name, empty: false } = tok else {
                    break 'scan;
                };
                let tag = &buf[i..tag_end];
                if local_name(&buf, name) != b"audioBlockFormat" {
                    break 'scan;
                }
                let (Some(r), Some(d)) = (time(tag, b"rtime"), time(tag, b"duration")) else {
                    break 'scan;
                };
                if !ends_by(r, d) {
                    break 'scan;
                }
                let Some((e, _)) = block_end(&buf, tag_end) else {
                    if eof {
                        break 'scan;
                    }
                    break;
                };
                last = [last[1], (base + i as u64, line)];
                scanned += 1;
                line = line.saturating_add(newlines(&buf[i..e]));
                i = e;
            }
            buf.drain(..i);
            base += i as u64;
            if eof {
                break;
            }
        }
        let skip = scanned.saturating_sub(2);
        if skip > 0 {
            (self.pos, self.line) = last[0];
            self.remaining -= skip;
        }
        Ok(skip)
    }

    /// Notices from the blocks read so far (taken).
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.state.notices).into_vec()
    }

    fn changed(&self) -> AdmError {
        self.source.read_error(format!(
            "audioChannelFormat {} had {} audioBlockFormats when the file was opened and now has {}: \
             the file changed while it was read",
            self.channel_id,
            self.count,
            self.count - self.remaining
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adm::elements::BlockKind;

    fn channel(id: &str, blocks: &str) -> String {
        format!(
            "<audioChannelFormat audioChannelFormatID=\"{id}\" audioChannelFormatName=\"c\" typeDefinition=\"Objects\">{blocks}</audioChannelFormat>"
        )
    }

    fn block(ch: &str, n: u32, az: f64) -> String {
        format!(
            "\n  <audioBlockFormat audioBlockFormatID=\"AB_{}_{n:08x}\" rtime=\"00:{:02}:{:02}.00000\" duration=\"00:00:01.00000\">\n    <position coordinate=\"azimuth\">{az}</position><position coordinate=\"elevation\">0</position>\n  </audioBlockFormat>",
            &ch[3..11],
            n / 60,
            n % 60
        )
    }

    fn doc(channels: &str) -> String {
        format!(
            "\u{feff}<?xml version=\"1.0\"?>\n<ebuCoreMain><coreMetadata><format><audioFormatExtended>\n\
             <audioObject audioObjectID=\"AO_1001\" audioObjectName=\"o\"><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef></audioObject>\n\
             <audioPackFormat audioPackFormatID=\"AP_00031001\" audioPackFormatName=\"p\" typeDefinition=\"Objects\"><audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef><audioChannelFormatIDRef>AC_00031002</audioChannelFormatIDRef></audioPackFormat>\n\
             {channels}\n</audioFormatExtended></format></coreMetadata></ebuCoreMain>\n\0\0"
        )
    }

    fn all(source: &XmlSource, d: &Document, id: &str) -> Vec<BlockFormat> {
        let c = d.channel(id).unwrap();
        let mut cur = BlockCursor::new(source.clone(), c.deferred.as_ref().unwrap(), c.type_definition, id);
        let mut v = Vec::new();
        while let Some(b) = cur.next_block().unwrap() {
            v.push(b);
        }
        v
    }

    /// The deferred blocks equal what the whole-document parser reads, with
    /// the same lines, whatever is between them (comments with markup,
    /// CDATA, a frequency element between two blocks, prefixes).
    #[test]
    fn deferred_blocks_equal_the_whole_parse() {
        let b1: String = (1..=9).map(|n| block("AC_00031001", n, f64::from(n) * 10.0)).collect();
        let mut b2 = String::new();
        for n in 1..=6 {
            b2.push_str(&block("AC_00031002", n, -f64::from(n)));
            if n == 2 {
                b2.push_str("\n<!-- <audioBlockFormat> in a comment --><![CDATA[ </audioBlockFormat> ]]>");
            }
            if n == 4 {
                b2.push_str("\n<frequency typeDefinition=\"lowPass\">120</frequency>");
            }
        }
        let text = doc(&format!(
            "{}\n{}",
            channel("AC_00031001", &b1),
            channel("AC_00031002", &b2)
        ));
        let (whole, _) = xml::parse(&text, "t.xml").unwrap();
        // read from a source where the text sits after other bytes
        let mut bytes = b"RIFF....junk".to_vec();
        bytes.extend_from_slice(text.as_bytes());
        let source = XmlSource {
            len: text.len() as u64,
            bytes: Arc::new(bytes),
            offset: 12,
            name: "t.xml".into(),
        };
        let (sk, _) = read_document(&source).unwrap();
        for id in ["AC_00031001", "AC_00031002"] {
            let c = sk.channel(id).unwrap();
            assert!(c.blocks.is_empty());
            let deferred = all(&source, &sk, id);
            assert_eq!(deferred, whole.channel(id).unwrap().blocks, "{id}");
            assert_eq!(c.origin, whole.channel(id).unwrap().origin);
        }
        assert_eq!(sk.channel("AC_00031002").unwrap().frequency.low_pass, Some(120.0));
        assert_eq!(
            sk.object("AO_1001").unwrap().origin,
            whole.object("AO_1001").unwrap().origin
        );
        // the cursor reads in pieces: a block larger than one piece still parses
        let big = format!(
            "<audioBlockFormat audioBlockFormatID=\"AB_00031001_00000001\"><position coordinate=\"azimuth\">1</position><position coordinate=\"elevation\">0</position><!--{}--></audioBlockFormat>",
            "x".repeat(3 * CURSOR_READ)
        );
        let text = doc(&(channel("AC_00031001", &big) + &channel("AC_00031002", "")));
        let source = XmlSource::from_text(text, "big.xml");
        let (sk, _) = read_document(&source).unwrap();
        let b = all(&source, &sk, "AC_00031001");
        assert_eq!(b.len(), 1);
        // reads that end inside a multi-byte character between blocks
        let mut mb = String::new();
        for n in 1..=9 {
            mb.push_str(&block("AC_00031001", n, f64::from(n)));
            mb.push_str(&format!("<!--{}-->", "é".repeat(CURSOR_READ / 3 + n as usize)));
        }
        let text = doc(&(channel("AC_00031001", &mb) + &channel("AC_00031002", "")));
        let (whole, _) = xml::parse(&text, "mb.xml").unwrap();
        let source = XmlSource::from_text(text, "mb.xml");
        let (sk, _) = read_document(&source).unwrap();
        assert_eq!(
            all(&source, &sk, "AC_00031001"),
            whole.channel("AC_00031001").unwrap().blocks
        );
        assert!(
            matches!(&b[0].kind, BlockKind::Objects(o) if o.position == crate::adm::elements::ObjectPosition::Polar { azimuth: 1.0, elevation: 0.0, distance: 1.0 })
        );
    }

    /// A bad value inside a deferred block is found by the cursor, with the
    /// file and the line it is on.
    #[test]
    fn errors_in_deferred_blocks_name_file_and_line() {
        // the bad block comes after several reads' worth of good ones, so it
        // may straddle a read: it must still be reported, at its line
        let mut b: String = (1..=400).map(|n| block("AC_00031001", n, 0.0)).collect();
        b.push_str(&block("AC_00031001", 401, 0.0).replace(">0</position>", ">zero</position>"));
        let text = doc(&(channel("AC_00031001", &b) + &channel("AC_00031002", "")));
        let line = text[..text.find("zero").unwrap()].matches('\n').count() as u32 + 1;
        let source = XmlSource::from_text(text, "bad.xml");
        let (sk, _) = read_document(&source).unwrap();
        let c = sk.channel("AC_00031001").unwrap();
        let mut cur = BlockCursor::new(source.clone(), c.deferred.as_ref().unwrap(), c.type_definition, &c.id);
        let e = loop {
            match cur.next_block() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("no error"),
                Err(e) => break e,
            }
        };
        let at = e.location().unwrap();
        assert_eq!((at.file.as_str(), at.line), ("bad.xml", line), "{e}");
    }

    /// Skipping a block in one step ([`block_end`]) cuts exactly what the
    /// lexer cuts token by token: same skeleton, spans, lines, whatever the
    /// blocks hold (comments, CDATA, PIs, quotes of either kind, `<` in a
    /// value, prefixes, spaced end tags, decoy names) and wherever the
    /// 1 MiB reads end.
    #[test]
    fn skipping_blocks_cuts_what_lexing_cuts() {
        let inner = [
            "<position coordinate=\"azimuth\">10</position>\n    <position coordinate=\"elevation\">0</position>\n  ",
            "<position coordinate=\"azimuth\">1</position><!-- </audioBlockFormat> --><position coordinate=\"elevation\">0</position>",
            "<position coordinate=\"azimuth\">2</position><![CDATA[ </audioBlockFormat> ]]>",
            "<position coordinate='azimuth'>3</position><position coordinate=\"elevation\">0</position>",
            "<position coordinate=\"x</audioBlockFormat>\">4</position>",
            "<position coordinate=\"it's\">5</position><gain>\"</gain>",
            "<position coordinate='</audioBlockFormat>'>11</position>",
            "<position coordinate=\"azimuth\">6</position><?pi </audioBlockFormat> ?>",
            "<audioBlockFormatX>7</audioBlockFormatX><position coordinate=\"azimuth\">7</position>",
            "<width>8</width>\n\n\n",
            "<audioBlockFormat audioBlockFormatID=\"AB_00031001_0000ffff\"><width>9</width>",
        ];
        let ends = [
            "</audioBlockFormat>",
            "</audioBlockFormat \n >",
            "</adm:audioBlockFormat>",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| (crate::rng::xorshift64(&mut state) % n as u64) as usize;
        let mut blocks = String::new();
        for n in 1..=12_000u32 {
            let end = ends[next(ends.len())];
            let start = if end.contains("adm:") {
                "<adm:audioBlockFormat"
            } else {
                "<audioBlockFormat"
            };
            blocks.push_str(&format!(
                "\n  {start} audioBlockFormatID=\"AB_00031001_{n:08x}\" rtime=\"00:00:{:02}.00000\">{}{end}",
                n % 60,
                inner[next(inner.len())]
            ));
            if next(20) == 0 {
                blocks.push_str("\n<!-- between -->");
            }
        }
        let text = doc(&(channel("AC_00031001", &blocks) + &channel("AC_00031002", &block("AC_00031002", 1, 0.0))));
        assert!(text.len() > 2 * READ);
        let source = XmlSource::from_text(text, "skip.xml");
        let (fast, slow) = (cut_blocks(&source, true).unwrap(), cut_blocks(&source, false).unwrap());
        assert_eq!(fast.spans, slow.spans);
        assert_eq!(fast.removed, slow.removed);
        assert_eq!((fast.line, fast.removed_lines), (slow.line, slow.removed_lines));
        assert!(fast.out == slow.out, "the skeletons differ");
        assert_eq!(fast.spans["AC_00031001"].count, 12_000);

        // the common block is skipped in one step, to just after its end tag
        let b = block("AC_00031001", 1, 0.0);
        let i = b.find('>').unwrap() + 1;
        let nl = b[i..].matches('\n').count() as u32;
        assert_eq!(block_end(b.as_bytes(), i), Some((b.len(), nl)));
        assert_eq!(block_end(&b.as_bytes()[..b.len() - 1], i), None);
    }

    /// The 32-byte scan of a block's end answers as the byte loop does, on
    /// texts made of the bytes it looks at (`<`, `"`, `'`, newlines, `!`,
    /// `?`, end tags of the block and of others, with prefixes and spaces),
    /// from every start and cut at every length.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn scanning_32_bytes_at_a_time_ends_blocks_as_the_byte_loop() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("NOTICE: no AVX2 on this CPU; the 32-byte block scan is not tested");
            return;
        }
        let pieces = [
            "<",
            "</",
            "\"",
            "'",
            "\n",
            "  ",
            "abc",
            "<!",
            "<?",
            ">",
            "/",
            ":",
            "<w>1</w>",
            "</audioBlockFormat>",
            "</audioBlockFormat \n >",
            "</adm:audioBlockFormat>",
            "</audioBlockFormatX>",
            "</audioBlockFormat x>",
            "<position coordinate=\"azimuth\">-30.0</position>\n      ",
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: usize| (crate::rng::xorshift64(&mut state) % n as u64) as usize;
        let (mut found, mut refused, mut long) = (0, 0, 0);
        for _ in 0..4_000 {
            let text: String = (0..next(40)).map(|_| pieces[next(pieces.len())]).collect();
            let b = text.as_bytes();
            for i in [0, next(b.len() + 1), next(b.len() + 1)] {
                for n in i..=b.len() {
                    let want = block_end_from(&b[..n], i, i, 0);
                    // SAFETY: the CPU has AVX2 (checked above).
                    let got = unsafe { block_end_avx2(&b[..n], i) };
                    assert_eq!(got, want, "text {:?} from {i}", &text[..n]);
                    match want {
                        Some((e, _)) => {
                            found += 1;
                            long += usize::from(e - i > 64);
                        }
                        None => refused += 1,
                    }
                }
            }
        }
        assert!(
            found > 10_000 && refused > 10_000 && long > 5_000,
            "{found} {refused} {long}"
        );
    }

    /// A text cut inside a block is refused by the skeleton parse.
    #[test]
    fn truncated_inside_blocks_is_refused() {
        let text = doc(&(channel("AC_00031001", &block("AC_00031001", 1, 0.0)) + &channel("AC_00031002", "")));
        let cut = &text[..text.find("<position").unwrap() + 5];
        let e = read_document(&XmlSource::from_text(cut, "cut.xml")).unwrap_err();
        assert!(e.to_string().contains("cut.xml"), "{e}");
    }
}
