// PUT /v1/organisations/{code}/cases/{external_id}: how partner systems push their cases. It
// creates (201) or replaces (200), is idempotent (the same body again: same case, same ETag,
// no new history entry), takes organisation_code and external_id from the path, and lets a
// partner write only under its own organisation's code.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { getCase, historyOf, listedIds, moveDraftTo, unique } from './lib/cases.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const pathFor = (code, key) => `/v1/organisations/${code}/cases/${encodeURIComponent(key)}`;
const put = (code, key, body, role = 'partner', headers = {}, auth = {}) =>
  request(server, 'PUT', pathFor(code, key), { headers: { ...authFor(role, auth), ...headers }, body });

function pushed(extra = {}) {
  return {
    title: 'Sygeplejerske i borgerservice',
    summary: 'En sygeplejerske svarer på sundhedsspørgsmål ved skranken.',
    innovation_types: ['role', 'task'],
    sector: 'health',
    tags: ['borgerservice'],
    ...extra,
  };
}

test('cases_put_creates_with_201_and_location_then_the_same_body_answers_200_with_the_same_etag', async () => {
  const key = `sys-${unique()}`;
  const first = await put('0101', key, pushed());
  assert.equal(first.status, 201, first.text);
  assert.equal(new URL(first.headers.get('location'), server.url).pathname, `/v1/cases/${first.body.id}`);
  assert.equal(first.body.organisation_code, '0101');
  assert.equal(first.body.external_id, key);
  assert.equal(first.body.status, 'draft');

  const second = await put('0101', key, pushed());
  assert.equal(second.status, 200, second.text);
  assert.equal(second.body.id, first.body.id);
  assert.equal(second.headers.get('etag'), first.headers.get('etag'));
  assert.deepEqual(second.body, first.body);
  assert.equal(second.headers.get('location'), null);

  const history = await historyOf(server, first.body.id, 'partner');
  assert.equal(history.length, 1, 'the repeated PUT added no history entry');
  assert.equal(history[0].action, 'created');
  const listed = await listedIds(server, 'admin', { organisation_code: '0101' });
  assert.equal(listed.filter((id) => id === first.body.id).length, 1);
});

test('cases_put_with_a_changed_body_replaces_every_field_and_records_one_update', async () => {
  const key = `sys-${unique()}`;
  const first = await put('0101', key, pushed({ scope: 'Valby', contact_name: 'Anne Ærtebjerg' }));
  assert.equal(first.status, 201, first.text);
  const second = await put('0101', key, pushed({ title: 'Sygeplejerske i borgerservice (udvidet)' }));
  assert.equal(second.status, 200, second.text);
  assert.equal(second.body.id, first.body.id);
  assert.notEqual(second.headers.get('etag'), first.headers.get('etag'));
  assert.equal(second.body.title, 'Sygeplejerske i borgerservice (udvidet)');
  assert.equal(second.body.scope, null, 'a field left out of the PUT is removed');
  assert.equal(second.body.contact_name, null);
  assert.equal(second.body.version, 2);
  const history = await historyOf(server, first.body.id);
  assert.deepEqual(history.map((h) => h.action), ['updated', 'created']);
  assert.deepEqual(history[0].changed_fields, ['contact_name', 'scope', 'title']);

  const third = await put('0101', key, pushed({ title: 'Sygeplejerske i borgerservice (udvidet)' }));
  assert.equal(third.status, 200);
  assert.equal(third.headers.get('etag'), second.headers.get('etag'));
  assert.equal((await historyOf(server, first.body.id)).length, 2);
});

test('cases_put_body_may_repeat_the_path_keys_but_must_not_contradict_them', async () => {
  const key = `sys-${unique()}`;
  const same = await put('0101', key, pushed({ organisation_code: '0101', external_id: key }));
  assert.equal(same.status, 201, same.text);
  const contradicting = await put('0101', key, pushed({ organisation_code: '0147', external_id: 'andet' }), 'admin');
  assert.deepEqual(errorFields(contradicting), new Set(['organisation_code', 'external_id']));
});

test('cases_put_partner_of_another_organisation_gets_403', async () => {
  const key = `sys-${unique()}`;
  const response = await put('0147', key, pushed());
  assert.equal(response.status, 403, response.text);
  assert.equal(response.body.type, 'urn:problem:coi:forbidden');
  const check = await put('0147', key, pushed(), 'admin');
  assert.equal(check.status, 201, 'nothing was created by the refused PUT');
});

test('cases_put_partner_cannot_replace_its_case_once_submitted_but_may_repeat_it', async () => {
  const key = `sys-${unique()}`;
  const created = await put('0101', key, pushed());
  await moveDraftTo(server, created.body.id, 'submitted');
  const changed = await put('0101', key, pushed({ scope: 'Ændret efter indsendelse' }));
  assert.equal(changed.status, 403, changed.text);
  const repeated = await put('0101', key, pushed());
  assert.equal(repeated.status, 200, repeated.text);
  assert.equal(repeated.body.status, 'submitted');
  const editor = await put('0101', key, pushed({ scope: 'Redaktøren retter' }), 'editor');
  assert.equal(editor.status, 200, editor.text);
  assert.equal(editor.body.scope, 'Redaktøren retter');
});

test('cases_put_partner_may_replace_again_after_changes_are_requested', async () => {
  const key = `sys-${unique()}`;
  const created = await put('0101', key, pushed());
  await moveDraftTo(server, created.body.id, 'changes_requested');
  const response = await put('0101', key, pushed({ effects_summary: 'Kortere ventetid.' }));
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.status, 'changes_requested');
});

