#!/usr/bin/env bash
# One-command gateway benchmark: spice vs. nghttpd (h2c) and nginx (HTTP/1.1).
#
#   bench/gateway.sh
#
# Env knobs:
#   BENCH_SECONDS  measured duration of each run in seconds (default 10)
#   BENCH_WARMUP   warm-up seconds before each measured run (default 2)
#   SPICE_BIN      use this spice binary instead of building one
#
# Everything listens on 127.0.0.1 only. All processes started here (servers, the
# build, every load generator run) are started in their own process group and the
# group is killed on exit, whatever the reason (error, Ctrl-C, SIGTERM).
# Results: a table on stdout and bench/out/gateway-<timestamp>.md.
# Exit status: 0 ok; 1 setup failure; 2 bad usage; 3 some run had errors (the
# numbers are then not trustworthy, the report says so loudly).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${BENCH_SECONDS:-10}"
WARMUP="${BENCH_WARMUP:-2}"
CONNS=50

[[ "$SECS" =~ ^[0-9]+$ && "$SECS" -gt 0 ]] || { echo "BENCH_SECONDS must be a positive integer" >&2; exit 2; }
[[ "$WARMUP" =~ ^[0-9]+$ ]] || { echo "BENCH_WARMUP must be a non-negative integer" >&2; exit 2; }

for tool in h2load wrk nghttpd nginx curl python3; do
    command -v "$tool" >/dev/null 2>&1 || [[ "$tool" == nginx && -x /usr/sbin/nginx ]] \
        || { echo "missing tool: $tool" >&2; exit 2; }
done
NGINX="$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/spice-bench.XXXXXX")"
PIDS=()      # process-group leaders to kill on exit

