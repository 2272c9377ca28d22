// Adoptions: organisations taking a case up. POST /v1/cases/{id}/adoptions, the list, and GET,
// PATCH, DELETE /v1/adoptions/{id} as each role, with the rules of the issue (one per
// organisation and case, a partner only for its own organisation, the lead not for its own
// case) and the case's adoption_count and regions_reached that follow from them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseIn, getCase, MERGE_PATCH, transition } from './lib/cases.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const adopt = (caseId, body, role = 'partner', auth = {}) =>
  request(server, 'POST', `/v1/cases/${caseId}/adoptions`, { headers: authFor(role, auth), body });
const patchAdoption = (id, body, role = 'partner', auth = {}, headers = {}) =>
  request(server, 'PATCH', `/v1/adoptions/${id}`, { headers: { ...authFor(role, auth), ...MERGE_PATCH, ...headers }, body });
const removeAdoption = (id, role = 'partner', auth = {}, headers = {}) =>
  request(server, 'DELETE', `/v1/adoptions/${id}`, { headers: { ...authFor(role, auth), ...headers } });

/** Records an adoption by a partner of `org`; asserts 201. */
async function adoptAs(caseId, org, extra = {}) {
  const response = await adopt(caseId, { status: 'considering', ...extra }, 'partner', { org });
  assert.equal(response.status, 201, response.text);
  return response;
}

/** The case's derived reach as an editor sees it. */
async function reach(caseId) {
  const { body } = await getCase(server, caseId, 'editor');
  return { adoption_count: body.adoption_count, regions_reached: body.regions_reached };
}

test('adoptions_partner_records_its_own_organisations_adoption_with_location_and_etag', async () => {
  const kase = await caseIn(server, 'published');
  const response = await adopt(kase.id, { status: 'adapting', started_on: '2015-02-01', notes: 'Vi tilpasser modellen 🛠️' }, 'partner', { org: '0147' });
  assert.equal(response.status, 201, response.text);
  assert.equal(response.body.case_id, kase.id);
  assert.equal(response.body.organisation_code, '0147', 'organisation_code defaults to the partner org');
  assert.equal(response.body.status, 'adapting');
  assert.equal(response.body.started_on, '2015-02-01');
  assert.equal(response.body.notes, 'Vi tilpasser modellen 🛠️');
  assert.equal(new URL(response.headers.get('location'), server.url).pathname, `/v1/adoptions/${response.body.id}`);
  const got = await request(server, 'GET', `/v1/adoptions/${response.body.id}`);
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body, response.body);
  assert.equal(got.headers.get('etag'), response.headers.get('etag'));
  const notModified = await request(server, 'GET', `/v1/adoptions/${response.body.id}`, { headers: { 'If-None-Match': got.headers.get('etag') } });
  assert.equal(notModified.status, 304);
});

test('adoptions_count_and_regions_reached_follow_creation_discontinuation_and_removal', async () => {
  const kase = await caseIn(server, 'published', { partner_organisation_codes: ['0147'] });
  assert.deepEqual(await reach(kase.id), { adoption_count: 0, regions_reached: ['1084'] });
  const aarhus = await adoptAs(kase.id, '0751');
  assert.deepEqual(await reach(kase.id), { adoption_count: 1, regions_reached: ['1082', '1084'] });
  const aalborg = await adoptAs(kase.id, '0851', { status: 'implemented' });
  assert.deepEqual(await reach(kase.id), { adoption_count: 2, regions_reached: ['1081', '1082', '1084'] });

  const discontinued = await patchAdoption(aarhus.body.id, { status: 'discontinued' }, 'partner', { org: '0751' });
  assert.equal(discontinued.status, 200, discontinued.text);
  assert.deepEqual(await reach(kase.id), { adoption_count: 1, regions_reached: ['1081', '1084'] });
  const resumed = await patchAdoption(aarhus.body.id, { status: 'implemented' }, 'partner', { org: '0751' });
  assert.equal(resumed.status, 200, resumed.text);
  assert.deepEqual(await reach(kase.id), { adoption_count: 2, regions_reached: ['1081', '1082', '1084'] });

  const removed = await removeAdoption(aalborg.body.id, 'partner', { org: '0851' });
  assert.equal(removed.status, 204, removed.text);
  assert.equal(removed.text, '');
  assert.deepEqual(await reach(kase.id), { adoption_count: 1, regions_reached: ['1082', '1084'] });
  assert.equal((await request(server, 'GET', `/v1/adoptions/${aalborg.body.id}`)).status, 404);
});

