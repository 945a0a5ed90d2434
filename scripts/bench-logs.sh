#!/usr/bin/env bash
# Kernel-log benchmark (serverlogs): Talos-shaped kmsg messages (the seed's example message, seq and
# clock counting up) sent to the server's receivers from 4 node addresses, over TCP (4 connections,
# as fast as the server reads) and then over UDP (paced, 100,000 messages/s for 30 s); prints the
# annotated lines written per second, next to a raw-copy ceiling measured in the same run: the
# same bytes received by the same kind of reactor-netty socket and written through the server's
# own LineWriter to the same kind of output, with no parsing and no annotation
# (LogLoad rawcopy). See docs/benchmarks.md, "Kernel logs".
#
# Load generator, copier and output sink: src/test/java/dev/siderolink/server/bench/LogLoad.java.
# Lines written per second come from the receiver's own counters (siderolink_logs_written_total
# on /actuator/prometheus, rawcopy_logs_written_total on the copier's endpoint), read at both ends
# of the measured window; CPU from /proc.
#
# Output: both the server and the copier write to their standard output, which is a pipe (a FIFO)
# read by a cheap consumer (LogLoad sink: reads into one direct buffer and throws the bytes away,
# keeping a sample of the last line). A pipe is what the stream meets in a container (stdout
# collected by the runtime), it costs both the same, and it never throttles: a file on the root
# disk would fill with several GB per run and writeback would make both disk-bound, and tmpfs
# would hold it all in memory.
#
# Needs root (a veth pair holds the server's tunnel address <prefix>::1 and the node addresses,
# since the receivers listen on the tunnel address only and refuse sources outside the /64),
# iproute2, curl and a JDK 17. Everything it starts (server, copier, sinks, load, the veth pair,
# the state directory, a raised net.core.rmem_max) is stopped or undone on exit, also on failure.
#
# Environment (all optional):
#   TCP_CONNECTIONS      node addresses / TCP connections / UDP sockets     (default 4)
#   TCP_WARMUP_SECONDS   TCP warm-up, not measured                          (default 15)
#   TCP_DURATION_SECONDS TCP measured window                                (default 20)
#   TCP_BATCH            messages per write() of each TCP sender            (default 1024, ~200 KB)
#   UDP_RATE             UDP messages per second, all sockets together      (default 100000)
#   UDP_WARMUP_SECONDS   UDP at that rate before the window (drops counted too) (default 5)
#   UDP_DURATION_SECONDS UDP measured window                                (default 30)
#   UDP_RMEM_MAX         when set: net.core.rmem_max is raised to this many bytes for the run
#                        (the server asks for 32 MiB; the kernel grants at most rmem_max) and
#                        restored afterwards; the output says so. Default: left alone.
#   UDP_RECEIVE_BUFFER   when set: the UDP receive buffer (bytes) both the server
#                        (siderolink.logs.udp-receive-buffer) and the copier ask for (default:
#                        the server's default, 32 MiB, for both); still capped at rmem_max
#   TRANSPORTS           "tcp udp" (default), or one of them
#   RAW                  1: also measure the raw-copy ceiling (default), 0: server only
#   BUILD                auto (rebuild when sources are newer), always, never (default auto)
#   MVN_FLAGS            flags for ./mvnw                                   (default "-o -B -ntp -q")
#   STATE_PARENT         where the temporary directory is created           (default ${TMPDIR:-/tmp})
#   STARTUP_TIMEOUT      seconds to wait for the server's health            (default 180)
#   SERVER_JAVA_OPTS     JVM flags of the server and of the copier (the same, for fairness)
#   CLIENT_JAVA_OPTS / SINK_JAVA_OPTS   JVM flags of the load generator and of the sinks
#   SERVER_EXTRA_ARGS    more --name=value arguments for the server (e.g. a JFR recording is
#                        SERVER_JAVA_OPTS="... -XX:StartFlightRecording=filename=/tmp/x.jfr")
#   For experiments (not the benchmark's figures):
#   TCP_CLOSE            after-drain (default: the senders close once every line is accounted
#                        for) or at-once (right after the window, with lines still queued)
#   SINK_MAX_BYTES_PER_S read the output pipe at most this fast (default 0: unlimited), to put the
#                        receivers' output queue under pressure
#   RAW_EXTRA_ARGS       more --name=value arguments for the copier (e.g. --half-closure=true)
#   KEEP_SERVER_LOG      path to copy the server's log to before cleanup    (default: none)
set -euo pipefail

