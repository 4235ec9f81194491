//! SYN proxy (as DPVS's and Alibaba LVS's SYNPROXY, `ip_vs_synproxy.c`): the director answers
//! a client's SYN itself with a SYN cookie (RFC 4987 §3.6) and keeps nothing; only the
//! client's ACK that returns a valid cookie proves its address, and only then is a real
//! server scheduled, a connection created and a SYN sent to the real server with the
//! client's ISN and the options the cookie carried. The real server's SYN-ACK is answered by
//! the director (it never reaches the client, who is already established), and from then on
//! the real server's sequence numbers are shifted into the cookie's space on their way to the
//! client, and the client's acknowledgements (and SACK blocks) back into the server's.
//!
//! The cookie, as Linux's `net/ipv4/syncookies.c` but with the options in it rather than in
//! a timestamp: a keyed hash (SipHash-2-4) of the client and service addresses and ports,
//! the client's ISN, a 64-second time counter and the encoded options. Its low 8 bits carry
//! the options (MSS index into [`MSS_TABLE`], window scale, SACK-permitted) and the time
//! counter's parity; the other 24 bits are the hash. A cookie is valid in the slot it was
//! made in and the next (64 to 128 seconds, as the kernel's `MAX_SYNCOOKIE_AGE`).
//!
//! Timestamps (RFC 7323) are not offered: the director could not continue the client's
//! timestamp clock across the real server's. Window scaling is: the director announces
//! [`DIRECTOR_WSCALE`] and rescales the window fields whenever the real server's scale
//! differs (see [`Translate`]).
//!
//! A client segment that arrives while the real server has not answered the director's SYN
//! is kept (one per connection, as DPVS keeps the client's first ACK/data) and handled again
//! once it has; a client retransmitting meanwhile makes the director send the SYN again. A
//! real server that never answers leaves a SYN_RECV connection that times out as IPVS's do.
//! Both address families are proxied (an IPv6 segment only with its TCP header right after
//! the fixed header). Not done: DR and TUN real servers (their replies bypass the director),
//! data carried by the cookie ACK itself (that frame becomes the SYN; the client sends the
//! data again) and sequence numbers quoted inside relayed ICMP errors.
//!
//! Strength: 24 bits of MAC, so a blind attacker needs about 2^23 forged ACKs per connection
//! it gets opened (each then costs a SYN to a real server and a table entry until it times
//! out); Linux's cookies are of the same order.

use std::net::IpAddr;

use rvs_wire::{ethernet, ipv4, ipv6, tcp};

/// The MSS values a cookie can carry (Linux's `msstab` for IPv4, used for IPv6 too, where
/// 1440 is Ethernet's): the client's MSS is rounded down to one of them; without an MSS
/// option, 536 (RFC 1122 §4.2.2.6).
pub const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];

/// The window scale the director announces to a client that offers window scaling: Linux's
/// usual choice with its default receive buffers, so that most real servers announce the
/// same and no rescaling is needed.
pub const DIRECTOR_WSCALE: u8 = 7;

/// Length of a cookie's time slot (Linux: a counter of 64-second units).
pub const COOKIE_PERIOD_NS: u64 = 64_000_000_000;

/// Largest window shift (RFC 7323 §2.3: larger values are taken as 14).
const MAX_WSCALE: u8 = 14;

/// TCP options of a SYN that the proxy carries from the client to the real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SynOptions {
    /// Maximum segment size (RFC 6691).
    pub mss: u16,
    /// Window scale shift (RFC 7323), `None` when not offered.
    pub wscale: Option<u8>,
    /// SACK permitted (RFC 2018).
    pub sack: bool,
}

