//! `lugh image` and `lugh qemu`: a single node under QEMU's software
//! emulation, on x86_64 and aarch64.
//!
//! The image is an initramfs (a gzip'd newc cpio archive) whose `/init` is
//! a static `lugh`, with the kernel modules the guest needs for its data
//! disk (virtio block, ext4 and what they depend on, in load order), plus a
//! small ext4 data disk made with `qemu-img` and `mkfs.ext4`. The kernel
//! comes from Debian's `linux-image-<arch>` package, fetched with
//! `apt-get download` and unpacked with `dpkg -x` into a cache.
//!
//! `lugh qemu` boots it, echoes the serial console, waits for the guest's
//! `LUGH READY <arch>` line (within 30 s) and its `LUGH VERDICT` line, and
//! returns the guest's verdict.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    pub fn parse(s: &str) -> Option<Arch> {
        match s {
            "x86_64" | "amd64" => Some(Arch::X86_64),
            "aarch64" | "arm64" => Some(Arch::Aarch64),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }
    /// Debian's name for it.
    fn debian(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }
    fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => 62,
            Arch::Aarch64 => 183,
        }
    }
    /// Where `scripts/lugh-static` puts the static binary.
    pub fn default_bin(self) -> PathBuf {
        match self {
            Arch::X86_64 => PathBuf::from("target/x86_64-unknown-linux-gnu/release/lugh"),
            Arch::Aarch64 => PathBuf::from("target/cross/aarch64-unknown-linux-gnu/release/lugh"),
        }
    }
    /// Modules for the data disk, beyond what the kernel has built in.
    fn wanted_modules(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &["virtio_pci", "virtio_blk", "crc32c_generic", "ext4"],
            Arch::Aarch64 => &["virtio_mmio", "virtio_blk", "crc32c_generic", "ext4"],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Bad(String),
    #[error("`{cmd}` failed: {detail}")]
    Command { cmd: String, detail: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> ImageError + '_ {
    move |source| ImageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn run(cmd: &mut Command) -> Result<String, ImageError> {
    let shown = format!("{cmd:?}").replace('"', "");
    let out = cmd.output().map_err(|e| ImageError::Command {
        cmd: shown.clone(),
        detail: e.to_string(),
    })?;
    if !out.status.success() {
        return Err(ImageError::Command {
            cmd: shown,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Checks that `bin` is a static ELF executable for `arch`.
pub fn check_binary(bin: &Path, arch: Arch) -> Result<(), ImageError> {
    let b = std::fs::read(bin).map_err(|e| {
        ImageError::Bad(format!(
            "{}: {e}; build it with `scripts/lugh-static {}`",
            bin.display(),
            arch.name()
        ))
    })?;
    if b.len() < 64 || &b[..4] != b"\x7fELF" || b[4] != 2 {
        return Err(ImageError::Bad(format!(
            "{}: not a 64-bit ELF executable",
            bin.display()
        )));
    }
    let machine = u16::from_le_bytes([b[18], b[19]]);
    if machine != arch.elf_machine() {
        return Err(ImageError::Bad(format!(
            "{}: built for ELF machine {machine}, not {}",
            bin.display(),
            arch.name()
        )));
    }
    // A dynamic executable names its interpreter (PT_INTERP = 3).
    let phoff = u64::from_le_bytes(b[32..40].try_into().unwrap_or_default()) as usize;
    let phentsize = u16::from_le_bytes([b[54], b[55]]) as usize;
    let phnum = u16::from_le_bytes([b[56], b[57]]) as usize;
    for i in 0..phnum {
        let at = phoff + i * phentsize;
        if b.get(at..at + 4) == Some(&3u32.to_le_bytes()) {
            return Err(ImageError::Bad(format!(
                "{}: dynamically linked; /init must be static (scripts/lugh-static {})",
                bin.display(),
                arch.name()
            )));
        }
    }
    Ok(())
}

/// The unpacked kernel package of `arch`: `vmlinuz` and `lib/modules`.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub vmlinuz: PathBuf,
    pub modules: PathBuf,
    pub package: String,
}

fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("lugh/kernels")
}

/// Fetches (once) Debian's kernel for `arch`: `apt-get download` of the
/// package `linux-image-<arch>` depends on, then `dpkg -x`.
pub fn fetch_kernel(arch: Arch, log: &mut dyn Write) -> Result<Kernel, ImageError> {
    let dir = cache_dir().join(arch.debian());
    let find = |dir: &Path| -> Option<Kernel> {
        let boot = std::fs::read_dir(dir.join("boot")).ok()?;
        let vmlinuz = boot.filter_map(Result::ok).map(|e| e.path()).find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })?;
        let version = vmlinuz.file_name()?.to_string_lossy()["vmlinuz-".len()..].to_string();
        let modules = dir.join("lib/modules").join(&version);
        modules.is_dir().then(|| Kernel {
            vmlinuz,
            modules,
            package: format!("linux-image-{version}"),
        })
    };
    if let Some(k) = find(&dir) {
        return Ok(k);
    }
    let meta = match arch {
        Arch::X86_64 => "linux-image-amd64".to_string(),
        Arch::Aarch64 => "linux-image-arm64:arm64".to_string(),
    };
    let deps = run(Command::new("apt-cache").args(["depends", &meta]))?;
    let pkg = deps
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|d| d.starts_with("linux-image-"))
        .ok_or_else(|| ImageError::Bad(format!("apt-cache finds no kernel package behind {meta}")))?
        .trim()
        .to_string();
    let pkg = match arch {
        Arch::Aarch64 if !pkg.contains(':') => format!("{pkg}:arm64"),
        _ => pkg,
    };
    let _ = writeln!(
        log,
        "lugh: fetching {pkg} (apt-get download, dpkg -x) into {}",
        dir.display()
    );
    let dl = dir.with_extension("download");
    let _ = std::fs::remove_dir_all(&dl);
    std::fs::create_dir_all(&dl).map_err(io(&dl))?;
    run(Command::new("apt-get")
        .args(["download", "-q", &pkg])
        .current_dir(&dl))?;
    let deb = std::fs::read_dir(&dl)
        .map_err(io(&dl))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .ok_or_else(|| {
            ImageError::Bad(format!("apt-get download left no .deb in {}", dl.display()))
        })?;
    let tmp = dir.with_extension("unpack");
    let _ = std::fs::remove_dir_all(&tmp);
    run(Command::new("dpkg").arg("-x").arg(&deb).arg(&tmp))?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir).map_err(io(&dir))?;
    let _ = std::fs::remove_dir_all(&dl);
    find(&dir).ok_or_else(|| ImageError::Bad(format!("{pkg} holds no vmlinuz and modules")))
}