cd "$(dirname "$0")/.."

TCP_CONNECTIONS=${TCP_CONNECTIONS:-4}
TCP_WARMUP_SECONDS=${TCP_WARMUP_SECONDS:-15}
TCP_DURATION_SECONDS=${TCP_DURATION_SECONDS:-20}
TCP_BATCH=${TCP_BATCH:-1024}
UDP_RATE=${UDP_RATE:-100000}
UDP_WARMUP_SECONDS=${UDP_WARMUP_SECONDS:-5}
UDP_DURATION_SECONDS=${UDP_DURATION_SECONDS:-30}
UDP_RMEM_MAX=${UDP_RMEM_MAX:-}
UDP_RECEIVE_BUFFER=${UDP_RECEIVE_BUFFER:-$(( 32 * 1024 * 1024 ))}
TRANSPORTS=${TRANSPORTS:-"tcp udp"}
TCP_CLOSE=${TCP_CLOSE:-after-drain}
SINK_MAX_BYTES_PER_S=${SINK_MAX_BYTES_PER_S:-0}
RAW=${RAW:-1}
BUILD=${BUILD:-auto}
MVN_FLAGS=${MVN_FLAGS:-"-o -B -ntp -q"}
STATE_PARENT=${STATE_PARENT:-${TMPDIR:-/tmp}}
STARTUP_TIMEOUT=${STARTUP_TIMEOUT:-180}
KEEP_SERVER_LOG=${KEEP_SERVER_LOG:-}
SERVER_EXTRA_ARGS=${SERVER_EXTRA_ARGS:-}
RAW_EXTRA_ARGS=${RAW_EXTRA_ARGS:-}
# Fixed, pre-touched heaps and the parallel collector with few GC threads: everything shares 2 cores.
SERVER_JAVA_OPTS=${SERVER_JAVA_OPTS:-"-Xms512m -Xmx512m -XX:+UseParallelGC -XX:ParallelGCThreads=2 -XX:+AlwaysPreTouch"}
CLIENT_JAVA_OPTS=${CLIENT_JAVA_OPTS:-"-Xms256m -Xmx256m -XX:+UseParallelGC -XX:ParallelGCThreads=1 -XX:+AlwaysPreTouch"}
SINK_JAVA_OPTS=${SINK_JAVA_OPTS:-"-Xms32m -Xmx32m -XX:+UseSerialGC"}

JAR=target/siderolink-server.jar
LOAD_CLASS=target/test-classes/dev/siderolink/server/bench/LogLoad.class
CP_FILE=target/bench-classpath.txt
MAIN=dev.siderolink.server.bench.LogLoad

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for n in SINK_MAX_BYTES_PER_S TCP_CONNECTIONS TCP_WARMUP_SECONDS TCP_DURATION_SECONDS TCP_BATCH UDP_RATE UDP_WARMUP_SECONDS UDP_DURATION_SECONDS STARTUP_TIMEOUT RAW; do
  [[ ${!n} =~ ^[0-9]+$ ]] || die "$n must be a whole number, got '${!n}'"
