// GET /v1/changes: the change feed partner systems poll. Every write of a case, evaluation or
// adoption shows up once, in commit order, with the action the caller should apply; each
// caller sees only what it may see (and "removed" when something leaves its view); the cursor
// is opaque, always given, and a client that follows it misses nothing and sees nothing twice,
// even while others write.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { MERGE_PATCH, caseBody, createCase, moveDraftTo, transition, unique } from './lib/cases.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** Query pairs from an object or a list of [name, value] pairs (a list may repeat a name). */
const pairs = (query) => (Array.isArray(query) ? query : Object.entries(query));

/** One GET /v1/changes as `role` with `query` (an object or [name, value] pairs). */
async function poll(role, query = {}) {
  const params = new URLSearchParams(pairs(query));
  const response = await request(server, 'GET', `/v1/changes?${params}`, { headers: authFor(role) });
  assert.equal(response.status, 200, response.text);
  assert.equal(typeof response.body.next_cursor, 'string');
  return response;
}

/** Every change after `cursor` (null: from the beginning) for `role` with the filters in
 * `extra`, following next_cursor until a page is empty; returns {items, cursor}. */
async function follow(cursor, role, extra) {
  const items = [];
  for (let page = 0; page < 100; page++) {
    const query = [...pairs(extra), ['limit', '1000'], ...(cursor ? [['since', cursor]] : [])];
    const response = await poll(role, query);
    items.push(...response.body.items);
    cursor = response.body.next_cursor;
    if (response.body.items.length === 0) return { items, cursor };
  }
  throw new Error('follow: more than 100 pages');
}

/** The feed's head for `role` (and filters): a cursor after every change it can see so far. */
const head = async (role = 'admin', extra = {}) => (await follow(null, role, extra)).cursor;

/** Every change after `cursor` for `role` (and filters). */
const since = async (cursor, role = 'admin', extra = {}) => (await follow(cursor, role, extra)).items;

const brief = (items) => items.map((c) => `${c.type} ${c.id} ${c.action} ${c.version}`);

async function ok(promise, status = 200) {
  const response = await promise;
  assert.equal(response.status, status, response.text);
  return response.body;
}

const as = (role) => ({ headers: authFor(role) });

function evaluationBody() {
  return { title: `Evaluering ${unique()}`, evaluator_kind: 'internal', method: 'before_after', evidence_level: 2 };
}

test('changes_feed_lists_every_kind_of_write_in_order_with_its_action_and_version', async () => {
  const start = await head();
  const expected = [];
  const kase = (await createCase(server, 'admin')).body;
  expected.push(`case ${kase.id} created 1`);
  await ok(request(server, 'PATCH', `/v1/cases/${kase.id}`, { headers: { ...authFor('admin'), ...MERGE_PATCH }, body: { scope: 'Hele kommunen' } }));
  expected.push(`case ${kase.id} updated 2`);
  await moveDraftTo(server, kase.id, 'published');
  expected.push(`case ${kase.id} transition 3`, `case ${kase.id} transition 4`, `case ${kase.id} transition 5`);

  const adoption = await ok(request(server, 'POST', `/v1/cases/${kase.id}/adoptions`, { ...as('admin'), body: { organisation_code: '0147', status: 'considering' } }), 201);
  expected.push(`adoption ${adoption.id} created 1`);
  await ok(request(server, 'PATCH', `/v1/adoptions/${adoption.id}`, { headers: { ...authFor('admin'), ...MERGE_PATCH }, body: { status: 'adapting' } }));
  expected.push(`adoption ${adoption.id} updated 2`);
  await ok(request(server, 'DELETE', `/v1/adoptions/${adoption.id}`, as('admin')), 204);
  expected.push(`adoption ${adoption.id} deleted 2`);

  const evaluation = await ok(request(server, 'POST', `/v1/cases/${kase.id}/evaluations`, { ...as('admin'), body: evaluationBody() }), 201);
  expected.push(`evaluation ${evaluation.id} created 1`);
  await ok(request(server, 'PATCH', `/v1/evaluations/${evaluation.id}`, { headers: { ...authFor('admin'), ...MERGE_PATCH }, body: { evidence_level: 3 } }));
  expected.push(`evaluation ${evaluation.id} updated 2`);
  await ok(request(server, 'POST', `/v1/evaluations/${evaluation.id}/transitions`, { ...as('admin'), body: { to: 'submitted' } }));
  expected.push(`evaluation ${evaluation.id} transition 3`);
  await ok(request(server, 'DELETE', `/v1/evaluations/${evaluation.id}`, as('admin')), 204);
  expected.push(`evaluation ${evaluation.id} deleted 3`);

  const key = `feed-${unique()}`;
  const put = await ok(request(server, 'PUT', `/v1/organisations/0101/cases/${key}`, { ...as('partner'), body: caseBody() }), 201);
  expected.push(`case ${put.id} created 1`);
  const batched = await ok(request(server, 'POST', '/v1/organisations/0101/cases:batch', {
    ...as('partner'),
    body: [{ ...caseBody(), external_id: key, scope: 'Nu med omfang' }, { ...caseBody(), external_id: `${key}-2` }],
  }));
  expected.push(`case ${put.id} updated 2`, `case ${batched.items[1].id} created 1`);

  const seen = await since(start);
  assert.deepEqual(brief(seen), expected);
  for (const change of seen) {
    assert.ok(!Number.isNaN(Date.parse(change.at)), change.at);
    assert.equal(change.case_id, change.type === 'case' ? change.id : kase.id);
  }
  const times = seen.map((c) => Date.parse(c.at));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), 'at is in commit order');
});

