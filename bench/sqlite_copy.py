#!/usr/bin/python3
"""Copies the benchmark's data set from PostgreSQL into a new SQLite database for coi (bench/run.sh).

usage: bench/sqlite_copy.py COI_BINARY POSTGRES_URL SQLITE_PATH

The SQLite database is built as coi would have built it had the rows been written before its
search index existed: the migrations that come before the one creating `cases_fts` are applied
here (their SQL as written; seed tables copied from a database `coi migrate` made, so that the
recorded checksums are coi's own), the rows are copied, and then `coi migrate` applies the rest.
That fills `cases_fts` with coi's Danish tokenizer, which only coi has (the sqlite3 CLI and this
script cannot write to that table).

Values are converted to what storage/sqlite writes: timestamps as ISO 8601 UTC text with
milliseconds, JSON (jsonb and arrays) as compact JSON text, dates as YYYY-MM-DD, booleans as 0/1.
"""
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

# The tables the generator fills, parents first.
TABLES = ("cases", "case_partners", "case_history", "adoptions", "evaluations",
          "evaluation_history")


def pg_lines(url, sql):
    """The rows of `sql` (one JSON array per row) from psql, parsed."""
    with subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url,
                           "-c", sql], stdout=subprocess.PIPE, text=True) as p:
        for line in p.stdout:
            yield json.loads(line)
    if p.returncode != 0:
        raise SystemExit(f"sqlite_copy: psql failed on: {sql[:200]}")


def pg_types(url, table):
    rows = list(pg_lines(url, "SELECT json_build_array(column_name, data_type)"
                              " FROM information_schema.columns"
                              f" WHERE table_schema = 'public' AND table_name = '{table}'"))
    return dict(rows)


def expression(column, pg_type):
    """How a PostgreSQL column is read so that it arrives as storage/sqlite stores it."""
    q = f'"{column}"'
    if pg_type == "timestamp with time zone":
        return f"""to_char({q} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""
    if pg_type in ("jsonb", "json", "ARRAY"):
        return f"to_json({q})::text"
    if pg_type == "date":
        return f"{q}::text"
    if pg_type == "boolean":
        return f"{q}::int"
    return q


def compact(text):
    return None if text is None else json.dumps(json.loads(text), ensure_ascii=False,
                                                separators=(",", ":"))


def main():
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    coi, url, target = sys.argv[1:]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    folder = os.path.join(root, "migrations", "sqlite")
    steps = sorted(f for f in os.listdir(folder) if re.match(r"^\d{4}_.*\.(sql|csv)$", f))
    first_search = next((f for f in steps if f.endswith(".sql")
                         and "cases_fts" in open(os.path.join(folder, f), encoding="utf-8").read()),
                        None)
    if first_search is None:
        raise SystemExit("sqlite_copy: no migration creates cases_fts")
    before = [f for f in steps if f < first_search]
    if os.path.exists(target):
        raise SystemExit(f"sqlite_copy: {target} exists")

    with tempfile.TemporaryDirectory() as tmp:
        template = os.path.join(tmp, "template.db")
        subprocess.run([coi, "migrate"], env={**os.environ, "COI_DATABASE": f"sqlite:{template}"},
                       check=True, stdout=subprocess.DEVNULL)
        db = sqlite3.connect(target, isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("ATTACH DATABASE ? AS template", (template,))
        (ddl,) = db.execute("SELECT sql FROM template.sqlite_master"
                            " WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
        db.execute(ddl)
        for name in before:
            number = int(name[:4])
            path = os.path.join(folder, name)
            if name.endswith(".sql"):
                db.executescript(open(path, encoding="utf-8").read())
            else:
                table = re.match(r"^\d{4}_seed_(\w+)\.csv$", name).group(1)
                columns = ", ".join(f'"{c[1]}"' for c in db.execute(f"PRAGMA main.table_info({table})"))
                db.execute(f'INSERT INTO main."{table}" ({columns})'
                           f' SELECT {columns} FROM template."{table}"')
            db.execute("INSERT INTO main.schema_migrations (number, name, checksum)"
                       " SELECT number, name, checksum FROM template.schema_migrations"
                       " WHERE number = ?", (number,))

        db.execute("BEGIN")
        for table in TABLES:
            columns = [c[1] for c in db.execute(f"PRAGMA main.table_info({table})")]
            types = pg_types(url, table)
            missing = [c for c in columns if c not in types]
            if missing:
                raise SystemExit(f"sqlite_copy: {table}: no column {missing} in PostgreSQL")
            select = ", ".join(expression(c, types[c]) for c in columns)
            # Rows in creation order, as the service would have inserted them.
            order = "created_at, id" if "created_at" in columns else f'"{columns[0]}", "{columns[1]}"'
            as_json = [types[c] in ("jsonb", "json", "ARRAY") for c in columns]
            rows = ([compact(v) if j else v for v, j in zip(row, as_json)]
                    for row in pg_lines(url, f"SELECT json_build_array({select})"
                                             f" FROM {table} ORDER BY {order}"))
            marks = ", ".join("?" for _ in columns)
            names = ", ".join(f'"{c}"' for c in columns)
            db.executemany(f'INSERT INTO main."{table}" ({names}) VALUES ({marks})', rows)
        db.execute("COMMIT")
        db.execute("DETACH DATABASE template")
        db.close()

    # The rest, the search index among it, as coi applies it.
    subprocess.run([coi, "migrate"], env={**os.environ, "COI_DATABASE": f"sqlite:{target}"},
                   check=True, stdout=subprocess.DEVNULL)
    db = sqlite3.connect(target)
    counts = {t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}
    db.execute("PRAGMA optimize")
    db.close()
    print("sqlite_copy: " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
