//! Per-worker counters. Each worker writes only its own; the control thread sums them.

/// Why a frame was not forwarded or answered. Every frame the engine receives ends as exactly
/// one of: transmitted, answered (ARP/ND/ICMP), held for neighbour resolution, or one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// Shorter than an Ethernet header.
    EthTruncated,
    /// Unicast to another host's MAC address (seen in promiscuous mode or flooding).
    NotOurMac,
    /// An EtherType the director does not handle.
    UnknownEthertype,
    /// 802.1Q/802.1ad tagged frame on a port without VLAN configuration.
    VlanTagged,
    /// On a VLAN port: a frame untagged or tagged with another VLAN id.
    VlanMismatch,
    /// ARP that is not Ethernet/IPv4 or is truncated.
    ArpMalformed,
    /// ARP from another host claiming one of the director's own addresses (DIP or VIP): ignored,
    /// so nobody can poison the director's view of its own addresses.
    ArpClaimsOurAddress,
    /// ARP neither asking for one of our addresses nor telling us a neighbour we need.
    ArpNotForUs,
    /// IPv4 header shorter than 20 bytes or than the frame claims.
    Ipv4Truncated,
    /// IPv4 version field is not 4.
    Ipv4BadVersion,
    /// IPv4 IHL below 5 or beyond the frame.
    Ipv4BadHeaderLen,
    /// IPv4 total length below the header length or beyond the frame.
    Ipv4BadTotalLen,
    /// IPv4 header checksum does not verify (RFC 791).
    Ipv4BadChecksum,
    /// Source address is multicast, broadcast, zero or loopback (RFC 1812 §5.3.7).
    Ipv4BadSource,
    /// An IPv4 fragment: fragments are not tracked yet.
    Ipv4Fragment,
    /// IPv6 header shorter than 40 bytes.
    Ipv6Truncated,
    /// IPv6 version field is not 6.
    Ipv6BadVersion,
    /// IPv6 payload length beyond the frame (RFC 8200 §3); jumbograms are not supported.
    Ipv6BadPayloadLen,
    /// IPv6 source is multicast or loopback, or unspecified outside duplicate address
    /// detection (RFC 4291 §2.5.2, §2.7).
    Ipv6BadSource,
    /// An IPv6 extension header runs past the packet, Hop-by-Hop is not first, the chain is
    /// longer than the walk allows, or a Routing header has segments left (RFC 8200 §4).
    Ipv6ExtHeader,
    /// An IPv6 packet with a Fragment header: fragments are not tracked yet.
    Ipv6Fragment,
    /// A neighbor solicitation or advertisement failing RFC 4861 §7.1 validation: hop limit
    /// not 255, code not 0, bad checksum, truncated, multicast target, or a malformed address
    /// option or destination.
    NdMalformed,
    /// Neighbor Discovery from another host claiming one of the director's own IPv6
    /// addresses (as source of a solicitation, or as target of an advertisement): ignored.
    NdClaimsOurAddress,
    /// A neighbor solicitation for an address the director does not answer on that port, or
    /// an advertisement of a neighbour it is not resolving.
    NdNotForUs,
    /// ICMPv6 the director neither answers nor relays: router and multicast listener
    /// messages, redirects, informational messages other than echo.
    Icmpv6Unhandled,
    /// TCP header truncated or data offset out of range (RFC 793).
    TcpMalformed,
    /// UDP header truncated or its length field out of range (RFC 768).
    UdpMalformed,
    /// Addressed to the director itself (DIP/VIP) with nothing here to handle it.
    LocalUnhandled,
    /// Neither addressed to the director nor part of a tracked connection.
    NoService,
    /// A TCP packet other than a SYN for a service, with no connection (IPVS creates TCP
    /// connections only on SYN).
    NoConnection,
    /// The scheduler found no available real server (none, all weight 0 or overloaded).
    NoRealServer,
    /// The connection table is full: new connections are refused, established ones go on.
    ConnTableFull,
    /// The reply-direction key of a new connection is already used by another connection.
    ConnCollision,
    /// TTL (IPv4) or hop limit (IPv6) would reach zero when forwarded (RFC 1812 §5.3.1,
    /// RFC 8200 §3).
    TtlExceeded,
    /// No route to the destination or next hop.
    NoRoute,
    /// The outgoing port has no address of the packet's family to ask ARP or ND from, or to
    /// send a tunnel or an ICMP error from.
    NoSourceAddress,
    /// The frame waiting for the next hop's MAC was pushed out because the queue was full.
    NeighbourQueueFull,
    /// The next hop did not answer ARP or ND in time; the frames waiting for it are dropped.
    NeighbourUnresolved,
    /// No buffer to build an ARP request, a solicitation or an ICMP error in.
    NoBuffer,
    /// The real server of the connection was removed from the service.
    RealServerRemoved,
    /// No headroom in the buffer for an encapsulation header.
    NoHeadroom,
    /// An ICMP or ICMPv6 error whose checksum or quoted packet cannot be read.
    IcmpMalformed,
    /// An ICMP or ICMPv6 error quoting a flow the director does not track.
    IcmpNoConnection,
    /// Every FullNAT local port of the LIPs for this real server is in use.
    LipExhausted,
    /// A packet without DF too big for the tunnel once wrapped: the director does not
    /// fragment (a packet with DF gets "fragmentation needed" instead).
    TunnelTooBig,
    /// An ACK to a SYN-proxy service, without a connection, that does not return a cookie the
    /// director made for this client in the last two minutes (spoofed, or too late).
    SynproxyBadCookie,
    /// A client segment of a proxied connection waiting for its real server's SYN-ACK, pushed
    /// out by a newer one (the client retransmits it) or freed when the connection ended
    /// before the server answered.
    SynproxyAwaitingServer,
    /// From a real server, before its handshake with the director completed, a segment other
    /// than the SYN-ACK or a reset.
    SynproxyUnexpectedReply,
}