test('changes_feed_shows_the_public_an_archived_case_and_what_went_with_it_as_removed', async () => {
  const kase = (await createCase(server, 'admin')).body;
  const evaluation = await ok(request(server, 'POST', `/v1/cases/${kase.id}/evaluations`, { ...as('admin'), body: evaluationBody() }), 201);
  for (const to of ['submitted', 'in_review', 'published']) {
    await ok(request(server, 'POST', `/v1/evaluations/${evaluation.id}/transitions`, { ...as('admin'), body: { to } }));
  }
  const adoption = await ok(request(server, 'POST', `/v1/cases/${kase.id}/adoptions`, { ...as('admin'), body: { organisation_code: '0147', status: 'considering' } }), 201);
  const anonymousStart = await head('anonymous');
  const editorStart = await head('editor');

  await moveDraftTo(server, kase.id, 'published');
  const archived = await transition(server, kase.id, 'archived');
  assert.equal(archived.status, 200, archived.text);

  const mine = (items) => brief(items.filter((c) => c.case_id === kase.id));
  // The public saw nothing of the draft; publishing shows the case, its published evaluation
  // and its adoption; archiving removes all three.
  const publicView = mine(await since(anonymousStart, 'anonymous'));
  assert.deepEqual([...publicView.slice(0, 3)].sort(), [
    `adoption ${adoption.id} updated 1`,
    `case ${kase.id} transition 4`,
    `evaluation ${evaluation.id} updated 4`,
  ]);
  assert.deepEqual([...publicView.slice(3)].sort(), [
    `adoption ${adoption.id} removed 1`,
    `case ${kase.id} removed 5`,
    `evaluation ${evaluation.id} removed 4`,
  ]);
  // The staff see every step as it was recorded.
  const staffView = mine(await since(editorStart, 'editor'));
  assert.deepEqual(staffView.filter((c) => c.startsWith('case ')), [2, 3, 4, 5].map((v) => `case ${kase.id} transition ${v}`));
  assert.ok(!staffView.some((c) => c.includes('removed')));
});

test('changes_feed_shows_a_partner_its_own_drafts_but_not_other_organisations_drafts', async () => {
  const partnerStart = await head('partner');
  const publicStart = await head('anonymous');
  const own = (await createCase(server, 'admin', { organisation_code: '0101' })).body;
  const other = (await createCase(server, 'admin', { organisation_code: '0147' })).body;
  const partnered = (await createCase(server, 'admin', { organisation_code: '0147', partner_organisation_codes: ['0101'] })).body;

  const partnerView = brief(await since(partnerStart, 'partner'));
  assert.ok(partnerView.includes(`case ${own.id} created 1`));
  assert.ok(partnerView.includes(`case ${partnered.id} created 1`));
  assert.ok(!partnerView.some((c) => c.includes(other.id)));
  const publicView = brief(await since(publicStart, 'anonymous'));
  assert.ok(![own.id, other.id, partnered.id].some((id) => publicView.some((c) => c.includes(id))));

  // Taken off the case as a partner: it leaves the partner's view.
  const removedStart = await head('partner');
  await ok(request(server, 'PATCH', `/v1/cases/${partnered.id}`, { headers: { ...authFor('admin'), ...MERGE_PATCH }, body: { partner_organisation_codes: [] } }));
  assert.deepEqual(brief(await since(removedStart, 'partner')), [`case ${partnered.id} removed 2`]);
});

