#!/usr/bin/env bash
# Runs the whole test suite (unit, store, gRPC, WireGuard end-to-end). Installs wireguard-tools,
# wireguard-go and iproute2 first when missing; end-to-end tests need root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
ensure_packages
exec ./mvnw -B -ntp verify "$@"
