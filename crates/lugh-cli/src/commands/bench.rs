//! `lugh bench ipc|priority|swap|restart|storage [--quick] [--json]`.

use std::process::ExitCode;

use lugh_system::bench;

use super::print;
use crate::cli::Bench;

pub fn bench(what: Bench, quick: bool, json: bool) -> anyhow::Result<ExitCode> {
    let v = match what {
        Bench::Ipc => serde_json::to_value(bench::ipc(quick)?)?,
        Bench::Priority => serde_json::to_value(bench::priority(quick)?)?,
        Bench::Swap => serde_json::to_value(bench::swap(quick)?)?,
        Bench::Restart => serde_json::to_value(bench::restart(quick)?)?,
        Bench::Storage => serde_json::to_value(bench::storage(quick)?)?,
    };
    print(json, v);
    Ok(ExitCode::SUCCESS)
}
