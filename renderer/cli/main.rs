//! The `admix` command line. Each subcommand lives in its own module; this
//! file parses arguments and turns errors into one `admix: ` line on stderr
//! with a documented exit code (0 ok, 1 a check failed, 2 bad input or error,
//! 130 a render or demo interrupted: see [`admix::stop`]).

use std::io::Write;

/// `println!` that never panics: when stdout is closed (`admix … | head`)
/// the output ends quietly; another write error is returned as the
/// command's error. Use as `outln!(…)?`.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::emit(&mut std::io::stdout().lock(), format_args!($($t)*), "\n")
    };
}

/// `print!` as [`outln!`], without the newline.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::emit(&mut std::io::stdout().lock(), format_args!($($t)*), "")
    };
}

/// `eprintln!` that never panics (a closed stderr loses the message).
macro_rules! errln {
    ($($t:tt)*) => {
        let _ = $crate::emit(&mut std::io::stderr().lock(), format_args!($($t)*), "\n");
    };
}

/// `eprint!` as [`errln!`], without the newline.
macro_rules! errout {
    ($($t:tt)*) => {
        let _ = $crate::emit(&mut std::io::stderr().lock(), format_args!($($t)*), "");
    };
}

/// Writes `args` and `end`; a closed pipe is not an error.
fn emit(w: &mut dyn Write, args: std::fmt::Arguments<'_>, end: &str) -> Result<(), String> {
    match w
        .write_fmt(args)
        .and_then(|()| w.write_all(end.as_bytes()))
        .and_then(|()| w.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("writing the output: {e}")),
        _ => Ok(()),
    }
}

mod bench;
mod demo;
mod gains;
mod inspect;
mod layouts;
mod loudness;
mod render;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "admix",
    version,
    about = "Render ADM (BS.2076) object-based audio masters to speakers and headphones"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a master to speaker layouts and/or headphones.
    Render(Box<render::Args>),
    /// Write the built-in demo master (moving objects and a 7.1.2 bed).
    Demo(demo::Args),
    /// Compute BS.2127 gains for metadata blocks read as JSON lines on stdin.
    Gains(gains::Args),
    /// Show what a master holds: programmes, items, tracks, blocks, notices.
    Inspect(inspect::Args),
    /// List the built-in speaker layouts.
    Layouts(layouts::Args),
    /// Measure BS.1770-4 loudness, loudness range and true peak of a file.
    Loudness(loudness::Args),
    /// Measure how many objects render in real time (demo scene, per backend).
    Bench(bench::Args),
}

/// A level, or `missing` when there is none (silence for peaks; too short
/// or gated out for loudness; under 3 s for the loudness range).
pub fn fmt_db(x: Option<f64>, unit: &str, missing: &str) -> String {
    match x.filter(|v| v.is_finite()) {
        Some(v) => format!("{v:.1} {unit}"),
        None => missing.into(),
    }
}

/// The loudness targets named by `--target`, or an error listing the known ones.
pub fn targets(names: &[String]) -> Result<Vec<&'static admix::loudness::Target>, String> {
    names
        .iter()
        .map(|t| {
            admix::loudness::target(t).ok_or_else(|| {
                let known: Vec<&str> = admix::loudness::TARGETS.iter().map(|t| t.name).collect();
                format!("unknown --target {t:?} (known: {})", known.join(", "))
            })
        })
        .collect()
}

/// An error for the user: printed as `admix: <message>`.
pub type CliResult = Result<ExitCode, String>;

fn main() -> ExitCode {
    // Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on
    // stderr when probing adapters without it; give them a directory so the
    // report stays the only thing on stderr.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // SAFETY: first thing in main, before any other thread exists.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
    let cli = Cli::parse();
    // render and demo write files: asked to end (Ctrl-C, SIGTERM, SIGHUP),
    // they stop at the next chunk and delete what they had begun; a second
    // request ends the process at once. The other commands keep the
    // signals' default (they end at once, and leave no files).
    if matches!(cli.command, Command::Render(_) | Command::Demo(_)) {
        let handler = ctrlc::set_handler(|| {
            if admix::stop::requested() {
                std::process::exit(130);
            }
            admix::stop::request();
        });
        if let Err(e) = handler {
            errln!("admix: cannot handle Ctrl-C ({e}): an interrupted render may leave a temporary file");
        }
    }
    let result = match cli.command {
        Command::Render(a) => render::run(*a),
        Command::Demo(a) => demo::run(a),
        Command::Gains(a) => gains::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Layouts(a) => layouts::run(a),
        Command::Loudness(a) => loudness::run(a),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(code) => code,
        Err(msg) => {
            errln!("admix: {msg}");
            // 128 + SIGINT, as shells report an interrupted command
            ExitCode::from(if admix::stop::requested() { 130 } else { 2 })
        }
    }
}
