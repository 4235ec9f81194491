"""Shared by ipip-decap.py and ipip-encap.py: attach to a TUN device, read counters on signals."""

import fcntl
import os
import signal
import struct
import sys

TUNSETIFF = 0x400454CA  # _IOW('T', 202, int), linux/if_tun.h
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000  # no 4-byte packet-information prefix: reads and writes are bare IP packets


def open_tun(name):
    """Attach to TUN device NAME (created with `ip tuntap add NAME mode tun` beforehand, or
    created here, non-persistent). Returns the file descriptor."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    return fd


def exit_on_signals(report):
    """SIGTERM/SIGINT: call report() (which prints the counters) and exit 0."""

    def handler(signum, _frame):
        report()
        sys.exit(0)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