test('adoptions_a_region_adopting_reaches_its_own_region', async () => {
  const kase = await caseIn(server, 'published');
  await adopt(kase.id, { organisation_code: '1085', status: 'considering' }, 'editor');
  assert.deepEqual(await reach(kase.id), { adoption_count: 1, regions_reached: ['1084', '1085'] });
  assert.deepEqual((await getCase(server, kase.id)).body.government_levels, ['municipal'], 'adopters add no government level');
});

test('adoptions_one_per_organisation_and_case_a_second_is_409', async () => {
  const kase = await caseIn(server, 'published');
  await adoptAs(kase.id, '0147');
  const again = await adopt(kase.id, { status: 'implemented' }, 'partner', { org: '0147' });
  assert.equal(again.status, 409, again.text);
  assert.equal(again.body.type, 'urn:problem:coi:conflict');
  const byEditor = await adopt(kase.id, { organisation_code: '0147', status: 'adapting' }, 'editor');
  assert.equal(byEditor.status, 409, byEditor.text);
  assert.deepEqual(await reach(kase.id), { adoption_count: 1, regions_reached: ['1084'] });
});

test('adoptions_partner_for_another_organisation_is_422_naming_organisation_code', async () => {
  const kase = await caseIn(server, 'published');
  const response = await adopt(kase.id, { organisation_code: '0751', status: 'considering' }, 'partner', { org: '0147' });
  assert.deepEqual(errorFields(response), new Set(['organisation_code']));
  assert.equal((await reach(kase.id)).adoption_count, 0);
});

test('adoptions_the_lead_organisation_cannot_adopt_its_own_case_422', async () => {
  const kase = await caseIn(server, 'published');
  const partner = await adopt(kase.id, { status: 'considering' }, 'partner');
  assert.deepEqual(errorFields(partner), new Set(['organisation_code']));
  const editor = await adopt(kase.id, { organisation_code: '0101', status: 'considering' }, 'editor');
  assert.deepEqual(errorFields(editor), new Set(['organisation_code']));
});

test('adoptions_editor_and_admin_record_for_any_organisation_but_must_name_it', async () => {
  const kase = await caseIn(server, 'published');
  for (const [role, org] of [['editor', '0751'], ['admin', '0851']]) {
    const response = await adopt(kase.id, { organisation_code: org, status: 'considering' }, role);
    assert.equal(response.status, 201, `${role}: ${response.text}`);
    assert.equal(response.body.organisation_code, org);
  }
  const unnamed = await adopt(kase.id, { status: 'considering' }, 'admin');
  assert.deepEqual(errorFields(unnamed), new Set(['organisation_code']));
  const unknown = await adopt(kase.id, { organisation_code: '9999', status: 'considering' }, 'admin');
  assert.deepEqual(errorFields(unknown), new Set(['organisation_code']));
});

test('adoptions_steering_cannot_record_403_and_anonymous_401', async () => {
  const kase = await caseIn(server, 'published');
  const steering = await adopt(kase.id, { organisation_code: '0147', status: 'considering' }, 'steering');
  assert.equal(steering.status, 403, steering.text);
  const anonymous = await adopt(kase.id, { organisation_code: '0147', status: 'considering' }, 'anonymous');
  assert.equal(anonymous.status, 401, anonymous.text);
  assert.equal((await reach(kase.id)).adoption_count, 0);
});

test('adoptions_body_with_several_bad_fields_lists_every_one', async () => {
  const kase = await caseIn(server, 'published');
  const response = await adopt(kase.id, {
    status: 'thinking', started_on: '2015-13-01', notes: 'x'.repeat(5001), id: 'x', case_id: kase.id, colour: 'red',
  }, 'partner', { org: '0147' });
  assert.deepEqual(errorFields(response), new Set(['status', 'started_on', 'notes', 'id', 'case_id', 'colour']));
  const missing = await adopt(kase.id, {}, 'partner', { org: '0147' });
  assert.deepEqual(errorFields(missing), new Set(['status']));
});

test('adoptions_of_a_case_the_caller_cannot_see_are_404', async () => {
  const draft = await caseIn(server, 'draft');
  const response = await adopt(draft.id, { status: 'considering' }, 'partner', { org: '0147' });
  assert.equal(response.status, 404, response.text);
  const missing = await adopt('00000000-0000-4000-8000-000000000000', { organisation_code: '0147', status: 'considering' }, 'admin');
  assert.equal(missing.status, 404, missing.text);
});

