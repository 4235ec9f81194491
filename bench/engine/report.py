#!/usr/bin/env python3
"""Turn criterion's samples of benches/engine.rs, the extra figures and rvs-bench-mem's CSV into
bench/results/engine.md and engine.csv (called by bench/engine/run.sh)."""

import argparse
import csv
import json
import statistics
from pathlib import Path

METHODS = ["dr", "nat", "fullnat", "tun"]
SIZES = ["1000", "1000000"]


def load_samples(root: Path):
    """{(group, function, param): [ns per iteration of each sample]}"""
    out = {}
    for bj in root.glob("*/*/*/new/benchmark.json"):
        meta = json.loads(bj.read_text())
        s = json.loads((bj.parent / "sample.json").read_text())
        per = [t / i for t, i in zip(s["times"], s["iters"]) if i > 0]
        out[(meta["group_id"], meta["function_id"], meta["value_str"])] = per
    return out


def quartiles(v):
    v = sorted(v)
    q = statistics.quantiles(v, n=4) if len(v) >= 2 else [v[0]] * 3
    return v[0], q[0], statistics.median(v), q[2], v[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criterion", required=True, type=Path)
    ap.add_argument("--extra", type=Path)
    ap.add_argument("--mem", type=Path)
    ap.add_argument("--md", required=True, type=Path)
    ap.add_argument("--csv", required=True, type=Path)
    ap.add_argument("--header", required=True, help="markdown lines: machine, commit, date, command")
    ap.add_argument("--title", default="Engine per-packet cost")
    a = ap.parse_args()

    samples = load_samples(a.criterion)
    extra = {}
    if a.extra and a.extra.exists():
        for line in a.extra.read_text().splitlines():
            k, _, v = line.partition(",")
            extra[k] = v
    copy = {n: statistics.median(samples[("copy", "frames", n)]) for n in SIZES if ("copy", "frames", n) in samples}

    rows = []
    for (g, f, p), v in sorted(samples.items()):
        mn, q1, med, q3, mx = quartiles(v)
        c = copy.get(p, copy.get("1000", 0.0)) if g != "copy" else 0.0
        net = med - c
        rows.append(
            dict(
                group=g, function=f, connections=p, samples=len(v),
                ns_median=f"{med:.1f}", ns_min=f"{mn:.1f}", ns_p25=f"{q1:.1f}", ns_p75=f"{q3:.1f}", ns_max=f"{mx:.1f}",
                copy_ns=f"{c:.1f}", net_ns=f"{net:.1f}", net_mpps=f"{1e3 / net:.2f}" if net > 0 else "",
            )
        )
    a.csv.parent.mkdir(parents=True, exist_ok=True)
    with a.csv.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    by = {(r["group"], r["function"], r["connections"]): r for r in rows}

    def cell(g, f, n):
        r = by.get((g, f, n))
        if not r:
            return "–"
        return f"{float(r['net_ns']):.0f} ({r['net_mpps']}) [{float(r['ns_min']) - float(r['copy_ns']):.0f}–{float(r['ns_max']) - float(r['copy_ns']):.0f}]"

    md = [f"# {a.title}", "", a.header.replace("\\n", "\n"), ""]
    md += [
        "Each cell: **ns per packet** net of the harness (median of the samples), "
        "(**Mpps** on one core at that cost), [min–max over the samples]. "
        "A sample is one criterion measurement of many packets; 15 samples per cell after a warm-up. "
        "The harness (clock read per burst of 32, buffer from the pool, copy of the 60-byte frame, "
        "buffer back) is measured on its own (`copy` rows) and subtracted.",
        "",
        "| method | established in, 1k | established in, 1M | replies out, 1k | replies out, 1M | new connection, 1k | new connection, 1M |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in METHODS:
        md.append(
            f"| {m.upper() if m != 'fullnat' else 'FullNAT'} | "
            + " | ".join(
                cell(g, m, n)
                for g in ["established_in", "established_out", "new_conn"]
                for n in SIZES
            )
            + " |"
        )
    md += ["", "Harness alone (`copy`, ns per packet, median [min–max]): " + ", ".join(
        f"{n} frames: {float(by[('copy', 'frames', n)]['ns_median']):.1f} [{by[('copy', 'frames', n)]['ns_min']}–{by[('copy', 'frames', n)]['ns_max']}]"
        for n in SIZES if ("copy", "frames", n) in by
    ) + ".", ""]

    exp = [(m, n, extra.get(f"expire_ns_per_conn/{m}/{n}")) for m in METHODS for n in SIZES]
    if any(v for _, _, v in exp):
        md += ["Expiry (reaping a half-open connection by the timer wheel, measured untimed around the "
               "`new_conn` runs, mean ns per connection): " + ", ".join(
                   f"{m} {n}: {v}" for m, n, v in exp if v) + ".", ""]

    if ("table_full", "syn_refused", "1000") in by:
        md += [
            "## Full connection table (NAT, `max_connections = 1000`, all taken)",
            "",
            "| traffic | ns/packet net | Mpps | [min–max] |",
            "|---|---|---|---|",
        ]
        for f, label in [("syn_refused", "SYNs of new clients (refused)"), ("established", "ACKs of the established connections")]:
            r = by[("table_full", f, "1000")]
            md.append(f"| {label} | {float(r['net_ns']):.0f} | {r['net_mpps']} | {float(r['ns_min']) - float(r['copy_ns']):.0f}–{float(r['ns_max']) - float(r['copy_ns']):.0f} |")
        md += [
            "",
            f"Checked on a 1:1 mix of new SYNs and established ACKs: {extra.get('table_full/mix_syns_refused', '?')} SYNs "
            f"refused and counted as `conn_table_full`, {extra.get('table_full/mix_acks_forwarded', '?')} ACKs forwarded; "
            f"during the measurement {extra.get('table_full/syns_refused', '?')} SYNs, every one counted as `conn_table_full`, "
            f"other drops: {extra.get('table_full/other_drops', '?')}.",
            "",
        ]

    if a.mem and a.mem.exists():
        mem = list(csv.DictReader(a.mem.open()))
        if mem:
            md += [
                "## Memory per connection",
                "",
                f"A worker with a table of {mem[0]['capacity']} slots (rvsd's default `max_connections`) "
                f"filled with {mem[0]['flows']} established connections. `table`: `ConnTable::memory_bytes()` "
                "(slab, links, index, wheel; allocated at start) per slot; `RSS`: growth of the resident set "
                "from before the worker existed to just after (allocated and touched up front) and to the filled "
                "table, per connection (everything: connection table, the persistence-template table sized like "
                "it, FullNAT port pools, allocator); each method in its own process.",
                "",
                "| method | slab entry (bytes) | connection table per slot (bytes) | RSS at start, per slot (bytes) | RSS filled, per connection (bytes) |",
                "|---|---|---|---|---|",
            ]
            for r in mem:
                md.append(f"| {r['method']} | {r['entry_bytes']} | {r['table_bytes_per_slot']} | "
                          f"{int(r['rss_new_bytes']) / int(r['capacity']):.1f} | {r['rss_bytes_per_conn']} |")
            md.append("")
    a.md.write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
