//! plan/apply/repair/doctor/remove/clean: actions, lock, store, ownership,
//! verification (docs/eden-skills/lock.md, behaviour.md, exit-codes.md).

mod common;
use std::os::unix::fs::symlink;

use common::*;

const VECTOR: &str = "sha256:1cc2f0ddebe9e54f9b5a9d74fad02ae86ee03d918d463e2bc8499dc40ce87831";

#[test]
fn create_noop_update_remove_and_lock_fields() {
    let sb = Sandbox::new();
    let url = sb.repo("vec", &[("SKILL.md", "x\n")]);
    sb.write_config(&Sandbox::entry("vec", &url));
    // Plan before anything is fetched: create, pending.
    let (rc, plan, _) = sb.json(&["plan", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(plan[0]["action"], "create");
    assert_eq!(plan[0]["source_path"], "");
    assert_eq!(
        plan[0]["reasons"],
        serde_json::json!(["target path does not exist", "source not yet fetched"])
    );

    let (rc, v, err) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["command"], "apply");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["sync"]["cloned"], 1);
    assert_eq!(v["summary"]["created"], 1);
    assert_eq!(v["skills"][0]["status"], "installed");
    assert_eq!(
        v["skills"][0]["content_hash"], VECTOR,
        "the documented test vector (docs/eden-skills/lock.md)"
    );
    assert_eq!(v["skills"][0]["resolved_commit"], sb.head("vec"));
    assert_eq!(v["skills"][0]["targets"][0]["action"], "create");
    assert_eq!(v["verification"]["passed"], true);

    let link = sb.claude("vec");
    let store = sb
        .home
        .join(".eden-skills/skills/store")
        .join(VECTOR.trim_start_matches("sha256:"));
    assert_eq!(std::fs::read_link(&link).unwrap(), store);
    // The agent sees exactly the skill's files.
    let names: Vec<_> = std::fs::read_dir(&link)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["SKILL.md"]);

    let lock = sb.lock();
    assert_eq!(lock["version"].as_integer(), Some(1));
    let e = &lock["skills"].as_array().unwrap()[0];
    assert_eq!(e["id"].as_str(), Some("vec"));
    assert_eq!(e["source_repo"].as_str(), Some(url.as_str()));
    assert_eq!(e["source_ref"].as_str(), Some("main"));
    assert_eq!(e["source_subpath"].as_str(), Some("."));
    assert_eq!(e["resolved_commit"].as_str().unwrap(), sb.head("vec"));
    assert_eq!(e["content_hash"].as_str(), Some(VECTOR));
    assert_eq!(e["install_mode"].as_str(), Some("symlink"));
    let installed_at = e["installed_at"].as_str().unwrap().to_string();
    assert!(
        installed_at.ends_with('Z') && installed_at.len() == 20,
        "{installed_at}"
    );
    // Written from `~`, so the lock serves another HOME.
    assert_eq!(
        e["targets"][0]["path"].as_str().unwrap(),
        format!("~/{}", link.strip_prefix(&sb.home).unwrap().display())
    );
    assert!(e["targets"][0].get("environment").is_none());

    // Warm: noop, lock untouched.
    let lock_text = std::fs::read_to_string(sb.config.with_file_name("skills.lock")).unwrap();
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["summary"]["noop"], 1);
    assert_eq!(v["sync"]["skipped"], 1);
    assert_eq!(v["skills"][0]["status"], "unchanged");
    assert_eq!(
        std::fs::read_to_string(sb.config.with_file_name("skills.lock")).unwrap(),
        lock_text
    );
    let o = sb.run(&["plan"]);
    assert_eq!(stdout(&o).trim(), "0 actions (up to date)");

    // A new commit is not picked up while the lock matches (docs/eden-skills/lock.md)...
    sb.commit("vec", &[("SKILL.md", "y\n")]);
    let (_, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(v["summary"]["noop"], 1);
    // ...but a changed ref resolves afresh: update.
    let text = std::fs::read_to_string(&sb.config).unwrap();
    std::fs::write(
        &sb.config,
        text.replace(
            &format!("repo = \"{url}\""),
            &format!("repo = \"{url}\", ref = \"HEAD\""),
        ),
    )
    .unwrap();
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["summary"]["updated"], 1, "{v}");
    assert_eq!(
        std::fs::read_to_string(link.join("SKILL.md")).unwrap(),
        "y\n"
    );
    let e = sb.lock_skill(0);
    assert_eq!(e["resolved_commit"].as_str().unwrap(), sb.head("vec"));

    // Removed from the config: an orphan, removed by apply.
    sb.write_config("");
    let (_, plan, _) = sb.json(&["plan", "--json"]);
    assert_eq!(plan[0]["action"], "remove");
    assert_eq!(plan[0]["reasons"][0], "skill removed from configuration");
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["summary"]["removed"], 1);
    assert!(std::fs::symlink_metadata(&link).is_err());
    assert!(sb
        .lock()
        .get("skills")
        .is_none_or(|s| s.as_array().unwrap().is_empty()));
}