cleanup() {
    local rc=$? pid i alive
    set +e
    trap - EXIT INT TERM HUP
    for pid in "${PIDS[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        for ((i = 0; i < 30; i++)); do
            alive=0
            kill -0 "$pid" 2>/dev/null && alive=1
            kill -0 -- "-$pid" 2>/dev/null && alive=1
            ((alive)) || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# start NAME LOGFILE CMD... : run CMD in the background in its own process group
# (pgid == pid; a background child of a non-interactive shell is no group leader,
# so setsid does not fork and $! is the command itself).
start() {
    local name="$1" log="$2"
    shift 2
    setsid "$@" >"$log" 2>&1 </dev/null &
    PIDS+=("$!")
    [[ "$name" == - ]] || echo "started $name (pid $!)" >&2
}

# run_fg LOGFILE CMD... : like start, but wait for it (the wait is interruptible,
# so Ctrl-C/SIGTERM are handled at once and the trap kills the group).
run_fg() {
    local log="$1" rc=0
    shift
    start - "$log" "$@"
    wait "${PIDS[-1]}" || rc=$?
    unset 'PIDS[-1]'
    return "$rc"
}

die_with_log() {
    echo "ERROR: $1" >&2
    if [[ -n "${2:-}" && -f "$2" ]]; then
        echo "---- last lines of $2 ----" >&2
        tail -n 30 "$2" >&2
    fi
    exit 1
}

# wait_http NAME URL PID LOG [CURL_ARGS...]: poll until URL answers 2xx (30 s max).
wait_http() {
    local name="$1" url="$2" pid="$3" log="$4" i
    shift 4
    for ((i = 0; i < 300; i++)); do
        if curl -fsS -o /dev/null --max-time 1 "$@" "$url" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die_with_log "$name exited before becoming ready" "$log"
        sleep 0.1
    done
    die_with_log "$name not ready after 30 s ($url)" "$log"
}

# ---------------------------------------------------------------- 1. build
if [[ -n "${SPICE_BIN:-}" ]]; then
    SPICE="$SPICE_BIN"
    echo "using SPICE_BIN=$SPICE (no build)" >&2
else
    echo "building spice (release)..." >&2
    if ! run_fg "$TMP/build.log" bash -c 'cd "$1" && swift build -c release --product spice' _ "$ROOT"; then
        die_with_log "swift build failed" "$TMP/build.log"
    fi
    tail -n 3 "$TMP/build.log" >&2
    SPICE="$(cd "$ROOT" && swift build -c release --show-bin-path)/spice"
fi
[[ -x "$SPICE" ]] || { echo "spice binary not found or not executable: $SPICE" >&2; exit 1; }

# ---------------------------------------------------------------- 2. ports
read -r P_SPICE P_NGHTTPD P_NGINX < <(python3 -c '
import socket
socks = []
for _ in range(3):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
')

# ---------------------------------------------------------------- 3. servers
DOCROOT="$TMP/docroot"
mkdir -p "$DOCROOT" "$TMP/nginx/logs"
printf '0123456789abcdef' >"$DOCROOT/x16"   # 16 bytes
chmod 755 "$TMP" "$DOCROOT"
chmod 644 "$DOCROOT/x16"

SPICE_LOG="$TMP/spice.log"
# spice needs its PostgreSQL (embedded, in the temp dir: readable by the postgres user when we are root).
chmod 755 "$TMP"
start spice "$SPICE_LOG" env SPICE_HOST=127.0.0.1 SPICE_PORT="$P_SPICE" SPICE_ACCESS_LOG=off SPICE_DATA_DIR="$TMP/spice-data" "$SPICE" serve
SPICE_PID="${PIDS[-1]}"

NGHTTPD_LOG="$TMP/nghttpd.log"
start nghttpd "$NGHTTPD_LOG" nghttpd --no-tls -d "$DOCROOT" "$P_NGHTTPD"
NGHTTPD_PID="${PIDS[-1]}"

NGINX_USER=""
[[ "$(id -u)" == 0 ]] && NGINX_USER="user root;"
cat >"$TMP/nginx/nginx.conf" <<EOF
$NGINX_USER
worker_processes 1;
daemon off;
master_process on;
error_log $TMP/nginx/logs/error.log warn;
pid $TMP/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$P_NGINX;
        root $DOCROOT;
    }
}
EOF
NGINX_LOG="$TMP/nginx/logs/stdout.log"
start nginx "$NGINX_LOG" "$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/logs/error.log" -c "$TMP/nginx/nginx.conf"
NGINX_PID="${PIDS[-1]}"

wait_http spice "http://127.0.0.1:$P_SPICE/healthz" "$SPICE_PID" "$SPICE_LOG"
wait_http nghttpd "http://127.0.0.1:$P_NGHTTPD/x16" "$NGHTTPD_PID" "$NGHTTPD_LOG" --http2-prior-knowledge
wait_http nginx "http://127.0.0.1:$P_NGINX/x16" "$NGINX_PID" "$TMP/nginx/logs/error.log"
curl -fsS --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$P_SPICE/healthz" \
    || die_with_log "spice does not answer h2c prior-knowledge on /healthz" "$SPICE_LOG"

SPICE_URL="http://127.0.0.1:$P_SPICE/healthz"
NGHTTPD_URL="http://127.0.0.1:$P_NGHTTPD/x16"
NGINX_URL="http://127.0.0.1:$P_NGINX/x16"

# ---------------------------------------------------------------- 4. measure
# Each runner sets RESULT="RPS ERRORS DETAIL" (no spaces inside fields); ERRORS is
# a count, or "parse-failed" / "no-2xx" (nothing succeeded). Raw output goes to $TMP.
RESULT=""