test('changes_feed_types_filter_selects_kinds_of_object_as_a_comma_list_or_repeated', async () => {
  const startCase = await head('admin', { types: 'case' });
  const startEvaluation = await head('admin', { types: 'evaluation' });
  const startBoth = await head('admin', [['types', 'adoption'], ['types', 'evaluation']]);
  const kase = (await createCase(server, 'admin')).body;
  const evaluation = await ok(request(server, 'POST', `/v1/cases/${kase.id}/evaluations`, { ...as('admin'), body: evaluationBody() }), 201);

  const cases = await since(startCase, 'admin', { types: 'case' });
  assert.deepEqual(brief(cases), [`case ${kase.id} created 1`]);
  const evaluations = await since(startEvaluation, 'admin', { types: 'evaluation' });
  assert.deepEqual(brief(evaluations), [`evaluation ${evaluation.id} created 1`]);
  const both = await since(startBoth, 'admin', [['types', 'adoption'], ['types', 'evaluation']]);
  assert.deepEqual(brief(both), [`evaluation ${evaluation.id} created 1`]);
  // The same set as a comma list reads from the same cursor.
  const comma = await poll('admin', { types: 'evaluation,adoption', since: startBoth });
  assert.deepEqual(brief(comma.body.items), [`evaluation ${evaluation.id} created 1`]);

  const unknown = await request(server, 'GET', '/v1/changes?types=case,organisation', as('admin'));
  assert.equal(unknown.status, 422, unknown.text);
  assert.deepEqual(unknown.body.errors.map((e) => e.field), ['types']);
  assert.match(unknown.body.errors[0].message, /organisation/);
  const otherTypes = await request(server, 'GET', `/v1/changes?types=case&since=${encodeURIComponent(startEvaluation)}`, as('admin'));
  assert.equal(otherTypes.status, 422, otherTypes.text);
});

test('changes_feed_pages_with_limit_and_next_cursor_and_a_link_header', async () => {
  const start = await head();
  const made = [];
  for (let i = 0; i < 5; i++) made.push((await createCase(server, 'admin')).body.id);
  const seen = [];
  let cursor = start;
  for (let page = 0; page < 3; page++) {
    const response = await poll('admin', { since: cursor, limit: '2' });
    assert.ok(response.body.items.length <= 2);
    seen.push(...response.body.items.map((c) => c.id));
    const link = response.headers.get('link');
    assert.match(link, /rel="next"$/);
    const next = new URL(link.slice(1, link.indexOf('>')), server.url);
    assert.equal(next.pathname, '/v1/changes');
    assert.equal(next.searchParams.get('since'), response.body.next_cursor);
    assert.equal(next.searchParams.get('limit'), '2');
    assert.deepEqual(next.searchParams.getAll('since').length, 1);
    cursor = response.body.next_cursor;
  }
  assert.deepEqual(seen, made);
  // An item's own cursor continues right after it.
  const first = await poll('admin', { since: start, limit: '1' });
  const rest = await poll('admin', { since: first.body.items[0].cursor, limit: '10' });
  assert.deepEqual(rest.body.items.map((c) => c.id), made.slice(1));
  const limits = await request(server, 'GET', '/v1/changes?limit=1001', as('admin'));
  assert.equal(limits.status, 422, limits.text);
  const twice = await request(server, 'GET', '/v1/changes?limit=5&limit=6', as('admin'));
  assert.equal(twice.status, 422, twice.text);
  const unknownParameter = await request(server, 'GET', '/v1/changes?cursor=x', as('admin'));
  assert.equal(unknownParameter.status, 422, unknownParameter.text);
});

