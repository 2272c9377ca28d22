// Bad input to GET /v1/cases and GET /v1/cases/facets: hostile search strings (quotes,
// backslashes, search operators of both databases, control characters, 10 KB, lone surrogates,
// NUL) and a seeded random table of them are a 200 or a 422 naming q exactly as the documented
// limits say, never a 5xx; a query string that is not percent-encoded UTF-8 is a 400; every bad
// parameter value is a 422 naming the parameter; and the server is still healthy afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { everything, writeCase } from './lib/search.mjs';

let server;
let hit; // a published case the searches can find

before(async () => {
  server = await startServer();
  hit = await writeCase(server, {
    org: '0751', status: 'published',
    body: {
      title: 'Fælles morgenmøde i hjemmeplejen', summary: 'AND OR NOT NEAR: "citater" og \\skråstreger\\ i teksten.',
      innovation_types: ['collaboration'], tags: ['a:b', 'x*y'],
    },
  });
});
after(async () => {
  await server?.stop(); // asserts a clean exit: no crash, no sanitizer report
});

/** What the documented limits say about `q`: 'ok' or 'q' (a 422 naming q). A word is a run of
 * ASCII letters and digits and any non-ASCII character; "..." is a phrase (to the end when not
 * closed); at most 500 bytes, 16 terms and 16 words per phrase; at least one word. */
export function expectedForQ(q) {
  if (Buffer.byteLength(q, 'utf8') > 500) return 'q';
  const isWord = (ch) => /[A-Za-z0-9]/.test(ch) || ch.charCodeAt(0) >= 0x80;
  let terms = 0;
  for (let i = 0; i < q.length;) {
    if (q[i] === '"') {
      let end = q.indexOf('"', i + 1);
      if (end === -1) end = q.length;
      const words = q.slice(i + 1, end).split('').reduce((n, ch, j, all) => n + (isWord(ch) && (j === 0 || !isWord(all[j - 1])) ? 1 : 0), 0);
      if (words > 16) return 'q';
      if (words > 0 && ++terms > 16) return 'q';
      i = end + 1;
    } else if (isWord(q[i])) {
      while (i < q.length && isWord(q[i])) i++;
      if (q[i] === '*') i++;
      if (++terms > 16) return 'q';
    } else {
      i++;
    }
  }
  return terms === 0 ? 'q' : 'ok';
}

const HOSTILE = [
  '"', '""', '"""', '"unclosed phrase', '\\', '\\"', '\\\\', "'", "''", "' OR 1=1 --", "'; DROP TABLE cases; --",
  'NEAR(a b)', 'NEAR(hjemmepleje morgenmøde, 2)', 'a AND b', 'a OR b', 'NOT a', 'hjemmepleje NOT morgenmøde', '*a', '^a', '^',
  'title:x', 'title : hjemmepleje', '{title summary}: x', 'a & b | !c', 'a <-> b', 'a <2> b', 'a:*', 'a:*B', "'a':*", '!a',
  '(', ')', '((a))', '(a OR b) AND c', '-a', '+a', '"a" + "b"', '*', '**', 'a**', 'a*b', '***a', '-', '--', '/*', '*/', ';', '%',
  '%%', '%00', '%ff', '$1', '$$', '${a}', '?', '??', '\u0001\u0002\u001f\u007f', 'a\tb\nc\rd', '\u00a0', '\u00a0x', '\u2028',
  '\ufeffx', '\ufffd', '\u202eabc', '😀', '😀*', 'a\u0301', 'æøå*', 'ÆØÅ', 'ß', 'İ', 'ǅ', '0', '00000', '1e308', '-1',
  'null', 'undefined', 'NaN', '[]', '{}', '<mark>', '</mark><script>', '&amp;', 'hjemmepleje"', '"hjemmepleje',
  '" "', '" * "', '"*"', 'a'.repeat(500), 'a'.repeat(501), 'æ'.repeat(250), 'æ'.repeat(251), '😀'.repeat(125), '😀'.repeat(126),
  'a'.repeat(10240), 'æ'.repeat(5120), 'a '.repeat(16), 'a '.repeat(17), `"${'a '.repeat(16)}"`, `"${'a '.repeat(17)}"`,
  `${'"a" '.repeat(16)}`, `${'"a" '.repeat(17)}`, `${'"" '.repeat(40)}x`, `${'* '.repeat(200)}x`, 'hjemme* '.repeat(16),
];

