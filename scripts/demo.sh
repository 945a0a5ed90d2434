#!/usr/bin/env bash
# Live demo of the whole link on one machine, as root: the server on its standalone default (all
# components, state in a fresh temporary directory, its streams captured) and a simulated Talos
# node in a network namespace of its own (its own wireguard-go; Provision over a veth pair; kernel
# log lines through the tunnel over UDP and TCP; the events of a first boot through
# events.EventSinkService/Publish). Then it shows what an operator sees: the annotated kernel log
# lines and the event lines (filtered with jq, as in docs/operations.md), the ServerBinding with its
# conditions and addresses, the MetalMachine's mirrored status, health and a few metrics.
# Everything it creates (namespace, veth pair, interfaces, processes, temporary directory) is
# removed at the end, also after a failure, Ctrl-C or SIGTERM. Exit status 0 only when every step
# worked. Names carry a random suffix, so it can run next to the tests or another demo.
#
# Builds what is missing (the jar and the test classes: ./mvnw package; the simulated node's
# classpath: ./mvnw dependency:build-classpath). Environment (all optional):
#   DEMO_JAR             server jar to run; with DEMO_NODE_CLASSPATH set too, Maven is never called
#   DEMO_NODE_CLASSPATH  classpath holding dev.siderolink.server.e2e.NodeAgent and its dependencies
#   DEMO_KEEP_LOGS       a directory to copy the server's stdout/stderr into before cleanup
#   JAVA_HOME            the JDK to use (default: java on the PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

T0=$SECONDS
section() { printf '\n=== %s\n' "$*"; }
say() { printf '%s\n' "$*"; }
show() { printf '$ %s\n' "$*"; } # a command as the reader would type it
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (it creates a network namespace, a veth pair and WireGuard interfaces); run it with sudo"
[ -e /dev/net/tun ] || die "/dev/net/tun is missing (wireguard-go needs it)"

. scripts/lib/deps.sh
ensure_packages jq curl pgrep:procps
for tool in wg wireguard-go ip ss jq curl pgrep; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"
done
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
command -v "$JAVA" >/dev/null 2>&1 || die "java not found (JDK 17 or later)"

# ---- build ----
section "Build"
JAR=${DEMO_JAR:-}
NODE_CP=${DEMO_NODE_CLASSPATH:-}
if [ -z "$JAR" ]; then
    JAR=target/siderolink-server.jar
    agent=target/test-classes/dev/siderolink/server/e2e/NodeAgent.class
    if [ ! -f "$JAR" ] || [ ! -f "$agent" ] || [ -n "$(find src pom.xml -newer "$JAR" -type f -print -quit)" ]; then
        say "building the server jar and the simulated node (./mvnw -DskipTests package) ..."
        ./mvnw -B -ntp -q -DskipTests package
    fi
fi
if [ -z "$NODE_CP" ]; then
    [ -f target/test-classes/dev/siderolink/server/e2e/NodeAgent.class ] || ./mvnw -B -ntp -q -DskipTests test-compile
    cp_file=target/demo-classpath.txt
    if [ ! -s "$cp_file" ] || [ pom.xml -nt "$cp_file" ]; then
        say "resolving the simulated node's classpath (./mvnw dependency:build-classpath) ..."
        ./mvnw -B -ntp -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null
    fi
    NODE_CP="target/test-classes:target/classes:$(cat "$cp_file")"
fi
[ -f "$JAR" ] || die "server jar $JAR not found"
say "server jar: $JAR"
T_BUILT=$SECONDS