done
[[ -z $UDP_RMEM_MAX || $UDP_RMEM_MAX =~ ^[0-9]+$ ]] || die "UDP_RMEM_MAX must be a number of bytes"
[[ $UDP_RECEIVE_BUFFER =~ ^[0-9]+$ ]] || die "UDP_RECEIVE_BUFFER must be a number of bytes"
(( TCP_CONNECTIONS >= 1 && TCP_CONNECTIONS <= 64 )) || die "TCP_CONNECTIONS must be 1..64"
for t in $TRANSPORTS; do [[ $t == tcp || $t == udp ]] || die "TRANSPORTS: unknown transport $t"; done
[[ $(id -u) == 0 ]] || die "needs root (veth pair and addresses for the tunnel address and the nodes)"
for c in java curl ip mkfifo; do command -v "$c" >/dev/null || die "$c not found"; done

# ---- build ----
needs_build() { # 2: the jar is missing or older than the main sources, 1: only the test classes are stale
  [[ -f $JAR && -n $(find src/main pom.xml -newer "$JAR" -print -quit) ]] && return 2
  [[ -f $JAR ]] || return 2
  [[ -f $LOAD_CLASS && -z $(find src/test -newer "$LOAD_CLASS" -print -quit) ]] || return 1
  return 0
}
case $BUILD in
  always) rebuild=2 ;;
  never) rebuild=0; [[ -f $JAR && -f $LOAD_CLASS ]] || die "BUILD=never but $JAR or $LOAD_CLASS is missing" ;;
  auto) needs_build && rebuild=0 || rebuild=$? ;;
  *) die "BUILD must be auto, always or never" ;;
esac
if (( rebuild == 2 )); then
  log "building the server jar and test classes (./mvnw $MVN_FLAGS -DskipTests package)"
  # shellcheck disable=SC2086
  ./mvnw $MVN_FLAGS -DskipTests package
elif (( rebuild == 1 )); then
  log "compiling the test classes (./mvnw $MVN_FLAGS test-compile)"
  # shellcheck disable=SC2086
  ./mvnw $MVN_FLAGS test-compile
fi
if [[ ! -s $CP_FILE || pom.xml -nt $CP_FILE ]]; then
  log "resolving the test classpath"
  # shellcheck disable=SC2086
  ./mvnw $MVN_FLAGS dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$CP_FILE" >/dev/null
fi
CP="target/test-classes:target/classes:$(cat "$CP_FILE")"