test('adoptions_hidden_when_their_case_is_archived_except_to_those_who_see_the_case', async () => {
  const kase = await caseIn(server, 'published');
  const adoption = await adoptAs(kase.id, '0147');
  assert.equal((await transition(server, kase.id, 'archived', 'editor')).status, 200);
  const id = adoption.body.id;
  assert.equal((await request(server, 'GET', `/v1/adoptions/${id}`)).status, 404);
  assert.equal((await request(server, 'GET', `/v1/cases/${kase.id}/adoptions`)).status, 404);
  const adopter = authFor('partner', { org: '0147' });
  assert.equal((await request(server, 'GET', `/v1/adoptions/${id}`, { headers: adopter })).status, 404);
  assert.equal((await patchAdoption(id, { status: 'implemented' }, 'partner', { org: '0147' })).status, 404);
  assert.equal((await request(server, 'GET', `/v1/adoptions/${id}`, { headers: authFor('partner') })).status, 200);
  assert.equal((await request(server, 'GET', `/v1/adoptions/${id}`, { headers: authFor('steering') })).status, 200);
});

test('adoptions_list_pages_by_cursor_and_is_open_to_everyone_who_sees_the_case', async () => {
  const kase = await caseIn(server, 'published');
  const orgs = ['0147', '0751', '0851', '1081', '1082'];
  const ids = [];
  for (const org of orgs) ids.push((await adopt(kase.id, { organisation_code: org, status: 'considering' }, 'admin')).body.id);
  for (const role of ['anonymous', 'partner', 'steering', 'editor']) {
    const seen = [];
    let cursor = null;
    let pages = 0;
    do {
      const query = new URLSearchParams({ limit: '2' });
      if (cursor) query.set('cursor', cursor);
      const response = await request(server, 'GET', `/v1/cases/${kase.id}/adoptions?${query}`, { headers: authFor(role) });
      assert.equal(response.status, 200, response.text);
      seen.push(...response.body.items);
      cursor = response.body.next_cursor;
      assert.equal(response.headers.get('link') !== null, cursor !== null);
      pages++;
    } while (cursor);
    assert.equal(pages, 3, role);
    assert.deepEqual(new Set(seen.map((a) => a.id)), new Set(ids), role);
    assert.equal(seen.length, ids.length, role);
    for (const a of seen) assert.equal(a.case_id, kase.id);
  }
  const other = await caseIn(server, 'published');
  const first = await request(server, 'GET', `/v1/cases/${kase.id}/adoptions?limit=1`);
  const foreign = await request(server, 'GET', `/v1/cases/${other.id}/adoptions?cursor=${encodeURIComponent(first.body.next_cursor)}`);
  assert.deepEqual(errorFields(foreign), new Set(['cursor']));
  const bad = await request(server, 'GET', `/v1/cases/${kase.id}/adoptions?limit=500&sort=id`);
  assert.deepEqual(errorFields(bad), new Set(['sort']));
  const badLimit = await request(server, 'GET', `/v1/cases/${kase.id}/adoptions?limit=500`);
  assert.deepEqual(errorFields(badLimit), new Set(['limit']));
});

test('adoptions_list_of_a_case_without_adoptions_is_empty', async () => {
  const kase = await caseIn(server, 'published');
  const response = await request(server, 'GET', `/v1/cases/${kase.id}/adoptions`);
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.body, { items: [], next_cursor: null });
});

test('adoptions_patch_changes_status_dates_and_notes_and_null_removes_them', async () => {
  const kase = await caseIn(server, 'published');
  const created = await adoptAs(kase.id, '0147', { started_on: '2015-01-01', notes: 'Første note' });
  const response = await patchAdoption(created.body.id, { status: 'implemented', notes: null, started_on: '2015-06-30' }, 'partner', { org: '0147' });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.status, 'implemented');
  assert.equal(response.body.notes, null);
  assert.equal(response.body.started_on, '2015-06-30');
  assert.equal(response.body.created_at, created.body.created_at);
  assert.notEqual(response.headers.get('etag'), created.headers.get('etag'));
  const got = await request(server, 'GET', `/v1/adoptions/${created.body.id}`);
  assert.deepEqual(got.body, response.body);
});

test('adoptions_patch_refuses_a_new_organisation_a_removed_status_and_lists_every_bad_field', async () => {
  const kase = await caseIn(server, 'published');
  const created = await adoptAs(kase.id, '0147');
  const response = await patchAdoption(created.body.id, { organisation_code: '0751', status: null, started_on: 'i går', case_id: kase.id, x: 1 }, 'admin');
  assert.deepEqual(errorFields(response), new Set(['organisation_code', 'status', 'started_on', 'case_id', 'x']));
  const same = await patchAdoption(created.body.id, { organisation_code: '0147', status: 'adapting' }, 'partner', { org: '0147' });
  assert.equal(same.status, 200, same.text);
});

