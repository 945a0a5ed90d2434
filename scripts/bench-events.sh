#!/usr/bin/env bash
# Event sink benchmark: simulated Talos nodes publish events (events.EventSinkService/Publish) to
# the serverevents component (standalone store), each node from its own tunnel address and one
# call at a time, as Talos does. Prints events/s and the p50/p99 time from Publish to the status
# change being visible in the store, plus references measured in the same run. Load generator:
# src/test/java/dev/siderolink/server/bench/EventLoad.java. See docs/benchmarks.md, "Event sink".
#
# Scenarios (always in this order):
#   print-only   unpaced; only events that change no status (TaskEvent, ServiceStateEvent,
#                PhaseEvent): gRPC, decode, annotate, print. The transport and stream ceiling.
#   status-max   unpaced; the status mix (every status event changes the binding and its
#                MetalMachine: two file replaces, made durable by the store's journal): the
#                saturation throughput
#   status-rate  the same mix paced at RATE events/s in total: the latency at the goal's rate
#                (one row, rate-N, per rate in RATE: the goal's rate and two below it, to
#                show where the latency bound holds)
#   disk         no server: DiskReplaceLoad, durable replaces of ~330-byte files by 10 x cores
#                threads: what two fsynced replaces per status event (the store before its
#                journal) would allow, disk/2; a reference for the journal's gain
#
# Environment (all optional):
#   NODES              simulated nodes, each with its own address and binding      (default 200)
#   DURATION_SECONDS   measured seconds per scenario                               (default 15)
#   WARMUP_SECONDS     warm-up seconds per scenario, not measured                  (default 20;
#                      the server's JIT is still busy for ~20 s after start)
#   RATE               total events/s of status-rate; a list gives one row each    (default "2000 1000 500")
#   PRINT_PER_STATUS   print-only events after each status event in the mix        (default 1;
#                      0: status events only)
#   WATCH_NODES        nodes whose status events are also looked for on disk       (default 10)
#   POLL_MICROS        how often the disk poller looks at those files              (default 1000)
#   EVENTS_OUTPUT      where the server prints the event stream: a file in the state's
#                      temporary directory (the default), or /dev/null
#   SCENARIOS          subset of "print-only status-max status-rate disk" (the default)
#   DISK_THREADS       writer threads of the disk scenario                         (default 10 x cores)
#   DISK_PROTOCOL      recycle (the store's own replace) or fresh (a new temp file  (default recycle)
#                      per write, what the store did before)
#   BUILD              auto (rebuild when sources are newer), always, never        (default auto)
#   STATE_PARENT       where the temporary state directory is created              (default ${TMPDIR:-/tmp})
#   STARTUP_TIMEOUT    seconds to wait for /actuator/health                        (default 180)
#   SERVER_JAVA_OPTS / CLIENT_JAVA_OPTS   JVM flags (defaults below, sized for 2 cores)
#   KEEP_SERVER_LOG    path to copy the server log to before cleanup               (default: none)
#
# Needs root and iproute2: the node and server addresses live on a veth interface of its own
# (random name, removed on exit), as the sink listens on the server's tunnel address only and
# identifies a node by its source address.
set -euo pipefail

cd "$(dirname "$0")/.."