/// The `depends=` list of a module, read from its `.modinfo` strings.
fn module_depends(ko: &[u8]) -> Vec<String> {
    let key = b"depends=";
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(pos) = ko[i..].windows(key.len()).position(|w| w == key) {
        let start = i + pos;
        // Only at the start of a NUL-separated string.
        if start == 0 || ko[start - 1] == 0 {
            let rest = &ko[start + key.len()..];
            let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
            out.extend(
                String::from_utf8_lossy(&rest[..end])
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.replace('-', "_")),
            );
            return out;
        }
        i = start + 1;
    }
    out
}

/// The modules `arch` needs and their dependencies, in load order.
pub fn resolve_modules(k: &Kernel, arch: Arch) -> Result<Vec<PathBuf>, ImageError> {
    let mut index: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut stack = vec![k.modules.join("kernel")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .map_err(io(&d))?
            .filter_map(Result::ok)
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
                if let Some(stem) = name.strip_suffix(".ko") {
                    index.insert(stem.replace('-', "_"), p.clone());
                }
            }
        }
    }
    let builtin: BTreeSet<String> = std::fs::read_to_string(k.modules.join("modules.builtin"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.rsplit('/').next())
        .map(|n| n.trim_end_matches(".ko").replace('-', "_"))
        .collect();
    let mut order = Vec::new();
    let mut seen = BTreeSet::new();
    fn visit(
        name: &str,
        index: &BTreeMap<String, PathBuf>,
        builtin: &BTreeSet<String>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<PathBuf>,
    ) -> Result<(), ImageError> {
        if !seen.insert(name.to_string()) || builtin.contains(name) {
            return Ok(());
        }
        let Some(p) = index.get(name) else {
            return Err(ImageError::Bad(format!(
                "kernel module {name} is neither built in nor in the package"
            )));
        };
        let bytes = std::fs::read(p).map_err(io(p))?;
        for dep in module_depends(&bytes) {
            visit(&dep, index, builtin, seen, order)?;
        }
        order.push(p.clone());
        Ok(())
    }
    for m in arch.wanted_modules() {
        visit(m, &index, &builtin, &mut seen, &mut order)?;
    }
    Ok(order)
}

