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

# The gateway's tests need no external service: they start the real `spice` binary themselves.
swift build --build-tests
swift test --skip-build "$@"
