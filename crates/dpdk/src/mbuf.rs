//! The owning packet buffer [`Mbuf`] and the fixed-size [`Burst`] that carries up to
//! [`BURST_SIZE`] of them between rx, the engine, rings and tx without heap allocation.

use std::fmt;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};

use dpdk_sys::rte_mbuf;

/// One packet buffer, owned: dropping it returns it to its pool (`rte_pktmbuf_free`).
///
/// The accessors describe the first segment: [`Mbuf::data`] is the bytes between
/// `data_off` and `data_off + data_len`. The packets this project handles are single
/// segment (rx pools hold 2 KiB of data room, MTU-sized frames); [`Mbuf::is_segmented`]
/// tells the exceptions, [`Mbuf::pkt_len`] gives the total over all segments.
///
/// `#[repr(transparent)]` over the DPDK pointer, so a `[Mbuf]` is a `struct rte_mbuf *[]`.
#[repr(transparent)]
pub struct Mbuf(NonNull<rte_mbuf>);

// SAFETY: an Mbuf is the only reference to its buffer (refcnt 1, see from_raw), and DPDK
// allows freeing an mbuf on any thread (the pool ops are multi-producer).
unsafe impl Send for Mbuf {}
// SAFETY: &Mbuf only reads the buffer and its header; mutation needs &mut Mbuf.
unsafe impl Sync for Mbuf {}

impl Mbuf {
    /// Takes ownership of a raw mbuf; `None` for a null pointer.
    ///
    /// # Safety
    /// `m` is null or a valid mbuf from a live pool that nobody else references or frees
    /// (refcnt 1, not attached to or from another mbuf), e.g. one returned by
    /// `rte_pktmbuf_alloc`, an rx burst, or [`Mbuf::into_raw`].
    pub unsafe fn from_raw(m: *mut rte_mbuf) -> Option<Mbuf> {
        NonNull::new(m).map(Mbuf)
    }

    /// Gives up ownership without freeing; take it back with [`Mbuf::from_raw`].
    pub fn into_raw(self) -> *mut rte_mbuf {
        let p = self.0.as_ptr();
        std::mem::forget(self);
        p
    }

    /// The raw pointer, still owned by `self`.
    pub fn as_ptr(&self) -> *const rte_mbuf {
        self.0.as_ptr()
    }

    fn hdr(&self) -> &rte_mbuf {
        // SAFETY: self.0 is a valid mbuf we own (type invariant) for as long as &self.
        unsafe { self.0.as_ref() }
    }

    fn hdr_mut(&mut self) -> &mut rte_mbuf {
        // SAFETY: as hdr, and &mut self makes the access exclusive.
        unsafe { self.0.as_mut() }
    }

