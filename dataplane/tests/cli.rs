//! rvsd refuses a wrong configuration before touching DPDK, naming the key and the problem,
//! with exit status 2; `--check` validates without starting.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

fn rvsd(config: &str, extra: &[&str]) -> (i32, String, String) {
    // One directory per call: the tests run in parallel threads of one process.
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rvsd-cli-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rvsd.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rvsd"))
        .arg("--config")
        .arg(&path)
        .args(extra)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const GOOD: &str = r#"
[[ports]]
name = "lan"
device = "net_null0"
addresses = ["198.18.1.2/24"]
[[services]]
protocol = "tcp"
address = "198.18.1.200:80"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.10:80"
method = "dr"
"#;

#[test]
fn a_valid_configuration_passes_check() {
    let (code, out, err) = rvsd(GOOD, &["--check"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("configuration is valid"));
}

#[test]
fn a_wrong_weight_is_refused_with_its_key() {
    let bad = GOOD.replace("method = \"dr\"", "method = \"dr\"\nweight = 70000");
    let (code, _, err) = rvsd(&bad, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("services[0].real_servers[0].weight"), "{err}");
}

#[test]
fn an_unknown_key_is_refused_with_its_key() {
    let bad = GOOD.replace("scheduler = \"rr\"", "schedular = \"rr\"");
    let (code, _, err) = rvsd(&bad, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("schedular"), "{err}");
}

#[test]
fn a_syntax_error_names_the_file_and_line() {
    let (code, _, err) = rvsd("[[ports]\nname = 1", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("rvsd.toml"), "{err}");
    assert!(err.contains("line"), "{err}");
}

#[test]
fn a_missing_file_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_rvsd"))
        .args(["--config", "/nonexistent/rvsd.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/rvsd.toml"));
}

#[test]
fn a_bad_eal_argument_is_a_clear_error_not_a_crash() {
    let (code, _, err) = rvsd(GOOD, &["--", "--no-such-eal-flag"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("EAL"), "{err}");
}
