// The audit log: every write request of a caller with a token leaves one entry (who, what,
// answer, object, request id), refused ones included; a 401 to a request with a token leaves
// one without the untrusted identity; anonymous writes leave none. GET /v1/audit (admin and
// steering only) filters by sub, object_id and outcome and pages newest first.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { authFor, claimsFor, now, sign } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseBody, caseIn, createCase, MERGE_PATCH, unique } from './lib/cases.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const audit = (query = {}, role = 'admin') =>
  request(server, 'GET', `/v1/audit?${new URLSearchParams(query)}`, { headers: authFor(role) });

/** Every audit entry matching `query`, following next_cursor with page size `limit`. */
async function allEntries(query = {}, limit = 200) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const response = await audit({ ...query, limit: String(limit), ...(cursor ? { cursor } : {}) });
    assert.equal(response.status, 200, response.text);
    items.push(...response.body.items);
    cursor = response.body.next_cursor;
    if (cursor === null) return items;
  }
  throw new Error('allEntries: more than 100 pages');
}

/** The newest entry with this request id (searching the newest 200). */
async function entryOf(requestId) {
  const page = await audit({ limit: '200' });
  assert.equal(page.status, 200, page.text);
  return page.body.items.find((e) => e.request_id === requestId) ?? null;
}

const partnerAs = (sub) => authFor('partner', { sub });

test('audit_partner_create_and_patch_are_logged_with_identity_request_id_status_and_object', async () => {
  const sub = `audit-partner-${unique()}`;
  const created = await request(server, 'POST', '/v1/cases', {
    headers: { ...partnerAs(sub), 'X-Request-Id': `create-${unique()}` },
    body: caseBody(),
  });
  assert.equal(created.status, 201, created.text);
  const requestId = `patch-${unique()}`;
  const patched = await request(server, 'PATCH', `/v1/cases/${created.body.id}`, {
    headers: { ...partnerAs(sub), ...MERGE_PATCH, 'X-Request-Id': requestId },
    body: { scope: 'Hele kommunen.' },
  });
  assert.equal(patched.status, 200, patched.text);

  const entries = await allEntries({ sub });
  assert.equal(entries.length, 2, JSON.stringify(entries));
  const [patch, create] = entries;
  assert.ok(patch.seq > create.seq, 'newest first');
  assert.equal(patch.request_id, requestId);
  assert.deepEqual(patch.actor, { sub, role: 'partner', org: '0101' });
  assert.equal(patch.method, 'PATCH');
  assert.equal(patch.path, `/v1/cases/${created.body.id}`);
  assert.equal(patch.status, 200);
  assert.equal(patch.outcome, 'succeeded');
  assert.equal(patch.object_type, 'case');
  assert.equal(patch.object_id, created.body.id);
  assert.equal(patch.detail, null);
  assert.ok(Date.parse(patch.at) >= Date.parse(create.at));
  assert.equal(create.method, 'POST');
  assert.equal(create.path, '/v1/cases');
  assert.equal(create.status, 201);
  assert.equal(create.request_id, created.headers.get('x-request-id'));
  assert.equal(create.object_id, created.body.id, 'a create names the created object');
});

test('audit_partner_refused_writes_are_logged_as_refused_with_the_problem_detail', async () => {
  const sub = `audit-refused-${unique()}`;
  // Refused by the route rule (admin only) ...
  const org = await request(server, 'PATCH', '/v1/organisations/0101', { headers: { ...partnerAs(sub), ...MERGE_PATCH }, body: { name: 'X' } });
  assert.equal(org.status, 403, org.text);
  // ... and by the object rule (a published case is the centre's to edit).
  const published = await caseIn(server, 'published');
  const kase = await request(server, 'PATCH', `/v1/cases/${published.id}`, { headers: { ...partnerAs(sub), ...MERGE_PATCH }, body: { scope: 'X' } });
  assert.equal(kase.status, 403, kase.text);

  const [second, first] = await allEntries({ sub });
  assert.equal(first.outcome, 'refused');
  assert.equal(first.status, 403);
  assert.equal(first.object_type, 'organisation');
  assert.equal(first.object_id, '0101');
  assert.equal(first.detail, org.body.detail);
  assert.deepEqual(first.actor, { sub, role: 'partner', org: '0101' });
  assert.equal(second.outcome, 'refused');
  assert.equal(second.object_type, 'case');
  assert.equal(second.object_id, published.id);
  assert.equal(second.detail, kase.body.detail);
});

