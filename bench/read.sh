#!/usr/bin/env bash
# The read path on a generated graph of 100,000 nodes and 300,000 edges (bench/read/load.sql): latency of a
# 3-hop graph query through spice (POST /api/v1/graph-query, documents included) and of the same traversal
# as a GraphQL query (POST /api/v1/graphql), beside the traversal written as one hand-tuned SQL statement
# (bench/read/hop3.sql) run by pgbench on the same PostgreSQL.
# One client, sequential requests; p50/p99 of each and the ratios. The three are measured in turns
# (BENCH_ROUNDS rounds of BENCH_SECONDS each), so a busy moment of the machine hits all of them, and each
# figure is the median over the rounds.
#
#   bench/read.sh          (BENCH_ROUNDS=3, BENCH_SECONDS=5 by default; SPICE_BIN to skip the build)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SECS="${BENCH_SECONDS:-5}"
ROUNDS="${BENCH_ROUNDS:-3}"
WORK=$(mktemp -d /tmp/spice-read-bench.XXXXXX)
chmod 755 "$WORK"
source "$ROOT/bench/lib.sh"
[ -n "${BENCH_KEEP:-}" ] || trap bench_cleanup EXIT INT TERM
bench_require wrk curl psql python3 "$PGBIN/pgbench"
bench_build
bench_start_spice

echo "creating database bench and its classes..."
curl -fsS -X POST "$BASE/database/create?wait=true" -d '{"name":"bench"}' >/dev/null
class() { curl -fsS -X POST "$BASE/database/bench/ontology?wait=true" -d "$1" >/dev/null; }
class '{"id":"Supplier","label":"Supplier","properties":[{"name":"supplier_id","type":"string","label":"ID","primary_key":true},
  {"name":"name","type":"string","label":"Name","required":true}]}'
class '{"id":"Product","label":"Product","properties":[{"name":"product_id","type":"string","label":"ID","primary_key":true},
  {"name":"name","type":"string","label":"Name","required":true},{"name":"price","type":"decimal","label":"Price"}],
  "relationships":[{"predicate":"supplied_by","target":"Supplier","label":"supplied by","cardinality":"n:1"}]}'
class '{"id":"Order","label":"Order","properties":[{"name":"order_id","type":"string","label":"ID","primary_key":true},
  {"name":"total","type":"decimal","label":"Total"}],
  "relationships":[{"predicate":"contains","target":"Product","label":"contains","cardinality":"n:m"}]}'
class '{"id":"Customer","label":"Customer","properties":[{"name":"customer_id","type":"string","label":"ID","primary_key":true},
  {"name":"name","type":"string","label":"Name","required":true},{"name":"region","type":"string","label":"Region"}],
  "relationships":[{"predicate":"placed","target":"Order","label":"placed","cardinality":"1:n"},
                   {"predicate":"knows","target":"Customer","label":"knows","cardinality":"n:m"}]}'

echo "loading the graph..."
start=$(date +%s.%N)
bench_psql -d postgres -f "$ROOT/bench/read/load.sql" | tail -n 1
printf 'loaded in %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"