#[test]
fn conflicts_are_reported_never_written_and_strict_exits_3() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("mine");
    sb.write_config(&Sandbox::entry("mine", &url));
    let target = sb.claude("mine");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("notes.md"), "my own").unwrap();
    // The target does not hold the skill: verification fails, exit 1.
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 1, "{v}");
    assert_eq!(v["summary"]["conflicts"], 1);
    assert_eq!(v["skills"][0]["status"], "conflict");
    assert_eq!(v["verification"]["passed"], false);
    assert_eq!(
        std::fs::read_to_string(target.join("notes.md")).unwrap(),
        "my own"
    );
    let o = sb.run(&["apply", "--strict"]);
    assert_eq!(code(&o), 3);
    assert!(
        stderr(&o).contains("strict mode blocked apply: 1 conflict entries"),
        "{}",
        stderr(&o)
    );
    let (_, plan, _) = sb.json(&["plan", "--json"]);
    assert_eq!(plan[0]["action"], "conflict");
    assert_eq!(plan[0]["reasons"][0], "target exists but is not a symlink");
    // A foreign symlink is also left alone.
    std::fs::remove_dir_all(&target).unwrap();
    symlink("/tmp", &target).unwrap();
    let (_, plan, _) = sb.json(&["plan", "--json"]);
    assert_eq!(
        plan[0]["reasons"][0],
        "target is a symlink not managed by eden-skills"
    );
    assert_eq!(
        code(&sb.run(&["apply"])),
        1,
        "a conflict fails verification"
    );
    assert_eq!(
        std::fs::read_link(&target).unwrap(),
        std::path::Path::new("/tmp")
    );
    // remove deletes only what is recorded: this path never was.
    let (rc, v, _) = sb.json(&["remove", "mine", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["removed"][0], "mine");
    assert_eq!(
        std::fs::read_link(&target).unwrap(),
        std::path::Path::new("/tmp")
    );
}

