//! Worker lcores: a closure runs on lcore 1 and its value comes back through join; the
//! launch rules (main lcore, disabled lcore, busy lcore) are enforced; a worker polls a
//! port queue handed to it.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dpdk::{launch_on_lcore, Burst, Eal, Error, Mempool, Port, PortConfig, SOCKET_ID_ANY};

#[test]
fn closures_run_on_worker_lcores() {
    // `-l 0-1` works on a 2-CPU machine (and on 1 CPU too: lcores are threads).
    let eal = Eal::init(&common::eal_args("rvs-test-lcore", "0-1")).expect("EAL init");
    assert_eq!(eal.main_lcore(), 0);
    assert_eq!(eal.worker_lcores(), vec![1]);
    assert_eq!(eal.lcore_count(), 2);

    // The closure runs on lcore 1 and returns a value.
    let join = launch_on_lcore(&eal, 1, || {
        let id = dpdk::lcore_id().map_or(-1, |l| l as i32);
        100 + id
    })
    .expect("launch");
    assert_eq!(join.lcore(), 1);
    assert_eq!(join.join(), 101);

    // Only enabled worker lcores.
    assert_eq!(
        launch_on_lcore(&eal, 0, || 0).unwrap_err(),
        Error::NotAWorkerLcore(0)
    );
    assert_eq!(
        launch_on_lcore(&eal, 2, || 0).unwrap_err(),
        Error::NotAWorkerLcore(2)
    );
    assert_eq!(
        launch_on_lcore(&eal, 4096, || 0).unwrap_err(),
        Error::NotAWorkerLcore(4096)
    );

    // A running (or unjoined) lcore is busy.
    let go = Arc::new(AtomicBool::new(false));
    let go2 = Arc::clone(&go);
    let join = launch_on_lcore(&eal, 1, move || {
        while !go2.load(Ordering::Acquire) {
            dpdk::pause();
        }
        7
    })
    .expect("launch");
    assert_eq!(
        launch_on_lcore(&eal, 1, || 0).unwrap_err(),
        Error::LcoreBusy(1)
    );
    go.store(true, Ordering::Release);
    assert_eq!(join.join(), 7);

    // A panic stays on the worker and is reported as LCORE_PANICKED.
    let join =
        launch_on_lcore(&eal, 1, || panic!("worker panic (expected by the test)")).expect("launch");
    assert_eq!(join.join(), dpdk::LCORE_PANICKED);

    // A worker owns queue handles and mbufs: main sends on net_ring0, the worker receives
    // on lcore 1 and frees what it got there.
    let pool = Mempool::new(
        &eal,
        "lcore_t",
        511,
        32,
        Mempool::DEFAULT_DATA_ROOM,
        SOCKET_ID_ANY,
    )
    .expect("pool");
    let mut port = Port::from_vdev(&eal, "net_ring0", "").expect("net_ring0");
    port.configure(&PortConfig::default(), &pool)
        .expect("configure");
    port.start().expect("start");
    let mut txq = port.tx_queue(0).expect("txq");
    let mut rxq = port.rx_queue(0).expect("rxq");

    let mut b = Burst::new();
    assert!(pool.alloc_bulk(&mut b, 20));
    for (i, m) in b.iter_mut().enumerate() {
        m.append(64).expect("room").fill(i as u8);
    }
    assert_eq!(txq.tx_burst(&mut b), 20);

    let join = launch_on_lcore(&eal, 1, move || {
        let mut got = Burst::new();
        let mut total = 0;
        while total < 20 {
            total += rxq.rx_burst(&mut got);
        }
        let in_order = got
            .iter()
            .enumerate()
            .all(|(i, m)| m.data() == [i as u8; 64]);
        got.clear();
        if in_order {
            total as i32
        } else {
            -1
        }
    })
    .expect("launch");
    assert_eq!(join.join(), 20);
    assert_eq!(
        pool.in_use_count(),
        0,
        "mbufs freed on the worker went back to the pool"
    );
    assert_eq!(port.stats().ipackets, 20);

    // The worker dropped its rx handle when its closure ended: the queue is free again.
    drop(port.rx_queue(0).expect("rx queue released by the worker"));
    drop(txq);
    port.stop().expect("stop");
    drop((port, pool));
    eal.cleanup().expect("EAL cleanup");
}