test('audit_other_errors_are_logged_as_failed', async () => {
  const sub = `audit-failed-${unique()}`;
  const missing = await request(server, 'PATCH', '/v1/adoptions/00000000-0000-7000-8000-000000000000', {
    headers: { ...authFor('editor', { sub }), ...MERGE_PATCH },
    body: { status: 'adapting' },
  });
  assert.equal(missing.status, 404, missing.text);
  const invalid = await request(server, 'POST', '/v1/cases', { headers: authFor('editor', { sub }), body: caseBody({ title: '' }) });
  assert.equal(invalid.status, 422, invalid.text);
  const [second, first] = await allEntries({ sub });
  assert.deepEqual(
    { outcome: first.outcome, status: first.status, type: first.object_type, id: first.object_id, detail: first.detail },
    { outcome: 'failed', status: 404, type: 'adoption', id: '00000000-0000-7000-8000-000000000000', detail: missing.body.detail },
  );
  assert.deepEqual(
    { outcome: second.outcome, status: second.status, type: second.object_type, id: second.object_id, detail: second.detail },
    { outcome: 'failed', status: 422, type: 'case', id: null, detail: invalid.body.detail },
  );
  assert.deepEqual(second.actor, { sub, role: 'editor' });
});

test('audit_steering_and_admin_writes_carry_party_and_role', async () => {
  const sub = `audit-steering-${unique()}`;
  const refused = await request(server, 'POST', '/v1/cases', { headers: authFor('steering', { sub }), body: caseBody() });
  assert.equal(refused.status, 403, refused.text);
  const [entry] = await allEntries({ sub });
  assert.deepEqual(entry.actor, { sub, role: 'steering', party: 'kl' });
  const code = `AUD${unique().replace(/\D/g, '')}`;
  const adminSub = `audit-admin-${unique()}`;
  const created = await request(server, 'POST', '/v1/organisations', {
    headers: authFor('admin', { sub: adminSub }),
    body: { code, name: 'Auditstyrelsen', kind: 'state' },
  });
  assert.equal(created.status, 201, created.text);
  const [org] = await allEntries({ sub: adminSub });
  assert.deepEqual(org.actor, { sub: adminSub, role: 'admin' });
  assert.equal(org.object_type, 'organisation');
  assert.equal(org.object_id, code, 'an organisation is named by its code');
});

test('audit_anonymous_writes_and_reads_are_not_logged', async () => {
  const requestId = `anon-${unique()}`;
  const response = await request(server, 'POST', '/v1/cases', { headers: { 'X-Request-Id': requestId }, body: caseBody() });
  assert.equal(response.status, 401, response.text);
  const readId = `read-${unique()}`;
  const read = await request(server, 'GET', '/v1/cases', { headers: { ...authFor('partner'), 'X-Request-Id': readId } });
  assert.equal(read.status, 200, read.text);
  assert.equal(await entryOf(requestId), null);
  assert.equal(await entryOf(readId), null);
});

test('audit_a_write_with_a_refused_token_is_logged_without_an_actor', async () => {
  const cases = [
    ['garbage', { Authorization: 'Bearer not.a.token' }],
    ['expired', { Authorization: `Bearer ${sign(claimsFor('admin', { exp: now() - 3600 }))}` }],
    ['basic', { Authorization: 'Basic dXNlcjpwYXNz' }],
    ['unknown org', authFor('partner', { org: 'NOSUCHORG' })],
  ];
  for (const [name, headers] of cases) {
    const requestId = `badtoken-${unique()}`;
    const response = await request(server, 'PATCH', '/v1/organisations/0147', {
      headers: { ...headers, ...MERGE_PATCH, 'X-Request-Id': requestId },
      body: { name: 'X' },
    });
    assert.equal(response.status, 401, `${name}: ${response.text}`);
    const entry = await entryOf(requestId);
    assert.ok(entry, `${name}: no entry`);
    assert.deepEqual(entry.actor, {}, name);
    assert.equal(entry.status, 401);
    assert.equal(entry.outcome, 'refused');
    assert.equal(entry.method, 'PATCH');
    assert.equal(entry.path, '/v1/organisations/0147');
    assert.equal(entry.object_id, '0147');
    assert.equal(entry.detail, response.body.detail);
  }
});

test('audit_filters_by_sub_object_id_and_outcome_together', async () => {
  const sub = `audit-filter-${unique()}`;
  const mine = await createCase(server, 'partner', {}, { sub });
  const other = { body: await caseIn(server, 'published', { organisation_code: '0147' }) };
  for (const id of [mine.body.id, other.body.id]) {
    const r = await request(server, 'PATCH', `/v1/cases/${id}`, { headers: { ...partnerAs(sub), ...MERGE_PATCH }, body: { scope: 'Y' } });
    assert.equal(r.status, id === mine.body.id ? 200 : 403, r.text);
  }
  const bySub = await allEntries({ sub });
  assert.equal(bySub.length, 3);
  assert.ok(bySub.every((e) => e.actor.sub === sub));
  const byObject = await allEntries({ object_id: other.body.id });
  assert.deepEqual(byObject.map((e) => e.status), [403, 200, 200, 200, 201], 'the refused patch, three moves and the create');
  assert.ok(byObject.every((e) => e.object_id === other.body.id));
  const refused = await allEntries({ sub, outcome: 'refused' });
  assert.deepEqual(refused.map((e) => e.object_id), [other.body.id]);
  const succeeded = await allEntries({ sub, outcome: 'succeeded', object_id: mine.body.id });
  assert.deepEqual(succeeded.map((e) => e.status), [200, 201]);
  assert.deepEqual(await allEntries({ sub, outcome: 'failed' }), []);
  const everyRefusal = await allEntries({ outcome: 'refused' });
  assert.ok(everyRefusal.length >= 1 && everyRefusal.every((e) => e.outcome === 'refused'));
});