# ---- names, and cleanup of everything they name ----
SUFFIX=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NS=sldemo-$SUFFIX          # the node's network namespace
HOST_VETH=sldh$SUFFIX      # veth end in the root namespace (the "LAN" side of the server)
NODE_VETH=sldn$SUFFIX      # veth end in the node's namespace
SERVER_IF=slds$SUFFIX      # the server's WireGuard interface
NODE_IF=sldw$SUFFIX        # the node's WireGuard interface
LAN_PREFIX=fd5d:${SUFFIX:0:4}:${SUFFIX:4:2}00: # a random ULA /64 for the veth link
HOST_ADDR=${LAN_PREFIX}:1
NODE_LAN_ADDR=${LAN_PREFIX}:2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/siderolink-demo.XXXXXX")
STATE=$WORK/state
SERVER_PID=
NODE_WG_PID=

stop_pid() { # stop_pid <pid> <seconds>: SIGTERM, then SIGKILL after the grace period
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < $2 * 5; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? left=() p i server_wg=
    trap - EXIT INT TERM ERR
    set +e
    if [ "$rc" -ne 0 ] && [ -f "$WORK/server.err" ]; then
        printf '\ndemo: the server log (last 40 lines of stderr):\n' >&2
        tail -n 40 "$WORK/server.err" >&2
    fi
    if [ -n "${DEMO_KEEP_LOGS:-}" ]; then
        mkdir -p "$DEMO_KEEP_LOGS" && cp "$WORK"/server.* "$DEMO_KEEP_LOGS"/ 2>/dev/null
    fi
    section "Cleanup"
    for p in $(ip netns pids "$NS" 2>/dev/null); do stop_pid "$p" 5; done # the node's processes
    [ -n "$NODE_WG_PID" ] && stop_pid "$NODE_WG_PID" 5
    [ -n "$SERVER_PID" ] && stop_pid "$SERVER_PID" 30 # removes its WireGuard interface on the way out
    ip netns del "$NS" 2>/dev/null            # takes the node's veth end and interface with it
    ip link del dev "$HOST_VETH" 2>/dev/null  # gone with its peer already, unless that failed
    ip link del dev "$SERVER_IF" 2>/dev/null  # only if the server was killed before it could
    for ((i = 0; i < 25; i++)); do # deleting an interface ends its wireguard-go
        server_wg=$(pgrep -xf "wireguard-go -f $SERVER_IF" || true)
        [ -z "$server_wg" ] && break
        sleep 0.2
    done
    for p in $server_wg; do stop_pid "$p" 5; done # the server's wireguard-go, if it outlived the server
    rm -f "/var/run/wireguard/$NODE_IF.sock" "/var/run/wireguard/$SERVER_IF.sock"
    rm -rf "$WORK"
    # what must be gone now
    ip netns list 2>/dev/null | grep -qw "$NS" && left+=("netns $NS")
    for p in "$HOST_VETH" "$NODE_VETH" "$SERVER_IF" "$NODE_IF"; do
        ip link show dev "$p" >/dev/null 2>&1 && left+=("link $p")
    done
    for p in $SERVER_PID $NODE_WG_PID $server_wg; do kill -0 "$p" 2>/dev/null && left+=("process $p"); done
    [ -e "$WORK" ] && left+=("directory $WORK")
    if [ ${#left[@]} -gt 0 ]; then
        say "left behind: ${left[*]}"
        [ "$rc" -eq 0 ] && rc=1
    else
        say "removed: netns $NS, veth $HOST_VETH/$NODE_VETH, interfaces $SERVER_IF and $NODE_IF, processes${SERVER_PID:+ $SERVER_PID}${NODE_WG_PID:+ $NODE_WG_PID}, $WORK"
    fi
    if [ "$rc" -eq 0 ]; then
        section "Done: demo passed in $((SECONDS - T_BUILT)) s after the build"
    else
        section "FAILED (exit status $rc)"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'printf "demo: error: this step failed (exit status %s): %s\n" "$?" "$BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { # a TCP and UDP port nobody listens on
    local p i
    for ((i = 0; i < 100; i++)); do
        p=$((20000 + RANDOM % 40000))
        if [ -z "$(ss -Hlntu "sport = :$p" 2>/dev/null)" ]; then echo "$p"; return 0; fi
    done
    die "no free port found"
}

# wait_for <seconds> <what> <command...>: polls the command every 0.2 s until it succeeds
wait_for() {
    local seconds=$1 what=$2 deadline=$((SECONDS + $1))
    shift 2
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || die "$what: not within $seconds s"
        sleep 0.2
    done
}

# the simulated Talos node: a JVM in the node's namespace, bounded in time
node_agent() {
    ip netns exec "$NS" timeout --kill-after=5 60 "$JAVA" -XX:TieredStopAtLevel=1 -Xshare:auto -Xmx128m \
        -cp "$NODE_CP" dev.siderolink.server.e2e.NodeAgent "$@"
}

# ---- the node's network: a namespace joined to this host by a veth pair ----
section "Network"
ip netns add "$NS"
ip link add "$HOST_VETH" type veth peer name "$NODE_VETH"
ip link set "$NODE_VETH" netns "$NS"
ip -6 address add "$HOST_ADDR/64" dev "$HOST_VETH" nodad
ip link set "$HOST_VETH" up
ip -n "$NS" -6 address add "$NODE_LAN_ADDR/64" dev "$NODE_VETH" nodad
ip -n "$NS" link set "$NODE_VETH" up
ip -n "$NS" link set lo up
say "lab: netns=$NS host_veth=$HOST_VETH node_veth=$NODE_VETH server_if=$SERVER_IF node_if=$NODE_IF"
say "the node's network: $NODE_LAN_ADDR/64 on $NODE_VETH (in $NS), the server's host: $HOST_ADDR on $HOST_VETH"

# ---- what Sidero would have created before the machine boots ----
UUID=$(cat /proc/sys/kernel/random/uuid)
MM_NAMESPACE=default
MM_NAME=demo-cp-1
MACHINE=demo-cp-1-x7k2p
CLUSTER=demo-cluster
HOSTNAME_REPORTED=talos-demo-$SUFFIX
mkdir -p "$STATE/serverbindings" "$STATE/metalmachines/$MM_NAMESPACE"
cat >"$STATE/serverbindings/$UUID.yaml" <<EOF
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
kind: ServerBinding
metadata:
  name: $UUID
  labels:
    cluster.x-k8s.io/cluster-name: $CLUSTER
spec:
  metalMachineRef:
    namespace: $MM_NAMESPACE
    name: $MM_NAME
EOF
cat >"$STATE/metalmachines/$MM_NAMESPACE/$MM_NAME.yaml" <<EOF
apiVersion: infrastructure.cluster.x-k8s.io/v1alpha3
kind: MetalMachine
metadata:
  namespace: $MM_NAMESPACE
  name: $MM_NAME
  ownerReferences:
    - apiVersion: cluster.x-k8s.io/v1beta1
      kind: Machine
      name: $MACHINE
      uid: 00000000-0000-4000-8000-000000000001
      controller: true
EOF

# ---- the server ----
section "Server"
API_PORT=$(free_port)
HTTP_PORT=$(free_port)
WG_PORT=$(free_port)
say "standalone state: $STATE (a ServerBinding for server $UUID pointing at MetalMachine $MM_NAMESPACE/$MM_NAME, owned by Machine $MACHINE, cluster $CLUSTER, as Sidero would have them)"
show "java -jar $JAR --siderolink.standalone.dir=$STATE --siderolink.wireguard.endpoint=$HOST_ADDR" \
    "--siderolink.wireguard.interface=$SERVER_IF --siderolink.wireguard.port=$WG_PORT --siderolink.api.port=$API_PORT" \
    "--server.port=$HTTP_PORT --server.address=127.0.0.1 >server.out 2>server.err"
# Everything else is the default: all components, the standalone store, both streams on stdout.
"$JAVA" -XX:TieredStopAtLevel=1 -Xshare:auto -jar "$JAR" \
    --siderolink.standalone.dir="$STATE" \
    --siderolink.wireguard.endpoint="$HOST_ADDR" \
    --siderolink.wireguard.interface="$SERVER_IF" \
    --siderolink.wireguard.port="$WG_PORT" \
    --siderolink.api.port="$API_PORT" \
    --server.port="$HTTP_PORT" \
    --server.address=127.0.0.1 \
    </dev/null >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
say "server pid: $SERVER_PID"
HEALTH=http://127.0.0.1:$HTTP_PORT/actuator/health
server_healthy() {
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during start-up"
    curl -sf -o /dev/null --max-time 2 "$HEALTH"
}
wait_for 90 "the server's /actuator/health answering UP" server_healthy
say "server up: pid $SERVER_PID, $((SECONDS - T_BUILT)) s after the build"
installation=$(grep -m1 'SideroLink installation: network' "$WORK/server.err" || true)
[ -n "$installation" ] || die "no 'SideroLink installation' line in the server's start-up log"
SERVER_ADDR=$(sed -E 's/.*server address ([0-9a-f:]+).*/\1/' <<<"$installation")
PREFIX=$(sed -E 's/.*network ([0-9a-f:]+\/64).*/\1/' <<<"$installation")
say "start-up log: SideroLink installation${installation#*SideroLink installation}"
say "installation prefix $PREFIX, server address $SERVER_ADDR"
say "a real Talos node of this installation boots with the kernel arguments:"
say "  siderolink.api=[$HOST_ADDR]:$API_PORT talos.logging.kernel=tcp://[$SERVER_ADDR]:4001 talos.events.sink=[$SERVER_ADDR]:4002"

# ---- the node boots: Provision, then its WireGuard interface as Talos sets it up ----
section "Node: Provision and tunnel"
NODE_KEY=$(wg genkey) # the node's private key stays in this shell and goes to wg on stdin
NODE_PUB=$(wg pubkey <<<"$NODE_KEY")
say "server_uuid: $UUID"
say "node -> Provision at [$HOST_ADDR]:$API_PORT (node_uuid=$UUID, node_public_key=$NODE_PUB)"
provision=$(node_agent provision "$HOST_ADDR" "$API_PORT" "$UUID" "$NODE_PUB")
field() { sed -n "s/^$1=//p" <<<"$provision"; }
ENDPOINT=$(field endpoint)
SERVER_KEY=$(field serverKey)
NODE_TUNNEL=$(field nodeAddress) # with /64
NODE_ADDR=${NODE_TUNNEL%/*}
[ "$(field serverAddress)" = "$SERVER_ADDR" ] || die "Provision answered server address '$(field serverAddress)', expected $SERVER_ADDR"
[ -n "$ENDPOINT" ] && [ -n "$SERVER_KEY" ] && [ -n "$NODE_ADDR" ] || die "incomplete Provision answer: $provision"
say "Provision answer: endpoint $ENDPOINT, server key $SERVER_KEY, server address $SERVER_ADDR, node address $NODE_TUNNEL"
ip netns exec "$NS" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f "$NODE_IF" \
    </dev/null >"$WORK/node-wireguard-go.log" 2>&1 &
NODE_WG_PID=$!
say "pids: server=$SERVER_PID node_wireguard_go=$NODE_WG_PID"
wait_for 10 "the node's wireguard-go" test -S "/var/run/wireguard/$NODE_IF.sock"
ip netns exec "$NS" wg set "$NODE_IF" private-key /dev/stdin peer "$SERVER_KEY" endpoint "$ENDPOINT" \
    allowed-ips "$SERVER_ADDR/128" persistent-keepalive 25 <<<"$NODE_KEY"
ip -n "$NS" -6 address add "$NODE_TUNNEL" dev "$NODE_IF" nodad
ip -n "$NS" link set dev "$NODE_IF" mtu 1280 up
handshake() { ip netns exec "$NS" wg show "$NODE_IF" latest-handshakes | awk '$2 > 0 {ok = 1} END {exit !ok}'; }
t=$SECONDS
wait_for 30 "the tunnel's first handshake" handshake
say "tunnel up: $NODE_IF (in $NS) $NODE_TUNNEL <-> $SERVER_IF $SERVER_ADDR, first handshake after $((SECONDS - t)) s"
show "wg show $SERVER_IF"
wg show "$SERVER_IF"

# ---- kernel logs over the tunnel ----
section "Node: kernel log lines over UDP and TCP"
boot_us=$(awk '{printf "%.0f", $1 * 1000000}' /proc/uptime)
kmsg() { # kmsg <seq> <facility> <priority> <talos-level> <msg>: one record as Talos encodes it (sorted keys)
    jq -cnS --argjson seq "$1" --argjson clock "$((boot_us + $1 * 1013))" --arg facility "$2" --arg priority "$3" \
        --arg level "$4" --arg msg "$5" --arg time "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" \
        '{clock: $clock, facility: $facility, msg: $msg, priority: $priority, seq: $seq, "talos-level": $level, "talos-time": $time}'
}
UDP_LINES=("$(kmsg 412 kern info info "demo node: kernel log line 412, sent over UDP")"
    "$(kmsg 413 user warning warn "[talos] demo node: kernel log line 413, sent over UDP")")
TCP_LINES=("$(kmsg 414 kern info info "demo node: kernel log line 414, sent over TCP")"
    "$(kmsg 415 user err error "[talos] demo node: kernel log line 415, sent over TCP")")
STDOUT=$WORK/server.out
arrived() { # arrived <json>...: every message is in the stream, annotated with this server
    local line
    for line in "$@"; do
        [ -n "$(jq -c -R --arg uuid "$UUID" --arg msg "$(jq -r .msg <<<"$line")" \
            'fromjson? | select(.server_uuid == $uuid and .msg == $msg)' "$STDOUT")" ] || return 1
    done
}
for line in "${UDP_LINES[@]}"; do say "udp> $line"; done
node_agent udp "$SERVER_ADDR" 4001 "${UDP_LINES[@]}"
if ! (wait_for 5 "" arrived "${UDP_LINES[@]}") 2>/dev/null; then
    say "(UDP datagrams can be lost; the node sends them once more)"
    node_agent udp "$SERVER_ADDR" 4001 "${UDP_LINES[@]}"
    wait_for 10 "the UDP log lines in the serverlogs stream" arrived "${UDP_LINES[@]}"
fi
for line in "${TCP_LINES[@]}"; do say "tcp> $line"; done
node_agent tcp "$SERVER_ADDR" 4001 "${TCP_LINES[@]}"
wait_for 10 "the TCP log lines in the serverlogs stream" arrived "${TCP_LINES[@]}"
say "sent to udp://[$SERVER_ADDR]:4001 and tcp://[$SERVER_ADDR]:4001 from $NODE_ADDR: all arrived"

# ---- events: the first boot ----
binding_file=$STATE/serverbindings/$UUID.yaml
conditions() { # one line per condition of the binding file: type status [reason]
    awk '/^status:/ {s = 1; next} /^[^ ]/ {s = 0}
         s && /- type:|^ *type:/ {sub(/.*type: */, ""); t = $0}
         s && /^ *status:/ {sub(/.*status: */, ""); st = $0}
         s && /^ *reason:/ {sub(/.*reason: */, ""); r = $0}
         s && /^ *lastTransitionTime:/ {print "  " t " " st (r == "" ? "" : " (" r ")"); t = st = r = ""}' "$binding_file" | tr -d '"'"'"
}
section "Node: events of the install stage (events.EventSinkService/Publish to [$SERVER_ADDR]:4002)"
node_agent boot-events "$SERVER_ADDR" 4002 install "$HOSTNAME_REPORTED" "$NODE_LAN_ADDR,$NODE_ADDR"
say "conditions of ServerBinding $UUID now (the install is running):"
conditions

