#!/usr/bin/env bash
# The performance benchmark of issue 8 (`make bench`): coi side by side with a Fastify + pg peer
# (bench/peer/) and with the machine's own ceilings, on one generated data set.
#
# A throwaway PostgreSQL 15 cluster gets coi's schema (`coi migrate`) and 10 000 published
# cases with their organisations, partners, history, adoptions and evaluations
# (bench/gen_cases.sh); a SQLite copy of the same rows is made for the embedded default
# (bench/sqlite_copy.py). wrk (2 threads, 64 connections, a 2 s warm-up before each run) then
# measures, BENCH_SECONDS each:
#   coi         GET /v1/cases/{id} anonymous and as a partner, GET /v1/cases?limit=50,
#               GET /v1/cases?q=hjemmepleje&limit=20, GET /v1/cases/facets, POST /v1/cases
#   peer        GET /v1/cases/{id}, GET /v1/cases?limit=50 (checked first to answer exactly as
#               coi does, 404 included)
#   ceilings    GET /healthz on coi (the HTTP layer alone), and pgbench running the statements
#               coi ran for one GET /v1/cases/{id} (the database alone), 64 clients
#   coi-sqlite  GET /v1/cases/{id}, GET /v1/cases?limit=50
# Random ids are drawn from the published ones. coi logs at warn (no access log line per
# request; the peer logs nothing either). The table and the ratios go to stdout, the figures
# to bench/results/latest.json.
#
# BENCH_SECONDS (10) per measurement, COI_DB_POOL_SIZE (8) connections for coi and the peer
# alike, COI_BIN (build/coi) the coi binary (a release build), BENCH_PUBLISHED (10000),
# BENCH_PRIME (1): before a scenario over random ids, read each id once (bench/prime.mjs); 0
# measures from a cold start instead (coi's response cache then fills during the run).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${BENCH_SECONDS:-10}
pool=${COI_DB_POOL_SIZE:-8}
coi=${COI_BIN:-build/coi}
published=${BENCH_PUBLISHED:-10000}
connections=64
warmup=2
results=bench/results/latest.json

for v in seconds pool published; do
    if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
        echo "bench/run.sh: $v must be a positive integer, not '${!v}'" >&2
        exit 2
    fi
done
pgbench=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
for tool in wrk "$pgbench" psql node npm python3 curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench/run.sh: $tool is missing (make bench installs what it needs)" >&2
        exit 1
    fi
done

started=$SECONDS
work=$(mktemp -d)
pgdir=$(mktemp -d) # its own folder: it is handed to the postgres user when root
pgport=""
pids=()

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n $pgport ]]; then
        scripts/pg-cluster.sh stop "$pgdir" || true
    fi
    rm -rf "$work" "$pgdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() {
    printf '\n== %s [%ds]\n' "$1" $((SECONDS - started))
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The benchmark's own sessions are named coi-bench: the statement capture leaves them out.
psql_bench() {
    PGAPPNAME=coi-bench psql -X -q -v ON_ERROR_STOP=1 -d "$url" "$@"
}

# wait_http URL PID NAME LOG: until URL answers 200, or fails when the process PID has ended.
wait_http() {
    local i
    for ((i = 0; i < 100; i++)); do
        if curl -fs -o /dev/null "$1"; then
            return 0
        fi
        if ! kill -0 "$2" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    cat "$4" >&2 || true
    echo "bench/run.sh: $3 did not start" >&2
    exit 1
}

# start_coi DATABASE NAME: coi serve on a free port; sets coi_base and coi_pid.
start_coi() {
    local port
    port=$(free_port)
    coi_base="http://127.0.0.1:$port"
    COI_LISTEN="127.0.0.1:$port" COI_DATABASE="$1" COI_DB_POOL_SIZE="$pool" \
        COI_LOG_LEVEL=warn "$coi" serve >>"$work/$2.log" 2>&1 &
    coi_pid=$!
    pids+=("$coi_pid")
    wait_http "$coi_base/healthz" "$coi_pid" "$2" "$work/$2.log"
}

# expect_status STATUS URL: fails unless a GET of URL answers STATUS.
expect_status() {
    local status
    status=$(curl -s -o "$work/answer" -w '%{http_code}' "$2")
    if [[ $status != "$1" ]]; then
        head -c 2000 "$work/answer" >&2 || true
        echo >&2
        echo "bench/run.sh: GET $2 answered $status, not $1" >&2
        exit 1
    fi
}

