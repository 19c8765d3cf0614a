"""Turns one h2load run into one result row: req/s, p50/p99 latency and the failure count.

h2load prints only min/max/mean/sd of request time, so the percentiles come from its
--log-file, which has one tab-separated line per request of the measured phase (warm-up
requests are not logged): start time (us since epoch), HTTP status, microseconds to the end of
the response. Percentiles use the nearest-rank method over the requests answered with 200.

Usage: parse_h2load.py --output H2LOAD_STDOUT --log LOG_FILE
Prints: req_per_sec <TAB> p50_ms <TAB> p99_ms <TAB> failures
"""

import argparse
import math
import re
import sys


def nearest_rank(sorted_values: list[int], percentile: float) -> int:
    """The smallest value with at least `percentile`% of the values at or below it."""
    rank = max(1, math.ceil(percentile / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    text = open(args.output, encoding="utf-8", errors="replace").read()
    finished = re.search(r"^finished in [\d.]+m?s, ([\d.]+) req/s", text, re.MULTILINE)
    requests = re.search(
        r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
        r"(\d+) errored, (\d+) timeout",
        text,
        re.MULTILINE,
    )
    statuses = re.search(r"^status codes: (\d+) 2xx", text, re.MULTILINE)
    if not (finished and requests and statuses):
        print(f"parse_h2load: no summary in {args.output}", file=sys.stderr)
        return 1
    done = int(requests.group(3))
    failures = (done - int(statuses.group(1))) + int(requests.group(6)) + int(requests.group(7))

    latencies = []
    with open(args.log, encoding="ascii") as log:
        for line in log:
            fields = line.split("\t")
            if len(fields) >= 3 and fields[1] == "200":
                latencies.append(int(fields[2]))
    if not latencies:
        print(f"parse_h2load: no successful requests in {args.log}", file=sys.stderr)
        return 1
    latencies.sort()
    p50 = nearest_rank(latencies, 50) / 1000
    p99 = nearest_rank(latencies, 99) / 1000
    print(f"{float(finished.group(1)):.1f}\t{p50:.3f}\t{p99:.3f}\t{failures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
