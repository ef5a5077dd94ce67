#!/usr/bin/env bash
# End-to-end delivery: latency of a sync create (intake → publisher → bus → instance worker → domain event →
# projection → COMPLETED), beside the async create (intake only) and pgbench -N on the same cluster; then
# projection lag (accepted → document written) under a sustained async write load.
#
#   bench/delivery.sh          (BENCH_SECONDS=10 per run by default; SPICE_BIN to skip the build)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${BENCH_SECONDS:-10}"
WORK=$(mktemp -d /tmp/spice-delivery-bench.XXXXXX)
chmod 755 "$WORK"
source "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT INT TERM
bench_require wrk curl psql "$PGBIN/pgbench"
bench_build
bench_start_spice
bench_create_schema
bench_prepare_pgbench

latency() {  # mode clients → "rps p50 p99 non2xx"
  local out
  out=$(wrk -t1 -c"$2" -d"${SECS}s" --latency -s "$ROOT/bench/intake.lua" "$BASE/instances/bench/$1/Item/create" -- "$1$2")
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')") \
$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')") $(echo "$out" | awk '/Non-2xx/ {print $NF}')"
}

printf '\n%-8s %-26s %10s %10s %10s\n' clients "what" "req/s" "p50 ms" "p99 ms"
rows=()
for c in 1 8; do
  read -r srps sp50 sp99 sbad <<<"$(latency sync "$c")"
  read -r arps ap50 ap99 abad <<<"$(latency async "$c")"
  pg=$("$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -N -c "$c" -j "$c" -T "$SECS" pgbench 2>/dev/null)
  ptps=$(echo "$pg" | awk -F'= ' '/^tps/ {split($2, a, " "); printf "%.0f", a[1]}')
  plat=$(echo "$pg" | awk -F'= ' '/latency average/ {split($2, a, " "); print a[1]}')
  printf '%-8s %-26s %10s %10s %10s\n' "$c" "sync create (end to end)" "$srps" "$sp50" "$sp99"
  printf '%-8s %-26s %10s %10s %10s\n' "$c" "async create (intake)" "$arps" "$ap50" "$ap99"
  printf '%-8s %-26s %10s %10s %10s\n' "$c" "pgbench -N (avg latency)" "$ptps" "$plat" "-"
  [ -n "$sbad$abad" ] && echo "  !!! non-2xx answers (sync: ${sbad:-0}, async: ${abad:-0}): figures not trustworthy"
  rows+=("| $c | $srps | $sp50 | $sp99 | $arps | $ap50 | $ap99 | $ptps | $plat |")
done

# Projection lag: a sustained async load, then accepted → COMPLETED (the projection completes instance
# commands when their document is written) per command, from the status rows' own timestamps.
echo
echo "projection lag under a sustained async load (wrk -c8, ${SECS}s):"
bench_psql -d postgres -c "SELECT 1" >/dev/null
since=$(bench_psql -d postgres -c "SELECT now()")
out=$(wrk -t1 -c8 -d"${SECS}s" -s "$ROOT/bench/intake.lua" "$BASE/instances/bench/async/Item/create" -- "lag")
offered=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
for _ in $(seq 1 600); do
  open=$(bench_psql -d postgres -c "SELECT count(*) FROM commands WHERE created_at >= '$since' AND status NOT IN ('COMPLETED','FAILED')")
  [ "$open" = "0" ] && break
  sleep 0.5
done
lag=$(bench_psql -d postgres -F' ' -c "
  SELECT count(*), round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at))::numeric, 1),
         round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - created_at))::numeric, 1),
         round(1000 * max(extract(epoch FROM updated_at - created_at))::numeric, 1)
  FROM commands WHERE created_at >= '$since' AND status = 'COMPLETED'")
read -r done p50 p99 worst <<<"$lag"
echo "  offered $offered commands/s; $done completed; lag p50 $p50 ms, p99 $p99 ms, max $worst ms (open after drain: $open)"

mkdir -p "$ROOT/bench/out"
report="$ROOT/bench/out/delivery-$(date +%Y%m%d-%H%M%S).md"
{
  echo "# Delivery ($(date -u +%Y-%m-%dT%H:%MZ), ${SECS}s per run, $(nproc) cores)"
  echo
  echo "| clients | sync create/s | sync p50 ms | sync p99 ms | async create/s | async p50 ms | async p99 ms | pgbench -N TPS | pgbench avg ms |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Projection lag at $offered offered commands/s (wrk -c8): p50 $p50 ms, p99 $p99 ms, max $worst ms over $done commands."
} > "$report"
echo
echo "report: $report"