impl SynOptions {
    /// The options of a SYN, read from its raw option bytes; malformed options are ignored as
    /// a receiver ignores them (never panics). MSS defaults to 536 when absent.
    pub fn parse(options: &[u8]) -> SynOptions {
        let mut o = SynOptions {
            mss: MSS_TABLE[0],
            wscale: None,
            sack: false,
        };
        for opt in tcp::OptionsIter::new(options) {
            match (opt.kind, opt.data) {
                (tcp::option_kind::MSS, &[a, b]) => o.mss = u16::from_be_bytes([a, b]),
                (tcp::option_kind::WINDOW_SCALE, &[s]) => o.wscale = Some(s.min(MAX_WSCALE)),
                (tcp::option_kind::SACK_PERMITTED, &[]) => o.sack = true,
                _ => {}
            }
        }
        o
    }

    /// The 7 bits a cookie keeps: MSS index (2), window scale (4, 15 = none), SACK (1).
    fn encode(&self) -> u8 {
        let mss = MSS_TABLE.iter().rposition(|&m| m <= self.mss).unwrap_or(0) as u8;
        let ws = self.wscale.map_or(15, |s| s.min(MAX_WSCALE));
        mss | ws << 2 | u8::from(self.sack) << 6
    }

    fn decode(bits: u8) -> SynOptions {
        let ws = (bits >> 2) & 0x0f;
        SynOptions {
            mss: MSS_TABLE[usize::from(bits & 3)],
            wscale: (ws <= MAX_WSCALE).then_some(ws),
            sack: bits & 0x40 != 0,
        }
    }

    /// As the cookie carries them (MSS rounded down to the table).
    pub fn rounded(&self) -> SynOptions {
        Self::decode(self.encode())
    }

    /// Bytes of options `write` produces: MSS, then NOP + window scale, then NOP NOP +
    /// SACK-permitted, each 4 bytes so the header stays 32-bit aligned.
    pub fn len(&self) -> usize {
        4 + if self.wscale.is_some() { 4 } else { 0 } + if self.sack { 4 } else { 0 }
    }

    /// Never: the MSS option is always written.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Write the options into `buf` (at least [`SynOptions::len`] bytes); returns their length.
    fn write(&self, wscale: Option<u8>, buf: &mut [u8]) -> usize {
        let mut n = 0;
        let mut put = |b: [u8; 4]| {
            if let Some(d) = buf.get_mut(n..n + 4) {
                d.copy_from_slice(&b);
                n += 4;
            }
        };
        let [m0, m1] = self.mss.to_be_bytes();
        put([tcp::option_kind::MSS, 4, m0, m1]);
        if let Some(s) = wscale {
            put([tcp::option_kind::NOP, tcp::option_kind::WINDOW_SCALE, 3, s]);
        }
        if self.sack {
            put([
                tcp::option_kind::NOP,
                tcp::option_kind::NOP,
                tcp::option_kind::SACK_PERMITTED,
                2,
            ]);
        }
        n
    }
}

/// The director's cookie key, drawn at start (RandomState's per-process keys) and kept across
/// reloads, so that every worker checks the cookies any of them made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Secret(pub [u64; 2]);

impl Secret {
    /// A fresh random key.
    pub fn random() -> Secret {
        use std::collections::hash_map::RandomState;
        use std::hash::{BuildHasher, Hasher};
        let mut k = [0u64; 2];
        for (i, w) in k.iter_mut().enumerate() {
            let mut h = RandomState::new().build_hasher();
            h.write_usize(i);
            *w = h.finish();
        }
        Secret(k)
    }
}

/// The addresses and ports a cookie is bound to, as the client sent them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuple {
    /// CIP.
    pub client: IpAddr,
    /// Client port.
    pub cport: u16,
    /// VIP.
    pub vip: IpAddr,
    /// Virtual port.
    pub vport: u16,
}

