// Latency of the case search endpoints, for bench/search.sh (Node 20: built-in fetch, which
// keeps connections alive). Requests are sequential and anonymous; each scenario varies its
// parameter values deterministically from the lists below, so that no cache makes it trivial.
//
//   node bench/latency.mjs measure --base URL [--requests N] [--warmup N] [--max-seconds S]
//                                  [--scenarios a,b] --out FILE [--meta FILE]
//       warm-up, then N requests per scenario (fewer, but at least 100, when a scenario would
//       take more than S seconds: the whole run stays within a few minutes); p50/p95/p99/max in
//       ms and PASS/MISS against the 50 ms p95 target; writes FILE (JSON) and prints a table.
//   node bench/latency.mjs explain --base URL --pg-log FILE --out FILE
//       with auto_explain logging every statement of the server's sessions: a few requests per
//       scenario, then the plans PostgreSQL logged for the last one (EXPLAIN ANALYZE BUFFERS of
//       the SQL the service really ran), added to FILE and printed with the indexes they use.
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

const TARGET_P95_MS = 50;

const SECTORS = ['health', 'elderly_care', 'social', 'children_youth', 'education', 'employment',
  'environment_climate', 'culture_leisure', 'administration', 'digital_services', 'other'];
const INNOVATION_TYPES = ['collaboration', 'work_tool', 'workflow', 'task', 'vision', 'role'];
const REGIONS = ['1081', '1082', '1083', '1084', '1085'];
// What people type: single Danish words from common to rare, inflected forms, two words,
// a prefix and a phrase.
const WORDS = ['hjemmepleje', 'hjemmeplejen', 'ældrepleje', 'ældre', 'borgere', 'genoptræning',
  'velfærdsteknologi', 'rehabilitering', 'sagsbehandling', 'digitalisering', 'skole',
  'daginstitution', 'sundhed', 'beskæftigelse', 'klima', 'demens', 'pårørende', 'skærmbesøg',
  'jobcenter', 'bibliotek', 'trivsel', 'forebyggelse', 'ventetid', 'dokumentation',
  'plejecentret', 'frivillige', 'affald', 'energi', 'psykiatri', 'madspild', 'sygefravær',
  'hjemmepleje ruterne', 'kunstig intelligens', 'velfærd*', '"selvstyrende teams"',
  'borgere digitalisering', 'genoptræning sygehus', 'folkeskolen', 'integration', 'ensomhed',
  'droner'];

// The i-th element of a deterministic walk through `list` (stride coprime to its length).
function nth(list, i, stride = 1) {
  return list[(i * stride) % list.length];
}

function query(params) {
  return new URLSearchParams(params).toString();
}

// Every combination of sector, innovation type and region, visited in a scattered order.
const COMBOS = SECTORS.flatMap((sector) => INNOVATION_TYPES.flatMap((type) =>
  REGIONS.map((region) => ({ sector, type, region }))));

const SCENARIOS = [
  {
    name: 'filtered',
    target: true,
    about: 'filtered list: status, sector, innovation_type, region_code; -updated_at; limit 50',
    path: (i) => {
      const c = nth(COMBOS, i, 97);
      return `/v1/cases?${query({ status: 'published', sector: c.sector, innovation_type: c.type,
        region_code: c.region, sort: '-updated_at', limit: '50' })}`;
    },
  },
  {
    name: 'q',
    target: true,
    about: 'text search: q=<word>, limit 20 (ranked by relevance, the default with q)',
    path: (i) => `/v1/cases?${query({ q: nth(WORDS, i, 7), limit: '20' })}`,
  },
  {
    name: 'q_highlight',
    about: 'the same search, sort=relevance and highlight=true',
    path: (i) => `/v1/cases?${query({ q: nth(WORDS, i, 7), sort: 'relevance', highlight: 'true',
      limit: '20' })}`,
  },
  {
    name: 'q_recent',
    about: 'the same search sorted by -updated_at',
    path: (i) => `/v1/cases?${query({ q: nth(WORDS, i, 7), sort: '-updated_at', limit: '20' })}`,
  },
  {
    name: 'q_filtered',
    about: 'search within a sector: q=<word>&sector=<s>, limit 20',
    path: (i) => `/v1/cases?${query({ q: nth(WORDS, i, 7), sector: nth(SECTORS, i, 3),
      limit: '20' })}`,
  },
  {
    name: 'facets',
    about: 'facets of a filter: sector and region_code',
    path: (i) => {
      const c = nth(COMBOS, i, 97);
      return `/v1/cases/facets?${query({ sector: c.sector, region_code: c.region })}`;
    },
  },
  {
    name: 'deep_page',
    about: 'pages 1-10 of sector + innovation_type, limit 50, following next_cursor',
    pages: 10,
    path: (i) => {
      const c = nth(COMBOS, i, 97);
      return `/v1/cases?${query({ sector: c.sector, innovation_type: c.type, limit: '50' })}`;
    },
  },
];

