# Shared by the benchmark scripts (source it after `cd` to the repository root): a work folder
# and a PostgreSQL cluster folder removed on exit (Ctrl-C included), the server they start
# stopped, and small helpers. A script sets pgport once its cluster runs and server_pid once
# its server does.

started=$SECONDS
work=$(mktemp -d)
pgdir=$(mktemp -d) # its own folder: it is handed to the postgres user when root
pgport=""
server_pid=""

stop_server() {
    if [[ -n $server_pid ]]; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}

cleanup() {
    stop_server
    if [[ -n $pgport ]]; then
        scripts/pg-cluster.sh stop "$pgdir" || true
    fi
    rm -rf "$work" "$pgdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# step TITLE: a heading with the seconds since the start.
step() {
    printf '\n== %s [%ds]\n' "$1" $((SECONDS - started))
}

# A TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server BINARY DATABASE_URL [VAR=VALUE ...]: BINARY serve on a free port with the given
# environment (COI_LOG_LEVEL=warn first); sets base and server_pid once /healthz answers, exits
# with the server's log when it does not.
start_server() {
    local bin=$1 database=$2 port i
    shift 2
    port=$(free_port)
    base="http://127.0.0.1:$port"
    env COI_LOG_LEVEL=warn "$@" COI_LISTEN="127.0.0.1:$port" COI_DATABASE="$database" \
        "$bin" serve >>"$work/serve.log" 2>&1 &
    server_pid=$!
    for ((i = 0; i < 100; i++)); do
        if curl -fs -o /dev/null "$base/healthz"; then
            return 0
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    cat "$work/serve.log" >&2
    echo "$0: $bin serve did not start" >&2
    exit 1
}
