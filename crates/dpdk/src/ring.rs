//! Lock-free rings of mbufs (`rte_ring`), for handing packets between lcores.
//!
//! A [`Ring`] is the shared handle (`Send + Sync`, `Clone`); packets go in through a
//! [`RingProducer`] and out through a [`RingConsumer`]. The sync mode chosen at creation
//! decides how many of each may exist at once: a single-producer (or single-consumer)
//! ring hands out one producer (consumer) handle at a time, which is what makes DPDK's
//! cheaper single-thread enqueue (dequeue) safe; a multi ring hands out any number.

use std::cell::Cell;
use std::ffi::CString;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::eal::EalToken;
use crate::{Burst, Eal, Error, Mbuf};

/// How many threads may enqueue and dequeue concurrently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingMode {
    /// Several producers may enqueue at once (else `RING_F_SP_ENQ`).
    pub multi_producer: bool,
    /// Several consumers may dequeue at once (else `RING_F_SC_DEQ`).
    pub multi_consumer: bool,
}

impl RingMode {
    /// Many producers, many consumers.
    pub const MPMC: RingMode = RingMode {
        multi_producer: true,
        multi_consumer: true,
    };
    /// Many producers, one consumer: the per-worker inbox for packets another worker
    /// received but this one owns.
    pub const MPSC: RingMode = RingMode {
        multi_producer: true,
        multi_consumer: false,
    };
    /// One producer, one consumer.
    pub const SPSC: RingMode = RingMode {
        multi_producer: false,
        multi_consumer: false,
    };
}

/// A ring of mbufs. Shared handle: `Clone + Send + Sync`. The ring is freed (and the
/// mbufs still in it freed) when the last handle, producer or consumer goes.
#[derive(Clone, Debug)]
pub struct Ring {
    inner: Arc<RingInner>,
}

#[derive(Debug)]
struct RingInner {
    raw: NonNull<dpdk_sys::rte_ring>,
    name: String,
    mode: RingMode,
    capacity: u32,
    producer_out: AtomicBool,
    consumer_out: AtomicBool,
    _token: EalToken,
}

// SAFETY: enqueue/dequeue are only reachable through producer/consumer handles whose
// number per side is limited by the ring's sync mode (see Ring::producer/consumer);
// count queries are lock-free reads valid from any thread.
unsafe impl Send for RingInner {}
// SAFETY: as above.
unsafe impl Sync for RingInner {}

impl Ring {
    /// Creates a ring holding exactly `capacity` mbufs (`RING_F_EXACT_SZ`) on NUMA socket
    /// `socket` (`-1` for any). `name` must be unique in the process.
    pub fn new(
        eal: &Eal,
        name: &str,
        capacity: u32,
        socket: i32,
        mode: RingMode,
    ) -> Result<Ring, Error> {
        let c_name = CString::new(name)
            .map_err(|_| Error::InvalidArgument(format!("ring name {name:?} contains NUL")))?;
        let mut flags = dpdk_sys::RING_F_EXACT_SZ;
        if !mode.multi_producer {
            flags |= dpdk_sys::RING_F_SP_ENQ;
        }
        if !mode.multi_consumer {
            flags |= dpdk_sys::RING_F_SC_DEQ;
        }
        // SAFETY: on the main lcore (&Eal); c_name is valid for the call (copied by DPDK).
        let raw = unsafe { dpdk_sys::rte_ring_create(c_name.as_ptr(), capacity, socket, flags) };
        let raw = NonNull::new(raw).ok_or_else(|| {
            Error::from_rte_errno(format!("rte_ring_create({name:?}, capacity={capacity})"))
        })?;
        Ok(Ring {
            inner: Arc::new(RingInner {
                raw,
                name: name.to_string(),
                mode,
                capacity,
                producer_out: AtomicBool::new(false),
                consumer_out: AtomicBool::new(false),
                _token: EalToken::new(eal),
            }),
        })
    }

    /// A handle that enqueues. For a single-producer ring only one exists at a time:
    /// [`Error::InvalidArgument`] while another is alive.
    pub fn producer(&self) -> Result<RingProducer, Error> {
        if !self.inner.mode.multi_producer && self.inner.producer_out.swap(true, Ordering::AcqRel) {
            return Err(Error::InvalidArgument(format!(
                "single-producer ring {:?} already has a producer",
                self.inner.name
            )));
        }
        Ok(RingProducer {
            ring: Arc::clone(&self.inner),
            _not_sync: PhantomData,
        })
    }

    /// A handle that dequeues. For a single-consumer ring only one exists at a time:
    /// [`Error::InvalidArgument`] while another is alive.
    pub fn consumer(&self) -> Result<RingConsumer, Error> {
        if !self.inner.mode.multi_consumer && self.inner.consumer_out.swap(true, Ordering::AcqRel) {
            return Err(Error::InvalidArgument(format!(
                "single-consumer ring {:?} already has a consumer",
                self.inner.name
            )));
        }
        Ok(RingConsumer {
            ring: Arc::clone(&self.inner),
            _not_sync: PhantomData,
        })
    }

    /// The ring's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The sync mode chosen at creation.
    pub fn mode(&self) -> RingMode {
        self.inner.mode
    }

    /// Most mbufs the ring holds.
    pub fn capacity(&self) -> usize {
        self.inner.capacity as usize
    }

    /// Mbufs in the ring now (a snapshot under concurrent use).
    pub fn len(&self) -> usize {
        self.inner.count() as usize
    }

