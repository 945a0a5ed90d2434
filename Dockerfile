# SideroLink server image: one image for the chart's three containers (link, serverlogs,
# serverevents); the first argument picks the component(s), see src/main/docker/entrypoint.sh.
#
#   docker build -t siderolink-server:0.1.0-SNAPSHOT .
#   docker run --rm --cap-add NET_ADMIN --device /dev/net/tun --user 0 siderolink-server:0.1.0-SNAPSHOT \
#       link,serverlogs,serverevents --siderolink.wireguard.endpoint=203.0.113.10
#
# Never built by us: the machines this project is developed on run no container engine and cannot
# pull base images. The build stage's two Maven commands were run on Debian bookworm's JDK 17 with an
# empty local repository, and the entrypoint is tested against the packaged jar (EntrypointIT); the
# image itself is untested. See docs/deployment.md.

# ---- build: the project's Maven wrapper on Debian's JDK 17 ----
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        openjdk-17-jdk-headless ca-certificates curl unzip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, in their own layer: it is rebuilt only when the pom or the wrapper change.
# (go-offline does not fetch everything: protoc and version-range metadata come with `package`.)
COPY mvnw pom.xml ./
COPY .mvn .mvn
RUN ./mvnw -B -ntp -q dependency:go-offline
COPY src src
# Tests need root, WireGuard and network namespaces; they run in CI (scripts/test.sh), not here.
RUN ./mvnw -B -ntp -DskipTests package

# ---- runtime: JRE 17 and the WireGuard tools the link component runs ----
FROM debian:bookworm-slim
# The man directory: openjdk's postinst registers man pages with update-alternatives, which
# fails in slim images where /usr/share/man/man1 was removed.
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        openjdk-17-jre-headless wireguard-tools wireguard-go iproute2 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 siderolink \
 && useradd --system --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin siderolink \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/siderolink
COPY --from=build /src/target/siderolink-server.jar /app/siderolink-server.jar
COPY src/main/docker/entrypoint.sh /app/entrypoint.sh
# The standalone store (the default outside Kubernetes) keeps its state here: mount a volume
# there (docker run -v siderolink-state:/var/lib/siderolink ...). The chart uses the kubernetes store.
ENV SIDEROLINK_STANDALONE_DIR=/var/lib/siderolink
# Heap from the container's memory limit (the JVM's default takes a quarter of it).
ENV JAVA_OPTS="-XX:MaxRAMPercentage=75 -XX:+ExitOnOutOfMemoryError"
# Non-root by default: serverlogs and serverevents need no privilege at all.
#
# The link component creates the WireGuard interface (`ip link add`, or wireguard-go opening
# /dev/net/tun with TUNSETIFF), adds the address and sets the peers: all of that needs
# CAP_NET_ADMIN in the process that runs `ip`, `wg` and `wireguard-go`, i.e. in java's children.
# A non-root process hands a capability to its children only as an "ambient" capability, and
# neither Kubernetes nor Docker can grant ambient capabilities (capabilities.add only reaches the
# bounding set for a non-root user); the alternative, file capabilities on ip/wg/wireguard-go,
# needs allowPrivilegeEscalation. So the link container runs as uid 0 with every capability
# dropped except NET_ADMIN and no privilege escalation (the chart does this; with docker:
# --user 0 --cap-add NET_ADMIN --device /dev/net/tun). wireguard-go also writes its control
# socket to /var/run/wireguard (an emptyDir in the chart, for the read-only root filesystem).
USER 10001:10001
WORKDIR /app
# 4001 (kernel logs, TCP and UDP) and 4002 (events) listen on the tunnel address only.
EXPOSE 51821/udp 8081/tcp 8080/tcp
ENTRYPOINT ["/app/entrypoint.sh"]
CMD ["link,serverlogs,serverevents"]
