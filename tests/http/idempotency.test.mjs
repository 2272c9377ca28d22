// Idempotency-Key on POST: a retry with the same key and request gets the first answer again
// (status, Location, ETag and body byte for byte, with Idempotent-Replayed: true) and does not
// write again; the same key for another request is a 422; keys belong to the caller; a
// malformed key is a 400; concurrent duplicates write once; every POST route takes a key.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseBody, caseIn, createCase, historyOf, listedIds, MERGE_PATCH, unique } from './lib/cases.mjs';
import { evaluationBody } from './lib/evaluations.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const key = () => `k-${randomUUID()}`;
const postCase = (body, idempotencyKey, { role = 'partner', auth = {}, headers = {} } = {}) =>
  request(server, 'POST', '/v1/cases', {
    headers: { ...authFor(role, auth), ...(idempotencyKey === undefined ? {} : { 'Idempotency-Key': idempotencyKey }), ...headers },
    body,
  });
const caseCount = async () => (await listedIds(server, 'admin')).length;

/** POST /v1/cases over a raw socket (fetch refuses to send control characters in a header);
 * resolves {status, body}. */
function rawPostCase(idempotencyKey) {
  const body = JSON.stringify(caseBody());
  const head = [
    'POST /v1/cases HTTP/1.1',
    `Host: ${new URL(server.url).host}`,
    `Authorization: ${authFor('partner').Authorization}`,
    'Content-Type: application/json',
    `Idempotency-Key: ${idempotencyKey}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(server.url);
    const socket = net.connect(Number(port), hostname, () => socket.end(`${head}\r\n\r\n${body}`));
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(text.split(' ')[1]), body: JSON.parse(text.slice(split + 4)) });
    });
  });
}

test('idempotency_retried_case_create_makes_one_case_and_replays_the_first_answer', async () => {
  const before = await caseCount();
  const k = key();
  const body = caseBody();
  const first = await postCase(body, k, { headers: { 'X-Request-Id': 'idem-first' } });
  assert.equal(first.status, 201, first.text);
  assert.equal(first.headers.get('idempotent-replayed'), null, 'the first answer is not a replay');
  const again = await postCase(body, k, { headers: { 'X-Request-Id': 'idem-again' } });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.text, first.text, 'the body is sent again byte for byte');
  assert.equal(again.headers.get('location'), first.headers.get('location'));
  assert.equal(again.headers.get('etag'), first.headers.get('etag'));
  assert.equal(again.headers.get('content-type'), first.headers.get('content-type'));
  assert.equal(again.headers.get('x-request-id'), 'idem-again', 'the request id is the retry\'s own');
  const third = await postCase(body, k);
  assert.equal(third.text, first.text);
  assert.equal(await caseCount(), before + 1, 'three requests with one key made one case');
  assert.equal((await historyOf(server, first.body.id)).length, 1, 'one history entry');
});

test('idempotency_without_a_key_every_post_runs', async () => {
  const before = await caseCount();
  const body = caseBody();
  const one = await postCase(body);
  const two = await postCase(body);
  assert.equal(one.status, 201, one.text);
  assert.equal(two.status, 201, two.text);
  assert.notEqual(one.body.id, two.body.id);
  assert.equal(two.headers.get('idempotent-replayed'), null);
  assert.equal(await caseCount(), before + 2);
});

test('idempotency_same_key_with_another_request_is_422_and_writes_nothing', async () => {
  const k = key();
  const first = await postCase(caseBody(), k);
  assert.equal(first.status, 201, first.text);
  const before = await caseCount();
  const otherBody = await postCase(caseBody(), k);
  assert.equal(otherBody.status, 422, otherBody.text);
  assert.equal(otherBody.body.type, 'urn:problem:coi:idempotency-key-reused');
  assert.equal(otherBody.headers.get('idempotent-replayed'), null);
  // The same body bytes under another Content-Type are another request too.
  const sameBody = JSON.stringify(caseBody());
  const a = key();
  const created = await request(server, 'POST', '/v1/cases', {
    headers: { ...authFor('partner'), 'Idempotency-Key': a, 'Content-Type': 'application/json' },
    rawBody: sameBody,
  });
  assert.equal(created.status, 201, created.text);
  const otherType = await request(server, 'POST', '/v1/cases', {
    headers: { ...authFor('partner'), 'Idempotency-Key': a, 'Content-Type': 'application/json; charset=utf-8' },
    rawBody: sameBody,
  });
  assert.equal(otherType.status, 422, otherType.text);
  assert.equal(otherType.body.type, 'urn:problem:coi:idempotency-key-reused');
  // And another path.
  const kase = await createCase(server, 'partner');
  const otherPath = await request(server, 'POST', `/v1/cases/${kase.body.id}/evaluations`, {
    headers: { ...authFor('partner'), 'Idempotency-Key': k },
    body: evaluationBody(),
  });
  assert.equal(otherPath.status, 422, otherPath.text);
  assert.equal(otherPath.body.type, 'urn:problem:coi:idempotency-key-reused');
  assert.equal(await caseCount(), before + 2, 'only the two requests with fresh keys wrote');
  const evaluations = await request(server, 'GET', `/v1/cases/${kase.body.id}/evaluations`, { headers: authFor('partner') });
  assert.equal(evaluations.status, 200, evaluations.text);
  assert.equal(evaluations.body.items.length, 0);
});

test('idempotency_keys_belong_to_the_caller_another_sub_with_the_same_key_writes_its_own', async () => {
  const before = await caseCount();
  const k = key();
  const body = caseBody();
  const sub = `partner-a-${unique()}`;
  const mine = await postCase(body, k, { auth: { sub } });
  const theirs = await postCase(body, k, { auth: { sub: `partner-b-${unique()}` } });
  assert.equal(mine.status, 201, mine.text);
  assert.equal(theirs.status, 201, theirs.text);
  assert.equal(theirs.headers.get('idempotent-replayed'), null);
  assert.notEqual(mine.body.id, theirs.body.id);
  // The scope is the sub alone: the same sub under another role meets its own key.
  const editor = await postCase(body, k, { role: 'editor', auth: { sub } });
  assert.equal(editor.status, 201, editor.text);
  assert.equal(editor.headers.get('idempotent-replayed'), 'true');
  assert.equal(editor.text, mine.text);
  assert.equal(await caseCount(), before + 2);
});

test('idempotency_malformed_keys_are_400_and_write_nothing', async () => {
  const before = await caseCount();
  for (const bad of ['', 'x'.repeat(256), 'a\tb', 'a b', 'nøgle']) {
    const response = await postCase(caseBody(), bad);
    assert.equal(response.status, 400, `${JSON.stringify(bad)}: ${response.text}`);
    assert.equal(response.body.type, 'urn:problem:coi:bad-request');
    assert.match(response.body.detail, /Idempotency-Key/);
  }
  for (const bad of ['a\x7fb', 'a\x01b', 'a\x1bb']) {
    const response = await rawPostCase(bad);
    assert.equal(response.status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(response.body)}`);
    assert.equal(response.body.type, 'urn:problem:coi:bad-request');
  }
  assert.equal(await caseCount(), before);
  const longest = await postCase(caseBody(), `${'!~'.repeat(127)}z`);
  assert.equal(longest.status, 201, longest.text);
  assert.equal(await caseCount(), before + 1);
});