NODES=${NODES:-200}
DURATION_SECONDS=${DURATION_SECONDS:-15}
WARMUP_SECONDS=${WARMUP_SECONDS:-20}
RATE=${RATE:-"2000 1000 500"}
PRINT_PER_STATUS=${PRINT_PER_STATUS:-1}
WATCH_NODES=${WATCH_NODES:-10}
POLL_MICROS=${POLL_MICROS:-1000}
SCENARIOS=${SCENARIOS:-"print-only status-max status-rate disk"}
DISK_THREADS=${DISK_THREADS:-$(( 10 * $(nproc) ))}
DISK_PROTOCOL=${DISK_PROTOCOL:-recycle}
BUILD=${BUILD:-auto}
STATE_PARENT=${STATE_PARENT:-${TMPDIR:-/tmp}}
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-180}
KEEP_SERVER_LOG=${KEEP_SERVER_LOG:-}
EVENTS_OUTPUT=${EVENTS_OUTPUT:-}
SERVER_JAVA_OPTS=${SERVER_JAVA_OPTS:-"-Xms512m -Xmx512m -XX:+UseParallelGC -XX:ParallelGCThreads=2 -XX:+AlwaysPreTouch"}
CLIENT_JAVA_OPTS=${CLIENT_JAVA_OPTS:-"-Xms256m -Xmx256m -XX:+UseParallelGC -XX:ParallelGCThreads=1 -XX:+AlwaysPreTouch"}
# the goal of the issue: at least GOAL_RATE events/s with p99 under GOAL_P99_MS to visible status
GOAL_RATE=2000
GOAL_P99_MS=100

JAR=target/siderolink-server.jar
LOAD_CLASS=target/test-classes/dev/siderolink/server/bench/EventLoad.class
CP_FILE=target/bench-classpath.txt

. scripts/lib/bench.sh

for r in $RATE; do
  [[ $r =~ ^[1-9][0-9]*$ ]] || die "RATE must be whole numbers above 0, got '$r'"
done
for n in NODES DURATION_SECONDS WARMUP_SECONDS PRINT_PER_STATUS WATCH_NODES POLL_MICROS STARTUP_TIMEOUT DISK_THREADS; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, got '${!n}'"
done
(( NODES >= 1 && NODES <= 60000 )) || die "NODES must be 1..60000"
for s in $SCENARIOS; do
  case $s in print-only|status-max|status-rate|disk) ;; *) die "unknown scenario $s" ;; esac
done
[[ $(id -u) == 0 ]] || die "needs root (it adds the node addresses to an interface of its own)"
command -v java >/dev/null || die "java not found"
command -v curl >/dev/null || die "curl not found"
command -v ip >/dev/null || die "ip (iproute2) not found"

# ---- build ----
bench_build

