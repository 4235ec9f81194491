//! EAL init once, mempool accounting, mbuf data-window operations, bursts and rings.

mod common;

use dpdk::{Burst, Eal, Error, Mbuf, Mempool, Port, Ring, RingMode, BURST_SIZE, SOCKET_ID_ANY};

#[test]
fn eal_mempool_mbuf_burst_ring() {
    let eal = Eal::init(&common::eal_args("rvs-test-eal", "0")).expect("EAL init");
    assert_eq!(
        Eal::init(&common::eal_args("rvs-test-eal", "0")).unwrap_err(),
        Error::AlreadyInitialised
    );
    assert_eq!(eal.main_lcore(), 0);
    assert!(eal.worker_lcores().is_empty());
    assert_eq!(eal.lcore_count(), 1);
    assert_eq!(dpdk::lcore_id(), Some(0));
    assert!(dpdk::tsc_hz() > 0);
    let t0 = dpdk::tsc();
    assert!(dpdk::tsc() >= t0);

    mempool_and_mbuf(&eal);
    burst(&eal);
    ring(&eal);

    assert!(matches!(
        Port::by_name(&eal, "no_such_port"),
        Err(Error::NoSuchPort(n)) if n == "no_such_port"
    ));
    // Everything was dropped, so EAL really cleans up.
    eal.cleanup().expect("EAL cleanup");
}

fn mempool_and_mbuf(eal: &Eal) {
    let pool = Mempool::new(
        eal,
        "mbuf_t",
        1023,
        0,
        Mempool::DEFAULT_DATA_ROOM,
        SOCKET_ID_ANY,
    )
    .expect("mempool");
    assert_eq!(pool.size(), 1023);
    assert_eq!(pool.in_use_count(), 0);
    assert_eq!(pool.avail_count(), 1023);
    // Names are unique per process.
    match Mempool::new(eal, "mbuf_t", 63, 0, 2176, SOCKET_ID_ANY) {
        Err(Error::Eal { errno, .. }) => assert_eq!(errno, 17, "EEXIST"),
        other => panic!("duplicate pool name accepted: {other:?}"),
    }

    let mut m = pool.alloc().expect("alloc");
    assert_eq!(pool.in_use_count(), 1);
    assert!(m.is_empty());
    assert_eq!(m.headroom(), 128);
    assert_eq!(m.tailroom(), 2048);
    assert!(!m.is_segmented());

    // append: grow at the end.
    m.append(14).expect("append").copy_from_slice(&[0xAA; 14]);
    assert_eq!(m.data(), &[0xAA; 14]);
    assert_eq!((m.len(), m.pkt_len(), m.tailroom()), (14, 14, 2034));
    // prepend: grow at the front, data keeps its place after the new bytes.
    m.prepend(4)
        .expect("prepend")
        .copy_from_slice(&[1, 2, 3, 4]);
    assert_eq!(m.headroom(), 124);
    assert_eq!(&m.data()[..4], &[1, 2, 3, 4]);
    assert_eq!(&m.data()[4..], &[0xAA; 14]);
    assert_eq!(m.pkt_len(), 18);
    // adj: trim at the front.
    assert!(m.adj(4));
    assert_eq!(m.data(), &[0xAA; 14]);
    assert_eq!(m.headroom(), 128);
    // trim: cut at the end.
    m.data_mut()[13] = 0x55;
    assert!(m.trim(4));
    assert_eq!(m.data(), &[0xAA; 10]);
    assert_eq!(m.pkt_len(), 10);
    // Out-of-range requests fail and change nothing.
    assert!(m.prepend(129).is_none());
    assert!(m.prepend(70_000).is_none());
    assert!(!m.adj(11));
    assert!(!m.trim(11));
    assert!(m.append(2039).is_none());
    assert_eq!((m.len(), m.headroom(), m.tailroom()), (10, 128, 2038));
    // set_len: resize within the buffer.
    assert!(m.set_len(100));
    assert_eq!((m.len(), m.pkt_len(), m.tailroom()), (100, 100, 1948));
    assert_eq!(&m.data()[..10], &[0xAA; 10]);
    assert!(!m.set_len(2049));
    assert!(m.set_len(2048));
    assert_eq!(m.tailroom(), 0);
    assert!(m.set_len(0));
    assert!(m.is_empty());
    // Headroom can be used up to the byte.
    assert_eq!(m.prepend(128).map(|b| b.len()), Some(128));
    assert_eq!(m.headroom(), 0);
    m.reset();
    assert_eq!((m.len(), m.headroom()), (0, 128));

    // into_raw / from_raw keep ownership across the raw boundary.
    let raw = m.into_raw();
    assert_eq!(pool.in_use_count(), 1);
    // SAFETY: raw came from into_raw just above and is owned by nobody else.
    let m = unsafe { Mbuf::from_raw(raw) }.expect("non-null");
    drop(m);
    assert_eq!(pool.in_use_count(), 0);

    // Exhaustion: a cache-less pool hands out exactly n mbufs.
    let small = Mempool::new(eal, "small_t", 63, 0, 256, SOCKET_ID_ANY).expect("small pool");
    let all: Vec<Mbuf> = std::iter::from_fn(|| small.alloc()).take(100).collect();
    assert_eq!(all.len(), 63);
    assert!(small.alloc().is_none());
    drop(all);
    assert_eq!(small.avail_count(), 63);
}

