//! The benchmark scenarios measure forwarding, not drops: every method forwards every packet of
//! the handshake and of established flows both ways, rewritten as its method says, and a full
//! table refuses new connections (counted) while established ones go on.

use rvs_bench::frame::{checksums_ok, flags, Tcp, PORT_MACS, RS1_MAC, RS2_MAC};
use rvs_bench::scenario::{churn_timeouts, shuffled_ids};
use rvs_bench::{Method, Scenario};
use rvs_conn::{State, TcpState};
use rvs_engine::buf::CaptureIo;
use rvs_engine::{DropReason, VecBuf, Worker, WorkerConfig};

#[test]
fn every_method_forwards_established_flows_both_ways_with_no_drop() {
    for m in Method::ALL {
        let mut s = Scenario::new(m, 4096, |_| {});
        let ids = shuffled_ids(0, 1000, 1);
        let replies = s.establish(&ids);
        assert_eq!(s.worker.conns().len(), 1000, "{m:?}");
        for (_, e) in s.worker.conns().iter() {
            assert_eq!(e.state, State::Tcp(TcpState::Established), "{m:?}");
        }
        let acks: Vec<_> = ids.iter().map(|&i| m.to_vip(i, flags::ACK)).collect();
        let before = s.sink.total();
        s.run(0, &acks);
        assert_eq!(s.sink.total() - before, 1000, "{m:?}");
        if m.two_way() {
            assert_eq!(replies.len(), 1000);
            s.run(1, &replies);
            assert_eq!(
                s.sink.sent[..2],
                [1000, 1000],
                "{m:?}: requests leave by the inside port, replies by the outside port"
            );
        }
        assert_eq!(s.worker.stats.total_drops(), 0, "{m:?}");
        assert_eq!(s.sink.allocs, 0, "{m:?}: no ARP with static neighbours");
        assert_eq!(
            s.pool.available(),
            4 * rvs_bench::scenario::BURST,
            "no buffer leaks"
        );
    }
}

/// The same frames through the engine with its own test buffers: what each method sends out.
#[test]
fn the_frames_leave_rewritten_for_their_method_with_valid_checksums() {
    for m in Method::ALL {
        let toml = m.config(1024, 1, &[("net_pcap0", ""), ("net_null0", "")]);
        let cfg = rvs_config::parse(&toml).unwrap();
        let macs: Vec<_> = PORT_MACS[..m.ports()]
            .iter()
            .map(|x| rvs_wire::MacAddr(*x))
            .collect();
        let dir = rvs_engine::Director::new(&cfg, &macs, None).unwrap();
        let mut w: Worker<VecBuf> = Worker::new(std::sync::Arc::new(dir), WorkerConfig::default());
        let mut io = CaptureIo::default();
        w.handle(0, 0, VecBuf::from_frame(&m.to_vip(7, flags::SYN)), &mut io);
        let out = io.take();
        assert_eq!(
            out.len(),
            1,
            "{m:?}: {:?}",
            w.stats.nonzero_drops().collect::<Vec<_>>()
        );
        let (port, f) = &out[0];
        let inner = if m == Method::Tun { &f[20..] } else { &f[..] };
        let mut inner = inner.to_vec();
        if m == Method::Tun {
            // The outer header replaces the Ethernet header's place: rebuild one to parse.
            inner[0..14].copy_from_slice(&f[0..14]);
            assert_eq!(f[14 + 9], 4, "IPIP");
        }
        assert!(checksums_ok(&inner), "{m:?}");
        let t = Tcp::parse(&inner).unwrap();
        assert!(
            t.dst_mac == RS1_MAC || t.dst_mac == RS2_MAC || m == Method::Tun,
            "{m:?}"
        );
        match m {
            Method::Dr => {
                assert_eq!(*port, 0);
                assert_eq!(t.dst, m.vip().0);
            }
            Method::Tun => assert_eq!(t.dst, m.vip().0, "the client's packet, untouched"),
            Method::Nat => {
                assert_eq!(*port, 1);
                assert_eq!((t.dport, t.src), (8080, rvs_bench::frame::client(7).0));
            }
            Method::FullNat => {
                assert_eq!(*port, 1);
                assert_eq!(t.src.octets()[..3], [198, 18, 1], "a LIP");
            }
        }
    }
}

#[test]
fn a_full_table_refuses_new_connections_and_keeps_established_ones() {
    let mut s = Scenario::new(Method::Dr, 100, |_| {});
    let ids = shuffled_ids(0, 100, 2);
    s.establish(&ids);
    let syns: Vec<_> = (0..50)
        .map(|i| Method::Dr.to_vip((1 << 28) + i, flags::SYN))
        .collect();
    let acks: Vec<_> = ids
        .iter()
        .map(|&i| Method::Dr.to_vip(i, flags::ACK))
        .collect();
    let sent = s.sink.total();
    s.run(0, &syns);
    s.run(0, &acks);
    assert_eq!(s.worker.stats.drops_of(DropReason::ConnTableFull), 50);
    assert_eq!(s.sink.total() - sent, 100);
}

#[test]
fn half_open_connections_are_reaped_and_established_ones_stay() {
    let mut s = Scenario::new(Method::FullNat, 4096, |_| {});
    s.worker.set_timeouts(churn_timeouts());
    s.establish(&shuffled_ids(0, 1000, 3));
    let syns: Vec<_> = (0..2000)
        .map(|i| Method::FullNat.to_vip((1 << 28) + i, flags::SYN))
        .collect();
    s.run(0, &syns);
    assert_eq!(s.worker.conns().len(), 3000);
    s.advance(2_000_000_000);
    assert_eq!(s.expire_until(1000), 2000);
    assert_eq!(s.worker.conns().len(), 1000);
    // The reaped flows' local ports came back: the same SYNs open connections again.
    s.run(0, &syns);
    assert_eq!(s.worker.conns().len(), 3000);
    assert_eq!(s.worker.stats.total_drops(), 0);
}
