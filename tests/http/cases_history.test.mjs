// GET /v1/cases/{id}/history: one entry per change, newest first, paginated; who the entries
// name; and who may read them (the lead organisation's partner, editors, admins, steering
// members; other partners who can see the case get 403; anonymous callers 401).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseIn, createCase, historyOf, MERGE_PATCH, transition } from './lib/cases.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const history = (id, role, query = '', auth = {}) =>
  request(server, 'GET', `/v1/cases/${id}/history${query}`, { headers: authFor(role, auth) });

test('cases_history_records_creation_updates_and_transitions_newest_first', async () => {
  const created = await createCase(server, 'partner', { sector: 'health', tags: ['a'] });
  const id = created.body.id;
  const patched = await request(server, 'PATCH', `/v1/cases/${id}`, {
    headers: { ...authFor('editor'), ...MERGE_PATCH },
    body: { sector: 'social', tags: ['a'], scope: 'Hele kommunen' },
  });
  assert.equal(patched.status, 200, patched.text);
  assert.equal((await transition(server, id, 'submitted', 'partner', { note: 'Klar til gennemsyn.' })).status, 200);
  const response = await history(id, 'partner');
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.next_cursor, null);
  const [submitted, updated, createdEntry] = response.body.items;
  assert.equal(response.body.items.length, 3);

  assert.equal(createdEntry.action, 'created');
  assert.equal(createdEntry.version, 1);
  assert.equal(createdEntry.from_status, null);
  assert.equal(createdEntry.to_status, 'draft');
  assert.equal(createdEntry.note, null);
  assert.deepEqual(createdEntry.actor, { sub: 'test-partner', role: 'partner', org: '0101' });
  assert.deepEqual(createdEntry.changed_fields, ['innovation_types', 'organisation_code', 'sector', 'summary', 'tags', 'title']);
  assert.equal(createdEntry.at, created.body.created_at);

  assert.equal(updated.action, 'updated');
  assert.equal(updated.version, 2);
  assert.deepEqual([updated.from_status, updated.to_status], ['draft', 'draft']);
  assert.deepEqual(updated.actor, { sub: 'test-editor', role: 'editor' });
  assert.deepEqual(updated.changed_fields, ['scope', 'sector'], 'tags were sent unchanged');
  assert.equal(updated.at, patched.body.updated_at);

  assert.equal(submitted.action, 'transition');
  assert.equal(submitted.version, 3);
  assert.deepEqual([submitted.from_status, submitted.to_status], ['draft', 'submitted']);
  assert.deepEqual(submitted.changed_fields, ['status']);
  assert.equal(submitted.note, 'Klar til gennemsyn.');
  assert.ok(Date.parse(submitted.at) >= Date.parse(updated.at));
});

test('cases_history_read_by_steering_is_the_same_as_the_admins', async () => {
  // Steering members write nothing here, so only the read is checked: the entries it gets are
  // the same as the admin's.
  const kase = await caseIn(server, 'in_review');
  const asSteering = await historyOf(server, kase.id, 'steering');
  assert.deepEqual(asSteering, await historyOf(server, kase.id, 'admin'));
  for (const entry of asSteering) assert.deepEqual(entry.actor, { sub: 'test-admin', role: 'admin' });
});

test('cases_history_pages_follow_next_cursor_and_the_link_header', async () => {
  const kase = await caseIn(server, 'archived'); // created + 4 transitions
  const seen = [];
  let query = '?limit=2';
  for (let page = 0; page < 10 && query; page++) {
    const response = await history(kase.id, 'admin', query);
    assert.equal(response.status, 200, response.text);
    seen.push(...response.body.items.map((h) => h.version));
    const cursor = response.body.next_cursor;
    if (cursor) {
      const link = response.headers.get('link');
      assert.match(link, /; rel="next"$/);
      query = new URL(link.slice(1, link.indexOf('>')), server.url).search;
      assert.equal(new URLSearchParams(query).get('cursor'), cursor);
    } else {
      query = null;
    }
  }
  assert.deepEqual(seen, [5, 4, 3, 2, 1]);
});

test('cases_history_cursor_of_another_case_and_bad_query_are_422', async () => {
  const a = await caseIn(server, 'published');
  const b = await caseIn(server, 'published');
  const first = await history(a.id, 'admin', '?limit=1');
  const cursor = encodeURIComponent(first.body.next_cursor);
  assert.deepEqual(errorFields(await history(b.id, 'admin', `?cursor=${cursor}`)), new Set(['cursor']));
  assert.deepEqual(errorFields(await history(a.id, 'admin', '?limit=0')), new Set(['limit']));
  assert.deepEqual(errorFields(await history(a.id, 'admin', '?since=1')), new Set(['since']));
});

test('cases_history_is_shown_to_the_lead_partner_editors_admins_and_steering', async () => {
  for (const status of ['draft', 'published', 'archived']) {
    const kase = await caseIn(server, status);
    for (const role of ['partner', 'editor', 'admin', 'steering']) {
      const response = await history(kase.id, role);
      assert.equal(response.status, 200, `${role} ${status}: ${response.text}`);
      assert.equal(response.body.items[0].version, kase.version);
    }
  }
});

test('cases_history_of_a_published_case_is_403_for_a_partner_of_another_organisation', async () => {
  const kase = await caseIn(server, 'published');
  const response = await history(kase.id, 'partner', '', { org: '0147' });
  assert.equal(response.status, 403, response.text);
  assert.equal(response.body.type, 'urn:problem:coi:forbidden');
});

test('cases_history_is_403_for_a_partner_only_listed_on_the_case', async () => {
  const kase = await caseIn(server, 'draft', { organisation_code: '0147', partner_organisation_codes: ['0101'] });
  const response = await history(kase.id, 'partner');
  assert.equal(response.status, 403, response.text);
});

test('cases_history_is_404_for_a_partner_that_cannot_see_the_case', async () => {
  const kase = await caseIn(server, 'submitted');
  const response = await history(kase.id, 'partner', '', { org: '0147' });
  assert.equal(response.status, 404, response.text);
});

test('cases_history_needs_a_token_401_even_for_a_published_case', async () => {
  const kase = await caseIn(server, 'published');
  const response = await history(kase.id, 'anonymous');
  assert.equal(response.status, 401, response.text);
  assert.equal(response.headers.get('www-authenticate'), 'Bearer realm="coi"');
});

test('cases_history_of_an_unknown_case_is_404', async () => {
  const response = await history('00000000-0000-4000-8000-000000000000', 'admin');
  assert.equal(response.status, 404, response.text);
});
