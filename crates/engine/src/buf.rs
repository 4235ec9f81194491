//! What the engine needs of a packet buffer and of the outside world.

use crate::director::PortIdx;

/// A frame in a buffer with room to grow at the front (for encapsulation) and back.
///
/// `rvsd` implements it over a DPDK mbuf; tests over [`VecBuf`].
pub trait PacketBuf {
    /// The frame's bytes, from the Ethernet header on.
    fn data(&self) -> &[u8];
    /// The frame's bytes, writable in place.
    fn data_mut(&mut self) -> &mut [u8];
    /// Grow the frame by `n` bytes at the front; false (and unchanged) when the headroom is short.
    fn prepend(&mut self, n: usize) -> bool;
    /// Remove `n` bytes at the front; false (and unchanged) when the frame is shorter.
    fn adj(&mut self, n: usize) -> bool;
    /// Set the frame's length, growing into or shrinking from the tailroom; false when it does
    /// not fit.
    fn set_len(&mut self, n: usize) -> bool;
}

/// The engine's way out: transmit a frame, or get an empty buffer for a frame it originates
/// (ARP requests).
pub trait Io<B> {
    /// Queue `pkt` for transmission on `port`. The implementation counts what it cannot send.
    fn send(&mut self, port: PortIdx, pkt: B);
    /// An empty buffer (length 0) for a new frame, or `None` when the pool is exhausted.
    fn alloc(&mut self) -> Option<B>;
    /// Hand a frame the director does not handle itself to the kernel through `port`'s
    /// exception path (a TAP device), as received. Gives the frame back when the port has
    /// none (the engine then counts the drop).
    fn exception(&mut self, port: PortIdx, pkt: B) -> Result<(), B> {
        let _ = port;
        Err(pkt)
    }
}

/// A heap buffer with headroom, for tests, fuzzing, benchmarks and the replay tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecBuf {
    buf: Vec<u8>,
    head: usize,
    len: usize,
}

impl VecBuf {
    /// Headroom DPDK gives an mbuf by default (RTE_PKTMBUF_HEADROOM).
    pub const HEADROOM: usize = 128;
    /// Room of a default DPDK mbuf data area after the headroom.
    pub const ROOM: usize = 2048;

    /// A buffer holding `frame`, with the default headroom and room.
    pub fn from_frame(frame: &[u8]) -> Self {
        let mut buf = vec![0u8; Self::HEADROOM + Self::ROOM.max(frame.len())];
        buf[Self::HEADROOM..Self::HEADROOM + frame.len()].copy_from_slice(frame);
        VecBuf {
            buf,
            head: Self::HEADROOM,
            len: frame.len(),
        }
    }

    /// An empty buffer.
    pub fn empty() -> Self {
        Self::from_frame(&[])
    }

    /// The frame as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.data().to_vec()
    }
}

impl PacketBuf for VecBuf {
    fn data(&self) -> &[u8] {
        &self.buf[self.head..self.head + self.len]
    }
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.head..self.head + self.len]
    }
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.head {
            return false;
        }
        self.head -= n;
        self.len += n;
        true
    }
    fn adj(&mut self, n: usize) -> bool {
        if n > self.len {
            return false;
        }
        self.head += n;
        self.len -= n;
        true
    }
    fn set_len(&mut self, n: usize) -> bool {
        if self.head + n > self.buf.len() {
            return false;
        }
        self.len = n;
        true
    }
}

/// An [`Io`] that collects what the engine sends, for tests.
#[derive(Default, Debug)]
pub struct CaptureIo {
    /// Frames sent, with their port, in order.
    pub sent: Vec<(PortIdx, Vec<u8>)>,
    /// How many more buffers `alloc` hands out (None = unlimited).
    pub alloc_budget: Option<usize>,
    /// Frames handed to the exception path, when `exception_path` is set.
    pub to_kernel: Vec<(PortIdx, Vec<u8>)>,
    /// Whether the ports have an exception path.
    pub exception_path: bool,
}

impl CaptureIo {
    /// Take the frames sent so far.
    pub fn take(&mut self) -> Vec<(PortIdx, Vec<u8>)> {
        std::mem::take(&mut self.sent)
    }
}

impl Io<VecBuf> for CaptureIo {
    fn send(&mut self, port: PortIdx, pkt: VecBuf) {
        self.sent.push((port, pkt.to_vec()));
    }
    fn exception(&mut self, port: PortIdx, pkt: VecBuf) -> Result<(), VecBuf> {
        if !self.exception_path {
            return Err(pkt);
        }
        self.to_kernel.push((port, pkt.to_vec()));
        Ok(())
    }
    fn alloc(&mut self) -> Option<VecBuf> {
        match &mut self.alloc_budget {
            Some(0) => None,
            Some(n) => {
                *n -= 1;
                Some(VecBuf::empty())
            }
            None => Some(VecBuf::empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vecbuf_grows_and_shrinks_within_its_room() {
        let mut b = VecBuf::from_frame(&[1, 2, 3]);
        assert!(b.prepend(2));
        assert_eq!(b.data().len(), 5);
        assert_eq!(&b.data()[2..], &[1, 2, 3]);
        assert!(b.adj(2));
        assert_eq!(b.data(), &[1, 2, 3]);
        assert!(!b.adj(4));
        assert!(!b.prepend(VecBuf::HEADROOM + 1));
        assert!(b.set_len(2));
        assert_eq!(b.data(), &[1, 2]);
        assert!(!b.set_len(VecBuf::ROOM + 1));
    }
}