/// What `lugh image` made.
#[derive(Debug, Clone, Serialize)]
pub struct Image {
    pub arch: &'static str,
    pub initramfs: PathBuf,
    pub data_disk: PathBuf,
    pub kernel: PathBuf,
    pub kernel_package: String,
    pub modules: Vec<String>,
    pub initramfs_bytes: u64,
}

/// Builds the initramfs and the data disk for `arch` into `out`.
pub fn build(arch: Arch, bin: &Path, out: &Path, log: &mut dyn Write) -> Result<Image, ImageError> {
    check_binary(bin, arch)?;
    let kernel = fetch_kernel(arch, log)?;
    let modules = resolve_modules(&kernel, arch)?;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let initramfs = out.join("initramfs.cpio.gz");
    let tmp = out.join(".initramfs.cpio.gz.tmp");
    let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut w = gz;
    let mut ino = 1u32;
    let mut entry = |w: flate2::write::GzEncoder<std::fs::File>,
                     b: cpio::NewcBuilder,
                     data: &[u8]|
     -> std::io::Result<flate2::write::GzEncoder<std::fs::File>> {
        ino += 1;
        let mut f = b.ino(ino).nlink(1).write(w, data.len() as u32);
        f.write_all(data)?;
        f.finish()
    };
    let dir = |name: &str| cpio::NewcBuilder::new(name).mode(0o040755).nlink(2);
    let wr = (|| -> std::io::Result<flate2::write::GzEncoder<std::fs::File>> {
        for d in [
            "dev",
            "proc",
            "sys",
            "tmp",
            "data",
            "lib",
            "lib/lugh-modules",
        ] {
            w = entry(w, dir(d), &[])?;
        }
        // The console must exist before devtmpfs is mounted: the kernel opens
        // it for /init's standard streams.
        w = entry(
            w,
            cpio::NewcBuilder::new("dev/console")
                .mode(0o020600)
                .rdev_major(5)
                .rdev_minor(1),
            &[],
        )?;
        let exe = std::fs::read(bin)?;
        w = entry(w, cpio::NewcBuilder::new("init").mode(0o100755), &exe)?;
        let mut list = String::new();
        for (i, m) in modules.iter().enumerate() {
            let name = format!(
                "lib/lugh-modules/{i:02}-{}",
                m.file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default()
            );
            w = entry(
                w,
                cpio::NewcBuilder::new(&name).mode(0o100644),
                &std::fs::read(m)?,
            )?;
            list.push_str(&format!("/{name}\n"));
        }
        w = entry(
            w,
            cpio::NewcBuilder::new("lib/lugh-modules/order").mode(0o100644),
            list.as_bytes(),
        )?;
        w = entry(
            w,
            cpio::NewcBuilder::new("lugh-arch").mode(0o100644),
            arch.name().as_bytes(),
        )?;
        cpio::newc::trailer(w)
    })();
    // Streamed through gzip rather than buffered for `lugh_kv::write_atomic`;
    // a build output that is rebuilt when lost, so it is renamed into place
    // without syncing the directory.
    let gz = wr.map_err(io(&tmp))?;
    gz.finish()
        .map_err(io(&tmp))?
        .sync_all()
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, &initramfs).map_err(io(&initramfs))?;
    let data_disk = out.join("data.img");
    let _ = std::fs::remove_file(&data_disk);
    run(Command::new("qemu-img")
        .args(["create", "-q", "-f", "raw"])
        .arg(&data_disk)
        .arg("64M"))?;
    run(Command::new("mkfs.ext4")
        .args(["-q", "-F", "-L", "lughdata"])
        .arg(&data_disk))?;
    let initramfs_bytes = std::fs::metadata(&initramfs).map(|m| m.len()).unwrap_or(0);
    Ok(Image {
        arch: arch.name(),
        initramfs,
        data_disk,
        kernel: kernel.vmlinuz.clone(),
        kernel_package: kernel.package.clone(),
        modules: modules
            .iter()
            .filter_map(|m| m.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect(),
        initramfs_bytes,
    })
}