section "Node: events of the boot stage (the installer reboots into the installed system)"
node_agent boot-events "$SERVER_ADDR" 4002 boot "$HOSTNAME_REPORTED" "$NODE_LAN_ADDR,$NODE_ADDR"
EVENTS_SENT=13
event_lines() { jq -R --arg uuid "$UUID" 'fromjson? | select(.component == "sink" and .server_uuid == $uuid)' "$STDOUT" | jq -s length; }
all_events() { [ "$(event_lines)" -ge "$EVENTS_SENT" ]; }
wait_for 10 "the $EVENTS_SENT event lines in the serverevents stream" all_events
connected() { grep -A3 'type: "\{0,1\}SideroLinkConnected' "$binding_file" | grep -q 'status: "\{0,1\}True'; }
wait_for 20 "SideroLinkConnected=True on the ServerBinding" connected

# ---- what an operator sees ----
section "serverlogs: the kernel log lines of server $UUID"
say "(in a cluster: kubectl -n sidero-system logs deployment/sidero-controller-manager -c serverlogs | jq ...;"
say " here both streams share the server's stdout, and event lines are the ones with component \"sink\")"
show "jq -c -R 'fromjson? | select(.server_uuid == \"$UUID\" and .component != \"sink\")' server.out"
jq -c -R --arg uuid "$UUID" 'fromjson? | select(.server_uuid == $uuid and .component != "sink")' "$STDOUT"
show "jq -r -R 'fromjson? | select(.cluster == \"$CLUSTER\" and .component != \"sink\") | \"\\(.machine) \\(.[\"talos-level\"]) \\(.msg)\"' server.out"
jq -r -R --arg cluster "$CLUSTER" \
    'fromjson? | select(.cluster == $cluster and .component != "sink") | "\(.machine) \(.["talos-level"]) \(.msg)"' "$STDOUT"

