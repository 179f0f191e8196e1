//! End-to-end tests of the `plover` binary, run as a user would run it.
//!
//! Each test starts the built binary with `std::process::Command` in its own temporary
//! directory and checks what it prints and leaves on disk: the demo under each overflow policy,
//! exact counts of `run`, a SIGKILL half-way and the resume, a full disk, `inspect` on damaged
//! bytes, bad flags.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn plover() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plover"));
    cmd.env_remove("RUST_LOG");
    cmd
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the binary starts");
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json_of(bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().rev().find(|l| l.starts_with('{')).expect("a JSON line");
    serde_json::from_str(line).expect("valid JSON")
}

fn ids(value: &Value) -> Vec<u64> {
    value.as_array().expect("an array").iter().map(|v| v.as_u64().expect("an id")).collect()
}

fn demo(policy: &str, stage_ms: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = run_ok(
        plover()
            .args(["demo", "--json", "--overflow", policy, "--stage-ms", stage_ms])
            .arg("--data-dir")
            .arg(dir.path()),
    );
    json_of(&out.stdout)
}

#[test]
fn demo_block_delivers_all_twenty_in_order() {
    let summary = demo("block", "10");
    assert_eq!(ids(&summary["delivered"]), (1..=20).collect::<Vec<_>>());
    assert_eq!(ids(&summary["evicted"]), Vec::<u64>::new());
    assert_eq!(ids(&summary["refused"]), Vec::<u64>::new());
    assert_eq!(summary["pending"], 0);
}

#[test]
fn demo_drop_oldest_evicts_and_the_consumer_ends_with_the_newest() {
    let summary = demo("drop-oldest", "50");
    let delivered = ids(&summary["delivered"]);
    let evicted = ids(&summary["evicted"]);
    assert_eq!(delivered.last(), Some(&20), "the newest message is delivered last");
    assert!(!evicted.is_empty(), "a slow stage makes drop-oldest evict");
    assert_eq!(delivered.len() + evicted.len(), 20, "every message delivered or evicted");
    assert!(summary["in_order"].as_bool().unwrap());
}

#[test]
fn demo_drop_newest_refuses_and_accounts_for_every_message() {
    let summary = demo("drop-newest", "50");
    let delivered = ids(&summary["delivered"]);
    let refused = ids(&summary["refused"]);
    assert!(!refused.is_empty());
    assert_eq!(delivered.len() + refused.len(), 20);
    assert_eq!(summary["pending"], 0, "refused messages are acknowledged as dropped");
}

#[test]
fn demo_killed_half_way_is_replayed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = plover()
        .args(["demo", "-q", "--messages", "10", "--stage-ms", "100", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(450));
    child.kill().unwrap();
    child.wait().unwrap();

    let out = run_ok(
        plover()
            .args(["demo", "--json", "--messages", "0", "--stage-ms", "1", "--data-dir"])
            .arg(dir.path()),
    );
    let summary = json_of(&out.stdout);
    let replayed = summary["replayed"].as_u64().unwrap();
    assert!(replayed > 0, "some messages were not acknowledged when killed");
    assert_eq!(ids(&summary["delivered"]).len() as u64, replayed);
    assert_eq!(ids(&summary["delivered"]).last(), Some(&10));
    assert_eq!(summary["pending"], 0);
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut f = fs::File::create(path).unwrap();
    for line in lines {
        writeln!(f, "{line}").unwrap();
    }
}

