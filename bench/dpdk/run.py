#!/usr/bin/env python3
"""rvsd against the DPDK ceiling (issue 6 parts 2 and 4). Called by bench/dpdk/run.sh, which
prepares hugepages and builds; see bench/README.md.

For each forwarding method, the same crafted traffic (rvs-bench-pcap: client -> VIP, a SYN per
flow then ACKs) is replayed from memory by net_pcap (infinite_rx=1; its transmit counts and
frees) into, in turn, dpdk-testpmd (io, macswap) and rvsd, on the same virtual devices and the
same lcores, run after run interleaved. Each run: start, wait for the program to say it
forwards, let it run DURATION seconds, SIGINT, read its final TX counter:
rate = TX packets / seconds between "forwarding" and SIGINT."""

import argparse
import csv
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

METHODS = ["dr", "nat", "fullnat", "tun"]


def eal(lcores, prefix):
    return ["--lcores", lcores, "--in-memory", "--no-pci", "--no-telemetry",
            "--log-level", "lib.eal:error", "--file-prefix", prefix]


def run_program(cmd, ready_re, duration, log, scratch):
    """Start cmd (output to a file, so nothing can block on a pipe), wait up to 60 s for
    ready_re in its output, run `duration` s, SIGINT, wait up to 20 s for it to exit (then
    SIGTERM, SIGKILL); returns (seconds between ready and SIGINT, output)."""
    out_path = scratch / "program.out"
    with out_path.open("w") as fh:
        # A shell without job control starts background children with SIGINT ignored: undo that.
        p = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    t0 = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and p.poll() is None:
        if re.search(ready_re, out_path.read_text(errors="replace")):
            t0 = time.monotonic()
            break
        time.sleep(0.01)
    if t0 is None:
        p.kill()
        p.wait()
        text = out_path.read_text(errors="replace")
        log.write(f"$ {' '.join(cmd)}\n{text}\n")
        raise RuntimeError(f"{cmd[0]} never became ready (exit status {p.returncode}):\n" + text[-3000:])
    time.sleep(duration)
    p.send_signal(signal.SIGINT)
    t1 = time.monotonic()
    for sig, wait in [(None, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 10)]:
        if sig is not None:
            print(f"{cmd[0]} did not stop after SIGINT: sending {sig.name}", file=sys.stderr, flush=True)
            p.send_signal(sig)
        try:
            p.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    text = out_path.read_text(errors="replace")
    log.write(f"$ {' '.join(cmd)}\n{text}\n")
    return t1 - t0, text


def rvsd_tx(out):
    """Sum of tx_packets over rvsd's final port counters, and its engine drops."""
    tx = 0
    in_ports = False
    for line in out.splitlines():
        if line.startswith("rvsd: final counters"):
            in_ports = True
            continue
        if in_ports:
            f = line.split()
            if f and f[0] == "port":
                continue
            if len(f) == 8 and f[2].isdigit():
                tx += int(f[4])
                continue
            in_ports = False
    m = re.search(r"^drops: (\d+) total", out, re.M)
    return tx, int(m.group(1)) if m else -1


