#!/usr/bin/env bash
# The case search benchmark (`make bench-search`): 100 000 generated cases in a throwaway
# PostgreSQL 15 cluster, the release build serving them, and the latency of a filtered list, a
# text search and their neighbours measured by bench/latency.mjs against the issue's target
# (p95 under 50 ms); then the plans PostgreSQL used for them (auto_explain of the statements
# the service really ran). Figures go to bench/results/search-latest.json.
#
# The server runs without its response cache (COI_CACHE_MAX_BYTES=0): the scenarios repeat a
# few dozen queries, which the cache would answer from memory; this measures the database.
#
# BENCH_REQUESTS (500) requests per scenario, BENCH_MAX_SECONDS (20) per scenario at most
# (after 100 requests), BENCH_CASES (100000) cases, BENCH_LOAD_WORKERS (nproc) parallel loaders.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

requests=${BENCH_REQUESTS:-500}
max_seconds=${BENCH_MAX_SECONDS:-20}
cases=${BENCH_CASES:-100000}
workers=${BENCH_LOAD_WORKERS:-$(nproc)}
results=bench/results/search-latest.json
# shellcheck source=bench/lib.sh
source bench/lib.sh

psql_bench() {
    psql -X -q -v ON_ERROR_STOP=1 -d "$url" "$@"
}

step "release build"
make --no-print-directory build/coi

step "PostgreSQL 15 cluster"
pgport=$(free_port)
scripts/pg-cluster.sh start "$pgdir" "$pgport"
psql -X -q -v ON_ERROR_STOP=1 -d "$(scripts/pg-cluster.sh url "$pgdir" "$pgport")" \
    -c "CREATE DATABASE coi_bench"
url=$(scripts/pg-cluster.sh url "$pgdir" "$pgport" coi_bench)
echo "cluster in $pgdir, port $pgport"

step "migrate"
COI_DATABASE="$url" build/coi migrate

step "load $cases cases ($workers workers)"
load_started=$SECONDS
bench/gen_cases.sh "$url" "$cases" "$workers"
load_seconds=$((SECONDS - load_started))
psql_bench -c "VACUUM (ANALYZE)"
echo "loaded in ${load_seconds}s (VACUUM ANALYZE included: $((SECONDS - load_started))s)"

# What the figures were measured on, for the JSON.
psql_bench -At -c "SELECT json_build_object(
    'dataset', json_build_object(
        'cases', (SELECT count(*) FROM cases),
        'published', (SELECT count(*) FROM cases WHERE status = 'published'),
        'case_partners', (SELECT count(*) FROM case_partners),
        'adoptions', (SELECT count(*) FROM adoptions),
        'case_history', (SELECT count(*) FROM case_history),
        'evaluations', (SELECT count(*) FROM evaluations),
        'cases_table_size', pg_size_pretty(pg_total_relation_size('cases')),
        'load_seconds', $load_seconds),
    'postgres', json_build_object(
        'version', current_setting('server_version'),
        'settings', (SELECT json_object_agg(name, setting || COALESCE(unit, ''))
                     FROM pg_settings WHERE name IN ('shared_buffers', 'work_mem',
                         'effective_cache_size', 'random_page_cost', 'jit',
                         'max_parallel_workers_per_gather', 'default_text_search_config'))),
    'machine', json_build_object('cpus', $(nproc), 'cpu', '$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1 | tr -d "'")',
        'memory_gb', $(awk '/MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo),
        'node', '$(node --version)'))" >"$work/meta.json"
cat "$work/meta.json"

step "serve"
start_server build/coi "$url" COI_CACHE_MAX_BYTES=0
status=$(curl -s -o "$work/probe.json" -w '%{http_code}' "$base/v1/cases?q=hjemmepleje&limit=1")
if [[ $status != 200 ]]; then
    cat "$work/probe.json" >&2 || true
    echo "bench/search.sh: GET /v1/cases?q=hjemmepleje answered $status, not 200" >&2
    exit 1
fi

step "measure ($requests requests per scenario)"
mkdir -p bench/results
node bench/latency.mjs measure --base "$base" --requests "$requests" \
    --max-seconds "$max_seconds" --out "$results" --meta "$work/meta.json"

# The plans: every statement of the server's (new) sessions is logged with EXPLAIN ANALYZE
# BUFFERS output by auto_explain; the measured figures above were taken without it.
step "plans (auto_explain)"
stop_server
psql_bench -c "ALTER DATABASE coi_bench SET session_preload_libraries = 'auto_explain'" \
    -c "ALTER DATABASE coi_bench SET auto_explain.log_min_duration = 0" \
    -c "ALTER DATABASE coi_bench SET auto_explain.log_analyze = on" \
    -c "ALTER DATABASE coi_bench SET auto_explain.log_buffers = on" \
    -c "ALTER DATABASE coi_bench SET auto_explain.log_settings = on"
start_server build/coi "$url" COI_CACHE_MAX_BYTES=0
node bench/latency.mjs explain --base "$base" --pg-log "$pgdir/postgres.log" --out "$results"

step "summary"
node -e '
const out = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const d = out.dataset;
console.log(`${d.cases} cases (${d.published} published), ${d.evaluations} evaluations, cases table ${d.cases_table_size}, loaded in ${d.load_seconds} s; PostgreSQL ${out.postgres.version}, ${out.machine.cpus} x ${out.machine.cpu}`);
console.log("scenario         n     p50     p95     p99     max  p95<50  cpu%  indexes (* = the issue target)");
for (const s of out.scenarios) {
  const f = (x) => String(x).padStart(7);
  console.log(`${(s.name + (s.target ? " *" : "")).padEnd(13)}${String(s.n).padStart(4)}${f(s.p50_ms)} ${f(s.p95_ms)} ${f(s.p99_ms)} ${f(s.max_ms)}   ${s.errors ? "ERROR" : s.pass ? "PASS " : "MISS "}${String(s.machine_cpu_busy_pct).padStart(5)}  ${(s.indexes || []).join(", ")}`);
}
' "$results"
echo "figures in $results; whole run $((SECONDS - started)) s"
