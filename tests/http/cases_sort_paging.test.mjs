// The orders of GET /v1/cases and its keyset pages: every sort pages across page boundaries
// while cases are added (and, where the sort value stays, changed) between pages, and no case
// that was there before is skipped or repeated; pages come in the documented order; count=exact
// equals what paging finds; the Link header continues the same query; a cursor only works for
// its own query and caller, and a damaged one is a 422 naming `cursor`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer, testBackend } from './lib/server.mjs';
import { MERGE_PATCH, queryString } from './lib/cases.mjs';
import { adopt, everything, listCases, pageThrough, writeCase } from './lib/search.mjs';

const WORD = 'kolonihave'; // in most cases' text, in different fields (different ranks)

let server;
let inserted = 0;

before(async () => {
  server = await startServer();
  const specs = [
    ['Samme titel', 'published', { summary: `En ${WORD} i byen.` }],
    ['Samme titel', 'published', { summary: `En ${WORD} på taget.` }],
    ['Samme titel', 'draft', { summary: `En ${WORD} ved skolen.` }],
    ['Zoneterapi i dagplejen', 'published', { summary: `Zoneterapi og ${WORD}.` }],
    ['akut hjælp', 'archived', { summary: `Hjælp til ${WORD} ejere.` }],
    ['Borgerbudget', 'published', { summary: `Borgerne bestemmer over ${WORD} midler.` }],
    ['Åbne data', 'submitted', { lessons_learned: `Data om ${WORD} er nyttige.` }],
    ['Æblehaver', 'published', { lessons_learned: `En ${WORD} med æbler.` }],
    ['Øko-skoler', 'published', { lessons_learned: `Skolerne har en ${WORD}.` }],
    ['Bæredygtige indkøb', 'draft', { tags: [WORD] }],
    ['Aftenskole', 'published', { tags: [WORD, 'læring'] }],
    ['123 hurtige svar', 'published', {}],
  ];
  const made = [];
  for (const [title, status, extra] of specs) {
    made.push(await writeCase(server, { org: '0101', status, body: { title, summary: 'Et projekt.', innovation_types: ['task'], ...extra } }));
  }
  // Adoption counts 3, 2, 2, 1 and 0 for the rest.
  for (const [i, adopters] of [[3, ['0147', '0360', '0461']], [5, ['0147', '0360']], [7, ['0461', '0851']], [10, ['0751']]]) {
    for (const org of adopters) await adopt(server, made[i].id, org);
  }
});
after(async () => {
  await server?.stop();
});

/** Adds two cases between two pages, as the partner system of 0101 would: one published and
 * one draft, with the search word, titles at both ends of the byte order. Returns their ids. */
async function insertTwo() {
  const n = ++inserted;
  const a = await writeCase(server, {
    org: '0101', via: 'put', key: `insert-${n}-a`, status: 'published',
    body: { title: `AAA indsat ${n}`, summary: `Ny ${WORD} nummer ${n}.`, innovation_types: ['task'] },
  });
  const b = await writeCase(server, {
    org: '0101', via: 'put', key: `insert-${n}-b`, status: 'draft',
    body: { title: `Øøø indsat ${n}`, summary: 'Ny kladde.', innovation_types: ['task'], tags: [WORD] },
  });
  return [a.id, b.id];
}

/** Changes a field no sort or search looks at (scope) of one case. */
async function touch(id) {
  const response = await request(server, 'PATCH', `/v1/cases/${id}`, {
    headers: { ...authFor('editor'), ...MERGE_PATCH },
    body: { scope: `Ændret ${++inserted}` },
  });
  assert.equal(response.status, 200, response.text);
}

const bytes = (s) => Buffer.from(s, 'utf8');
const byId = (a, b, desc) => (desc ? (a.id > b.id) : (a.id < b.id));

/** Whether `b` may follow `a` in `sort` (strictly after it). Relevance is not visible. */
const FOLLOWS = {
  '-updated_at': (a, b) => a.updated_at > b.updated_at || (a.updated_at === b.updated_at && byId(a, b, true)),
  updated_at: (a, b) => a.updated_at < b.updated_at || (a.updated_at === b.updated_at && byId(a, b, false)),
  title: (a, b) => {
    const order = Buffer.compare(bytes(a.title), bytes(b.title));
    return order < 0 || (order === 0 && byId(a, b, false));
  },
  '-adoption_count': (a, b) => a.adoption_count > b.adoption_count || (a.adoption_count === b.adoption_count && byId(a, b, true)),
  '-published_at': (a, b) => {
    if (a.published_at === b.published_at) return byId(a, b, true);
    if (a.published_at === null) return false;
    return b.published_at === null || a.published_at > b.published_at;
  },
};

