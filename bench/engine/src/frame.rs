//! Frames of the benchmark topology: minimum-size (60-byte, 64 on the wire with the FCS)
//! Ethernet/IPv4/TCP frames with valid checksums, the addresses of the clients, and a pcap
//! writer for the DPDK benchmarks.

use std::io::{self, Write};
use std::net::Ipv4Addr;

/// A minimum-size Ethernet frame: 14 + 20 + 20 bytes of headers and 6 bytes of padding.
pub const FRAME_LEN: usize = 60;

/// One frame as the benchmarks replay it.
pub type Frame = [u8; FRAME_LEN];

/// net_pcap's port MACs (02:70:63:61:70 — "pcap" — then the port's index), so the frames the
/// engine benchmark uses are also the ones the DPDK benchmark replays.
pub const PORT_MACS: [[u8; 6]; 2] = [
    [0x02, 0x70, 0x63, 0x61, 0x70, 0x00],
    [0x02, 0x70, 0x63, 0x61, 0x70, 0x01],
];
/// The router in front of the director (clients' packets come from its MAC).
pub const ROUTER_MAC: [u8; 6] = [0x02, 0xee, 0, 0, 0, 0xfe];
/// Real server 1.
pub const RS1_MAC: [u8; 6] = [0x02, 0x51, 0, 0, 0, 0x10];
/// Real server 2.
pub const RS2_MAC: [u8; 6] = [0x02, 0x52, 0, 0, 0, 0x20];

/// TCP flag bits (RFC 793).
pub mod flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// Client `i`'s address and port: 256 ports on each of 2^24 addresses from 10.0.0.1 on, so
/// every `u32` names a distinct client and a million flows come from 3,907 addresses.
#[inline]
pub fn client(i: u32) -> (Ipv4Addr, u16) {
    (
        Ipv4Addr::from(0x0a00_0001u32.wrapping_add(i >> 8)),
        32768 + (i & 0xff) as u16,
    )
}

/// The fields of a TCP segment in a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tcp {
    /// Ethernet source.
    pub src_mac: [u8; 6],
    /// Ethernet destination.
    pub dst_mac: [u8; 6],
    /// IPv4 source.
    pub src: Ipv4Addr,
    /// TCP source port.
    pub sport: u16,
    /// IPv4 destination.
    pub dst: Ipv4Addr,
    /// TCP destination port.
    pub dport: u16,
    /// TCP flags (see [`flags`]).
    pub flags: u8,
}

/// RFC 1071 one's-complement sum of `data` added to `sum` (not yet folded).
fn sum16(data: &[u8], mut sum: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Tcp {
    /// The frame: IPv4 TTL 64, DF, TCP window 64240, sequence and acknowledgement numbers
    /// fixed; checksums computed in full (RFC 791, RFC 793 with the pseudo-header).
    pub fn build(&self) -> Frame {
        let mut f = [0u8; FRAME_LEN];
        f[0..6].copy_from_slice(&self.dst_mac);
        f[6..12].copy_from_slice(&self.src_mac);
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[6] = 0x40; // DF
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&self.src.octets());
        ip[16..20].copy_from_slice(&self.dst.octets());
        let c = fold(sum16(ip, 0));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let tcp = &mut f[34..54];
        tcp[0..2].copy_from_slice(&self.sport.to_be_bytes());
        tcp[2..4].copy_from_slice(&self.dport.to_be_bytes());
        tcp[4..8].copy_from_slice(&1000u32.to_be_bytes());
        let ack = if self.flags & flags::ACK != 0 {
            2000u32
        } else {
            0
        };
        tcp[8..12].copy_from_slice(&ack.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = self.flags;
        tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
        let mut pseudo = [0u8; 12];
        pseudo[0..4].copy_from_slice(&self.src.octets());
        pseudo[4..8].copy_from_slice(&self.dst.octets());
        pseudo[9] = 6;
        pseudo[10..12].copy_from_slice(&20u16.to_be_bytes());
        let c = fold(sum16(&f[34..54], sum16(&pseudo, 0)));
        f[50..52].copy_from_slice(&c.to_be_bytes());
        f
    }

    /// Read the fields back from an Ethernet/IPv4/TCP frame (any length, options skipped);
    /// `None` if it is not one.
    pub fn parse(frame: &[u8]) -> Option<Tcp> {
        if frame.get(12..14)? != [0x08, 0x00] {
            return None;
        }
        let ip = frame.get(14..)?;
        let ihl = usize::from(ip.first()? & 0x0f) * 4;
        if *ip.get(9)? != 6 {
            return None;
        }
        let tcp = ip.get(ihl..)?;
        let a4 = |b: &[u8]| {
            Some(Ipv4Addr::new(
                *b.first()?,
                *b.get(1)?,
                *b.get(2)?,
                *b.get(3)?,
            ))
        };
        let p16 = |b: &[u8]| Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]));
        Some(Tcp {
            dst_mac: frame.get(0..6)?.try_into().ok()?,
            src_mac: frame.get(6..12)?.try_into().ok()?,
            src: a4(ip.get(12..)?)?,
            dst: a4(ip.get(16..)?)?,
            sport: p16(tcp)?,
            dport: p16(tcp.get(2..)?)?,
            flags: *tcp.get(13)?,
        })
    }
}

