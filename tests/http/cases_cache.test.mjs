// The response cache of GET /v1/cases/{id}: two coi processes share one database; what one
// writes, the other serves within a second (it follows the change feed), and the writer itself
// serves it at once. Each kind of caller gets its own view from the cache (the public, a partner
// organisation, staff), and If-None-Match is answered 304 from it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { MERGE_PATCH, caseIn, moveDraftTo, transition } from './lib/cases.mjs';
import { evaluationIn } from './lib/evaluations.mjs';

let a;
let b;
before(async () => {
  a = await startServer();
  b = await startServer({ database: a.database });
});
after(async () => {
  await b?.stop();
  await a?.stop();
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Long enough for the other process to have read the feed after our last write (it reads it
// every 100 ms): until then it may still evict what it caches for that write.
const settle = () => sleep(300);

const get = (server, id, role = 'anonymous', headers = {}) =>
  request(server, 'GET', `/v1/cases/${id}`, { headers: { ...authFor(role), ...headers } });

/** Reads the case through `server` every 20 ms until `done(response)` holds; returns the
 * milliseconds it took, or fails after 3 s. */
async function until(server, id, role, done) {
  const started = Date.now();
  for (;;) {
    const response = await get(server, id, role);
    if (done(response)) return Date.now() - started;
    if (Date.now() - started > 3000) assert.fail(`not seen within 3 s: ${response.status} ${response.text.slice(0, 200)}`);
    await sleep(20);
  }
}

test('cases_cache_a_change_through_one_process_shows_through_the_other_within_a_second', async () => {
  const kase = await caseIn(a, 'published');
  await settle();
  const first = await get(b, kase.id);
  assert.equal(first.status, 200);
  const again = await get(b, kase.id);
  assert.equal(again.headers.get('x-cache'), 'hit', 'the second read comes from the cache');
  assert.equal(again.headers.get('etag'), first.headers.get('etag'));
  assert.deepEqual(again.body, first.body);

  const patched = await request(a, 'PATCH', `/v1/cases/${kase.id}`, {
    headers: { ...authFor('admin'), ...MERGE_PATCH },
    body: { title: 'Nyt navn på morgenmødet' },
  });
  assert.equal(patched.status, 200, patched.text);
  const took = await until(b, kase.id, 'anonymous', (r) => r.body?.title === 'Nyt navn på morgenmødet');
  assert.ok(took < 1000, `the other process served the old title for ${took} ms`);
  await settle();
  await get(b, kase.id);
  const now = await get(b, kase.id);
  assert.equal(now.headers.get('x-cache'), 'hit');
  assert.equal(now.headers.get('etag'), patched.headers.get('etag'));
});

test('cases_cache_evaluations_and_adoptions_change_the_cached_case', async () => {
  const kase = await caseIn(a, 'published');
  assert.equal((await get(b, kase.id)).body.evaluation_summary.published_count, 0);
  await evaluationIn(a, kase.id, 'published');
  const tookEvaluation = await until(b, kase.id, 'anonymous', (r) => r.body?.evaluation_summary?.published_count === 1);
  assert.ok(tookEvaluation < 1000, `${tookEvaluation} ms`);

  assert.equal((await get(b, kase.id)).body.adoption_count, 0);
  const adopted = await request(a, 'POST', `/v1/cases/${kase.id}/adoptions`, {
    headers: authFor('partner', { org: '0851' }),
    body: { status: 'adapting' },
  });
  assert.equal(adopted.status, 201, adopted.text);
  const tookAdoption = await until(b, kase.id, 'anonymous', (r) => r.body?.adoption_count === 1);
  assert.ok(tookAdoption < 1000, `${tookAdoption} ms`);
});

test('cases_cache_a_case_taken_off_the_public_is_gone_from_the_other_process_within_a_second', async () => {
  const kase = await caseIn(a, 'published');
  assert.equal((await get(b, kase.id)).status, 200);
  const archived = await transition(a, kase.id, 'archived');
  assert.equal(archived.status, 200, archived.text);
  const took = await until(b, kase.id, 'anonymous', (r) => r.status === 404);
  assert.ok(took < 1000, `${took} ms`);
  assert.equal((await get(b, kase.id, 'admin')).body.status, 'archived');
});

test('cases_cache_the_writing_process_serves_its_own_write_at_once', async () => {
  const kase = await caseIn(a, 'published');
  assert.equal((await get(a, kase.id)).status, 200);
  for (let i = 0; i < 5; i++) {
    assert.equal((await get(a, kase.id)).headers.get('x-cache'), 'hit');
    const title = `Morgenmøde, udgave ${i}`;
    const patched = await request(a, 'PATCH', `/v1/cases/${kase.id}`, {
      headers: { ...authFor('admin'), ...MERGE_PATCH },
      body: { title },
    });
    assert.equal(patched.status, 200, patched.text);
    const read = await get(a, kase.id);
    assert.equal(read.body.title, title, 'the next read after the write');
    assert.equal(read.headers.get('etag'), patched.headers.get('etag'));
  }
});

test('cases_cache_each_kind_of_caller_gets_its_own_view', async () => {
  // The lead partner sees its case's draft evaluation in the summary; the public does not.
  const kase = await caseIn(a, 'published');
  await evaluationIn(a, kase.id, 'draft');
  await evaluationIn(a, kase.id, 'published');
  for (let round = 0; round < 2; round++) {
    assert.equal((await get(b, kase.id)).body.evaluation_summary.count, 1);
    assert.equal((await get(b, kase.id, 'partner')).body.evaluation_summary.count, 2);
    assert.equal((await get(b, kase.id, 'admin')).body.evaluation_summary.count, 2);
    const other = await request(b, 'GET', `/v1/cases/${kase.id}`, { headers: authFor('partner', { org: '0851' }) });
    assert.equal(other.body.evaluation_summary.count, 1);
  }
  // A draft is never shown to the public, however often its owner reads it.
  const draft = await caseIn(a, 'draft');
  assert.equal((await get(b, draft.id, 'partner')).status, 200);
  assert.equal((await get(b, draft.id, 'partner')).status, 200);
  assert.equal((await get(b, draft.id)).status, 404);
  await moveDraftTo(a, draft.id, 'published');
  const took = await until(b, draft.id, 'anonymous', (r) => r.status === 200);
  assert.ok(took < 1000, `${took} ms`);
});

test('cases_cache_if_none_match_is_answered_304_from_the_cache', async () => {
  const kase = await caseIn(a, 'published');
  await settle();
  const first = await get(b, kase.id);
  const etag = first.headers.get('etag');
  for (let i = 0; i < 2; i++) {
    const notModified = await get(b, kase.id, 'anonymous', { 'If-None-Match': etag });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers.get('x-cache'), 'hit');
    assert.equal(notModified.headers.get('etag'), etag);
  }
  const other = await get(b, kase.id, 'anonymous', { 'If-None-Match': '"0000000000000000"' });
  assert.equal(other.status, 200);
});

const list = (server, query, role = 'anonymous') =>
  request(server, 'GET', `/v1/cases?${new URLSearchParams(query)}`, { headers: authFor(role) });

test('cases_cache_lists_and_facets_are_reused_until_anything_changes', async () => {
  const query = { organisation_code: '0101', limit: '2' };
  await caseIn(a, 'published');
  await caseIn(a, 'published');
  await settle();
  const first = await list(b, query);
  assert.equal(first.status, 200);
  const again = await list(b, query);
  assert.equal(again.headers.get('x-cache'), 'hit');
  assert.deepEqual(again.body, first.body);
  assert.equal(again.headers.get('link'), first.headers.get('link'));
  assert.ok(first.headers.get('link'), 'a page with more after it carries its Link');
  // Another caller, or another query, is another answer.
  assert.equal((await list(b, query, 'admin')).headers.get('x-cache'), 'miss');
  assert.equal((await list(b, { ...query, limit: '3' })).headers.get('x-cache'), 'miss');

  const facets = () => request(b, 'GET', '/v1/cases/facets?organisation_code=0101', { headers: {} });
  const before = await facets();
  assert.equal((await facets()).headers.get('x-cache'), 'hit');
  const newest = await caseIn(a, 'published', { sector: 'culture_leisure' });

  const started = Date.now();
  for (;;) {
    const now = await list(b, query);
    if (now.body.items[0]?.id === newest.id) break;
    assert.ok(Date.now() - started < 1000, 'the other process listed the old page for over a second');
    await sleep(20);
  }
  const after = await facets();
  assert.equal(after.body.sector.culture_leisure, (before.body.sector.culture_leisure ?? 0) + 1);

  // Through the writing process itself, at once.
  assert.equal((await list(a, query)).status, 200);
  const mine = await caseIn(a, 'published');
  assert.equal((await list(a, query)).body.items[0].id, mine.id);
});

test('cases_cache_an_organisation_moved_to_another_region_shows_in_region_facets_within_a_second', async () => {
  const org = `9${String(Date.now()).slice(-3)}`;
  const created = await request(a, 'POST', '/v1/organisations', {
    headers: authFor('admin'),
    body: { code: org, name: `Testkommune ${org}`, kind: 'municipality', region_code: '1081' },
  });
  assert.equal(created.status, 201, created.text);
  await caseIn(a, 'published', { organisation_code: org });
  const path = `/v1/cases/facets?organisation_code=${org}`;
  for (const server of [a, b]) {
    const read = await request(server, 'GET', path, {});
    assert.deepEqual(read.body.region_code, { 1081: 1 });
  }
  const moved = await request(a, 'PATCH', `/v1/organisations/${org}`, {
    headers: { ...authFor('admin'), ...MERGE_PATCH },
    body: { region_code: '1082' },
  });
  assert.equal(moved.status, 200, moved.text);
  assert.deepEqual((await request(a, 'GET', path, {})).body.region_code, { 1082: 1 }, 'at once where it was written');
  const started = Date.now();
  for (;;) {
    const read = await request(b, 'GET', path, {});
    if (read.body.region_code['1082'] === 1) break;
    assert.ok(Date.now() - started < 1500, 'the other process kept the old region for over a second');
    await sleep(50);
  }
});
