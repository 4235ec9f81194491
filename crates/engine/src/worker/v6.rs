//! The worker's IPv6 half: parsing (extension headers walked, fragments dropped), Neighbor
//! Discovery (RFC 4861) in place of ARP, ICMPv6 echo and error relay (RFC 4443), and the
//! rewrites of each forwarding method over IPv6, TUN as IPv6-in-IPv6 (RFC 2473). The
//! connection path itself (`Worker::flow`) is shared with IPv4.

use std::net::Ipv6Addr;
use std::sync::atomic::Ordering;

use rvs_config::Method;
use rvs_conn::{Dir, FlowKey6};
use rvs_wire::{ethernet, icmpv6, ipv4, ipv6, tcp, udp, MacAddr};

use super::{emit, Action, Flow, Post, Worker, L4, V6};
use crate::buf::{Io, PacketBuf};
use crate::director::{Director, PortIdx, PortInfo};
use crate::forward;
use crate::forward6::{self, ExtError};
use crate::stats::{DropReason, Stats};

/// A neighbor solicitation or advertisement that passed RFC 4861 §7.1 validation.
struct Nd {
    /// A solicitation (else an advertisement).
    solicit: bool,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    target: Ipv6Addr,
    /// The source (solicitation) or target (advertisement) link-layer address option.
    lladdr: Option<MacAddr>,
    /// The Ethernet source, the answer's destination when a solicitation has no option.
    eth_src: MacAddr,
}

/// Validate the ND message at `at` of the IPv6 packet in `frame` (RFC 4861 §7.1.1, §7.1.2):
/// hop limit 255 (it was not forwarded), code 0, checksum, at least 24 bytes, target not
/// multicast; a solicitation from the unspecified address (duplicate address detection) goes
/// to a solicited-node group and carries no source link-layer option; an advertisement to a
/// multicast group is not solicited.
fn parse_nd(frame: &[u8], at: usize) -> Result<Nd, DropReason> {
    let bad = DropReason::NdMalformed;
    let eth = ethernet::Frame::new_checked(frame).map_err(|_| bad)?;
    let ip = ipv6::Packet::new_checked(eth.payload()).map_err(|_| bad)?;
    let (src, dst) = (ip.src(), ip.dst());
    let msg = ip
        .payload()
        .get(at.wrapping_sub(ipv6::HEADER_LEN)..)
        .ok_or(bad)?;
    let icmp = icmpv6::Packet::new_checked(msg).map_err(|_| bad)?;
    let solicit = match icmp.msg_type() {
        icmpv6::NEIGHBOR_SOLICIT => true,
        icmpv6::NEIGHBOR_ADVERT => false,
        _ => return Err(bad),
    };
    if ip.hop_limit() != forward6::ND_HOP_LIMIT
        || icmp.code() != 0
        || !icmp.verify_checksum(src, dst)
    {
        return Err(bad);
    }
    let target = icmp.nd_target();
    if target.is_multicast() {
        return Err(bad);
    }
    let lladdr = icmp.nd_link_layer_addr(if solicit {
        icmpv6::OPT_SOURCE_LL_ADDR
    } else {
        icmpv6::OPT_TARGET_LL_ADDR
    });
    if solicit {
        if src.is_unspecified() && (!forward6::is_solicited_node(dst) || lladdr.is_some()) {
            return Err(bad);
        }
    } else if dst.is_multicast() && icmp.rest_of_header() & icmpv6::NA_SOLICITED != 0 {
        return Err(bad);
    }
    Ok(Nd {
        solicit,
        src,
        dst,
        target,
        lladdr,
        eth_src: eth.src(),
    })
}

fn ipv6_error(e: rvs_wire::Error) -> DropReason {
    match e {
        rvs_wire::Error::BadVersion => DropReason::Ipv6BadVersion,
        rvs_wire::Error::BadLength => DropReason::Ipv6BadPayloadLen,
        _ => DropReason::Ipv6Truncated,
    }
}

/// The address a tunnel or an ICMPv6 error to `dst` leaves `port` from: our global address
/// in `dst`'s prefix, else the port's first (never the link-local one, which a remote host
/// could not answer).
fn global_source(port: &PortInfo, dst: Ipv6Addr) -> Option<Ipv6Addr> {
    port.addrs6
        .iter()
        .find(|n| n.contains(&dst))
        .or_else(|| port.addrs6.first())
        .map(|n| n.addr())
}