test('adoptions_partner_cannot_change_or_remove_another_organisations_adoption_403', async () => {
  const kase = await caseIn(server, 'published');
  const created = await adoptAs(kase.id, '0147');
  const patched = await patchAdoption(created.body.id, { status: 'discontinued' }, 'partner', { org: '0751' });
  assert.equal(patched.status, 403, patched.text);
  const lead = await removeAdoption(created.body.id, 'partner');
  assert.equal(lead.status, 403, lead.text);
  assert.equal((await request(server, 'GET', `/v1/adoptions/${created.body.id}`)).body.status, 'considering');
});

test('adoptions_editor_and_admin_change_and_remove_any_adoption', async () => {
  const kase = await caseIn(server, 'published');
  const a = await adoptAs(kase.id, '0147');
  const b = await adoptAs(kase.id, '0751');
  assert.equal((await patchAdoption(a.body.id, { status: 'adapting' }, 'editor')).status, 200);
  assert.equal((await patchAdoption(b.body.id, { status: 'adapting' }, 'admin')).status, 200);
  assert.equal((await removeAdoption(a.body.id, 'editor')).status, 204);
  assert.equal((await removeAdoption(b.body.id, 'admin')).status, 204);
  assert.deepEqual(await reach(kase.id), { adoption_count: 0, regions_reached: ['1084'] });
});

test('adoptions_steering_cannot_change_or_remove_403_and_anonymous_401', async () => {
  const kase = await caseIn(server, 'published');
  const created = await adoptAs(kase.id, '0147');
  assert.equal((await patchAdoption(created.body.id, { status: 'adapting' }, 'steering')).status, 403);
  assert.equal((await removeAdoption(created.body.id, 'steering')).status, 403);
  assert.equal((await patchAdoption(created.body.id, { status: 'adapting' }, 'anonymous')).status, 401);
  assert.equal((await removeAdoption(created.body.id, 'anonymous')).status, 401);
  assert.equal((await request(server, 'GET', `/v1/adoptions/${created.body.id}`)).body.status, 'considering');
});

test('adoptions_patch_and_delete_with_a_stale_if_match_are_412', async () => {
  const kase = await caseIn(server, 'published');
  const created = await adoptAs(kase.id, '0147');
  const etag = created.headers.get('etag');
  const first = await patchAdoption(created.body.id, { status: 'adapting' }, 'partner', { org: '0147' }, { 'If-Match': etag });
  assert.equal(first.status, 200, first.text);
  const stale = await patchAdoption(created.body.id, { status: 'implemented' }, 'partner', { org: '0147' }, { 'If-Match': etag });
  assert.equal(stale.status, 412, stale.text);
  const staleDelete = await removeAdoption(created.body.id, 'partner', { org: '0147' }, { 'If-Match': etag });
  assert.equal(staleDelete.status, 412, staleDelete.text);
  const fresh = await removeAdoption(created.body.id, 'partner', { org: '0147' }, { 'If-Match': first.headers.get('etag') });
  assert.equal(fresh.status, 204, fresh.text);
});

test('adoptions_two_patches_at_once_with_the_same_if_match_one_wins', async () => {
  const kase = await caseIn(server, 'published');
  const created = await adoptAs(kase.id, '0147');
  const etag = created.headers.get('etag');
  const [a, b] = await Promise.all([
    patchAdoption(created.body.id, { status: 'adapting' }, 'editor', {}, { 'If-Match': etag }),
    patchAdoption(created.body.id, { status: 'discontinued' }, 'admin', {}, { 'If-Match': etag }),
  ]);
  assert.deepEqual([a.status, b.status].sort(), [200, 412], `${a.text}\n${b.text}`);
});

test('adoptions_unknown_or_malformed_id_is_404_for_every_method', async () => {
  for (const id of ['00000000-0000-4000-8000-000000000000', 'nope']) {
    assert.equal((await request(server, 'GET', `/v1/adoptions/${id}`)).status, 404);
    assert.equal((await patchAdoption(id, { status: 'adapting' }, 'admin')).status, 404);
    assert.equal((await removeAdoption(id, 'admin')).status, 404);
  }
});

test('adoptions_post_as_text_plain_is_415_and_malformed_json_400', async () => {
  const kase = await caseIn(server, 'published');
  const plain = await request(server, 'POST', `/v1/cases/${kase.id}/adoptions`, {
    headers: { ...authFor('partner', { org: '0147' }), 'Content-Type': 'text/plain' },
    rawBody: '{"status":"considering"}',
  });
  assert.equal(plain.status, 415, plain.text);
  const malformed = await request(server, 'POST', `/v1/cases/${kase.id}/adoptions`, {
    headers: { ...authFor('partner', { org: '0147' }), 'Content-Type': 'application/json' },
    rawBody: '{"status":',
  });
  assert.equal(malformed.status, 400, malformed.text);
  assert.equal((await reach(kase.id)).adoption_count, 0);
});
