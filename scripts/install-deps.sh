#!/usr/bin/env bash
# Installs what building, running and testing spice needs on Debian 12, as root or through sudo.
# Idempotent and quiet when everything is already there.
set -euo pipefail

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "install-deps: need root (or sudo) to install: $*" >&2; exit 1; fi
}

command -v swift >/dev/null || { echo "install-deps: Swift 6 toolchain not found on PATH (see swift.org/install)" >&2; exit 1; }

# Build: C libraries and pkg-config. Tests: curl, nghttp2 clients, openssl. Bench: nghttpd, nginx, wrk.
packages=(libnghttp2-dev libpq-dev libcurl4-openssl-dev libssl-dev librdkafka-dev pkgconf
          nghttp2-client nghttp2-server curl openssl wrk nginx-light python3 python3-pip)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# postgresql-15 is named only when absent: naming it on a machine that has it upgrades the server.
dpkg-query -W -f='${Status}' postgresql-15 2>/dev/null | grep -q "install ok installed" || missing+=(postgresql-15)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python tools of the tests: h2 (the raw-frame HTTP/2 attacker), openapi-spec-validator (the contract),
# graphql-core (reads the GraphQL schema by introspection, as standard tools do).
pip_install() {
  python3 -m pip install -q "$@" 2>/dev/null \
    || python3 -m pip install -q --user "$@" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "$@"
}
python3 -c 'import h2, hpack' 2>/dev/null || { echo "install-deps: installing Python h2"; pip_install h2; }
python3 -c 'import openapi_spec_validator, yaml' 2>/dev/null \
  || { echo "install-deps: installing openapi-spec-validator"; pip_install openapi-spec-validator pyyaml; }
python3 -c 'import graphql' 2>/dev/null || { echo "install-deps: installing graphql-core"; pip_install graphql-core; }