    /// The packet bytes of the first segment.
    pub fn data(&self) -> &[u8] {
        let m = self.hdr();
        // SAFETY: DPDK keeps data_off + data_len <= buf_len, so the range lies inside the
        // mbuf's data buffer, which we own and which lives as long as self.
        unsafe {
            std::slice::from_raw_parts(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    /// The packet bytes of the first segment, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        let m = self.hdr_mut();
        // SAFETY: as data(); &mut self gives exclusive access to the buffer (refcnt 1).
        unsafe {
            std::slice::from_raw_parts_mut(
                m.buf_addr.cast::<u8>().add(usize::from(m.data_off)),
                usize::from(m.data_len),
            )
        }
    }

    /// Length of [`Mbuf::data`] (the first segment's `data_len`).
    pub fn len(&self) -> usize {
        usize::from(self.hdr().data_len)
    }

    /// True when the first segment holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total packet length over all segments (`pkt_len`).
    pub fn pkt_len(&self) -> usize {
        self.hdr().pkt_len as usize
    }

    /// Free bytes before the data (`rte_pktmbuf_headroom`).
    pub fn headroom(&self) -> usize {
        usize::from(self.hdr().data_off)
    }

    /// Free bytes after the first segment's data (`rte_pktmbuf_tailroom` of this mbuf).
    pub fn tailroom(&self) -> usize {
        let m = self.hdr();
        usize::from(m.buf_len)
            .saturating_sub(usize::from(m.data_off))
            .saturating_sub(usize::from(m.data_len))
    }

    /// More than one segment (`nb_segs > 1`).
    pub fn is_segmented(&self) -> bool {
        self.hdr().nb_segs > 1
    }

    /// Input port set by the rx path.
    pub fn port(&self) -> u16 {
        self.hdr().port
    }

    /// Set the input port, e.g. on a copy handed to another worker, so that it is taken as
    /// received on `port`.
    pub fn set_port(&mut self, port: u16) {
        self.hdr_mut().port = port;
    }

    /// Grows the packet at the front by `n` bytes (`rte_pktmbuf_prepend`) and returns
    /// the new bytes (uninitialised contents: whatever the buffer held). `None` when the
    /// headroom is smaller than `n`.
    pub fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        let len = u16::try_from(n).ok()?;
        // SAFETY: valid owned mbuf; DPDK checks len against the headroom and returns NULL
        // if it does not fit.
        let p = unsafe { dpdk_sys::rvs_pktmbuf_prepend(self.0.as_ptr(), len) };
        let p = NonNull::new(p.cast::<u8>())?;
        // SAFETY: p..p+n is now the front of the data, inside the buffer we own
        // exclusively (&mut self).
        Some(unsafe { std::slice::from_raw_parts_mut(p.as_ptr(), n) })
    }

    /// Removes `n` bytes from the front (`rte_pktmbuf_adj`); false (and no change) when
    /// the first segment is shorter than `n`.
    pub fn adj(&mut self, n: usize) -> bool {
        let Ok(len) = u16::try_from(n) else {
            return false;
        };
        // SAFETY: valid owned mbuf; DPDK checks len against data_len.
        !unsafe { dpdk_sys::rvs_pktmbuf_adj(self.0.as_ptr(), len) }.is_null()
    }

    /// Grows the packet at the end by `n` bytes (`rte_pktmbuf_append`, in the last
    /// segment) and returns the new bytes (uninitialised contents). `None` when the
    /// tailroom is smaller than `n`.
    pub fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        let len = u16::try_from(n).ok()?;
        // SAFETY: valid owned mbuf; DPDK checks len against the last segment's tailroom.
        let p = unsafe { dpdk_sys::rvs_pktmbuf_append(self.0.as_ptr(), len) };
        let p = NonNull::new(p.cast::<u8>())?;
        // SAFETY: p..p+n is the new tail inside the last segment's buffer, which we own
        // exclusively (&mut self).
        Some(unsafe { std::slice::from_raw_parts_mut(p.as_ptr(), n) })
    }

    /// Removes `n` bytes from the end (`rte_pktmbuf_trim`, last segment); false (and no
    /// change) when the last segment is shorter than `n`.
    pub fn trim(&mut self, n: usize) -> bool {
        let Ok(len) = u16::try_from(n) else {
            return false;
        };
        // SAFETY: valid owned mbuf; DPDK checks len against the last segment's data_len.
        unsafe { dpdk_sys::rvs_pktmbuf_trim(self.0.as_ptr(), len) == 0 }
    }

    /// Sets the packet length to `n` (`data_len = pkt_len = n`), keeping the start.
    /// Growing exposes old buffer contents. False (and no change) for a segmented mbuf
    /// or when `n` exceeds `len() + tailroom()`.
    pub fn set_len(&mut self, n: usize) -> bool {
        if self.is_segmented() || n > self.len() + self.tailroom() {
            return false;
        }
        let Ok(n16) = u16::try_from(n) else {
            return false;
        };
        let m = self.hdr_mut();
        m.data_len = n16;
        m.pkt_len = u32::from(n16);
        true
    }