impl<B: PacketBuf> Worker<B> {
    /// An IPv6 packet: validate it (RFC 8200 §3), walk its extension headers to the upper
    /// layer, and hand TCP/UDP to the connection path, ICMPv6 to [`Worker::icmp6`].
    pub(super) fn ipv6(
        &mut self,
        now: u64,
        port: PortIdx,
        frame: &mut [u8],
        io: &mut impl Io<B>,
    ) -> Action {
        let l3 = ethernet::HEADER_LEN;
        let (src, dst, proto, at, end) = {
            let Some(ipb) = frame.get(l3..) else {
                return Action::Drop(DropReason::Ipv6Truncated);
            };
            let ip = match ipv6::Packet::new_checked(ipb) {
                Ok(ip) => ip,
                Err(e) => return Action::Drop(ipv6_error(e)),
            };
            let (proto, at) = match forward6::upper_layer(ipb) {
                Ok(x) => x,
                Err(ExtError::Fragment) => return Action::Drop(DropReason::Ipv6Fragment),
                Err(ExtError::Malformed) => return Action::Drop(DropReason::Ipv6ExtHeader),
            };
            let end = ipv6::HEADER_LEN + usize::from(ip.payload_len());
            (ip.src(), ip.dst(), proto, at, end)
        };
        // RFC 4291 §2.7: never from a multicast address; §2.5.2: the unspecified address only
        // while a node has none (duplicate address detection, which is ICMPv6).
        if src.is_multicast()
            || src.is_loopback()
            || (src.is_unspecified() && proto != ipv4::protocol::ICMPV6)
        {
            return Action::Drop(DropReason::Ipv6BadSource);
        }
        let Some(seg) = frame.get(l3 + at..l3 + end) else {
            return Action::Drop(DropReason::Ipv6ExtHeader);
        };
        let l4 = match proto {
            ipv4::protocol::TCP => match tcp::Packet::new_checked(seg) {
                Ok(t) => L4 {
                    key: FlowKey6 {
                        proto,
                        src,
                        src_port: t.src_port(),
                        dst,
                        dst_port: t.dst_port(),
                    },
                    tcp_flags: t.flags().bits(),
                    at,
                },
                Err(_) => return Action::Drop(DropReason::TcpMalformed),
            },
            ipv4::protocol::UDP => match udp::Packet::new_checked(seg) {
                Ok(u) => L4 {
                    key: FlowKey6 {
                        proto,
                        src,
                        src_port: u.src_port(),
                        dst,
                        dst_port: u.dst_port(),
                    },
                    tcp_flags: 0,
                    at,
                },
                Err(_) => return Action::Drop(DropReason::UdpMalformed),
            },
            ipv4::protocol::ICMPV6 => return self.icmp6(now, port, frame, at, io),
            _ => {
                return Action::Drop(if self.dir.local6(dst).is_some() {
                    DropReason::LocalUnhandled
                } else {
                    DropReason::NoService
                })
            }
        };
        self.flow::<V6>(now, l4, frame)
    }

    /// ICMPv6: Neighbor Discovery, echo requests to our addresses, errors about tracked
    /// connections; the rest (router discovery, multicast listener messages, redirects) is
    /// not the director's business here.
    fn icmp6(
        &mut self,
        now: u64,
        port: PortIdx,
        frame: &mut [u8],
        at: usize,
        io: &mut impl Io<B>,
    ) -> Action {
        let l3 = ethernet::HEADER_LEN;
        let (src, dst, msg_type) = {
            let Some(Ok(ip)) = frame.get(l3..).map(ipv6::Packet::new_checked) else {
                return Action::Drop(DropReason::IcmpMalformed);
            };
            let msg = ip
                .payload()
                .get(at.wrapping_sub(ipv6::HEADER_LEN)..)
                .unwrap_or(&[]);
            let msg_type = msg.first().copied();
            if msg.len() < icmpv6::HEADER_LEN {
                return Action::Drop(match msg_type {
                    Some(icmpv6::NEIGHBOR_SOLICIT | icmpv6::NEIGHBOR_ADVERT) => {
                        DropReason::NdMalformed
                    }
                    _ => DropReason::IcmpMalformed,
                });
            }
            (ip.src(), ip.dst(), msg_type.unwrap_or(0))
        };
        match msg_type {
            icmpv6::NEIGHBOR_SOLICIT => self.nd_solicit(now, port, frame, at, io),
            icmpv6::NEIGHBOR_ADVERT => self.nd_advert(now, port, frame, at, io),
            _ if src.is_unspecified() => Action::Drop(DropReason::Ipv6BadSource),
            icmpv6::ECHO_REQUEST => self.echo6(port, frame, at, dst),
            t if t < 128 => self.icmp6_relay(now, frame, at),
            _ => Action::Drop(DropReason::Icmpv6Unhandled),
        }
    }

