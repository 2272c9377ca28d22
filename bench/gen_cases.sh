#!/usr/bin/env bash
# Loads the generated benchmark cases (bench/gen_cases.sql) into a migrated, empty database:
# the prepare part, then one `cases` worker per core at once, then the finish part. ANALYZE
# (or VACUUM ANALYZE) afterwards. CASES may be given as published=N: as many cases as it takes
# for exactly N of them to be published.
# usage: bench/gen_cases.sh DATABASE_URL [CASES|published=N [WORKERS]]
set -euo pipefail

if [[ $# -lt 1 || $# -gt 3 ]]; then
    echo "usage: $0 DATABASE_URL [CASES|published=N [WORKERS]]" >&2
    exit 2
fi
url=$1
count=(-v "cases=${2:-100000}")
if [[ ${2:-} == published=* ]]; then
    count=(-v "$2")
fi
workers=${3:-$(nproc)}
((workers > 8)) && workers=8
((workers < 1)) && workers=1
sql="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/gen_cases.sql"

part() {
    psql -X -q -v ON_ERROR_STOP=1 "${count[@]}" -d "$url" -f "$sql" "$@"
}

part -v part=prepare
pids=()
for ((w = 0; w < workers; w++)); do
    part -v part=cases -v worker="$w" -v workers="$workers" &
    pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done
if ((failed)); then
    echo "gen_cases.sh: a cases worker failed" >&2
    exit 1
fi
part -v part=finish
