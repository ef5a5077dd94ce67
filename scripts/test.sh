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
