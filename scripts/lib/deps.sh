# Sourced by the scripts: installs the system packages the server and its tests need, when
# missing. On a fresh Debian machine as root this needs no input; elsewhere it says what to do.
#
# ensure_packages [command[:package]...]
#   always: wg (wireguard-tools), wireguard-go, ip (iproute2); plus each command named, from the
#   package of the same name unless one is given (e.g. `ensure_packages jq curl`).

ensure_packages() {
    local missing=() spec
    command -v wg >/dev/null 2>&1 || missing+=(wireguard-tools)
    command -v wireguard-go >/dev/null 2>&1 || missing+=(wireguard-go)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null 2>&1 || missing+=("${spec#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing ${missing[*]} ..." >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    else
        echo "warning: ${missing[*]} not installed and cannot install them here (needs root and apt-get);" >&2
        echo "         tests that need WireGuard will be skipped with that reason" >&2
    fi
}
