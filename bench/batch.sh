#!/usr/bin/env bash
# The batch upsert benchmark of issue 7 (`make bench-batch`): 100 000 generated cases pushed
# through POST /v1/organisations/{code}/cases:batch in batches of 1000, against the target
# "under 20 s, and the service's resident memory under 64 MB while doing it".
#
# For each number of parallel streams in BENCH_BATCH_CONCURRENCY, on a fresh database of a
# throwaway PostgreSQL 15 cluster (scripts/pg-cluster.sh, schema by `coi migrate`) and a fresh
# release server (COI_LOG_LEVEL=warn, an editor token):
#   create     bench/batch_push.mjs generates the cases (deterministic Danish cases of ten lead
#              municipalities, one lead per batch; see its header), then pushes them and times
#              the whole push while sampling the server's VmRSS every 50 ms; every item must
#              come back `created`; the database must then hold exactly that many cases, each
#              with one history entry and one change-feed entry;
#   unchanged  the same bodies again: every item must come back `unchanged`, and neither
#              case_history nor the change feed may gain a row.
# A table goes to stdout, the figures to bench/results/batch-latest.json.
#
# BENCH_BATCH_CONCURRENCY ("1") parallel streams, a list runs each ("1 2"); BENCH_BATCH_FORMAT
# (ndjson) or json (arrays); BENCH_BATCH_CASES (100000); BENCH_BATCH_SIZE (1000);
# BENCH_BATCH_DURABLE (0): 1 turns fsync, full_page_writes and synchronous_commit back on (the
# throwaway cluster runs without them, as for the tests and the other benchmarks);
# COI_DB_POOL_SIZE (8); COI_BIN (build/coi) a release build; BENCH_BATCH_RESULTS the JSON file.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

coi=${COI_BIN:-build/coi}
cases=${BENCH_BATCH_CASES:-100000}
batch_size=${BENCH_BATCH_SIZE:-1000}
format=${BENCH_BATCH_FORMAT:-ndjson}
concurrencies=${BENCH_BATCH_CONCURRENCY:-1}
durable=${BENCH_BATCH_DURABLE:-0}
pool=${COI_DB_POOL_SIZE:-8}
target_seconds=20
target_rss_mb=64
results=${BENCH_BATCH_RESULTS:-bench/results/batch-latest.json}

