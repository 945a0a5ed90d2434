#!/usr/bin/env bash
# Benchmark of the WireGuard peer reconciler: reconciles 1,000 and 10,000 bindings into a fresh
# wireguard-go interface (slbench<hex>) and prints, per pass, the time, the processes started and
# ratios against baselines measured in the same run. Needs root; creates no traffic.
# Options go to the benchmark: --sizes=1000,10000 --rounds=3 --idle=7 --userspace=always|auto
# See docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "bench-wireguard: needs root (it creates a WireGuard interface); run it with sudo" >&2
    exit 1
fi
missing=()
for tool in wg wireguard-go ip java; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench-wireguard: not installed: ${missing[*]} (wg: wireguard-tools, ip: iproute2; this script installs nothing)" >&2
    exit 1
fi

remove_leftovers() {
    local link
    for link in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep '^slbench' || true); do
        echo "bench-wireguard: removing leftover interface $link" >&2
        ip link del dev "$link" 2>/dev/null || true
    done
}
trap remove_leftovers EXIT

bench_class=target/test-classes/dev/siderolink/server/wireguard/ReconcileBench.class
if [ ! -f "$bench_class" ] || [ -n "$(find src pom.xml -newer "$bench_class" -type f -print -quit)" ]; then
    echo "bench-wireguard: compiling (mvnw test-compile) ..." >&2
    ./mvnw -B -q -DskipTests test-compile
fi
classpath_file=target/bench-wireguard.classpath
if [ ! -s "$classpath_file" ] || [ pom.xml -nt "$classpath_file" ]; then
    ./mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$classpath_file"
fi

status=0
java -cp "target/test-classes:target/classes:$(cat "$classpath_file")" \
    dev.siderolink.server.wireguard.ReconcileBench "$@" || status=$?
exit "$status"
