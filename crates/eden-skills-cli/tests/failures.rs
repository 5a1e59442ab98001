//! Failure records, classification, partial success and exit codes
//! (docs/eden-skills/exit-codes.md), security refusals (#security) and
//! the reactor's bound (behaviour.md#concurrency).

mod common;
use common::*;

#[test]
fn transient_failure_lets_the_others_install_and_exits_0() {
    let sb = Sandbox::new();
    let good = sb.skill_repo("good");
    sb.write_config(&format!(
        "{}{}",
        Sandbox::entry("net", "http://127.0.0.1:9/x.git"),
        Sandbox::entry("good", &good)
    ));
    let o = sb.run(&["apply"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("warning: 1 skill(s) failed"), "{err}");
    assert!(
        err.contains(
            "'net' clone failed (transient): connection refused: http://127.0.0.1:9/x.git"
        ),
        "{err}"
    );
    assert!(
        stdout(&o).contains("Syncing  1 cloned, 0 updated, 0 skipped, 1 failed"),
        "{}",
        stdout(&o)
    );
    assert!(sb.claude("good").join("SKILL.md").is_file());
    // The lock has the good skill only.
    let lock = sb.lock();
    let ids: Vec<&str> = lock["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["good"]);
    // --strict: the same transient failure exits 1.
    let (rc, v, _) = sb.json(&["apply", "--json", "--strict"]);
    assert_eq!(rc, 1);
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["failures"][0]["kind"], "transient");
    assert_eq!(v["failures"][0]["phase"], "clone");
}

#[test]
fn permanent_failures_exit_1_in_config_order_with_the_others_installed() {
    let sb = Sandbox::new();
    let good = sb.skill_repo("good");
    let missing = format!("file://{}/nowhere", sb.root().display());
    sb.write_config(&format!(
        "{}{}\n[[skills]]\nid = \"badref\"\nsource = {{ repo = \"{good}\", ref = \"no-such-branch\" }}\ntarget = \"local\"\n{}",
        Sandbox::entry("missing", &missing),
        Sandbox::entry("good", &good),
        Sandbox::entry("net", "http://127.0.0.1:9/y.git"),
    ));
    let (rc, v, err) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 1, "{err}");
    let f = v["failures"].as_array().unwrap();
    let ids: Vec<&str> = f.iter().map(|x| x["skill_id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["missing", "badref", "net"], "config order");
    assert_eq!(f[0]["phase"], "clone");
    assert_eq!(f[0]["kind"], "permanent");
    assert_eq!(f[0]["message"], format!("repository not found: {missing}"));
    assert_eq!(
        f[1]["phase"], "checkout",
        "a missing ref is a checkout failure"
    );
    assert_eq!(f[1]["kind"], "permanent");
    assert_eq!(f[2]["kind"], "transient");
    assert!(sb.claude("good").is_symlink());
    let statuses: Vec<&str> = v["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["failed", "installed", "failed", "failed"]);
    let o = sb.run(&["apply"]);
    assert!(stderr(&o).contains("error: 3 skill(s) failed"));
    assert!(stderr(&o)
        .contains("  ✗ 'badref' checkout failed (permanent): unknown ref 'no-such-branch' in "));
}

#[test]
fn a_failed_update_keeps_the_previous_installation() {
    let sb = Sandbox::new();
    let url = sb.skill_repo("keep");
    sb.write_config(&Sandbox::entry("keep", &url));
    assert_eq!(code(&sb.run(&["apply"])), 0);
    let before = sb.lock_skill(0);
    // Point the entry at a ref that does not exist: the skill fails, its
    // target and lock entry stay.
    let text = std::fs::read_to_string(&sb.config).unwrap();
    std::fs::write(
        &sb.config,
        text.replace(
            &format!("repo = \"{url}\""),
            &format!("repo = \"{url}\", ref = \"gone\""),
        ),
    )
    .unwrap();
    let o = sb.run(&["apply"]);
    assert_eq!(code(&o), 1);
    assert!(sb.claude("keep").join("SKILL.md").is_file());
    assert_eq!(sb.lock_skill(0), before);
}

#[test]
fn git_timeout_is_transient() {
    let mut sb = Sandbox::new();
    let url = sb.skill_repo("slow");
    sb.wrap_git("3");
    sb.env.push(("EDEN_SKILLS_GIT_TIMEOUT".into(), "1".into()));
    sb.write_config(&Sandbox::entry("slow", &url));
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["failures"][0]["kind"], "transient");
    assert!(v["failures"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("timed out after 1 s"));
    // No half-made cache is left behind.
    let repos = sb.home.join(".eden-skills/skills/.repos");
    assert_eq!(std::fs::read_dir(&repos).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn refused_urls_ids_and_subpaths_write_nothing() {
    let sb = Sandbox::new();
    for src in ["ext::sh -c touch% /tmp/eden-pwned", "-uhelp", "fd::7"] {
        let o = sb.run(&["install", "--", src]);
        assert_eq!(code(&o), 2, "{src}");
        assert!(stderr(&o).contains("UNSAFE_REPO_URL"), "{}", stderr(&o));
        assert!(!sb.config.exists(), "no config was created for {src}");
    }
    let url = sb.skill_repo("x");
    let o = sb.run(&["install", &url, "--id", "../../escape"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("INVALID_SKILL_ID"));
    assert!(!sb.config.exists());
    let o = sb.run(&["add", "--id", "a", "--repo", "ext::sh", "-t", "claude-code"]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("UNSAFE_REPO_URL"));
}

#[test]
fn warm_apply_and_plan_start_no_git() {
    let mut sb = Sandbox::new();
    let mut body = String::new();
    for i in 0..5 {
        let url = sb.skill_repo(&format!("w{i}"));
        body.push_str(&Sandbox::entry(&format!("w{i}"), &url));
    }
    sb.write_config(&body);
    let log = sb.wrap_git("0");
    assert_eq!(code(&sb.run(&["apply"])), 0);
    let all = log.with_extension("log.all");
    assert!(std::fs::read_to_string(&all).unwrap().lines().count() >= 5);
    std::fs::remove_file(&all).unwrap();
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["summary"]["noop"], 5);
    assert_eq!(code(&sb.run(&["plan", "--json"])), 0);
    assert_eq!(code(&sb.run(&["doctor"])), 0);
    assert!(
        !all.exists(),
        "git ran: {}",
        std::fs::read_to_string(&all).unwrap_or_default()
    );
}

#[test]
fn concurrency_never_exceeds_the_bound_and_reaches_it() {
    let mut sb = Sandbox::new();
    let mut body = String::new();
    for i in 0..8 {
        let url = sb.skill_repo(&format!("c{i}"));
        body.push_str(&Sandbox::entry(&format!("c{i}"), &url));
    }
    sb.write_config(&body);
    let log = sb.wrap_git("0.4");
    let o = sb.run(&["apply", "--concurrency", "3"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(peak_overlap(&log), 3);
    // From the environment, on a fresh storage.
    std::fs::remove_dir_all(sb.home.join(".eden-skills/skills")).unwrap();
    std::fs::remove_file(sb.config.with_file_name("skills.lock")).unwrap();
    std::fs::remove_dir_all(sb.home.join(".claude")).unwrap();
    std::fs::remove_file(&log).unwrap();
    let o = sb
        .cmd()
        .env("EDEN_SKILLS_CONCURRENCY", "2")
        .arg("apply")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    assert_eq!(peak_overlap(&log), 2);
    // From [reactor] when neither is given; the flag beats the variable.
    std::fs::remove_dir_all(sb.home.join(".eden-skills/skills")).unwrap();
    std::fs::remove_file(sb.config.with_file_name("skills.lock")).unwrap();
    std::fs::remove_dir_all(sb.home.join(".claude")).unwrap();
    std::fs::remove_file(&log).unwrap();
    sb.write_config(&format!("[reactor]\nconcurrency = 4\n{body}"));
    let o = sb.run(&["apply"]);
    assert_eq!(code(&o), 0);
    assert_eq!(peak_overlap(&log), 4);
}

#[test]
fn many_skills_onto_shared_roots_at_high_concurrency() {
    let sb = Sandbox::new();
    let url = sb.repo(
        "mono",
        &(0..40)
            .map(|i| (format!("s{i}/SKILL.md"), format!("skill {i}\n")))
            .collect::<Vec<_>>()
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect::<Vec<_>>(),
    );
    let mut body = String::new();
    for i in 0..40 {
        body.push_str(&format!(
            "\n[[skills]]\nid = \"s{i}\"\nsource = {{ repo = \"{url}\", subpath = \"s{i}\" }}\n[[skills.targets]]\nagent = \"claude-code\"\n[[skills.targets]]\nagent = \"cursor\"\n"
        ));
    }
    sb.write_config(&body);
    let (rc, v, err) = sb.json(&["apply", "--json", "--concurrency", "100"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["summary"]["created"], 80);
    assert_eq!(v["sync"]["cloned"], 1, "one repository, one clone");
    assert!(stdout(&sb.run(&["doctor", "--no-warning"])).contains("no issues detected"));
}

#[test]
fn ctrl_c_stops_new_work_and_exits_130() {
    let mut sb = Sandbox::new();
    let mut body = String::new();
    for i in 0..6 {
        let url = sb.skill_repo(&format!("i{i}"));
        body.push_str(&Sandbox::entry(&format!("i{i}"), &url));
    }
    sb.write_config(&body);
    let log = sb.wrap_git("1");
    let mut cmd = sb.std_cmd();
    let child = cmd
        .args(["apply", "--concurrency", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let k = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(k.success());
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed().as_secs() < 4,
        "the remaining skills were not fetched"
    );
    let clones = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| *l == "start")
        .count();
    assert!(clones < 6, "{clones} clones started");
    // What finished is usable: a second apply completes the rest.
    sb.env.retain(|(k, _)| k != "EDEN_TEST_GIT_SLEEP");
    sb.env.push(("EDEN_TEST_GIT_SLEEP".into(), "0".into()));
    assert_eq!(code(&sb.run(&["apply"])), 0);
    assert_eq!(sb.lock()["skills"].as_array().unwrap().len(), 6);
}