function assertOrdered(items, sort) {
  const follows = FOLLOWS[sort];
  if (!follows) return;
  for (let i = 1; i < items.length; i++) {
    assert.ok(follows(items[i - 1], items[i]), `${sort}: "${items[i - 1].title}" then "${items[i].title}" at ${i}`);
  }
}

const SORTS = [
  [{ sort: '-updated_at' }, { touches: false }],
  [{ sort: 'updated_at' }, { touches: false }],
  [{ sort: 'title' }, { touches: true }],
  [{ sort: '-adoption_count' }, { touches: true }],
  [{ sort: '-published_at' }, { touches: true }],
  [{ q: WORD, sort: 'relevance' }, { touches: true }],
  [{ q: WORD }, { touches: true }], // relevance by default
  [{ q: WORD, sort: 'title' }, { touches: true }],
  [{}, { touches: false }], // -updated_at by default
];

for (const [query, { touches }] of SORTS) {
  const sortName = (query.sort ?? 'default_sort').replace(/^-(.*)$/, '$1_desc');
  const name = `cases_paging_${query.q ? 'search_' : ''}${sortName}_neither_skips_nor_repeats_while_cases_are_added${touches ? '_and_changed' : ''}`;
  test(name, async () => {
    const before = await everything(server, 'editor', query);
    assert.ok(before.length >= 10, `${before.length} cases`);
    assertOrdered(before, query.sort ?? (query.q ? 'relevance' : '-updated_at'));
    const beforeIds = before.map((c) => c.id);
    const notYetSeen = new Set(beforeIds);
    const insertedIds = [];
    const { items, pages } = await pageThrough(server, 'editor', query, {
      limit: 3,
      between: async (page) => {
        if (page > 3) return; // writes between the first pages are enough; the data stays small
        insertedIds.push(...(await insertTwo()));
        if (touches) {
          // A case still to come and one already listed change; their sort value does not.
          const next = beforeIds.find((id) => notYetSeen.has(id) && id !== beforeIds.at(-1));
          if (next) await touch(next);
          await touch(beforeIds[0]);
        }
      },
    });
    for (const item of items) notYetSeen.delete(item.id);
    assert.ok(pages >= 4, `${pages} pages`);
    const pagedIds = items.map((c) => c.id);
    const missing = beforeIds.filter((id) => !pagedIds.includes(id));
    assert.deepEqual(missing, [], 'cases skipped');
    // The cases that were there before come in the same order as before.
    assert.deepEqual(pagedIds.filter((id) => beforeIds.includes(id)), beforeIds);
    assertOrdered(items, query.sort ?? (query.q ? 'relevance' : '-updated_at'));
    const added = pagedIds.filter((id) => !beforeIds.includes(id));
    assert.ok(added.every((id) => insertedIds.includes(id)));
    if (query.sort === '-updated_at' || (!query.sort && !query.q)) assert.deepEqual(added, [], 'newer changes come before the cursor');
    if (query.sort === 'updated_at') assert.deepEqual(added, insertedIds, 'the newest changes come last, after the cursor');
  });
}

test('cases_paging_published_at_lists_never_published_cases_last_and_archived_ones_by_their_publication', async () => {
  const items = await everything(server, 'editor', { sort: '-published_at' });
  const firstNull = items.findIndex((c) => c.published_at === null);
  assert.ok(firstNull > 0);
  assert.ok(items.slice(firstNull).every((c) => c.published_at === null));
  assert.ok(items.slice(0, firstNull).some((c) => c.status === 'archived'));
  const anonymous = await everything(server, 'anonymous', { sort: '-published_at' });
  assert.ok(anonymous.every((c) => c.published_at !== null && c.status === 'published'));
  assertOrdered(anonymous, '-published_at');
});

test('cases_paging_title_order_is_the_byte_order_of_the_title', async () => {
  const titles = (await everything(server, 'anonymous', { sort: 'title', q: WORD })).map((c) => c.title);
  const expected = [...titles].sort((a, b) => Buffer.compare(bytes(a), bytes(b)));
  assert.deepEqual(titles, expected);
  // Digits, upper case, lower case, then Å (C3 85), Æ (C3 86), Ø (C3 98).
  const order = ['Aftenskole', 'Borgerbudget', 'Zoneterapi i dagplejen', 'Æblehaver', 'Øko-skoler'];
  assert.deepEqual(titles.filter((t) => order.includes(t)), order);
  const all = (await everything(server, 'editor', { sort: 'title' })).map((c) => c.title);
  assert.ok(all.indexOf('123 hurtige svar') < all.indexOf('Aftenskole'));
  assert.ok(all.indexOf('Zoneterapi i dagplejen') < all.indexOf('akut hjælp'));
  assert.ok(all.indexOf('akut hjælp') < all.indexOf('Åbne data'));
});

