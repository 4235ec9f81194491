//! Reading the input capture (pcap with micro- or nanosecond timestamps, or pcapng) and
//! writing the output capture (pcap).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapReader, PcapWriter};
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgReader};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::timeline::SEC_NS;

/// A frame of the input with its absolute time (nanoseconds since the Unix epoch).
#[derive(Debug, Clone)]
pub struct Frame {
    /// Capture time, ns since 1970.
    pub ts_ns: u64,
    /// The frame from its Ethernet header on.
    pub data: Vec<u8>,
}

/// Why the input could not be read. The caller adds the file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// Number of the packet (from 1) the problem is at, if it is at one.
    pub packet: Option<u64>,
    /// What is wrong.
    pub problem: String,
}

/// A reader of pcap or pcapng files, told apart by their magic number.
pub enum CaptureReader<R: Read> {
    /// Classic pcap.
    Pcap(PcapReader<R>),
    /// pcapng.
    PcapNg(PcapNgReader<R>),
}

/// Magic numbers (first four bytes) of the formats read.
const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x4d, 0x3c, 0xb2, 0xa1],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Opens `path` as a capture.
pub fn open(path: &Path) -> Result<(CaptureReader<BufReader<File>>, TsResolution), ReadError> {
    let file = File::open(path).map_err(|e| ReadError {
        packet: None,
        problem: format!("cannot open: {e}"),
    })?;
    let mut r = BufReader::new(file);
    let head = r.fill_buf().map_err(|e| ReadError {
        packet: None,
        problem: format!("cannot read: {e}"),
    })?;
    let magic: Option<[u8; 4]> = head.get(..4).and_then(|m| m.try_into().ok());
    let header_err = |e: pcap_file::PcapError| ReadError {
        packet: None,
        problem: format!("bad capture header: {e}"),
    };
    match magic {
        Some(m) if PCAP_MAGICS.contains(&m) => {
            let reader = PcapReader::new(r).map_err(header_err)?;
            let h = reader.header();
            if h.datalink != DataLink::ETHERNET {
                return Err(ReadError {
                    packet: None,
                    problem: format!(
                        "link type {:?}: only Ethernet captures can be replayed",
                        h.datalink
                    ),
                });
            }
            Ok((CaptureReader::Pcap(reader), h.ts_resolution))
        }
        Some(PCAPNG_MAGIC) => {
            let reader = PcapNgReader::new(r).map_err(header_err)?;
            Ok((CaptureReader::PcapNg(reader), TsResolution::NanoSecond))
        }
        Some(_) => Err(ReadError {
            packet: None,
            problem: "not a pcap or pcapng file (unknown magic number)".into(),
        }),
        None => Err(ReadError {
            packet: None,
            problem: "empty or truncated file (no capture header)".into(),
        }),
    }
}

impl<R: Read> CaptureReader<R> {
    /// The next frame, `packet` being its number (from 1) for messages.
    pub fn next_frame(&mut self, packet: u64) -> Option<Result<Frame, ReadError>> {
        let err = |problem: String| ReadError {
            packet: Some(packet),
            problem,
        };
        match self {
            CaptureReader::Pcap(r) => {
                let p = match r.next_packet()? {
                    Ok(p) => p,
                    Err(e) => return Some(Err(err(e.to_string()))),
                };
                Some(
                    u64::try_from(p.timestamp.as_nanos())
                        .map_err(|_| err("timestamp out of range".into()))
                        .map(|ts_ns| Frame {
                            ts_ns,
                            data: p.data.into_owned(),
                        }),
                )
            }
            CaptureReader::PcapNg(r) => loop {
                let block = match r.next_block()? {
                    Ok(b) => b.into_owned(),
                    Err(e) => return Some(Err(err(e.to_string()))),
                };
                let epb = match block {
                    Block::EnhancedPacket(epb) => epb,
                    Block::SimplePacket(_) | Block::Packet(_) => {
                        return Some(Err(err(
                            "pcapng simple or obsolete packet block: only enhanced packet \
                             blocks (which carry a timestamp) can be replayed"
                                .into(),
                        )))
                    }
                    _ => continue,
                };
                let Some(idb) = r.packet_interface(&epb) else {
                    return Some(Err(err(format!(
                        "packet of interface {} which no interface description block declares",
                        epb.interface_id
                    ))));
                };
                if idb.linktype != DataLink::ETHERNET {
                    return Some(Err(err(format!(
                        "link type {:?}: only Ethernet captures can be replayed",
                        idb.linktype
                    ))));
                }
                let mut tsresol = 6u8;
                let mut offset_s = 0u64;
                for o in &idb.options {
                    match o {
                        InterfaceDescriptionOption::IfTsResol(r) => tsresol = *r,
                        InterfaceDescriptionOption::IfTsOffset(s) => offset_s = *s,
                        _ => {}
                    }
                }
                // pcap-file hands the raw 64-bit timestamp over as if it were nanoseconds;
                // scale it by the interface's if_tsresol (pcapng spec, default 10^-6 s).
                let units = u64::try_from(epb.timestamp.as_nanos()).unwrap_or(u64::MAX);
                let ts = pcapng_ns(units, tsresol)
                    .and_then(|ns| offset_s.checked_mul(SEC_NS)?.checked_add(ns));
                return Some(match ts {
                    Some(ts_ns) => Ok(Frame {
                        ts_ns,
                        data: epb.data.into_owned(),
                    }),
                    None => Err(err("timestamp out of range".into())),
                });
            },
        }
    }
}