function parseArgs(argv) {
  const [mode, ...rest] = argv;
  const args = { mode };
  for (let i = 0; i < rest.length; i += 2) {
    if (!rest[i].startsWith('--') || rest[i + 1] === undefined) usage();
    args[rest[i].slice(2)] = rest[i + 1];
  }
  if (!['measure', 'explain'].includes(mode) || !args.base || !args.out) usage();
  if (mode === 'explain' && !args['pg-log']) usage();
  const names = SCENARIOS.map((s) => s.name);
  args.scenarios = args.scenarios ? args.scenarios.split(',') : names;
  if (args.scenarios.some((n) => !names.includes(n))) usage();
  return args;
}

function usage() {
  console.error('usage: node bench/latency.mjs measure --base URL [--requests N] [--warmup N] '
    + '[--max-seconds S] [--scenarios a,b] --out FILE [--meta FILE]\n'
    + '       node bench/latency.mjs explain --base URL --pg-log FILE [--scenarios a,b] --out FILE\n'
    + `scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}

// One GET: {ms, status, body (parsed JSON or null)}. The time includes reading the whole body.
async function get(base, path) {
  const started = performance.now();
  const response = await fetch(base + path);
  const text = await response.text();
  const ms = performance.now() - started;
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return { ms, status: response.status, body, bytes: text.length };
}

// Runs request number i of a scenario: one GET, or for a paged scenario the whole chain of pages
// (each page one sample). Calls sample(path, result, page) for each.
async function runOne(base, scenario, i, sample) {
  let path = scenario.path(i);
  for (let page = 1; page <= (scenario.pages ?? 1); page++) {
    const result = await get(base, path);
    await sample(path, result, page);
    const next = result.body?.next_cursor;
    if (result.status !== 200 || !next) break;
    path = `${scenario.path(i)}&${query({ cursor: next })}`;
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const round = (x) => (x === null ? null : Math.round(x * 100) / 100);

function summarise(samples) {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const items = samples.map((s) => s.items).filter((n) => n !== null);
  const bytes = samples.map((s) => s.bytes);
  return {
    n: ms.length,
    p50_ms: round(percentile(ms, 50)),
    p95_ms: round(percentile(ms, 95)),
    p99_ms: round(percentile(ms, 99)),
    max_ms: round(ms[ms.length - 1] ?? null),
    mean_ms: round(ms.reduce((a, b) => a + b, 0) / (ms.length || 1)),
    mean_items: items.length ? round(items.reduce((a, b) => a + b, 0) / items.length) : null,
    mean_kb: bytes.length ? round(bytes.reduce((a, b) => a + b, 0) / bytes.length / 1024) : null,
  };
}

async function measure(args) {
  const requests = Number(args.requests ?? 500);
  const warmup = Number(args.warmup ?? Math.min(50, Math.ceil(requests / 10)));
  const maxSeconds = Number(args['max-seconds'] ?? 20);
  const out = { generated_at: new Date().toISOString(), target_p95_ms: TARGET_P95_MS,
    requests_per_scenario: requests, warmup_per_scenario: warmup,
    max_seconds_per_scenario: maxSeconds, scenarios: [] };
  if (args.meta) Object.assign(out, JSON.parse(readFileSync(args.meta, 'utf8')));

  for (const scenario of SCENARIOS.filter((s) => args.scenarios.includes(s.name))) {
    const chains = Math.ceil(requests / (scenario.pages ?? 1));
    const warmChains = Math.ceil(warmup / (scenario.pages ?? 1));
    const samples = [];
    const errors = [];
    // Warm-up from the far end of the walk, then the measured requests from its start.
    for (let i = 0; i < warmChains; i++) {
      await runOne(args.base, scenario, 100_003 - i, async () => {});
    }
    const cpuBefore = cpuTimes();
    const started = performance.now();
    let capped = false;
    for (let i = 0; i < chains && samples.length < requests; i++) {
      if (samples.length >= 100 && performance.now() - started > maxSeconds * 1000) {
        capped = true;
        break;
      }
      await runOne(args.base, scenario, i, async (path, r, page) => {
        if (r.status !== 200) {
          errors.push({ path, status: r.status, body: r.body });
          return;
        }
        const items = Array.isArray(r.body?.items) ? r.body.items.length : null;
        samples.push({ path, ms: r.ms, items, page, bytes: r.bytes });
      });
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuBusy = cpuBusyPercent(cpuBefore, cpuTimes());
    const summary = summarise(samples);
    const bySlowest = [...samples].sort((a, b) => b.ms - a.ms).slice(0, 5)
      .map((s) => ({ ms: round(s.ms), path: s.path.replace(/cursor=[^&]+/, 'cursor=…'),
        items: s.items, page: s.page }));
    const result = { name: scenario.name, about: scenario.about, example: scenario.path(0),
      ...summary, seconds: round(seconds), capped, machine_cpu_busy_pct: cpuBusy,
      errors: errors.length,
      pass: errors.length === 0 && summary.p95_ms !== null && summary.p95_ms < TARGET_P95_MS,
      target: Boolean(scenario.target), slowest: bySlowest };
    if (scenario.pages) {
      const last = summarise(samples.filter((s) => s.page === scenario.pages));
      result.last_page = { n: last.n, p50_ms: last.p50_ms, p95_ms: last.p95_ms };
      result.pages_reached = Math.max(0, ...samples.map((s) => s.page));
    }
    if (scenario.name === 'q') result.by_query = await withMatches(args.base, byQuery(samples));
    else if (scenario.name.startsWith('q')) result.by_query = byQuery(samples);
    if (errors.length) result.first_errors = errors.slice(0, 3);
    out.scenarios.push(result);
    console.log(`  ${scenario.name.padEnd(12)} ${String(summary.n).padStart(4)} requests in `
      + `${seconds.toFixed(1)} s${capped ? ` (stopped after ${maxSeconds} s)` : ''}, machine CPU `
      + `${cpuBusy ?? '?'} % busy${errors.length ? `, ${errors.length} errors` : ''}`);
  }
  // One sequential client keeps about one CPU busy (itself, the service, PostgreSQL in turn).
  const cpus = os.cpus().length;
  const busiest = Math.max(...out.scenarios.map((s) => s.machine_cpu_busy_pct ?? 0));
  if (busiest > (100 * 1.5) / cpus + 10) {
    console.log(`  note: the machine's ${cpus} CPUs were up to ${busiest} % busy: other work was `
      + 'running and inflates these figures');
  }
  writeFileSync(args.out, `${JSON.stringify(out, null, 2)}\n`);
  printTable(out);
}

