//! The Coordinator's packages through the real binary.
//!
//! pacman, paru, dnf and brew cannot run on the Debian test machine, so
//! `tests/fixtures/fakes/pkg-manager` stands in for them: installed first on
//! PATH under each name, it accepts exactly the real non-interactive command
//! lines, rejects any other, and logs every call, so these tests assert the
//! exact command lines lumina runs. apt is tested for real (install and
//! remove one small package) when running as root with `CI` set.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use common::Sandbox;

struct Fakes {
    sb: Sandbox,
    bin: PathBuf,
    log: PathBuf,
    db: PathBuf,
}

const FAKE: &str = include_str!("fixtures/fakes/pkg-manager");

impl Fakes {
    fn new(names: &[&str]) -> Fakes {
        let sb = Sandbox::new();
        let bin = sb.dir.path().join("fakebin");
        let db = sb.dir.path().join("pkgdb");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&db).unwrap();
        for n in names {
            let p = bin.join(n);
            std::fs::write(&p, FAKE).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // paru runs as an ordinary user: when the tests run as root, lumina
        // hands it to SUDO_USER (nobody), who must reach the fakes and logs.
        for d in [sb.dir.path(), &bin, &db] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let log = sb.dir.path().join("calls.log");
        std::fs::write(&log, "").unwrap();
        std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
        Fakes { sb, bin, log, db }
    }

    /// Marks packages as already installed (explicitly) for `manager`.
    fn preinstall(&self, manager: &str, pkgs: &[&str]) {
        let text: String = pkgs.iter().map(|p| format!("{p} explicit\n")).collect();
        let p = self.db.join(format!("{manager}.db"));
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
    }

    fn run(&self, args: &[&str], code: i32) -> (String, String) {
        let out = self
            .cmd()
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let (so, se) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "lumina {args:?}\nstdout:\n{so}\nstderr:\n{se}\ncalls:\n{}",
            self.calls().join("\n")
        );
        (so, se)
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut c = self.sb.cmd();
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("PATH", path)
            .env("FAKE_PKG_LOG", &self.log)
            .env("FAKE_PKG_DB", &self.db);
        if rustix::process::geteuid().is_root() {
            c.env("SUDO_USER", "nobody");
        }
        c
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The calls that change the system (installs and removals).
    fn changes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| {
                let w: Vec<&str> = c.split(' ').collect();
                matches!(
                    w.get(1).copied(),
                    Some("-S" | "-R" | "install" | "remove" | "uninstall")
                )
            })
            .collect()
    }

    fn clear_log(&self) {
        std::fs::write(&self.log, "").unwrap();
    }
}

const REGISTRY: &str = "# my machine\nversion: 1.0\n\nmodules:\n  # the editor\n  nvim:\n    source: ./config/nvim\n    target: ~/.config/nvim\n";