# wrk_scenario NAME SERVER PID URL [VAR=VALUE...]: a warm-up, then the measured run; the
# VAR=VALUE pairs configure bench/wrk.lua. A request unanswered after 2 s is a timeout error.
wrk_scenario() {
    local name=$1 server=$2 pid=$3 target=$4 out="$work/wrk-$1-$2.txt" arg token=""
    shift 4
    printf '%-18s %-11s' "$name" "$server"
    # A scenario over many ids first reads each of them once (bench/prime.mjs).
    if [[ $target == *_ID_* && ${BENCH_PRIME:-1} == 1 ]]; then
        for arg in "$@"; do
            [[ $arg == BENCH_TOKEN=* ]] && token=${arg#BENCH_TOKEN=}
        done
        node bench/prime.mjs "$target" "$work/published-ids" "$token"
    fi
    env "$@" wrk -t2 -c"$connections" -d"${warmup}s" --timeout 2s -s bench/wrk.lua "$target" >/dev/null
    sleep 1 # requests of the warm-up still queued in the server
    env "$@" wrk -t2 -c"$connections" -d"${seconds}s" --timeout 2s --latency -s bench/wrk.lua "$target" \
        >"$out"
    python3 bench/measure.py wrk-result "$name" "$server" "$pid" "$out" "$work/results.jsonl"
    tail -n 1 "$work/results.jsonl"
}

step "coi binary and the peer's dependencies"
if [[ ! -x $coi ]]; then
    echo "bench/run.sh: no coi binary at $coi (make bench builds it)" >&2
    exit 1
fi
"$coi" --version
if [[ ! bench/peer/node_modules/.package-lock.json -nt bench/peer/package-lock.json ]]; then
    (cd bench/peer && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "node $(node --version), $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), $("$pgbench" --version)"

step "PostgreSQL 15 cluster"
pgport=$(free_port)
scripts/pg-cluster.sh start "$pgdir" "$pgport"
psql -X -q -v ON_ERROR_STOP=1 -d "$(scripts/pg-cluster.sh url "$pgdir" "$pgport")" \
    -c "CREATE DATABASE coi_bench"
url=$(scripts/pg-cluster.sh url "$pgdir" "$pgport" coi_bench)
echo "cluster in $pgdir, port $pgport"

step "migrate and load $published published cases"
COI_DATABASE="$url" "$coi" migrate
bench/gen_cases.sh "$url" "published=$published" "$(nproc)"
psql_bench -c "VACUUM (ANALYZE)"
# The published ids: wrk draws from the file, pgbench from bench.ids.
psql_bench -c "CREATE SCHEMA bench" \
    -c "CREATE TABLE bench.ids AS SELECT row_number() OVER (ORDER BY id)::int AS n, id
        FROM cases WHERE status = 'published'" \
    -c "ALTER TABLE bench.ids ADD PRIMARY KEY (n)" -c "ANALYZE bench.ids"
psql_bench -At -c "SELECT id FROM bench.ids ORDER BY n" >"$work/published-ids"
count=$(wc -l <"$work/published-ids")
if ((count != published)); then
    echo "bench/run.sh: $count published cases loaded, not $published" >&2
    exit 1
fi
hidden_id=$(psql_bench -At -c "SELECT id FROM cases WHERE status <> 'published' ORDER BY id LIMIT 1")
psql_bench -At -c "SELECT count(*) || ' cases (' || count(*) FILTER (WHERE status = 'published')
    || ' published), ' || (SELECT count(*) FROM case_partners) || ' partners, '
    || (SELECT count(*) FROM adoptions) || ' adoptions, '
    || (SELECT count(*) FROM evaluations) || ' evaluations, '
    || (SELECT count(*) FROM case_history) || ' history entries' FROM cases"

step "SQLite copy"
python3 bench/sqlite_copy.py "$coi" "$url" "$work/coi.db"

step "servers (pool size $pool)"
export COI_JWT_SECRET
COI_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
partner_token=$("$coi" token --role partner --org 0751 --sub bench-partner --ttl 86400)
start_coi "$url" coi
coi_pg_base=$coi_base
coi_pg_pid=$coi_pid
peer_port=$(free_port)
peer_base="http://127.0.0.1:$peer_port"
PORT=$peer_port POOL_SIZE=$pool PGHOST=$pgdir PGPORT=$pgport PGUSER=postgres \
    PGDATABASE=coi_bench PGAPPNAME=coi-bench-peer node bench/peer/server.js >>"$work/peer.log" 2>&1 &
peer_pid=$!
pids+=("$peer_pid")
wait_http "$peer_base/healthz" "$peer_pid" "the peer" "$work/peer.log"
echo "coi $coi_pg_base (pid $coi_pg_pid), peer $peer_base (pid $peer_pid)"

step "the peer answers as coi does"
probe_id=$(sed -n "$((count / 2))p" "$work/published-ids")
for server in coi peer; do
    base=$coi_pg_base
    [[ $server == peer ]] && base=$peer_base
    expect_status 200 "$base/v1/cases/$probe_id"
    mv "$work/answer" "$work/case-$server.json"
    expect_status 200 "$base/v1/cases?limit=50"
    mv "$work/answer" "$work/page-$server.json"
    expect_status 404 "$base/v1/cases/$hidden_id"
    expect_status 404 "$base/v1/cases/00000000-0000-7000-8000-000000000000"
done
python3 bench/measure.py compare case "$work/case-coi.json" "$work/case-peer.json"
python3 bench/measure.py compare page "$work/page-coi.json" "$work/page-peer.json"
echo "GET /v1/cases/{id} and GET /v1/cases?limit=50: the same fields, order and values"
expect_status 200 "$coi_pg_base/v1/cases?q=hjemmepleje&limit=20"
if ! grep -q '"id"' "$work/answer"; then
    echo "bench/run.sh: a search for hjemmepleje found nothing" >&2
    exit 1
fi

# What coi asks PostgreSQL for one case, read from the server log while every statement is
# logged, for pgbench to run as it is (on a case that has not been read yet).
step "the SQL of one GET /v1/cases/{id}"
sql_id=$(sed -n "$((count / 3))p" "$work/published-ids")
psql_bench -c "ALTER SYSTEM SET log_statement = 'all'" \
    -c "ALTER SYSTEM SET log_line_prefix = '%m [%p] %a: '" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
offset=$(stat -c %s "$pgdir/postgres.log")
expect_status 200 "$coi_pg_base/v1/cases/$sql_id"
sleep 0.5
psql_bench -c "ALTER SYSTEM RESET log_statement" -c "ALTER SYSTEM RESET log_line_prefix" \
    -c "SELECT pg_reload_conf()" >/dev/null
python3 bench/measure.py pgbench-script "$pgdir/postgres.log" "$offset" "$sql_id" "$work/get_case.sql"
cat "$work/get_case.sql"

step "measure: ${seconds} s each after a ${warmup} s warm-up, $connections connections"
cat >"$work/case.json" <<'JSON'
{"organisation_code": "0751", "title": "Hjemmeplejen planlægger selv ruterne",
 "summary": "Medarbejderne i hjemmeplejen lægger selv køreplanen hver morgen.",
 "innovation_types": ["workflow", "role"], "sector": "elderly_care",
 "tags": ["hjemmepleje", "selvstyrende teams"], "effect_types": ["quality"]}
JSON
ids=BENCH_IDS=$work/published-ids
wrk_scenario get_case coi "$coi_pg_pid" "$coi_pg_base/v1/cases/_ID_" "$ids"
wrk_scenario get_case_partner coi "$coi_pg_pid" "$coi_pg_base/v1/cases/_ID_" "$ids" \
    "BENCH_TOKEN=$partner_token"
wrk_scenario list_cases coi "$coi_pg_pid" "$coi_pg_base/v1/cases?limit=50"
wrk_scenario search_cases coi "$coi_pg_pid" "$coi_pg_base/v1/cases?q=hjemmepleje&limit=20"
wrk_scenario facets coi "$coi_pg_pid" "$coi_pg_base/v1/cases/facets"
wrk_scenario get_case peer "$peer_pid" "$peer_base/v1/cases/_ID_" "$ids"
wrk_scenario list_cases peer "$peer_pid" "$peer_base/v1/cases?limit=50"
wrk_scenario healthz coi "$coi_pg_pid" "$coi_pg_base/healthz"

printf '%-18s %-11s' get_case_sql pgbench
pg_args=(-n -h "$pgdir" -p "$pgport" -U postgres -c "$connections" -j 2 -M prepared
    -D "count=$count" -f "$work/get_case.sql")
PGAPPNAME=coi-bench "$pgbench" "${pg_args[@]}" -T "$warmup" coi_bench >/dev/null 2>&1
PGAPPNAME=coi-bench "$pgbench" "${pg_args[@]}" -T "$seconds" -l --log-prefix="$work/pgbench-log" coi_bench \
    >"$work/pgbench-output.txt" 2>&1 || {
    cat "$work/pgbench-output.txt" >&2
    echo "bench/run.sh: pgbench failed" >&2
    exit 1
}
python3 bench/measure.py pgbench-result get_case_sql pgbench "$work/pgbench-output.txt" \
    "$work/pgbench-log" "$work/results.jsonl"
tail -n 1 "$work/results.jsonl"

# Last on PostgreSQL: every request adds a (draft) case.
wrk_scenario create_case coi "$coi_pg_pid" "$coi_pg_base/v1/cases" BENCH_METHOD=POST \
    "BENCH_BODY_FILE=$work/case.json" "BENCH_TOKEN=$partner_token"

start_coi "sqlite:$work/coi.db" coi-sqlite
expect_status 200 "$coi_base/v1/cases/$probe_id"
mv "$work/answer" "$work/case-sqlite.json"
python3 bench/measure.py compare copy "$work/case-coi.json" "$work/case-sqlite.json"
wrk_scenario get_case coi-sqlite "$coi_pid" "$coi_base/v1/cases/_ID_" "$ids"
wrk_scenario list_cases coi-sqlite "$coi_pid" "$coi_base/v1/cases?limit=50"

step "results"
mkdir -p bench/results
python3 bench/measure.py summary "$work/results.jsonl" "$seconds" "$results"
echo "figures in $results; pool size $pool; whole run $((SECONDS - started)) s"