    /// Empties the mbuf: default headroom, length 0, offload flags cleared
    /// (`rte_pktmbuf_reset`). Chained segments stay attached (use on single segments).
    pub fn reset(&mut self) {
        // SAFETY: valid owned mbuf; reset only rewrites header fields.
        unsafe { dpdk_sys::rvs_pktmbuf_reset(self.0.as_ptr()) }
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: we own the mbuf (type invariant); it is not used after this.
        unsafe { dpdk_sys::rvs_pktmbuf_free(self.0.as_ptr()) }
    }
}

impl fmt::Debug for Mbuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mbuf")
            .field("len", &self.len())
            .field("pkt_len", &self.pkt_len())
            .field("headroom", &self.headroom())
            .field("tailroom", &self.tailroom())
            .finish()
    }
}

/// Most mbufs a [`Burst`] holds.
pub const BURST_SIZE: usize = 64;

/// Up to [`BURST_SIZE`] owned mbufs in a fixed inline array: what rx fills, the engine
/// walks, and tx or a ring drains, with no heap allocation per burst.
///
/// Consumers (tx, ring enqueue) take mbufs from the front and leave the ones they could
/// not take at the front of the burst, in order: the caller retries them or drops them
/// with [`Burst::clear`] (which says how many it freed, for the drop counters).
/// Dropping a burst frees what it still holds.
pub struct Burst {
    len: usize,
    slots: [MaybeUninit<Mbuf>; BURST_SIZE],
}

impl Burst {
    /// An empty burst.
    pub const fn new() -> Burst {
        Burst {
            len: 0,
            slots: [const { MaybeUninit::uninit() }; BURST_SIZE],
        }
    }

    /// Mbufs held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Holds no mbuf.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Holds [`BURST_SIZE`] mbufs.
    pub fn is_full(&self) -> bool {
        self.len == BURST_SIZE
    }

    /// Free slots.
    pub fn spare(&self) -> usize {
        BURST_SIZE - self.len
    }

    /// Adds `m` at the end; gives it back when the burst is full.
    pub fn push(&mut self, m: Mbuf) -> Result<(), Mbuf> {
        match self.slots.get_mut(self.len) {
            Some(slot) => {
                slot.write(m);
                self.len += 1;
                Ok(())
            }
            None => Err(m),
        }
    }

    /// Takes the last mbuf.
    pub fn pop(&mut self) -> Option<Mbuf> {
        let i = self.len.checked_sub(1)?;
        self.len = i;
        // SAFETY: slot i was initialised (i < old len) and is now outside len, so it is
        // read exactly once.
        Some(unsafe { self.slots[i].assume_init_read() })
    }

    /// Removes and returns the mbuf at `i`, moving the last one into its place.
    pub fn swap_remove(&mut self, i: usize) -> Option<Mbuf> {
        if i >= self.len {
            return None;
        }
        let last = self.len - 1;
        self.slots.swap(i, last);
        self.pop()
    }

    /// The mbufs, in order.
    pub fn as_slice(&self) -> &[Mbuf] {
        // SAFETY: slots[..len] are initialised; MaybeUninit<Mbuf> has Mbuf's layout.
        unsafe { std::slice::from_raw_parts(self.slots.as_ptr().cast::<Mbuf>(), self.len) }
    }