#[test]
fn pacman_install_records_only_on_success_and_sync_batches() {
    let f = Fakes::new(&["pacman", "paru"]);
    f.sb.source("config/nvim/init.lua", "-- nvim\n");
    f.sb.write_registry(REGISTRY);
    f.preinstall("pacman", &["htop", "vim"]);

    // install: the manager's own output streams through, then the record.
    let (so, se) = f.run(&["install", "ripgrep", "fd"], 0);
    assert!(so.contains("installing ripgrep..."), "{so}");
    assert!(
        se.contains("pacman -S --needed --noconfirm ripgrep fd"),
        "{se}"
    );
    assert_eq!(f.changes(), ["pacman -S --needed --noconfirm ripgrep fd"]);
    let text = std::fs::read_to_string(f.sb.registry()).unwrap();
    assert_eq!(
        text,
        format!("{REGISTRY}\npackages:\n  - ripgrep\n  - fd\n")
    );

    // A failure explains itself and records nothing.
    f.clear_log();
    let (_, se) = f.run(&["install", "jq", "nosuch-tool"], 1);
    assert!(se.contains("error: target not found: nosuch-tool"), "{se}");
    assert!(se.contains("pacman could not find 'nosuch-tool'"), "{se}");
    assert!(se.contains("--manager paru"), "{se}");
    assert_eq!(std::fs::read_to_string(f.sb.registry()).unwrap(), text);
    // Bad names never reach the manager.
    f.clear_log();
    let (_, se) = f.run(&["install", "--", "--noconfirm"], 2);
    assert!(se.contains("not a package name"), "{se}");
    assert!(f.calls().is_empty());

    // sync: one batched call per manager for what is missing, paru as the user.
    let mut reg = std::fs::read_to_string(f.sb.registry()).unwrap();
    reg.push_str(
        "  - bat # cat with wings\n  - htop\n  - jq\n  - {name: yay-bin, manager: paru}\n",
    );
    f.sb.write_registry(&reg);
    f.clear_log();
    let (so, _) = f.run(&["sync"], 0);
    assert!(so.contains("Packages: installed 3 missing."), "{so}");
    assert_eq!(
        f.changes(),
        [
            "pacman -S --needed --noconfirm bat jq",
            "paru -S --needed --noconfirm yay-bin"
        ]
    );
    assert!(f.sb.h(".config/nvim/init.lua").exists(), "links made too");
    if rustix::process::geteuid().is_root() {
        let users = std::fs::read_to_string(f.log.with_extension("log.users")).unwrap();
        assert_eq!(users.trim(), "nobody", "paru must never run as root");
    }

    // Nothing missing: no install at all; --no-packages does not even ask.
    f.clear_log();
    let (so, _) = f.run(&["sync"], 0);
    assert!(
        so.contains("Packages: all 6 declared are installed."),
        "{so}"
    );
    assert!(f.changes().is_empty(), "{:?}", f.calls());
    reg.push_str("  - tmux\n");
    f.sb.write_registry(&reg);
    f.clear_log();
    f.run(&["sync", "--no-packages"], 0);
    assert!(f.calls().is_empty(), "{:?}", f.calls());
    // --dry-run prints the command and runs nothing that changes the system.
    let (so, _) = f.run(&["sync", "--dry-run"], 0);
    assert!(
        so.contains("would run `pacman -S --needed --noconfirm tmux`"),
        "{so}"
    );
    assert!(f.changes().is_empty());

    // status: missing and undeclared; --check fails on missing.
    let (so, _) = f.run(&["status"], 0);
    assert!(
        so.contains("packages    pacman: 6 declared, 1 missing, 1 installed but not declared"),
        "{so}"
    );
    assert!(so.contains("missing      tmux"), "{so}");
    assert!(so.contains("undeclared   vim"), "{so}");
    f.run(&["status", "--check"], 1);
    let v: serde_json::Value = serde_json::from_str(&f.run(&["--json", "status"], 0).0).unwrap();
    let pac = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["manager"] == "pacman")
        .unwrap();
    assert_eq!(pac["missing"], serde_json::json!(["tmux"]));
    assert_eq!(pac["undeclared"], serde_json::json!(["vim"]));

    // uninstall: through the manager, then unrecorded (comments kept).
    f.clear_log();
    f.run(&["uninstall", "fd", "bat"], 0);
    assert_eq!(f.changes(), ["pacman -R --noconfirm fd bat"]);
    let after = std::fs::read_to_string(f.sb.registry()).unwrap();
    assert!(!after.contains("- fd") && !after.contains("bat"), "{after}");
    assert!(after.starts_with("# my machine\n") && after.contains("# the editor"));
    // The AUR package goes back through paru.
    f.clear_log();
    f.run(&["uninstall", "yay-bin"], 0);
    assert_eq!(f.changes(), ["paru -R --noconfirm yay-bin"]);
    assert!(!std::fs::read_to_string(f.sb.registry())
        .unwrap()
        .contains("yay"));
    // A failed removal keeps the record.
    let before = std::fs::read_to_string(f.sb.registry()).unwrap();
    f.run(&["uninstall", "tmux"], 1);
    assert_eq!(std::fs::read_to_string(f.sb.registry()).unwrap(), before);
}

