#!/usr/bin/env python3
"""PNG charts of the committed results: bench/charts/make.py [RESULTS_DIR] [CHARTS_DIR].

Reads bench/results/engine.csv, engine-mem.csv and dpdk.csv (whichever exist) and writes
engine.png, dpdk.png and scaling.png next to this script. Needs matplotlib
(`pip install matplotlib` or Debian's python3-matplotlib)."""

import csv
import statistics
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "results"
CHARTS = Path(sys.argv[2]) if len(sys.argv) > 2 else HERE
METHODS = ["dr", "nat", "fullnat", "tun"]
LABEL = {"dr": "DR", "nat": "NAT", "fullnat": "FullNAT", "tun": "TUN"}


def read(name):
    p = RESULTS / name
    return list(csv.DictReader(p.open())) if p.exists() else []


def engine():
    rows = read("engine.csv")
    if not rows:
        return
    by = {(r["group"], r["function"], r["connections"]): r for r in rows}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    series = [
        ("established_in", "1000", "established, 1k conns", "#9ecae1"),
        ("established_in", "1000000", "established, 1M conns", "#3182bd"),
        ("new_conn", "1000", "new connection, 1k conns", "#fdae6b"),
        ("new_conn", "1000000", "new connection, 1M conns", "#e6550d"),
    ]
    w = 0.2
    for ax, (unit, key) in zip(axes, [("ns per packet (net of harness)", "net_ns"), ("Mpps on one core", "net_mpps")]):
        for i, (g, n, label, color) in enumerate(series):
            xs, ys, lo, hi = [], [], [], []
            for j, m in enumerate(METHODS):
                r = by.get((g, m, n))
                if not r or not r[key]:
                    continue
                v = float(r[key])
                c = float(r["copy_ns"])
                xs.append(j + (i - 1.5) * w)
                ys.append(v)
                if key == "net_ns":
                    lo.append(v - (float(r["ns_min"]) - c))
                    hi.append((float(r["ns_max"]) - c) - v)
            err = [lo, hi] if key == "net_ns" else None
            ax.bar(xs, ys, w, label=label, color=color, yerr=err, capsize=2)
        ax.set_xticks(range(len(METHODS)), [LABEL[m] for m in METHODS])
        ax.set_ylabel(unit)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    axes[0].set_title("Engine cost per packet (median, bars: min–max)")
    axes[1].set_title("Engine rate on one core")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(CHARTS / "engine.png", dpi=110)
    plt.close(fig)


def dpdk():
    rows = read("dpdk.csv")
    if not rows:
        return
    one = [r for r in rows if r["workers"] == "1"]
    methods = [m for m in METHODS if any(r["method"] == m for r in one)]
    progs = [("testpmd-io", "#bdbdbd"), ("testpmd-macswap", "#636363"), ("rvsd", "#e6550d")]

    def vals(rs, m, p):
        return [float(r["mpps"]) for r in rs if r["method"] == m and r["program"] == p]

    fig, ax = plt.subplots(figsize=(9, 4.2))
    w = 0.27
    for i, (p, color) in enumerate(progs):
        xs, ys, lo, hi = [], [], [], []
        for j, m in enumerate(methods):
            v = vals(one, m, p)
            if not v:
                continue
            med = statistics.median(v)
            xs.append(j + (i - 1) * w)
            ys.append(med)
            lo.append(med - min(v))
            hi.append(max(v) - med)
        ax.bar(xs, ys, w, label=p, color=color, yerr=[lo, hi], capsize=2)
    for j, m in enumerate(methods):
        rv = {r["run"]: float(r["mpps"]) for r in one if r["method"] == m and r["program"] == "rvsd"}
        ms = {r["run"]: float(r["mpps"]) for r in one if r["method"] == m and r["program"] == "testpmd-macswap"}
        ratios = [rv[k] / ms[k] for k in rv if k in ms]
        if ratios:
            top = statistics.median(vals(one, m, "rvsd"))
            ax.annotate(f"{statistics.median(ratios):.2f}×", (j + w, top), textcoords="offset points",
                        xytext=(0, 6), ha="center", fontsize=9, fontweight="bold")
    ax.set_xticks(range(len(methods)), [LABEL[m] for m in methods])
    ax.set_ylabel("Mpps, one forwarding core (median, bars: min–max)")
    ax.set_title("rvsd vs dpdk-testpmd on net_pcap, hugepages (label: rvsd / macswap)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(CHARTS / "dpdk.png", dpi=110)
    plt.close(fig)

    sc = sorted({r["method"] for r in rows if r["workers"] == "2"}, key=METHODS.index)
    if not sc:
        return
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
    for ax, p in zip(axes, ["testpmd-macswap", "rvsd"]):
        for k, workers in enumerate(["1", "2"]):
            ys, err_lo, err_hi = [], [], []
            for m in sc:
                v = [float(r["mpps"]) for r in rows if r["method"] == m and r["program"] == p and r["workers"] == workers]
                med = statistics.median(v) if v else 0
                ys.append(med)
                err_lo.append(med - min(v) if v else 0)
                err_hi.append(max(v) - med if v else 0)
            ax.bar([j + (k - 0.5) * 0.35 for j in range(len(sc))], ys, 0.35, yerr=[err_lo, err_hi], capsize=2,
                   label=f"{workers} worker{'s' if workers == '2' else ''}", color=["#9ecae1", "#3182bd"][k])
        ax.set_xticks(range(len(sc)), [LABEL[m] for m in sc])
        ax.set_title(p)
        ax.set_ylabel("Mpps")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("1 vs 2 workers (2-CPU machine, shared)")
    fig.tight_layout()
    fig.savefig(CHARTS / "scaling.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    CHARTS.mkdir(parents=True, exist_ok=True)
    engine()
    dpdk()
    print("charts in", CHARTS)
