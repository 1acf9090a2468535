//! `admix layouts [--json]`: names, aliases and channel labels of the
//! built-in layouts.

use crate::CliResult;
use admix::layout::Layout;
use serde_json::json;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Machine-readable output: [{"name","aliases","speakers":[{"label","azimuth","elevation","lfe"}]}]
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> CliResult {
    let all = Layout::all_builtin().map_err(|e| e.to_string())?;
    if a.json {
        let v: Vec<_> = all
            .iter()
            .map(|l| {
                json!({
                    "name": l.name,
                    "aliases": l.aliases,
                    "description": l.description,
                    "speakers": l.speakers.iter().map(|s| json!({
                        "label": s.label, "bs2051": s.bs2051, "azimuth": s.azimuth,
                        "elevation": s.elevation, "lfe": s.lfe,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?)?;
    } else {
        for l in &all {
            let aliases = if l.aliases.is_empty() {
                String::new()
            } else {
                format!(" ({})", l.aliases.join(", "))
            };
            outln!(
                "{:<10} {:>2} ch{}  {}",
                l.name,
                l.speakers.len(),
                aliases,
                l.labels().join(" ")
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
