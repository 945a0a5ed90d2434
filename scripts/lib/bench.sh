# Shared by scripts/bench-events.sh and scripts/bench-provision.sh: logging, and building what the
# load generator runs. Source it after setting JAR, LOAD_CLASS, CP_FILE and BUILD.

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

needs_build() {
  [[ -f $JAR && -f $LOAD_CLASS ]] || return 0
  [[ -n $(find src pom.xml -newer "$JAR" -print -quit) ]] && return 0
  [[ -n $(find src/test -newer "$LOAD_CLASS" -print -quit) ]] && return 0
  return 1
}

# Builds the jar and test classes as BUILD (auto, always, never) says, resolves the test classpath
# when the pom changed, and sets CLIENT_CP for the generator.
bench_build() {
  local rebuild
  case $BUILD in
    always) rebuild=1 ;;
    never) rebuild=0; [[ -f $JAR && -f $LOAD_CLASS ]] || die "BUILD=never but $JAR or $LOAD_CLASS is missing" ;;
    auto) if needs_build; then rebuild=1; else rebuild=0; fi ;;
    *) die "BUILD must be auto, always or never" ;;
  esac
  if (( rebuild )); then
    log "building the server jar and test classes (./mvnw -DskipTests package)"
    ./mvnw -B -q -DskipTests package
  fi
  if [[ ! -s $CP_FILE || pom.xml -nt $CP_FILE ]]; then
    log "resolving the test classpath"
    ./mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$CP_FILE" >/dev/null
  fi
  CLIENT_CP="target/test-classes:target/classes:$(cat "$CP_FILE")"
}