test('audit_pages_newest_first_without_gaps_or_repeats', async () => {
  const sub = `audit-pages-${unique()}`;
  const kase = await createCase(server, 'partner', {}, { sub });
  for (let i = 0; i < 6; i++) {
    const r = await request(server, 'PATCH', `/v1/cases/${kase.body.id}`, { headers: { ...partnerAs(sub), ...MERGE_PATCH }, body: { scope: `Runde ${i}` } });
    assert.equal(r.status, 200, r.text);
  }
  const whole = await allEntries({ sub });
  assert.equal(whole.length, 7);
  const paged = [];
  let cursor = null;
  let pages = 0;
  do {
    const response = await audit({ sub, limit: '3', ...(cursor ? { cursor } : {}) });
    assert.equal(response.status, 200, response.text);
    pages++;
    assert.ok(response.body.items.length <= 3);
    cursor = response.body.next_cursor;
    if (cursor) {
      const link = response.headers.get('link');
      assert.ok(link, 'a next page has a Link');
      assert.match(link, /sub=/);
    } else {
      assert.equal(response.headers.get('link'), null);
    }
    paged.push(...response.body.items);
  } while (cursor);
  assert.equal(pages, 3);
  assert.deepEqual(paged, whole);
  for (let i = 1; i < paged.length; i++) assert.ok(paged[i - 1].seq > paged[i].seq, 'seq falls');
  assert.equal(paged.at(-1).method, 'POST');
});

test('audit_list_refuses_bad_queries_with_422', async () => {
  const first = await audit({ limit: '1' });
  assert.equal(first.status, 200, first.text);
  const cursor = first.body.next_cursor;
  assert.ok(cursor, 'the log has more than one entry by now');
  const bad = [
    [{ foo: '1' }, 'foo'],
    [{ outcome: 'maybe' }, 'outcome'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '201' }, 'limit'],
    [{ sub: '' }, 'sub'],
    [{ cursor: 'abc' }, 'cursor'],
    [{ cursor, outcome: 'failed' }, 'cursor'],
  ];
  for (const [query, field] of bad) {
    const response = await audit(query);
    assert.equal(response.status, 422, `${JSON.stringify(query)}: ${response.text}`);
    assert.ok(response.body.errors.some((e) => e.field === field), `${JSON.stringify(query)}: ${response.text}`);
  }
  const repeated = await request(server, 'GET', '/v1/audit?outcome=failed&outcome=refused', { headers: authFor('admin') });
  assert.equal(repeated.status, 422, repeated.text);
});

test('audit_list_is_for_admin_and_steering_only', async () => {
  for (const role of ['admin', 'steering']) {
    const response = await audit({}, role);
    assert.equal(response.status, 200, `${role}: ${response.text}`);
  }
  for (const role of ['editor', 'partner']) {
    const response = await audit({}, role);
    assert.equal(response.status, 403, `${role}: ${response.text}`);
  }
  const anonymous = await request(server, 'GET', '/v1/audit');
  assert.equal(anonymous.status, 401, anonymous.text);
});

test('audit_an_idempotent_replay_is_logged_as_its_own_request', async () => {
  const sub = `audit-replay-${unique()}`;
  const body = caseBody();
  const headers = { ...partnerAs(sub), 'Idempotency-Key': `audit-${unique()}` };
  const first = await request(server, 'POST', '/v1/cases', { headers, body });
  const again = await request(server, 'POST', '/v1/cases', { headers, body });
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  const entries = await allEntries({ sub });
  assert.equal(entries.length, 2);
  assert.ok(entries.every((e) => e.status === 201 && e.object_id === first.body.id));
  assert.notEqual(entries[0].request_id, entries[1].request_id);
});

test('audit_a_batch_is_one_entry_with_its_summary_line', async () => {
  const sub = `audit-batch-${unique()}`;
  const run = unique();
  const items = [
    { external_id: `audit-${run}-1`, title: 'Batchsag 1', summary: 'Fra partnerens system.', innovation_types: ['collaboration'] },
    { external_id: `audit-${run}-2`, title: 'Batchsag 2', summary: 'Fra partnerens system.', innovation_types: ['collaboration'] },
    { external_id: `audit-${run}-3`, title: '', summary: 'Uden titel.', innovation_types: ['collaboration'] },
  ];
  const response = await request(server, 'POST', '/v1/organisations/0101/cases:batch', { headers: partnerAs(sub), body: items });
  assert.equal(response.status, 200, response.text);
  const entries = await allEntries({ sub });
  assert.equal(entries.length, 1);
  assert.equal(entries[0].object_type, 'case');
  assert.equal(entries[0].object_id, null);
  assert.equal(entries[0].outcome, 'succeeded');
  assert.equal(entries[0].detail, 'created 2, updated 0, unchanged 0, error 1');
});