/// Whether the IPv4 header checksum and the TCP checksum of `frame` verify (for tests).
pub fn checksums_ok(frame: &[u8]) -> bool {
    let Some(ip) = frame.get(14..) else {
        return false;
    };
    let ihl = usize::from(ip.first().copied().unwrap_or(0) & 0x0f) * 4;
    let Some(hdr) = ip.get(..ihl) else {
        return false;
    };
    if fold(sum16(hdr, 0)) != 0 {
        return false;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let Some(seg) = ip.get(ihl..total) else {
        return false;
    };
    let mut pseudo = [0u8; 12];
    pseudo[0..8].copy_from_slice(&ip[12..20]);
    pseudo[9] = ip[9];
    pseudo[10..12].copy_from_slice(&(seg.len() as u16).to_be_bytes());
    fold(sum16(seg, sum16(&pseudo, 0))) == 0
}

/// A small deterministic generator (xorshift64*), for shuffling flows without a dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced by a constant).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Shuffle `v` (Fisher–Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Writes frames to a classic pcap file (microsecond timestamps, Ethernet link type).
pub struct PcapWriter<W: Write> {
    out: W,
    n: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Write the global header.
    pub fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&65535u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?;
        Ok(PcapWriter { out, n: 0 })
    }

    /// Append one frame, stamped one microsecond after the previous one.
    pub fn write(&mut self, frame: &[u8]) -> io::Result<()> {
        let (sec, usec) = ((self.n / 1_000_000) as u32, (self.n % 1_000_000) as u32);
        self.out.write_all(&sec.to_le_bytes())?;
        self.out.write_all(&usec.to_le_bytes())?;
        self.out.write_all(&(frame.len() as u32).to_le_bytes())?;
        self.out.write_all(&(frame.len() as u32).to_le_bytes())?;
        self.out.write_all(frame)?;
        self.n += 1;
        Ok(())
    }

    /// Frames written so far.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// Flush and return the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_frames_verify_and_parse_back() {
        let t = Tcp {
            src_mac: ROUTER_MAC,
            dst_mac: PORT_MACS[0],
            src: Ipv4Addr::new(10, 1, 2, 3),
            sport: 40000,
            dst: Ipv4Addr::new(198, 18, 0, 100),
            dport: 80,
            flags: flags::SYN,
        };
        let f = t.build();
        assert!(checksums_ok(&f));
        assert_eq!(Tcp::parse(&f), Some(t));
        let mut bad = f;
        bad[40] ^= 1;
        assert!(!checksums_ok(&bad));
    }

    #[test]
    fn clients_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for i in (0..2_000_000u32).chain([u32::MAX - 1, u32::MAX]) {
            assert!(seen.insert(client(i)), "client {i} repeats");
        }
    }

    #[test]
    fn the_pcap_header_and_records_have_the_classic_layout() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write(&[1, 2, 3]).unwrap();
        let v = w.finish().unwrap();
        assert_eq!(v.len(), 24 + 16 + 3);
        assert_eq!(&v[0..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&v[24 + 8..24 + 12], &3u32.to_le_bytes());
        assert_eq!(&v[40..], &[1, 2, 3]);
    }

    #[test]
    fn shuffle_is_a_permutation() {
        let mut v: Vec<u32> = (0..1000).collect();
        Rng::new(7).shuffle(&mut v);
        assert_ne!(v, (0..1000).collect::<Vec<_>>());
        v.sort_unstable();
        assert_eq!(v, (0..1000).collect::<Vec<_>>());
    }
}