#[test]
fn dnf_and_brew_command_lines() {
    let f = Fakes::new(&["dnf", "brew"]);
    f.sb.write_registry("version: 1.0\npackages: [git] # flow style is kept\n");
    f.preinstall("dnf", &["git"]);

    f.run(&["--manager", "dnf", "install", "tmux"], 0);
    f.run(&["--manager", "brew", "install", "wget"], 0);
    assert_eq!(
        f.changes(),
        ["dnf install -y tmux", "brew install wget"],
        "brew ran with HOMEBREW_NO_AUTO_UPDATE=1 (the fake refuses otherwise)"
    );
    let text = std::fs::read_to_string(f.sb.registry()).unwrap();
    // Not the system's own manager here (that is apt-get, or none), so
    // each is recorded with its manager.
    assert!(
        text.contains("packages: [git, {name: tmux, manager: dnf}, {name: wget, manager: brew}] # flow style is kept"),
        "{text}"
    );

    let (_, se) = f.run(&["--manager", "brew", "install", "nosuch-x"], 1);
    assert!(se.contains("brew could not find 'nosuch-x'"), "{se}");
    let (_, se) = f.run(&["--manager", "dnf", "install", "nosuch-y"], 1);
    assert!(se.contains("dnf could not find 'nosuch-y'"), "{se}");
    assert_eq!(std::fs::read_to_string(f.sb.registry()).unwrap(), text);

    // Declared for dnf, so removed through dnf without --manager.
    f.clear_log();
    f.run(&["uninstall", "tmux"], 0);
    assert_eq!(f.changes(), ["dnf remove -y tmux"]);

    // sync with the default manager named: one call each, brew's packages
    // through brew.
    f.sb.write_registry(
        "version: 1.0\npackages:\n  - git\n  - jq\n  - {name: fzf, manager: brew}\n",
    );
    f.clear_log();
    f.run(&["--manager", "dnf", "sync"], 0);
    assert_eq!(f.changes(), ["dnf install -y jq", "brew install fzf"]);
    let v: serde_json::Value =
        serde_json::from_str(&f.run(&["--json", "--manager", "dnf", "sync"], 0).0).unwrap();
    assert_eq!(v["packages"]["commands"], serde_json::json!([]));
}

#[test]
fn errors_name_the_field() {
    let f = Fakes::new(&["pacman"]);
    f.sb.write_registry(
        "version: 1.0\npackages:\n  - ok\n  - {name: x, manager: yum}\n  - \"-rf\"\n",
    );
    let (_, se) = f.run(&["check"], 2);
    assert!(
        se.contains("packages[1].manager: unknown package manager 'yum'"),
        "{se}"
    );
    assert!(
        se.contains("packages[2]: '-rf' is not a package name"),
        "{se}"
    );
    let (_, se) = f.run(&["--manager", "yum", "status"], 2);
    assert!(se.contains("unknown package manager 'yum'"), "{se}");
    // install validates the registry before touching the system.
    f.run(&["install", "jq"], 2);
    assert!(f.changes().is_empty());
}

/// The real apt path: installs and removes Debian's small `hello` package.
#[test]
fn real_apt_install_and_uninstall() {
    if !rustix::process::geteuid().is_root() || std::env::var_os("CI").is_none() {
        eprintln!("skipping real_apt_install_and_uninstall: needs root and CI set (it installs a real package)");
        return;
    }
    let sb = Sandbox::new();
    sb.write_registry("version: 1.0\n# packages for this machine\npackages:\n");
    let dpkg_installed = || {
        std::process::Command::new("dpkg-query")
            .args(["-W", "-f", "${db:Status-Abbrev}", "hello"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).starts_with("ii"))
            .unwrap_or(false)
    };
    sb.run(&["--manager", "apt", "install", "hello"], 0);
    assert!(dpkg_installed(), "hello is installed");
    assert_eq!(
        std::fs::read_to_string(sb.registry()).unwrap(),
        "version: 1.0\n# packages for this machine\npackages:\n  - hello\n"
    );
    let v = sb.json(&["--manager", "apt", "status"], 0);
    assert_eq!(v["packages"][0]["missing"], serde_json::json!([]));
    sb.run(&["--manager", "apt", "uninstall", "hello"], 0);
    assert!(!dpkg_installed(), "hello is removed");
    assert!(!std::fs::read_to_string(sb.registry())
        .unwrap()
        .contains("hello"));
}