impl DropReason {
    /// Every reason, in declaration order (index = `reason as usize`).
    pub const ALL: [DropReason; 48] = [
        DropReason::EthTruncated,
        DropReason::NotOurMac,
        DropReason::UnknownEthertype,
        DropReason::VlanTagged,
        DropReason::VlanMismatch,
        DropReason::ArpMalformed,
        DropReason::ArpClaimsOurAddress,
        DropReason::ArpNotForUs,
        DropReason::Ipv4Truncated,
        DropReason::Ipv4BadVersion,
        DropReason::Ipv4BadHeaderLen,
        DropReason::Ipv4BadTotalLen,
        DropReason::Ipv4BadChecksum,
        DropReason::Ipv4BadSource,
        DropReason::Ipv4Fragment,
        DropReason::Ipv6Truncated,
        DropReason::Ipv6BadVersion,
        DropReason::Ipv6BadPayloadLen,
        DropReason::Ipv6BadSource,
        DropReason::Ipv6ExtHeader,
        DropReason::Ipv6Fragment,
        DropReason::NdMalformed,
        DropReason::NdClaimsOurAddress,
        DropReason::NdNotForUs,
        DropReason::Icmpv6Unhandled,
        DropReason::TcpMalformed,
        DropReason::UdpMalformed,
        DropReason::LocalUnhandled,
        DropReason::NoService,
        DropReason::NoConnection,
        DropReason::NoRealServer,
        DropReason::ConnTableFull,
        DropReason::ConnCollision,
        DropReason::TtlExceeded,
        DropReason::NoRoute,
        DropReason::NoSourceAddress,
        DropReason::NeighbourQueueFull,
        DropReason::NeighbourUnresolved,
        DropReason::NoBuffer,
        DropReason::RealServerRemoved,
        DropReason::NoHeadroom,
        DropReason::IcmpMalformed,
        DropReason::IcmpNoConnection,
        DropReason::LipExhausted,
        DropReason::TunnelTooBig,
        DropReason::SynproxyBadCookie,
        DropReason::SynproxyAwaitingServer,
        DropReason::SynproxyUnexpectedReply,
    ];

