"""Renders the benchmark's results.tsv as markdown tables (one row per server and setting).

Each setting was run several times; a row shows the median over the repeats and, in
parentheses, the worst repeat (lowest throughput, highest latency), so noise stays visible.

Usage: results_table.py RESULTS_TSV
results.tsv columns: kind server payload setting repeat throughput p50_ms p99_ms
server_cpu_pct rss_kib failures  (kind is "unary" or "stream"; p50/p99 are "-" for streams).
"""

import statistics
import sys
from collections import OrderedDict


def median(values: list[float]) -> float:
    """Median of the repeats."""
    return statistics.median(values)


def payload_label(size: str) -> str:
    """0 -> "0 B", 1024 -> "1 KiB"."""
    n = int(size)
    return f"{n // 1024} KiB" if n and n % 1024 == 0 else f"{n} B"


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    groups: "OrderedDict[tuple, list[list[str]]]" = OrderedDict()
    with open(sys.argv[1], encoding="utf-8") as results:
        for line in results:
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 11 or fields[0] == "kind":
                continue
            groups.setdefault(tuple(fields[0:4]), []).append(fields)

    unary = [(key, rows) for key, rows in groups.items() if key[0] == "unary"]
    stream = [(key, rows) for key, rows in groups.items() if key[0] == "stream"]

    if unary:
        print("Unary (h2load, one request body per call; req/s and latency: median of repeats, worst repeat in parentheses)")
        print()
        print("| server | payload | h2load clients × streams | req/s | p50 ms | p99 ms | server CPU % | server RSS MiB | failed |")
        print("|---|---|---|---:|---:|---:|---:|---:|---:|")
        for (_, server, payload, setting), rows in unary:
            rps = [float(r[5]) for r in rows]
            p50 = [float(r[6]) for r in rows]
            p99 = [float(r[7]) for r in rows]
            cpu = [float(r[8]) for r in rows]
            rss = [int(r[9]) for r in rows]
            failed = sum(int(r[10]) for r in rows)
            print(
                f"| {server} | {payload_label(payload)} | {setting} | {median(rps):,.0f} ({min(rps):,.0f}) "
                f"| {median(p50):.3f} ({max(p50):.3f}) | {median(p99):.3f} ({max(p99):.3f}) "
                f"| {median(cpu):.0f} | {max(rss) / 1024:.1f} | {failed} |"
            )
        print()
    if stream:
        print("Server streaming (stream_client, 1000 messages per call, calls restarted as they finish; median (worst))")
        print()
        print("| server | payload | concurrent streams | messages/s | server CPU % | server RSS MiB | failed streams |")
        print("|---|---|---|---:|---:|---:|---:|")
        for (_, server, payload, setting), rows in stream:
            rate = [float(r[5]) for r in rows]
            cpu = [float(r[8]) for r in rows]
            rss = [int(r[9]) for r in rows]
            failed = sum(int(r[10]) for r in rows)
            print(
                f"| {server} | {payload_label(payload)} | {setting} | {median(rate):,.0f} ({min(rate):,.0f}) "
                f"| {median(cpu):.0f} | {max(rss) / 1024:.1f} | {failed} |"
            )
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
