#!/usr/bin/env python3
"""Plots and summarises a soak CSV written by `ledger-bench soak` (run by run-soak).

Two PNGs: server RSS and open descriptors over time (with the log's size beneath, since the ledger's state grows
with every committed entry, and the RSS of a node restarted on the same data: the state's share), and p50/p99 per operation over time. The summary compares early and late figures:
RSS at 5 minutes and at the end, the RSS slope over the last 20 minutes (MiB/h and KiB per 1,000 log entries),
each operation's p99 in the first and the last 5 minutes (median of the 10-second windows' p99), and the errors.
Runs shorter than 10 minutes scale the 5- and 20-minute spans to a sixth and two thirds of the run.

    plot_soak.py soak.csv --title "..." --rss-png docs/soak-rss.png --latency-png docs/soak-latency.png
"""

import argparse
import csv
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OPERATIONS = ["grant", "revoke", "write", "query", "session", "logout", "head", "proof", "blocks", "audit"]


def read_rows(path):
    with open(path, newline="") as handle:
        return [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def slope(xs, ys):
    """Least-squares slope of ys over xs (0 with fewer than two points)."""
    if len(xs) < 2:
        return 0.0
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread if spread else 0.0


def spans(duration_s):
    """The early span and the trailing span for the slope, in seconds (5 and 20 minutes on a full run)."""
    if duration_s >= 600:
        return 300.0, min(1200.0, duration_s - 300.0)
    return duration_s / 6, duration_s * 2 / 3


def row_at(rows, elapsed):
    return min(rows, key=lambda row: abs(row["elapsed_s"] - elapsed))


def window_p99(rows, operation):
    values = [row[f"{operation}_p99_ms"] for row in rows if row[f"{operation}_count"] > 0]
    return (statistics.median(values), max(values)) if values else (None, None)


def summary(rows):
    full = rows
    early, trailing = spans(full[-1]["elapsed_s"])
    lines = []
    at_early, last = row_at(full, early), full[-1]
    lines.append(f"run: {last['elapsed_s']:.0f} s, {len(rows)} rows")
    lines.append(
        f"server RSS at {at_early['elapsed_s'] / 60:.1f} min: {at_early['server_rss_mib']:.1f} MiB; at the end "
        f"({last['elapsed_s'] / 60:.1f} min): {last['server_rss_mib']:.1f} MiB; "
        f"peak {max(row['server_rss_mib'] for row in rows):.1f} MiB")
    tail = [row for row in full if row["elapsed_s"] >= last["elapsed_s"] - trailing]
    per_hour = slope([row["elapsed_s"] / 3600 for row in tail], [row["server_rss_mib"] for row in tail])
    entries = tail[-1]["log_entries"] - tail[0]["log_entries"]
    per_entry = slope([row["log_entries"] / 1000 for row in tail], [row["server_rss_mib"] * 1024 for row in tail])
    lines.append(
        f"RSS slope over the last {trailing / 60:.1f} min: {per_hour:+.1f} MiB/h, "
        f"{per_entry:+.2f} KiB per 1,000 log entries ({entries:.0f} entries committed in that span)")
    lines.append(
        f"server fds: {rows[0]['server_fds']:.0f} at the start, {last['server_fds']:.0f} at the end, "
        f"max {max(row['server_fds'] for row in rows):.0f}; threads {rows[0]['server_threads']:.0f} -> "
        f"{last['server_threads']:.0f}; load generator RSS {rows[0]['client_rss_mib']:.1f} -> "
        f"{last['client_rss_mib']:.1f} MiB")
    first = [row for row in full if row["elapsed_s"] <= early + 0.5]
    final = [row for row in full if row["elapsed_s"] > last["elapsed_s"] - early - 0.5]
    lines.append(
        f"p99 ms per operation, median (max) of the {rows[1]['elapsed_s'] - rows[0]['elapsed_s']:.0f}-s windows' "
        f"p99 in the first vs the last {early / 60:.1f} min:")
    for operation in OPERATIONS:
        (early_median, early_max), (late_median, late_max) = window_p99(first, operation), window_p99(final, operation)
        if early_median is None or late_median is None:
            continue
        total = sum(row[f"{operation}_count"] for row in rows)
        lines.append(
            f"  {operation:8s} {early_median:8.2f} ({early_max:7.2f}) -> {late_median:8.2f} ({late_max:7.2f})"
            f"   {total:.0f} calls")
    errors = sum(row["errors"] for row in rows)
    lines.append(f"errors: {errors:.0f}")
    return lines, errors


def plot_rss(rows, title, path, restart_rss):
    minutes = [row["elapsed_s"] / 60 for row in rows]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True, height_ratios=[3, 1.3])
    top.plot(minutes, [row["server_rss_mib"] for row in rows], color="tab:blue", label="server RSS (MiB)")
    if restart_rss is not None:
        top.plot([minutes[-1]], [restart_rss], "o", color="tab:purple", label="RSS of the same data after a restart (MiB)")
    top.set_ylabel("server RSS (MiB)", color="tab:blue")
    top.set_ylim(bottom=0)
    top.grid(alpha=0.3)
    fds = top.twinx()
    fds.plot(minutes, [row["server_fds"] for row in rows], color="tab:orange", label="open fds")
    fds.set_ylabel("server open file descriptors", color="tab:orange")
    fds.set_ylim(0, max(row["server_fds"] for row in rows) * 1.5 + 1)
    top.legend(handles=top.get_lines() + fds.get_lines(), loc="lower right")
    bottom.plot(minutes, [row["log_entries"] / 1000 for row in rows], color="tab:green")
    bottom.set_ylabel("log entries (k)")
    bottom.set_xlabel("minutes")
    bottom.set_ylim(bottom=0)
    bottom.grid(alpha=0.3)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def plot_latency(rows, title, path):
    operations = [op for op in OPERATIONS if any(row[f"{op}_count"] > 0 for row in rows)]
    columns = 2
    figure, axes = plt.subplots(
        (len(operations) + columns - 1) // columns, columns, figsize=(12, 2.1 * ((len(operations) + 1) // 2) + 1),
        sharex=True, squeeze=False)
    for index, operation in enumerate(operations):
        axis = axes[index // columns][index % columns]
        used = [row for row in rows if row[f"{operation}_count"] > 0]
        minutes = [row["elapsed_s"] / 60 for row in used]
        axis.plot(minutes, [row[f"{operation}_p99_ms"] for row in used], color="tab:red", label="p99")
        axis.plot(minutes, [row[f"{operation}_p50_ms"] for row in used], color="tab:blue", label="p50")
        errors = [row["elapsed_s"] / 60 for row in rows if row[f"{operation}_errors"] > 0]
        if errors:
            axis.plot(errors, [0] * len(errors), "kx", label="errors")
        axis.set_title(f"{operation} ({sum(row[f'{operation}_count'] for row in rows):.0f} calls)", fontsize=9)
        axis.set_ylabel("ms")
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
        if index == 0:
            axis.legend(loc="upper right", fontsize=8)
    for index in range(len(operations), len(axes) * columns):
        axes[index // columns][index % columns].axis("off")
    for axis in axes[-1]:
        axis.set_xlabel("minutes")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv")
    parser.add_argument("--title", default="HealthLedger soak")
    parser.add_argument("--rss-png", required=True)
    parser.add_argument("--latency-png", required=True)
    parser.add_argument("--restart-rss", type=float, help="RSS (MiB) of a node restarted on the soak's data")
    arguments = parser.parse_args()
    rows = read_rows(arguments.csv)
    if len(rows) < 2:
        sys.exit(f"plot_soak.py: {arguments.csv} has {len(rows)} rows; at least 2 are needed")
    plot_rss(rows, arguments.title, arguments.rss_png, arguments.restart_rss)
    plot_latency(rows, arguments.title, arguments.latency_png)
    lines, errors = summary(rows)
    print("\n".join(lines))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