fn addr_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// The 24-bit MAC of a cookie.
fn mac(secret: &Secret, t: &Tuple, isn: u32, slot: u64, bits: u8) -> u32 {
    let c = addr_bits(t.client);
    let v = addr_bits(t.vip);
    let words = [
        (c >> 64) as u64,
        c as u64,
        (v >> 64) as u64,
        v as u64,
        u64::from(t.cport) << 48 | u64::from(t.vport) << 32 | u64::from(isn),
        slot << 8 | u64::from(bits),
    ];
    let mut msg = [0u8; 48];
    for (d, w) in msg.chunks_exact_mut(8).zip(words) {
        d.copy_from_slice(&w.to_le_bytes());
    }
    (siphash24(secret.0, &msg) >> 40) as u32
}

/// The cookie (the director's ISN) for a client's SYN with sequence number `isn` at `now_ns`.
pub fn make_cookie(secret: &Secret, t: &Tuple, isn: u32, opts: &SynOptions, now_ns: u64) -> u32 {
    let slot = now_ns / COOKIE_PERIOD_NS;
    let bits = opts.encode() | ((slot & 1) as u8) << 7;
    mac(secret, t, isn, slot, bits) << 8 | u32::from(bits)
}

/// Check the cookie a client's ACK returns (its acknowledgement number minus one; `isn` is
/// its sequence number minus one): the options it carries when it is one the director made
/// for this client in the current or the previous time slot.
pub fn check_cookie(
    secret: &Secret,
    t: &Tuple,
    isn: u32,
    cookie: u32,
    now_ns: u64,
) -> Option<SynOptions> {
    let bits = cookie as u8;
    let now = now_ns / COOKIE_PERIOD_NS;
    // The parity bit names the slot: this one or the one before.
    let slot = if u64::from(bits >> 7) == now & 1 {
        now
    } else {
        now.checked_sub(1)?
    };
    (mac(secret, t, isn, slot, bits) == cookie >> 8).then(|| SynOptions::decode(bits & 0x7f))
}

/// The options a valid cookie carries (for a SYN sent again to the real server).
pub fn cookie_options(cookie: u32) -> SynOptions {
    SynOptions::decode(cookie as u8 & 0x7f)
}

/// SipHash-2-4 (Aumasson and Bernstein, 2012) of `msg` under `key`.
pub fn siphash24(key: [u64; 2], msg: &[u8]) -> u64 {
    let mut v = [
        key[0] ^ 0x736f_6d65_7073_6575,
        key[1] ^ 0x646f_7261_6e64_6f6d,
        key[0] ^ 0x6c79_6765_6e65_7261,
        key[1] ^ 0x7465_6462_7974_6573,
    ];
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let compress = |v: &mut [u64; 4], m: u64| {
        v[3] ^= m;
        round(v);
        round(v);
        v[0] ^= m;
    };
    let mut chunks = msg.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        compress(&mut v, u64::from_le_bytes(w));
    }
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = msg.len() as u8;
    compress(&mut v, u64::from_le_bytes(last));
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// A TCP segment the director writes itself: the SYN-ACK with a cookie, the SYN to the real
/// server, the ACK that ends the real server's handshake.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    /// Source address (both of one family).
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Time to live (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (0 without ACK).
    pub ack: u32,
    /// TCP flags.
    pub flags: u8,
    /// Window field.
    pub window: u16,
    /// SYN options to write, if any, with the window scale to announce.
    pub options: Option<(SynOptions, Option<u8>)>,
}

impl Segment {
    /// Length of the frame it makes: Ethernet, a 20-byte IPv4 or 40-byte IPv6 header, TCP
    /// and its options.
    pub fn frame_len(&self) -> usize {
        ethernet::HEADER_LEN + self.ip_len() + 20 + self.options_len()
    }

    fn ip_len(&self) -> usize {
        match self.src {
            IpAddr::V4(_) => ipv4::HEADER_LEN,
            IpAddr::V6(_) => ipv6::HEADER_LEN,
        }
    }

    fn options_len(&self) -> usize {
        self.options.map_or(0, |(o, ws)| {
            4 + if ws.is_some() { 4 } else { 0 } + if o.sack { 4 } else { 0 }
        })
    }

