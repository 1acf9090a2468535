//! `admix demo -o OUT.wav [--objects N] [--seconds S] [--no-bed]`: writes the
//! built-in demo master (24-bit BW64 with axml + chna): N moving objects
//! (polar and cartesian, with jumps, extent and some diffuse, object 1 marked
//! as dialogue) and a 7.1.2 bed, each track an identifiable sine.

use crate::CliResult;
use admix::demo::{DemoSpec, track_count, write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Where to write the master.
    #[arg(short, long)]
    out: PathBuf,
    /// Number of objects.
    #[arg(long, default_value_t = 16)]
    objects: usize,
    /// Length in seconds.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Sample rate.
    #[arg(long, default_value_t = 48000)]
    rate: u32,
    /// Leave out the 7.1.2 bed.
    #[arg(long)]
    no_bed: bool,
}

pub fn run(a: Args) -> CliResult {
    if !(a.seconds.is_finite() && a.seconds > 0.0 && a.seconds <= 24.0 * 3600.0) {
        return Err(format!(
            "--seconds {}: expected a length between 0 and 24 hours",
            a.seconds
        ));
    }
    // the rates audio interfaces and DAWs run at: 8 kHz to 384 kHz
    if !(8_000..=384_000).contains(&a.rate) {
        return Err(format!(
            "--rate {}: expected a sample rate from 8000 to 384000 Hz",
            a.rate
        ));
    }
    let spec = DemoSpec {
        objects: a.objects,
        seconds: a.seconds,
        sample_rate: a.rate,
        bed: !a.no_bed,
    };
    if track_count(&spec) == 0 {
        return Err("--objects 0 with --no-bed: nothing to write (give at least one object)".into());
    }
    if track_count(&spec) > 1024 {
        let most = 1024 - (track_count(&spec) - a.objects);
        return Err(format!(
            "--objects {}: at most {most} objects {} (1024 tracks)",
            a.objects,
            if a.no_bed {
                "without the bed"
            } else {
                "beside the 10-track bed"
            }
        ));
    }
    let frames = write(&a.out, &spec).map_err(|e| e.to_string())?;
    errln!(
        "wrote {}: {} objects{}, {} tracks, {:.2} s at {} Hz, 24-bit",
        a.out.display(),
        spec.objects,
        if spec.bed { " + 7.1.2 bed" } else { "" },
        track_count(&spec),
        frames as f64 / spec.sample_rate as f64,
        spec.sample_rate
    );
    Ok(ExitCode::SUCCESS)
}
