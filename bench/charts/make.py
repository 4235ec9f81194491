#!/usr/bin/env python3
"""PNG charts of the committed results: bench/charts/make.py [RESULTS_DIR] [CHARTS_DIR].

Reads bench/results/engine.csv, engine-mem.csv and dpdk.csv (whichever exist) and writes
engine.png, dpdk.png and scaling.png next to this script; optimisations.png from the
before/after results (results/prefetch/, results/new-conn-borrow/, sched/*.md). Needs matplotlib
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


def sched_table(path, col):
    """Scheduler -> ns at 1,000 servers from a bench/sched results table (column `col`)."""
    out = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > col and cells[0] in ("lc", "wlc", "sed", "nq", "fo", "ovf", "twos"):
            try:
                out[cells[0]] = float(cells[col])
            except ValueError:
                pass
    return out


def optimisations():
    """Before/after of each optimisation, medians over the committed runs."""
    def med_csv(pattern, pick):
        vals = []
        for f in sorted(RESULTS.glob(pattern)):
            vals += [v for v in (pick(r) for r in csv.DictReader(f.open())) if v is not None]
        return statistics.median(vals) if vals else None

    def engine_ns(pattern, group_fn, conns):
        return lambda m: med_csv(pattern, lambda r: float(r["ns_median"])
                                 if r["function"] == m and r["connections"] == conns else None)

    panels = []
    pre = engine_ns("prefetch/established-prefetch0-run*.csv", None, "1000000")
    post = engine_ns("prefetch/established-prefetch1-run*.csv", None, "1000000")
    panels.append(("engine, established, 1M connections\n(burst prefetch)", "ns per packet",
                   [(LABEL[m], pre(m), post(m)) for m in ("dr", "nat")]))
    rv = lambda tag: lambda m: med_csv(f"prefetch/dpdk-1m-prefetch-{tag}.csv",
                                       lambda r: float(r["mpps"]) if r["method"] == m and r["program"] == "rvsd" else None)
    panels.append(("rvsd, 1M connections (burst prefetch)", "Mpps",
                   [(LABEL[m], rv("off")(m), rv("load")(m)) for m in ("dr", "nat")]))
    b = engine_ns("new-conn-borrow/new-conn-before-run*.csv", None, "1000")
    a = engine_ns("new-conn-borrow/new-conn-after-run*.csv", None, "1000")
    panels.append(("engine, new connection, 1k connections\n(real server borrowed, not cloned)", "ns per connection",
                   [(LABEL[m], b(m), a(m)) for m in METHODS]))
    sched = HERE.parent / "sched"
    old = sched_table(sched / "results-scan-6951fff.md", 3)
    new = sched_table(sched / "results.md", 6)
    panels.append(("scheduler decision, 1,000 real servers\n(scan -> tree; after: with 2 load changes)", "ns",
                   [(n, old.get(n), new.get(n)) for n in ("lc", "wlc", "sed", "twos")]))
    panels = [p for p in panels if any(x[1] is not None and x[2] is not None for x in p[2])]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4))
    for ax, (title, unit, rows) in zip(axes if len(panels) > 1 else [axes], panels):
        rows = [r for r in rows if r[1] is not None and r[2] is not None]
        xs = range(len(rows))
        ax.bar([x - 0.18 for x in xs], [r[1] for r in rows], 0.36, label="before", color="#bdbdbd")
        ax.bar([x + 0.18 for x in xs], [r[2] for r in rows], 0.36, label="after", color="#3182bd")
        for x, r in zip(xs, rows):
            num = lambda v: f"{v:.0f}" if v >= 100 else f"{v:.3g}"
            ax.annotate(f"{num(r[1])} → {num(r[2])}", (x, max(r[1], r[2])), textcoords="offset points",
                        xytext=(0, 4), ha="center", fontsize=7)
        ax.set_xticks(list(xs), [r[0] for r in rows])
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(unit)
        ax.grid(axis="y", alpha=0.3)
    (axes[0] if len(panels) > 1 else axes).legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(CHARTS / "optimisations.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    CHARTS.mkdir(parents=True, exist_ok=True)
    engine()
    dpdk()
    optimisations()
    print("charts in", CHARTS)
