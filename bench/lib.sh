# Shared by the write-path benchmarks (sourced): build spice, start it on its embedded defaults in a temp
# directory, create the `bench` database with class Item, and stop everything on exit.
#   needs: ROOT, WORK (a temp dir) set by the caller

PGBIN=/usr/lib/postgresql/15/bin
SPICE_PID=""

bench_cleanup() {
  [ -n "$SPICE_PID" ] && kill -TERM "$SPICE_PID" 2>/dev/null && wait "$SPICE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}

bench_require() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || { echo "missing tool: $tool" >&2; exit 2; }
  done
}

# Builds release unless SPICE_BIN is set; sets SPICE_BIN.
bench_build() {
  if [ -z "${SPICE_BIN:-}" ]; then
    echo "building spice (release)..."
    (cd "$ROOT" && swift build -c release --product spice >/dev/null)
    SPICE_BIN="$(cd "$ROOT" && swift build -c release --show-bin-path)/spice"
  fi
}

# Starts spice with its own embedded PostgreSQL (fsync on) and file event store; sets BASE and PGPORT.
bench_start_spice() {
  SPICE_PORT=0 SPICE_ACCESS_LOG=off SPICE_DATABASE_POOL_SIZE="${SPICE_DATABASE_POOL_SIZE:-48}" SPICE_DATA_DIR="$WORK/data" \
    "$SPICE_BIN" serve >"$WORK/spice.out" 2>"$WORK/spice.err" &
  SPICE_PID=$!
  for _ in $(seq 1 300); do grep -q "listening on" "$WORK/spice.err" 2>/dev/null && break; sleep 0.1; done
  local port
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$WORK/spice.err" | grep -o '[0-9]*$') || { cat "$WORK/spice.err"; exit 1; }
  BASE="http://127.0.0.1:$port/api/v1"
  PGPORT=$(cat "$WORK/data/postgres/port")
  echo "spice on $port (embedded PostgreSQL on $PGPORT, fsync on)"
}

# Database `bench` with class Item {item_id (key), name}, both waited for.
bench_create_schema() {
  curl -fsS -X POST "$BASE/database/create?wait=true" -d '{"name":"bench"}' >/dev/null
  curl -fsS -X POST "$BASE/database/bench/ontology?wait=true" -d '{"id":"Item","label":"Item","properties":[
    {"name":"item_id","type":"string","label":"ID","primary_key":true},{"name":"name","type":"string","label":"Name"}]}' >/dev/null
}

bench_psql() { psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt "$@"; }

# A pgbench database in the same cluster (scale 10).
bench_prepare_pgbench() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- /usr/bin/createdb -h 127.0.0.1 -p "$PGPORT" -U postgres pgbench 2>/dev/null; fi \
    || bench_psql -c "CREATE DATABASE pgbench" 2>/dev/null || true
  "$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -i -s 10 -q pgbench >/dev/null 2>&1
}

# wrk prints latencies as 812.00us, 3.20ms or 1.05s: to milliseconds.
to_ms() { echo "$1" | awk '/us$/ { printf "%.2f", $0 / 1000; next } /ms$/ { printf "%.2f", $0 + 0; next } /s$/ { printf "%.2f", $0 * 1000 }'; }