test('cases_put_admin_and_editor_write_under_any_organisation', async () => {
  for (const role of ['admin', 'editor']) {
    const response = await put('0751', `sys-${unique()}`, pushed(), role);
    assert.equal(response.status, 201, `${role}: ${response.text}`);
    assert.equal(response.body.organisation_code, '0751');
  }
});

test('cases_put_steering_gets_403_and_anonymous_401', async () => {
  const key = `sys-${unique()}`;
  const steering = await put('0101', key, pushed(), 'steering');
  assert.equal(steering.status, 403, steering.text);
  const anonymous = await put('0101', key, pushed(), 'anonymous');
  assert.equal(anonymous.status, 401, anonymous.text);
});

test('cases_put_with_a_stale_if_match_is_412_and_changes_nothing', async () => {
  const key = `sys-${unique()}`;
  const created = await put('0101', key, pushed());
  const etag = created.headers.get('etag');
  assert.equal((await put('0101', key, pushed({ scope: 'Første' }), 'partner', { 'If-Match': etag })).status, 200);
  const stale = await put('0101', key, pushed({ scope: 'Anden' }), 'partner', { 'If-Match': etag });
  assert.equal(stale.status, 412, stale.text);
  assert.equal((await getCase(server, created.body.id)).body.scope, 'Første');
});

test('cases_put_validates_the_body_listing_every_bad_field', async () => {
  const response = await put('0101', `sys-${unique()}`, { title: '', innovation_types: [], sector: 'space', status: 'published' });
  assert.deepEqual(errorFields(response), new Set(['title', 'summary', 'innovation_types', 'sector', 'status']));
});

test('cases_put_under_an_unknown_or_malformed_organisation_code_is_422', async () => {
  const unknown = await put('9999', `sys-${unique()}`, pushed(), 'admin');
  assert.deepEqual(errorFields(unknown), new Set(['organisation_code']));
  const malformed = await put('bad code', `sys-${unique()}`, pushed(), 'admin');
  assert.deepEqual(errorFields(malformed), new Set(['organisation_code']));
});

test('cases_put_external_id_may_hold_danish_letters_spaces_and_slashes', async () => {
  const key = `Sag/æøå ${unique()} 🌊`;
  const created = await put('0101', key, pushed());
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.external_id, key);
  const again = await put('0101', key, pushed());
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.id, created.body.id);
  const tooLong = await put('0101', 'x'.repeat(201), pushed());
  assert.deepEqual(errorFields(tooLong), new Set(['external_id']));
});

test('cases_put_the_same_key_under_two_organisations_makes_two_cases', async () => {
  const key = `sys-${unique()}`;
  const a = await put('0101', key, pushed(), 'admin');
  const b = await put('0147', key, pushed(), 'admin');
  assert.equal(a.status, 201, a.text);
  assert.equal(b.status, 201, b.text);
  assert.notEqual(a.body.id, b.body.id);
});

test('cases_put_twice_at_once_with_a_new_key_creates_one_case_with_one_history_entry', async () => {
  for (let round = 0; round < 5; round++) {
    const key = `race-${unique()}`;
    const [a, b] = await Promise.all([put('0101', key, pushed()), put('0101', key, pushed())]);
    assert.deepEqual([a.status, b.status].sort(), [200, 201], `${a.text}\n${b.text}`);
    assert.equal(a.body.id, b.body.id);
    assert.equal(a.headers.get('etag'), b.headers.get('etag'));
    assert.equal((await historyOf(server, a.body.id)).length, 1);
  }
});

test('cases_put_then_post_with_the_same_external_id_is_409', async () => {
  const key = `sys-${unique()}`;
  assert.equal((await put('0101', key, pushed())).status, 201);
  const response = await request(server, 'POST', '/v1/cases', {
    headers: authFor('partner'),
    body: { ...pushed(), external_id: key },
  });
  assert.equal(response.status, 409, response.text);
});

test('cases_put_with_if_none_match_star_on_an_existing_case_is_412_and_writes_nothing', async () => {
  const key = `sys-${unique()}`;
  const created = await put('0101', key, pushed());
  const response = await put('0101', key, pushed({ scope: 'Må ikke skrives' }), 'partner', { 'If-None-Match': '*' });
  assert.equal(response.status, 412, response.text);
  assert.equal((await getCase(server, created.body.id)).body.scope, null);
});

test('cases_patch_with_if_none_match_is_not_answered_304_after_writing', async () => {
  const created = await put('0101', `sys-${unique()}`, pushed());
  const response = await request(server, 'PATCH', `/v1/cases/${created.body.id}`, {
    headers: { ...authFor('partner'), 'Content-Type': 'application/merge-patch+json', 'If-None-Match': '*' },
    body: { scope: 'Skrevet?' },
  });
  assert.notEqual(response.status, 304);
  assert.equal(response.status, 412, response.text);
  assert.equal((await getCase(server, created.body.id)).body.scope, null);
});

test('cases_put_of_the_stored_content_is_200_with_a_stale_if_match_and_412_with_if_none_match_star', async () => {
  const key = `sys-${unique()}`;
  const created = await put('0101', key, pushed(), 'partner', { 'If-None-Match': '*' });
  assert.equal(created.status, 201, 'If-None-Match: * creates when nothing exists');
  const etag = created.headers.get('etag');
  assert.equal((await put('0101', key, pushed({ scope: 'Første' }))).status, 200);
  const again = await put('0101', key, pushed({ scope: 'Første' }), 'partner', { 'If-Match': etag });
  assert.equal(again.status, 200, `a retried PUT of the stored content succeeds: ${again.text}`);
  const createOnly = await put('0101', key, pushed({ scope: 'Første' }), 'partner', { 'If-None-Match': '*' });
  assert.equal(createOnly.status, 412, createOnly.text);
  assert.equal((await historyOf(server, created.body.id)).length, 2);
});
