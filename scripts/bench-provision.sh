#!/usr/bin/env bash
# Provision benchmark: starts the server (standalone store, join token, loopback only) on free
# ports with a fresh state directory, drives sidero.link.ProvisionService/Provision with the
# ProvisionLoad generator (src/test/java/dev/siderolink/server/bench/ProvisionLoad.java) and
# prints calls/s, p50/p99/max latency and CPU per call. Two references are measured in the same
# run: "baseline" (refused calls: the gRPC transport ceiling) and "disk" (DiskReplaceLoad: the
# durable file replace a provision needs, without the server: the storage ceiling); each
# provision scenario's calls/s is printed as a ratio to both. See docs/benchmarks.md.
#
# Environment (all optional):
#   CONCURRENCY        calls in flight                                    (default 64)
#   DURATION_SECONDS   measured seconds per scenario                      (default 15)
#   WARMUP_SECONDS     warm-up seconds per scenario, not measured         (default 20;
#                      the server's JIT is still busy for ~20 s after start)
#   CHANNELS           HTTP/2 connections shared round-robin              (default 4)
#   UUIDS              size of the reprovision fleet                      (default 1000)
#   MAX_CALLS          upper bound of measured calls per scenario         (default 2000000)
#   SCENARIOS          space-separated subset of baseline reprovision first-provision disk
#                      (the default); they always run in that order, baseline included.
#                      Why that order: first-provision leaves tens of thousands of binding
#                      files behind, and the store's once-a-second rescan costs CPU per file;
#                      disk churns inodes, and on ext4 without a journal freed inodes make
#                      file creation dearer for the next minute or so (ext4 skips inodes
#                      deleted in the last 60 s), so disk runs last, with the server stopped
#   DISK_THREADS       writer threads of the disk scenario (default 10 x cores, the number
#                      of IO threads the standalone store writes on)
#   DISK_PROTOCOL      recycle (the store's own replace, default) or fresh (a new temp file per write)
#   BUILD              auto (rebuild when sources are newer), always, never (default auto)
#   STATE_PARENT       where the temporary state directory is created     (default ${TMPDIR:-/tmp})
#                      fsync cost depends on this file system; tmpfs would make it free
#   STARTUP_TIMEOUT    seconds to wait for /actuator/health               (default 180)
#   SERVER_JAVA_OPTS / CLIENT_JAVA_OPTS   JVM flags (defaults below, sized for 2 cores)
#   KEEP_SERVER_LOG    path to copy the server log to before cleanup      (default: none)
set -euo pipefail

cd "$(dirname "$0")/.."

CONCURRENCY=${CONCURRENCY:-64}
DURATION_SECONDS=${DURATION_SECONDS:-15}
WARMUP_SECONDS=${WARMUP_SECONDS:-20}
CHANNELS=${CHANNELS:-4}
UUIDS=${UUIDS:-1000}
MAX_CALLS=${MAX_CALLS:-2000000}
SCENARIOS=${SCENARIOS:-"baseline reprovision first-provision disk"}
DISK_THREADS=${DISK_THREADS:-$(( 10 * $(nproc) ))}
DISK_PROTOCOL=${DISK_PROTOCOL:-recycle}
BUILD=${BUILD:-auto}
STATE_PARENT=${STATE_PARENT:-${TMPDIR:-/tmp}}
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-180}
KEEP_SERVER_LOG=${KEEP_SERVER_LOG:-}
# Fixed, pre-touched heaps (no resizing mid-run) and the parallel collector with few GC threads:
# the two JVMs share 2 cores.
SERVER_JAVA_OPTS=${SERVER_JAVA_OPTS:-"-Xms512m -Xmx512m -XX:+UseParallelGC -XX:ParallelGCThreads=2 -XX:+AlwaysPreTouch"}
CLIENT_JAVA_OPTS=${CLIENT_JAVA_OPTS:-"-Xms256m -Xmx256m -XX:+UseParallelGC -XX:ParallelGCThreads=1 -XX:+AlwaysPreTouch"}

JAR=target/siderolink-server.jar
LOAD_CLASS=target/test-classes/dev/siderolink/server/bench/ProvisionLoad.class
CP_FILE=target/bench-classpath.txt

. scripts/lib/bench.sh

for n in CONCURRENCY DURATION_SECONDS WARMUP_SECONDS CHANNELS UUIDS MAX_CALLS STARTUP_TIMEOUT DISK_THREADS; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, got '${!n}'"
done
command -v java >/dev/null || die "java not found"
command -v curl >/dev/null || die "curl not found"

# ---- build ----
bench_build