// The machine's CPU time so far (Linux /proc/stat, in clock ticks): {busy, total}, or null.
function cpuTimes() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1)
      .map(Number);
    const idle = fields[3] + (fields[4] || 0); // idle + iowait
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

function cpuBusyPercent(before, after) {
  if (!before || !after || after.total === before.total) return null;
  return Math.round((100 * (after.busy - before.busy)) / (after.total - before.total));
}

// Median and max latency per search text, slowest first: which words cost the most.
function byQuery(samples) {
  const groups = new Map();
  for (const s of samples) {
    const q = new URL(s.path, 'http://x').searchParams.get('q');
    if (!groups.has(q)) groups.set(q, []);
    groups.get(q).push(s);
  }
  return [...groups.entries()].map(([q, list]) => {
    const ms = list.map((s) => s.ms).sort((a, b) => a - b);
    return { q, n: ms.length, p50_ms: round(percentile(ms, 50)), max_ms: round(ms[ms.length - 1]) };
  }).sort((a, b) => b.p50_ms - a.p50_ms);
}

// How many cases each search text matches (count=exact; not timed).
async function withMatches(base, groups) {
  for (const g of groups) {
    const r = await get(base, `/v1/cases?${query({ q: g.q, limit: '1', count: 'exact' })}`);
    g.matches = r.body?.total ?? null;
  }
  return groups;
}

function printTable(out) {
  const head = ['scenario', 'n', 'p50', 'p95', 'p99', 'max', 'items', 'kB', `p95 < ${TARGET_P95_MS} ms`];
  const rows = out.scenarios.map((s) => [s.name + (s.target ? ' *' : ''), s.n, s.p50_ms, s.p95_ms,
    s.p99_ms, s.max_ms, s.mean_items ?? '-', s.mean_kb, s.errors ? `ERROR (${s.errors})`
      : s.pass ? 'PASS' : 'MISS']);
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells) => cells.map((x, c) => (c === 0 ? String(x).padEnd(widths[c])
    : String(x).padStart(widths[c]))).join('  ');
  console.log(`\nlatency in ms, up to ${out.requests_per_scenario} sequential requests per `
    + `scenario (* = the issue's target); items and kB: mean per response`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  for (const s of out.scenarios.filter((x) => x.last_page)) {
    console.log(`${s.name}: page ${s.pages_reached} p50 ${s.last_page.p50_ms} ms, `
      + `p95 ${s.last_page.p95_ms} ms`);
  }
  for (const s of out.scenarios.filter((x) => x.name === 'q' && x.by_query)) {
    console.log(`q, slowest texts (p50 ms, cases matched): ${s.by_query.slice(0, 6)
      .map((g) => `${g.q} ${g.p50_ms} ms ${g.matches ?? '?'}`).join('; ')}`);
  }
}

