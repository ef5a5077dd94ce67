#!/usr/bin/env bash
# Statement round trips through spice's PostgreSQL driver beside pgbench, on one throwaway cluster:
# `SELECT $1::int`, one client, one statement at a time — the cost a handler or worker pays per statement.
# The driver is measured from Swift's global pool and from a task that runs on the client's I/O thread (how
# spice runs its handlers and workers); pgbench (-M prepared) is the baseline. Rounds alternate the three.
#
#   bench/driver.sh          (BENCH_ROUNDS=3, BENCH_STATEMENTS=5000 by default)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${BENCH_ROUNDS:-3}"
STATEMENTS="${BENCH_STATEMENTS:-5000}"
PGBIN=/usr/lib/postgresql/15/bin
WORK=$(mktemp -d /tmp/spice-driver-bench.XXXXXX)
chmod 755 "$WORK"
trap '"$ROOT/scripts/services/postgres.sh" stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT INT TERM

echo "building spice-driver-bench (release)..."
(cd "$ROOT" && swift build -c release --product spice-driver-bench >/dev/null)
BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)/spice-driver-bench"
URL=$("$ROOT/scripts/services/postgres.sh" start "$WORK/pg")
echo 'SELECT :n::int;' > "$WORK/select.sql"

results="$WORK/results"
for round in $(seq 1 "$ROUNDS"); do
  "$BIN" "$URL" "$STATEMENTS" | tee -a "$results" | sed "s/^/round $round: /"
  pg=$("$PGBIN/pgbench" -n -M prepared -D n=1 -f "$WORK/select.sql" -c1 -t "$STATEMENTS" "$URL" 2>/dev/null)
  tps=$(echo "$pg" | awk -F'= ' '/^tps/ {split($2, a, " "); printf "%.0f", a[1]}')
  us=$(echo "$pg" | awk -F'= ' '/latency average/ {split($2, a, " "); printf "%.1f", a[1] * 1000}')
  echo "pgbench $tps $us" | tee -a "$results" | sed "s/^/round $round: /"
done

python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    mode, rate, micros = line.split()
    rows.setdefault(mode, []).append((float(rate), float(micros)))
median = {mode: statistics.median(m for _, m in values) for mode, values in rows.items()}
print(f"\n{'one client, SELECT $1::int':34s} {'statements/s':>13s} {'µs each':>9s} {'÷ pgbench':>10s}")
for mode, label in [("pgbench", "pgbench -M prepared"), ("global-pool", "driver, from the global pool"),
                    ("io-thread", "driver, on the client's I/O thread")]:
    rate = statistics.median(r for r, _ in rows[mode])
    print(f"{label:34s} {rate:13.0f} {median[mode]:9.1f} {median[mode] / median['pgbench']:9.2f}x")
PY
