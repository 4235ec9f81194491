//! Packet buffer pools (`rte_pktmbuf_pool_create`).

use std::ffi::CString;
use std::ptr::NonNull;
use std::sync::Arc;

use crate::eal::EalToken;
use crate::{Burst, Eal, Error, Mbuf};

/// A pool of packet buffers. Cheap to clone (shared handle); `Send + Sync`: allocation
/// and free are thread-safe (DPDK's default multi-producer/multi-consumer ring ops, plus
/// a per-lcore cache on EAL threads).
///
/// The pool is freed when the last handle goes, if no mbuf of it is still out; otherwise
/// it is kept (and EAL cleanup skipped) so those mbufs stay valid.
#[derive(Clone, Debug)]
pub struct Mempool {
    inner: Arc<MempoolInner>,
}

#[derive(Debug)]
struct MempoolInner {
    raw: NonNull<dpdk_sys::rte_mempool>,
    name: String,
    size: u32,
    token: Option<EalToken>,
}

// SAFETY: the pool is created with DPDK's default mbuf ops (ring_mp_mc), whose get/put
// are safe from any thread; the handle's own fields are immutable.
unsafe impl Send for MempoolInner {}
// SAFETY: as above; &MempoolInner only allows thread-safe get/put and counters.
unsafe impl Sync for MempoolInner {}

impl Mempool {
    /// Creates a pool of `n` mbufs with `data_room` bytes each (headroom included:
    /// use [`Mempool::DEFAULT_DATA_ROOM`] for 2048 bytes of data after the default
    /// 128-byte headroom), a per-lcore cache of `cache` mbufs (at most 512), on NUMA
    /// socket `socket` (`-1` for any). `name` must be unique in the process.
    pub fn new(
        eal: &Eal,
        name: &str,
        n: u32,
        cache: u32,
        data_room: u16,
        socket: i32,
    ) -> Result<Mempool, Error> {
        let c_name = CString::new(name)
            .map_err(|_| Error::InvalidArgument(format!("mempool name {name:?} contains NUL")))?;
        // SAFETY: on the main lcore (&Eal); c_name is a valid C string for the call's
        // duration (DPDK copies it into the memzone).
        let raw = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(c_name.as_ptr(), n, cache, 0, data_room, socket)
        };
        let raw = NonNull::new(raw).ok_or_else(|| {
            Error::from_rte_errno(format!(
                "rte_pktmbuf_pool_create({name:?}, n={n}, cache={cache}, data_room={data_room})"
            ))
        })?;
        Ok(Mempool {
            inner: Arc::new(MempoolInner {
                raw,
                name: name.to_string(),
                size: n,
                token: Some(EalToken::new(eal)),
            }),
        })
    }

    /// Data room of DPDK's default mbuf: 2048 bytes plus the 128-byte headroom.
    pub const DEFAULT_DATA_ROOM: u16 = dpdk_sys::RTE_MBUF_DEFAULT_BUF_SIZE as u16;

    /// An empty mbuf (default headroom, length 0), or `None` when the pool is empty.
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is alive (we hold a handle) and thread-safe (see Send/Sync).
        let m = unsafe { dpdk_sys::rvs_pktmbuf_alloc(self.as_ptr()) };
        // SAFETY: a non-null result is a freshly allocated mbuf with refcnt 1, owned by us.
        unsafe { Mbuf::from_raw(m) }
    }

    /// Appends `n` empty mbufs to `burst`, all or nothing; false when the pool has fewer
    /// than `n` free or `burst` has fewer than `n` free slots.
    pub fn alloc_bulk(&self, burst: &mut Burst, n: usize) -> bool {
        let Ok(count) = u32::try_from(n) else {
            return false;
        };
        if n > burst.spare() {
            return false;
        }
        let tail = burst.spare_ptr();
        // SAFETY: `tail` points at `spare() >= n` writable slots laid out as
        // `*mut rte_mbuf`; on success DPDK fills exactly n of them with owned mbufs.
        let ret = unsafe { dpdk_sys::rvs_pktmbuf_alloc_bulk(self.as_ptr(), tail, count) };
        if ret != 0 {
            return false;
        }
        // SAFETY: the n slots after len were just initialised with valid mbufs.
        unsafe { burst.added(n) };
        true
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Number of mbufs the pool was created with.
    pub fn size(&self) -> u32 {
        self.inner.size
    }

    /// Mbufs free in the pool (per-lcore caches included).
    pub fn avail_count(&self) -> u32 {
        // SAFETY: the pool is alive; the count only reads ring and cache lengths.
        unsafe { dpdk_sys::rte_mempool_avail_count(self.as_ptr()) }
    }

    /// Mbufs currently allocated from the pool.
    pub fn in_use_count(&self) -> u32 {
        // SAFETY: as avail_count.
        unsafe { dpdk_sys::rte_mempool_in_use_count(self.as_ptr()) }
    }

    pub(crate) fn as_ptr(&self) -> *mut dpdk_sys::rte_mempool {
        self.inner.raw.as_ptr()
    }

    pub(crate) fn same_pool(&self, other: &Mempool) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Drop for MempoolInner {
    fn drop(&mut self) {
        // SAFETY: the pool is alive until freed below.
        let in_use = unsafe { dpdk_sys::rte_mempool_in_use_count(self.raw.as_ptr()) };
        if in_use == 0 {
            // SAFETY: no handle is left (this is the Arc's last drop) and no mbuf of the
            // pool is out, so nothing can reach the pool after this.
            unsafe { dpdk_sys::rte_mempool_free(self.raw.as_ptr()) };
        } else {
            tracing::warn!(
                pool = %self.name,
                in_use,
                "mempool dropped with mbufs still out; keeping it (and EAL) alive"
            );
            if let Some(t) = self.token.take() {
                t.pin_forever();
            }
        }
    }
}