section "serverevents: the event lines of server $UUID"
show "jq -c -R 'fromjson? | select(.component == \"sink\" and .server_uuid == \"$UUID\")' server.out"
jq -c -R --arg uuid "$UUID" 'fromjson? | select(.component == "sink" and .server_uuid == $uuid)' "$STDOUT"
summary='fromjson? | select(.component == "sink") | [.id, .level, (.type | sub(".*/machine."; "")), (.sequence // .phase // .task // .service // .stage // .hostname // .cmd | tostring), (.action // (.addresses | join(",")) // "")] | @tsv'
show "jq -r -R '$summary' server.out"
jq -r -R "$summary" "$STDOUT"

section "ServerBinding $UUID ($STATE/serverbindings/$UUID.yaml)"
say "(kubectl get serverbinding $UUID -o yaml in a cluster)"
cat "$binding_file"

section "MetalMachine $MM_NAMESPACE/$MM_NAME: status mirrored from the binding"
awk '/^status:/ {s = 1} /^[^ ]/ && !/^status:/ {s = 0} s' "$STATE/metalmachines/$MM_NAMESPACE/$MM_NAME.yaml"

section "Health and metrics"
show "curl -s $HEALTH | jq -c '{status} + (.components | {wireguard, serverlogs, serverevents} | map_values(.status))'"
curl -s "$HEALTH" | jq -c '{status} + (.components | {wireguard, serverlogs, serverevents} | map_values(.status))'
metrics='^siderolink_(logs_(received|written|dropped)_total|events_(received|status_updates|failures)_total|wireguard_peers)'
show "curl -s http://127.0.0.1:$HTTP_PORT/actuator/prometheus | grep -E '$metrics' | grep -v ' 0.0\$'"
curl -s "http://127.0.0.1:$HTTP_PORT/actuator/prometheus" | grep -E "$metrics" | grep -v ' 0\.0$' || true