    /// A neighbor solicitation: answer it for the addresses we answer on this port with a
    /// solicited advertisement (RFC 4861 §7.2.3, §7.2.4) — to the solicitor, or to all nodes
    /// for a duplicate address detection probe, which defends our address — and learn the
    /// solicitor's MAC from its source link-layer option ("create or update", as ARP's merge).
    /// The router flag is set: the director forwards for the hosts it answers, as a kernel
    /// director with forwarding on does.
    fn nd_solicit(
        &mut self,
        now: u64,
        port: PortIdx,
        frame: &mut [u8],
        at: usize,
        io: &mut impl Io<B>,
    ) -> Action {
        let nd = match parse_nd(frame, at) {
            Ok(nd) => nd,
            Err(r) => return Action::Drop(r),
        };
        if self.dir.local6(nd.src).is_some() {
            return Action::Drop(DropReason::NdClaimsOurAddress);
        }
        if !self.dir.answers_nd(port, nd.target) {
            return Action::Drop(DropReason::NdNotForUs);
        }
        let flags = icmpv6::NA_ROUTER | icmpv6::NA_OVERRIDE;
        if nd.src.is_unspecified() {
            return Action::Advertise {
                dst_mac: forward6::multicast_mac(forward6::ALL_NODES),
                src: nd.target,
                dst: forward6::ALL_NODES,
                target: nd.target,
                flags,
            };
        }
        if let Some(mac) = nd.lladdr.filter(|m| m.is_unicast()) {
            self.learn6(now, port, nd.src, mac, true, io);
        }
        Action::Advertise {
            dst_mac: nd.lladdr.unwrap_or(nd.eth_src),
            src: nd.target,
            dst: nd.src,
            target: nd.target,
            flags: flags | icmpv6::NA_SOLICITED,
        }
    }

    /// A neighbor advertisement: take the target's MAC for a neighbour we resolve (RFC 4861
    /// §7.2.5; no entry: not learnt), releasing what waited for it; without a target
    /// link-layer option it only confirms a known entry. Nobody may advertise our addresses.
    /// One sent to one of our addresses is taken in (and goes on to the exception path, as
    /// ARP replies do) even when it teaches the engine nothing.
    fn nd_advert(
        &mut self,
        now: u64,
        port: PortIdx,
        frame: &mut [u8],
        at: usize,
        io: &mut impl Io<B>,
    ) -> Action {
        let nd = match parse_nd(frame, at) {
            Ok(nd) => nd,
            Err(r) => return Action::Drop(r),
        };
        if self.dir.local6(nd.target).is_some() {
            return Action::Drop(DropReason::NdClaimsOurAddress);
        }
        let learnt = match nd.lladdr {
            Some(mac) if mac.is_unicast() => self.learn6(now, port, nd.target, mac, false, io),
            Some(_) => return Action::Drop(DropReason::NdMalformed),
            None => self.neigh6.confirm(port, nd.target, now),
        };
        if learnt || self.dir.local6(nd.dst).is_some() {
            self.stats.nd_adverts_received += 1;
            Action::Consumed
        } else {
            Action::Drop(DropReason::NdNotForUs)
        }
    }

    /// Learn from a neighbor solicitation or advertisement another worker received (see
    /// `learn_arp`): the same validation, nothing answered.
    pub(super) fn learn_nd(&mut self, now: u64, port: PortIdx, frame: &[u8], io: &mut impl Io<B>) {
        let Some(ipb) = frame.get(ethernet::HEADER_LEN..) else {
            return;
        };
        let Ok((ipv4::protocol::ICMPV6, at)) = forward6::upper_layer(ipb) else {
            return;
        };
        let Ok(nd) = parse_nd(frame, at) else {
            return;
        };
        let Some(mac) = nd.lladdr.filter(|m| m.is_unicast()) else {
            return;
        };
        if nd.solicit {
            if nd.src.is_unspecified() || self.dir.local6(nd.src).is_some() {
                return;
            }
            let create = self.dir.answers_nd(port, nd.target);
            self.learn6(now, port, nd.src, mac, create, io);
        } else if self.dir.local6(nd.target).is_none() {
            self.learn6(now, port, nd.target, mac, false, io);
        }
    }