#[test]
fn copy_mode_update_conflict_and_hash_mismatch() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("cp");
    sb.write_config(&format!(
        "\n[[skills]]\nid = \"cp\"\nsource = {{ repo = \"{url}\" }}\ninstall = {{ mode = \"copy\" }}\n[[skills.targets]]\nagent = \"claude-code\"\n[[skills.targets]]\nagent = \"cursor\"\n"
    ));
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["summary"]["created"], 2);
    let t = sb.claude("cp");
    assert!(t.is_dir() && !t.is_symlink());
    let (_, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(v["summary"]["noop"], 2);
    // A local edit: doctor reports it, plan says update (managed), repair restores.
    std::fs::write(t.join("SKILL.md"), "edited").unwrap();
    let (_, d, _) = sb.json(&["doctor", "--json"]);
    let codes: Vec<&str> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"CONTENT_HASH_MISMATCH"), "{d}");
    let (_, plan, _) = sb.json(&["plan", "--json"]);
    assert_eq!(plan[0]["action"], "update");
    assert_eq!(plan[0]["reasons"][0], "target content differs from source");
    let (rc, v, _) = sb.json(&["repair", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["command"], "repair");
    assert_eq!(v["summary"]["updated"], 1);
    assert!(std::fs::read_to_string(t.join("SKILL.md"))
        .unwrap()
        .contains("Do cp."));
    // A symlink where a copy belongs is a conflict.
    let c = sb.home.join(".cursor/skills/cp");
    std::fs::remove_dir_all(&c).unwrap();
    symlink(&t, &c).unwrap();
    let (_, plan, _) = sb.json(&["plan", "--json"]);
    assert_eq!(
        plan[1]["reasons"][0],
        "target is a symlink but install mode is copy"
    );
    // remove keeps an edited copy unless --force.
    std::fs::remove_file(&c).unwrap();
    std::fs::write(t.join("SKILL.md"), "edited again").unwrap();
    let (rc, v, _) = sb.json(&["remove", "cp", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["kept"][0]["path"], t.display().to_string());
    assert!(t.is_dir());
}

#[test]
fn broken_and_missing_targets_are_found_by_doctor_and_fixed_by_repair() {
    let sb = Sandbox::new();
    let a = sb.skill_repo("a");
    let b = sb.skill_repo("b");
    sb.write_config(&format!(
        "{}{}",
        Sandbox::entry("a", &a),
        Sandbox::entry("b", &b)
    ));
    assert_eq!(code(&sb.run(&["apply"])), 0);
    let o = sb.run(&["doctor"]);
    assert!(stdout(&o).contains("no issues detected"), "{}", stdout(&o));
    // a: deleted; b: its store entry deleted (broken symlink).
    std::fs::remove_file(sb.claude("a")).unwrap();
    let store_b = std::fs::read_link(sb.claude("b")).unwrap();
    std::fs::remove_dir_all(&store_b).unwrap();
    let (rc, d, _) = sb.json(&["doctor", "--json"]);
    assert_eq!(rc, 0, "findings do not fail without --strict");
    let find = |code: &str, id: &str| {
        d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == code && f["skill_id"] == id)
    };
    assert!(find("TARGET_PATH_MISSING", "a"), "{d}");
    assert!(find("BROKEN_SYMLINK", "b"), "{d}");
    assert!(find("SOURCE_MISSING", "b"), "{d}");
    assert!(d["summary"]["error"].as_u64().unwrap() >= 3);
    let o = sb.run(&["doctor", "--strict"]);
    assert_eq!(code(&o), 3);
    assert!(stdout(&o).contains("[BROKEN_SYMLINK] b"));
    // The store entry is re-exported from the cache without network.
    let (rc, v, err) = sb.json(&["repair", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["sync"]["cloned"], 0);
    assert!(sb.claude("a").join("SKILL.md").is_file());
    assert!(sb.claude("b").join("SKILL.md").is_file());
    assert!(stdout(&sb.run(&["doctor"])).contains("no issues detected"));
    // A corrupted store entry: doctor sees it, repair re-exports it.
    std::fs::write(
        std::fs::read_link(sb.claude("a")).unwrap().join("SKILL.md"),
        "tampered",
    )
    .unwrap();
    let (_, d, _) = sb.json(&["doctor", "--json"]);
    assert!(
        d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "CONTENT_HASH_MISMATCH"),
        "{d}"
    );
    assert_eq!(code(&sb.run(&["repair"])), 0);
    assert!(std::fs::read_to_string(sb.claude("a").join("SKILL.md"))
        .unwrap()
        .contains("Do a."));
}

#[test]
fn corrupted_lock_means_full_reconciliation() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("c");
    sb.write_config(&Sandbox::entry("c", &url));
    assert_eq!(code(&sb.run(&["apply"])), 0);
    std::fs::write(sb.config.with_file_name("skills.lock"), "this is [not toml").unwrap();
    let o = sb.run(&["apply"]);
    assert_eq!(code(&o), 0);
    assert!(
        stderr(&o).contains("warning: skills.lock is corrupted; performing full reconciliation")
    );
    // The managed symlink is recognised by its destination and kept in place.
    assert!(stdout(&o).contains("0 conflicts"), "{}", stdout(&o));
    assert_eq!(sb.lock()["skills"].as_array().unwrap().len(), 1);
}