    /// Write the IP packet and the EtherType into `frame` (whose length must be
    /// [`Segment::frame_len`]), checksums computed in full (a handshake segment is short).
    /// False, the frame unusable, when it is too short or the addresses' families differ.
    pub fn write(&self, frame: &mut [u8]) -> bool {
        let l3 = ethernet::HEADER_LEN;
        let tcp_len = 20 + self.options_len();
        if frame.len() < self.frame_len() {
            return false;
        }
        let emitted = match (self.src, self.dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                frame[12..14].copy_from_slice(&ethernet::ethertype::IPV4.to_be_bytes());
                ipv4::Repr {
                    src,
                    dst,
                    protocol: ipv4::protocol::TCP,
                    ttl: self.ttl,
                    payload_len: tcp_len as u16,
                    ident: 0,
                    dont_frag: true,
                }
                .emit_into(&mut frame[l3..])
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                frame[12..14].copy_from_slice(&ethernet::ethertype::IPV6.to_be_bytes());
                ipv6::Repr {
                    src,
                    dst,
                    next_header: ipv4::protocol::TCP,
                    hop_limit: self.ttl,
                    payload_len: tcp_len as u16,
                }
                .emit_into(&mut frame[l3..])
            }
            _ => return false,
        };
        if emitted.is_err() {
            return false;
        }
        let at = l3 + self.ip_len();
        let seg = &mut frame[at..at + tcp_len];
        seg.fill(0);
        if let Some((o, ws)) = self.options {
            o.write(ws, &mut seg[20..]);
        }
        let mut t = tcp::Packet::new_unchecked(seg);
        t.set_src_port(self.sport);
        t.set_dst_port(self.dport);
        t.set_seq(self.seq);
        t.set_ack_number(self.ack);
        t.set_header_len(tcp_len);
        t.set_flags(self.flags);
        t.set_window(self.window);
        match (self.src, self.dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => t.fill_checksum_v4(src, dst),
            (IpAddr::V6(src), IpAddr::V6(dst)) => t.fill_checksum_v6(src, dst),
            _ => return false,
        }
        true
    }
}

/// The fields of a TCP segment in an IPv4 or IPv6 frame that the proxy reads.
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Time to live (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Window field.
    pub window: u16,
    /// Bytes of data.
    pub payload_len: usize,
    /// The SYN options found (MSS 536 when absent).
    pub syn_options: SynOptions,
}

impl Seen {
    /// Read the TCP segment of an Ethernet + IPv4 frame; `None` when it is not one.
    pub fn parse(frame: &[u8]) -> Option<Seen> {
        let ip = ipv4::Packet::new_checked(frame.get(ethernet::HEADER_LEN..)?).ok()?;
        if ip.protocol() != ipv4::protocol::TCP {
            return None;
        }
        let t = tcp::Packet::new_checked(ip.payload()).ok()?;
        Some(Self::of(ip.src().into(), ip.dst().into(), ip.ttl(), &t))
    }

    /// Read the TCP segment of an Ethernet + IPv6 frame whose TCP header follows the fixed
    /// header directly; `None` otherwise (the proxy leaves segments behind extension headers
    /// alone).
    pub fn parse6(frame: &[u8]) -> Option<Seen> {
        let ip = ipv6::Packet::new_checked(frame.get(ethernet::HEADER_LEN..)?).ok()?;
        if ip.next_header() != ipv4::protocol::TCP {
            return None;
        }
        let t = tcp::Packet::new_checked(ip.payload()).ok()?;
        Some(Self::of(
            ip.src().into(),
            ip.dst().into(),
            ip.hop_limit(),
            &t,
        ))
    }

    fn of(src: IpAddr, dst: IpAddr, ttl: u8, t: &tcp::Packet<&[u8]>) -> Seen {
        Seen {
            src,
            dst,
            ttl,
            sport: t.src_port(),
            dport: t.dst_port(),
            seq: t.seq(),
            ack: t.ack_number(),
            window: t.window(),
            payload_len: t.payload().len(),
            syn_options: SynOptions::parse(t.options()),
        }
    }
}

