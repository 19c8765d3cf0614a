#!/usr/bin/env python3
"""Summarises run-ledger-benchmark's results.tsv (scenario, repeat, key, value) as Markdown tables:
per figure the median, min and max over the repeats, and the goal with whether the median meets it.
With several LABEL=results.tsv arguments, prints them side by side in one table."""

import statistics
import sys
from collections import defaultdict

# (scenario, key, label, unit, goal) in table order; goal is (">=" or "<=", number) or None.
FIGURES = [
    ("echo", "req_per_s", "Echo/Unary 0 B, same client path (transport only)", "req/s", None),
    ("echo", "p50_ms", "Echo p50", "ms", None),
    ("echo", "p99_ms", "Echo p99", "ms", None),
    ("echo", "server_cpu_pct", "Echo server CPU", "%", None),
    ("echo", "client_cpu_pct", "Echo load generator CPU", "%", None),
    ("tx", "tx_per_s", "Grant tx committed", "tx/s", (">=", 10_000)),
    ("tx", "p50_ms", "Grant p50", "ms", None),
    ("tx", "p99_ms", "Grant p99", "ms", None),
    ("tx", "blocks", "Grant blocks", "", None),
    ("tx", "server_cpu_pct", "Grant server CPU", "%", None),
    ("tx", "client_cpu_pct", "Grant load generator CPU", "%", None),
    ("tx-write", "tx_per_s", "Write 1 KiB tx committed", "tx/s", None),
    ("tx-write", "p50_ms", "Write p50", "ms", None),
    ("tx-write", "p99_ms", "Write p99", "ms", None),
    ("tx-write", "server_cpu_pct", "Write server CPU", "%", None),
    ("tx-write", "client_cpu_pct", "Write load generator CPU", "%", None),
    ("query", "req_per_s", "Query peak (closed loop)", "req/s", (">=", 30_000)),
    ("query", "p50_ms", "Query p50 at peak", "ms", None),
    ("query", "p99_ms", "Query p99 at peak", "ms", None),
    ("query", "server_cpu_pct", "Query server CPU at peak", "%", None),
    ("query", "client_cpu_pct", "Query load generator CPU at peak", "%", None),
    ("query-fixed-rate", "rate_per_s", "Query fixed rate (half peak)", "req/s", None),
    ("query-fixed-rate", "commit_p50_ms", "Query p50 to QueryStarted (audit commit)", "ms", None),
    ("query-fixed-rate", "commit_p99_ms", "Query p99 to QueryStarted (audit commit)", "ms", ("<=", 10)),
    ("query-fixed-rate", "p50_ms", "Query p50 to end of stream", "ms", None),
    ("query-fixed-rate", "p99_ms", "Query p99 to end of stream", "ms", None),
    ("query-fixed-rate", "launch_lag_p99_ms", "Query generator launch lag p99", "ms", None),
    ("audit-catchup", "events_per_s", "AuditStream catch-up", "events/s", (">=", 500_000)),
    ("audit-catchup", "generated_per_s", "Audit events generated (self-queries)", "events/s", None),
    ("audit-catchup", "server_cpu_pct", "Catch-up server CPU", "%", None),
    ("audit-catchup", "client_cpu_pct", "Catch-up reader CPU", "%", None),
    ("audit-live", "p50_ms", "Live audit p50 (response → follower)", "ms", None),
    ("audit-live", "p99_ms", "Live audit p99 (response → follower)", "ms", ("<=", 50)),
    ("audit-live", "max_ms", "Live audit max", "ms", None),
    ("fill", "send_tx_per_s", "Restart fill: grants committed (sending time only)", "tx/s", None),
    ("restart", "restart_s", "Restart after a clean shutdown: exec → listening", "s", ("<=", 5)),
    ("restart", "stop_s", "Clean shutdown: SIGTERM → exit (writes the snapshot)", "s", None),
    ("restart", "rss_mib", "RSS after restart", "MiB", None),
    ("restart", "rss_mib_per_million_tx", "RSS per million transactions (above the empty node's)", "MiB", None),
    ("restart", "empty_restart_s", "Restart of a genesis-only node", "s", None),
    ("restart", "empty_rss_mib", "RSS of a genesis-only node after restart", "MiB", None),
    ("restart-replay", "restart_s", "Restart without snapshot (full replay): exec → listening", "s", ("<=", 5)),
    ("restart-replay", "rss_mib", "RSS after restart without snapshot", "MiB", None),
    ("restart-replay", "rss_mib_per_million_tx", "RSS per million transactions after a full replay", "MiB", None),
    ("restart", "fill_stop_s", "Shutdown of the filled node: SIGTERM → exit", "s", None),
    ("restart", "tree_size", "Entries in the restarted log", "", None),
    ("restart", "data_dir_mib", "Data directory", "MiB", None),
]


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def show(value, unit):
    if value is None:
        return "-"
    if unit in ("ms", "s"):
        return f"{value:,.3f}" if value < 100 else f"{value:,.1f}"
    if unit in ("MiB", "%"):
        return f"{value:,.1f}" if unit == "MiB" else f"{value:,.0f}"
    return f"{value:,.0f}"


