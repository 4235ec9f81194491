//! The hostile-frame corpus (ci/corpus: hostile.pcap, MANIFEST.tsv, hostile.toml) replayed
//! through the real rvsd on DPDK's net_pcap: it must not crash, must exit 0, and its final
//! counters must match the manifest — every frame received, the drops by reason exactly the
//! manifest's totals, the frames forwarded and answered — and nothing poisoned its view of the
//! real servers (the SYNs sent after the ARP claims still go to their MACs).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pcap_file::pcap::PcapReader;

const RS1_MAC: [u8; 6] = [0x02, 0x51, 0, 0, 0, 0x10];
const RS2_MAC: [u8; 6] = [0x02, 0x52, 0, 0, 0, 0x20];

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ci/corpus")
}

/// Manifest rows: (name, outcome).
fn manifest() -> Vec<(String, String)> {
    std::fs::read_to_string(corpus_dir().join("MANIFEST.tsv"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            (c[1].to_string(), c[2].to_string())
        })
        .collect()
}

/// The number after `key` on the line starting with `prefix`.
fn counter(out: &str, prefix: &str, key: &str) -> u64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{out}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == key)
        .unwrap_or_else(|| panic!("no {key} in {line:?}"));
    words[at + 1].parse().unwrap()
}

/// The "drops:" section of rvsd's final counters, by reason.
fn drops(out: &str) -> (u64, BTreeMap<String, u64>) {
    let mut lines = out.lines().skip_while(|l| !l.starts_with("drops:"));
    let head = lines
        .next()
        .unwrap_or_else(|| panic!("no drops line in:\n{out}"));
    let total = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut by = BTreeMap::new();
    for l in lines.take_while(|l| l.starts_with("  ")) {
        let w: Vec<&str> = l.split_whitespace().collect();
        by.insert(w[0].to_string(), w[1].parse().unwrap());
    }
    (total, by)
}

#[test]
fn the_hostile_corpus_through_rvsd_counts_every_frame_as_the_manifest_says() {
    let dir = std::env::temp_dir().join(format!("rvsd-robust-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let output = dir.join("out.pcap");
    let base = std::fs::read_to_string(corpus_dir().join("hostile.toml")).unwrap();
    let input = corpus_dir().join("hostile.pcap");
    let toml = base.replacen(
        "device = \"net_pcap0\"",
        &format!(
            "device = \"net_pcap0\"\nargs = \"rx_pcap={},tx_pcap={}\"",
            input.display(),
            output.display()
        ),
        1,
    ) + &format!(
        "\n[control]\nsocket = \"{}\"\n",
        dir.join("rvsd.sock").display()
    );
    let config = dir.join("rvsd.toml");
    std::fs::write(&config, toml).unwrap();
    let prefix = format!("rvs-robust-corpus-{}", std::process::id());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvsd"))
        .arg("--config")
        .arg(&config)
        .args(["--exit-when-idle", "0.5", "--"])
        .args([
            "-l",
            "0-1",
            "--no-huge",
            "-m",
            "256",
            "--no-shconf",
            "--no-pci",
        ])
        .args([
            "--no-telemetry",
            "--file-prefix",
            &prefix,
            "--log-level",
            "warning",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rvsd did not stop within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut sent = Vec::new();
    if let Ok(f) = File::open(&output) {
        let mut r = PcapReader::new(f).unwrap();
        while let Some(p) = r.next_packet() {
            sent.push(p.unwrap().data.into_owned());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);

    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        None,
        "rvsd killed by a signal:\n{stderr}"
    );
    assert!(out.status.success(), "rvsd failed:\n{stdout}\n{stderr}");

    let rows = manifest();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for (_, o) in &rows {
        *want.entry(o.clone()).or_default() += 1;
    }
    let forwarded = want.remove("forwarded").unwrap_or(0);
    let answered = want.remove("answered").unwrap_or(0);
    let consumed = want.remove("consumed").unwrap_or(0);
    let want_drops: u64 = want.values().sum();
    assert_eq!(
        forwarded + answered + consumed + want_drops,
        rows.len() as u64
    );

    assert_eq!(
        counter(&stdout, "engine:", "rx"),
        rows.len() as u64,
        "every frame of the pcap reached the engine:\n{stdout}"
    );
    assert_eq!(
        counter(&stdout, "engine:", "forwarded"),
        forwarded,
        "{stdout}"
    );
    assert_eq!(
        counter(&stdout, "engine:", "tx"),
        forwarded + answered,
        "sent = forwarded + answered:\n{stdout}"
    );
    assert_eq!(
        sent.len() as u64,
        forwarded + answered,
        "frames in the tx pcap"
    );
    let (total, by) = drops(&stdout);
    assert_eq!(total, want_drops, "{stdout}");
    assert_eq!(by, want, "drops by reason against the manifest:\n{stdout}");

    // Not poisoned: the SYNs sent after the ARP and ND claims (client ports 40200 and 40201)
    // still go to the real servers' own MACs.
    let by_port = |p: u16| -> Vec<u8> {
        sent.iter()
            .find(|f| {
                f.len() >= 38
                    && f[12..14] == [0x08, 0x00]
                    && f[23] == 6
                    && u16::from_be_bytes([f[34], f[35]]) == p
            })
            .unwrap_or_else(|| panic!("no frame from client port {p} sent"))
            .clone()
    };
    assert_eq!(&by_port(40200)[0..6], &RS1_MAC, "DR SYN after the claims");
    assert_eq!(&by_port(40201)[0..6], &RS2_MAC, "NAT SYN after the claims");
}
