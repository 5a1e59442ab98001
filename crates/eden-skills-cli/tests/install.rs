//! `install`: sources, discovery, selection, agent detection
//! (docs/eden-skills/README.md#install-source, behaviour.md#agents).

mod common;
use common::*;

fn multi(sb: &Sandbox) -> String {
    sb.repo(
        "multi",
        &[
            ("README.md", "a collection\n"),
            (
                "skills/pdf/SKILL.md",
                "---\nname: pdf\ndescription: Read PDFs\n---\n",
            ),
            (
                "skills/web/SKILL.md",
                "---\nname: web-search\ndescription: Search the web\n---\n",
            ),
            ("skills/web/run.py", "print(1)\n"),
            ("LICENSE", "MIT License\n"),
        ],
    )
}

#[test]
fn url_install_discovers_and_targets_detected_agents() {
    let sb = Sandbox::new();
    let url = multi(&sb);
    std::fs::create_dir_all(sb.home.join(".cursor")).unwrap();
    std::fs::create_dir_all(sb.home.join(".config/opencode")).unwrap();
    // --list: JSON, nothing written.
    let (rc, v, _) = sb.json(&["install", &url, "--list", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(
        v,
        serde_json::json!([
            {"name": "pdf", "description": "Read PDFs", "subpath": "skills/pdf"},
            {"name": "web-search", "description": "Search the web", "subpath": "skills/web"}
        ])
    );
    assert!(!sb.config.exists());
    // Unknown --skill: exit 2 naming the available ones.
    let o = sb.run(&["install", &url, "--skill", "nope"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("Available skills: pdf, web-search"),
        "{}",
        stderr(&o)
    );
    assert!(!sb.config.exists());
    // Non-interactive without --skill: all of them, to cursor and opencode.
    let (rc, v, err) = sb.json(&["install", &url, "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["status"], "installed");
    assert_eq!(v["skills"], serde_json::json!(["pdf", "web-search"]));
    assert!(err.contains("Created config at"), "{err}");
    for root in [".cursor/skills", ".config/opencode/skills"] {
        for id in ["pdf", "web-search"] {
            assert!(
                sb.home.join(root).join(id).join("SKILL.md").is_file(),
                "{root}/{id}"
            );
        }
    }
    assert!(
        !sb.home.join(".claude").exists(),
        "claude-code was not detected"
    );
    let (_, l, _) = sb.json(&["list", "--json"]);
    assert_eq!(
        l["skills"][0]["source"]["ref"], "main",
        "the default branch is persisted"
    );
    assert_eq!(l["skills"][1]["source"]["subpath"], "skills/web");
    // Re-install after claude-code appears: it is added, the others kept.
    std::fs::create_dir_all(sb.home.join(".claude")).unwrap();
    let (rc, _, _) = sb.json(&["install", &url, "--skill", "pdf", "--json"]);
    assert_eq!(rc, 0);
    assert!(sb.claude("pdf").is_symlink());
    let (_, l, _) = sb.json(&["list", "--json"]);
    let agents: Vec<&str> = l["skills"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["agent"].as_str().unwrap())
        .collect();
    assert_eq!(agents, vec!["cursor", "opencode", "claude-code"]);
    assert!(stdout(&sb.run(&["doctor", "--no-warning"])).contains("no issues detected"));
}

#[test]
fn local_install_with_id_copy_and_explicit_targets() {
    let sb = Sandbox::new();
    let dir = sb.root().join("my-skill");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("SKILL.md"), "---\nname: helper\n---\nhelp\n").unwrap();
    let o = sb.run(&[
        "install",
        "./my-skill",
        "--id",
        "mine",
        "--copy",
        "-t",
        "codex",
        "-t",
        "custom:/dev/null/never",
    ]);
    // The custom root cannot be created: that target fails the skill (exit
    // 1), the codex copy before it stays.
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("'mine' inject failed (permanent)"),
        "{}",
        stderr(&o)
    );
    let o = sb.run(&["set", "mine", "-t", "codex"]);
    assert_eq!(code(&o), 0);
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0, "{v}");
    let t = sb.home.join(".codex/skills/mine");
    assert!(t.is_dir() && !t.is_symlink());
    let (_, l, _) = sb.json(&["list", "--json"]);
    assert_eq!(l["skills"][0]["source"]["repo"], dir.display().to_string());
    assert_eq!(l["skills"][0]["install"]["mode"], "copy");
}

#[test]
fn no_agents_detected_defaults_to_claude_code() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("solo");
    let o = sb.run(&["install", &url]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains(
        "warning: No installed agents detected; defaulting to claude-code (~/.claude/skills/)"
    ));
    assert!(sb.claude("solo").join("SKILL.md").is_file());
}

#[test]
fn a_directory_without_skill_md_is_installed_as_is() {
    let sb = Sandbox::new();
    let url = sb.repo("plain", &[("notes/a.md", "a\n")]);
    let o = sb.run(&["install", &url, "--skill", "x"]);
    assert_eq!(code(&o), 2);
    let o = sb.run(&["install", &url, "-t", "claude-code"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("No SKILL.md found; installing directory as-is."));
    assert!(sb.claude("plain").join("notes/a.md").is_file());
}

#[test]
fn dry_run_writes_nothing_outside_tmpdir() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("dry");
    let (rc, v, _) = sb.json(&["install", &url, "--dry-run", "--json", "-t", "claude-code"]);
    assert_eq!(rc, 0);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["skill"], "dry");
    assert_eq!(v["resolved"]["repo"], url.as_str());
    assert_eq!(v["resolved"]["ref"], "main");
    assert_eq!(v["resolved"]["commit"], sb.head("dry"));
    assert_eq!(
        v["targets"][0]["path"],
        sb.claude("dry").display().to_string()
    );
    assert_eq!(
        std::fs::read_dir(&sb.home).unwrap().count(),
        0,
        "HOME untouched"
    );
    let leftovers = std::fs::read_dir(sb.root())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("eden-skills-discovery-")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn failed_fetch_writes_nothing_and_exits_1() {
    let sb = Sandbox::new();
    for src in [
        "http://127.0.0.1:9/nope.git".to_string(),
        format!("file://{}/absent", sb.root().display()),
    ] {
        let o = sb.run(&["install", &src]);
        assert_eq!(code(&o), 1, "{src}");
        assert!(!sb.config.exists());
    }
    let (rc, v, _) = sb.json(&["install", "http://127.0.0.1:9/nope.git", "--json"]);
    assert_eq!(rc, 1);
    assert_eq!(v["status"], "failed");
    assert_eq!(v["failures"][0]["kind"], "transient");
}

#[test]
fn conflicting_flags_are_usage_errors() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("f");
    assert_eq!(code(&sb.run(&["install", &url, "--version", "1.0"])), 2);
    assert_eq!(
        code(&sb.run(&["install", "some-skill", "--ref", "main"])),
        2
    );
    let u = multi(&sb);
    let o = sb.run(&["install", &u, "--id", "one"]);
    assert_eq!(code(&o), 2, "--id with two skills selected");
}
