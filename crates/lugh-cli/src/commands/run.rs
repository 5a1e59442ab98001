//! `lugh run`: the system (kernel, supervised scheduler, a workload) until
//! `--for` ends or `lugh ctl stop`; or, `--demo grid`, the energy-grid
//! demo with its verdict.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use lugh::sched::Kind;
use lugh_system::grid::GridOptions;
use lugh_system::system::{FileConfig, RunOptions};

use crate::cli::{Demo, Isolation};

pub struct Args {
    pub config: Option<PathBuf>,
    pub isolation: Isolation,
    pub duration: Option<Duration>,
    pub scheduler: Option<String>,
    pub rate: Option<u64>,
    pub socket: Option<PathBuf>,
    pub json: bool,
    pub demo: Option<Demo>,
    pub sensors: Option<u32>,
    pub data: Option<PathBuf>,
    pub no_faults: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.demo == Some(Demo::Grid) {
        return grid(a);
    }
    let file = FileConfig::load(a.config.as_deref())?;
    let sched_name = a
        .scheduler
        .or(file.scheduler)
        .unwrap_or_else(|| "rr".into());
    let Some(kind) = Kind::parse(&sched_name) else {
        bail!("unknown scheduler `{sched_name}`: use rr or priority");
    };
    let opts = RunOptions {
        scheduler: kind,
        rate: a.rate.or(file.rate).unwrap_or(1000),
        memory_quota: file.memory_quota,
        data: a.data,
        duration: a.duration,
        socket: a.socket.unwrap_or_else(lugh_system::system::default_socket),
        json: a.json,
        process_exe: match a.isolation {
            Isolation::Thread => None,
            Isolation::Process => {
                Some(std::env::current_exe().context("cannot find the lugh binary")?)
            }
        },
    };
    let last = lugh_system::system::run(&opts, std::io::stdout())?;
    if a.json {
        println!("{}", serde_json::to_string(&last)?);
    } else {
        println!(
            "stopped: sent {} processed {} lost {} restarts {} swaps {}",
            last.sent, last.processed, last.outstanding, last.services[0].restarts, last.swaps
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn grid(a: Args) -> anyhow::Result<ExitCode> {
    let opts = GridOptions {
        sensors: a.sensors.unwrap_or(200),
        rate_hz: a.rate.unwrap_or(50) as u32,
        duration: a.duration.unwrap_or(Duration::from_secs(20)),
        json: a.json,
        data: a.data,
        storage_exe: std::env::current_exe().ok(),
        faults: !a.no_faults,
    };
    let r = lugh_system::grid::run(&opts, std::io::stdout())?;
    if a.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "grid: {} readings ({:.0}/s), {} alerts (p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms), deadline misses high {} medium {}, {} swaps, {} restarts",
            r.readings, r.readings_per_s, r.alerts, r.alert_p50_ms, r.alert_p99_ms, r.alert_max_ms,
            r.deadline_misses_high, r.deadline_misses_medium, r.swaps, r.restarts
        );
        println!(
            "checked in {}: {} alerts lost, {} readings lost, {} aggregates lost; {} critical operations logged",
            r.data_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_else(|| "a temporary directory (removed; --data DIR keeps it)".into()),
            r.alerts_lost, r.readings_lost, r.aggregates_lost, r.oplog_entries
        );
        println!("verdict: {}", r.verdict);
    }
    Ok(if r.verdict == "ok" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
