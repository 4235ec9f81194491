//! Captures for rvs-replay tests, built with etherparse and written with pcap-file, and a
//! driver that runs a replay over files in a directory of its own.
#![allow(dead_code)]

use std::fs::File;
use std::io::BufWriter;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use etherparse::{NetHeaders, PacketBuilder, PacketHeaders, TransportHeader};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::TsResolution;

/// Capture time of the first frame in every test: an arbitrary absolute time with a
/// fractional part, so "zero = first packet" is visible (2023-11-14T22:13:20.25Z).
pub const EPOCH_NS: u64 = 1_700_000_000_250_000_000;
pub const SEC: u64 = 1_000_000_000;

pub const CLIENT_MAC: [u8; 6] = [0x02, 0xc1, 0, 0, 0, 0x02];
/// Some other host's MAC: the replay takes frames whatever their destination MAC.
pub const CAPTURED_DST_MAC: [u8; 6] = [0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc];
/// Port 0's MAC in the replay (documented in the crate).
pub const PORT0_MAC: [u8; 6] = [0x02, 0x72, 0x76, 0x73, 0x00, 0x01];

pub fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// A TCP segment from `client:sport` to `vip:dport`.
pub fn tcp(client: &str, sport: u16, vip: &str, dport: u16, syn: bool, ack: bool) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2(CLIENT_MAC, CAPTURED_DST_MAC)
        .ipv4(ip(client).octets(), ip(vip).octets(), 64)
        .tcp(sport, dport, 1000, 64240);
    if syn {
        b = b.syn();
    }
    if ack {
        b = b.ack(2000);
    }
    let mut out = Vec::new();
    b.write(&mut out, b"").unwrap();
    out
}

/// A TCP SYN.
pub fn syn(client: &str, sport: u16, vip: &str, dport: u16) -> Vec<u8> {
    tcp(client, sport, vip, dport, true, false)
}

/// A UDP datagram.
pub fn udp(client: &str, sport: u16, vip: &str, dport: u16) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(CLIENT_MAC, CAPTURED_DST_MAC)
        .ipv4(ip(client).octets(), ip(vip).octets(), 64)
        .udp(sport, dport)
        .write(&mut out, b"query")
        .unwrap();
    out
}

/// Write `frames` (time relative to [`EPOCH_NS`], frame) as a microsecond pcap.
pub fn write_pcap(path: &Path, frames: &[(u64, Vec<u8>)]) {
    write_pcap_res(path, frames, TsResolution::MicroSecond)
}

pub fn write_pcap_res(path: &Path, frames: &[(u64, Vec<u8>)], res: TsResolution) {
    let header = PcapHeader {
        ts_resolution: res,
        ..PcapHeader::default()
    };
    let mut w =
        PcapWriter::with_header(BufWriter::new(File::create(path).unwrap()), header).unwrap();
    for (t, f) in frames {
        let ts = Duration::from_nanos(EPOCH_NS + t);
        w.write_packet(&PcapPacket::new(ts, f.len() as u32, f))
            .unwrap();
    }
}

/// Frames of a pcap with their absolute times (ns) and the file's resolution.
pub fn read_pcap(path: &Path) -> (Frames, TsResolution) {
    let mut r = PcapReader::new(File::open(path).unwrap()).unwrap();
    let res = r.header().ts_resolution;
    assert_eq!(r.header().datalink, pcap_file::DataLink::ETHERNET);
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        out.push((p.timestamp.as_nanos() as u64, p.data.into_owned()));
    }
    (out, res)
}

/// A directory for one test's files.
pub fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("rvs-replay-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// One replay's inputs.
pub struct Case<'a> {
    pub name: &'a str,
    pub frames: Vec<(u64, Vec<u8>)>,
    pub timeline: Option<&'a str>,
    pub config: Option<&'a str>,
    pub out: bool,
}

impl<'a> Case<'a> {
    pub fn new(name: &'a str, frames: Vec<(u64, Vec<u8>)>) -> Self {
        Case {
            name,
            frames,
            timeline: None,
            config: None,
            out: false,
        }
    }

    pub fn timeline(mut self, t: &'a str) -> Self {
        self.timeline = Some(t);
        self
    }

