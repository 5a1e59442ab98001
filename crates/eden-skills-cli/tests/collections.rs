//! Real skill collections, reproduced in shape: front matter written the
//! many ways YAML allows, skills outside the known folders, names shared by
//! several skills, two collections with one skill name, a mode switch, a
//! conflict-only install and typos (docs/eden-skills/README.md#install-source).

mod common;
use common::*;
use serde_json::json;

fn skill(name: &str, front: &str) -> String {
    format!("---\nname: {name}\n{front}---\nUse {name}.\n")
}

/// A collection whose descriptions use block, folded, continued and
/// escaped scalars, with skills outside `skills/` and one front matter
/// that is not YAML.
fn yaml_shapes(sb: &Sandbox) -> String {
    sb.repo(
        "shapes",
        &[
            (
                "skills/block/SKILL.md",
                &skill("block", "description: |-\n  First line.\n  Second line.\n"),
            ),
            (
                "skills/folded/SKILL.md",
                &skill("folded", "description: >\n  Folded\n  into one.\n"),
            ),
            (
                "skills/continued/SKILL.md",
                &skill("continued", "description: Starts here\n  and goes on.\n"),
            ),
            (
                "skills/escaped/SKILL.md",
                &skill("escaped", "description: \"Say \\\"hi\\\" twice\"\n"),
            ),
            (
                "skills/quoted-end/SKILL.md",
                &skill("quoted-end", "description: ends with \"this\"\n"),
            ),
            (
                "preview/early/SKILL.md",
                &skill("early", "description: A preview skill\n"),
            ),
            (
                "template/SKILL.md",
                &skill("template", "description: Copy me\n"),
            ),
            (
                "skills/broken/SKILL.md",
                "---\nname: broken\ndescription: \"never closed\n---\nbody\n",
            ),
            (
                "node_modules/dep/SKILL.md",
                &skill("dep", "description: not a skill of this collection\n"),
            ),
            ("LICENSE", "MIT License\n"),
        ],
    )
}

