//! `lumina-fake-hyprland --socket PATH [--lua] [--log FILE]`: serves the
//! stand-in Hyprland request socket until killed, appending every request
//! to FILE (one per line). Used by `scripts/demo` and `bench/lumina`.

use std::io::Write;
use std::os::unix::net::UnixListener;

use lumina_fakes::{serve, Flavour};

fn main() {
    let mut socket = None;
    let mut log = None;
    let mut flavour = Flavour::Hyprlang;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--socket" => socket = args.next(),
            "--log" => log = args.next(),
            "--lua" => flavour = Flavour::Lua,
            _ => {
                eprintln!("usage: lumina-fake-hyprland --socket PATH [--lua] [--log FILE]");
                std::process::exit(2);
            }
        }
    }
    let Some(socket) = socket else {
        eprintln!("lumina-fake-hyprland: --socket PATH is required");
        std::process::exit(2);
    };
    let path = std::path::Path::new(&socket);
    if let Some(d) = path.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).unwrap_or_else(|e| {
        eprintln!("lumina-fake-hyprland: cannot listen at {socket}: {e}");
        std::process::exit(1);
    });
    for conn in listener.incoming() {
        let Ok(mut c) = conn else { continue };
        if let Some(req) = serve(&mut c, flavour) {
            if let Some(l) = &log {
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(l)
                {
                    let _ = writeln!(f, "{req}");
                }
            }
        }
    }
}
