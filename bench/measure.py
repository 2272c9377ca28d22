#!/usr/bin/python3
"""The JSON side of bench/run.sh: checks, result lines and the summary.

  compare case|page COI.json PEER.json
      the peer answers as coi does: the same fields in the same order at every level and the
      same values (a page's next_cursor is each server's own: only its presence is compared)
  compare copy COI.json COI_SQLITE.json
      coi on the SQLite copy shows a case as on PostgreSQL: the same values (a difference in
      the order of keys is only reported)
  pgbench-script LOG OFFSET CASE_ID OUT.sql
      the statements coi ran for one GET of CASE_ID (logged by log_statement = 'all' after byte
      OFFSET of the PostgreSQL log), as a pgbench script that reads a random published case
  wrk-result NAME SERVER PID WRK_OUTPUT RESULTS.jsonl
  pgbench-result NAME SERVER PGBENCH_OUTPUT LOG_PREFIX RESULTS.jsonl
      one scenario's figures appended as a JSON line; PID is the server process whose peak
      resident set size (VmHWM: the peak so far, so the last scenario of a process shows its
      whole run) is recorded, or - for none
  summary RESULTS.jsonl SECONDS OUT.json
      the table and the ratios on stdout, and OUT.json in the shape of issue 8
"""
import datetime
import glob
import json
import os
import platform
import re
import sys


def fail(message):
    print(f"bench: {message}", file=sys.stderr)
    sys.exit(1)


def first_difference(a, b, path="$"):
    """Where two JSON values differ, keys' order included; None when they do not."""
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if type(a) is not type(b) or a != b:
        return f"{path}: {json.dumps(a, ensure_ascii=False)[:120]} != {json.dumps(b, ensure_ascii=False)[:120]}"
    return None


def compare(kind, coi_file, peer_file):
    with open(coi_file, encoding="utf-8") as f:
        coi = json.load(f)
    with open(peer_file, encoding="utf-8") as f:
        peer = json.load(f)
    if kind == "page":
        for page in (coi, peer):
            if isinstance(page, dict) and "next_cursor" in page:
                page["next_cursor"] = page["next_cursor"] is not None
    difference = first_difference(coi, peer)
    if kind == "copy":
        if coi != peer:
            fail(f"coi shows a case differently on the SQLite copy (PostgreSQL != SQLite) at "
                 f"{difference}")
        if difference:
            print(f"note: coi orders keys differently on SQLite (PostgreSQL != SQLite): {difference}")
    elif difference:
        fail(f"the peer's {kind} differs from coi's (coi != peer) at {difference}")


def sql_literal(value):
    return "'" + value.replace("'", "''") + "'"