def load(path):
    values = defaultdict(list)
    with open(path) as handle:
        next(handle)
        for line in handle:
            scenario, repeat, key, value = line.rstrip("\n").split("\t")
            parsed = number(value)
            if parsed is not None:
                values[(scenario, key)].append(parsed)
    return values


def goal_text(goal, unit):
    if not goal:
        return ""
    op, target = goal
    return f"{op.replace('>=', '≥').replace('<=', '≤')} {target:,} {unit}"


def meets(goal, median):
    op, target = goal
    return median >= target if op == ">=" else median <= target


def main(path):
    values = load(path)
    print("| scenario | figure | median | min | max | runs | goal | median meets goal |")
    print("|---|---|---:|---:|---:|---:|---|---|")
    for scenario, key, label, unit, goal in FIGURES:
        found = values.get((scenario, key))
        if not found:
            continue
        median = statistics.median(found)
        verdict = ("yes" if meets(goal, median) else "**no**") if goal else ""
        unit_text = f" ({unit})" if unit else ""
        print(
            f"| {scenario} | {label}{unit_text} | {show(median, unit)} | {show(min(found), unit)} "
            f"| {show(max(found), unit)} | {len(found)} | {goal_text(goal, unit)} | {verdict} |"
        )
    rss = [(scenario, values[(scenario, "server_rss_mib")]) for scenario in
           ("tx", "tx-write", "query", "audit-catchup", "audit-live") if values.get((scenario, "server_rss_mib"))]
    if rss:
        print()
        print("Server RSS at the end of each run (MiB, median): " +
              ", ".join(f"{scenario} {statistics.median(found):,.1f}" for scenario, found in rss) + ".")


def side_by_side(columns):
    """One table, one column per labelled results.tsv: "median (min–max)" and whether the median meets the goal."""
    loaded = [(label, load(path)) for label, path in columns]
    header = " | ".join(f"{label}: median (min–max), runs" for label, _ in loaded)
    print(f"| scenario | figure | goal | {header} |")
    print("|---|---|---|" + "---:|" * len(loaded))
    for scenario, key, label, unit, goal in FIGURES:
        cells = []
        for _, values in loaded:
            found = values.get((scenario, key))
            if not found:
                cells.append("")
                continue
            median = statistics.median(found)
            mark = "" if not goal else (" ✓" if meets(goal, median) else " ✗")
            cells.append(f"{show(median, unit)}{mark} ({show(min(found), unit)}–{show(max(found), unit)}), {len(found)}")
        if not any(cells):
            continue
        unit_text = f" ({unit})" if unit else ""
        print(f"| {scenario} | {label}{unit_text} | {goal_text(goal, unit)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    # summarize.py results.tsv                      one run's table
    # summarize.py LABEL=results.tsv LABEL=...      side by side (e.g. pinned=... not-pinned=...)
    if len(sys.argv) == 2 and "=" not in sys.argv[1]:
        main(sys.argv[1])
    else:
        side_by_side([argument.split("=", 1) for argument in sys.argv[1:]])