# ---- clean-up ----
WORK=$(mktemp -d "$STATE_PARENT/siderolink-bench-logs.XXXXXX")
VETH=
SERVER_PID=
RAW_PID=
LOAD_PID=
SINK_PIDS=()
OLD_RMEM_MAX=
stop_pid() { # stop_pid <pid>: TERM, wait up to 10 s, then KILL
  local pid=$1
  [[ -n $pid ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  stop_pid "$LOAD_PID"
  stop_pid "$SERVER_PID"
  stop_pid "$RAW_PID"
  for p in "${SINK_PIDS[@]}"; do stop_pid "$p"; done
  [[ -n $VETH ]] && ip link del dev "$VETH" 2>/dev/null || true
  if [[ -n $OLD_RMEM_MAX ]]; then
    sysctl -q -w net.core.rmem_max="$OLD_RMEM_MAX" >/dev/null && log "net.core.rmem_max restored to $OLD_RMEM_MAX" || log "could not restore net.core.rmem_max to $OLD_RMEM_MAX"
  fi
  if [[ -n $KEEP_SERVER_LOG && -f $WORK/server.log ]]; then
    cp "$WORK/server.log" "$KEEP_SERVER_LOG" || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { # a port nothing listens on at loopback, and not yet handed out by this script
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 40000 ))
    [[ " ${USED_PORTS:-} " == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      USED_PORTS="${USED_PORTS:-} $p"; echo "$p"; return 0
    fi
  done
  die "no free port found"
}
HTTP_PORT=$(free_port); USED_PORTS=" $HTTP_PORT"
LOGS_PORT=$(free_port); USED_PORTS+=" $LOGS_PORT"
RAW_PORT=$(free_port); USED_PORTS+=" $RAW_PORT"
RAW_METRICS_PORT=$(free_port)

# ---- state directory, addresses ----
# shellcheck disable=SC2086
java $CLIENT_JAVA_OPTS -cp "$CP" $MAIN prepare --dir="$WORK/state" --nodes="$TCP_CONNECTIONS" >"$WORK/prepare.out"
NETWORK=$(sed -n 's/^network=//p' "$WORK/prepare.out")
SERVER_ADDR=$(sed -n 's/^server=//p' "$WORK/prepare.out")
NODES=$(sed -n 's/^nodes=//p' "$WORK/prepare.out")
[[ -n $SERVER_ADDR && -n $NODES ]] || die "prepare printed no addresses"

# One end of a veth pair (this kernel has no dummy module) holds the addresses as /128s, no DAD;
# traffic between local addresses is local delivery.
VETH=slb$(head -c 3 /dev/urandom | od -An -tx1 | tr -d ' \n')
ip link add "$VETH" type veth peer name "${VETH}p"
ip link set "$VETH" up
for a in "$SERVER_ADDR" ${NODES//,/ }; do
  ip -6 addr add "$a/128" dev "$VETH" nodad
done
log "installation network $NETWORK on $VETH: server $SERVER_ADDR, nodes $NODES"

RMEM_MAX=$(cat /proc/sys/net/core/rmem_max)
if [[ -n $UDP_RMEM_MAX ]]; then
  OLD_RMEM_MAX=$RMEM_MAX
  sysctl -q -w net.core.rmem_max="$UDP_RMEM_MAX" >/dev/null || die "cannot set net.core.rmem_max"
  log "net.core.rmem_max raised from $OLD_RMEM_MAX to $UDP_RMEM_MAX for this run (restored at exit)"
  RMEM_MAX=$UDP_RMEM_MAX
fi

start_sink() { # start_sink <name>: a FIFO and its consumer; the writer end is $WORK/<name>.fifo
  mkfifo "$WORK/$1.fifo"
  # shellcheck disable=SC2086
  java $SINK_JAVA_OPTS -cp "$CP" $MAIN sink --sample-file="$WORK/$1.sample" --max-bytes-per-second="$SINK_MAX_BYTES_PER_S" <"$WORK/$1.fifo" 2>"$WORK/$1-sink.log" &
  SINK_PIDS+=("$!")
  SINK_PID=$!
}

await_http() { # await_http <pid> <url> <grep pattern> <what>
  for _ in $(seq 1 $(( STARTUP_TIMEOUT * 2 ))); do
    kill -0 "$1" 2>/dev/null || return 1
    if curl -sf --max-time 2 "$2" 2>/dev/null | grep -qF -- "$3"; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

CLK_TCK=$(getconf CLK_TCK)
declare -A RESULT SAMPLE
failed=0

run_load() { # run_load <label> <tcp|udp> <port> <metrics url> <metric prefix> <receiver pid> <sink pid> <sink name>
  local label=$1 transport=$2 rc=0 args
  if [[ $transport == tcp ]]; then
    args=(--warmup-seconds="$TCP_WARMUP_SECONDS" --duration-seconds="$TCP_DURATION_SECONDS" --batch="$TCP_BATCH" --close="$TCP_CLOSE")
    log "$label: $TCP_CONNECTIONS TCP connections as fast as the receiver reads, ${TCP_WARMUP_SECONDS}s warm-up, ${TCP_DURATION_SECONDS}s measured"
  else
    args=(--warmup-seconds="$UDP_WARMUP_SECONDS" --duration-seconds="$UDP_DURATION_SECONDS" --rate="$UDP_RATE")
    log "$label: UDP at $UDP_RATE msg/s from $TCP_CONNECTIONS sockets, ${UDP_WARMUP_SECONDS}s warm-up, ${UDP_DURATION_SECONDS}s measured"
  fi
  # shellcheck disable=SC2086
  java $CLIENT_JAVA_OPTS -cp "$CP" $MAIN "$transport" --target="$SERVER_ADDR" --port="$3" --sources="$NODES" \
    --metrics-url="$4" --metric-prefix="$5" --target-pid="$6" --sink-pid="$7" --clk-tck="$CLK_TCK" "${args[@]}" \
    >"$WORK/$label.out" 2>&1 &
  LOAD_PID=$! # in the background, so that a signal reaches the trap at once
  wait "$LOAD_PID" || rc=$?
  LOAD_PID=
  sed 's/^/    /' "$WORK/$label.out" >&2
  RESULT[$label]=$(grep '^RESULT ' "$WORK/$label.out" | tail -n 1 || true)
  if [[ -z ${RESULT[$label]} || ${RESULT[$label]} != *status=done* ]]; then
    log "$label produced no result (exit $rc)"; failed=1
  elif (( rc != 0 )); then
    log "$label: some messages are unaccounted for (exit $rc)"; failed=1
  fi
  sleep 1.2 # the sink refreshes its sample once a second
  SAMPLE[$label]=$(tail -n 1 "$WORK/$8.sample" 2>/dev/null || true)
  log "$label: last line written: ${SAMPLE[$label]:0:400}"
}

wants() { [[ " $TRANSPORTS " == *" $1 "* ]]; }

# ---- the server ----
start_sink server
SERVER_SINK=$SINK_PID
log "starting the server: serverlogs only, logs on [$SERVER_ADDR]:$LOGS_PORT, HTTP 127.0.0.1:$HTTP_PORT, output stdout (a pipe to the sink)"
# shellcheck disable=SC2086
java $SERVER_JAVA_OPTS -jar "$JAR" \
  --siderolink.components=serverlogs \
  --siderolink.standalone.dir="$WORK/state" \
  --server.port="$HTTP_PORT" \
  --server.address=127.0.0.1 \
  --siderolink.logs.port="$LOGS_PORT" \
  --siderolink.logs.output=stdout \
  --siderolink.logs.udp-receive-buffer="${UDP_RECEIVE_BUFFER}B" \
  $SERVER_EXTRA_ARGS \
  >"$WORK/server.fifo" 2>"$WORK/server.log" &
SERVER_PID=$!
if ! await_http "$SERVER_PID" "http://127.0.0.1:$HTTP_PORT/actuator/health" "\"tcp\":\"[$SERVER_ADDR]:$LOGS_PORT\""; then
  log "the server did not become healthy (listening on [$SERVER_ADDR]:$LOGS_PORT); last lines of its log:"
  tail -n 40 "$WORK/server.log" >&2 || true
  exit 1
fi
UDP_BUFFER=$(curl -sf "http://127.0.0.1:$HTTP_PORT/actuator/health" | grep -o '"udpReceiveBufferBytes":[0-9]*' | cut -d: -f2 || true)
log "server up (pid $SERVER_PID); UDP receive buffer granted: ${UDP_BUFFER:-?} bytes (net.core.rmem_max $RMEM_MAX)"
METRICS="http://127.0.0.1:$HTTP_PORT/actuator/prometheus"
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
wants tcp && run_load server-tcp tcp "$LOGS_PORT" "$METRICS" siderolink_logs "$SERVER_PID" "$SERVER_SINK" server
wants udp && run_load server-udp udp "$LOGS_PORT" "$METRICS" siderolink_logs "$SERVER_PID" "$SERVER_SINK" server
kill -0 "$SERVER_PID" 2>/dev/null || { log "the server died"; tail -n 40 "$WORK/server.log" >&2; exit 1; }
grep -E ' (WARN|ERROR) ' "$WORK/server.log" | grep -v 'UDP receive buffer is' | tail -n 5 | sed 's/^/    server: /' >&2 || true
stop_pid "$SERVER_PID"; SERVER_PID=
stop_pid "$SERVER_SINK"

# ---- the raw-copy ceiling ----
if (( RAW )); then
  start_sink raw
  RAW_SINK=$SINK_PID
  log "starting the raw copier on [$SERVER_ADDR]:$RAW_PORT, output stdout (a pipe to its own sink)"
  # shellcheck disable=SC2086
  java $SERVER_JAVA_OPTS -cp "$CP" $MAIN rawcopy --listen="$SERVER_ADDR" --port="$RAW_PORT" --output=stdout \
    --metrics-port="$RAW_METRICS_PORT" --udp-receive-buffer-bytes="$UDP_RECEIVE_BUFFER" $RAW_EXTRA_ARGS >"$WORK/raw.fifo" 2>"$WORK/raw.log" &
  RAW_PID=$!
  if ! await_http "$RAW_PID" "http://127.0.0.1:$RAW_METRICS_PORT/metrics" "rawcopy_logs_written_total"; then
    log "the copier did not start:"; cat "$WORK/raw.log" >&2; exit 1
  fi
  sed 's/^/    /' "$WORK/raw.log" >&2
  RAW_METRICS="http://127.0.0.1:$RAW_METRICS_PORT/metrics"
  wants tcp && run_load raw-tcp tcp "$RAW_PORT" "$RAW_METRICS" rawcopy_logs "$RAW_PID" "$RAW_SINK" raw
  wants udp && run_load raw-udp udp "$RAW_PORT" "$RAW_METRICS" rawcopy_logs "$RAW_PID" "$RAW_SINK" raw
  stop_pid "$RAW_PID"; RAW_PID=
  stop_pid "$RAW_SINK"
fi

# ---- table ----
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
ratio() { awk -v r="$1" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.3f", r / b; else print "-" }'; }
fmt() { awk -v v="$1" -v d="${2:-2}" 'BEGIN { if (v == "" || v < 0) print "-"; else printf "%.*f", d, v }'; }

echo
echo "Kernel-log benchmark $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores," \
     "$(java -version 2>&1 | head -n 1)"
MSG_BYTES=$(cat "$WORK"/*-tcp.out "$WORK"/*-udp.out 2>/dev/null | grep -o 'message [0-9]* bytes' | head -n 1 | cut -d' ' -f2 || true)
echo "message: the seed's Talos example with seq and clock counting up, ${MSG_BYTES:-?} bytes (+ newline over TCP);" \
     "output: stdout, a pipe to a sink; 1-min load average $LOAD_BEFORE before"
echo "tcp: $TCP_CONNECTIONS connections, ${TCP_WARMUP_SECONDS}s warm-up + ${TCP_DURATION_SECONDS}s measured;" \
     "udp: $UDP_RATE msg/s from $TCP_CONNECTIONS sockets, ${UDP_WARMUP_SECONDS}s warm-up + ${UDP_DURATION_SECONDS}s measured;" \
     "UDP receive buffer ${UDP_BUFFER:-?} bytes granted of $UDP_RECEIVE_BUFFER asked (net.core.rmem_max $RMEM_MAX${OLD_RMEM_MAX:+, raised from $OLD_RMEM_MAX for this run})"
echo "lines/s: lines written per second over the measured window (receiver's counter); vs_raw: over the raw copy's, same transport;"
echo "cores: CPU used over the window: rcv = the receiver (server or copier), rcv_sy its kernel part, us/line = receiver CPU per line,"
echo "gen = the load generator, sink = the output pipe's reader;"
echo "host: all CPU in use on the machine (others' work included), steal: CPU taken by the hypervisor;"
echo "drops: counted by the receiver (window / whole run), kernel: UDP receive-buffer drops from /proc/net/udp6 (window / run)"
printf '%-11s %10s %10s %7s %6s %6s %7s %6s %6s %6s %6s %11s %11s %6s\n' scenario lines/s sent/s vs_raw rcv rcv_sy us/line gen sink host steal drops kernel lost
for label in server-tcp raw-tcp server-udp raw-udp; do
  [[ -v RESULT[$label] ]] || continue
  line=${RESULT[$label]}
  if [[ $line != *status=done* ]]; then printf '%-11s %10s\n' "$label" "no result"; continue; fi
  rate=$(field "$line" lines_per_s)
  vs=-
  if [[ $label == server-* ]]; then
    raw=${RESULT[raw-${label#server-}]:-}
    [[ -n $raw ]] && vs=$(ratio "$rate" "$(field "$raw" lines_per_s)")
  fi
  printf '%-11s %10s %10s %7s %6s %6s %7s %6s %6s %6s %6s %11s %11s %6s\n' "$label" "$rate" "$(field "$line" sent_per_s)" "$vs" \
    "$(fmt "$(field "$line" receiver_cores)")" "$(fmt "$(field "$line" receiver_sys_cores)")" "$(fmt "$(field "$line" receiver_us_per_line)")" "$(fmt "$(field "$line" generator_cores)")" \
    "$(fmt "$(field "$line" sink_cores)")" "$(fmt "$(field "$line" host_busy_cores)")" "$(fmt "$(field "$line" steal_cores)")" \
    "$(field "$line" window_drops)/$(field "$line" run_drops)" "$(field "$line" window_kernel_drops)/$(field "$line" run_kernel_drops)" \
    "$(field "$line" unaccounted)"
done

echo
echo "Goals:"
if [[ -v RESULT[server-tcp] && ${RESULT[server-tcp]} == *status=done* ]]; then
  rate=$(field "${RESULT[server-tcp]}" lines_per_s)
  verdict=$(awk -v r="$rate" 'BEGIN { print (r >= 400000 ? "met" : "NOT met") }')
  echo "  TCP >= 400,000 lines/s: $rate lines/s: $verdict"
  if [[ -v RESULT[raw-tcp] && ${RESULT[raw-tcp]} == *status=done* ]]; then
    raw=$(field "${RESULT[raw-tcp]}" lines_per_s)
    r=$(ratio "$rate" "$raw")
    verdict=$(awk -v r="$r" 'BEGIN { print (r >= 0.2 ? "met" : "NOT met") }')
    echo "  TCP >= 1/5 of the raw-copy ceiling ($raw lines/s): ratio $r: $verdict"
  fi
fi
if [[ -v RESULT[server-udp] && ${RESULT[server-udp]} == *status=done* ]]; then
  line=${RESULT[server-udp]}
  # the goal is about the sustained window; what the warm-up lost (a cold UDP path) is shown next to it
  window=$(( $(field "$line" window_drops) + $(field "$line" window_kernel_drops) ))
  run=$(( $(field "$line" run_drops) + $(field "$line" run_kernel_drops) + $(field "$line" unaccounted) ))
  achieved=$(field "$line" sent_per_s)
  paced=$(awk -v a="$achieved" -v t="$UDP_RATE" 'BEGIN { print (a >= 0.99 * t ? 1 : 0) }')
  if (( !paced )); then verdict="inconclusive: the generator reached only $achieved msg/s (starved of CPU: the machine was too busy)"
  elif (( window == 0 )); then verdict=met
  else verdict="NOT met"; fi
  echo "  UDP no drops at $UDP_RATE msg/s for ${UDP_DURATION_SECONDS}s: sent $achieved msg/s in the window, dropped $window there" \
       "(kernel $(field "$line" window_kernel_drops)); whole run with the ${UDP_WARMUP_SECONDS}s warm-up: $(field "$line" run_sent) sent," \
       "dropped $(field "$line" run_drops) by the server (by reason: $(field "$line" run_drop_reasons)), $(field "$line" run_kernel_drops) by the kernel," \
       "unaccounted $(field "$line" unaccounted), $run in all; generator's worst lag $(field "$line" max_lag_ms) ms: $verdict"
fi
for label in server-tcp server-udp; do
  [[ -n ${SAMPLE[$label]:-} ]] || continue
  fields=$(grep -o '"\(cluster\|machine\|metal_machine\|namespace\|server_uuid\)":' <<<"${SAMPLE[$label]}" | tr -d '":' | tr '\n' ' ' || true)
  echo "  $label lines carry: ${fields:-no annotation}"
done
exit "$failed"