    /// How many reasons there are.
    pub const COUNT: usize = Self::ALL.len();

    /// The name used in logs and metrics (snake_case, stable).
    pub fn name(self) -> &'static str {
        match self {
            DropReason::EthTruncated => "eth_truncated",
            DropReason::NotOurMac => "not_our_mac",
            DropReason::UnknownEthertype => "unknown_ethertype",
            DropReason::VlanTagged => "vlan_tagged",
            DropReason::VlanMismatch => "vlan_mismatch",
            DropReason::ArpMalformed => "arp_malformed",
            DropReason::ArpClaimsOurAddress => "arp_claims_our_address",
            DropReason::ArpNotForUs => "arp_not_for_us",
            DropReason::Ipv4Truncated => "ipv4_truncated",
            DropReason::Ipv4BadVersion => "ipv4_bad_version",
            DropReason::Ipv4BadHeaderLen => "ipv4_bad_header_len",
            DropReason::Ipv4BadTotalLen => "ipv4_bad_total_len",
            DropReason::Ipv4BadChecksum => "ipv4_bad_checksum",
            DropReason::Ipv4BadSource => "ipv4_bad_source",
            DropReason::Ipv4Fragment => "ipv4_fragment",
            DropReason::Ipv6Truncated => "ipv6_truncated",
            DropReason::Ipv6BadVersion => "ipv6_bad_version",
            DropReason::Ipv6BadPayloadLen => "ipv6_bad_payload_len",
            DropReason::Ipv6BadSource => "ipv6_bad_source",
            DropReason::Ipv6ExtHeader => "ipv6_ext_header",
            DropReason::Ipv6Fragment => "ipv6_fragment",
            DropReason::NdMalformed => "nd_malformed",
            DropReason::NdClaimsOurAddress => "nd_claims_our_address",
            DropReason::NdNotForUs => "nd_not_for_us",
            DropReason::Icmpv6Unhandled => "icmpv6_unhandled",
            DropReason::TcpMalformed => "tcp_malformed",
            DropReason::UdpMalformed => "udp_malformed",
            DropReason::LocalUnhandled => "local_unhandled",
            DropReason::NoService => "no_service",
            DropReason::NoConnection => "no_connection",
            DropReason::NoRealServer => "no_real_server",
            DropReason::ConnTableFull => "conn_table_full",
            DropReason::ConnCollision => "conn_collision",
            DropReason::TtlExceeded => "ttl_exceeded",
            DropReason::NoRoute => "no_route",
            DropReason::NoSourceAddress => "no_source_address",
            DropReason::NeighbourQueueFull => "neighbour_queue_full",
            DropReason::NeighbourUnresolved => "neighbour_unresolved",
            DropReason::NoBuffer => "no_buffer",
            DropReason::RealServerRemoved => "real_server_removed",
            DropReason::NoHeadroom => "no_headroom",
            DropReason::IcmpMalformed => "icmp_malformed",
            DropReason::IcmpNoConnection => "icmp_no_connection",
            DropReason::LipExhausted => "lip_exhausted",
            DropReason::TunnelTooBig => "tunnel_too_big",
            DropReason::SynproxyBadCookie => "synproxy_bad_cookie",
            DropReason::SynproxyAwaitingServer => "synproxy_awaiting_server",
            DropReason::SynproxyUnexpectedReply => "synproxy_unexpected_reply",
        }
    }
}

