// POST /v1/organisations/{code}/cases:batch: up to 1000 PUTs by external key in one request,
// as a JSON array or NDJSON. Each item is handled as its PUT would be (same checks, same
// wording, no write when unchanged), items fail on their own, and the whole request is refused
// before anything is written when it is too large or not a batch at all.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { historyOf, listedIds, moveDraftTo, unique } from './lib/cases.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const batchPath = (code) => `/v1/organisations/${code}/cases:batch`;
const NDJSON = { 'Content-Type': 'application/x-ndjson' };

/** POSTs a JSON array (as `role`); returns the response. */
const batch = (code, items, role = 'partner', auth = {}) =>
  request(server, 'POST', batchPath(code), { headers: authFor(role, auth), body: items });

/** POSTs NDJSON text (as `role`); returns the response. */
const batchNdjson = (code, text, role = 'partner') =>
  request(server, 'POST', batchPath(code), { headers: { ...authFor(role), ...NDJSON }, rawBody: text });

function item(extra = {}) {
  return {
    external_id: `b-${unique()}`,
    title: `Delt vagtplan ${unique()}`,
    summary: 'Plejecentrene deler én vagtplan, så afløsere findes hurtigere.',
    innovation_types: ['work_tool'],
    ...extra,
  };
}

/** A new organisation (as an admin) that only one test writes to, so counts are exact. */
async function freshOrganisation() {
  const code = `BATCH${unique().replace(/-/g, '')}`.slice(0, 32);
  const created = await request(server, 'POST', '/v1/organisations', {
    headers: authFor('admin'),
    body: { code, name: `Batchstyrelsen ${code}`, kind: 'state' },
  });
  assert.equal(created.status, 201, created.text);
  return code;
}

/** The change feed's head for `role`: a cursor after every change made so far. */
async function feedHead(role = 'admin') {
  let since = null;
  for (let page = 0; page < 100; page++) {
    const query = new URLSearchParams({ limit: '1000' });
    if (since) query.set('since', since);
    const response = await request(server, 'GET', `/v1/changes?${query}`, { headers: authFor(role) });
    assert.equal(response.status, 200, response.text);
    since = response.body.next_cursor;
    if (response.body.items.length === 0) return since;
  }
  throw new Error('feedHead: more than 100 pages');
}

/** Every change after `since` as `role`. */
async function changesSince(since, role = 'admin') {
  const items = [];
  for (let page = 0; page < 100; page++) {
    const response = await request(server, 'GET', `/v1/changes?${new URLSearchParams({ since, limit: '1000' })}`, {
      headers: authFor(role),
    });
    assert.equal(response.status, 200, response.text);
    items.push(...response.body.items);
    since = response.body.next_cursor;
    if (response.body.items.length === 0) return items;
  }
  throw new Error('changesSince: more than 100 pages');
}

/** The errors a PUT of `body` under (code, key) answers, as a batch item would list them. */
async function putErrors(code, key, body, role = 'admin') {
  const response = await request(server, 'PUT', `/v1/organisations/${code}/cases/${encodeURIComponent(key)}`, {
    headers: authFor(role),
    body,
  });
  assert.ok(response.status >= 400, `the PUT was expected to fail: ${response.text}`);
  const errors = response.body.errors
    ? response.body.errors.map((e) => (e.field === '' ? { detail: e.message } : { field: e.field, detail: e.message }))
    : [{ detail: response.body.detail }];
  return { status: response.status, errors };
}

const withoutKey = ({ external_id: _, ...rest }) => rest;