# h2load_run URL ARGS... : measured run with built-in warm-up.
h2load_run() {
    local url="$1" out
    shift
    out="$(mktemp "$TMP/h2load.XXXXXX")"
    local warm=()
    ((WARMUP > 0)) && warm=(--warm-up-time="$WARMUP")
    run_fg "$out" h2load "$@" -c"$CONNS" -t1 -D "$SECS" "${warm[@]}" "$url" || true
    RESULT="$(awk '
        /^finished in/ { for (i = 1; i <= NF; i++) if ($(i) ~ /^req\/s/) { rps = $(i-1) } }
        /^requests:/ {
            for (i = 1; i <= NF; i++) {
                v = $(i); sub(/,$/, "", v)
                if (v == "succeeded") ok = $(i-1)
                if (v == "failed") failed = $(i-1)
                if (v == "errored") errored = $(i-1)
                if (v == "timeout") timeout = $(i-1)
            }
        }
        /^status codes:/ {
            for (i = 1; i <= NF; i++) { v = $(i); sub(/,$/, "", v); if (v ~ /^[345]xx$/) non2xx += $(i-1) }
        }
        END {
            if (rps == "" || ok == "") { print "NaN parse-failed PARSE_FAILED"; exit }
            err = failed + errored + timeout
            if (ok + 0 == 0) { printf "%s no-2xx NO_SUCCESSFUL_REQUESTS,failed=%d,errored=%d,timeout=%d\n", rps, failed, errored, timeout; exit }
            printf "%s %d failed=%d,errored=%d,timeout=%d,non2xx=%d,ok=%d\n", rps, err, failed, errored, timeout, non2xx, ok
        }' "$out")"
}

# wrk_run URL : warm-up run (discarded) then measured run.
wrk_run() {
    local url="$1" out
    out="$(mktemp "$TMP/wrk.XXXXXX")"
    if ((WARMUP > 0)); then
        run_fg /dev/null wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$url" || true
    fi
    run_fg "$out" wrk -t1 -c"$CONNS" -d"${SECS}s" "$url" || true
    RESULT="$(awk '
        /^Requests\/sec:/ { rps = $2 }
        /requests in/ { total = $1 }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ {
            for (i = 1; i <= NF; i++) { v = $(i); sub(/,$/, "", v); if (v ~ /^(connect|read|write|timeout)$/) { x = $(i+1); sub(/,$/, "", x); sock += x } }
        }
        END {
            if (rps == "") { print "NaN parse-failed PARSE_FAILED"; exit }
            err = non2xx + sock
            if (total + 0 == 0 || non2xx + 0 >= total + 0) { printf "%s no-2xx NO_SUCCESSFUL_REQUESTS,non2xx=%d,socket_errors=%d\n", rps, non2xx, sock; exit }
            printf "%s %d non2xx=%d,socket_errors=%d,total=%d\n", rps, err, non2xx, sock, total
        }' "$out")"
}

ROWS=()      # "test|spice_rps|base_rps|ratio|errors"
WARNINGS=()

# record TEST BASELINE_NAME SPICE_RESULT BASE_RESULT
record() {
    local test="$1" base="$2" s_rps s_err s_det b_rps b_err b_det ratio errs
    read -r s_rps s_err s_det <<<"$3"
    read -r b_rps b_err b_det <<<"$4"
    ratio="$(awk -v a="$s_rps" -v b="$b_rps" 'BEGIN { if (a == "NaN" || b == "NaN" || b + 0 == 0) print "n/a"; else printf "%.1f%%", 100 * a / b }')"
    errs="spice: $s_err, $base: $b_err"
    if [[ "$s_err" != 0 ]]; then
        WARNINGS+=("$test: spice run had errors/parse failure ($s_det)")
        errs="!! $errs"
    fi
    if [[ "$b_err" != 0 ]]; then
        WARNINGS+=("$test: $base run had errors/parse failure ($b_det)")
        [[ "$errs" == "!! "* ]] || errs="!! $errs"
    fi
    ROWS+=("$test|$s_rps|$b_rps ($base)|$ratio|$errs")
    printf '  %-36s spice %12s  %-8s %12s  %7s  errors: %s\n' "$test" "$s_rps" "$base" "$b_rps" "$ratio" "$errs" >&2
}

echo "measuring: ${SECS}s per run (+${WARMUP}s warm-up), ${CONNS} connections" >&2

