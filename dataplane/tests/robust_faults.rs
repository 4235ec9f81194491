//! rvsd started into faults it cannot run with: a port DPDK does not know (a virtual device
//! without a driver, a PCI address that does not exist), a bad EAL argument, no hugepages.
//! Each must end with a non-zero exit status and an error that names the problem and the fix
//! — never a crash (a signal) or a hang.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one rvsd run left behind.
struct Exit {
    code: Option<i32>,
    signal: Option<i32>,
    stderr: String,
}

/// Run rvsd with one port on `device` and the EAL arguments `eal`.
fn rvsd(name: &str, device: &str, eal: &[&str]) -> Exit {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("rvsd-faults-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("rvsd.toml");
    std::fs::write(
        &config,
        format!(
            "[control]\nsocket = \"{}\"\n[[ports]]\nname = \"lan\"\ndevice = \"{device}\"\naddresses = [\"198.18.1.2/24\"]\n",
            dir.join("rvsd.sock").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvsd"))
        .arg("--config")
        .arg(&config)
        .arg("--")
        .args(eal)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name}: rvsd still running after 60 s; it must fail at start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Exit {
        code: out.status.code(),
        signal: out.status.signal(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A clean failure: exit status 1 (rvsd's runtime error), no signal.
fn fails_cleanly(e: &Exit) {
    assert_eq!(e.signal, None, "killed by a signal:\n{}", e.stderr);
    assert_eq!(e.code, Some(1), "exit status:\n{}", e.stderr);
}

/// EAL arguments that keep a test private and small (no hugepages, no shared files).
const NO_HUGE: &[&str] = &[
    "-l",
    "0-1",
    "--no-huge",
    "-m",
    "256",
    "--no-shconf",
    "--no-telemetry",
];

#[test]
fn a_vdev_without_a_driver_is_an_error_naming_the_device() {
    let mut eal = NO_HUGE.to_vec();
    eal.push("--no-pci");
    let e = rvsd("vdev", "net_nonexistent0", &eal);
    fails_cleanly(&e);
    assert!(e.stderr.contains("net_nonexistent0"), "{}", e.stderr);
    assert!(e.stderr.contains("EAL"), "{}", e.stderr);
}

#[test]
fn a_pci_address_that_does_not_exist_is_an_error_naming_the_port_and_the_fix() {
    // Allow only that address, so that EAL probes no other PCI device of the machine.
    let mut eal = NO_HUGE.to_vec();
    eal.extend(["-a", "0000:ff:1f.7"]);
    let e = rvsd("pci", "0000:ff:1f.7", &eal);
    fails_cleanly(&e);
    assert!(e.stderr.contains("ports[0].device"), "{}", e.stderr);
    assert!(e.stderr.contains("0000:ff:1f.7"), "{}", e.stderr);
    assert!(e.stderr.contains("vfio-pci"), "{}", e.stderr);
}

#[test]
fn a_bad_eal_argument_is_an_error_naming_it() {
    let mut eal = NO_HUGE.to_vec();
    eal.extend(["--no-pci", "--no-such-eal-flag"]);
    let e = rvsd("eal", "net_null0", &eal);
    fails_cleanly(&e);
    assert!(e.stderr.contains("--no-such-eal-flag"), "{}", e.stderr);
    assert!(e.stderr.contains("EAL"), "{}", e.stderr);
}

/// The hugepage pools of every size, restored when dropped (also when the test fails).
struct Hugepages(Vec<(PathBuf, String)>);

impl Hugepages {
    /// Set every pool to 0 pages, remembering what it was.
    fn none() -> Hugepages {
        let mut saved = Vec::new();
        if let Ok(dir) = std::fs::read_dir("/sys/kernel/mm/hugepages") {
            for d in dir.flatten() {
                let p = d.path().join("nr_hugepages");
                if let Ok(v) = std::fs::read_to_string(&p) {
                    saved.push((p.clone(), v.trim().to_string()));
                    std::fs::write(&p, "0").unwrap();
                }
            }
        }
        Hugepages(saved)
    }
}

impl Drop for Hugepages {
    fn drop(&mut self) {
        for (p, v) in &self.0 {
            let _ = std::fs::write(p, v);
        }
    }
}

#[test]
fn no_hugepages_is_an_error_naming_the_fix() {
    if std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(1)
        != 0
    {
        println!("skipped: setting /proc/sys/vm/nr_hugepages to 0 needs root (CI runs as root)");
        return;
    }
    let e = {
        // As short as possible: other programs on the machine cannot get hugepages meanwhile
        // (pages already in use stay with them).
        let _none = Hugepages::none();
        rvsd(
            "huge",
            "net_null0",
            &["-l", "0-1", "--no-pci", "--no-telemetry"],
        )
    };
    fails_cleanly(&e);
    assert!(e.stderr.contains("--no-huge"), "{}", e.stderr);
    assert!(e.stderr.contains("nr_hugepages"), "{}", e.stderr);
}