    /// The mbufs, in order, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [Mbuf] {
        // SAFETY: as as_slice, with exclusive access through &mut self.
        unsafe { std::slice::from_raw_parts_mut(self.slots.as_mut_ptr().cast::<Mbuf>(), self.len) }
    }

    /// Iterates over the mbufs.
    pub fn iter(&self) -> std::slice::Iter<'_, Mbuf> {
        self.as_slice().iter()
    }

    /// Iterates over the mbufs, mutable.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Mbuf> {
        self.as_mut_slice().iter_mut()
    }

    /// Takes every mbuf out, in order, leaving the burst empty (mbufs the iterator does
    /// not yield are freed when it is dropped).
    pub fn drain(&mut self) -> Drain<'_> {
        let end = self.len;
        self.len = 0;
        Drain {
            burst: self,
            pos: 0,
            end,
        }
    }

    /// Keeps the mbufs for which `keep` returns true, in order; frees the others and
    /// returns how many it freed.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut Mbuf) -> bool) -> usize {
        let n = self.len;
        self.len = 0; // a panic in `keep` leaks the rest instead of double-freeing
        let mut kept = 0;
        for i in 0..n {
            // SAFETY: slot i < n was initialised and is read once; it is either written
            // back to slot `kept <= i` or dropped.
            let mut m = unsafe { self.slots[i].assume_init_read() };
            if keep(&mut m) {
                self.slots[kept].write(m);
                kept += 1;
            }
        }
        self.len = kept;
        n - kept
    }

    /// Frees every mbuf; returns how many.
    pub fn clear(&mut self) -> usize {
        let n = self.len;
        if n == 0 {
            return 0;
        }
        self.len = 0;
        // SAFETY: slots[..n] hold n owned mbufs laid out as `struct rte_mbuf *`; len is
        // already 0, so they are not used again.
        unsafe {
            dpdk_sys::rte_pktmbuf_free_bulk(self.slots.as_mut_ptr().cast(), n as u32);
        }
        n
    }

    /// The first slot pointer, for DPDK calls that consume from the front.
    pub(crate) fn head_ptr(&mut self) -> *mut *mut rte_mbuf {
        self.slots.as_mut_ptr().cast()
    }

    /// The first free slot, for DPDK calls that fill up to `spare()` slots.
    pub(crate) fn spare_ptr(&mut self) -> *mut *mut rte_mbuf {
        // SAFETY: len <= BURST_SIZE, so the offset stays within (or one past) the array.
        unsafe { self.slots.as_mut_ptr().add(self.len).cast() }
    }

    /// Records that DPDK filled `n` slots after `len`.
    ///
    /// # Safety
    /// `n <= spare()` and those slots now hold valid owned mbufs.
    pub(crate) unsafe fn added(&mut self, n: usize) {
        debug_assert!(n <= self.spare());
        self.len += n;
    }

    /// Records that DPDK took ownership of the first `n` mbufs; moves the rest to the
    /// front.
    ///
    /// # Safety
    /// `n <= len()` and the first `n` mbufs are owned by someone else now.
    pub(crate) unsafe fn consumed_front(&mut self, n: usize) {
        debug_assert!(n <= self.len);
        let rest = self.len - n;
        let base = self.slots.as_mut_ptr();
        // SAFETY: both ranges lie within slots[..len]; copy handles the overlap, and the
        // moved-from tail is beyond the new len.
        unsafe { ptr::copy(base.add(n), base, rest) };
        self.len = rest;
    }
}

impl Default for Burst {
    fn default() -> Burst {
        Burst::new()
    }
}

impl Drop for Burst {
    fn drop(&mut self) {
        self.clear();
    }
}

impl fmt::Debug for Burst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Burst {
    type Item = &'a Mbuf;
    type IntoIter = std::slice::Iter<'a, Mbuf>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Burst {
    type Item = &'a mut Mbuf;
    type IntoIter = std::slice::IterMut<'a, Mbuf>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

/// Iterator of [`Burst::drain`].
pub struct Drain<'a> {
    burst: &'a mut Burst,
    pos: usize,
    end: usize,
}

impl Iterator for Drain<'_> {
    type Item = Mbuf;

    fn next(&mut self) -> Option<Mbuf> {
        if self.pos >= self.end {
            return None;
        }
        let i = self.pos;
        self.pos += 1;
        // SAFETY: slots[pos..end] are initialised and each is read once (pos advances).
        Some(unsafe { self.burst.slots[i].assume_init_read() })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.pos;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Drain<'_> {}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        for m in self.by_ref() {
            drop(m);
        }
    }
}