h2load_run "$SPICE_URL" -m10;   S="$RESULT"
h2load_run "$NGHTTPD_URL" -m10; B="$RESULT"
record "h2c -c$CONNS -m10 (h2load)" nghttpd "$S" "$B"

h2load_run "$SPICE_URL" -m1;    S="$RESULT"
h2load_run "$NGHTTPD_URL" -m1;  B="$RESULT"
record "h2c -c$CONNS -m1 (h2load)" nghttpd "$S" "$B"

wrk_run "$SPICE_URL";           S="$RESULT"
wrk_run "$NGINX_URL";           B="$RESULT"
record "HTTP/1.1 -c$CONNS (wrk)" nginx "$S" "$B"

h2load_run "$SPICE_URL" --h1 -m1; S="$RESULT"
h2load_run "$NGINX_URL" --h1 -m1; B="$RESULT"
record "HTTP/1.1 -c$CONNS -m1 (h2load --h1)" nginx "$S" "$B"

# Make sure the servers survived the runs.
for pair in "spice:$SPICE_PID:$SPICE_LOG" "nghttpd:$NGHTTPD_PID:$NGHTTPD_LOG" "nginx:$NGINX_PID:$TMP/nginx/logs/error.log"; do
    IFS=: read -r n p l <<<"$pair"
    if ! kill -0 "$p" 2>/dev/null; then
        WARNINGS+=("$n died during the benchmark")
        echo "---- last lines of $l ----" >&2
        tail -n 20 "$l" >&2 || true
    fi
done

# ---------------------------------------------------------------- 5. report
STAMP="$(date +%Y%m%d-%H%M%S)"
mkdir -p "$ROOT/bench/out"
MD="$ROOT/bench/out/gateway-$STAMP.md"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "none")"
DIRTY=""
[[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -n 1)" ]] && DIRTY=" (dirty)"

{
    echo "# Gateway benchmark $STAMP"
    echo
    echo "- commit: \`$COMMIT\`$DIRTY"
    echo "- spice binary: \`$SPICE\`"
    echo "- host: $(uname -srm), $(nproc) cores"
    echo "- runs: ${SECS}s measured + ${WARMUP}s warm-up each, ${CONNS} connections, 1 client thread"
    echo "- spice: \`GET /healthz\`; baselines: \`GET /x16\` (16-byte static file) on $(nghttpd --version 2>&1 | head -n 1) (h2c) and $("$NGINX" -v 2>&1 | sed 's/^nginx version: //') (HTTP/1.1, 1 worker)"
    echo "- tools: $(h2load --version 2>&1 | head -n 1), $(wrk --version 2>&1 | head -n 1 | awk '{print $1, $2}')"
    echo
    echo "| test | spice req/s | baseline req/s | spice/baseline | errors |"
    echo "|---|---:|---:|---:|---|"
    for row in "${ROWS[@]}"; do
        IFS='|' read -r a b c d e <<<"$row"
        echo "| $a | $b | $c | $d | $e |"
    done
    if ((${#WARNINGS[@]})); then
        echo
        echo "## WARNINGS"
        echo
        for w in "${WARNINGS[@]}"; do echo "- **$w**"; done
    fi
} >"$MD"

echo
printf '%-36s %14s %24s %10s  %s\n' "test" "spice req/s" "baseline req/s" "ratio" "errors"
printf '%-36s %14s %24s %10s  %s\n' "----" "-----------" "--------------" "-----" "------"
for row in "${ROWS[@]}"; do
    IFS='|' read -r a b c d e <<<"$row"
    printf '%-36s %14s %24s %10s  %s\n' "$a" "$b" "$c" "$d" "$e"
done
if ((${#WARNINGS[@]})); then
    echo
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!!! WARNING: benchmark runs had errors -- numbers are NOT trustworthy !!!"
    for w in "${WARNINGS[@]}"; do echo "!!!   $w"; done
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
fi
echo
echo "report: $MD"
if ((${#WARNINGS[@]})); then
    exit 3
fi
