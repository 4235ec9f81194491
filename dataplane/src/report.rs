//! The counters rvsd prints when it stops.

use std::fmt::Write;

use rvs_engine::Stats;

/// Counters of one port as DPDK and the worker transmit path keep them.
#[derive(Clone, Debug, Default)]
pub struct PortReport {
    /// Configuration name.
    pub name: String,
    /// DPDK device.
    pub device: String,
    /// Frames received (device counter).
    pub rx_packets: u64,
    /// Bytes received (device counter).
    pub rx_bytes: u64,
    /// Frames sent (device counter).
    pub tx_packets: u64,
    /// Bytes sent (device counter).
    pub tx_bytes: u64,
    /// Frames the device dropped for lack of descriptors or buffers.
    pub rx_missed: u64,
    /// Frames the TX queue refused (counted by the workers).
    pub tx_dropped: u64,
}

/// The final report: per port, then the engine's counters and drops by reason.
pub fn render(ports: &[PortReport], engine: &Stats) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "rvsd: final counters");
    let _ = writeln!(
        s,
        "{:<12} {:<18} {:>12} {:>14} {:>12} {:>14} {:>10} {:>10}",
        "port",
        "device",
        "rx_packets",
        "rx_bytes",
        "tx_packets",
        "tx_bytes",
        "rx_missed",
        "tx_dropped"
    );
    for p in ports {
        let _ = writeln!(
            s,
            "{:<12} {:<18} {:>12} {:>14} {:>12} {:>14} {:>10} {:>10}",
            p.name,
            p.device,
            p.rx_packets,
            p.rx_bytes,
            p.tx_packets,
            p.tx_bytes,
            p.rx_missed,
            p.tx_dropped
        );
    }
    let _ = writeln!(
        s,
        "engine: rx {} tx {} forwarded {} arp_replies {} arp_requests {} icmp_echo_replies {} conns_created {} conns_expired {} neighbour_held {} icmp_errors_sent {} wrong_worker {}",
        engine.rx_frames,
        engine.tx_frames,
        engine.forwarded,
        engine.arp_replies,
        engine.arp_requests,
        engine.icmp_echo_replies,
        engine.conns_created,
        engine.conns_expired,
        engine.neighbour_held,
        engine.icmp_errors_sent,
        engine.wrong_worker
    );
    if engine.synproxy_cookies_sent > 0 {
        let _ = write!(s, "synproxy:");
        for (name, n) in engine.synproxy() {
            let _ = write!(s, " {name} {n}");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "drops: {} total", engine.total_drops());
    for (name, n) in engine.nonzero_drops() {
        let _ = writeln!(s, "  {name:<28} {n}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rvs_engine::DropReason;

    #[test]
    fn the_report_has_a_synproxy_line_when_the_proxy_worked() {
        let ports = vec![];
        assert!(!render(&ports, &Stats::default()).contains("synproxy"));
        let st = Stats {
            synproxy_cookies_sent: 3,
            synproxy_handshakes: 1,
            ..Default::default()
        };
        let r = render(&ports, &st);
        assert!(
            r.lines().any(|l| l
                == "synproxy: cookies_sent 3 cookies_valid 0 held 0 released 0 syn_resent 0 handshakes 1 \
                    server_resets 0 ack_data_lost 0"),
            "{r}"
        );
    }

    #[test]
    fn the_report_names_ports_and_drop_reasons() {
        let mut st = Stats {
            rx_frames: 10,
            ..Default::default()
        };
        st.drop(DropReason::NoService);
        st.drop(DropReason::NoService);
        let ports = vec![PortReport {
            name: "outside".into(),
            device: "net_ring0".into(),
            rx_packets: 10,
            ..Default::default()
        }];
        let r = render(&ports, &st);
        assert!(r.contains("outside"));
        assert!(r.contains("net_ring0"));
        assert!(r.contains("engine: rx 10"));
        assert!(r.contains("drops: 2 total"));
        assert!(r
            .lines()
            .any(|l| l.trim() == "no_service                   2"));
        assert!(!r.contains("ttl_exceeded"));
    }
}
