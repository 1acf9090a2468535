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

/// Notices of one kind listed at most (a long master can repair a block
/// time on every block); the rest are counted in one `notices-omitted`.
pub const MAX_NOTICES_PER_KIND: usize = 1000;

/// Collects notices; repeated (kind, subject, message) triples are kept once
/// (by hash), and at most [`MAX_NOTICES_PER_KIND`] of each kind are listed:
/// [`Notices::into_vec`] ends with one `notices-omitted` per kind that had
/// more.
#[derive(Clone, Debug, Default)]
pub struct Notices {
    list: Vec<Notice>,
    seen: std::collections::HashSet<u64>,
    per_kind: std::collections::HashMap<&'static str, usize>,
    omitted: Vec<(&'static str, usize)>,
}

fn hash(n: &Notice) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    n.kind.hash(&mut h);
    n.subject.hash(&mut h);
    n.message.hash(&mut h);
    h.finish()
}

impl Notices {
    /// Notices that will not be repeated: `seen`'s are taken as given
    /// already (they count towards the per-kind limit but are not listed).
    pub fn after(seen: &[Notice]) -> Notices {
        let mut n = Notices::default();
        for s in seen {
            if n.seen.insert(hash(s)) {
                *n.per_kind.entry(s.kind).or_insert(0) += 1;
            }
        }
        n
    }
    pub fn push(&mut self, n: Notice) {
        if !self.seen.insert(hash(&n)) {
            return;
        }
        let count = self.per_kind.entry(n.kind).or_insert(0);
        *count += 1;
        if *count <= MAX_NOTICES_PER_KIND {
            self.list.push(n);
        } else {
            match self.omitted.iter_mut().find(|(k, _)| *k == n.kind) {
                Some((_, c)) => *c += 1,
                None => self.omitted.push((n.kind, 1)),
            }
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
        self.list.is_empty() && self.omitted.is_empty()
    }
    /// Notices listed (omitted ones not counted).
    pub fn len(&self) -> usize {
        self.list.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Notice> {
        self.list.iter()
    }
    /// The notices listed, then one `notices-omitted` per kind over the limit.
    pub fn into_vec(mut self) -> Vec<Notice> {
        for (kind, n) in std::mem::take(&mut self.omitted) {
            self.list.push(Notice::new(
                "notices-omitted",
                kind,
                format!("{n} more {kind} notices are not listed (at most {MAX_NOTICES_PER_KIND} of a kind are)"),
            ));
        }
        self.list
    }
    pub fn as_slice(&self) -> &[Notice] {
        &self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_notices_are_kept_once_and_each_kind_is_capped() {
        let mut n = Notices::default();
        for i in 0..MAX_NOTICES_PER_KIND + 500 {
            n.add("block-time-repaired", format!("AB_{i}"), "repaired");
            n.add("block-time-repaired", format!("AB_{i}"), "repaired");
        }
        n.add("other", "x", "y");
        assert_eq!(n.len(), MAX_NOTICES_PER_KIND + 1);
        let v = n.into_vec();
        let last = v.last().unwrap();
        assert_eq!(
            (last.kind, last.subject.as_str()),
            ("notices-omitted", "block-time-repaired")
        );
        assert!(last.message.starts_with("500 more"), "{}", last.message);
        // notices given already are not repeated and count towards the cap
        let mut after = Notices::after(&v[..3]);
        after.extend(v[..5].iter().cloned());
        assert_eq!(after.into_vec(), v[3..5].to_vec());
    }
}