concurrencies=${concurrencies//,/ }
for v in cases batch_size pool; do
    if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
        echo "bench/batch.sh: $v must be a positive integer, not '${!v}'" >&2
        exit 2
    fi
done
for c in $concurrencies; do
    if ! [[ $c =~ ^[1-9][0-9]*$ ]]; then
        echo "bench/batch.sh: BENCH_BATCH_CONCURRENCY holds positive integers, not '$c'" >&2
        exit 2
    fi
done
if [[ -z ${concurrencies// /} ]]; then
    echo "bench/batch.sh: BENCH_BATCH_CONCURRENCY is empty" >&2
    exit 2
fi
if [[ $format != ndjson && $format != json ]]; then
    echo "bench/batch.sh: BENCH_BATCH_FORMAT must be ndjson or json, not '$format'" >&2
    exit 2
fi
if [[ $durable != 0 && $durable != 1 ]]; then
    echo "bench/batch.sh: BENCH_BATCH_DURABLE must be 0 or 1, not '$durable'" >&2
    exit 2
fi
if [[ ! -x $coi ]]; then
    echo "bench/batch.sh: no coi binary at $coi (make bench-batch builds it)" >&2
    exit 1
fi
for tool in psql node python3 curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "bench/batch.sh: $tool is missing" >&2
        exit 1
    fi
done

# shellcheck source=bench/lib.sh
source bench/lib.sh

# psql_db DATABASE ARGS...: psql on a database of the cluster.
psql_db() {
    local db=$1
    shift
    PGAPPNAME=coi-bench psql -X -q -v ON_ERROR_STOP=1 -d "$(scripts/pg-cluster.sh url "$pgdir" "$pgport" "$db")" "$@"
}

# counts DATABASE: "cases history changes" as three numbers.
counts() {
    psql_db "$1" -At -F ' ' -c "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_history),
        (SELECT count(*) FROM changes)"
}

# expect WHAT GOT WANT: fails unless GOT equals WANT.
expect() {
    if [[ $2 != "$3" ]]; then
        echo "bench/batch.sh: FAILED: $1: $2, expected $3" >&2
        exit 1
    fi
    echo "  ok: $1 = $2"
}

step "coi binary"
"$coi" --version
echo "node $(node --version), $(psql --version)"

step "PostgreSQL 15 cluster"
pgport=$(free_port)
scripts/pg-cluster.sh start "$pgdir" "$pgport"
if ((durable)); then
    psql_db postgres -c "ALTER SYSTEM SET fsync = on" -c "ALTER SYSTEM SET full_page_writes = on" \
        -c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null
    sleep 0.5
fi
# For a failure's post-mortem only (they log, and change nothing measured): statements over
# 1 s, lock waits, autovacuum runs and checkpoints go to the cluster's log.
psql_db postgres -c "ALTER SYSTEM SET log_min_duration_statement = '1s'" \
    -c "ALTER SYSTEM SET log_lock_waits = on" -c "ALTER SYSTEM SET log_autovacuum_min_duration = 0" \
    -c "ALTER SYSTEM SET log_checkpoints = on" -c "SELECT pg_reload_conf()" >/dev/null
postmaster=$(head -n 1 "$pgdir/data/postmaster.pid")
psql_db postgres -At -c "SELECT json_build_object('version', current_setting('server_version'),
    'settings', (SELECT json_object_agg(name, setting || COALESCE(unit, '')) FROM pg_settings
                 WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers',
                                'wal_buffers', 'max_wal_size', 'checkpoint_timeout')))" \
    >"$work/postgres.json"
echo "cluster in $pgdir, port $pgport, postmaster $postmaster: $(cat "$work/postgres.json")"

export COI_JWT_SECRET
COI_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
token=$("$coi" token --role editor --sub bench-batch --ttl 86400)

# After a failed push: whether the server is still there, how it ended if not, and its log.
server_report() {
    local status
    if kill -0 "$server_pid" 2>/dev/null; then
        echo "bench/batch.sh: the server (pid $server_pid) is still running" >&2
    else
        wait "$server_pid" 2>/dev/null && status=0 || status=$?
        server_pid=""
        if ((status > 128)); then
            echo "bench/batch.sh: the server ended during the push, killed by signal $((status - 128))" \
                "($(kill -l $((status - 128)))); TERM/KILL: something outside this script stopped it" >&2
        else
            echo "bench/batch.sh: the server ended during the push with status $status" >&2
        fi
    fi
    echo "bench/batch.sh: the server's log (last 20 lines):" >&2
    tail -n 20 "$work/serve.log" >&2
    echo "bench/batch.sh: PostgreSQL's log (the last 40 lines but for the statements' text):" >&2
    grep -vE '^\s|STATEMENT|^(WITH|SELECT|INSERT)' "$pgdir/postgres.log" | cut -c1-300 | tail -n 40 >&2
}

push() { # push PASS CONCURRENCY
    if ! node bench/batch_push.mjs push --base "$base" --token "$token" --pid "$server_pid" \
        --pg-pid "$postmaster" --pass "$1" --concurrency "$2" --cases "$cases" \
        --batch-size "$batch_size" --format "$format" --out "$work/runs.jsonl"; then
        server_report
        exit 1
    fi
}

checked=0
for c in $concurrencies; do
    db=coi_batch_c$c
    step "concurrency $c: fresh database $db, migrate, serve (pool $pool)"
    psql_db postgres -c "CREATE DATABASE $db"
    url=$(scripts/pg-cluster.sh url "$pgdir" "$pgport" "$db")
    COI_DATABASE="$url" "$coi" migrate
    start_server "$coi" "$url" COI_DB_POOL_SIZE="$pool"
    echo "coi $base (pid $server_pid): VmRSS $(awk '/VmRSS/ {print $2, $3}' "/proc/$server_pid/status") after start"

    if ((!checked)) && [[ -d node_modules/ajv ]]; then
        step "the generated items against the OpenAPI schema (CaseBatchItem)"
        node bench/batch_push.mjs check --base "$base" --cases "$cases" --batch-size "$batch_size"
        checked=1
    elif ((!checked)); then
        echo "(node_modules/ajv is missing: the items are not checked against the OpenAPI schema; npm ci installs it)"
        checked=1
    fi

    step "concurrency $c: push $cases cases in batches of $batch_size ($format): all new"
    read -r n0 h0 f0 < <(counts "$db")
    expect "cases before" "$n0" 0
    push create "$c"
    read -r n1 h1 f1 < <(counts "$db")
    expect "cases in the database" "$n1" "$cases"
    expect "case_history rows" "$h1" "$((h0 + cases))"
    expect "change feed rows" "$f1" "$((f0 + cases))"

    step "concurrency $c: the same $cases cases again: all unchanged"
    push unchanged "$c"
    read -r n2 h2 f2 < <(counts "$db")
    expect "cases in the database" "$n2" "$cases"
    expect "case_history rows (unchanged by the second push)" "$h2" "$h1"
    expect "change feed rows (unchanged by the second push)" "$f2" "$f1"
    psql_db "$db" -At -c "SELECT 'database ' || pg_size_pretty(pg_database_size(current_database()))
        || ', cases table ' || pg_size_pretty(pg_total_relation_size('cases'))
        || ', audit_log rows ' || (SELECT count(*) FROM audit_log)"

    stop_server
    psql_db postgres -c "DROP DATABASE $db"
done

step "results"
log_problems=$(grep -cE '"level": *"(warn|error)"' "$work/serve.log" || true)
if ((log_problems > 0)); then
    echo "the server logged $log_problems warnings or errors, the first ones:"
    grep -E '"level": *"(warn|error)"' "$work/serve.log" | head -n 10
fi
# What was measured: the binary, and the commit and uncommitted service sources of this tree
# (they describe the binary when it was built here, as make bench-batch does).
git rev-parse --short HEAD >"$work/git-head" 2>/dev/null || echo unknown >"$work/git-head"
git status --porcelain -- api auth storage migrations 2>/dev/null | head -n 50 >"$work/git-dirty" || true
mkdir -p "$(dirname "$results")"
node --input-type=module - "$work/runs.jsonl" "$work/postgres.json" "$results" \
    "$target_seconds" "$target_rss_mb" "$pool" "$log_problems" "$coi" "$work/git-head" \
    "$work/git-dirty" <<'JS'
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
const [runsFile, pgFile, out, targetSeconds, targetRss, pool, logProblems, coiBin, headFile,
  dirtyFile] = process.argv.slice(2);
const runs = readFileSync(runsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
const target = { seconds: Number(targetSeconds), rss_mb: Number(targetRss) };
const result = {
  machine: {
    cores: os.cpus().length,
    model: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model,
    memory_gb: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    load_average_1m: Number(os.loadavg()[0].toFixed(2)),
    node: process.version,
  },
  coi: {
    binary: coiBin,
    tree_commit: readFileSync(headFile, 'utf8').trim(),
    tree_uncommitted: readFileSync(dirtyFile, 'utf8').split('\n').filter(Boolean).map((l) => l.trim()),
  },
  postgres: JSON.parse(readFileSync(pgFile, 'utf8')),
  coi_db_pool_size: Number(pool),
  server_log_warnings: Number(logProblems),
  cases: runs[0].cases,
  batch_size: runs[0].batch_size,
  format: runs[0].format,
  runs: runs.map((r) => ({
    concurrency: r.concurrency,
    pass: r.pass,
    seconds: r.seconds,
    cases_per_second: r.cases_per_second,
    peak_rss_mb: r.peak_rss_mb,
    vmhwm_mb: r.vmhwm_mb,
    batch_ms: r.batch_ms,
    slowest_batches: r.slowest_batches,
    cpu_seconds: r.cpu_seconds,
    machine_busy_pct: r.machine_busy_pct,
    results: r.results,
    failed_requests: r.failed_requests,
    // The target is about pushing 100 000 new cases in batches of 1000: judged only for those.
    meets_target: r.pass === 'create' && r.cases === 100000 && r.batch_size === 1000
      ? r.seconds < target.seconds && r.peak_rss_mb < target.rss_mb : null,
  })),
  target,
  measured_at: new Date().toISOString(),
};
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`${result.cases} cases, batches of ${result.batch_size} (${result.format}), ` +
  `${result.machine.cores} x ${result.machine.model}, ${result.machine.memory_gb} GB; PostgreSQL ` +
  `${result.postgres.version} (fsync ${result.postgres.settings.fsync}, synchronous_commit ` +
  `${result.postgres.settings.synchronous_commit}); coi pool ${result.coi_db_pool_size}`);
console.log('streams  pass        seconds  cases/s  batch p50/max ms  peak RSS MB  VmHWM MB  ' +
  'CPU s coi/pg/client/other  target (<20 s, <64 MB)');
for (const r of result.runs) {
  console.log(`${String(r.concurrency).padStart(7)}  ${r.pass.padEnd(10)}${String(r.seconds).padStart(8)}` +
    `${String(r.cases_per_second).padStart(9)}  ${`${r.batch_ms.p50}/${r.batch_ms.max}`.padStart(16)}` +
    `${String(r.peak_rss_mb).padStart(13)}${String(r.vmhwm_mb).padStart(10)}  ` +
    `${Object.values(r.cpu_seconds).join('/').padStart(25)}  ${r.meets_target === null ? 'n/a' : r.meets_target ? 'PASS' : 'MISS'}`);
}
JS
echo "figures in $results; whole run $((SECONDS - started)) s"