# ---- server ----
WORK=$(mktemp -d "$STATE_PARENT/siderolink-bench.XXXXXX")
SERVER_PID=
WG_IF=
LOAD_PID=
stop_server() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=
}
cleanup() {
  local rc=$?
  if [[ -n $LOAD_PID ]] && kill -0 "$LOAD_PID" 2>/dev/null; then
    kill "$LOAD_PID" 2>/dev/null || true
    wait "$LOAD_PID" 2>/dev/null || true
  fi
  stop_server
  # the server removes its WireGuard interface when it stops; this catches a server that was killed
  ip link del dev "$WG_IF" 2>/dev/null || true
  if [[ -n $KEEP_SERVER_LOG && -f $WORK/server.log ]]; then
    cp "$WORK/server.log" "$KEEP_SERVER_LOG" || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A loopback port nothing listens on (the server still fails cleanly if it is taken meanwhile).
free_port() {
  local p
  for _ in $(seq 1 100); do
    p=$(( 20000 + RANDOM % 40000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  die "no free loopback port found"
}
API_PORT=$(free_port)
HTTP_PORT=$(free_port)
while [[ $HTTP_PORT == "$API_PORT" ]]; do HTTP_PORT=$(free_port); done
TOKEN=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
# The link component brings up a real WireGuard interface (root, wireguard-go): a name and port of
# its own, so the benchmark never touches an interface of a server running on this machine.
WG_IF=slbp$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
WG_PORT=$(free_port)

fs_type=$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK" 2>/dev/null || echo unknown)
[[ $fs_type == tmpfs ]] && log "warning: $WORK is on tmpfs: fsync is free there, figures will not reflect a disk"

log "starting the server: gRPC 127.0.0.1:$API_PORT, HTTP 127.0.0.1:$HTTP_PORT, state $WORK/state ($fs_type)"
# Only the link component; loopback only; the per-refusal WARN line of ProvisionGrpcService is
# turned off so the baseline measures transport and token check, not log output.
# shellcheck disable=SC2086
java $SERVER_JAVA_OPTS -jar "$JAR" \
  --siderolink.components=link \
  --siderolink.standalone.dir="$WORK/state" \
  --siderolink.api.port="$API_PORT" \
  --grpc.server.address=127.0.0.1 \
  --server.port="$HTTP_PORT" \
  --server.address=127.0.0.1 \
  --siderolink.wireguard.endpoint=127.0.0.1 \
  --siderolink.wireguard.interface="$WG_IF" \
  --siderolink.wireguard.port="$WG_PORT" \
  --siderolink.provision.join-token="$TOKEN" \
  --logging.level.dev.siderolink.server.provision.ProvisionGrpcService=error \
  >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!

started=0
for _ in $(seq 1 $(( STARTUP_TIMEOUT * 2 ))); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    break
  fi
  if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$HTTP_PORT/actuator/health"; then
    started=1; break
  fi
  sleep 0.5
done
if (( !started )); then
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    log "the server did not become healthy within ${STARTUP_TIMEOUT}s; last lines of its output:"
  else
    wait "$SERVER_PID" && code=0 || code=$?
    log "the server exited (status $code) before becoming healthy; last lines of its output:"
  fi
  tail -n 40 "$WORK/server.out" "$WORK/server.log" >&2 || true
  exit 1
fi
log "server up (pid $SERVER_PID)"

# ---- scenarios ----
for s in $SCENARIOS; do
  case $s in
    baseline|disk|first-provision|reprovision) ;;
    *) die "unknown scenario $s" ;;
  esac
done
ordered="baseline"
for s in reprovision first-provision disk; do
  [[ " $SCENARIOS " == *" $s "* ]] && ordered+=" $s"
done
CLK_TCK=$(getconf CLK_TCK)

declare -A RESULT LOAD_AFTER
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
failed=0
for s in $ordered; do
  # each generator bounds itself; timeout is the outer fence
  budget=$(( WARMUP_SECONDS + DURATION_SECONDS + 240 ))
  rc=0
  if [[ $s == disk ]]; then
    stop_server # the reference is the file system alone; an idle server still rescans its files
    log "scenario disk: durable file replaces in $WORK/disk, no server involved, ${WARMUP_SECONDS}s warm-up, ${DURATION_SECONDS}s measured"
    # shellcheck disable=SC2086
    timeout --kill-after=10 "$budget" java $CLIENT_JAVA_OPTS -cp "$CLIENT_CP" dev.siderolink.server.bench.DiskReplaceLoad \
      --dir="$WORK/disk" --files="$UUIDS" --threads="$DISK_THREADS" --protocol="$DISK_PROTOCOL" \
      --warmup-seconds="$WARMUP_SECONDS" --duration-seconds="$DURATION_SECONDS" --max-ops="$MAX_CALLS" \
      >"$WORK/$s.out" &
  else
    log "scenario $s: $CONCURRENCY in flight, ${WARMUP_SECONDS}s warm-up, ${DURATION_SECONDS}s measured"
    # shellcheck disable=SC2086
    timeout --kill-after=10 "$budget" java $CLIENT_JAVA_OPTS -cp "$CLIENT_CP" dev.siderolink.server.bench.ProvisionLoad "$s" \
      --host=127.0.0.1 --port="$API_PORT" --token="$TOKEN" \
      --concurrency="$CONCURRENCY" --channels="$CHANNELS" \
      --warmup-seconds="$WARMUP_SECONDS" --duration-seconds="$DURATION_SECONDS" \
      --max-calls="$MAX_CALLS" --uuids="$UUIDS" --server-pid="$SERVER_PID" --clk-tck="$CLK_TCK" \
      >"$WORK/$s.out" &
  fi
  # in the background so that a signal reaches the trap at once, not after the scenario
  LOAD_PID=$!
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=
  [[ $s == disk ]] && rm -rf "$WORK/disk"
  LOAD_AFTER[$s]=$(cut -d' ' -f1 /proc/loadavg)
  sed 's/^/    /' "$WORK/$s.out" >&2
  line=$(grep '^RESULT ' "$WORK/$s.out" | tail -n 1 || true)
  if [[ -z $line ]]; then
    log "scenario $s produced no result (exit $rc)"
    failed=1; RESULT[$s]=""; continue
  fi
  (( rc == 0 )) || { log "scenario $s had unexpected outcomes (exit $rc)"; failed=1; }
  RESULT[$s]=$line
  if [[ $s != disk ]] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "the server died during $s"; tail -n 40 "$WORK/server.log" >&2; exit 1
  fi
done

field() { # field <RESULT line> <key>
  tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}
ratio() { # ratio <rate> <reference rate>
  awk -v r="$1" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.3f", r / b; else print "-" }'
}

bindings=$(find "$WORK/state/serverbindings" -name '*.yaml' | wc -l)
base_rate=$(field "${RESULT[baseline]}" calls_per_s)
disk_rate=$(field "${RESULT[disk]:-}" calls_per_s)
echo
echo "Provision benchmark $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')," \
     "$(nproc) cores, $(java -version 2>&1 | head -n 1), state on $fs_type"
echo "concurrency $CONCURRENCY, channels $CHANNELS, ${WARMUP_SECONDS}s warm-up + ${DURATION_SECONDS}s measured per scenario;" \
     "$bindings binding files at the end; 1-min load average $LOAD_BEFORE before the scenarios"
echo "vs_base: calls/s over the baseline's; vs_disk: over the disk scenario's durable replaces/s (same run)"
echo "cpu columns: CPU microseconds per call over the measured window (server total, its kernel part, load generator);"
echo "cpu_bound: calls/s if server and generator had every core to themselves (an estimate, not a measurement)"
printf '%-16s %9s %8s %8s %8s %6s %8s %8s %8s %8s %8s %9s %5s\n' scenario calls/s p50_ms p99_ms max_ms errors \
  vs_base vs_disk srv_cpu srv_sys cli_cpu cpu_bound load
for s in $ordered; do
  line=${RESULT[$s]}
  if [[ -z $line || $(field "$line" status) != done ]]; then
    printf '%-16s %9s\n' "$s" "no result"; continue
  fi
  rate=$(field "$line" calls_per_s)
  vs_base=-; vs_disk=-
  [[ $s == disk ]] || vs_base=$(ratio "$rate" "$base_rate")
  [[ $s == baseline || $s == disk ]] || vs_disk=$(ratio "$rate" "$disk_rate")
  printf '%-16s %9s %8s %8s %8s %6s %8s %8s %8s %8s %8s %9s %5s\n' "$s" "$rate" "$(field "$line" p50_ms)" \
    "$(field "$line" p99_ms)" "$(field "$line" max_ms)" "$(field "$line" errors)" "$vs_base" "$vs_disk" \
    "$(field "$line" server_cpu_us_per_call)" "$(field "$line" server_sys_us_per_call)" \
    "$(field "$line" client_cpu_us_per_call)" "$(field "$line" cpu_bound_calls_per_s)" "${LOAD_AFTER[$s]}"
  codes=$(field "$line" error_codes)
  [[ $codes == - ]] || echo "    errors by code: $codes"
done
exit "$failed"