test('cases_batch_of_1000_items_with_3_bad_ones_writes_997_and_names_each_error_as_the_put_would', async () => {
  const code = await freshOrganisation();
  const items = Array.from({ length: 1000 }, (_, i) => item({ external_id: `masse-${i}` }));
  items[17] = { ...items[17] };
  delete items[17].title;
  items[500].partner_organisation_codes = ['9999'];
  items[998].sector = 'rumfart';
  const bad = [17, 500, 998];
  const head = await feedHead();

  const first = await batch(code, items, 'editor');
  assert.equal(first.status, 200, first.text.slice(0, 2000));
  assert.deepEqual(first.body.summary, { created: 997, updated: 0, unchanged: 0, error: 3 });
  assert.equal(first.body.items.length, 1000);
  first.body.items.forEach((r, i) => {
    assert.equal(r.index, i);
    assert.equal(r.external_id, `masse-${i}`);
    if (bad.includes(i)) {
      assert.equal(r.result, 'error', JSON.stringify(r));
      assert.equal(r.id, null);
      assert.equal(r.version, undefined);
    } else {
      assert.equal(r.result, 'created', JSON.stringify(r));
      assert.equal(r.status, 201);
      assert.equal(r.version, 1);
      assert.equal(typeof r.id, 'string');
    }
  });
  // Each error in the PUT's own words: the same status, fields and details.
  for (const i of bad) {
    const alone = await putErrors(code, items[i].external_id, withoutKey(items[i]));
    const got = first.body.items[i];
    assert.deepEqual({ status: got.status, errors: got.errors }, alone, `item ${i}`);
  }
  assert.deepEqual(first.body.items[17].errors, [{ field: 'title', detail: 'is required' }]);
  assert.equal(first.body.items[500].status, 422);
  assert.equal(first.body.items[500].errors[0].field, 'partner_organisation_codes');
  assert.equal(first.body.items[998].errors[0].field, 'sector');

  // Exactly the 997 good ones exist (the bad ones left nothing), each with one history entry,
  // and the feed lists each creation once.
  const ids = await listedIds(server, 'admin', { organisation_code: code });
  const created = first.body.items.filter((r) => r.result === 'created').map((r) => r.id);
  assert.deepEqual([...ids].sort(), [...created].sort());
  const feed = (await changesSince(head)).filter((c) => c.type === 'case');
  assert.deepEqual(
    feed.map((c) => `${c.id} ${c.action} ${c.version}`).sort(),
    created.map((id) => `${id} created 1`).sort(),
  );
  const sampled = [created[0], created[499], created[996]];
  for (const id of sampled) assert.equal((await historyOf(server, id)).length, 1);

  // The same batch again: nothing written, the bad ones still fail the same way.
  const afterFirst = await feedHead();
  const second = await batch(code, items, 'editor');
  assert.equal(second.status, 200, second.text.slice(0, 2000));
  assert.deepEqual(second.body.summary, { created: 0, updated: 0, unchanged: 997, error: 3 });
  second.body.items.forEach((r, i) => {
    if (bad.includes(i)) {
      assert.deepEqual(r, first.body.items[i]);
    } else {
      assert.deepEqual(r, { ...first.body.items[i], result: 'unchanged', status: 200 });
    }
  });
  assert.deepEqual(await changesSince(afterFirst), [], 'an unchanged batch wrote changes');
  for (const id of sampled) assert.equal((await historyOf(server, id)).length, 1);

  // A few items changed: those are updated to version 2, the rest stay unchanged.
  const changed = [3, 4, 700];
  const third = items.map((it, i) => (changed.includes(i) ? { ...it, scope: `Udvidet ${i}` } : it));
  const touched = await batch(code, third, 'editor');
  assert.equal(touched.status, 200, touched.text.slice(0, 2000));
  assert.deepEqual(touched.body.summary, { created: 0, updated: 3, unchanged: 994, error: 3 });
  for (const i of changed) {
    assert.equal(touched.body.items[i].result, 'updated');
    assert.equal(touched.body.items[i].status, 200);
    assert.equal(touched.body.items[i].version, 2);
    assert.equal(touched.body.items[i].id, first.body.items[i].id);
    const history = await historyOf(server, first.body.items[i].id);
    assert.deepEqual(history.map((h) => h.action), ['updated', 'created']);
    assert.deepEqual(history[0].changed_fields, ['scope']);
  }
  const updates = (await changesSince(afterFirst)).map((c) => `${c.id} ${c.action} ${c.version}`);
  assert.deepEqual(updates.sort(), changed.map((i) => `${first.body.items[i].id} updated 2`).sort());
});

