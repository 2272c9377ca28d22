// Who sees which case: the public only published ones; a partner also every case of its own
// organisation in every status and the cases that list its organisation as a partner; editors,
// admins and steering members all. A case the caller may not see is 404 on every route, never
// 403. Also the list's filters, order and cursors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseIn, listedIds, MERGE_PATCH } from './lib/cases.mjs';

const STATUSES = ['draft', 'submitted', 'in_review', 'published', 'changes_requested', 'archived'];

let server;
const own = {}; // status -> a case of 0101 in that status
let listing; // a draft of 0147 that lists 0101 as a partner
let foreignDraft; // a draft of 0147 alone
let foreignPublished; // a published case of 0147

before(async () => {
  server = await startServer();
  for (const status of STATUSES) own[status] = await caseIn(server, status);
  listing = await caseIn(server, 'draft', { organisation_code: '0147', partner_organisation_codes: ['0101'] });
  foreignDraft = await caseIn(server, 'draft', { organisation_code: '0147' });
  foreignPublished = await caseIn(server, 'published', { organisation_code: '0147' });
});
after(async () => {
  await server?.stop();
});

const get = (id, role, auth = {}) => request(server, 'GET', `/v1/cases/${id}`, { headers: authFor(role, auth) });
const all = () => [...Object.values(own), listing, foreignDraft, foreignPublished];

/** Asserts that `role` (with `auth`) gets exactly `visible` among the fixtures, by GET and list. */
async function assertSees(role, visible, auth = {}) {
  const listed = new Set(await listedIds(server, role, {}, auth));
  for (const kase of all()) {
    const expected = visible.includes(kase);
    const response = await get(kase.id, role, auth);
    const label = `${role}${auth.org ? ` of ${auth.org}` : ''}: case of ${kase.organisation_code} in ${kase.status}`;
    assert.equal(response.status, expected ? 200 : 404, `${label}: ${response.text}`);
    if (!expected) assert.equal(response.body.type, 'urn:problem:coi:not-found');
    assert.equal(listed.has(kase.id), expected, `${label}: listed`);
  }
}

test('cases_anonymous_sees_only_published_cases', async () => {
  await assertSees('anonymous', [own.published, foreignPublished]);
  const response = await request(server, 'GET', '/v1/cases?limit=200');
  for (const kase of response.body.items) assert.equal(kase.status, 'published');
});

test('cases_partner_sees_its_own_organisations_cases_in_every_status_and_cases_listing_it', async () => {
  await assertSees('partner', [...Object.values(own), listing, foreignPublished]);
});

test('cases_partner_of_another_organisation_sees_only_published_cases_of_0101', async () => {
  await assertSees('partner', [own.published, listing, foreignDraft, foreignPublished], { org: '0147' });
  await assertSees('partner', [own.published, foreignPublished], { org: '0751' });
});

test('cases_editor_admin_and_steering_see_every_case', async () => {
  for (const role of ['editor', 'admin', 'steering']) await assertSees(role, all());
});

test('cases_a_case_the_caller_may_not_see_is_404_on_every_route_never_403', async () => {
  const outsider = authFor('partner', { org: '0147' });
  const id = own.draft.id;
  const calls = [
    ['GET', `/v1/cases/${id}`, undefined, {}],
    ['PATCH', `/v1/cases/${id}`, { scope: 'x' }, MERGE_PATCH],
    ['POST', `/v1/cases/${id}/transitions`, { to: 'submitted' }, {}],
    ['GET', `/v1/cases/${id}/history`, undefined, {}],
    ['GET', `/v1/cases/${id}/adoptions`, undefined, {}],
    ['POST', `/v1/cases/${id}/adoptions`, { status: 'considering' }, {}],
  ];
  for (const [method, path, body, headers] of calls) {
    const response = await request(server, method, path, { headers: { ...outsider, ...headers }, body });
    assert.equal(response.status, 404, `${method} ${path}: ${response.text}`);
  }
  for (const [method, path] of [['GET', `/v1/cases/${id}`], ['GET', `/v1/cases/${id}/adoptions`]]) {
    const response = await request(server, method, path);
    assert.equal(response.status, 404, `anonymous ${method} ${path}: ${response.text}`);
  }
  const after = await get(id, 'admin');
  assert.equal(after.body.version, own.draft.version, 'nothing changed');
});

test('cases_404_for_a_hidden_case_looks_like_the_404_for_a_missing_one', async () => {
  const outsider = authFor('partner', { org: '0147' });
  const hidden = await request(server, 'GET', `/v1/cases/${own.draft.id}`, { headers: outsider });
  const missing = await request(server, 'GET', '/v1/cases/00000000-0000-4000-8000-000000000000', { headers: outsider });
  assert.equal(hidden.status, 404);
  assert.equal(missing.status, 404);
  const shape = (b) => ({ type: b.type, title: b.title, status: b.status, detail: b.detail.replace(/[0-9a-f-]{36}/, 'ID') });
  assert.deepEqual(shape(hidden.body), shape(missing.body));
});

// ---- the list ----------------------------------------------------------------------------------