/// A pcapng timestamp in units of `tsresol` (bit 7 clear: 10^-n s; set: 2^-n s) in ns.
fn pcapng_ns(units: u64, tsresol: u8) -> Option<u64> {
    let n = u32::from(tsresol & 0x7f);
    let ns: u128 = if tsresol & 0x80 == 0 {
        if n <= 9 {
            u128::from(units) * 10u128.pow(9 - n)
        } else {
            // Finer than 10^-38 s: nothing of it is left in whole nanoseconds.
            10u128
                .checked_pow(n - 9)
                .map_or(0, |d| u128::from(units) / d)
        }
    } else {
        (u128::from(units) * u128::from(SEC_NS)).checked_shr(n)?
    };
    u64::try_from(ns).ok()
}

/// The output capture: Ethernet pcap, little-endian, in the input's timestamp resolution.
pub struct CaptureWriter<W: Write> {
    w: PcapWriter<W>,
}

/// Largest frame recorded whole (tcpdump's default snap length).
const SNAPLEN: u32 = 262_144;

impl<W: Write> CaptureWriter<W> {
    /// A writer putting the pcap header into `w` at once.
    pub fn new(w: W, ts_resolution: TsResolution) -> Result<Self, pcap_file::PcapError> {
        let header = PcapHeader {
            datalink: DataLink::ETHERNET,
            ts_resolution,
            snaplen: SNAPLEN,
            endianness: Endianness::Little,
            ..PcapHeader::default()
        };
        Ok(CaptureWriter {
            w: PcapWriter::with_header(w, header)?,
        })
    }

    /// Record `frame` at `ts_ns` (ns since 1970).
    pub fn write(&mut self, ts_ns: u64, frame: &[u8]) -> Result<(), pcap_file::PcapError> {
        let len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let data = frame.get(..SNAPLEN as usize).unwrap_or(frame);
        self.w
            .write_packet(&PcapPacket::new(Duration::from_nanos(ts_ns), len, data))?;
        Ok(())
    }

    /// The underlying writer (to flush it).
    pub fn into_inner(self) -> W {
        self.w.into_writer()
    }
}

/// The output capture on a file.
pub fn create(
    path: &Path,
    ts_resolution: TsResolution,
) -> Result<CaptureWriter<BufWriter<File>>, String> {
    let f = File::create(path).map_err(|e| format!("cannot create: {e}"))?;
    CaptureWriter::new(BufWriter::new(f), ts_resolution).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcapng_resolutions() {
        assert_eq!(pcapng_ns(1_500_000, 6), Some(1_500_000_000));
        assert_eq!(pcapng_ns(7, 9), Some(7));
        assert_eq!(pcapng_ns(12_345, 12), Some(12));
        assert_eq!(pcapng_ns(3, 0), Some(3_000_000_000));
        // 2^-10 s units: 1024 of them are one second.
        assert_eq!(pcapng_ns(1024, 0x80 | 10), Some(1_000_000_000));
        assert_eq!(pcapng_ns(u64::MAX, 0), None);
        assert_eq!(pcapng_ns(1, 127), Some(0));
    }
}
