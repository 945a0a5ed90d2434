#!/usr/bin/env bash
# Builds the server and runs it on its embedded default: standalone store in ./var/siderolink,
# all components. Extra arguments go to the server, e.g. --siderolink.wireguard.endpoint=203.0.113.10
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/deps.sh
ensure_packages
./mvnw -B -ntp -q -DskipTests package
exec java -jar target/siderolink-server.jar "$@"