test('cases_list_filters_by_status_and_lead_organisation', async () => {
  for (const status of STATUSES) {
    const ids = await listedIds(server, 'editor', { status });
    assert.ok(ids.includes(own[status].id), status);
    for (const id of ids) assert.equal((await get(id, 'editor')).body.status, status);
  }
  const of0147 = new Set(await listedIds(server, 'editor', { organisation_code: '0147' }));
  assert.deepEqual(of0147, new Set([listing.id, foreignDraft.id, foreignPublished.id]));
  const partnerDrafts = new Set(await listedIds(server, 'partner', { status: 'draft', organisation_code: '0147' }));
  assert.deepEqual(partnerDrafts, new Set([listing.id]));
  assert.deepEqual(await listedIds(server, 'anonymous', { status: 'draft' }), []);
});

test('cases_list_is_newest_change_first_and_pages_neither_skip_nor_repeat', async () => {
  const everything = await listedIds(server, 'admin');
  const paged = [];
  let cursor = null;
  let pages = 0;
  do {
    const query = new URLSearchParams({ limit: '2' });
    if (cursor) query.set('cursor', cursor);
    const response = await request(server, 'GET', `/v1/cases?${query}`, { headers: authFor('admin') });
    assert.equal(response.status, 200, response.text);
    assert.ok(response.body.items.length <= 2);
    paged.push(...response.body.items);
    cursor = response.body.next_cursor;
    if (cursor) assert.match(response.headers.get('link'), /^<\/v1\/cases\?limit=2&cursor=[^>]+>; rel="next"$/);
    else assert.equal(response.headers.get('link'), null);
    pages++;
  } while (cursor);
  assert.equal(pages, Math.ceil(everything.length / 2));
  assert.deepEqual(paged.map((c) => c.id), everything);
  for (let i = 1; i < paged.length; i++) {
    const [a, b] = [paged[i - 1], paged[i]];
    assert.ok(a.updated_at > b.updated_at || (a.updated_at === b.updated_at && a.id > b.id), `order at ${i}`);
  }
});

test('cases_list_cursor_only_works_with_its_filters_and_its_caller', async () => {
  const first = await request(server, 'GET', '/v1/cases?limit=1&status=draft', { headers: authFor('admin') });
  const cursor = first.body.next_cursor;
  assert.ok(cursor);
  const otherFilter = await request(server, 'GET', `/v1/cases?limit=1&status=published&cursor=${encodeURIComponent(cursor)}`, {
    headers: authFor('admin'),
  });
  assert.deepEqual(errorFields(otherFilter), new Set(['cursor']));
  const otherCaller = await request(server, 'GET', `/v1/cases?limit=1&status=draft&cursor=${encodeURIComponent(cursor)}`, {
    headers: authFor('partner'),
  });
  assert.deepEqual(errorFields(otherCaller), new Set(['cursor']));
  const forged = await request(server, 'GET', '/v1/cases?cursor=abc', { headers: authFor('admin') });
  assert.deepEqual(errorFields(forged), new Set(['cursor']));
});

test('cases_list_refuses_unknown_repeated_single_valued_and_out_of_range_query_parameters', async () => {
  const cases = [
    ['colour=blue', ['colour']],
    ['limit=10&limit=20', ['limit']],
    ['sort=title&sort=title', ['sort']],
    ['status=deleted', ['status']],
    ['status=draft&status=deleted', ['status']],
    ['organisation_code=%20', ['organisation_code']],
    ['limit=0', ['limit']],
    ['limit=201', ['limit']],
    ['limit=ten', ['limit']],
    ['status=gone&limit=-1', ['status', 'limit']],
  ];
  for (const [query, fields] of cases) {
    const response = await request(server, 'GET', `/v1/cases?${query}`);
    assert.deepEqual(errorFields(response), new Set(fields), query);
  }
  const max = await request(server, 'GET', '/v1/cases?limit=200');
  assert.equal(max.status, 200, max.text);
});

test('cases_list_repeated_status_means_any_of_them_like_a_comma_list', async () => {
  const repeated = new Set(await listedIds(server, 'editor', { status: ['draft', 'published'] }));
  const comma = new Set(await listedIds(server, 'editor', { status: 'draft,published' }));
  const drafts = await listedIds(server, 'editor', { status: 'draft' });
  const published = await listedIds(server, 'editor', { status: 'published' });
  assert.deepEqual(repeated, new Set([...drafts, ...published]));
  assert.deepEqual(comma, repeated);
  assert.ok(repeated.has(own.draft.id) && repeated.has(own.published.id) && !repeated.has(own.archived.id));
});

test('cases_a_published_case_becomes_hidden_again_when_archived', async () => {
  const kase = await caseIn(server, 'published');
  assert.equal((await get(kase.id, 'anonymous')).status, 200);
  const archived = await request(server, 'POST', `/v1/cases/${kase.id}/transitions`, {
    headers: authFor('editor'),
    body: { to: 'archived' },
  });
  assert.equal(archived.status, 200, archived.text);
  assert.equal((await get(kase.id, 'anonymous')).status, 404);
  assert.equal((await get(kase.id, 'partner', { org: '0147' })).status, 404);
  assert.equal((await get(kase.id, 'partner')).status, 200);
  assert.equal((await get(kase.id, 'steering')).status, 200);
});
