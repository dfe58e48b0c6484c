#!/usr/bin/env python3
"""pgbench_latency.py WARM LOGFILE...: throughput, p50 and p99 (ms) from pgbench -l transaction
logs, counting only the transactions that ended after the first WARM seconds (each pgbench
client prepares its statements on first use, which the warm-up absorbs). Prints JSON."""
import sys

warm = float(sys.argv[1])
rows = []
for path in sys.argv[2:]:
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) >= 6:
                rows.append((int(p[4]) + int(p[5]) / 1e6, int(p[2])))
if not rows:
    print('{"rps": 0, "p50_ms": 0, "p99_ms": 0, "transactions": 0}')
    sys.exit(0)
t0 = min(r[0] for r in rows) + warm
t1 = max(r[0] for r in rows)
lat = sorted(r[1] for r in rows if r[0] >= t0)


def pct(p):
    return lat[min(len(lat) - 1, int(len(lat) * p / 100))] / 1000.0 if lat else 0.0


print('{"rps": %.1f, "p50_ms": %.3f, "p99_ms": %.3f, "transactions": %d}'
      % (len(lat) / max(t1 - t0, 1e-9), pct(50), pct(99), len(lat)))