# ---- state, addresses ----
WORK=$(mktemp -d "$STATE_PARENT/siderolink-bench-events.XXXXXX")
EVENTS_OUTPUT=${EVENTS_OUTPUT:-$WORK/events.jsonl}
SERVER_PID=
LOAD_PID=
IFACE=slbe$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
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
  ip link del dev "$IFACE" 2>/dev/null || true # its veth peer goes with it
  if [[ -n $KEEP_SERVER_LOG && -f $WORK/server.log ]]; then
    cp "$WORK/server.log" "$KEEP_SERVER_LOG" || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fs_type=$(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK" 2>/dev/null || echo unknown)
[[ $fs_type == tmpfs ]] && log "warning: $WORK is on tmpfs: fsync is free there, figures will not reflect a disk"

log "preparing $NODES bindings and MetalMachines in $WORK/state ($fs_type)"
# shellcheck disable=SC2086
java $CLIENT_JAVA_OPTS -cp "$CLIENT_CP" dev.siderolink.server.bench.EventLoad prepare \
  --dir="$WORK/state" --nodes="$NODES" --nodes-file="$WORK/nodes.txt" >&2
SERVER_ADDR=$(sed -n 's/^server //p' "$WORK/nodes.txt")

log "adding the server address $SERVER_ADDR and $NODES node addresses to $IFACE"
{
  echo "link add $IFACE type veth peer name ${IFACE}p"
  echo "link set $IFACE up"
  echo "address add $SERVER_ADDR/128 dev $IFACE nodad"
  awk -v dev="$IFACE" '$1 == "node" { print "address add " $4 "/128 dev " dev " nodad" }' "$WORK/nodes.txt"
} >"$WORK/ip.batch"
ip -batch "$WORK/ip.batch"

# ---- server ----
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
HTTP_PORT=$(free_port)
SINK_PORT=$(free_port)
while [[ $SINK_PORT == "$HTTP_PORT" ]]; do SINK_PORT=$(free_port); done

start_server() {
  log "starting the server: sink [$SERVER_ADDR]:$SINK_PORT, HTTP 127.0.0.1:$HTTP_PORT, output $EVENTS_OUTPUT"
  # shellcheck disable=SC2086
  java $SERVER_JAVA_OPTS -jar "$JAR" \
    --siderolink.components=serverevents \
    --siderolink.standalone.dir="$WORK/state" \
    --siderolink.events.port="$SINK_PORT" \
    --siderolink.events.output="$EVENTS_OUTPUT" \
    --server.port="$HTTP_PORT" \
    --server.address=127.0.0.1 \
    >"$WORK/server.out" 2>"$WORK/server.log" &
  SERVER_PID=$!
  local started=0 code
  for _ in $(seq 1 $(( STARTUP_TIMEOUT * 2 ))); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
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
}

# Sum of a Prometheus metric's samples (all tags), or of those matching a tag filter.
metric() { # metric <name> <scrape file> [tag regex]
  awk -v name="$1" -v tag="${3:-}" '
    $1 ~ "^" name "({|$)" && (tag == "" || $1 ~ tag) { sum += $NF }
    END { printf "%.0f", sum }' "$2" 2>/dev/null
}
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$HTTP_PORT/actuator/prometheus" >"$1" || : >"$1"; }

needs_server=0
for s in $SCENARIOS; do [[ $s == disk ]] || needs_server=1; done
(( needs_server )) && start_server

# ---- scenarios ----
ordered=""
for s in print-only status-max status-rate disk; do
  [[ " $SCENARIOS " == *" $s "* ]] || continue
  if [[ $s == status-rate ]]; then
    for r in $RATE; do ordered+=" rate-$r"; done
  else
    ordered+=" $s"
  fi
done
CLK_TCK=$(getconf CLK_TCK)
declare -A RESULT LOAD_AFTER SERVER_SIDE
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
failed=0
for s in $ordered; do
  budget=$(( WARMUP_SECONDS + DURATION_SECONDS + 120 ))
  rc=0
  if [[ $s == disk ]]; then
    stop_server # the storage alone; an idle server still rescans its files
    log "scenario disk: durable file replaces in $WORK/disk, no server, ${WARMUP_SECONDS}s warm-up, ${DURATION_SECONDS}s measured"
    # shellcheck disable=SC2086
    timeout --kill-after=10 "$budget" java $CLIENT_JAVA_OPTS -cp "$CLIENT_CP" dev.siderolink.server.bench.DiskReplaceLoad \
      --dir="$WORK/disk" --files=$(( 2 * NODES )) --threads="$DISK_THREADS" --protocol="$DISK_PROTOCOL" \
      --warmup-seconds="$WARMUP_SECONDS" --duration-seconds="$DURATION_SECONDS" \
      >"$WORK/$s.out" &
  else
    case $s in
      print-only) args=(--scenario=print-only --rate=0) ;;
      status-max) args=(--scenario=status --rate=0) ;;
      rate-*) args=(--scenario=status --rate="${s#rate-}") ;;
    esac
    log "scenario $s: $NODES nodes, ${WARMUP_SECONDS}s warm-up, ${DURATION_SECONDS}s measured"
    scrape "$WORK/$s.before.prom"
    # shellcheck disable=SC2086
    timeout --kill-after=10 "$budget" java $CLIENT_JAVA_OPTS -cp "$CLIENT_CP" dev.siderolink.server.bench.EventLoad run \
      --nodes-file="$WORK/nodes.txt" --dir="$WORK/state" --port="$SINK_PORT" "${args[@]}" \
      --print-per-status="$PRINT_PER_STATUS" --watch-nodes="$WATCH_NODES" --poll-micros="$POLL_MICROS" \
      --warmup-seconds="$WARMUP_SECONDS" --duration-seconds="$DURATION_SECONDS" \
      --server-pid="$SERVER_PID" --clk-tck="$CLK_TCK" \
      >"$WORK/$s.out" &
  fi
  LOAD_PID=$!
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=
  [[ $s == disk ]] && rm -rf "$WORK/disk"
  LOAD_AFTER[$s]=$(cut -d' ' -f1 /proc/loadavg)
  sed 's/^/    /' "$WORK/$s.out" >&2
  if [[ $s != disk ]]; then
    sleep 1 # lines still queued for the output
    scrape "$WORK/$s.after.prom"
    d() { echo $(( $(metric "$1" "$WORK/$s.after.prom" "${2:-}") - $(metric "$1" "$WORK/$s.before.prom" "${2:-}") )); }
    SERVER_SIDE[$s]="received $(d siderolink_events_received_total), status updates $(d siderolink_events_status_updates_total),"
    SERVER_SIDE[$s]+=" lines $(d siderolink_events_written_total), failures $(d siderolink_events_failures_total), replays $(d siderolink_events_replays_total)"
    log "server side over the whole scenario (warm-up included): ${SERVER_SIDE[$s]}"
  fi
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
stop_server
if grep -E -q ' (WARN|ERROR) ' "$WORK/server.log" 2>/dev/null; then
  log "server warnings/errors (first 10):"
  grep -E ' (WARN|ERROR) ' "$WORK/server.log" | head -n 10 >&2