def testpmd_tx(out):
    m = re.search(r"Accumulated forward statistics for all ports.*?TX-packets:\s*(\d+)", out, re.S)
    if not m:
        raise RuntimeError("no accumulated forward statistics in testpmd's output:\n" + out[-3000:])
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rvsd", required=True)
    ap.add_argument("--pcap-tool", required=True)
    ap.add_argument("--testpmd", default="/usr/bin/dpdk-testpmd")
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--duration", type=float, default=3.0)
    ap.add_argument("--flows", type=int, default=1024)
    ap.add_argument("--packets-per-flow", type=int, default=8)
    ap.add_argument("--max-connections", type=int, default=1 << 20, help="rvsd max_connections")
    ap.add_argument("--mbufs", type=int, default=0,
                    help="mbufs of each program's pool (0: testpmd 16384, rvsd its own sizing); net_pcap's "
                         "infinite_rx keeps the whole capture in that pool")
    ap.add_argument("--mbuf-size", type=int, default=0, help="mbuf data room, headroom included (0: 2176)")
    ap.add_argument("--scaling-methods", default="dr,nat", help="methods measured with 2 workers too ('' for none)")
    ap.add_argument("--csv", required=True, type=Path)
    ap.add_argument("--md", required=True, type=Path)
    ap.add_argument("--header", default="", help="markdown lines: machine, commit, date, command")
    ap.add_argument("--log", required=True, type=Path)
    a = ap.parse_args()

    methods = [m for m in a.methods.split(",") if m]
    scaling = [m for m in a.scaling_methods.split(",") if m]
    log = a.log.open("w")
    rows = []
    # (method, workers) -> dir, vdevs
    setups = {}
    for workers in (1, 2):
        for m in methods if workers == 1 else scaling:
            d = a.work / f"{m}-w{workers}"
            out = subprocess.run(
                [a.pcap_tool, "--method", m, "--flows", str(a.flows), "--packets-per-flow",
                 str(a.packets_per_flow), "--workers", str(workers), "--max-connections",
                 str(a.max_connections), "--dir", str(d)],
                check=True, capture_output=True, text=True).stdout
            vdevs = [l.split("=", 1)[1] for l in out.splitlines() if l.startswith("vdev=")]
            # Top-level keys go before the first table of the generated configuration.
            extra = (f"mbufs = {a.mbufs}\n" if a.mbufs else "") + \
                (f"mbuf_data_room = {a.mbuf_size}\n" if a.mbuf_size else "")
            if extra:
                conf = d / "rvsd.toml"
                conf.write_text(extra + conf.read_text())
            setups[(m, workers)] = (d, vdevs)

    programs = ["testpmd-io", "testpmd-macswap", "rvsd"]
    for run in range(1, a.runs + 1):
        for (m, workers), (d, vdevs) in setups.items():
            lcores = "0@0,1@1" if workers == 1 else "0@0,1@0,2@1"
            progs = programs if workers == 1 else ["testpmd-macswap", "rvsd"]
            # Rotate the order each run so no program always runs first (or last).
            k = run % len(progs)
            for prog in progs[k:] + progs[:k]:
                prefix = f"rvsbench{os.getpid()}"
                if prog == "rvsd":
                    cmd = [a.rvsd, "--config", str(d / "rvsd.toml"), "--"] + eal(lcores, prefix)
                    secs, out = run_program(cmd, r"rvsd ready", a.duration, log, a.work)
                    tx, drops = rvsd_tx(out)
                else:
                    mode = prog.split("-")[1]
                    ports = len(vdevs)
                    cmd = ["stdbuf", "-oL", a.testpmd] + eal(lcores, prefix)
                    for v in vdevs:
                        cmd += ["--vdev", v]
                    cmd += ["--", f"--forward-mode={mode}", "--auto-start", "--stats-period", "1",
                            f"--nb-cores={workers}", f"--rxq={workers}", f"--txq={workers}",
                            f"--total-num-mbufs={a.mbufs or 16384}",
                            "--port-topology=" + ("loop" if ports == 1 else "paired")]
                    if a.mbuf_size:
                        cmd.append(f"--mbuf-size={a.mbuf_size}")
                    secs, out = run_program(cmd, r"(?i)start (automatic )?packet forwarding", a.duration, log, a.work)
                    tx, drops = testpmd_tx(out), 0
                mpps = tx / secs / 1e6
                rows.append(dict(method=m, workers=workers, program=prog, run=run, seconds=f"{secs:.3f}",
                                 tx_packets=tx, mpps=f"{mpps:.3f}", engine_drops=drops))
                print(f"run {run} {m} w{workers} {prog}: {mpps:.3f} Mpps ({tx} in {secs:.2f} s, drops {drops})",
                      file=sys.stderr, flush=True)
    a.csv.parent.mkdir(parents=True, exist_ok=True)
    with a.csv.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    a.md.write_text(report(rows, a))


def spread(v):
    return f"{statistics.median(v):.2f} [{min(v):.2f}–{max(v):.2f}]"