test('cases_paging_count_exact_equals_the_cases_paged_through_on_every_page', async () => {
  for (const [role, query] of [
    ['editor', {}],
    ['editor', { q: WORD }],
    ['anonymous', { q: WORD, sort: 'title' }],
    ['anonymous', {}],
    ['partner', { status: 'draft,published' }],
    ['editor', { q: 'zzyzxqk' }],
  ]) {
    const { items, totals } = await pageThrough(server, role, { ...query, count: 'exact' }, { limit: 4 });
    assert.ok(totals.every((t) => t === items.length), `${role} ${JSON.stringify(query)}: totals ${totals} for ${items.length} cases`);
    const plain = await listCases(server, role, { ...query, limit: '4' });
    assert.ok(!('total' in plain.body), 'no total without count=exact');
  }
});

test('cases_paging_limit_is_at_most_200_and_defaults_to_50', async () => {
  const { items } = await pageThrough(server, 'editor', {}, { limit: 200 });
  const byDefault = await listCases(server, 'editor');
  assert.equal(byDefault.body.items.length, Math.min(50, items.length));
  for (const limit of ['0', '201', '-1', '1.5', 'x']) {
    const response = await listCases(server, 'editor', { limit });
    assert.deepEqual(errorFields(response), new Set(['limit']), limit);
  }
  const one = await listCases(server, 'editor', { limit: '1' });
  assert.equal(one.body.items.length, 1);
  assert.ok(one.body.next_cursor);
});

test('cases_paging_the_link_header_continues_the_same_query', async () => {
  const query = { q: `"en ${WORD}" ${WORD.slice(0, 5)}*`, sort: 'title', highlight: 'true', count: 'exact', status: ['published', 'draft'], limit: '2' };
  const first = await listCases(server, 'editor', query);
  assert.equal(first.status, 200, first.text);
  assert.ok(first.body.next_cursor);
  const link = first.headers.get('link');
  const url = /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
  assert.ok(url, link);
  const viaLink = await request(server, 'GET', url, { headers: authFor('editor') });
  const params = queryString(query);
  params.set('cursor', first.body.next_cursor);
  const viaCursor = await request(server, 'GET', `/v1/cases?${params}`, { headers: authFor('editor') });
  assert.equal(viaLink.status, 200, viaLink.text);
  assert.deepEqual(viaLink.body, viaCursor.body);
  assert.ok(viaLink.body.items.every((c) => typeof c.snippet === 'string'));
});

test('cases_paging_a_cursor_may_continue_with_another_limit', async () => {
  const all = await everything(server, 'editor', { sort: 'title' });
  const first = await listCases(server, 'editor', { sort: 'title', limit: '2' });
  const next = await listCases(server, 'editor', { sort: 'title', limit: '5', cursor: first.body.next_cursor });
  assert.equal(next.status, 200, next.text);
  assert.deepEqual(next.body.items.map((c) => c.id), all.slice(2, 7).map((c) => c.id));
});

test('cases_paging_a_cursor_from_another_query_or_caller_is_422_naming_cursor', async () => {
  const query = { sort: 'title', q: WORD, status: 'published', limit: '2' };
  const first = await listCases(server, 'editor', query);
  const cursor = first.body.next_cursor;
  assert.ok(cursor);
  const others = [
    ['editor', {}, { ...query, sort: '-updated_at' }],
    ['editor', {}, { ...query, q: 'hjemmepleje' }],
    ['editor', {}, { ...query, status: 'draft' }],
    ['editor', {}, { ...query, status: ['published', 'draft'] }],
    ['editor', {}, { sort: 'title', q: WORD, limit: '2' }],
    ['editor', {}, { ...query, count: 'exact' }],
    ['editor', {}, { ...query, highlight: 'true' }],
    ['editor', {}, { ...query, tag: WORD }],
    ['admin', {}, query],
    ['steering', {}, query],
    ['partner', {}, query],
    ['anonymous', {}, query],
  ];
  for (const [role, auth, other] of others) {
    const response = await listCases(server, role, { ...other, cursor }, auth);
    assert.deepEqual(errorFields(response), new Set(['cursor']), `${role} ${JSON.stringify(other)}: ${response.text}`);
    assert.match(response.body.errors[0].message, /other filters/);
  }
  // A partner's cursor works for that partner only, not for a partner of another organisation.
  const own = await listCases(server, 'partner', query, { org: '0101' });
  const foreign = await listCases(server, 'partner', { ...query, cursor: own.body.next_cursor }, { org: '0147' });
  assert.deepEqual(errorFields(foreign), new Set(['cursor']));
  const again = await listCases(server, 'partner', { ...query, cursor: own.body.next_cursor }, { org: '0101' });
  assert.equal(again.status, 200, again.text);
});