async function searchBoth(q, role) {
  const query = new URLSearchParams({ q, highlight: 'true', count: 'exact', limit: '5' });
  const list = await request(server, 'GET', `/v1/cases?${query}`, { headers: authFor(role) });
  const facets = await request(server, 'GET', `/v1/cases/facets?${new URLSearchParams({ q })}`, { headers: authFor(role) });
  return { list, facets };
}

function assertAnswer(q, response, label) {
  const what = `${label} ${JSON.stringify(q.length > 60 ? `${q.slice(0, 60)}...(${q.length})` : q)}`;
  assert.ok(response.status < 500, `${what}: ${response.status} ${response.text}`);
  if (expectedForQ(q) === 'q') {
    assert.deepEqual(errorFields(response), new Set(['q']), what);
    assert.ok(response.body.errors[0].message.length > 0);
  } else {
    assert.equal(response.status, 200, `${what}: ${response.text}`);
  }
}

test('cases_search_hostile_strings_are_200_or_422_naming_q_never_5xx_on_list_and_facets', async () => {
  for (const q of HOSTILE) {
    for (const role of ['anonymous', 'editor']) {
      const { list, facets } = await searchBoth(q, role);
      assertAnswer(q, list, `${role} list`);
      assertAnswer(q, facets, `${role} facets`);
      if (list.status === 200) {
        assert.equal(list.body.total >= list.body.items.length, true);
        for (const item of list.body.items) assert.ok('snippet' in item);
      }
    }
  }
  const health = await request(server, 'GET', '/healthz');
  assert.equal(health.status, 200);
});

test('cases_search_operators_of_either_database_are_plain_words_or_separators', async () => {
  const ids = async (q) => (await everything(server, 'anonymous', { q })).map((c) => c.id);
  // Each of these, read as an operator, would find nothing or everything; read as words they
  // find the case whose text holds them.
  for (const q of ['AND', 'OR NOT', 'NEAR', 'hjemmepleje NOT morgenmøde', 'hjemmepleje OR zzyzxqk', 'citater', '\\skråstreger\\', 'x*y', 'a:b']) {
    assert.deepEqual(await ids(q), q === 'hjemmepleje OR zzyzxqk' ? [] : [hit.id], q);
  }
  // No column filter either: "title" and "summary" are words the case lacks, and a column
  // name that does not exist is no error.
  assert.deepEqual(await ids('title:hjemmepleje'), []);
  assert.deepEqual(await ids('summary:citater'), []);
  assert.deepEqual(await ids('hjemmeplejen:citater'), [hit.id]);
  assert.deepEqual(await ids('{title}:citater'), []);
});

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  '"', '"', '*', '\\', "'", '(', ')', ':', '^', '-', '+', '&', '|', '!', '<->', ' ', ' ', ' ', '\t', '\n', ',', ';', '%', '{', '}',
  'NEAR', 'AND', 'OR', 'NOT', 'hjemmepleje', 'hjemme', 'æ', 'ø', 'å', 'Æ', 'x', '7', '😀', '\u00a0', '\u0301', '\u0007', '\ufeff',
  'morgenmøde', 'og', 'i', 'a'.repeat(60), 'æ'.repeat(40),
];

test('cases_search_a_seeded_random_table_of_hostile_strings_follows_the_documented_limits', async () => {
  const next = random(20240607);
  for (let n = 0; n < 150; n++) {
    const length = 1 + Math.floor(next() * (n % 10 === 0 ? 120 : 12));
    let q = '';
    for (let i = 0; i < length; i++) q += PIECES[Math.floor(next() * PIECES.length)];
    const { list, facets } = await searchBoth(q, n % 2 ? 'anonymous' : 'partner');
    assertAnswer(q, list, `#${n} list`);
    assertAnswer(q, facets, `#${n} facets`);
  }
  assert.equal((await request(server, 'GET', '/healthz')).status, 200);
});

