#!/usr/bin/env bash
# Runs the whole test suite (unit, store, gRPC, WireGuard end-to-end, the demo). Installs
# wireguard-tools, wireguard-go, iproute2, and the demo's jq, curl and pgrep (procps) first when
# missing; end-to-end tests need root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
ensure_packages jq curl pgrep:procps
exec ./mvnw -B -ntp verify "$@"
