//! Notices: whatever admix reads, repairs or renders differently from what the
//! file asked for. The library never prints; it returns notices with its
//! results, and the CLI shows each kind once with a count (and all of them in
//! `--json`).

use serde::Serialize;

/// One thing the user should know about: what happened, to which element or
/// chunk, and what was done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// A stable kebab-case code scripts may match on, e.g. `missing-pad-byte`,
    /// `block-time-repaired`, `not-rendered-hoa`, `lfe-dropped`.
    pub kind: &'static str,
    /// The element ID, chunk id or file the notice is about.
    pub subject: String,
    /// One human sentence: what, and what was done.
    pub message: String,
}

impl Notice {
    pub fn new(kind: &'static str, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Notice {
            kind,
            subject: subject.into(),
            message: message.into(),
        }
    }
}

/// Collects notices; repeated (kind, subject, message) triples are kept once.
#[derive(Clone, Debug, Default)]
pub struct Notices {
    list: Vec<Notice>,
}

impl Notices {
    pub fn push(&mut self, n: Notice) {
        if !self.list.contains(&n) {
            self.list.push(n);
        }
    }
    pub fn add(&mut self, kind: &'static str, subject: impl Into<String>, message: impl Into<String>) {
        self.push(Notice::new(kind, subject, message));
    }
    pub fn extend(&mut self, other: impl IntoIterator<Item = Notice>) {
        for n in other {
            self.push(n);
        }
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Notice> {
        self.list.iter()
    }
    pub fn into_vec(self) -> Vec<Notice> {
        self.list
    }
    pub fn as_slice(&self) -> &[Notice] {
        &self.list
    }
}