/// One worker's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Frames handed to the engine.
    pub rx_frames: u64,
    /// Frames the engine transmitted (forwarded, answered, or originated).
    pub tx_frames: u64,
    /// Frames forwarded as part of a connection.
    pub forwarded: u64,
    /// ARP requests for our addresses answered.
    pub arp_replies: u64,
    /// ARP requests the director sent to resolve next hops.
    pub arp_requests: u64,
    /// ARP replies addressed to the director (answers to its requests).
    pub arp_replies_received: u64,
    /// Neighbor solicitations for our IPv6 addresses answered with an advertisement.
    pub nd_replies: u64,
    /// Neighbor solicitations the director sent to resolve IPv6 next hops.
    pub nd_solicits: u64,
    /// Neighbor advertisements taken in (answers to our solicitations, updates).
    pub nd_adverts_received: u64,
    /// ICMP and ICMPv6 echo requests to our addresses answered.
    pub icmp_echo_replies: u64,
    /// ICMP and ICMPv6 errors the director originated (fragmentation needed, packet too big).
    pub icmp_errors_sent: u64,
    /// ICMP and ICMPv6 errors about tracked connections passed to the other end.
    pub icmp_relayed: u64,
    /// FullNAT SYNs given the client's address in a TOA option.
    pub toa_added: u64,
    /// FullNAT SYNs with no room left for the TOA option (sent without it).
    pub toa_no_room: u64,
    /// Connections created.
    pub conns_created: u64,
    /// Connections expired or removed.
    pub conns_expired: u64,
    /// Half-open connections dropped to make room for new ones (drop_entry defence).
    pub conns_dropped_half_open: u64,
    /// SYN proxy: client SYNs answered with a SYN-ACK carrying a cookie (no connection made).
    pub synproxy_cookies_sent: u64,
    /// SYN proxy: ACKs returning a valid cookie (a connection made, a SYN sent to the RS).
    pub synproxy_cookies_valid: u64,
    /// SYN proxy: client ACKs that carried data, lost with the SYN made of them (the client
    /// retransmits it).
    pub synproxy_ack_data_lost: u64,
    /// SYN proxy: client segments kept until their real server's SYN-ACK (then forwarded).
    pub synproxy_held: u64,
    /// SYN proxy: held client segments that left the hold, handled again once their real
    /// server answered, or dropped (`synproxy_awaiting_server`) when a newer segment took
    /// their place or their connection ended. `held - released` segments wait now.
    pub synproxy_released: u64,
    /// SYN proxy: SYNs sent to a real server again, on a client's retransmission.
    pub synproxy_syn_resent: u64,
    /// SYN proxy: real servers' SYN-ACKs answered by the director; translation starts.
    pub synproxy_handshakes: u64,
    /// SYN proxy: real servers' resets of the director's SYN, relayed to the client.
    pub synproxy_server_resets: u64,
    /// Frames that waited for neighbour resolution.
    pub neighbour_held: u64,
    /// Frames for the director itself passed to the kernel (exception path).
    pub to_kernel: u64,
    /// TCP/UDP frames handled by a worker that does not own their connection (must stay 0).
    pub wrong_worker: u64,
    /// Drops by reason, indexed by `DropReason as usize`.
    pub drops: [u64; DropReason::COUNT],
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            rx_frames: 0,
            tx_frames: 0,
            forwarded: 0,
            arp_replies: 0,
            arp_requests: 0,
            arp_replies_received: 0,
            nd_replies: 0,
            nd_solicits: 0,
            nd_adverts_received: 0,
            icmp_echo_replies: 0,
            icmp_errors_sent: 0,
            icmp_relayed: 0,
            toa_added: 0,
            toa_no_room: 0,
            conns_created: 0,
            conns_expired: 0,
            conns_dropped_half_open: 0,
            synproxy_cookies_sent: 0,
            synproxy_cookies_valid: 0,
            synproxy_ack_data_lost: 0,
            synproxy_held: 0,
            synproxy_released: 0,
            synproxy_syn_resent: 0,
            synproxy_handshakes: 0,
            synproxy_server_resets: 0,
            neighbour_held: 0,
            to_kernel: 0,
            wrong_worker: 0,
            drops: [0; DropReason::COUNT],
        }
    }
}