def hide_colons(sql):
    """pgbench takes :name anywhere for a variable, even inside a string literal (to_char's
    'HH24:MI:SS'): such literals are written as E'...' with \\x3a for each colon, which
    PostgreSQL reads as the same constant."""
    out, i = [], 0
    while i < len(sql):
        c = sql[i]
        if c == '"':  # a quoted identifier: as it is
            j = sql.index('"', i + 1)
            out.append(sql[i:j + 1])
            i = j + 1
        elif c == "'":
            j, text = i + 1, []
            while True:
                if sql[j] == "'" and sql[j + 1:j + 2] == "'":
                    text.append("'")
                    j += 2
                elif sql[j] == "'":
                    break
                else:
                    text.append(sql[j])
                    j += 1
            value = "".join(text)
            if ":" in value:
                escaped = value.replace("\\", "\\\\").replace("'", "''").replace(":", "\\x3a")
                out.append(f"E'{escaped}'")
            else:
                out.append(sql[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \S+ \[\d+\] (\S*): ")
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


def pgbench_script(log, offset, case_id, out):
    """log_line_prefix is '%m [%p] %a: ' while the statements are logged; the benchmark's own
    sessions run as application coi-bench and are left out."""
    with open(log, encoding="utf-8", errors="replace") as f:
        f.seek(int(offset))
        entries = []
        for line in f:
            m = PREFIX.match(line)
            if m:
                entries.append([m.group(1), line[m.end():].rstrip("\n")])
            elif entries:  # a statement's next line
                entries[-1][1] += "\n" + line.rstrip("\n")
    statements = []
    for app, text in entries:
        if app == "coi-bench":
            continue
        m = re.match(r"LOG:  (?:execute [^:]*|statement): (.*)$", text, re.S)
        if m:
            statements.append([m.group(1), {}])
        elif text.startswith("DETAIL:  parameters: ") and statements:
            for number, value in PARAM.findall(text):
                statements[-1][1][number] = None if value == "NULL" else value[1:-1].replace("''", "'")
    # The response cache's follower reads the change feed every 100 ms on the same pool (a
    # statement planned for its values between two set_config calls): not the GET's work.
    statements = [st for st in statements
                  if not st[0].startswith("SELECT set_config('plan_cache_mode'")
                  and "FROM changes ch" not in st[0]]
    if not statements:
        fail("coi ran no SQL statement for a GET of a case: nothing to give pgbench")
    pick = "(SELECT id FROM bench.ids WHERE n = :n)"
    lines = ["-- The statements coi ran for GET /v1/cases/{id}, for a random published case.",
             "\\set n random(1, :count)"]
    for sql, params in statements:
        def value(m):
            v = params.get(m.group(1), "")
            if v is None:
                return "NULL"
            if v == case_id:
                return pick
            if case_id in v:
                return f"replace({sql_literal(v)}, {sql_literal(case_id)}, {pick})"
            return sql_literal(v)
        sql = hide_colons(sql)
        sql = re.sub(r"\$(\d+)", lambda m: f"({value(m)})", sql)
        lines.append(" ".join(sql.split("\n")).rstrip().rstrip(";") + ";")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"pgbench runs the {len(statements)} statement(s) coi ran for one GET /v1/cases/{{id}}")


def peak_rss_mb(pid):
    if pid == "-":
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    fail(f"no peak RSS for process {pid} (has it died?)")


def append(results, row):
    with open(results, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def wrk_result(name, server, pid, output, results):
    with open(output, encoding="utf-8", errors="replace") as f:
        m = re.search(r"^BENCH_RESULT (\{.*\})$", f.read(), re.M)
    if not m:
        fail(f"{name} ({server}): no result from wrk (see {output})")
    r = json.loads(m.group(1))
    if r["non2xx"] or r["timeout"] or r["connect"] + r["read"] + r["write"]:
        statuses = ", ".join(f"{n} x {s}" for s, n in sorted(r["statuses"].items()))
        print(f"  note: {name} on {server}: non-2xx {statuses or 0}; socket errors connect "
              f"{r['connect']}, read {r['read']}, write {r['write']}, timeouts (no answer "
              f"within 2 s) {r['timeout']}")
    append(results, {
        "name": name, "server": server,
        "rps": round(r["requests"] / (r["duration_us"] / 1e6), 1),
        "p50_ms": round(r["p50_us"] / 1000, 2), "p99_ms": round(r["p99_us"] / 1000, 2),
        "errors": r["connect"] + r["read"] + r["write"] + r["timeout"],
        "non2xx": r["non2xx"], "peak_rss_mb": peak_rss_mb(pid),
    })


def pgbench_result(name, server, output, log_prefix, results):
    with open(output, encoding="utf-8", errors="replace") as f:
        text = f.read()
    tps = re.search(r"^tps = ([\d.]+)", text, re.M)
    failed = re.search(r"^number of failed transactions: (\d+)", text, re.M)
    if not tps:
        fail(f"{name}: no tps from pgbench (see {output})")
    # -l: one line per transaction, its latency in microseconds third.
    latencies = []
    for path in glob.glob(log_prefix + ".*"):
        with open(path, encoding="ascii") as f:
            latencies.extend(int(line.split()[2]) for line in f if line.strip())
    if not latencies:
        fail(f"{name}: no transaction log from pgbench")
    latencies.sort()

    def percentile(p):
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] / 1000, 2)

    append(results, {
        "name": name, "server": server, "rps": round(float(tps.group(1)), 1),
        "p50_ms": percentile(50), "p99_ms": percentile(99),
        "errors": int(failed.group(1)) if failed else 0, "non2xx": None, "peak_rss_mb": None,
    })


def machine():
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as f:
        kb = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    return {
        "cores": os.cpu_count(), "model": model, "memory_gb": round(kb / 1048576, 1),
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def summary(results, seconds, out):
    with open(results, encoding="utf-8") as f:
        scenarios = [json.loads(line) for line in f if line.strip()]

    def rps(name, server):
        return next((s["rps"] for s in scenarios if s["name"] == name and s["server"] == server),
                    None)

    def ratio(a, b):
        return round(a / b, 2) if a and b else None

    ratios = {
        "get_vs_peer": ratio(rps("get_case", "coi"), rps("get_case", "peer")),
        "list_vs_peer": ratio(rps("list_cases", "coi"), rps("list_cases", "peer")),
        "get_vs_ceiling": ratio(rps("get_case", "coi"), rps("healthz", "coi")),
    }
    doc = {"machine": machine(), "seconds": int(seconds), "scenarios": scenarios,
           "ratios": ratios}
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(out + ".tmp", out)

    def cell(v):
        return "-" if v is None else str(v)

    m = doc["machine"]
    print(f"{m['cores']} cores ({m['model']}), {m['memory_gb']} GB, Linux {m['kernel']}, "
          f"{m['date']}; {seconds} s per scenario")
    header = ["scenario", "server", "requests/s", "p50 ms", "p99 ms", "errors", "non-2xx",
              "peak RSS MB"]
    rows = [[s["name"], s["server"], f"{s['rps']:.0f}", cell(s["p50_ms"]), cell(s["p99_ms"]),
             cell(s["errors"]), cell(s["non2xx"]), cell(s["peak_rss_mb"])] for s in scenarios]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    for i, r in enumerate([header] + rows):
        print("| " + " | ".join(c.ljust(w) if j < 2 else c.rjust(w)
                                for j, (c, w) in enumerate(zip(r, widths))) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) if j < 2 else "-" * (w + 1) + ":"
                                 for j, w in enumerate(widths)) + "|")
    print("ratios: " + ", ".join(f"{k} {cell(v)}" for k, v in ratios.items()))


def main(argv):
    commands = {
        "compare": (compare, 3), "pgbench-script": (pgbench_script, 4),
        "wrk-result": (wrk_result, 5), "pgbench-result": (pgbench_result, 5),
        "summary": (summary, 3),
    }
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    commands[argv[1]][0](*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