fi

field() { # field <RESULT line> <key>
  tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"
}
ratio() { # ratio <rate> <reference rate>
  awk -v r="$1" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.3f", r / b; else print "-" }'
}
print_rate=$(field "${RESULT[print-only]:-}" events_per_s)
disk_rate=$(field "${RESULT[disk]:-}" calls_per_s)
disk_half=$(awk -v r="${disk_rate:-0}" 'BEGIN { printf "%.1f", r / 2 }')

echo
echo "Event sink benchmark $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')," \
     "$(nproc) cores, $(java -version 2>&1 | head -n 1), state on $fs_type"
echo "$NODES nodes (one call at a time each), $PRINT_PER_STATUS print-only event(s) after each status event," \
     "${WARMUP_SECONDS}s warm-up + ${DURATION_SECONDS}s measured per scenario; rate-N rows: paced at N events/s in total;" \
     "event stream to $( [[ $EVENTS_OUTPUT == "$WORK/events.jsonl" ]] && echo "a file" || echo "$EVENTS_OUTPUT" ); 1-min load average $LOAD_BEFORE before"
echo "ev/s: events answered OK per second (st/s: the status ones); p50/p99/max: Publish to answer, all events;"
echo "st_p99: status events' answer p99 (the answer comes after the store writes: an upper bound of visible);"
echo "vis_p50/vis_p99: Publish to the change seen in the binding file, sampled on $WATCH_NODES nodes; vis_mm99: binding and MetalMachine"
echo "vs_print: ev/s over print-only's; vs_disk: st/s over half the disk scenario's replaces/s (what two durable replaces per"
echo "status event would allow, shown in the disk row's st/s column; the journal makes above 1 possible)"
echo "srv%/sys%/cli%: CPU of the server (total, kernel part) and the generator, % of one core over the window;"
echo "srv_us: server CPU per event answered; load: 1-min load average after the scenario (threads blocked in fsync count too)"
printf '%-12s %8s %7s %7s %7s %8s %7s %7s %7s %8s %6s %8s %8s %5s %5s %5s %6s %5s\n' scenario ev/s st/s p50_ms p99_ms max_ms \
  st_p99 vis_p50 vis_p99 vis_mm99 errors vs_print vs_disk srv% sys% cli% srv_us load
