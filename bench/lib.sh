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