test('idempotency_key_is_checked_only_after_the_token_and_the_role', async () => {
  const anonymous = await request(server, 'POST', '/v1/cases', { headers: { 'Idempotency-Key': '' }, body: caseBody() });
  assert.equal(anonymous.status, 401, anonymous.text);
  const steering = await postCase(caseBody(), '', { role: 'steering' });
  assert.equal(steering.status, 403, steering.text);
});

test('idempotency_concurrent_duplicates_write_once_the_others_wait_or_replay', async () => {
  const before = await caseCount();
  const k = key();
  const body = caseBody();
  const answers = await Promise.all(Array.from({ length: 6 }, () => postCase(body, k)));
  const statuses = answers.map((a) => a.status);
  const firsts = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
  assert.equal(firsts.length, 1, `exactly one request ran: ${statuses}`);
  for (const a of answers) {
    if (a === firsts[0]) continue;
    if (a.status === 409) {
      assert.equal(a.headers.get('retry-after'), '1', a.text);
      assert.equal(a.body.type, 'urn:problem:coi:conflict');
    } else {
      assert.equal(a.status, 201, a.text);
      assert.equal(a.headers.get('idempotent-replayed'), 'true');
      assert.equal(a.text, firsts[0].text);
    }
  }
  assert.equal(await caseCount(), before + 1);
  // Once answered, a retry gets the answer.
  const later = await postCase(body, k);
  assert.equal(later.status, 201, later.text);
  assert.equal(later.text, firsts[0].text);
});

test('idempotency_a_stored_4xx_answer_is_replayed_too', async () => {
  const k = key();
  const body = caseBody({ title: '' });
  const first = await postCase(body, k);
  assert.equal(first.status, 422, first.text);
  const again = await postCase(body, k);
  assert.equal(again.status, 422, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.text, first.text);
});

test('idempotency_case_transition_retried_moves_once', async () => {
  const kase = await caseIn(server, 'draft');
  const k = key();
  const move = (to) =>
    request(server, 'POST', `/v1/cases/${kase.id}/transitions`, { headers: { ...authFor('editor'), 'Idempotency-Key': k }, body: { to } });
  const first = await move('submitted');
  assert.equal(first.status, 200, first.text);
  const again = await move('submitted');
  assert.equal(again.status, 200, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.text, first.text);
  assert.equal(again.headers.get('etag'), first.headers.get('etag'));
  assert.equal((await historyOf(server, kase.id)).length, 2, 'created and one transition');
  const other = await move('in_review');
  assert.equal(other.status, 422, other.text);
  assert.equal(other.body.type, 'urn:problem:coi:idempotency-key-reused');
  assert.equal((await historyOf(server, kase.id)).length, 2);
});

