//! The guest side of `lugh qemu`: `lugh` as the initramfs's `/init`
//! (process 1). It mounts the kernel's filesystems, says `LUGH READY
//! <arch>`, loads the modules for the data disk, mounts it, runs the smoke
//! test (the grid demo for a few seconds with a live swap, a scheduler
//! kill and a storage SIGKILL, then a storage recovery), prints `LUGH
//! VERDICT ok` or `LUGH VERDICT fail <reason>` and powers off.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn mount(src: &str, target: &str, fstype: &str) -> Result<(), String> {
    let _ = std::fs::create_dir_all(target);
    rustix::mount::mount(
        src,
        target,
        fstype,
        rustix::mount::MountFlags::empty(),
        None::<&std::ffi::CStr>,
    )
    .map_err(|e| format!("mount {fstype} on {target}: {e}"))
}

fn load_module(path: &str) -> Result<(), String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
    use std::os::fd::AsRawFd;
    // SAFETY: finit_module(2) reads the open file descriptor and an empty,
    // NUL-terminated parameter string; neither outlives the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_finit_module,
            f.as_raw_fd(),
            c"".as_ptr(),
            0 as libc::c_int,
        )
    };
    if r != 0 {
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(format!("{path}: {e}"));
        }
    }
    Ok(())
}

/// Runs the smoke test; returns the verdict ("ok" or "fail <reason>").
fn smoke(arch: &str) -> String {
    let mut problems: Vec<String> = Vec::new();
    // Modules for the data disk, in the order the image builder resolved.
    let order = std::fs::read_to_string("/lib/lugh-modules/order").unwrap_or_default();
    for m in order.lines().filter(|l| !l.is_empty()) {
        if let Err(e) = load_module(m) {
            problems.push(format!("module {e}"));
        }
    }
    let t = Instant::now();
    while !Path::new("/dev/vda").exists() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let data = match mount("/dev/vda", "/data", "ext4") {
        Ok(()) => {
            say("lugh-guest: data disk /dev/vda mounted on /data (ext4)");
            "/data"
        }
        Err(e) => {
            problems.push(format!("data disk: {e}"));
            "/tmp"
        }
    };
    // The grid workload, scaled to software emulation.
    let opts = crate::grid::GridOptions {
        sensors: 20,
        rate_hz: 50,
        duration: Duration::from_secs(4),
        json: false,
        data: Some(Path::new(data).join("grid")),
        storage_exe: std::env::current_exe().ok(),
        faults: true,
    };
    match crate::grid::run(&opts, std::io::stdout()) {
        Ok(r) => {
            say(&format!(
                "lugh-guest: grid {} readings, {} alerts (p99 {:.2} ms), {} swaps, {} restarts, lost: {} alerts {} readings; verdict {}",
                r.readings, r.alerts, r.alert_p99_ms, r.swaps, r.restarts, r.alerts_lost, r.readings_lost, r.verdict
            ));
            if r.verdict != "ok" {
                problems.push(format!("grid: {}", r.verdict));
            }
            if r.swaps < 1 || r.restarts < 2 {
                problems.push("grid: the swap or a kill did not happen".into());
            }
        }
        Err(e) => problems.push(format!("grid: {e}")),
    }
    // Storage recovery: reopen what the killed storage service left.
    match lugh_kv::Store::open(&Path::new(data).join("grid"), Default::default()) {
        Ok((s, r)) => {
            say(&format!(
                "lugh-guest: storage recovered in {:.1} ms: {} committed transactions replayed, {} keys, log {}",
                r.duration_ms,
                r.committed,
                r.keys,
                if r.cut_at.is_some() { "cut at damage" } else { "intact" }
            ));
            if s.is_empty() {
                problems.push("storage: nothing recovered".into());
            }
        }
        Err(e) => problems.push(format!("storage recovery: {e}")),
    }
    rustix::fs::sync();
    let _ = rustix::mount::unmount(data, rustix::mount::UnmountFlags::empty());
    let _ = arch;
    if problems.is_empty() {
        "ok".into()
    } else {
        format!("fail {}", problems.join("; "))
    }
}

/// `/init`: never returns (process 1 powers the machine off).
pub fn main() -> ! {
    let mut early = Vec::new();
    for (src, target, fs) in [
        ("proc", "/proc", "proc"),
        ("sysfs", "/sys", "sysfs"),
        ("devtmpfs", "/dev", "devtmpfs"),
        ("tmpfs", "/tmp", "tmpfs"),
    ] {
        if let Err(e) = mount(src, target, fs) {
            early.push(e);
        }
    }
    let arch = std::fs::read_to_string("/lugh-arch")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| std::env::consts::ARCH.to_string());
    say(&format!("LUGH READY {arch}"));
    let verdict = if early.is_empty() {
        smoke(&arch)
    } else {
        format!("fail {}", early.join("; "))
    };
    say(&format!("LUGH VERDICT {verdict}"));
    rustix::fs::sync();
    let _ = rustix::system::reboot(rustix::system::RebootCommand::PowerOff);
    // Not reached; if it were, exiting process 1 would panic the kernel.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
