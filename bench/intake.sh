#!/usr/bin/env bash
# Async command intake vs. pgbench -N, same machine, same PostgreSQL cluster, durability on.
#
#   bench/intake.sh   (BENCH_SECONDS=10 per run by default; BENCH_CLIENTS="1 8 32" by default; SPICE_BIN to skip the build;
#                      SPICE_ROLES=gateway measures the intake without workers in the same process)
#
# spice runs on its embedded defaults (its own PostgreSQL 15 cluster with fsync on, the file event store with
# fsync); wrk posts instance creates (each a new aggregate, so all are accepted) at 1, 8 and 32 connections;
# pgbench -N (the "simple update" TPC-B variant) runs against a database in the same cluster with the same
# client counts. Prints commands/s, p50/p99 and the ratio to pgbench's TPS. Everything started is stopped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${BENCH_SECONDS:-10}"
read -ra CLIENTS <<< "${BENCH_CLIENTS:-1 8 32}"
PGBIN=/usr/lib/postgresql/15/bin
WORK=$(mktemp -d /tmp/spice-intake-bench.XXXXXX)
chmod 755 "$WORK"
SPICE_PID=""

cleanup() {
  [ -n "$SPICE_PID" ] && kill -TERM "$SPICE_PID" 2>/dev/null && wait "$SPICE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

for tool in wrk curl "$PGBIN/pgbench" python3; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || { echo "missing tool: $tool" >&2; exit 2; }
done

if [ -z "${SPICE_BIN:-}" ]; then
  echo "building spice (release)..."
  (cd "$ROOT" && swift build -c release --product spice >/dev/null)
  SPICE_BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)/spice"
fi

SPICE_PORT=0 SPICE_ACCESS_LOG=off SPICE_DATABASE_POOL_SIZE="${SPICE_DATABASE_POOL_SIZE:-48}" SPICE_DATA_DIR="$WORK/data" "$SPICE_BIN" serve >"$WORK/spice.out" 2>"$WORK/spice.err" &
SPICE_PID=$!
for _ in $(seq 1 300); do grep -q "listening on" "$WORK/spice.err" 2>/dev/null && break; sleep 0.1; done
PORT=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$WORK/spice.err" | grep -o '[0-9]*$') || { cat "$WORK/spice.err"; exit 1; }
BASE="http://127.0.0.1:$PORT/api/v1"
echo "spice on $PORT (embedded PostgreSQL, fsync on)"

curl -fsS -X POST "$BASE/database/create?wait=false" -d '{"name":"bench"}' >/dev/null
curl -fsS -X POST "$BASE/database/bench/ontology" -d '{"id":"Item","label":"Item","properties":[
  {"name":"item_id","type":"string","label":"ID","primary_key":true},{"name":"name","type":"string","label":"Name"}]}' >/dev/null

PGPORT=$(cat "$WORK/data/postgres/port")
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$PGBIN/../../../../bin/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres pgbench 2>/dev/null \
  || psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE pgbench"
"$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -i -s 10 -q pgbench >/dev/null 2>&1

printf '\n%-10s %14s %10s %10s %16s %12s %8s\n' clients "spice cmd/s" "p50 ms" "p99 ms" "pgbench -N tps" "pgbench ms" ratio
rows=()
for c in "${CLIENTS[@]}"; do
  out=$(wrk -t1 -c"$c" -d"${SECS}s" --latency -s "$ROOT/bench/intake.lua" "$BASE/instances/bench/async/Item/create" -- "c$c")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  pg=$("$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -N -c "$c" -j "$c" -T "$SECS" pgbench 2>/dev/null)
  tps=$(echo "$pg" | awk -F'= ' '/^tps/ {split($2, a, " "); print a[1]}')
  pglat=$(echo "$pg" | awk -F'= ' '/latency average/ {split($2, a, " "); print a[1]}')
  ratio=$(awk -v a="$rps" -v b="$tps" 'BEGIN { printf "%.0f%%", 100 * a / b }')
  # wrk prints latencies as 812.00us, 3.20ms or 1.05s
  to_ms() { echo "$1" | awk '/us$/ { printf "%.2f", $0 / 1000; next } /ms$/ { printf "%.2f", $0 + 0; next } /s$/ { printf "%.2f", $0 * 1000 }'; }
  printf '%-10s %14s %10s %10s %16s %12s %8s\n' "$c" "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" "$tps" "$pglat" "$ratio"
  [ -n "$non2xx" ] && echo "  !!! $non2xx non-2xx answers from spice at $c clients: figures not trustworthy"
  rows+=("| $c | $rps | $(to_ms "$p50") | $(to_ms "$p99") | $tps | $pglat | $ratio |")
done

mkdir -p "$ROOT/bench/out"
report="$ROOT/bench/out/intake-$(date +%Y%m%d-%H%M%S).md"
{
  echo "# Command intake vs pgbench -N ($(date -u +%Y-%m-%dT%H:%MZ), ${SECS}s per run, $(nproc) cores)"
  echo
  echo "| clients | spice commands/s | p50 ms | p99 ms | pgbench -N TPS | pgbench avg ms | spice/pgbench |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
} > "$report"
echo
echo "report: $report"
