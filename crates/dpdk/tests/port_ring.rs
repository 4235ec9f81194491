//! Ports on virtual devices loaded from EAL's PMD plugin directory: net_ring (looped
//! back), a port made from two rings, and net_null. Frames go out and come back byte for
//! byte, and the port counters see them.

mod common;

use dpdk::{
    Burst, Eal, Error, Mempool, Port, PortConfig, Ring, RingMode, BURST_SIZE, SOCKET_ID_ANY,
};

/// An Ethernet frame whose bytes identify `i`: broadcast dst, a fixed src, an
/// experimental EtherType (0x88B5), then `i` repeated; 60 + i bytes long.
fn frame(i: u8) -> Vec<u8> {
    let mut f = vec![0xFF; 6];
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01]);
    f.extend_from_slice(&[0x88, 0xB5]);
    f.resize(60 + usize::from(i), i);
    f
}

fn fill(pool: &Mempool, n: u8) -> Burst {
    let mut b = Burst::new();
    for i in 0..n {
        let mut m = pool.alloc().expect("mbuf");
        let f = frame(i);
        m.append(f.len()).expect("room").copy_from_slice(&f);
        b.push(m).expect("burst room");
    }
    b
}

#[test]
fn ports_on_virtual_devices() {
    let eal = Eal::init(&common::eal_args("rvs-test-port", "0")).expect("EAL init");
    let pool = Mempool::new(
        &eal,
        "port_t",
        2047,
        32,
        Mempool::DEFAULT_DATA_ROOM,
        SOCKET_ID_ANY,
    )
    .expect("pool");

    net_ring_loopback(&eal, &pool);
    ring_backed_port(&eal, &pool);
    net_null(&eal, &pool);

    assert_eq!(pool.in_use_count(), 0, "every mbuf came back");
    drop(pool);
    eal.cleanup()
        .expect("EAL cleanup closes the ports and releases EAL");
}

/// net_ring created without arguments uses one ring per queue for both directions, so
/// what queue 0 sends, queue 0 receives.
fn net_ring_loopback(eal: &Eal, pool: &Mempool) {
    let mut port = Port::from_vdev(eal, "net_ring0", "").expect("net_ring0 (PMD plugin loaded?)");
    assert_eq!(port.name(), "net_ring0");
    // Asking again finds the same port.
    assert_eq!(
        Port::from_vdev(eal, "net_ring0", "").expect("again").id(),
        port.id()
    );
    assert_eq!(
        Port::by_name(eal, "net_ring0").expect("by name").id(),
        port.id()
    );
    assert_eq!(port.queues(), (0, 0));
    assert!(port.start().is_err(), "start before configure");

    // net_ring has 16 queue pairs.
    let too_many = PortConfig {
        rx_queues: 17,
        ..PortConfig::default()
    };
    assert!(matches!(
        port.configure(&too_many, pool),
        Err(Error::TooManyQueues { max_rx: 16, .. })
    ));

    port.configure(&PortConfig::default(), pool)
        .expect("configure");
    assert_eq!(port.queues(), (1, 1));
    assert!(
        matches!(port.rx_queue(0), Err(Error::InvalidArgument(_))),
        "not started"
    );
    port.start().expect("start");
    assert!(port.link_up());
    assert!(port.mtu() > 0);

    let mut rxq = port.rx_queue(0).expect("rx queue");
    let mut txq = port.tx_queue(0).expect("tx queue");
    assert!(matches!(
        port.tx_queue(0),
        Err(Error::QueueInUse { queue: 0, .. })
    ));
    assert!(matches!(
        port.rx_queue(1),
        Err(Error::NoSuchQueue {
            queue: 1,
            configured: 1,
            ..
        })
    ));
    assert_eq!(
        port.configure(&PortConfig::default(), pool),
        Err(Error::PortBusy(port.id().0))
    );
    assert_eq!(port.stop(), Err(Error::PortBusy(port.id().0)));

    let mut out = fill(pool, 32);
    assert_eq!(txq.tx_burst(&mut out), 32);
    assert!(out.is_empty());

    let mut got = Burst::new();
    assert_eq!(rxq.rx_burst(&mut got), 32);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(m.data(), frame(i as u8).as_slice(), "frame {i}");
        assert_eq!(m.pkt_len(), 60 + i);
    }
    assert_eq!(rxq.rx_burst(&mut got), 0, "nothing more");
    got.clear();

    let st = port.stats();
    assert_eq!((st.opackets, st.ipackets, st.oerrors), (32, 32, 0));

    // A full burst on rx: only the free slots are filled, the rest waits in the ring.
    let mut out = fill(pool, BURST_SIZE as u8);
    assert_eq!(txq.tx_burst(&mut out), BURST_SIZE);
    let mut got = fill(pool, 60);
    assert_eq!(rxq.rx_burst(&mut got), 4);
    assert_eq!(got.as_slice()[60].data(), frame(0).as_slice());
    got.clear();
    assert_eq!(rxq.rx_burst(&mut got), BURST_SIZE - 4);
    assert_eq!(got.as_slice()[0].data(), frame(4).as_slice());
    got.clear();

    // Queue handles gone: the port can stop; its queues come back after a restart.
    drop((rxq, txq));
    port.stop().expect("stop");
    assert!(!port.is_started());
    port.start().expect("restart");
    let _rxq = port.rx_queue(0).expect("rx queue after restart");
}

