#!/bin/sh
# The image's entrypoint: one image serves the chart's three containers.
#
#   entrypoint.sh <components> [--property=value ...]
#
# <components> is what runs in this process: link, serverlogs, serverevents, or a comma-joined
# list of them (link,serverlogs,serverevents runs everything in one process). The remaining
# arguments go to the server unchanged (Spring Boot command-line properties).
#
# Environment: JAVA_OPTS (JVM options, word-split), SIDEROLINK_JAR (the jar; the image's copy by
# default: tests point it at target/siderolink-server.jar), JAVA_HOME (java from $JAVA_HOME/bin
# when set, else from PATH).
set -eu

usage() {
    echo "usage: $0 <link|serverlogs|serverevents, comma-joined> [--property=value ...]" >&2
    exit 64
}

[ $# -ge 1 ] || usage
components=$1
shift
case "$components" in
    "" | -* | *[!a-z,]*) usage ;;
esac

jar=${SIDEROLINK_JAR:-/app/siderolink-server.jar}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

# exec: java becomes the container's main process and gets SIGTERM itself, so it shuts down in
# order (the link component removes its WireGuard interface).
# shellcheck disable=SC2086 # JAVA_OPTS is a list of options
exec "$java" ${JAVA_OPTS:-} -jar "$jar" "--siderolink.components=$components" "$@"