#[test]
fn run_counts_processed_and_dead_lettered_lines_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let mut lines = Vec::new();
    for i in 0..100 {
        lines.push(match i % 10 {
            3 => "{not json".to_string(),
            5 => format!(r#"{{"id":"{i}","name":"n{i}"}}"#),
            7 => format!(r#"{{"name":"n{i}"}}"#),
            _ => format!(r#"{{"id":{i},"name":"n{i}"}}"#),
        });
    }
    write_lines(&input, &lines);
    let data = dir.path().join("data");
    let output = dir.path().join("out.jsonl");
    let out = run_ok(
        plover()
            .arg("run")
            .arg(&input)
            .args(["--require", "id:int", "--require", "name:string", "--json", "--data-dir"])
            .arg(&data)
            .arg("--output")
            .arg(&output),
    );
    let metrics = json_of(&out.stdout);
    assert_eq!(metrics["processed"], 70);
    assert_eq!(metrics["dead_lettered"], 30);
    // A process is at least a megabyte; the figure is the run's own high-water mark.
    #[cfg(target_os = "linux")]
    assert!(metrics["peak_memory_bytes"].as_u64().is_some_and(|bytes| bytes > 1 << 20));
    let written = fs::read_to_string(&output).unwrap();
    assert_eq!(written.lines().count(), 70);
    let first: Value = serde_json::from_str(written.lines().next().unwrap()).unwrap();
    assert_eq!(first["_plover"]["source"]["line"], 1);
    assert!(first["_plover"]["correlation_id"].is_string());

    let listed = run_ok(plover().args(["dlq", "list", "--json"]).arg(&data));
    let letters: Vec<Value> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(letters.len(), 30);
    assert!(letters.iter().any(|l| l["reason"].as_str().unwrap().starts_with("malformed JSON")));

    // Replayed without the rules, the well-formed dead letters pass; the malformed ones stay.
    let replayed_out = dir.path().join("replayed.jsonl");
    run_ok(plover().args(["dlq", "replay"]).arg(&data).arg("--output").arg(&replayed_out));
    assert_eq!(fs::read_to_string(&replayed_out).unwrap().lines().count(), 20);
    let listed = run_ok(plover().args(["dlq", "list", "--json"]).arg(&data));
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 10);
}

#[test]
fn run_from_stdin_without_a_data_dir_prints_dead_letters_on_stderr() {
    let mut child = plover()
        .args(["run", "--require", "id:int"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"{\"id\":1}\n[1]\n\xff\xfe\n{\"id\":2}\n").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());

    let written: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(written.iter().map(|v| v["id"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(written[1]["_plover"]["source"]["file"], "<stdin>");
    assert_eq!(written[1]["_plover"]["source"]["line"], 4);

    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut letters: Vec<Value> = stderr
        .lines()
        .filter(|l| l.starts_with("{\"dead_letter\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(letters.len(), 2, "{stderr}");
    // The reader dead-letters bad UTF-8 itself, so the two may come in either order.
    letters.sort_by_key(|l| l["dead_letter"]["line"].as_u64());
    assert_eq!(letters[0]["dead_letter"]["line"], 2);
    assert!(letters[1]["dead_letter"]["reason"].as_str().unwrap().contains("UTF-8"));
}

#[test]
fn run_killed_with_sigkill_resumes_and_handles_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let total = 200_000u64;
    let lines: Vec<String> =
        (1..=total).map(|i| format!(r#"{{"id":{i},"pad":"xxxxxxxx"}}"#)).collect();
    write_lines(&input, &lines);
    let data = dir.path().join("data");
    let output = dir.path().join("out.jsonl");

    let mut child = plover()
        .arg("run")
        .arg(&input)
        .args(["-q", "--require", "id:int", "--fsync", "interval:50", "--data-dir"])
        .arg(&data)
        .arg("--output")
        .arg(&output)
        .spawn()
        .unwrap();
    // Kill once some output is there, so the kill lands half-way.
    let deadline = Instant::now() + Duration::from_secs(20);
    while fs::metadata(&output).map_or(0, |m| m.len()) < 200_000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success(), "the run was killed before it finished");

    let out = run_ok(
        plover()
            .arg("run")
            .arg(&input)
            .args(["--json", "--require", "id:int", "--data-dir"])
            .arg(&data)
            .arg("--output")
            .arg(&output),
    );
    let metrics = json_of(&out.stdout);
    assert!(
        metrics["skipped_on_resume"].as_u64().unwrap() > 0,
        "the second run resumed: {metrics}"
    );

    let mut seen = BTreeSet::new();
    for line in fs::read_to_string(&output).unwrap().lines() {
        let value: Value = serde_json::from_str(line).expect("every output line is whole JSON");
        seen.insert(value["id"].as_u64().unwrap());
    }
    let missing: Vec<u64> = (1..=total).filter(|i| !seen.contains(i)).take(5).collect();
    assert!(missing.is_empty(), "lines never handled, first ones: {missing:?}");
}

#[test]
fn run_interrupted_with_ctrl_c_drains_and_acknowledges_everything_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let lines: Vec<String> = (1..=300_000).map(|i| format!(r#"{{"id":{i}}}"#)).collect();
    write_lines(&input, &lines);
    let data = dir.path().join("data");
    let output = dir.path().join("out.jsonl");
    let child = plover()
        .arg("run")
        .arg(&input)
        .args(["--json", "--data-dir"])
        .arg(&data)
        .arg("--output")
        .arg(&output)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while fs::metadata(&output).map_or(0, |m| m.len()) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let metrics = json_of(&out.stdout);
    let read = metrics["read"].as_u64().unwrap();
    assert_eq!(metrics["processed"].as_u64().unwrap(), read, "everything read was handled");
    assert_eq!(metrics["acked"].as_u64().unwrap(), read, "and acknowledged");
    assert_eq!(fs::read_to_string(&output).unwrap().lines().count() as u64, read);
    assert_eq!(metrics["interrupted"], true, "the signal landed before the end: {metrics}");
    assert!(read < 300_000);
}

/// `/dev/full` answers every write with ENOSPC, as a full disk does.
#[cfg(target_os = "linux")]
#[test]
fn output_on_a_full_disk_fails_clearly_and_the_next_run_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let lines: Vec<String> = (0..500).map(|i| format!(r#"{{"id":{i}}}"#)).collect();
    write_lines(&input, &lines);
    let data = dir.path().join("data");

    let out = plover()
        .arg("run")
        .arg(&input)
        .args(["-q", "--output", "/dev/full", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a run that cannot write its output must fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot write the output"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Nothing written to /dev/full was acknowledged: the next run hands every line out.
    let output = dir.path().join("out.jsonl");
    run_ok(
        plover()
            .arg("run")
            .arg(&input)
            .args(["-q", "--data-dir"])
            .arg(&data)
            .arg("--output")
            .arg(&output),
    );
    let seen: BTreeSet<u64> = fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_u64().unwrap())
        .collect();
    assert_eq!(seen, (0..500).collect::<BTreeSet<u64>>());
}

#[test]
fn inspect_reports_bytes_flipped_in_a_segment() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let lines: Vec<String> = (1..=50).map(|i| format!(r#"{{"id":{i}}}"#)).collect();
    write_lines(&input, &lines);
    let data = dir.path().join("data");
    // drop-newest with a tiny queue would drop; block keeps every line, all acknowledged.
    run_ok(
        plover()
            .arg("run")
            .arg(&input)
            .args(["-q", "--output", "/dev/null", "--data-dir"])
            .arg(&data),
    );

    let segment = data.join("log").join("0000000001.plog");
    let mut bytes = fs::read(&segment).unwrap();
    let before = bytes.clone();
    for b in &mut bytes[200..210] {
        *b ^= 0xff;
    }
    fs::write(&segment, &bytes).unwrap();
    let flipped = fs::read(&segment).unwrap();

    let out = run_ok(plover().args(["inspect", "--json"]).arg(&data));
    let report = json_of(&out.stdout);
    let corruption = &report["log"]["corruption"];
    assert_eq!(corruption["corrupt_regions"], 1, "{report}");
    assert!(corruption["corrupt_bytes"].as_u64().unwrap() > 0);
    assert_eq!(report["log"]["clean"], false);
    assert_eq!(fs::read(&segment).unwrap(), flipped, "inspect leaves the log as it was");
    assert_ne!(flipped, before);

    let text = run_ok(plover().arg("inspect").arg(&data));
    assert!(String::from_utf8_lossy(&text.stdout).contains("corrupt region"));
}

#[test]
fn bad_flags_and_bad_directories_exit_non_zero_with_a_message() {
    for args in [
        &["demo", "--overflow", "drop-middle"][..],
        &["demo", "--capacity", "0"],
        &["run", "--fsync", "sometimes"],
        &["run", "--require", "id:integer"],
        &["frobnicate"],
    ] {
        let out = plover().args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(String::from_utf8_lossy(&out.stderr).contains("error"), "{args:?} says why");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = plover().arg("inspect").arg(dir.path().join("nowhere")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a directory"));

    let out = plover().arg("inspect").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no plover log"));

    // A data directory that is a file is named as such, and the file is left alone.
    let file = dir.path().join("a-file");
    fs::write(&file, b"x").unwrap();
    let out =
        plover().args(["run", "--data-dir"]).arg(&file).stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("data directory") && stderr.contains("is not a directory"), "{stderr}");
    assert_eq!(fs::read(&file).unwrap(), b"x");
}