impl Stats {
    /// Count one drop.
    #[inline]
    pub fn drop(&mut self, reason: DropReason) {
        self.drops[reason as usize] += 1;
    }

    /// Drops counted under `reason`.
    pub fn drops_of(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    /// All drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Add another worker's counters into these.
    pub fn add(&mut self, o: &Stats) {
        self.rx_frames += o.rx_frames;
        self.tx_frames += o.tx_frames;
        self.forwarded += o.forwarded;
        self.arp_replies += o.arp_replies;
        self.arp_requests += o.arp_requests;
        self.arp_replies_received += o.arp_replies_received;
        self.nd_replies += o.nd_replies;
        self.nd_solicits += o.nd_solicits;
        self.nd_adverts_received += o.nd_adverts_received;
        self.icmp_echo_replies += o.icmp_echo_replies;
        self.icmp_errors_sent += o.icmp_errors_sent;
        self.icmp_relayed += o.icmp_relayed;
        self.toa_added += o.toa_added;
        self.toa_no_room += o.toa_no_room;
        self.conns_created += o.conns_created;
        self.conns_expired += o.conns_expired;
        self.conns_dropped_half_open += o.conns_dropped_half_open;
        self.synproxy_cookies_sent += o.synproxy_cookies_sent;
        self.synproxy_cookies_valid += o.synproxy_cookies_valid;
        self.synproxy_ack_data_lost += o.synproxy_ack_data_lost;
        self.synproxy_held += o.synproxy_held;
        self.synproxy_released += o.synproxy_released;
        self.synproxy_syn_resent += o.synproxy_syn_resent;
        self.synproxy_handshakes += o.synproxy_handshakes;
        self.synproxy_server_resets += o.synproxy_server_resets;
        self.neighbour_held += o.neighbour_held;
        self.to_kernel += o.to_kernel;
        self.wrong_worker += o.wrong_worker;
        for (a, b) in self.drops.iter_mut().zip(o.drops.iter()) {
            *a += b;
        }
    }

    /// The SYN proxy's counters with their names (without the `synproxy_` prefix), for
    /// reports and metrics.
    pub fn synproxy(&self) -> [(&'static str, u64); 8] {
        [
            ("cookies_sent", self.synproxy_cookies_sent),
            ("cookies_valid", self.synproxy_cookies_valid),
            ("held", self.synproxy_held),
            ("released", self.synproxy_released),
            ("syn_resent", self.synproxy_syn_resent),
            ("handshakes", self.synproxy_handshakes),
            ("server_resets", self.synproxy_server_resets),
            ("ack_data_lost", self.synproxy_ack_data_lost),
        ]
    }

    /// Non-zero drop counters with their names.
    pub fn nonzero_drops(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|r| (r.name(), self.drops[*r as usize]))
            .filter(|(_, n)| *n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_each_reason_at_its_index_with_a_unique_name() {
        let mut names = std::collections::HashSet::new();
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r:?} out of order in ALL");
            assert!(names.insert(r.name()), "duplicate name {}", r.name());
        }
    }

    #[test]
    fn add_sums_every_counter() {
        let mut a = Stats::default();
        a.drop(DropReason::NoService);
        a.rx_frames = 3;
        let mut b = Stats::default();
        b.drop(DropReason::NoService);
        b.drop(DropReason::TtlExceeded);
        b.rx_frames = 2;
        b.nd_replies = 4;
        b.nd_solicits = 5;
        b.nd_adverts_received = 6;
        a.add(&b);
        assert_eq!(
            (a.nd_replies, a.nd_solicits, a.nd_adverts_received),
            (4, 5, 6)
        );
        assert_eq!(a.rx_frames, 5);
        assert_eq!(a.drops_of(DropReason::NoService), 2);
        assert_eq!(a.total_drops(), 3);
        let names: Vec<_> = a.nonzero_drops().map(|(n, _)| n).collect();
        assert_eq!(names, vec!["no_service", "ttl_exceeded"]);
    }
}