test('cases_query_strings_that_are_not_percent_encoded_utf8_are_400_on_list_and_facets', async () => {
  const raw = ['%00', 'a%00b', '%ED%A0%80', '%ED%B0%80', 'x%ED%A0%BD%ED%B8%80', '%C0%AF', '%C0%80', '%FF', '%FE%FF', '%E2%82', '%F4%90%80%80', '%', '%G0', '%2', 'a%'];
  for (const value of raw) {
    for (const path of [`/v1/cases?q=${value}`, `/v1/cases?tag=${value}`, `/v1/cases?status=draft&sector=${value}`, `/v1/cases?${value}=1`, `/v1/cases/facets?q=${value}`, `/v1/cases/facets?region_code=${value}`]) {
      for (const role of ['anonymous', 'editor']) {
        const response = await request(server, 'GET', path, { headers: authFor(role) });
        assert.equal(response.status, 400, `${role} ${path}: ${response.text}`);
        assert.equal(response.body.type, 'urn:problem:coi:bad-request');
      }
    }
  }
  assert.equal((await request(server, 'GET', '/healthz')).status, 200);
});

const long = (n) => 'x'.repeat(n);
const BAD = [
  // unknown parameters (names are case-sensitive; no bracket syntax)
  ['colour=blue', ['colour']],
  ['Status=draft', ['Status']],
  ['status[]=draft', ['status[]']],
  ['filter[status]=draft', ['filter[status]']],
  ['q.title=x', ['q.title']],
  ['offset=10', ['offset']],
  ['page=2', ['page']],
  // unknown values of the enumerated filters, alone, in a comma list, repeated, in other case
  ['status=deleted', ['status']],
  ['status=published,deleted', ['status']],
  ['status=published&status=deleted', ['status']],
  ['status=PUBLISHED', ['status']],
  ['status=published%20', ['status']],
  ['status=', ['status']],
  ['status=,', ['status']],
  [`status=${Array(33).fill('draft').join(',')}`, ['status']],
  ['government_level=federal', ['government_level']],
  ['innovation_type=app', ['innovation_type']],
  ['sector=space', ['sector']],
  ['implementation_status=done', ['implementation_status']],
  ['effect_type=happiness', ['effect_type']],
  ['spread_potential_rating=huge', ['spread_potential_rating']],
  ['origin=stolen', ['origin']],
  // codes and tags
  ['organisation_code=%20', ['organisation_code']],
  ['organisation_code=_x', ['organisation_code']],
  [`organisation_code=${long(33)}`, ['organisation_code']],
  ['organisation_code=0101%3BDROP', ['organisation_code']],
  ['region_code=-1', ['region_code']],
  ['region_code=1084,%C3%A6', ['region_code']],
  [`tag=${long(51)}`, ['tag']],
  ['tag=', ['tag']],
  // malformed dates
  ['updated_since=yesterday', ['updated_since']],
  ['updated_since=2024-13-01', ['updated_since']],
  ['updated_since=2024-02-30', ['updated_since']],
  ['updated_since=2024-01-01T00:00:00', ['updated_since']],
  ['updated_since=2024-01-01T00:00Z', ['updated_since']],
  ['updated_since=2024-01-01%2000:00:00Z', ['updated_since']],
  ['updated_since=2024-01-01T00:00:00%2B0100', ['updated_since']],
  ['updated_since=2024-01-01T00:00:00%2B24:00', ['updated_since']],
  ['updated_since=2024-01-01T25:00:00Z', ['updated_since']],
  ['updated_since=2024-01-01T00:00:00.Z', ['updated_since']],
  ['updated_since=1899-12-31', ['updated_since']],
  ['updated_since=1900-01-01T00:00:00%2B01:00', ['updated_since']],
  ['updated_since=', ['updated_since']],
  ['started_from=2024-1-1', ['started_from']],
  ['started_from=2024-02-30', ['started_from']],
  ['started_from=01-01-2024', ['started_from']],
  ['started_from=2024-01-01T00:00:00Z', ['started_from']],
  ['started_to=1899-12-31', ['started_to']],
  ['started_to=', ['started_to']],
  // booleans, levels, sort, count, highlight, limit, cursor
  ['has_evaluation=yes', ['has_evaluation']],
  ['has_evaluation=1', ['has_evaluation']],
  ['has_evaluation=TRUE', ['has_evaluation']],
  ['min_evidence_level=0', ['min_evidence_level']],
  ['min_evidence_level=6', ['min_evidence_level']],
  ['min_evidence_level=3.0', ['min_evidence_level']],
  ['sort=newest', ['sort']],
  ['sort=', ['sort']],
  ['sort=title,-updated_at', ['sort']],
  ['sort=-title', ['sort']],
  ['sort=relevance', ['sort']],
  ['count=estimated', ['count']],
  ['count=EXACT', ['count']],
  ['highlight=yes', ['highlight']],
  ['highlight=1', ['highlight']],
  ['limit=0', ['limit']],
  ['limit=201', ['limit']],
  ['limit=1e2', ['limit']],
  ['cursor=', ['cursor']],
  ['cursor=%E2%9C%93', ['cursor']],
  // single-valued parameters given twice
  ['q=a&q=b', ['q']],
  ['sort=title&sort=title', ['sort']],
  ['limit=5&limit=5', ['limit']],
  ['count=exact&count=exact', ['count']],
  ['highlight=true&highlight=false', ['highlight']],
  ['has_evaluation=true&has_evaluation=true', ['has_evaluation']],
  ['min_evidence_level=2&min_evidence_level=3', ['min_evidence_level']],
  ['updated_since=2024-01-01&updated_since=2024-01-02', ['updated_since']],
  ['started_from=2024-01-01&started_from=2024-01-01', ['started_from']],
  ['started_to=2024-01-01&started_to=2024-01-01', ['started_to']],
  // every error at once
  ['status=gone&sector=space&updated_since=x&limit=0&sort=up&q=%22', ['status', 'sector', 'updated_since', 'limit', 'sort', 'q']],
];