#[test]
fn safety_metadata_never_enters_skill_folders_and_scans_no_git() {
    let sb = Sandbox::new();
    let url = sb.repo(
        "risky",
        &[
            ("SKILL.md", "---\nname: risky\n---\n"),
            ("tools/run.sh", "echo hi\n"),
            ("link", ""),
        ],
    );
    // A symlink escaping the tree is dropped; one inside is kept.
    let d = sb.root().join("repos/risky");
    std::fs::remove_file(d.join("link")).unwrap();
    symlink("/etc/passwd", d.join("link")).unwrap();
    symlink("tools/run.sh", d.join("inside")).unwrap();
    git(&d, &["add", "-A"]);
    git(&d, &["commit", "-q", "-m", "links"]);
    sb.write_config(&Sandbox::entry("risky", &url));
    let o = sb.run(&["apply"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("dropped symlink `link`"),
        "{}",
        stderr(&o)
    );
    let t = sb.claude("risky");
    let mut names: Vec<String> = std::fs::read_dir(&t)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, vec!["SKILL.md", "inside", "tools"]);
    let safety =
        std::fs::read_to_string(sb.home.join(".eden-skills/skills/.safety/risky.toml")).unwrap();
    assert!(safety.contains("license_status = \"unknown\""), "{safety}");
    assert!(safety.contains("contains-shell-script"));
    let (_, d, _) = sb.json(&["doctor", "--json"]);
    let codes: Vec<&str> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"LICENSE_UNKNOWN") && codes.contains(&"CONTAINS_SCRIPTS"),
        "{codes:?}"
    );
    // Scripts are information, listed; a binary asks for review.
    let scripts = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "CONTAINS_SCRIPTS")
        .unwrap();
    assert_eq!(scripts["severity"], "info");
    assert!(
        scripts["message"]
            .as_str()
            .unwrap()
            .ends_with("tools/run.sh"),
        "{scripts}"
    );
    assert!(!codes.contains(&"RISK_REVIEW_REQUIRED"), "{codes:?}");
    // --no-warning drops the warnings.
    let (_, d, _) = sb.json(&["doctor", "--json", "--no-warning"]);
    assert_eq!(d["summary"]["warning"], 0);
}

#[test]
fn metadata_only_skills_are_fetched_not_installed() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("meta");
    sb.write_config(&format!(
        "\n[[skills]]\nid = \"meta\"\nsource = {{ repo = \"{url}\" }}\nsafety = {{ no_exec_metadata_only = true }}\ntarget = \"local\"\n"
    ));
    let (rc, v, _) = sb.json(&["apply", "--json", "--strict"]);
    assert_eq!(rc, 0);
    assert_eq!(v["skills"][0]["status"], "skipped");
    assert!(!sb.claude("meta").exists());
    let e = sb.lock_skill(0);
    assert!(e
        .get("targets")
        .is_none_or(|t| t.as_array().unwrap().is_empty()));
    let (_, d, _) = sb.json(&["doctor", "--json"]);
    assert_eq!(d["findings"][0]["code"], "NO_EXEC_METADATA_ONLY");
}

#[test]
fn local_directory_sources_and_subpaths() {
    let sb = Sandbox::new();
    let dir = sb.root().join("mono");
    std::fs::create_dir_all(dir.join("packages/browser/.git")).unwrap();
    std::fs::write(dir.join("packages/browser/SKILL.md"), "x\n").unwrap();
    std::fs::write(dir.join("packages/browser/.git/HEAD"), "secret").unwrap();
    sb.write_config(&format!(
        "\n[[skills]]\nid = \"browser\"\nsource = {{ repo = \"{}\", subpath = \"packages/browser\" }}\ntarget = \"local\"\n",
        dir.display()
    ));
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["skills"][0]["content_hash"], VECTOR);
    assert_eq!(v["skills"][0]["resolved_commit"], serde_json::Value::Null);
    assert!(!sb.claude("browser").join(".git").exists());
    let e = sb.lock_skill(0);
    assert_eq!(e["resolved_commit"].as_str(), Some(""));
    // Missing subpath in a git repo: a checkout failure naming it.
    let url = sb.skill_repo("flat");
    sb.write_config(&format!("\n[[skills]]\nid = \"flat\"\nsource = {{ repo = \"{url}\", subpath = \"nope\" }}\ntarget = \"local\"\n"));
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 1);
    assert_eq!(v["failures"][0]["phase"], "checkout");
    assert!(v["failures"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("subpath 'nope' not found at "));
}

