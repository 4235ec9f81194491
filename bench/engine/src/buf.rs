//! Packet buffers that behave like DPDK mbufs: taken from a pool, given back when dropped,
//! never allocated on the measured path.

use std::cell::RefCell;
use std::rc::Rc;

use rvs_engine::{Io, PacketBuf, PortIdx};

/// Headroom of a buffer (RTE_PKTMBUF_HEADROOM).
pub const HEADROOM: usize = 128;
/// Data room after the headroom (a default mbuf's 2048).
pub const ROOM: usize = 2048;

struct Storage {
    head: usize,
    len: usize,
    bytes: Box<[u8; HEADROOM + ROOM]>,
}

/// A fixed set of buffers; a [`BenchBuf`] returns to it when dropped, as an mbuf returns to
/// its mempool when freed.
#[derive(Clone)]
pub struct Pool(Rc<RefCell<Vec<Storage>>>);

impl Pool {
    /// `n` buffers, allocated now.
    pub fn new(n: usize) -> Pool {
        let v = (0..n)
            .map(|_| Storage {
                head: HEADROOM,
                len: 0,
                bytes: Box::new([0u8; HEADROOM + ROOM]),
            })
            .collect::<Vec<_>>();
        Pool(Rc::new(RefCell::new(v)))
    }

    /// A buffer holding `frame` (copied in at the default headroom), or `None` when every
    /// buffer is out.
    #[inline]
    pub fn get(&self, frame: &[u8]) -> Option<BenchBuf> {
        let mut s = self.0.borrow_mut().pop()?;
        let n = frame.len().min(ROOM);
        s.head = HEADROOM;
        s.len = n;
        s.bytes[HEADROOM..HEADROOM + n].copy_from_slice(&frame[..n]);
        Some(BenchBuf {
            s: Some(s),
            pool: self.clone(),
        })
    }

    /// Buffers currently in the pool.
    pub fn available(&self) -> usize {
        self.0.borrow().len()
    }
}

/// A frame in a pooled buffer. See [`Pool`].
pub struct BenchBuf {
    s: Option<Storage>,
    pool: Pool,
}

impl Drop for BenchBuf {
    fn drop(&mut self) {
        if let Some(s) = self.s.take() {
            self.pool.0.borrow_mut().push(s);
        }
    }
}

impl PacketBuf for BenchBuf {
    #[inline]
    fn data(&self) -> &[u8] {
        match &self.s {
            Some(s) => &s.bytes[s.head..s.head + s.len],
            None => &[],
        }
    }
    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        match &mut self.s {
            Some(s) => &mut s.bytes[s.head..s.head + s.len],
            None => &mut [],
        }
    }
    #[inline]
    fn prepend(&mut self, n: usize) -> bool {
        match &mut self.s {
            Some(s) if n <= s.head => {
                s.head -= n;
                s.len += n;
                true
            }
            _ => false,
        }
    }
    #[inline]
    fn adj(&mut self, n: usize) -> bool {
        match &mut self.s {
            Some(s) if n <= s.len => {
                s.head += n;
                s.len -= n;
                true
            }
            _ => false,
        }
    }
    #[inline]
    fn set_len(&mut self, n: usize) -> bool {
        match &mut self.s {
            Some(s) if s.head + n <= HEADROOM + ROOM => {
                s.len = n;
                true
            }
            _ => false,
        }
    }
}

/// The engine's way out during measurement: count the frame per port and give its buffer
/// back to the pool (net_pcap's and net_null's transmit do the same: count and free).
pub struct SinkIo {
    /// Frames sent, per port.
    pub sent: [u64; 4],
    /// Buffers asked for (ARP requests: none are expected with static neighbours).
    pub allocs: u64,
    pool: Pool,
}

impl SinkIo {
    /// A sink allocating from `pool`.
    pub fn new(pool: Pool) -> SinkIo {
        SinkIo {
            sent: [0; 4],
            allocs: 0,
            pool,
        }
    }

    /// Frames sent on every port.
    pub fn total(&self) -> u64 {
        self.sent.iter().sum()
    }
}

impl Io<BenchBuf> for SinkIo {
    #[inline]
    fn send(&mut self, port: PortIdx, pkt: BenchBuf) {
        if let Some(n) = self.sent.get_mut(usize::from(port)) {
            *n += 1;
        }
        drop(pkt);
    }
    fn alloc(&mut self) -> Option<BenchBuf> {
        self.allocs += 1;
        self.pool.get(&[])
    }
}

/// An [`Io`] for setting up: keeps a copy of every frame sent (to learn what the engine chose,
/// e.g. the real server and FullNAT local port of each connection).
pub struct CaptureIo {
    /// Frames sent with their port, in order.
    pub sent: Vec<(PortIdx, Vec<u8>)>,
    pool: Pool,
}

impl CaptureIo {
    /// A capturing sink allocating from `pool`.
    pub fn new(pool: Pool) -> CaptureIo {
        CaptureIo {
            sent: Vec::new(),
            pool,
        }
    }
}

impl Io<BenchBuf> for CaptureIo {
    fn send(&mut self, port: PortIdx, pkt: BenchBuf) {
        self.sent.push((port, pkt.data().to_vec()));
    }
    fn alloc(&mut self) -> Option<BenchBuf> {
        self.pool.get(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_return_to_the_pool_when_dropped() {
        let pool = Pool::new(2);
        let a = pool.get(&[1, 2, 3]).unwrap();
        let b = pool.get(&[4]).unwrap();
        assert!(pool.get(&[5]).is_none());
        assert_eq!(a.data(), &[1, 2, 3]);
        drop(a);
        assert_eq!(pool.available(), 1);
        let mut c = pool.get(&[9, 8]).unwrap();
        assert_eq!(
            c.data(),
            &[9, 8],
            "a reused buffer holds only the new frame"
        );
        assert!(c.prepend(2));
        assert_eq!(c.data().len(), 4);
        assert!(!c.prepend(HEADROOM));
        assert!(c.adj(4));
        assert!(c.data().is_empty());
        assert!(c.set_len(3));
        assert!(!c.set_len(ROOM + 1));
        drop((b, c));
        assert_eq!(pool.available(), 2);
    }
}