for s in $ordered; do
  line=${RESULT[$s]:-}
  if [[ -z $line || $(field "$line" status) != done ]]; then
    printf '%-12s %8s\n' "$s" "no result"; continue
  fi
  if [[ $s == disk ]]; then
    printf '%-12s %8s %7s %7s %7s %8s %7s %7s %7s %8s %6s %8s %8s %5s %5s %5s %6s %5s\n' "$s" "$(field "$line" calls_per_s)" \
      "($disk_half)" "$(field "$line" p50_ms)" "$(field "$line" p99_ms)" "$(field "$line" max_ms)" - - - - \
      "$(field "$line" errors)" - - - - - - "${LOAD_AFTER[$s]}"
    continue
  fi
  rate=$(field "$line" events_per_s)
  srate=$(field "$line" status_per_s)
  vs_print=-; vs_disk=-
  [[ $s == print-only ]] || { vs_print=$(ratio "$rate" "$print_rate"); vs_disk=$(ratio "$srate" "$disk_half"); }
  vis50=-; vis99=-; vismm=-
  if [[ $(field "$line" visible_samples) != 0 ]]; then
    vis50=$(field "$line" visible_p50_ms); vis99=$(field "$line" visible_p99_ms); vismm=$(field "$line" visible_mm_p99_ms)
  fi
  st99=-; [[ $(field "$line" status_events) == 0 ]] || st99=$(field "$line" status_p99_ms)
  printf '%-12s %8s %7s %7s %7s %8s %7s %7s %7s %8s %6s %8s %8s %5s %5s %5s %6s %5s\n' "$s" "$rate" "$srate" \
    "$(field "$line" p50_ms)" "$(field "$line" p99_ms)" "$(field "$line" max_ms)" "$st99" "$vis50" "$vis99" "$vismm" \
    "$(field "$line" errors)" "$vs_print" "$vs_disk" "$(field "$line" server_cpu_pct)" "$(field "$line" server_sys_pct)" \
    "$(field "$line" client_cpu_pct)" "$(field "$line" server_cpu_us_per_event)" "${LOAD_AFTER[$s]}"
  codes=$(field "$line" error_codes)
  [[ $codes == - ]] || echo "    errors by code: $codes"
  [[ -z ${SERVER_SIDE[$s]:-} ]] || echo "    server side, warm-up included: ${SERVER_SIDE[$s]}"
done

# The goal, judged on the paced row at the goal's rate (else the highest rate): the rate reached
# (within 1 % for pacing at the window's edges) and the p99 to visible status under the bound, both
# as answered and as sampled on disk.
goal_row=
for r in $RATE; do
  if [[ -z $goal_row ]] || (( r == GOAL_RATE )) || { (( ${goal_row#rate-} != GOAL_RATE )) && (( r > ${goal_row#rate-} )); }; then
    goal_row=rate-$r
  fi
done
line=
[[ " $ordered " == *" $goal_row "* ]] && line=${RESULT[$goal_row]:-}
if [[ -n $line && $(field "$line" status) == done ]]; then
  awk -v rate="$(field "$line" events_per_s)" -v target="${goal_row#rate-}" -v st="$(field "$line" status_p99_ms)" \
      -v vis="$(field "$line" visible_p99_ms)" -v vn="$(field "$line" visible_samples)" -v errors="$(field "$line" errors)" \
      -v grate="$GOAL_RATE" -v gp99="$GOAL_P99_MS" 'BEGIN {
    worst = st; if (vn > 0 && vis > worst) worst = vis
    ok = rate >= 0.99 * grate && worst < gp99 && errors == 0
    printf "goal (>= %d events/s, p99 < %d ms to visible status, standalone store): %s (paced at %d: %.0f events/s, p99 %.1f ms, %d errors)%s\n",
      grate, gp99, ok ? "met" : "NOT met", target, rate, worst, errors, target < grate ? "; note: paced below the goal rate" : ""
  }'
fi
exit "$failed"