#[test]
fn clean_removes_only_unused_storage() {
    let sb = Sandbox::new();
    let a = sb.skill_repo("keep");
    let b = sb.skill_repo("drop");
    sb.write_config(&format!(
        "{}{}",
        Sandbox::entry("keep", &a),
        Sandbox::entry("drop", &b)
    ));
    assert_eq!(code(&sb.run(&["apply"])), 0);
    let (rc, v, _) = sb.json(&["remove", "drop", "-y", "--json"]);
    assert_eq!(rc, 0);
    assert!(!sb.claude("drop").exists());
    assert!(sb.claude("keep").exists());
    let (_, d, _) = sb.json(&["doctor", "--json"]);
    assert!(d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "ORPHAN_CACHE_ENTRY" && f["severity"] == "info"));
    let _ = v;
    let (rc, v, _) = sb.json(&["clean", "--dry-run", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["removed_cache_entries"].as_array().unwrap().len(), 1);
    assert_eq!(v["removed_store_entries"].as_array().unwrap().len(), 1);
    assert!(v["freed_bytes"].as_u64().unwrap() > 0);
    let (_, v, _) = sb.json(&["clean", "--json"]);
    assert_eq!(v["removed_store_entries"].as_array().unwrap().len(), 1);
    let (_, v, _) = sb.json(&["clean", "--json"]);
    assert!(v["removed_store_entries"].as_array().unwrap().is_empty());
    // What is in use still works, offline.
    assert!(stdout(&sb.run(&["doctor"])).contains("no issues detected"));
}

#[test]
fn remove_argument_rules() {
    let sb = Sandbox::new();
    sb.write_config("");
    let o = sb.run(&["remove"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("Nothing to remove."));
    let url = sb.skill_repo("r");
    sb.write_config(&format!(
        "{}{}",
        Sandbox::entry("r", &url),
        Sandbox::entry("s", &url)
    ));
    let o = sb.run(&["remove"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no skill IDs specified"));
    let o = sb.run(&["remove", "x"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("skill 'x' not found in config"));
    assert!(stderr(&o).contains("~> Available skills: r, s"));
    let o = sb.run(&["remove", "r", "x", "y"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("unknown skill(s): 'x', 'y'"));
    // Nothing changed by the refused call.
    let (_, l, _) = sb.json(&["list", "--json"]);
    assert_eq!(l["count"], 2);
}

#[test]
fn baseline_lock_without_hash_is_reexported_at_its_commit() {
    let sb = Sandbox::new();
    let url = sb.repo("old", &[("SKILL.md", "x\n")]);
    sb.write_config(&Sandbox::entry("old", &url));
    assert_eq!(code(&sb.run(&["apply"])), 0);
    let first = sb.head("old");
    sb.commit("old", &[("SKILL.md", "newer\n")]);
    // A baseline (Phase 1) lock: no content_hash; the store is gone too.
    let lock_path = sb.config.with_file_name("skills.lock");
    let text = std::fs::read_to_string(&lock_path).unwrap();
    let baseline: String = text
        .lines()
        .filter(|l| !l.starts_with("content_hash"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&lock_path, baseline).unwrap();
    std::fs::remove_dir_all(sb.home.join(".eden-skills/skills/store")).unwrap();
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(
        v["skills"][0]["resolved_commit"], first,
        "the locked commit, not the branch tip"
    );
    assert_eq!(v["skills"][0]["content_hash"], VECTOR);
    assert_eq!(sb.lock_skill(0)["content_hash"].as_str(), Some(VECTOR));
    assert_eq!(
        std::fs::read_to_string(sb.claude("old").join("SKILL.md")).unwrap(),
        "x\n"
    );
}

#[test]
fn colour_only_where_asked_and_never_in_json() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("col");
    sb.write_config(&Sandbox::entry("col", &url));
    let o = sb.run(&["--color", "always", "apply"]);
    assert!(stdout(&o).contains("\x1b["), "{}", stdout(&o));
    let o = sb.run(&["--color", "always", "apply", "--json"]);
    assert!(!stdout(&o).contains('\x1b'));
    let o = sb.run(&["apply"]);
    assert!(!stdout(&o).contains('\x1b'), "not a terminal under auto");
    let o = sb.run(&["--color", "never", "doctor"]);
    assert!(!stdout(&o).contains('\x1b'));
}

#[test]
fn remove_auto_clean_reports_what_it_cleaned() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("ac");
    sb.write_config(&Sandbox::entry("ac", &url));
    assert_eq!(code(&sb.run(&["apply"])), 0);
    let (rc, v, _) = sb.json(&["remove", "ac", "--auto-clean", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["action"], "remove");
    assert_eq!(v["config_path"], sb.config.display().to_string());
    assert_eq!(v["clean"]["action"], "clean");
    assert_eq!(
        v["clean"]["removed_store_entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        v["clean"]["removed_cache_entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(!sb.claude("ac").exists());
    assert_eq!(
        std::fs::read_dir(sb.home.join(".eden-skills/skills/store"))
            .unwrap()
            .count(),
        0
    );
}
