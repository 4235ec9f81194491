//! The real rvsd binary on DPDK's net_pcap device: LVS.md's DR lab as a capture replayed
//! through it. ARP for the director's addresses is answered, and four SYNs to the VIP leave
//! with only their MAC addresses changed, alternating between the two real servers.

use std::fs::File;
use std::process::Command;
use std::time::{Duration, Instant};

use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};

const ROUTER: [u8; 6] = [0x02, 0xee, 0, 0, 0, 0xfe];
const RS1: [u8; 6] = [0x02, 0x51, 0, 0, 0, 0x10];
const RS2: [u8; 6] = [0x02, 0x52, 0, 0, 0, 0x20];

fn arp_request(src_mac: [u8; 6], sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
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

fn syn(director_mac: [u8; 6], sport: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(ROUTER, director_mac)
        .ipv4([198, 18, 0, 2], [198, 18, 1, 200], 63)
        .tcp(sport, 80, 1, 64240)
        .syn()
        .write(&mut out, &[])
        .unwrap();
    out
}

#[test]
fn dr_lab_replayed_through_rvsd_on_net_pcap() {
    let dir = std::env::temp_dir().join(format!("rvsd-pcap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.pcap");
    let output = dir.join("out.pcap");
    // net_pcap's port MAC is fixed by the PMD; learn it from a first run's ARP reply is
    // circular, so address the SYNs to broadcast-free unicast we read back: the PMD's default
    // MAC is 02:70:63:61:70:00 + port id (drivers/net/pcap: "pcap" in ASCII).
    let director_mac = [0x02, 0x70, 0x63, 0x61, 0x70, 0x00];
    let mut frames = vec![
        arp_request(RS1, [198, 18, 1, 10], [198, 18, 1, 2]),
        arp_request(RS2, [198, 18, 1, 20], [198, 18, 1, 2]),
        arp_request(ROUTER, [198, 18, 1, 254], [198, 18, 1, 200]),
    ];
    for p in 0..4 {
        frames.push(syn(director_mac, 40000 + p));
    }
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
    let config = dir.join("rvsd.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[control]
socket = "{}"
[[ports]]
name = "lan"
device = "net_pcap0"
args = "rx_pcap={},tx_pcap={}"
addresses = ["198.18.1.2/24"]
[[routes]]
prefix = "0.0.0.0/0"
via = "198.18.1.254"
port = "lan"
[[services]]
protocol = "tcp"
address = "198.18.1.200:80"
scheduler = "rr"
[[services.real_servers]]
address = "198.18.1.10:80"
method = "dr"
[[services.real_servers]]
address = "198.18.1.20:80"
method = "dr"
"#,
            dir.join("rvsd.sock").display(),
            input.display(),
            output.display()
        ),
    )
    .unwrap();
    let prefix = format!("rvs-pcap-test-{}", std::process::id());
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
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rvsd did not stop within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        status.success(),
        "rvsd failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("drops: 0 total"), "{stdout}");

    let mut r = PcapReader::new(File::open(&output).unwrap()).unwrap();
    let mut sent = vec![];
    while let Some(p) = r.next_packet() {
        sent.push(p.unwrap().data.into_owned());
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(sent.len(), 7, "3 ARP replies and 4 SYNs: {stdout}");
    for (f, who) in sent[..3].iter().zip([RS1, RS2, ROUTER]) {
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[20..22], &[0, 2], "ARP reply");
        assert_eq!(&f[0..6], &who);
    }
    let mut macs = vec![];
    for (f, orig) in sent[3..].iter().zip(&frames[3..]) {
        assert_eq!(&f[14..], &orig[14..], "the IP packet is untouched");
        assert_eq!(&f[6..12], &director_mac);
        macs.push(<[u8; 6]>::try_from(&f[0..6]).unwrap());
    }
    assert!(
        macs == [RS2, RS1, RS2, RS1] || macs == [RS1, RS2, RS1, RS2],
        "{macs:?}"
    );
}