#[test]
fn front_matter_is_read_as_yaml_and_every_skill_md_is_found() {
    let sb = Sandbox::new();
    let url = yaml_shapes(&sb);
    let (rc, v, err) = sb.json(&["install", &url, "--list", "--json"]);
    assert_eq!(rc, 0, "{err}");
    let got: Vec<(String, String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["subpath"].as_str().unwrap().to_string(),
                s["description"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("block", "skills/block", "First line.\nSecond line."),
        ("broken", "skills/broken", ""),
        ("continued", "skills/continued", "Starts here and goes on."),
        ("escaped", "skills/escaped", "Say \"hi\" twice"),
        ("folded", "skills/folded", "Folded into one."),
        ("quoted-end", "skills/quoted-end", "ends with \"this\""),
        // Outside the known folders, after them.
        ("early", "preview/early", "A preview skill"),
        ("template", "template", "Copy me"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
    // The broken front matter is a warning naming the file and line.
    assert!(
        err.contains("warning: skills/broken/SKILL.md: line ")
            && err.contains("using the folder name"),
        "{err}"
    );
    // --list wrote nothing: no config, no clone under the storage root.
    assert!(!sb.config.exists());
    assert!(
        !sb.home.join(".eden-skills").exists(),
        "--list left files under ~/.eden-skills"
    );
    // The human listing shows the subpaths.
    let o = sb.run(&["install", &url, "--list"]);
    assert!(stdout(&o).contains("preview/early"), "{}", stdout(&o));
    // A skill outside the known folders installs.
    let (rc, v, err) = sb.json(&[
        "install",
        &url,
        "-s",
        "template",
        "-t",
        "claude-code",
        "--json",
    ]);
    assert_eq!((rc, v["status"].as_str()), (0, Some("installed")), "{err}");
    assert!(sb.claude("template").join("SKILL.md").is_file());
}

fn duplicates(sb: &Sandbox) -> String {
    sb.repo(
        "plugins",
        &[
            (
                "plugins/itp/skills/setup/SKILL.md",
                &skill("setup", "description: set up itp\n"),
            ),
            (
                "plugins/gh/skills/setup/SKILL.md",
                &skill("setup", "description: set up gh\n"),
            ),
            (
                "plugins/gh/skills/review/SKILL.md",
                &skill("review", "description: review\n"),
            ),
            ("LICENSE", "MIT License\n"),
        ],
    )
}

#[test]
fn skills_sharing_a_name_are_selected_by_path_and_all_get_unique_ids() {
    let sb = Sandbox::new();
    let url = duplicates(&sb);
    // A shared name cannot pick one: exit 2 listing the paths to use.
    let o = sb.run(&["install", &url, "-s", "setup", "-t", "claude-code"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("2 skills are named 'setup'"), "{err}");
    assert!(
        err.contains("-s plugins/itp/skills/setup") && err.contains("-s plugins/gh/skills/setup"),
        "{err}"
    );
    assert!(!sb.config.exists());
    // A typo gets a suggestion.
    let o = sb.run(&["install", &url, "-s", "reveiw", "-t", "claude-code"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("did you mean 'review'"),
        "{}",
        stderr(&o)
    );
    let o = sb.run(&["install", &url, "-s", "REVIEW", "-t", "claude-code"]);
    assert!(
        stderr(&o).contains("did you mean 'review'"),
        "{}",
        stderr(&o)
    );
    // By subpath: that one skill, under its own name.
    let (rc, v, err) = sb.json(&[
        "install",
        &url,
        "-s",
        "plugins/gh/skills/setup",
        "-t",
        "claude-code",
        "--json",
    ]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["skills"], json!(["setup"]));
    let md = std::fs::read_to_string(sb.claude("setup").join("SKILL.md")).unwrap();
    assert!(md.contains("set up gh"));
    // --all into a fresh home: every skill, the shared names made unique.
    let sb2 = Sandbox::new();
    let url2 = duplicates(&sb2);
    let (rc, v, err) = sb2.json(&["install", &url2, "--all", "-t", "claude-code", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["skills"], json!(["review", "gh-setup", "itp-setup"]));
    assert!(
        err.contains("installed as `itp-setup`") && err.contains("installed as `gh-setup`"),
        "{err}"
    );
    let md = std::fs::read_to_string(sb2.claude("itp-setup").join("SKILL.md")).unwrap();
    assert!(md.contains("set up itp"));
}

#[test]
fn a_skill_installed_from_another_collection_is_not_taken_over() {
    let sb = Sandbox::new();
    let a = sb.repo(
        "anthropic-like",
        &[
            (
                "skills/skill-creator/SKILL.md",
                &skill("skill-creator", "description: A\n"),
            ),
            ("LICENSE", "MIT License\n"),
        ],
    );
    let b = sb.repo(
        "community",
        &[
            (
                "skills/skill-creator/SKILL.md",
                &skill("skill-creator", "description: B\n"),
            ),
            ("LICENSE", "MIT License\n"),
        ],
    );
    let o = sb.run(&["install", &a, "-s", "skill-creator", "-t", "claude-code"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let before = std::fs::read_to_string(&sb.config).unwrap();
    let o = sb.run(&["install", &b, "-s", "skill-creator", "-t", "claude-code"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "error: skill 'skill-creator' is already installed from {a}; use --id NEW to install both, or --force to replace it"
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&sb.config).unwrap(),
        before,
        "config unchanged"
    );
    let md = std::fs::read_to_string(sb.claude("skill-creator").join("SKILL.md")).unwrap();
    assert!(md.contains("description: A"));
    // Re-installing from the same collection is not a takeover.
    let o = sb.run(&["install", &a, "-s", "skill-creator", "-t", "claude-code"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // --id installs both.
    let o = sb.run(&[
        "install",
        &b,
        "-s",
        "skill-creator",
        "--id",
        "skill-creator-b",
        "-t",
        "claude-code",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let md = std::fs::read_to_string(sb.claude("skill-creator-b").join("SKILL.md")).unwrap();
    assert!(md.contains("description: B"));
    // --force replaces.
    let o = sb.run(&[
        "install",
        &b,
        "-s",
        "skill-creator",
        "--force",
        "-t",
        "claude-code",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let md = std::fs::read_to_string(sb.claude("skill-creator").join("SKILL.md")).unwrap();
    assert!(md.contains("description: B"));
}

#[test]
fn switching_install_mode_converts_what_eden_skills_placed() {
    let sb = Sandbox::new();
    let url = sb.repo(
        "superpowers-like",
        &[
            (
                "skills/brainstorming/SKILL.md",
                &skill("brainstorming", "description: ideas\n"),
            ),
            ("LICENSE", "MIT License\n"),
        ],
    );
    let o = sb.run(&["install", &url, "-s", "brainstorming", "-t", "claude-code"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(sb.claude("brainstorming").is_symlink());
    let (rc, v, err) = sb.json(&[
        "install",
        &url,
        "-s",
        "brainstorming",
        "--copy",
        "-t",
        "cursor",
        "--json",
    ]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["status"], "installed", "{v}");
    // Both targets are copies now; the lock records both.
    let cursor = sb.home.join(".cursor/skills/brainstorming");
    for t in [sb.claude("brainstorming"), cursor.clone()] {
        assert!(t.is_dir() && !t.is_symlink(), "{}", t.display());
    }
    assert_eq!(
        sb.lock_skill(0)["targets"].as_array().unwrap().len(),
        2,
        "{:?}",
        sb.lock_skill(0)
    );
    // install --copy spells out copy mode's checks in the entry.
    let cfg = std::fs::read_to_string(&sb.config).unwrap();
    assert!(cfg.contains("checks = ["), "{cfg}");
    // And back to symlinks: the recorded copies are converted.
    let o = sb.run(&["set", "brainstorming", "--mode", "symlink"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = sb.run(&["apply"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(sb.claude("brainstorming").is_symlink() && cursor.is_symlink());
    // remove + clean leave nothing behind, and doctor agrees.
    let o = sb.run(&["remove", "brainstorming"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!sb.claude("brainstorming").exists() && !sb.claude("brainstorming").is_symlink());
    assert!(!cursor.is_symlink());
    let o = sb.run(&["clean"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = sb.run(&["doctor", "--no-warning"]);
    assert!(stdout(&o).contains("no issues detected"), "{}", stdout(&o));
}

#[test]
fn clean_keeps_what_a_live_link_uses_and_doctor_reports_dangling_links() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("pdf");
    let o = sb.run(&["install", &url, "-t", "claude-code"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let entry = std::fs::read_link(sb.claude("pdf")).unwrap();
    // The config and lock forget the skill; its link stays.
    sb.write_config("");
    std::fs::remove_file(sb.config.with_file_name("skills.lock")).unwrap();
    let (rc, v, err) = sb.json(&["clean", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["removed_store_entries"], json!([]), "{v}");
    assert!(entry.is_dir(), "the entry a live link points to is kept");
    // A link into the store whose entry is gone is reported.
    std::fs::remove_dir_all(&entry).unwrap();
    let (rc, v, _) = sb.json(&["doctor", "--json"]);
    assert_eq!(rc, 0);
    let found = v["findings"].as_array().unwrap().iter().any(|f| {
        f["code"] == "BROKEN_SYMLINK" && f["target_path"] == sb.claude("pdf").display().to_string()
    });
    assert!(found, "{v}");
    let o = sb.run(&["doctor"]);
    assert!(!stdout(&o).contains("✓"), "{}", stdout(&o));
}

#[test]
fn an_install_whose_every_target_is_a_conflict_fails() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("pdf");
    // The user's own pdf skill is in the way.
    std::fs::create_dir_all(sb.claude("pdf")).unwrap();
    std::fs::write(sb.claude("pdf").join("SKILL.md"), "mine\n").unwrap();
    let (rc, v, err) = sb.json(&["install", &url, "-t", "claude-code", "--json"]);
    assert_eq!(rc, 1, "{v} {err}");
    assert_eq!(v["status"], "conflict");
    assert_eq!(v["skills"], json!([]));
    assert!(err.contains("--id"), "{err}");
    assert_eq!(
        std::fs::read_to_string(sb.claude("pdf").join("SKILL.md")).unwrap(),
        "mine\n"
    );
    // A plain apply with that conflict fails verification (exit 1).
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 1, "{v}");
    assert_eq!(v["verification"]["passed"], false, "{v}");
    // Beside it with --id.
    let o = sb.run(&["install", &url, "--id", "pdf-2", "-t", "claude-code"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn typos_in_an_entry_are_errors_not_a_whole_repository() {
    let sb = Sandbox::new();
    let url = sb.repo(
        "docs",
        &[
            ("skills/pdf/SKILL.md", &skill("pdf", "description: p\n")),
            ("skills/xlsx/SKILL.md", &skill("xlsx", "description: x\n")),
        ],
    );
    sb.write_config(&format!(
        "\n[[skills]]\nid = \"pdf\"\nsource = {{ repo = \"{url}\", sub_path = \"skills/pdf\" }}\n[[skills.targets]]\nagent = \"claude-code\"\n"
    ));
    let o = sb.run(&["apply"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("INVALID_KEY") && stderr(&o).contains("did you mean `subpath`"),
        "{}",
        stderr(&o)
    );
    assert!(!sb.claude("pdf").exists());
    for (bad, fix) in [
        ("install = { mdoe = \"copy\" }", "mode"),
        ("verify = { enable = true }", "enabled"),
    ] {
        sb.write_config(&format!(
            "\n[[skills]]\nid = \"pdf\"\nsource = {{ repo = \"{url}\", subpath = \"skills/pdf\" }}\n{bad}\n[[skills.targets]]\nagent = \"claude-code\"\n"
        ));
        let o = sb.run(&["apply"]);
        assert_eq!(code(&o), 2, "{bad}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("did you mean `{fix}`")),
            "{}",
            stderr(&o)
        );
    }
    sb.write_config(&format!(
        "\n[[skills]]\nid = \"pdf\"\nsource = {{ repo = \"{url}\", subpath = \"skills/pdf\" }}\n[[skills.targets]]\nagnet = \"claude-code\"\n"
    ));
    let o = sb.run(&["apply"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did you mean `agent`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_lock_reproduces_an_install_in_another_home() {
    let a = Sandbox::new();
    let url = a.skill_repo("pdf");
    let o = a.run(&["install", &url, "-t", "claude-code", "-t", "cursor"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lock_text = std::fs::read_to_string(a.config.with_file_name("skills.lock")).unwrap();
    assert!(
        lock_text.contains("path = \"~/.claude/skills/pdf\"")
            && !lock_text.contains(&a.home.display().to_string()),
        "{lock_text}"
    );
    // Another HOME (another user, machine or CI runner) with the same two files.
    let b = Sandbox::new();
    std::fs::create_dir_all(b.config.parent().unwrap()).unwrap();
    std::fs::copy(&a.config, &b.config).unwrap();
    std::fs::copy(
        a.config.with_file_name("skills.lock"),
        b.config.with_file_name("skills.lock"),
    )
    .unwrap();
    let o = b.run(&["apply", "--frozen"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(b.claude("pdf").join("SKILL.md").is_file());
    assert!(b.home.join(".cursor/skills/pdf/SKILL.md").is_file());
    // A lock that disagrees names the paths.
    let edited = lock_text.replace("~/.cursor/skills/pdf", "~/.codex/skills/pdf");
    std::fs::write(b.config.with_file_name("skills.lock"), edited).unwrap();
    let o = b.run(&["apply", "--frozen"]);
    assert_eq!(code(&o), 3, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("config wants ~/.cursor/skills/pdf")
            && stderr(&o).contains("lock has ~/.codex/skills/pdf"),
        "{}",
        stderr(&o)
    );
    // An old lock with absolute paths still loads.
    let abs = lock_text.replace("\"~/", &format!("\"{}/", b.home.display()));
    std::fs::write(b.config.with_file_name("skills.lock"), abs).unwrap();
    let o = b.run(&["apply", "--frozen"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn only_the_wanted_ref_is_fetched_and_a_corrupt_side_branch_breaks_nothing_else() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("pdf");
    let d = sb.root().join("repos/pdf");
    // A tag on main, then a side branch whose new blob is lost from the
    // object store (a damaged remote).
    git(&d, &["tag", "v1"]);
    git(&d, &["checkout", "-q", "-b", "side"]);
    std::fs::write(d.join("extra.md"), "side branch content\n").unwrap();
    git(&d, &["add", "-A"]);
    git(&d, &["commit", "-q", "-m", "side"]);
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD:extra.md"])
        .current_dir(&d)
        .output()
        .unwrap();
    let blob = String::from_utf8_lossy(&out.stdout).trim().to_string();
    std::fs::remove_file(d.join(".git/objects").join(&blob[..2]).join(&blob[2..])).unwrap();
    git(&d, &["checkout", "-q", "main"]);
    // The default branch installs.
    let o = sb.run(&["install", &url, "-t", "claude-code"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // A tag is fetched by name.
    let o = sb.run(&[
        "install",
        &url,
        "--ref",
        "v1",
        "--id",
        "pdf-v1",
        "-t",
        "claude-code",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(sb.claude("pdf-v1").join("SKILL.md").is_file());
    // The corrupt branch is a permanent failure that says so.
    let (rc, v, err) = sb.json(&[
        "install",
        &url,
        "--ref",
        "side",
        "--id",
        "pdf-side",
        "-t",
        "claude-code",
        "--json",
    ]);
    assert_eq!(rc, 1, "{v} {err}");
    let msg = v["failures"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(v["failures"][0]["kind"], "permanent", "{v}");
    assert!(msg.contains("corrupt"), "{msg}");
    // And the installed skill still applies.
    let o = sb.run(&["apply"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn outdated_asks_each_repository_once() {
    let mut sb = Sandbox::new();
    let a = sb.repo(
        "many",
        &[
            ("skills/one/SKILL.md", &skill("one", "description: 1\n")),
            ("skills/two/SKILL.md", &skill("two", "description: 2\n")),
            ("skills/three/SKILL.md", &skill("three", "description: 3\n")),
        ],
    );
    let b = sb.skill_repo("solo");
    for u in [&a, &b] {
        let o = sb.run(&["install", u, "--all", "-t", "claude-code"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let log = sb.wrap_git("0");
    let (rc, v, err) = sb.json(&["outdated", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["skills"].as_array().unwrap().len(), 4, "{v}");
    let all = std::fs::read_to_string(log.with_extension("log.all")).unwrap_or_default();
    let calls = all.lines().filter(|l| l.contains(" ls-remote ")).count();
    assert_eq!(calls, 2, "{all}");
}

#[test]
fn update_reports_skills_that_appeared_or_disappeared_upstream() {
    let sb = Sandbox::new();
    let url = sb.repo(
        "growing",
        &[
            ("skills/keep/SKILL.md", &skill("keep", "description: k\n")),
            ("skills/old/SKILL.md", &skill("old", "description: o\n")),
        ],
    );
    let o = sb.run(&["install", &url, "--all", "-t", "claude-code"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (_, v, _) = sb.json(&["update", "--json"]);
    assert_eq!(v["collections"], json!([]), "{v}");
    // Upstream adds one skill and drops another.
    let d = sb.root().join("repos/growing");
    std::fs::remove_dir_all(d.join("skills/old")).unwrap();
    sb.commit(
        "growing",
        &[("skills/fresh/SKILL.md", &skill("fresh", "description: f\n"))],
    );
    let (rc, v, err) = sb.json(&["update", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        v["collections"],
        json!([{"repo": url, "ref": "main", "new": ["skills/fresh"], "gone": ["skills/old"]}]),
        "{v}"
    );
    let o = sb.run(&["update"]);
    assert!(stdout(&o).contains("new: skills/fresh"), "{}", stdout(&o));
    assert!(stdout(&o).contains("gone: skills/old"), "{}", stdout(&o));
}

#[test]
fn update_apply_counts_what_it_failed_to_install_and_columns_fit_long_ids() {
    let sb = Sandbox::new();
    let long = "a-skill-with-a-rather-long-name-for-columns";
    let url = sb.repo(
        "shrinking",
        &[
            ("skills/stays/SKILL.md", &skill("stays", "description: s\n")),
            (
                &format!("skills/{long}/SKILL.md"),
                &skill(long, "description: l\n"),
            ),
            ("skills/stays/run.py", "print(1)\n"),
            ("LICENSE", "MIT License\n"),
        ],
    );
    let o = sb.run(&["install", &url, "--all", "-t", "claude-code"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Scripts are information: --strict does not fail on them.
    let o = sb.run(&["doctor", "--strict"]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    assert!(
        stdout(&o).contains("no issues detected, 1 info"),
        "{}",
        stdout(&o)
    );
    // Upstream drops one skill's folder: its update cannot be applied.
    let d = sb.root().join("repos/shrinking");
    std::fs::remove_dir_all(d.join(format!("skills/{long}"))).unwrap();
    sb.commit(
        "shrinking",
        &[(
            "skills/stays/SKILL.md",
            &skill("stays", "description: s2\n"),
        )],
    );
    let o = sb.run(&["update", "--apply"]);
    assert_eq!(code(&o), 1, "{}{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("1 skill failure(s)"), "{out}");
    // Each row's status column starts at the same place.
    let cols: Vec<usize> = out
        .lines()
        .filter(|l| l.contains("new-commit"))
        .map(|l| l.find("new-commit").unwrap())
        .collect();
    assert_eq!(cols.len(), 2, "{out}");
    assert_eq!(cols[0], cols[1], "{out}");
}