/// What the director keeps of a proxied connection, in its connection entry (8 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Translate {
    /// Where the handshake with the real server is.
    pub phase: Phase,
    /// While [`Phase::AwaitSynAck`]: the cookie (the client's view of the server's ISN).
    /// Afterwards: the real server's ISN minus the cookie, subtracted from the server's
    /// sequence numbers on their way to the client and added to the client's
    /// acknowledgements.
    pub delta: u32,
    /// The window field of the client's first ACK (for the ACK the director sends the server).
    pub client_window: u16,
    /// Window shifts (RFC 7323): the client's in the low nibble, the real server's in the
    /// high one; 15 where that side does not scale.
    shifts: u8,
}

/// Where a proxied connection's handshake with its real server is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Not a proxied connection: nothing to translate.
    #[default]
    Off,
    /// The SYN went to the real server; its SYN-ACK has not come back.
    AwaitSynAck,
    /// Both handshakes are done: translate every segment.
    Established,
}

impl Translate {
    /// A connection just made from a valid cookie.
    pub fn new(cookie: u32, client_window: u16, opts: &SynOptions) -> Translate {
        Translate {
            phase: Phase::AwaitSynAck,
            delta: cookie,
            client_window,
            shifts: opts.wscale.unwrap_or(15) | 0xf0,
        }
    }

    /// The window field of the SYN to the real server (never scaled, RFC 7323 §2.2): the
    /// client's window in bytes, capped.
    pub fn syn_window(&self) -> u16 {
        rescale(self.client_window, self.client_shift().unwrap_or(0), 0)
    }

    fn client_shift(&self) -> Option<u8> {
        let s = self.shifts & 0x0f;
        (s <= MAX_WSCALE).then_some(s)
    }

    fn server_shift(&self) -> Option<u8> {
        let s = self.shifts >> 4;
        (s <= MAX_WSCALE).then_some(s)
    }

    /// The real server's SYN-ACK (sequence number `server_isn`, options `opts`) arrived:
    /// from now on translate. The server scales its windows only when both SYNs offered it
    /// (RFC 7323 §1.3), i.e. when the client did (the director passed the client's offer on).
    pub fn established(&mut self, server_isn: u32, opts: &SynOptions) {
        let cookie = self.delta;
        self.delta = server_isn.wrapping_sub(cookie);
        let server = match self.client_shift() {
            Some(_) => opts.wscale.unwrap_or(15),
            None => 15,
        };
        self.shifts = (self.shifts & 0x0f) | server << 4;
        self.phase = Phase::Established;
    }

    /// The window the client's window field means to the real server: the server applies
    /// the client's shift when it scales too (it heard the client's offer), none otherwise.
    pub fn window_to_server(&self, w: u16) -> u16 {
        match (self.client_shift(), self.server_shift()) {
            (Some(c), None) => rescale(w, c, 0),
            _ => w,
        }
    }

    /// The real server's window field as the client must read it: the client applies the
    /// director's announced shift (if it offered scaling), the server used its own.
    pub fn window_to_client(&self, w: u16) -> u16 {
        let client_reads = self.client_shift().map_or(0, |_| DIRECTOR_WSCALE);
        let server_wrote = self.server_shift().unwrap_or(0);
        rescale(w, server_wrote, client_reads)
    }