test('idempotency_adoption_retried_records_one_adoption_where_a_plain_retry_is_409', async () => {
  const kase = await caseIn(server, 'published', { organisation_code: '0147' });
  const k = key();
  const adopt = (headers = {}) =>
    request(server, 'POST', `/v1/cases/${kase.id}/adoptions`, { headers: { ...authFor('partner'), ...headers }, body: { status: 'considering' } });
  const first = await adopt({ 'Idempotency-Key': k });
  assert.equal(first.status, 201, first.text);
  const again = await adopt({ 'Idempotency-Key': k });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.text, first.text);
  assert.equal(again.headers.get('location'), first.headers.get('location'));
  const plain = await adopt();
  assert.equal(plain.status, 409, 'without the key the retry runs and finds the adoption');
  const list = await request(server, 'GET', `/v1/cases/${kase.id}/adoptions`);
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.items.length, 1);
});

test('idempotency_evaluation_create_retried_adds_one_evaluation', async () => {
  const kase = await createCase(server, 'partner');
  const k = key();
  const body = evaluationBody();
  const post = () =>
    request(server, 'POST', `/v1/cases/${kase.body.id}/evaluations`, { headers: { ...authFor('partner'), 'Idempotency-Key': k }, body });
  const first = await post();
  assert.equal(first.status, 201, first.text);
  const again = await post();
  assert.equal(again.status, 201, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.text, first.text);
  const list = await request(server, 'GET', `/v1/cases/${kase.body.id}/evaluations`, { headers: authFor('partner') });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.items.map((e) => e.id), [first.body.id]);
});

test('idempotency_organisation_create_retried_is_replayed_not_409', async () => {
  const k = key();
  const body = { code: `IDEM${unique().replace(/\D/g, '')}`, name: 'Idempotensstyrelsen', kind: 'state' };
  const post = () => request(server, 'POST', '/v1/organisations', { headers: { ...authFor('admin'), 'Idempotency-Key': k }, body });
  const first = await post();
  assert.equal(first.status, 201, first.text);
  const again = await post();
  assert.equal(again.status, 201, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.text, first.text);
});

test('idempotency_key_on_a_patch_is_ignored', async () => {
  const kase = await createCase(server, 'partner');
  const k = key();
  const patch = (scope) =>
    request(server, 'PATCH', `/v1/cases/${kase.body.id}`, { headers: { ...authFor('partner'), ...MERGE_PATCH, 'Idempotency-Key': k }, body: { scope } });
  const one = await patch('Første');
  const two = await patch('Anden');
  assert.equal(one.status, 200, one.text);
  assert.equal(two.status, 200, two.text);
  assert.equal(two.headers.get('idempotent-replayed'), null);
  assert.equal(two.body.scope, 'Anden');
});

test('idempotency_batch_duplicates_while_the_first_runs_get_409_with_retry_after_then_the_answer', async () => {
  const k = key();
  const run = unique();
  const items = Array.from({ length: 300 }, (_, i) => ({
    external_id: `idem-${run}-${i}`,
    title: `Batchsag ${i}`,
    summary: 'Fra partnerens system.',
    innovation_types: ['collaboration'],
  }));
  const post = () =>
    request(server, 'POST', '/v1/organisations/0101/cases:batch', { headers: { ...authFor('partner'), 'Idempotency-Key': k }, body: items });
  let done = false;
  const first = post().finally(() => (done = true));
  const duplicates = [];
  while (!done && duplicates.length < 200) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    if (!done) duplicates.push(await post());
  }
  const answers = [await first, ...duplicates];
  const ran = answers.filter((a) => a.status === 200 && a.headers.get('idempotent-replayed') === null);
  assert.equal(ran.length, 1, `one request ran: ${answers.map((a) => a.status)}`);
  assert.deepEqual(ran[0].body.summary, { created: 300, updated: 0, unchanged: 0, error: 0 });
  const waiting = answers.filter((a) => a.status === 409);
  assert.ok(waiting.length >= 1, 'a duplicate sent while the batch ran was told to wait');
  for (const a of waiting) {
    assert.equal(a.headers.get('retry-after'), '1');
    assert.match(a.body.detail, /still being answered/);
  }
  for (const a of answers.filter((x) => x.status === 200 && x !== ran[0])) assert.equal(a.text, ran[0].text);
  const retry = await post();
  assert.equal(retry.status, 200, retry.text);
  assert.equal(retry.headers.get('idempotent-replayed'), 'true');
  assert.equal(retry.text, ran[0].text, 'the retry gets "created", not "unchanged"');
});
