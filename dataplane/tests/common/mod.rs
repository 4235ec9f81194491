//! Running the real rvsd binary on DPDK's net_pcap device: a capture in, a capture out.
#![allow(dead_code)]

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};

/// net_pcap's port MAC: 02:70:63:61:70 ("pcap") and the port id.
pub const PCAP_PORT_MAC: [u8; 6] = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];

/// What one rvsd run left behind.
pub struct Run {
    /// rvsd's standard output (the final counters).
    pub stdout: String,
    /// rvsd's standard error (logs).
    pub stderr: String,
    /// Whether it exited 0.
    pub success: bool,
    /// The frames it transmitted, in order.
    pub sent: Vec<Vec<u8>>,
}

/// Run rvsd with one net_pcap port reading `frames` and writing what it sends; `config` is the
/// rest of the TOML after the `[[ports]]` table of that port (whose name is "lan" and whose
/// extra keys are `port_extra`). rvsd stops half a second after the input is drained.
pub fn run_rvsd(name: &str, port_extra: &str, config: &str, frames: &[Vec<u8>]) -> Run {
    let dir: PathBuf = std::env::temp_dir().join(format!("rvsd-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.pcap");
    let output = dir.join("out.pcap");
    {
        let mut w = PcapWriter::new(File::create(&input).unwrap()).unwrap();
        for (i, f) in frames.iter().enumerate() {
            w.write_packet(&PcapPacket::new(
                Duration::from_millis(i as u64),
                f.len() as u32,
                f,
            ))
            .unwrap();
        }
    }
    let toml = dir.join("rvsd.toml");
    std::fs::write(
        &toml,
        format!(
            "[control]\nsocket = \"{}\"\n[[ports]]\nname = \"lan\"\ndevice = \"net_pcap0\"\nargs = \"rx_pcap={},tx_pcap={}\"\n{port_extra}\n{config}",
            dir.join("rvsd.sock").display(),
            input.display(),
            output.display()
        ),
    )
    .unwrap();
    let prefix = format!("rvs-{name}-{}", std::process::id());
    let mut child = Command::new(env!("CARGO_BIN_EXE_rvsd"))
        .arg("--config")
        .arg(&toml)
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
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rvsd did not stop within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let mut sent = vec![];
    if let Ok(f) = File::open(&output) {
        let mut r = PcapReader::new(f).unwrap();
        while let Some(p) = r.next_packet() {
            sent.push(p.unwrap().data.into_owned());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        success: out.status.success(),
        sent,
    }
}

/// An ARP request from `src_mac`/`sender` for `target`, padded to 60 bytes.
pub fn arp_request(src_mac: [u8; 6], sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&sender);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target);
    f.resize(60, 0);
    f
}

/// `frame` with an 802.1Q tag for `vid`.
pub fn tagged(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&[0x81, 0x00]);
    f.extend_from_slice(&vid.to_be_bytes());
    f.extend_from_slice(&frame[12..]);
    f
}