// The text PostgreSQL appended to `file` from byte `from` on.
function readFrom(file, from) {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(size - from);
  readSync(fd, buffer, 0, buffer.length, from);
  closeSync(fd);
  return buffer.toString('utf8');
}

// auto_explain entries of a log excerpt: {duration_ms, query, plan}. An entry is a
// "LOG:  duration: X ms  plan:" line followed by tab-indented lines: "Query Text: ..." (the
// statement, maybe over several lines), then the plan, whose first line has "(cost=" or
// "(actual".
function parsePlans(text) {
  const entries = [];
  let current = null;
  for (const line of text.split('\n')) {
    const head = line.match(/LOG: {2}duration: ([\d.]+) ms {2}plan:$/);
    if (head) {
      current = { duration_ms: Number(head[1]), lines: [] };
      entries.push(current);
    } else if (current && line.startsWith('\t')) {
      current.lines.push(line.slice(1));
    } else {
      current = null;
    }
  }
  return entries.map(({ duration_ms, lines }) => {
    const start = lines.findIndex((l) => /\((cost|actual)[ =]/.test(l) && !l.startsWith('Query Text:'));
    const queryLines = lines.slice(0, start < 0 ? lines.length : start);
    return {
      duration_ms,
      query: queryLines.join('\n').replace(/^Query Text: /, ''),
      plan: start < 0 ? '' : lines.slice(start).join('\n'),
    };
  });
}

function indexesOf(plan) {
  const used = new Set();
  for (const m of plan.matchAll(/(?:Bitmap Index Scan on|Index (?:Only )?Scan(?: Backward)? using) (\S+)/g)) {
    used.add(m[1]);
  }
  return [...used];
}

function seqScansOf(plan) {
  return [...new Set([...plan.matchAll(/Seq Scan on (\S+)/g)].map((m) => m[1]))];
}

async function explain(args) {
  const out = JSON.parse(readFileSync(args.out, 'utf8'));
  const repeat = 6; // after five executions a prepared statement may switch to a generic plan
  out.plans = [];
  for (const scenario of SCENARIOS.filter((s) => args.scenarios.includes(s.name))) {
    for (let i = 0; i < repeat - 1; i++) await runOne(args.base, scenario, i, async () => {});
    // The last request alone: what the log gains while it runs is its statements.
    let from = statSync(args['pg-log']).size;
    let status = null;
    await runOne(args.base, scenario, repeat - 1, async (path, r, page) => {
      if (page < (scenario.pages ?? 1)) from = statSync(args['pg-log']).size;
      status = r.status;
    });
    const statements = parsePlans(readFrom(args['pg-log'], from)).map((p) => ({
      ...p, indexes: indexesOf(p.plan), seq_scans: seqScansOf(p.plan) }));
    out.plans.push({ scenario: scenario.name, path: scenario.path(repeat - 1)
      + (scenario.pages ? ` (page ${scenario.pages})` : ''), status, statements });
    const scenarioResult = out.scenarios.find((s) => s.name === scenario.name);
    if (scenarioResult) {
      scenarioResult.indexes = [...new Set(statements.flatMap((s) => s.indexes))];
      scenarioResult.seq_scans = [...new Set(statements.flatMap((s) => s.seq_scans))];
    }
  }
  writeFileSync(args.out, `${JSON.stringify(out, null, 2)}\n`);
  for (const p of out.plans) {
    console.log(`\n==== ${p.scenario}: GET ${p.path} -> ${p.status}`);
    p.statements.forEach((s, k) => {
      const query = s.query.length > 600 ? `${s.query.slice(0, 600)} …` : s.query;
      console.log(`\n-- statement ${k + 1} of ${p.statements.length}: ${s.duration_ms} ms; `
        + `indexes: ${s.indexes.join(', ') || 'none'}; seq scans: ${s.seq_scans.join(', ') || 'none'}`);
      console.log(`-- ${query.replace(/\n/g, '\n-- ')}`);
      console.log(s.plan);
    });
  }
  console.log('\nindexes per scenario (from the plans above):');
  for (const p of out.plans) {
    const s = out.scenarios.find((x) => x.name === p.scenario);
    console.log(`  ${p.scenario.padEnd(12)} ${s?.indexes?.join(', ') || 'none'}`
      + `${s?.seq_scans?.length ? `; seq scans: ${s.seq_scans.join(', ')}` : ''}`);
  }
}

const args = parseArgs(process.argv.slice(2));
await (args.mode === 'measure' ? measure(args) : explain(args));