test('cases_batch_ndjson_handles_each_line_on_its_own_and_a_malformed_line_is_only_that_items_error', async () => {
  const code = await freshOrganisation();
  const a = item({ external_id: 'nd-a' });
  const c = item({ external_id: 'nd-c' });
  const text = [
    JSON.stringify(a),
    '',
    '{"external_id": "nd-b", "title": ',
    '   ',
    JSON.stringify(c),
    '42',
    JSON.stringify({ title: 'Uden nøgle', summary: 'Mangler external_id.', innovation_types: ['task'] }),
  ].join('\r\n');
  const response = await batchNdjson(code, `${text}\n`, 'admin');
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.body.summary, { created: 2, updated: 0, unchanged: 0, error: 3 });
  const results = response.body.items.map((r) => [r.index, r.external_id, r.result, r.status]);
  assert.deepEqual(results, [
    [0, 'nd-a', 'created', 201],
    [1, null, 'error', 400],
    [2, 'nd-c', 'created', 201],
    [3, null, 'error', 422],
    [4, null, 'error', 422],
  ]);
  assert.match(response.body.items[1].errors[0].detail, /^malformed JSON/);
  assert.deepEqual(response.body.items[3].errors, [{ detail: 'the item must be a JSON object' }]);
  assert.deepEqual(response.body.items[4].errors, [{ field: 'external_id', detail: 'is required' }]);
  const ids = await listedIds(server, 'admin', { organisation_code: code });
  assert.deepEqual(ids.sort(), [response.body.items[0].id, response.body.items[2].id].sort());
});

test('cases_batch_with_more_than_1000_items_is_refused_with_413_and_writes_nothing', async () => {
  const code = await freshOrganisation();
  const items = Array.from({ length: 1001 }, (_, i) => item({ external_id: `for-mange-${i}` }));
  const head = await feedHead();
  const asArray = await batch(code, items, 'admin');
  assert.equal(asArray.status, 413, asArray.text);
  assert.match(asArray.body.detail, /at most 1000 items/);
  const asLines = await batchNdjson(code, items.map((it) => JSON.stringify(it)).join('\n'), 'admin');
  assert.equal(asLines.status, 413, asLines.text);
  assert.deepEqual(await listedIds(server, 'admin', { organisation_code: code }), []);
  assert.deepEqual(await changesSince(head), []);
});

test('cases_batch_repeating_an_external_id_fails_the_later_item_with_409_and_keeps_the_first', async () => {
  const code = await freshOrganisation();
  const first = item({ external_id: 'to-gange', title: 'Første udgave' });
  const again = { ...first, title: 'Anden udgave' };
  const response = await batch(code, [first, item(), again], 'admin');
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.body.summary, { created: 2, updated: 0, unchanged: 0, error: 1 });
  assert.equal(response.body.items[2].result, 'error');
  assert.equal(response.body.items[2].status, 409);
  assert.deepEqual(response.body.items[2].errors, [
    { field: 'external_id', detail: 'external_id repeated in this batch, item 0' },
  ]);
  const kept = await request(server, 'GET', `/v1/cases/${response.body.items[0].id}`, { headers: authFor('admin') });
  assert.equal(kept.body.title, 'Første udgave');
});

test('cases_batch_partner_writes_only_its_own_organisation_and_editors_any', async () => {
  const code = await freshOrganisation();
  const head = await feedHead();
  const other = await batch(code, [item()], 'partner');
  assert.equal(other.status, 403, other.text);
  assert.equal(other.body.detail, 'a partner writes only cases of its own organisation (0101)');
  const steering = await batch(code, [item()], 'steering');
  assert.equal(steering.status, 403, steering.text);
  const anonymous = await batch(code, [item()], 'anonymous');
  assert.equal(anonymous.status, 401, anonymous.text);
  assert.deepEqual(await changesSince(head), [], 'a refused batch wrote something');

  const own = await batch('0101', [item()], 'partner');
  assert.equal(own.status, 200, own.text);
  assert.equal(own.body.items[0].result, 'created');
  const editor = await batch(code, [item()], 'editor');
  assert.equal(editor.status, 200, editor.text);
  assert.equal(editor.body.items[0].result, 'created');
});