    /// Record an IPv6 neighbour and send what waited for it; whether an entry took the MAC.
    fn learn6(
        &mut self,
        now: u64,
        port: PortIdx,
        addr: Ipv6Addr,
        mac: MacAddr,
        create: bool,
        io: &mut impl Io<B>,
    ) -> bool {
        let Worker {
            neigh6, stats, dir, ..
        } = self;
        neigh6.learn(port, addr, mac, create, now, |mut held, mac| {
            if let Some(info) = dir.port(port) {
                forward::set_macs(held.data_mut(), mac, info.mac);
                emit(dir, stats, io, port, held);
            }
        })
    }

    /// An ICMPv6 echo request to one of our addresses: the echo reply (RFC 4443 §4.2).
    fn echo6(&mut self, port: PortIdx, frame: &mut [u8], at: usize, dst: Ipv6Addr) -> Action {
        if self.dir.local6(dst).is_none() {
            return Action::Drop(DropReason::NoService);
        }
        let Some(mac) = self.dir.port(port).map(|p| p.mac) else {
            return Action::Drop(DropReason::LocalUnhandled);
        };
        match forward6::echo_reply_in_place(frame, at, mac) {
            Some(len) => {
                self.stats.icmp_echo_replies += 1;
                Action::ReplyLen(len)
            }
            None => Action::Drop(DropReason::LocalUnhandled),
        }
    }

    /// An ICMPv6 error quoting a packet of a tracked connection goes to that connection's
    /// other end, translated as the kernel's ip_vs_nat_icmp_v6 does (see the IPv4
    /// `icmp_relay` for who hears what); DR and TUN pass the client's errors to the real
    /// server unchanged.
    fn icmp6_relay(&mut self, now: u64, frame: &mut [u8], at: usize) -> Action {
        let l3 = ethernet::HEADER_LEN;
        let Some(ipb) = frame.get_mut(l3..) else {
            return Action::Drop(DropReason::IcmpMalformed);
        };
        if !forward6::icmp_checksum_ok(ipb, at) {
            return Action::Drop(DropReason::IcmpMalformed);
        }
        let Some(q) = forward6::quoted_flow(ipb, at) else {
            return Action::Drop(DropReason::IcmpMalformed);
        };
        // The quoted packet travelled the other way: its reverse is the key of this one.
        let key = FlowKey6 {
            proto: q.proto,
            src: q.dst,
            src_port: q.dst_port,
            dst: q.src,
            dst_port: q.src_port,
        };
        let Some((id, dir)) = self.t6.conns.lookup(&key) else {
            return Action::Drop(DropReason::IcmpNoConnection);
        };
        let Some(e) = self.t6.conns.get(id) else {
            return Action::Drop(DropReason::IcmpNoConnection);
        };
        if e.expires_ns <= now || !e.data.alive.load(Ordering::Relaxed) {
            return Action::Drop(DropReason::IcmpNoConnection);
        }
        let c = &e.data;
        let (method, vip, vport, rip, rport) = (c.method, c.vip, c.vport, c.rip, c.rport);
        let (lip, lport) = (c.lip, c.lport);
        let client = (e.in_key.src, e.in_key.src_port);
        self.stats.icmp_relayed += 1;
        let hop = |ip: &mut [u8]| forward6::decrement_hop_limit(ip);
        match (method, dir) {
            (Method::Nat, Dir::Outbound) => {
                if !hop(ipb) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward6::icmp_translate(ipb, at, &q, Some(vip), None, None, Some((vip, vport)));
                self.route_to6(client.0)
            }
            (Method::Nat, Dir::Inbound) => {
                if !hop(ipb) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward6::icmp_translate(ipb, at, &q, None, Some(rip), Some((rip, rport)), None);
                self.route_to6(rip)
            }
            (Method::FullNat, Dir::Outbound) => {
                // About LIP:lport → RIP:rport: the client hears of its own packet to the VIP.
                if !hop(ipb) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward6::icmp_translate(
                    ipb,
                    at,
                    &q,
                    Some(vip),
                    Some(client.0),
                    Some(client),
                    Some((vip, vport)),
                );
                self.route_to6(client.0)
            }
            (Method::FullNat, Dir::Inbound) => {
                // About VIP:vport → CIP:cport: the RS hears of its own packet to the LIP.
                if !hop(ipb) {
                    return Action::Drop(DropReason::TtlExceeded);
                }
                forward6::icmp_translate(
                    ipb,
                    at,
                    &q,
                    Some(lip),
                    Some(rip),
                    Some((rip, rport)),
                    Some((lip, lport)),
                );
                self.route_to6(rip)
            }
            (Method::Dr, Dir::Inbound) => match self.dir.routes6.lookup(rip) {
                Some(nh) => Action::Forward {
                    port: nh.port,
                    next_hop: rip.into(),
                    post: Post::None,
                },
                None => Action::Drop(DropReason::NoRoute),
            },
            (Method::Tun, Dir::Inbound) => {
                let Some(nh) = self.dir.routes6.lookup(rip) else {
                    return Action::Drop(DropReason::NoRoute);
                };
                match self.dir.port(nh.port).and_then(|p| global_source(p, rip)) {
                    Some(dip) => Action::Forward {
                        port: nh.port,
                        next_hop: nh.addr.into(),
                        post: Post::Encap6(dip, rip),
                    },
                    None => Action::Drop(DropReason::NoSourceAddress),
                }
            }
            _ => Action::Drop(DropReason::IcmpNoConnection),
        }
    }