/// A port made from two rings: the test feeds its rx ring and reads its tx ring.
fn ring_backed_port(eal: &Eal, pool: &Mempool) {
    let to_port = Ring::new(eal, "to_port", 256, SOCKET_ID_ANY, RingMode::SPSC).expect("ring");
    let from_port = Ring::new(eal, "from_port", 256, SOCKET_ID_ANY, RingMode::SPSC).expect("ring");
    let mut port = Port::from_rings(
        eal,
        "pair0",
        to_port.consumer().expect("consumer"),
        from_port.producer().expect("producer"),
    )
    .expect("rings port");
    assert_eq!(port.name(), "net_ring_pair0");
    assert!(
        to_port.consumer().is_err(),
        "the port owns the rx ring's consumer"
    );

    port.configure(&PortConfig::default(), pool)
        .expect("configure");
    port.start().expect("start");
    let (mut rxq, mut txq) = (
        port.rx_queue(0).expect("rxq"),
        port.tx_queue(0).expect("txq"),
    );

    let mut inject = to_port.producer().expect("producer");
    let mut collect = from_port.consumer().expect("consumer");
    let mut b = fill(pool, 10);
    assert_eq!(inject.enqueue_burst(&mut b), 10);

    // What a forwarding worker does: rx, rewrite, tx.
    assert_eq!(rxq.rx_burst(&mut b), 10);
    for m in &mut b {
        m.data_mut()[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
    }
    assert_eq!(txq.tx_burst(&mut b), 10);

    let mut out = Burst::new();
    assert_eq!(collect.dequeue_burst(&mut out), 10);
    for (i, m) in out.iter().enumerate() {
        let mut want = frame(i as u8);
        want[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x02]);
        assert_eq!(m.data(), want.as_slice(), "frame {i}");
    }
    let st = port.stats();
    assert_eq!((st.ipackets, st.opackets), (10, 10));
}

/// net_null: rx makes packets of `size` bytes out of the port's pool, tx frees them.
fn net_null(eal: &Eal, pool: &Mempool) {
    let mut port = Port::from_vdev(eal, "net_null0", "size=128").expect("net_null0");
    let cfg = PortConfig {
        rx_queues: 2,
        tx_queues: 2,
        rx_desc: 64,
        tx_desc: 64,
        mtu: None,
        promiscuous: false,
    };
    port.configure(&cfg, pool).expect("configure");
    port.start().expect("start");
    assert_eq!(port.queues(), (2, 2));
    let mut rxq = port.rx_queue(1).expect("rxq 1");
    let mut txq = port.tx_queue(1).expect("txq 1");
    let mut b = Burst::new();
    assert_eq!(rxq.rx_burst(&mut b), BURST_SIZE);
    assert!(b.iter().all(|m| m.len() == 128));
    assert_eq!(pool.in_use_count(), BURST_SIZE as u32);
    assert_eq!(txq.tx_burst(&mut b), BURST_SIZE);
    assert_eq!(pool.in_use_count(), 0);
    let st = port.stats();
    assert_eq!(
        (st.ipackets, st.opackets),
        (BURST_SIZE as u64, BURST_SIZE as u64)
    );
}
