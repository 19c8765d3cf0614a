#!/usr/bin/env python3
"""Prints run-cluster-benchmark's results.tsv (configuration, shape, repeat, key, value) as one Markdown table:
a row per figure, a column per configuration, each cell the median over the repeats with min–max beside it."""

import statistics
import sys
from collections import defaultdict

CONFIGURATIONS = [("single", "1 node, no etcd"), ("cluster-1", "1 node + etcd ×3"), ("cluster-3", "3 nodes + etcd ×3")]
# (shape, key, label, unit) in table order.
FIGURES = [
    ("saturated", "tx_per_s", "Grant tx committed, 512 in flight", "tx/s"),
    ("saturated", "p50_ms", "Grant round trip p50, 512 in flight", "ms"),
    ("saturated", "p99_ms", "Grant round trip p99, 512 in flight", "ms"),
    ("saturated", "blocks", "Blocks for the run's transactions", ""),
    ("saturated", "cluster_cpu_pct", "CPU of nodes and etcd, 512 in flight", "% of a core"),
    ("light", "tx_per_s", "Grant tx committed, 6 in flight", "tx/s"),
    ("light", "p50_ms", "Grant round trip p50, 6 in flight", "ms"),
    ("light", "p99_ms", "Grant round trip p99, 6 in flight", "ms"),
    ("light", "cluster_cpu_pct", "CPU of nodes and etcd, 6 in flight", "% of a core"),
]


def cell(values: list[float]) -> str:
    if not values:
        return "–"
    def number(value: float) -> str:
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    median = statistics.median(values)
    if len(values) == 1:
        return number(median)
    return f"{number(median)} ({number(min(values))}–{number(max(values))})"


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: summarize.py results.tsv")
    values: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    runs: dict[str, set[str]] = defaultdict(set)
    with open(sys.argv[1]) as results:
        next(results)
        for line in results:
            configuration, shape, repeat, key, value = line.rstrip("\n").split("\t")
            try:
                values[(configuration, shape, key)].append(float(value))
            except ValueError:
                continue
            runs[configuration].add(repeat)
    present = [(name, label) for name, label in CONFIGURATIONS if name in runs]
    print("| figure | " + " | ".join(f"{label} ({len(runs[name])} runs)" for name, label in present) + " |")
    print("| --- | " + " | ".join("---:" for _ in present) + " |")
    for shape, key, label, unit in FIGURES:
        title = f"{label} ({unit})" if unit else label
        print(f"| {title} | " + " | ".join(cell(values[(name, shape, key)]) for name, _ in present) + " |")


if __name__ == "__main__":
    main()