    /// Forward to `dst` by the IPv6 routing table.
    pub(super) fn route_to6(&self, dst: Ipv6Addr) -> Action {
        match self.dir.routes6.lookup(dst) {
            Some(nh) => Action::Forward {
                port: nh.port,
                next_hop: nh.addr.into(),
                post: Post::None,
            },
            None => Action::Drop(DropReason::NoRoute),
        }
    }

    /// Rewrite the IPv6 packet for the connection's forwarding method and direction; say
    /// where it goes next. NAT and FullNAT decrement the hop limit (the director routes);
    /// DR and TUN deliver the client's packet as it came, as for IPv4.
    pub(super) fn rewrite6(
        &mut self,
        f: Flow<Ipv6Addr>,
        dir: Dir,
        l4: L4<FlowKey6>,
        frame: &mut [u8],
    ) -> Action {
        let l3 = ethernet::HEADER_LEN;
        let at = l4.at;
        if matches!(f.method, Method::Nat | Method::FullNat)
            && !frame
                .get_mut(l3..)
                .is_some_and(forward6::decrement_hop_limit)
        {
            return Action::Drop(DropReason::TtlExceeded);
        }
        let Some(ip) = frame.get_mut(l3..) else {
            return Action::Drop(DropReason::Ipv6Truncated);
        };
        match (f.method, dir) {
            (Method::Nat, Dir::Inbound) => {
                // CIP:cport → VIP:vport becomes CIP:cport → RIP:rport.
                forward6::nat_rewrite_dst(ip, at, f.rip, f.rport);
                self.route_to6(f.rip)
            }
            (Method::Nat, Dir::Outbound) => {
                // RIP:rport → CIP:cport becomes VIP:vport → CIP:cport.
                forward6::nat_rewrite_src(ip, at, f.vip, f.vport);
                self.route_to6(f.client)
            }
            (Method::FullNat, Dir::Inbound) => {
                // CIP:cport → VIP:vport becomes LIP:lport → RIP:rport.
                forward6::fullnat_rewrite_in(ip, at, f.lip, f.lport, f.rip, f.rport);
                match self.route_to6(f.rip) {
                    Action::Forward { port, next_hop, .. } => {
                        let syn = l4.key.proto == ipv4::protocol::TCP
                            && l4.tcp_flags & (tcp::Flags::SYN | tcp::Flags::ACK)
                                == tcp::Flags::SYN;
                        Action::Forward {
                            port,
                            next_hop,
                            post: if syn {
                                Post::Toa6(f.client, f.cport, at)
                            } else {
                                Post::None
                            },
                        }
                    }
                    other => other,
                }
            }
            (Method::FullNat, Dir::Outbound) => {
                // RIP:rport → LIP:lport becomes VIP:vport → CIP:cport.
                forward6::fullnat_rewrite_out(ip, at, f.vip, f.vport, f.client, f.cport);
                self.route_to6(f.client)
            }
            (Method::Dr, Dir::Inbound) => {
                // Only the Ethernet header changes: the frame goes to the RS's MAC, resolved
                // by Neighbor Discovery on the RS's segment (ip_vs_dr_xmit_v6).
                match self.dir.routes6.lookup(f.rip) {
                    Some(nh) => Action::Forward {
                        port: nh.port,
                        next_hop: f.rip.into(),
                        post: Post::None,
                    },
                    None => Action::Drop(DropReason::NoRoute),
                }
            }
            (Method::Tun, Dir::Inbound) => self.tunnel6(f.rip, l4, frame),
            // DR and TUN replies do not pass the director; there is no outbound key for them.
            (Method::Dr | Method::Tun, Dir::Outbound) => Action::Drop(DropReason::NoService),
        }
    }