test('changes_feed_empty_poll_still_gives_a_cursor_that_finds_later_changes', async () => {
  const start = await head('anonymous');
  const empty = await poll('anonymous', { since: start });
  assert.deepEqual(empty.body.items, []);
  const again = await poll('anonymous', { since: empty.body.next_cursor });
  assert.deepEqual(again.body.items, []);
  assert.match(again.headers.get('link'), /rel="next"$/);
  // Changes hidden from the public move its cursor on without showing anything.
  await createCase(server, 'admin');
  const hidden = await poll('anonymous', { since: again.body.next_cursor });
  assert.deepEqual(hidden.body.items, []);
  const published = (await createCase(server, 'admin')).body;
  await moveDraftTo(server, published.id, 'published');
  const later = await since(hidden.body.next_cursor, 'anonymous');
  assert.deepEqual(brief(later), [`case ${published.id} transition 4`]);
  // Without `since` the feed starts at the beginning.
  const fromStart = await poll('anonymous', { limit: '1000' });
  assert.ok(fromStart.body.items.some((c) => c.id === published.id));
});

test('changes_feed_refuses_a_malformed_or_tampered_cursor_with_422', async () => {
  const cursor = await head('partner');
  const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  const tampered = JSON.parse(JSON.stringify(decoded));
  tampered.k[0] += 1;
  const negative = JSON.parse(JSON.stringify(decoded));
  negative.k = [-1, negative.k[1]];
  const variants = [
    'not-a-cursor',
    '%%%',
    Buffer.from('{"v":1}').toString('base64url'),
    Buffer.from(JSON.stringify(tampered)).toString('base64url'),
    Buffer.from(JSON.stringify(negative)).toString('base64url'),
    `${cursor}x`,
  ];
  for (const value of variants) {
    const response = await request(server, 'GET', `/v1/changes?since=${encodeURIComponent(value)}`, as('partner'));
    assert.equal(response.status, 422, `${value}: ${response.text}`);
    assert.equal(response.body.errors[0].field, 'since');
  }
  // A cursor is the position of one viewer: another caller cannot use it.
  const elsewhere = await request(server, 'GET', `/v1/changes?since=${encodeURIComponent(cursor)}`, as('editor'));
  assert.equal(elsewhere.status, 422, elsewhere.text);
  const empty = await request(server, 'GET', '/v1/changes?since=', as('partner'));
  assert.equal(empty.status, 422, empty.text);
});

test('changes_feed_two_writers_and_a_poller_the_poller_sees_every_write_exactly_once', async () => {
  const start = await head('admin', { types: 'case' });
  const writes = [];
  const writer = async (name, org) => {
    let current = null;
    let version = 0;
    for (let i = 0; i < 60; i++) {
      if (i % 4 === 0) {
        const key = `${name}-${unique()}`;
        const response = await request(server, 'PUT', `/v1/organisations/${org}/cases/${key}`, {
          ...as('admin'),
          body: { ...caseBody(), organisation_code: org },
        });
        assert.equal(response.status, 201, response.text);
        current = response.body.id;
        version = 1;
      } else {
        const response = await request(server, 'PATCH', `/v1/cases/${current}`, {
          headers: { ...authFor('editor'), ...MERGE_PATCH },
          body: { scope: `${name} ændring ${i}` },
        });
        assert.equal(response.status, 200, response.text);
        version += 1;
      }
      writes.push(`${current} ${version}`);
    }
  };
  let writing = true;
  let pagesWhileWriting = 0;
  const seen = [];
  const poller = (async () => {
    let cursor = start;
    for (let rounds = 0; rounds < 10_000; rounds++) {
      const stillWriting = writing;
      const response = await poll('admin', { since: cursor, limit: '7', types: 'case' });
      seen.push(...response.body.items);
      if (stillWriting && response.body.items.length > 0) pagesWhileWriting++;
      cursor = response.body.next_cursor;
      if (!stillWriting && response.body.items.length === 0) return;
    }
    throw new Error('the poller did not catch up');
  })();
  const writers = Promise.all([writer('a', '0101'), writer('b', '0147')]).finally(() => {
    writing = false;
  });
  await Promise.all([writers, poller]);

  assert.ok(pagesWhileWriting >= 3, `the poller read only ${pagesWhileWriting} pages while the writers wrote`);
  const polled = seen.map((c) => `${c.id} ${c.version}`);
  assert.equal(new Set(polled).size, polled.length, 'a change was seen twice');
  assert.deepEqual([...polled].sort(), [...writes].sort());
  assert.equal(writes.length, 120);
  // Each case's changes come in version order.
  const byCase = new Map();
  for (const c of seen) byCase.set(c.id, [...(byCase.get(c.id) ?? []), c.version]);
  for (const [id, versions] of byCase) assert.deepEqual(versions, [...versions].sort((a, b) => a - b), id);
});