test('cases_batch_item_for_a_case_the_partner_may_no_longer_edit_is_a_403_error_and_sending_it_unchanged_is_fine', async () => {
  const pushed = item();
  const created = await batch('0101', [pushed], 'partner');
  assert.equal(created.body.items[0].result, 'created', created.text);
  const id = created.body.items[0].id;
  await moveDraftTo(server, id, 'submitted');
  const same = await batch('0101', [pushed], 'partner');
  assert.equal(same.status, 200, same.text);
  // Unchanged: the version is the one the submission made, nothing new is written.
  assert.deepEqual(same.body.items[0], { ...created.body.items[0], result: 'unchanged', status: 200, version: 2 });
  const changed = { ...pushed, scope: 'Ændret efter indsendelse' };
  const edited = await batch('0101', [changed], 'partner');
  assert.equal(edited.status, 200, edited.text);
  const alone = await putErrors('0101', pushed.external_id, withoutKey(changed), 'partner');
  assert.equal(alone.status, 403);
  const got = edited.body.items[0];
  assert.deepEqual({ result: got.result, status: got.status, errors: got.errors, id: got.id }, { result: 'error', ...alone, id });
  assert.equal((await historyOf(server, id)).length, 2, 'created and submitted only');
});

test('cases_batch_refuses_other_media_types_malformed_arrays_and_non_arrays_before_writing', async () => {
  const code = await freshOrganisation();
  const head = await feedHead();
  const text = await request(server, 'POST', batchPath(code), {
    headers: { ...authFor('admin'), 'Content-Type': 'text/plain' },
    rawBody: JSON.stringify([item()]),
  });
  assert.equal(text.status, 415, text.text);
  const malformed = await request(server, 'POST', batchPath(code), {
    headers: { ...authFor('admin'), 'Content-Type': 'application/json' },
    rawBody: `[${JSON.stringify(item())}, {"external_id": "x",`,
  });
  assert.equal(malformed.status, 400, malformed.text);
  const duplicateKey = await request(server, 'POST', batchPath(code), {
    headers: { ...authFor('admin'), 'Content-Type': 'application/json' },
    rawBody: '[{"external_id": "a", "external_id": "b"}]',
  });
  assert.equal(duplicateKey.status, 400, duplicateKey.text);
  const object = await batch(code, item(), 'admin');
  assert.equal(object.status, 422, object.text);
  const empty = await request(server, 'POST', batchPath(code), {
    headers: { ...authFor('admin'), 'Content-Type': 'application/json' },
    rawBody: '',
  });
  assert.equal(empty.status, 400, empty.text);
  const query = await request(server, 'POST', `${batchPath(code)}?dry_run=1`, { headers: authFor('admin'), body: [item()] });
  assert.equal(query.status, 422, query.text);
  assert.deepEqual(await changesSince(head), []);
  const none = await batch(code, [], 'admin');
  assert.equal(none.status, 200, none.text);
  assert.deepEqual(none.body, { summary: { created: 0, updated: 0, unchanged: 0, error: 0 }, items: [] });
});

test('cases_batch_body_over_the_batch_size_limit_is_refused_with_413_and_writes_nothing', async () => {
  const small = await startServer({ env: { COI_BATCH_MAX_BODY_BYTES: '4096' } });
  try {
    const code = '0101';
    const items = Array.from({ length: 30 }, () => item());
    const body = JSON.stringify(items);
    assert.ok(body.length > 4096);
    const refused = await request(small, 'POST', batchPath(code), {
      headers: { ...authFor('partner'), 'Content-Type': 'application/json' },
      rawBody: body,
    });
    assert.equal(refused.status, 413, refused.text);
    // Chunked (no Content-Length): counted as it arrives.
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(items.map((it) => JSON.stringify(it)).join('\n')));
        controller.close();
      },
    });
    const chunked = await request(small, 'POST', batchPath(code), {
      headers: { ...authFor('partner'), ...NDJSON },
      rawBody: stream,
    });
    assert.equal(chunked.status, 413, chunked.text);
    const listed = await request(small, 'GET', '/v1/cases?limit=10', { headers: authFor('admin') });
    assert.deepEqual(listed.body.items, []);
    const fits = await request(small, 'POST', batchPath(code), { headers: authFor('partner'), body: items.slice(0, 3) });
    assert.equal(fits.status, 200, fits.text);
    assert.equal(fits.body.summary.created, 3);
  } finally {
    await small.stop();
  }
});