    /// TUN to an IPv6 real server (ip_vs_tunnel_xmit_v6): the client's packet, unchanged,
    /// inside an outer IPv6 header DIP → RIP with next header 41 (RFC 2473), routed like any
    /// packet to the RIP. IPv6 routers do not fragment (RFC 8200 §5), so what would not fit
    /// the port's MTU once wrapped is answered with "packet too big" and the MTU that fits
    /// (RFC 4443 §3.2, RFC 8201); SYNs get their MSS clamped so that most flows never get
    /// there.
    fn tunnel6(&mut self, rip: Ipv6Addr, l4: L4<FlowKey6>, frame: &mut [u8]) -> Action {
        let l3 = ethernet::HEADER_LEN;
        let Some(nh) = self.dir.routes6.lookup(rip) else {
            return Action::Drop(DropReason::NoRoute);
        };
        let Some(info) = self.dir.port(nh.port) else {
            return Action::Drop(DropReason::NoRoute);
        };
        let Some(dip) = global_source(info, rip) else {
            return Action::Drop(DropReason::NoSourceAddress);
        };
        let mtu = usize::from(info.mtu);
        let Some(Ok(ip)) = frame.get(l3..).map(ipv6::Packet::new_checked) else {
            return Action::Drop(DropReason::Ipv6Truncated);
        };
        let total = ipv6::HEADER_LEN + usize::from(ip.payload_len());
        let overhead = forward6::TUNNEL_OVERHEAD;
        if total + overhead > mtu {
            return Action::IcmpError6 {
                msg_type: icmpv6::PACKET_TOO_BIG,
                code: 0,
                rest: mtu.saturating_sub(overhead) as u32,
            };
        }
        if l4.key.proto == ipv4::protocol::TCP && l4.tcp_flags & tcp::Flags::SYN != 0 {
            // Room for the outer header, the inner IPv6 header and a TCP header.
            let max_mss = mtu.saturating_sub(overhead + ipv6::HEADER_LEN + tcp::HEADER_LEN);
            let max_mss = u16::try_from(max_mss).unwrap_or(u16::MAX);
            if let Some(seg) = frame.get_mut(l3 + l4.at..l3 + total) {
                if let Ok(mut t) = tcp::Packet::new_checked(seg) {
                    t.clamp_mss(max_mss);
                }
            }
        }
        Action::Forward {
            port: nh.port,
            next_hop: nh.addr.into(),
            post: Post::Encap6(dip, rip),
        }
    }

    /// Insert the IPv6 TOA option into the SYN in `pkt` (TCP header at `at` of the IPv6
    /// packet); without room for it the SYN goes on without (counted).
    pub(super) fn add_toa6(&mut self, pkt: &mut B, at: usize, client: Ipv6Addr, cport: u16) {
        let l3 = ethernet::HEADER_LEN;
        let Some(Ok(total)) = pkt.data().get(l3..).map(|b| {
            ipv6::Packet::new_checked(b).map(|ip| ipv6::HEADER_LEN + usize::from(ip.payload_len()))
        }) else {
            return;
        };
        let old_len = pkt.data().len();
        if pkt.set_len(l3 + total + forward6::TOA6_LEN)
            && forward6::insert_toa(pkt.data_mut(), at, client, cport)
        {
            self.stats.toa_added += 1;
        } else {
            pkt.set_len(old_len);
            self.stats.toa_no_room += 1;
        }
    }