fn burst(eal: &Eal) {
    let pool = Mempool::new(eal, "burst_t", 255, 0, 512, SOCKET_ID_ANY).expect("pool");
    let mut b = Burst::new();
    assert!(b.is_empty());
    assert!(pool.alloc_bulk(&mut b, 10));
    assert_eq!(b.len(), 10);
    assert_eq!(pool.in_use_count(), 10);
    for (i, m) in b.iter_mut().enumerate() {
        m.append(1).expect("room")[0] = i as u8;
    }
    // retain keeps order and frees the rest.
    assert_eq!(b.retain(|m| m.data()[0] % 2 == 0), 5);
    let tags: Vec<u8> = b.iter().map(|m| m.data()[0]).collect();
    assert_eq!(tags, [0, 2, 4, 6, 8]);
    assert_eq!(pool.in_use_count(), 5);
    // pop / swap_remove / push
    assert_eq!(b.pop().map(|m| m.data()[0]), Some(8));
    assert_eq!(b.swap_remove(0).map(|m| m.data()[0]), Some(0));
    assert!(b.swap_remove(3).is_none());
    let tags: Vec<u8> = b.iter().map(|m| m.data()[0]).collect();
    assert_eq!(tags, [6, 2, 4]);
    // drain yields in order and empties the burst, even when not run to the end.
    let first = b.drain().next().map(|m| m.data()[0]);
    assert_eq!(first, Some(6));
    assert!(b.is_empty());
    assert_eq!(pool.in_use_count(), 0);
    // Fill to the brim; push on a full burst gives the mbuf back.
    assert!(pool.alloc_bulk(&mut b, BURST_SIZE));
    assert!(b.is_full());
    assert!(!pool.alloc_bulk(&mut b, 1));
    let extra = pool.alloc().expect("alloc");
    let extra = b.push(extra).expect_err("full burst refuses");
    drop(extra);
    assert_eq!(b.clear(), BURST_SIZE);
    assert_eq!(pool.in_use_count(), 0);
    // Dropping a burst frees what it holds.
    assert!(pool.alloc_bulk(&mut b, 3));
    drop(b);
    assert_eq!(pool.in_use_count(), 0);
}

fn ring(eal: &Eal) {
    let pool = Mempool::new(eal, "ring_t", 255, 0, 512, SOCKET_ID_ANY).expect("pool");
    let ring = Ring::new(eal, "ring_t", 40, SOCKET_ID_ANY, RingMode::SPSC).expect("ring");
    assert_eq!(ring.capacity(), 40);
    let mut tx = ring.producer().expect("producer");
    assert!(
        ring.producer().is_err(),
        "single producer ring hands out one producer"
    );
    let mut rx = ring.consumer().expect("consumer");
    assert!(ring.consumer().is_err());

    let mut b = Burst::new();
    assert!(pool.alloc_bulk(&mut b, 50));
    for (i, m) in b.iter_mut().enumerate() {
        m.append(2).expect("room").copy_from_slice(&[i as u8, 0xEE]);
    }
    // Only 40 fit: the other 10 stay at the front of the burst, in order.
    assert_eq!(tx.enqueue_burst(&mut b), 40);
    assert_eq!(ring.len(), 40);
    assert_eq!(b.len(), 10);
    assert_eq!(b.as_slice()[0].data()[0], 40);
    assert_eq!(b.clear(), 10);

    let mut out = Burst::new();
    assert_eq!(rx.dequeue_burst(&mut out), 40);
    let tags: Vec<u8> = out.iter().map(|m| m.data()[0]).collect();
    assert_eq!(tags, (0..40).collect::<Vec<u8>>());
    assert!(ring.is_empty());

    // Single-mbuf enqueue/dequeue.
    let m = out.pop().expect("one");
    tx.enqueue(m).expect("room");
    assert_eq!(rx.dequeue().map(|m| m.data()[0]), Some(39));
    assert!(rx.dequeue().is_none());

    // A dropped producer frees its slot.
    drop(tx);
    let _tx2 = ring.producer().expect("producer after drop");

    // Mbufs left in a ring are freed with the ring.
    let mut mp = Ring::new(eal, "ring_mp_t", 64, SOCKET_ID_ANY, RingMode::MPMC).expect("ring");
    let (mut p1, mut p2) = (mp.producer().expect("p1"), mp.producer().expect("p2"));
    p1.enqueue(out.pop().expect("m")).expect("room");
    p2.enqueue(out.pop().expect("m")).expect("room");
    assert_eq!(mp.len(), 2);
    out.clear();
    drop((p1, p2));
    mp = Ring::new(eal, "ring_mp_t2", 64, SOCKET_ID_ANY, RingMode::MPMC).expect("ring");
    assert!(mp.is_empty());
    drop((ring, rx));
    assert_eq!(pool.in_use_count(), 0);
}
