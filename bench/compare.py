#!/usr/bin/env python3
"""Compare two result CSVs of one suite: bench/compare.py SUITE OLD.csv NEW.csv [OLD_LABEL NEW_LABEL]."""

import csv
import statistics
import sys
from collections import defaultdict


def engine(path):
    return {(r["group"], r["function"], r["connections"]): float(r["net_ns"]) for r in csv.DictReader(open(path))}


def dpdk(path):
    runs = defaultdict(list)
    for r in csv.DictReader(open(path)):
        runs[(r["method"], r["workers"], r["program"])].append(float(r["mpps"]))
    return {k: statistics.median(v) for k, v in runs.items()}


def main():
    suite, old, new = sys.argv[1:4]
    a, b = (sys.argv[4:6] + ["old", "new"])[:2] if len(sys.argv) > 4 else ("old", "new")
    if suite == "engine":
        o, n = engine(old), engine(new)
        print(f"| benchmark | {a} ns/packet | {b} ns/packet | change |")
    else:
        o, n = dpdk(old), dpdk(new)
        print(f"| method, workers, program | {a} Mpps | {b} Mpps | change |")
    print("|---|---|---|---|")
    for k in sorted(set(o) | set(n)):
        x, y = o.get(k), n.get(k)
        ch = f"{(y - x) / x * 100:+.1f} %" if x and y else ""
        fx = f"{x:.1f}" if x is not None else "–"
        fy = f"{y:.1f}" if y is not None else "–"
        print(f"| {'/'.join(k)} | {fx} | {fy} | {ch} |")


if __name__ == "__main__":
    main()