/// What a boot showed.
#[derive(Debug, Clone, Serialize)]
pub struct Boot {
    pub arch: &'static str,
    pub ready_s: Option<f64>,
    pub verdict: String,
    pub total_s: f64,
}

/// Boots `img` under software emulation, echoing the console to `log`.
pub fn boot(
    arch: Arch,
    img: &Image,
    timeout: Duration,
    log: &mut dyn Write,
) -> Result<Boot, ImageError> {
    let mut cmd = match arch {
        Arch::X86_64 => {
            let mut c = Command::new("qemu-system-x86_64");
            c.args(["-M", "q35", "-cpu", "max", "-accel", "tcg"])
                .args(["-append", "console=ttyS0 panic=-1 quiet"])
                .arg("-drive")
                .arg(format!(
                    "file={},format=raw,if=virtio",
                    img.data_disk.display()
                ));
            c
        }
        Arch::Aarch64 => {
            let mut c = Command::new("qemu-system-aarch64");
            c.args(["-M", "virt", "-cpu", "cortex-a57", "-accel", "tcg"])
                .args(["-append", "console=ttyAMA0 panic=-1 quiet"])
                .arg("-drive")
                .arg(format!(
                    "if=none,file={},format=raw,id=data",
                    img.data_disk.display()
                ))
                .args(["-device", "virtio-blk-device,drive=data"]);
            c
        }
    };
    cmd.args([
        "-smp",
        "2",
        "-m",
        "1024",
        "-nographic",
        "-no-reboot",
        "-nic",
        "none",
    ])
    .arg("-kernel")
    .arg(&img.kernel)
    .arg("-initrd")
    .arg(&img.initramfs)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| ImageError::Command {
        cmd: format!("qemu-system-{}", arch.name()),
        detail: format!("{e} (scripts/bootstrap installs qemu-system-x86 and qemu-system-arm)"),
    })?;
    let (tx, rx) = mpsc::channel::<String>();
    for stream in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).split(b'\n').map_while(Result::ok) {
                let l = String::from_utf8_lossy(&line)
                    .trim_end_matches('\r')
                    .to_string();
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut ready = None;
    let mut verdict = None;
    let deadline = started + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(500))) {
            Ok(line) => {
                let _ = writeln!(log, "{line}");
                // The firmware's escape sequences may share the line.
                if line.contains(&format!("LUGH READY {}", arch.name())) && ready.is_none() {
                    ready = Some(started.elapsed().as_secs_f64());
                }
                if let Some((_, v)) = line.split_once("LUGH VERDICT ") {
                    verdict = Some(v.trim().to_string());
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            verdict.get_or_insert_with(|| format!("fail timed out after {} s", timeout.as_secs()));
            break;
        }
        if ready.is_none() && started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            verdict = Some("fail not ready within 30 s".into());
            break;
        }
    }
    let _ = child.wait();
    Ok(Boot {
        arch: arch.name(),
        ready_s: ready,
        verdict: verdict.unwrap_or_else(|| "fail the guest stopped without a verdict".into()),
        total_s: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modinfo_depends_are_read_from_the_strings() {
        let ko = b"\x7fELF....\0license=GPL\0depends=mbcache,jbd2,crc16\0intree=Y\0";
        assert_eq!(module_depends(ko), vec!["mbcache", "jbd2", "crc16"]);
        let none = b"\0depends=\0name=crc16\0";
        assert!(module_depends(none).is_empty());
        // Not at the start of a string: not the key.
        assert!(module_depends(b"\0xdepends=a\0").is_empty());
    }

    #[test]
    fn static_and_machine_checks() {
        let exe = std::env::current_exe().unwrap();
        let other = if cfg!(target_arch = "x86_64") {
            Arch::Aarch64
        } else {
            Arch::X86_64
        };
        let e = check_binary(&exe, other).unwrap_err().to_string();
        assert!(e.contains("ELF machine"), "{e}");
        let e = check_binary(Path::new("/nonexistent/lugh"), Arch::X86_64)
            .unwrap_err()
            .to_string();
        assert!(e.contains("scripts/lugh-static x86_64"), "{e}");
    }
}