# The same work on both sides: check the answers agree before timing them.
answer=$(curl -fsS -X POST "$BASE/graph-query/bench" -H 'content-type: application/json' --data-binary @"$ROOT/bench/read/graph-query.json")
read -r spice_nodes spice_edges spice_full <<<"$(echo "$answer" | python3 -c '
import json, sys
a = json.load(sys.stdin)
print(len(a["nodes"]), len(a["edges"]), sum(n["data_status"] == "FULL" for n in a["nodes"]))')"
sql_nodes=$(bench_psql -d postgres -f "$ROOT/bench/read/hop3.sql" | grep -c '^node|')
sql_edges=$(bench_psql -d postgres -f "$ROOT/bench/read/hop3.sql" | grep -c '^edge|')
gql_edges=$(curl -fsS -X POST "$BASE/graphql/bench" -H 'content-type: application/json' --data-binary @"$ROOT/bench/read/graphql.json" \
  | python3 -c '
import json, sys
answer = json.load(sys.stdin)
assert not answer.get("errors"), answer.get("errors")
walked = set()
def walk(nodes):
    # Distinct (parent, field, child) steps: the tree repeats a node under every parent that reaches it.
    for node in nodes:
        for key, value in node.items():
            children = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
            for child in children:
                walked.add((node["_id"], key, child["_id"]))
            walk(children)
walk(answer["data"]["Customer"])
print(len(walked))')
echo "graph query: $spice_nodes nodes ($spice_full FULL), $spice_edges edges; GraphQL: $gql_edges edges; hand SQL: $sql_nodes nodes, $sql_edges edges"
[ "$spice_nodes" = "$sql_nodes" ] && [ "$spice_edges" = "$sql_edges" ] && [ "$gql_edges" = "$sql_edges" ] \
  || { echo "the answers differ: not comparable" >&2; exit 1; }

http_latency() {  # path body-file → "rps p50 p99"
  local out
  out=$(wrk -t1 -c1 -d"${SECS}s" --latency -s "$ROOT/bench/read/post.lua" "$BASE/$1" -- "$2")
  echo "$out" | grep -q "Non-2xx" && { echo "non-2xx answers from $1" >&2; exit 1; }
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(to_ms "$(echo "$out" | awk '$1=="50%" {print $2}')") \
$(to_ms "$(echo "$out" | awk '$1=="99%" {print $2}')")"
}

sql_latency() {  # → "tps p50 p99" from pgbench's per-transaction log
  (cd "$WORK" && "$PGBIN/pgbench" -h 127.0.0.1 -p "$PGPORT" -U postgres -n -c 1 -T "$SECS" -f "$ROOT/bench/read/hop3.sql" \
    -l --log-prefix=hop3 postgres >/dev/null 2>&1)
  cat "$WORK"/hop3.* | python3 -c '
import sys
lat = sorted(int(line.split()[2]) / 1000 for line in sys.stdin)
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("%.0f %.2f %.2f" % (len(lat) / '"$SECS"', pick(0.5), pick(0.99)))'
}

echo "warming up..."
wrk -t1 -c1 -d2s -s "$ROOT/bench/read/post.lua" "$BASE/graph-query/bench" -- "$ROOT/bench/read/graph-query.json" >/dev/null
wrk -t1 -c1 -d2s -s "$ROOT/bench/read/post.lua" "$BASE/graphql/bench" -- "$ROOT/bench/read/graphql.json" >/dev/null

rounds=()
for round in $(seq 1 "$ROUNDS"); do
  read -r grps gp50 gp99 <<<"$(http_latency graph-query/bench "$ROOT/bench/read/graph-query.json")"
  read -r qrps qp50 qp99 <<<"$(http_latency graphql/bench "$ROOT/bench/read/graphql.json")"
  rm -f "$WORK"/hop3.*
  read -r stps sp50 sp99 <<<"$(sql_latency)"
  echo "round $round: graph-query $gp50 / $gp99 ms, GraphQL $qp50 / $qp99 ms, SQL $sp50 / $sp99 ms"
  rounds+=("$grps $gp50 $gp99 $qrps $qp50 $qp99 $stps $sp50 $sp99")
done
# Per column, the median over the rounds.
read -r grps gp50 gp99 qrps qp50 qp99 stps sp50 sp99 <<<"$(printf '%s\n' "${rounds[@]}" | python3 -c '
import sys, statistics
rows = [list(map(float, line.split())) for line in sys.stdin if line.strip()]
print(" ".join("%.2f" % statistics.median(column) for column in zip(*rows)))')"

printf '\n%-34s %10s %10s %10s\n' "3 hops, 1 client, median of $ROUNDS" "req/s" "p50 ms" "p99 ms"
printf '%-34s %10s %10s %10s\n' "spice graph-query (HTTP/1.1)" "$grps" "$gp50" "$gp99"
printf '%-34s %10s %10s %10s\n' "spice GraphQL (HTTP/1.1)" "$qrps" "$qp50" "$qp99"
printf '%-34s %10s %10s %10s\n' "hand-tuned SQL (pgbench)" "$stps" "$sp50" "$sp99"
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
echo
echo "graph-query / SQL: p50 $(ratio "$gp50" "$sp50")x, p99 $(ratio "$gp99" "$sp99")x (target: within 2x)"
echo "GraphQL / SQL:     p50 $(ratio "$qp50" "$sp50")x, p99 $(ratio "$qp99" "$sp99")x (target: within 2x)"
echo "| $spice_nodes | $spice_edges | $gp50 / $gp99 | $qp50 / $qp99 | $sp50 / $sp99 | $(ratio "$gp50" "$sp50")x / $(ratio "$gp99" "$sp99")x | $(ratio "$qp50" "$sp50")x / $(ratio "$qp99" "$sp99")x |"