def report(rows, a):
    def rates(m, w, prog):
        return {int(r["run"]): float(r["mpps"]) for r in rows
                if r["method"] == m and int(r["workers"]) == w and r["program"] == prog}

    methods = sorted({r["method"] for r in rows}, key=METHODS.index)
    md = ["# rvsd against the DPDK ceiling", "", a.header.replace("\\n", "\n"), ""]
    md += [
        f"Traffic: {a.flows} TCP flows client → VIP, {a.packets_per_flow} packets each (a SYN, then ACKs, each "
        "round in a new random order), 60-byte frames (64 on the wire), replayed from memory by `net_pcap` "
        "(`infinite_rx=1`, which copies each frame into a fresh mbuf; its transmit counts and frees) on port 0; "
        "NAT and FullNAT transmit to a `net_null` port 1 (`no-rx=1`). The same devices, lcores and hugepages "
        "for testpmd and rvsd; programs interleaved within each run, the order rotating from run to run. "
        f"{a.runs} runs of {a.duration:g} s per program; rate = TX packets / seconds from the program's "
        f"'forwarding' line to SIGINT. rvsd: `max_connections = {a.max_connections}`.",
        "",
        "## One worker (EAL `--lcores 0@0,1@1`: main lcore on CPU 0, the forwarding lcore on CPU 1)",
        "",
        "Mpps, median [min–max] over the runs; ratio: rvsd / testpmd macswap of the same run, median [min–max]; "
        "ns/packet of rvsd and what it costs above testpmd macswap (same PMD work, so the difference is rvsd's "
        "own: the engine and its poll loop).",
        "",
        "| method | testpmd io | testpmd macswap | rvsd | **rvsd / macswap** | rvsd ns/packet | above macswap (ns) |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in methods:
        io, ms, rv = rates(m, 1, "testpmd-io"), rates(m, 1, "testpmd-macswap"), rates(m, 1, "rvsd")
        if not rv or not ms:
            continue
        ratio = [rv[k] / ms[k] for k in rv if k in ms]
        extra = [1e3 / rv[k] - 1e3 / ms[k] for k in rv if k in ms]
        name = {"dr": "DR", "nat": "NAT", "fullnat": "FullNAT", "tun": "TUN"}[m]
        md.append(
            f"| {name} | {spread(list(io.values())) if io else '–'} | {spread(list(ms.values()))} | "
            f"{spread(list(rv.values()))} | **{spread(ratio)}** | {statistics.median(1e3 / x for x in rv.values()):.1f} | "
            f"{statistics.median(extra):.1f} |")
    sc = [m for m in methods if rates(m, 2, "rvsd")]
    if sc:
        md += [
            "",
            "## Scaling: two workers (EAL `--lcores 0@0,1@0,2@1`: worker 0 shares CPU 0 with the mostly "
            "sleeping main lcore; the machine has 2 CPUs)",
            "",
            "Each worker (testpmd: forwarding core) has its own RX queue, replaying its own capture of the flows "
            "it owns (rvsd steers by client address; no frame is handed between workers).",
            "",
            "| method | program | 1 worker (Mpps) | 2 workers (Mpps) | speed-up |",
            "|---|---|---|---|---|",
        ]
        for m in sc:
            for prog in ["testpmd-macswap", "rvsd"]:
                one, two = rates(m, 1, prog), rates(m, 2, prog)
                if one and two:
                    md.append(f"| {m} | {prog} | {spread(list(one.values()))} | {spread(list(two.values()))} | "
                              f"{statistics.median(two.values()) / statistics.median(one.values()):.2f} |")
    bad = [r for r in rows if r["program"] == "rvsd" and int(r["engine_drops"]) != 0]
    md += ["", f"rvsd engine drops over all runs: {sum(int(r['engine_drops']) for r in rows if r['program'] == 'rvsd')}"
           + (f" (in {len(bad)} runs: see the log)" if bad else " (every packet forwarded)") + "."]
    return "\n".join(md) + "\n"


if __name__ == "__main__":
    main()
