#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests, on a Unix socket in DIR: start, stop or url.
set -euo pipefail

BIN=/usr/lib/postgresql/15/bin

usage() {
    echo "usage: $0 start DIR PORT | stop DIR | url DIR PORT [DBNAME]" >&2
    exit 2
}

# initdb and postgres refuse to run as root: then DIR belongs to, and they run as, postgres.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

check_port() {
    if ! [[ $1 =~ ^[0-9]{1,5}$ ]] || ((10#$1 == 0 || 10#$1 > 65535)); then
        echo "pg-cluster: bad port: $1" >&2
        exit 2
    fi
}

# Percent-encodes a value for a postgresql:// URI query (libpq decodes it).
uri_encode() {
    local s=$1 out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case "$c" in
        [A-Za-z0-9/._~-]) out+=$c ;;
        *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

start() {
    local dir port data log
    dir=$(cd "$1" && pwd)
    port=$2
    data="$dir/data"
    log="$dir/postgres.log"
    check_port "$port"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$dir"
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
        if ! as_owner "$BIN/initdb" -D "$data" -A trust -U postgres --no-sync -E UTF8 \
            --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
            cat "$dir/initdb.log" >&2
            echo "pg-cluster: initdb failed in $data" >&2
            exit 1
        fi
        # Settings for a disposable test database: no TCP, no durability.
        local sockdir=${dir//\'/\'\'}
        as_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF

# pg-cluster.sh test settings
listen_addresses = ''
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
    fi
    if as_owner "$BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        : # already running: only wait until it answers
    elif ! as_owner "$BIN/pg_ctl" -D "$data" -l "$log" -o "-p $port" -w -t 60 start >/dev/null; then
        cat "$log" >&2 2>/dev/null || true
        echo "pg-cluster: postgres did not start in $data" >&2
        exit 1
    fi
    local i
    for ((i = 0; i < 100; i++)); do
        if "$BIN/pg_isready" -q -h "$dir" -p "$port" -U postgres -d postgres; then
            return 0
        fi
        sleep 0.1
    done
    cat "$log" >&2 2>/dev/null || true
    echo "pg-cluster: postgres does not accept connections on $dir port $port" >&2
    exit 1
}

stop() {
    local data="$1/data"
    [[ -f "$data/postmaster.pid" ]] || return 0
    as_owner "$BIN/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
}

url() {
    local dir
    dir=$(cd "$1" && pwd)
    check_port "$2"
    printf 'postgresql:///%s?host=%s&port=%s&user=postgres\n' "$(uri_encode "${3:-postgres}")" \
        "$(uri_encode "$dir")" "$2"
}

case "${1:-}" in
start) [[ $# -eq 3 ]] || usage; start "$2" "$3" ;;
stop) [[ $# -eq 2 ]] || usage; stop "$2" ;;
url) [[ $# -eq 3 || $# -eq 4 ]] || usage; url "$2" "$3" "${4:-}" ;;
*) usage ;;
esac