/** A cursor of GET /v1/cases?sort=`sort`&limit=1 as the editor, decoded. */
async function decodedCursor(query) {
  const first = await listCases(server, 'editor', { ...query, limit: '1' });
  assert.ok(first.body.next_cursor);
  return { token: first.body.next_cursor, doc: JSON.parse(Buffer.from(first.body.next_cursor, 'base64url').toString('utf8')) };
}
const encode = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');

test('cases_paging_a_damaged_cursor_is_422_naming_cursor', async () => {
  const { token, doc } = await decodedCursor({ sort: 'title' });
  const damaged = [
    'abc',
    token.slice(0, -4),
    `${token}A`,
    `${token}!!`,
    token.replace(/[A-Za-z]/, (ch) => (ch === 'x' ? '+' : '/')),
    `${token}==`,
    encode('not json'),
    encode('[]'),
    encode({ ...doc, v: 2 }),
    encode({ ...doc, f: '0000000000000000' }),
    encode({ v: doc.v, k: doc.k }),
    encode({ ...doc, k: {} }),
    encode({ ...doc, k: 'x' }),
    encode(`{"v":1,"k":${JSON.stringify(doc.k)},"f":"${doc.f}","f":"${doc.f}"}`),
    'A'.repeat(5000),
  ];
  for (const cursor of damaged) {
    const response = await listCases(server, 'editor', { sort: 'title', limit: '1', cursor });
    assert.deepEqual(errorFields(response), new Set(['cursor']), `${cursor.slice(0, 60)}: ${response.text}`);
  }
});

test(
  'cases_paging_a_cursor_whose_sort_key_has_the_wrong_shape_is_422_naming_cursor',
  async () => {
    for (const query of [{ sort: 'title' }, { sort: '-adoption_count' }, { sort: '-published_at' }, { q: WORD }]) {
      const { doc } = await decodedCursor(query);
      for (const k of [[doc.k[0]], [...doc.k, 'x'], [doc.k[0], 5], [{ a: 1 }, doc.k[1]], [[doc.k[0]], doc.k[1]], [true, doc.k[1]]]) {
        const response = await listCases(server, 'editor', { ...query, limit: '1', cursor: encode({ ...doc, k }) });
        assert.deepEqual(errorFields(response), new Set(['cursor']), `${JSON.stringify(query)} k=${JSON.stringify(k)}: ${response.text}`);
      }
    }
  },
);

test('cases_paging_an_edited_cursor_never_breaks_the_server', async () => {
  for (const query of [{ sort: '-updated_at' }, { sort: 'updated_at' }, { sort: 'title' }, { sort: '-adoption_count' }, { sort: '-published_at' }, { q: WORD }]) {
    const { doc } = await decodedCursor(query);
    const first = doc.k[0];
    const edits = typeof first === 'number'
      ? [2 ** 31, 2 ** 53, -1, 0]
      : [null, '', 'not-a-time', '1e99', 'NaN', "'; DROP TABLE cases; --", '\u0000', 'x'.repeat(3000)];
    for (const value of edits) {
      for (const id of [doc.k[1], '', 'ikke-et-id']) {
        const response = await listCases(server, 'editor', { ...query, limit: '1', cursor: encode({ ...doc, k: [value, id] }) });
        assert.ok([200, 422].includes(response.status), `${JSON.stringify(query)} k=${JSON.stringify([value, id]).slice(0, 80)}: ${response.status} ${response.text}`);
        if (response.status === 422) assert.ok(response.body.errors.length > 0);
      }
    }
  }
  const health = await request(server, 'GET', '/healthz');
  assert.equal(health.status, 200);
});

test(
  'cases_paging_a_cursor_edited_to_a_value_no_page_could_end_on_is_422_naming_cursor',
  async () => {
    const edits = [
      [{ sort: '-updated_at' }, 'not-a-time'],
      [{ sort: 'updated_at' }, '2024-02-30T00:00:00.000Z'],
      [{ sort: '-published_at' }, '2024-01-01'],
    ];
    for (const [query, value] of edits) {
      const { doc } = await decodedCursor(query);
      const response = await listCases(server, 'editor', { ...query, limit: '1', cursor: encode({ ...doc, k: [value, doc.k[1]] }) });
      assert.deepEqual(errorFields(response), new Set(['cursor']), `${JSON.stringify(query)} ${value}: ${response.text}`);
    }
  },
);