    /// Send an ICMPv6 error about the IPv6 packet in `pkt` back to its source, from the
    /// director's global address facing it, quoting as much of it as fits 1280 bytes.
    pub(super) fn icmp_error6(
        &mut self,
        now: u64,
        pkt: &B,
        msg_type: u8,
        code: u8,
        rest: u32,
        io: &mut impl Io<B>,
    ) {
        let l3 = ethernet::HEADER_LEN;
        let Some(offending) = pkt.data().get(l3..) else {
            self.stats.drop(DropReason::Ipv6Truncated);
            return;
        };
        let Ok(orig) = ipv6::Packet::new_checked(offending) else {
            self.stats.drop(DropReason::Ipv6Truncated);
            return;
        };
        let dst = orig.src();
        let Some(nh) = self.dir.routes6.lookup(dst) else {
            self.stats.drop(DropReason::NoRoute);
            return;
        };
        let Some(src) = self.dir.port(nh.port).and_then(|p| global_source(p, dst)) else {
            self.stats.drop(DropReason::NoSourceAddress);
            return;
        };
        let Some(mut out) = io.alloc() else {
            self.stats.drop(DropReason::NoBuffer);
            return;
        };
        // At most the minimum MTU (RFC 4443 §2.4 (c)) after the Ethernet header.
        if !out.set_len(l3 + 1280) {
            self.stats.drop(DropReason::NoBuffer);
            return;
        }
        let buf = out.data_mut();
        let Some(msg) = buf.get_mut(l3 + ipv6::HEADER_LEN..) else {
            self.stats.drop(DropReason::NoBuffer);
            return;
        };
        let Some(n) = forward6::emit_error(msg, msg_type, code, rest, offending, src, dst) else {
            self.stats.drop(DropReason::Ipv6Truncated);
            return;
        };
        buf[..l3].fill(0);
        buf[12..14].copy_from_slice(&ethernet::ethertype::IPV6.to_be_bytes());
        let repr = ipv6::Repr {
            src,
            dst,
            next_header: ipv4::protocol::ICMPV6,
            hop_limit: 64,
            payload_len: n as u16,
        };
        if repr.emit_into(&mut buf[l3..]).is_err() || !out.set_len(l3 + ipv6::HEADER_LEN + n) {
            self.stats.drop(DropReason::NoBuffer);
            return;
        }
        self.stats.icmp_errors_sent += 1;
        self.transmit(now, nh.port, nh.addr.into(), out, io);
    }
}

/// Wrap the IPv6 packet of `pkt` in an outer IPv6 header (RFC 2473), moving the Ethernet
/// header into the headroom. False when the buffer has no headroom for it.
pub(super) fn encapsulate6<B: PacketBuf>(pkt: &mut B, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
    let eth = ethernet::HEADER_LEN;
    let overhead = forward6::TUNNEL_OVERHEAD;
    if pkt.data().len() < eth + ipv6::HEADER_LEN || !pkt.prepend(overhead) {
        return false;
    }
    let data = pkt.data_mut();
    data.copy_within(overhead..overhead + eth, 0);
    data.get_mut(eth..)
        .is_some_and(|ip| forward6::encapsulate_in_place(ip, src, dst))
}

/// Multicast a neighbor solicitation for `target` from `port` (RFC 4861 §7.2.2).
pub(super) fn send_neighbor_solicit<B: PacketBuf>(
    dir: &Director,
    stats: &mut Stats,
    io: &mut impl Io<B>,
    port: PortIdx,
    target: Ipv6Addr,
) {
    let Some(info) = dir.port(port) else {
        stats.drop(DropReason::NoRoute);
        return;
    };
    let Some(src) = info.source_for6(target) else {
        stats.drop(DropReason::NoSourceAddress);
        return;
    };
    let Some(mut buf) = io.alloc() else {
        stats.drop(DropReason::NoBuffer);
        return;
    };
    if !buf.set_len(forward6::NS_FRAME_LEN)
        || forward6::build_neighbor_solicit(buf.data_mut(), info.mac, src, target).is_none()
    {
        stats.drop(DropReason::NoBuffer);
        return;
    }
    stats.nd_solicits += 1;
    emit(dir, stats, io, port, buf);
}
