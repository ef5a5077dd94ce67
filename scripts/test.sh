#!/usr/bin/env bash
# `make test`: installs what the tests need, starts the services they use, runs `swift test`, and stops
# those services whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

services_started=()
stop_services() {
  for stop in "${services_started[@]}"; do eval "$stop" || true; done
}
trap stop_services EXIT

# PostgreSQL for the tests: one throwaway cluster; tests create their own databases in it.
pg_dir=$(mktemp -d /tmp/spice-test-pg.XXXXXX)
services_started+=("scripts/services/postgres.sh stop '$pg_dir'; rm -rf '$pg_dir'")
SPICE_TEST_DATABASE_URL=$(scripts/services/postgres.sh start "$pg_dir")
export SPICE_TEST_DATABASE_URL SPICE_TEST_POSTGRES_DIR="$pg_dir"
echo "test services: PostgreSQL at $SPICE_TEST_DATABASE_URL"

swift build --build-tests
log=$(mktemp)
services_started+=("rm -f '$log'")
# XCTest only (no Swift Testing suites), so its summary is the run's closing verdict.
set +e
swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1)
total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/')
if [ -n "$summary" ]; then echo "tests: $((total - failed)) passed, $failed failed"; fi
exit "$status"