    /// True when the ring holds nothing (a snapshot under concurrent use).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RingInner {
    fn count(&self) -> u32 {
        // SAFETY: the ring is alive; rte_ring_count reads head/tail indexes only.
        unsafe { dpdk_sys::rvs_ring_count(self.raw.as_ptr()) }
    }
}

impl Drop for RingInner {
    fn drop(&mut self) {
        // Last handle: nobody else enqueues or dequeues. Free what is left, then the ring.
        let mut burst = Burst::new();
        loop {
            let head = burst.head_ptr();
            // SAFETY: sole user of the ring; `head` has BURST_SIZE free slots (burst is
            // empty) and receives owned mbufs (only Mbufs are ever enqueued).
            let n = unsafe {
                dpdk_sys::rvs_ring_dequeue_burst(
                    self.raw.as_ptr(),
                    head.cast(),
                    crate::BURST_SIZE as u32,
                    std::ptr::null_mut(),
                )
            } as usize;
            if n == 0 {
                break;
            }
            // SAFETY: the first n slots now hold owned mbufs.
            unsafe { burst.added(n) };
            burst.clear();
        }
        // SAFETY: no handle is left and the ring is empty; not used after this.
        unsafe { dpdk_sys::rte_ring_free(self.raw.as_ptr()) };
    }
}

/// Enqueue side of a [`Ring`]. `Send`, not `Sync`: one thread uses it at a time.
#[derive(Debug)]
pub struct RingProducer {
    ring: Arc<RingInner>,
    _not_sync: PhantomData<Cell<()>>,
}

impl RingProducer {
    /// Moves mbufs from the front of `burst` into the ring, as many as fit; the ones
    /// that did not fit stay at the front of `burst`. Returns how many went in.
    pub fn enqueue_burst(&mut self, burst: &mut Burst) -> usize {
        let n = burst.len() as u32;
        // SAFETY: the ring is alive; this handle is the only producer of a
        // single-producer ring, or the ring is multi-producer; the first n slots of
        // burst are owned mbufs, and the ring takes ownership of the first `sent`.
        let sent = unsafe {
            dpdk_sys::rvs_ring_enqueue_burst(
                self.ring.raw.as_ptr(),
                burst.head_ptr().cast(),
                n,
                std::ptr::null_mut(),
            )
        } as usize;
        // SAFETY: the ring owns the first `sent` mbufs now.
        unsafe { burst.consumed_front(sent) };
        sent
    }

    /// Enqueues one mbuf; gives it back when the ring is full.
    pub fn enqueue(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        let p = m.into_raw();
        let objs = [p.cast::<std::ffi::c_void>()];
        // SAFETY: as enqueue_burst, with one owned mbuf.
        let sent = unsafe {
            dpdk_sys::rvs_ring_enqueue_burst(
                self.ring.raw.as_ptr(),
                objs.as_ptr(),
                1,
                std::ptr::null_mut(),
            )
        };
        if sent == 1 {
            Ok(())
        } else {
            // SAFETY: not enqueued, so still ours; p came from into_raw.
            Err(unsafe { Mbuf::from_raw(p) }.expect("into_raw is never null"))
        }
    }
}

impl RingProducer {
    pub(crate) fn raw(&self) -> *mut dpdk_sys::rte_ring {
        self.ring.raw.as_ptr()
    }
}

impl Drop for RingProducer {
    fn drop(&mut self) {
        if !self.ring.mode.multi_producer {
            self.ring.producer_out.store(false, Ordering::Release);
        }
    }
}

/// Dequeue side of a [`Ring`]. `Send`, not `Sync`: one thread uses it at a time.
#[derive(Debug)]
pub struct RingConsumer {
    ring: Arc<RingInner>,
    _not_sync: PhantomData<Cell<()>>,
}

impl RingConsumer {
    /// Appends to `burst` as many mbufs as are ready and fit; returns how many.
    pub fn dequeue_burst(&mut self, burst: &mut Burst) -> usize {
        let room = burst.spare() as u32;
        // SAFETY: the ring is alive; this handle is the only consumer of a
        // single-consumer ring, or the ring is multi-consumer; spare_ptr has `room` free
        // slots, which receive owned mbufs.
        let got = unsafe {
            dpdk_sys::rvs_ring_dequeue_burst(
                self.ring.raw.as_ptr(),
                burst.spare_ptr().cast(),
                room,
                std::ptr::null_mut(),
            )
        } as usize;
        // SAFETY: `got <= room` slots were filled with owned mbufs.
        unsafe { burst.added(got) };
        got
    }

    /// Dequeues one mbuf, if any.
    pub fn dequeue(&mut self) -> Option<Mbuf> {
        let mut obj: *mut std::ffi::c_void = std::ptr::null_mut();
        // SAFETY: as dequeue_burst, with one slot.
        let got = unsafe {
            dpdk_sys::rvs_ring_dequeue_burst(
                self.ring.raw.as_ptr(),
                &mut obj,
                1,
                std::ptr::null_mut(),
            )
        };
        if got == 1 {
            // SAFETY: the ring gave us ownership of one mbuf.
            unsafe { Mbuf::from_raw(obj.cast()) }
        } else {
            None
        }
    }
}

impl RingConsumer {
    pub(crate) fn raw(&self) -> *mut dpdk_sys::rte_ring {
        self.ring.raw.as_ptr()
    }
}

impl Drop for RingConsumer {
    fn drop(&mut self) {
        if !self.ring.mode.multi_consumer {
            self.ring.consumer_out.store(false, Ordering::Release);
        }
    }
}