    /// A client → real server segment (TCP at `seg`): acknowledgement and SACK blocks into the
    /// server's sequence space, window to the server's scale; checksum updated incrementally
    /// (RFC 1624). Malformed options are left alone.
    pub fn inbound(&self, seg: &mut [u8]) {
        // RFC 2018 §3: SACK blocks are pairs of sequence numbers of the data receiver's peer.
        let mut edges = [0usize; 8];
        let mut n = 0;
        {
            let Ok(t) = tcp::Packet::new_checked(&seg[..]) else {
                return;
            };
            for o in t
                .options_iter()
                .filter(|o| o.kind == tcp::option_kind::SACK)
            {
                for k in 0..o.data.len() / 4 {
                    if let Some(e) = edges.get_mut(n) {
                        *e = o.offset + 2 + 4 * k;
                        n += 1;
                    }
                }
            }
        }
        let Ok(mut t) = tcp::Packet::new_checked(&mut seg[..]) else {
            return;
        };
        if t.flags().ack() {
            let a = t.ack_number().wrapping_add(self.delta);
            t.set_ack_number_incremental(a);
        }
        let w = self.window_to_server(t.window());
        set_window_incremental(&mut t, w);
        let mut csum = t.checksum();
        for &at in &edges[..n] {
            let Some(b) = seg.get_mut(at..at + 4) else {
                continue;
            };
            let old = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let new = old.wrapping_add(self.delta);
            b.copy_from_slice(&new.to_be_bytes());
            csum = rvs_wire::checksum::update32(csum, old, new);
        }
        if n > 0 {
            tcp::Packet::new_unchecked(&mut seg[..]).set_checksum(csum);
        }
    }

    /// A real server → client segment: sequence number into the cookie's space, window to
    /// the client's scale; checksum updated incrementally.
    pub fn outbound(&self, seg: &mut [u8]) {
        let Ok(mut t) = tcp::Packet::new_checked(&mut seg[..]) else {
            return;
        };
        let s = t.seq().wrapping_sub(self.delta);
        t.set_seq_incremental(s);
        if !t.flags().syn() {
            // RFC 7323 §2.2: the window of a SYN is never scaled.
            let w = self.window_to_client(t.window());
            set_window_incremental(&mut t, w);
        }
    }
}

/// A window of `w << from` bytes as a field for a reader shifting by `to`, rounded down and
/// capped at 65535.
fn rescale(w: u16, from: u8, to: u8) -> u16 {
    if from == to {
        return w;
    }
    let bytes = u64::from(w) << from;
    (bytes >> to).min(u64::from(u16::MAX)) as u16
}

fn set_window_incremental(t: &mut tcp::Packet<&mut [u8]>, w: u16) {
    let old = t.window();
    if old != w {
        t.set_window(w);
        let c = rvs_wire::checksum::update16(t.checksum(), old, w);
        t.set_checksum(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference vector of the SipHash paper (appendix A): key 00..0f, message 00..0e.
    #[test]
    fn siphash_reference_vector() {
        let key = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];
        let msg: Vec<u8> = (0..15).collect();
        assert_eq!(siphash24(key, &msg), 0xa129_ca61_49be_45e5);
        // The empty message (the paper's table, first entry).
        assert_eq!(siphash24(key, &[]), 0x726f_db47_dd0e_0e31);
    }

    #[test]
    fn options_encode_round_trip() {
        for mss in [0u16, 535, 536, 1299, 1300, 1439, 1440, 1459, 1460, 9000] {
            for ws in [None, Some(0), Some(7), Some(14), Some(15)] {
                for sack in [false, true] {
                    let o = SynOptions {
                        mss,
                        wscale: ws,
                        sack,
                    };
                    let d = SynOptions::decode(o.encode());
                    let want = *MSS_TABLE.iter().rev().find(|&&m| m <= mss).unwrap_or(&536);
                    assert_eq!(d.mss, want, "{o:?}");
                    assert_eq!(d.wscale, ws.map(|s| s.min(14)));
                    assert_eq!(d.sack, sack);
                }
            }
        }
    }

    #[test]
    fn rescale_rounds_down_and_caps() {
        assert_eq!(rescale(100, 7, 7), 100);
        assert_eq!(rescale(100, 8, 7), 200);
        assert_eq!(rescale(100, 6, 7), 50);
        assert_eq!(rescale(1000, 14, 0), 65535);
        assert_eq!(rescale(1, 0, 7), 0);
    }
}