test('cases_list_bad_parameters_are_422_naming_each_one_for_every_role', async () => {
  for (const [query, fields] of BAD) {
    for (const role of ['anonymous', 'partner', 'editor']) {
      const response = await request(server, 'GET', `/v1/cases?${query}`, { headers: authFor(role) });
      assert.deepEqual(errorFields(response), new Set(fields), `${role}: ${query}: ${response.text}`);
      for (const error of response.body.errors) assert.ok(error.message.length > 0);
    }
  }
  assert.equal((await request(server, 'GET', '/healthz')).status, 200);
});

test('cases_facets_bad_filter_values_are_422_naming_each_one', async () => {
  const listOnly = new Set(['sort', 'limit', 'count', 'highlight', 'cursor']);
  for (const [query, fields] of BAD) {
    // On the facets the list-only parameters are unknown, which names them too.
    const response = await request(server, 'GET', `/v1/cases/facets?${query}`, { headers: authFor('editor') });
    const expected = new Set(fields);
    for (const pair of query.split('&')) if (listOnly.has(pair.split('=')[0])) expected.add(pair.split('=')[0]);
    assert.deepEqual(errorFields(response), expected, `${query}: ${response.text}`);
  }
});

test(
  'cases_list_updated_since_with_a_malformed_time_or_offset_is_422',
  async () => {
    for (const since of ['2024-01-01T00:00:00%2B-1:-1', '2024-01-01T00:00:00%2B%201:%201', '2024-01-01T1:00:00Z', '2024-01-01T%201:00:00Z', '2024-01-01T00:00:00%2Bxx:yy']) {
      const response = await request(server, 'GET', `/v1/cases?updated_since=${since}`);
      assert.deepEqual(errorFields(response), new Set(['updated_since']), `${since}: ${response.text}`);
    }
  },
);

test('cases_list_takes_up_to_32_query_parameters', async () => {
  const tags = Array.from({ length: 32 }, (_, i) => `tag=t${i}`).join('&');
  const response = await request(server, 'GET', `/v1/cases?${tags}`);
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.body.items, []);
});

test(
  'cases_list_with_more_than_32_query_parameters_is_a_422_with_errors',
  async () => {
    const tags = Array.from({ length: 33 }, (_, i) => `tag=t${i}`).join('&');
    const response = await request(server, 'GET', `/v1/cases?${tags}`);
    assert.equal(response.status, 422, response.text);
  },
);

test('cases_search_still_works_after_the_tables', async () => {
  const found = await everything(server, 'anonymous', { q: 'hjemmepleje' });
  assert.deepEqual(found.map((c) => c.id), [hit.id]);
  assert.equal((await request(server, 'GET', '/readyz')).status, 200);
});
