//! `lugh image` (the initramfs and data disk) and `lugh qemu` (build, boot,
//! read the verdict from the serial console).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use lugh_system::image::Arch;

use super::print;

/// `--arch` and `--bin`: the architecture, and the static binary (by
/// default where scripts/lugh-static puts it).
fn arch_and_bin(arch: &str, bin: Option<PathBuf>) -> anyhow::Result<(Arch, PathBuf)> {
    let a = Arch::parse(arch)
        .with_context(|| format!("unknown --arch `{arch}`: use x86_64 or aarch64"))?;
    Ok((a, bin.unwrap_or_else(|| a.default_bin())))
}

pub fn image(arch: &str, out: &Path, bin: Option<PathBuf>, json: bool) -> anyhow::Result<ExitCode> {
    let (a, bin) = arch_and_bin(arch, bin)?;
    let img = lugh_system::image::build(a, &bin, out, &mut std::io::stderr())?;
    print(json, serde_json::to_value(&img)?);
    Ok(ExitCode::SUCCESS)
}

pub fn qemu(
    arch: &str,
    dir: Option<PathBuf>,
    bin: Option<PathBuf>,
    timeout: Option<Duration>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let (a, bin) = arch_and_bin(arch, bin)?;
    let dir = dir.unwrap_or_else(|| PathBuf::from("target/lugh-qemu").join(a.name()));
    let img = lugh_system::image::build(a, &bin, &dir, &mut std::io::stderr())?;
    let b = lugh_system::image::boot(
        a,
        &img,
        timeout.unwrap_or(Duration::from_secs(300)),
        &mut std::io::stdout(),
    )?;
    if json {
        println!("{}", serde_json::to_string(&b)?);
    } else {
        println!(
            "lugh qemu {}: ready after {}, verdict {} ({:.1} s in all)",
            b.arch,
            b.ready_s
                .map(|s| format!("{s:.1} s"))
                .unwrap_or_else(|| "never".into()),
            b.verdict,
            b.total_s
        );
    }
    Ok(if b.verdict == "ok" {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