    pub fn config(mut self, c: &'a str) -> Self {
        self.config = Some(c);
        self
    }

    pub fn with_out(mut self) -> Self {
        self.out = true;
        self
    }

    /// The files written and the options naming them.
    pub fn prepare(&self) -> rvs_replay::Options {
        let d = dir(self.name);
        let pcap = d.join("in.pcap");
        write_pcap(&pcap, &self.frames);
        let timeline = self.timeline.map(|t| {
            let p = d.join("ops.txt");
            std::fs::write(&p, t).unwrap();
            p
        });
        let config = self.config.map(|c| {
            let p = d.join("rvs.toml");
            std::fs::write(&p, c).unwrap();
            p
        });
        rvs_replay::Options {
            pcap,
            timeline,
            config,
            out: self.out.then(|| d.join("out.pcap")),
            decisions: d.join("decisions.jsonl"),
            max_connections: Some(1024),
        }
    }

    /// Run the replay; the decision lines, or the error's message.
    pub fn run(&self) -> Result<Replayed, String> {
        let opts = self.prepare();
        let summary = rvs_replay::run(&opts).map_err(|e| e.to_string())?;
        let text = std::fs::read_to_string(&opts.decisions).unwrap();
        let out = opts.out.as_deref().map(read_pcap);
        Ok(Replayed { text, out, summary })
    }
}

/// Frames of a capture with their absolute times (ns).
pub type Frames = Vec<(u64, Vec<u8>)>;

pub struct Replayed {
    /// The decisions file, verbatim.
    pub text: String,
    /// OUT.pcap's frames and resolution, when asked for.
    pub out: Option<(Frames, TsResolution)>,
    pub summary: rvs_replay::Summary,
}

impl Replayed {
    pub fn lines(&self) -> Vec<&str> {
        self.text.lines().collect()
    }

    /// The `"real"` of each decision line (`None` for null), with its `t`.
    pub fn reals(&self) -> Vec<(String, Option<String>)> {
        self.lines()
            .iter()
            .map(|l| {
                let t = field(l, "\"t\": ", ",");
                let real = field(l, "\"real\": ", "}");
                let real = (real != "null").then(|| real.trim_matches('"').to_string());
                (t, real)
            })
            .collect()
    }
}

fn field(line: &str, start: &str, end: &str) -> String {
    let i = line
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {line}"))
        + start.len();
    let rest = &line[i..];
    rest[..rest.find(end).unwrap()].to_string()
}

/// What a frame says, as read by etherparse, after checking every checksum against a full
/// recomputation.
#[derive(Debug, PartialEq, Eq)]
pub struct Seen {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub ttl: u8,
    pub sport: u16,
    pub dport: u16,
}

pub fn check(frame: &[u8]) -> Seen {
    let h = PacketHeaders::from_ethernet_slice(frame).expect("frame parses");
    let eth = h
        .link
        .clone()
        .and_then(|l| l.ethernet2())
        .expect("ethernet");
    let Some(NetHeaders::Ipv4(ip4, _)) = &h.net else {
        panic!("not ipv4: {:?}", h.net)
    };
    assert_eq!(
        ip4.header_checksum,
        ip4.calc_header_checksum(),
        "IPv4 header checksum"
    );
    let payload = h.payload.slice();
    let (sport, dport) = match &h.transport {
        Some(TransportHeader::Tcp(t)) => {
            assert_eq!(
                t.checksum,
                t.calc_checksum_ipv4(ip4, payload).unwrap(),
                "TCP checksum"
            );
            (t.source_port, t.destination_port)
        }
        Some(TransportHeader::Udp(u)) => {
            if u.checksum != 0 {
                assert_eq!(
                    u.checksum,
                    u.calc_checksum_ipv4(ip4, payload).unwrap(),
                    "UDP checksum"
                );
            }
            (u.source_port, u.destination_port)
        }
        other => panic!("unexpected transport {other:?}"),
    };
    Seen {
        dst_mac: eth.destination,
        src_mac: eth.source,
        src: Ipv4Addr::from(ip4.source),
        dst: Ipv4Addr::from(ip4.destination),
        ttl: ip4.time_to_live,
        sport,
        dport,
    }
}
