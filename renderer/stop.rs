//! A request to stop: the command line sets it when the process is asked to
//! end (Ctrl-C, SIGTERM, SIGHUP). The work that writes files checks it
//! between chunks — [`crate::render::render_with`] and
//! [`crate::demo::write`] — and fails with an "interrupted" error, so its
//! writers are dropped and delete their temporary files: an interrupted
//! render leaves nothing behind, under the output names or beside them.
//!
//! Process-wide, as the signals that set it are.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Ask the running work to stop (from a signal handler's thread).
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}
