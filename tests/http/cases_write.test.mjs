// Writing cases: POST /v1/cases and PATCH /v1/cases/{id} (JSON Merge Patch) as each role, the
// field rules of the issue (every bad field listed in one 422), UTF-8 text kept exactly, ETags
// and conditional writes, and the If-Match race between two clients.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseBody, caseIn, createCase, getCase, historyOf, MERGE_PATCH, unique } from './lib/cases.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const post = (role, body, auth = {}) => request(server, 'POST', '/v1/cases', { headers: authFor(role, auth), body });
const patch = (id, role, body, headers = {}) =>
  request(server, 'PATCH', `/v1/cases/${id}`, { headers: { ...MERGE_PATCH, ...authFor(role), ...headers }, body });

/** A body with every writable field set. */
function fullBody() {
  return caseBody({
    partner_organisation_codes: ['0147', '1084'],
    external_id: `kbh-${unique()}`,
    problem: 'Grupperne planlagde hver for sig.\nRuterne overlappede.',
    solution: 'Ét morgenmøde\tpå tværs.',
    scope: 'Hjemmeplejen i Valby.',
    innovation_types: ['collaboration', 'workflow'],
    sector: 'elderly_care',
    tags: ['hjemmepleje', 'ruter'],
    implementation_status: 'piloting',
    started_on: '2014-09-01',
    origin: 'original',
    implementation_methods: 'Trinvis udrulning.',
    evaluation_methods: 'Før- og eftermåling.',
    employee_involvement: 'Medarbejderne foreslog ideen.',
    user_involvement: 'Borgerpanel.',
    employee_driven: true,
    user_driven: false,
    spread_potential: 'Alle kommuner med hjemmepleje.',
    spread_potential_rating: 'high',
    effect_types: ['economy', 'quality'],
    effects_summary: 'Færre kørte kilometer.',
    risks_and_pitfalls: 'Mødet kan blive for langt.',
    lessons_learned: 'Hold det kort.',
    contact_name: 'Mette Sørensen',
    contact_email: 'mette.soerensen@kk.dk',
    links: [{ title: 'Rapport', url: 'https://www.kk.dk/rapport' }, { title: 'Video', url: 'http://example.dk/v' }],
  });
}

// ---- creating ------------------------------------------------------------------------------

test('cases_partner_creates_a_draft_of_its_own_organisation_with_location_and_etag', async () => {
  const body = caseBody();
  delete body.organisation_code;
  const response = await post('partner', body);
  assert.equal(response.status, 201, response.text);
  assert.equal(response.body.organisation_code, '0101', 'organisation_code defaults to the partner org');
  assert.equal(response.body.status, 'draft');
  assert.equal(response.body.version, 1);
  assert.equal(response.body.published_at, null);
  assert.equal(response.body.adoption_count, 0);
  assert.deepEqual(response.body.government_levels, ['municipal']);
  assert.deepEqual(response.body.regions_reached, ['1084']);
  assert.deepEqual(response.body.tags, []);
  assert.equal(response.body.sector, null);
  assert.equal(new URL(response.headers.get('location'), server.url).pathname, `/v1/cases/${response.body.id}`);
  const got = await getCase(server, response.body.id, 'partner');
  assert.deepEqual(got.body, response.body);
  assert.equal(got.headers.get('etag'), response.headers.get('etag'));
});

test('cases_post_with_every_field_returns_them_all_and_derives_levels_and_regions', async () => {
  const body = fullBody();
  const response = await post('editor', body);
  assert.equal(response.status, 201, response.text);
  for (const [key, value] of Object.entries(body)) assert.deepEqual(response.body[key], value, key);
  assert.deepEqual(response.body.government_levels, ['municipal', 'regional']);
  assert.deepEqual(response.body.regions_reached, ['1084']);
});

test('cases_admin_and_editor_may_create_for_any_organisation', async () => {
  for (const role of ['admin', 'editor']) {
    const response = await post(role, caseBody({ organisation_code: '0751' }));
    assert.equal(response.status, 201, `${role}: ${response.text}`);
    assert.equal(response.body.organisation_code, '0751');
    assert.deepEqual(response.body.regions_reached, ['1082']);
  }
});

test('cases_partner_cannot_create_a_case_for_another_organisation_422_naming_organisation_code', async () => {
  const response = await post('partner', caseBody({ organisation_code: '0147' }));
  assert.deepEqual(errorFields(response), new Set(['organisation_code']));
});

test('cases_staff_must_name_the_lead_organisation', async () => {
  const body = caseBody();
  delete body.organisation_code;
  assert.deepEqual(errorFields(await post('editor', body)), new Set(['organisation_code']));
});

test('cases_steering_cannot_create_403_and_anonymous_gets_401', async () => {
  const steering = await post('steering', caseBody());
  assert.equal(steering.status, 403, steering.text);
  assert.equal(steering.body.type, 'urn:problem:coi:forbidden');
  const anonymous = await post('anonymous', caseBody());
  assert.equal(anonymous.status, 401, anonymous.text);
});

test('cases_post_with_several_bad_fields_lists_every_one_in_one_422', async () => {
  const response = await post('admin', {
    organisation_code: 'not a code!',
    title: '',
    summary: 'x'.repeat(1001),
    innovation_types: ['collaboration', 'telepathy'],
    sector: 'space',
    tags: Array.from({ length: 21 }, (_, i) => `tag${i}`),
    implementation_status: 'dreaming',
    started_on: '2014-02-30',
    origin: 'stolen',
    employee_driven: 'yes',
    spread_potential_rating: 'huge',
    effect_types: ['happiness'],
    contact_email: 'not-an-address',
    links: [{ title: 'FTP', url: 'ftp://example.dk/x' }],
    problem: 42,
    id: 'mine',
    status: 'published',
    colour: 'blue',
  });
  assert.deepEqual(
    errorFields(response),
    new Set([
      'organisation_code', 'title', 'summary', 'innovation_types', 'sector', 'tags', 'implementation_status',
      'started_on', 'origin', 'employee_driven', 'spread_potential_rating', 'effect_types', 'contact_email',
      'links[0].url', 'problem', 'id', 'status', 'colour',
    ]),
  );
  assert.equal(response.body.type, 'urn:problem:coi:validation');
});

test('cases_every_read_only_field_is_refused_in_a_post', async () => {
  const readOnly = {
    id: 'x', status: 'draft', government_levels: [], adoption_count: 0, regions_reached: [], version: 1,
    created_at: '2014-01-01T00:00:00Z', updated_at: '2014-01-01T00:00:00Z', published_at: null,
  };
  const response = await post('admin', caseBody(readOnly));
  assert.deepEqual(errorFields(response), new Set(Object.keys(readOnly)));
  for (const e of response.body.errors) assert.match(e.message, /read-only/);
});

test('cases_title_and_summary_limits_count_characters_not_bytes', async () => {
  const ok = await post('admin', caseBody({ title: 'æ'.repeat(199) + '🦆', summary: 'ø'.repeat(1000) }));
  assert.equal(ok.status, 201, ok.text);
  assert.equal([...ok.body.title].length, 200);
  assert.deepEqual(errorFields(await post('admin', caseBody({ title: 'å'.repeat(201) }))), new Set(['title']));
  assert.deepEqual(errorFields(await post('admin', caseBody({ summary: '' }))), new Set(['summary']));
  assert.deepEqual(errorFields(await post('admin', caseBody({ title: '   ' }))), new Set(['title']));
  assert.deepEqual(errorFields(await post('admin', caseBody({ title: 'to\nlinjer' }))), new Set(['title']));
});

test('cases_required_fields_missing_are_each_named', async () => {
  const response = await post('admin', { organisation_code: '0101' });
  assert.deepEqual(errorFields(response), new Set(['title', 'summary', 'innovation_types']));
});

test('cases_innovation_types_need_one_to_six_distinct_known_values', async () => {
  const all = ['collaboration', 'work_tool', 'workflow', 'task', 'vision', 'role'];
  const ok = await post('admin', caseBody({ innovation_types: all }));
  assert.equal(ok.status, 201, ok.text);
  assert.deepEqual(ok.body.innovation_types, all);
  for (const bad of [[], [...all, 'role'], ['task', 'task'], ['idea'], 'task', null]) {
    const response = await post('admin', caseBody({ innovation_types: bad }));
    assert.deepEqual(errorFields(response), new Set(['innovation_types']), JSON.stringify(bad));
  }
});

test('cases_tags_at_most_20_distinct_of_1_to_50_characters', async () => {
  const twenty = Array.from({ length: 20 }, (_, i) => `mærke-${i}`);
  const ok = await post('admin', caseBody({ tags: [...twenty.slice(0, 19), 'ø'.repeat(50)] }));
  assert.equal(ok.status, 201, ok.text);
  for (const bad of [[...twenty, 'one more'], ['x'.repeat(51)], [''], ['a', 'a'], [7]]) {
    assert.deepEqual(errorFields(await post('admin', caseBody({ tags: bad }))), new Set(['tags']), JSON.stringify(bad));
  }
});

test('cases_links_at_most_20_http_or_https_with_title_and_url', async () => {
  const twenty = Array.from({ length: 20 }, (_, i) => ({ title: `Link ${i}`, url: `https://example.dk/${i}` }));
  const ok = await post('admin', caseBody({ links: twenty }));
  assert.equal(ok.status, 201, ok.text);
  assert.deepEqual(ok.body.links, twenty);
  assert.deepEqual(errorFields(await post('admin', caseBody({ links: [...twenty, twenty[0]] }))), new Set(['links']));
  const bad = [
    { title: 'Script', url: 'javascript:alert(1)' },
    { title: 'Fil', url: 'file:///etc/passwd' },
    { title: 'Ingen vært', url: 'https:///sti' },
    { url: 'https://example.dk' },
    { title: 'Ekstra', url: 'https://example.dk', colour: 'blue' },
    'https://example.dk',
  ];
  const response = await post('admin', caseBody({ links: bad }));
  assert.deepEqual(
    errorFields(response),
    new Set(['links[0].url', 'links[1].url', 'links[2].url', 'links[3].title', 'links[4].colour', 'links']),
  );
});

test('cases_contact_email_is_validated', async () => {
  const ok = await post('admin', caseBody({ contact_email: 'søren@kommune.dk' }));
  assert.equal(ok.status, 201, ok.text);
  for (const bad of ['søren', '@kommune.dk', 'a@b', 'a@@b.dk', 'a@.dk', 'a@b.dk.', 'a b@c.dk', 'a@b,c.dk', 42]) {
    assert.deepEqual(errorFields(await post('admin', caseBody({ contact_email: bad }))), new Set(['contact_email']), String(bad));
  }
});

test('cases_inspired_by_needs_origin_adapted_or_copied_and_an_existing_case', async () => {
  const original = await createCase(server);
  const adapted = await post('admin', caseBody({ origin: 'adapted', inspired_by_case_id: original.body.id }));
  assert.equal(adapted.status, 201, adapted.text);
  assert.equal(adapted.body.inspired_by_case_id, original.body.id);
  const notAdapted = await post('admin', caseBody({ origin: 'original', inspired_by_case_id: original.body.id }));
  assert.deepEqual(errorFields(notAdapted), new Set(['inspired_by_case_id']));
  const noOrigin = await post('admin', caseBody({ inspired_by_case_id: original.body.id }));
  assert.deepEqual(errorFields(noOrigin), new Set(['inspired_by_case_id']));
  const missing = await post('admin', caseBody({ origin: 'copied', inspired_by_case_id: '00000000-0000-4000-8000-000000000000' }));
  assert.deepEqual(errorFields(missing), new Set(['inspired_by_case_id']));
});

test('cases_organisations_must_exist_and_the_lead_is_not_also_a_partner', async () => {
  assert.deepEqual(errorFields(await post('admin', caseBody({ organisation_code: '9999' }))), new Set(['organisation_code']));
  assert.deepEqual(
    errorFields(await post('admin', caseBody({ partner_organisation_codes: ['9999'] }))),
    new Set(['partner_organisation_codes']),
  );
  assert.deepEqual(
    errorFields(await post('admin', caseBody({ partner_organisation_codes: ['0101'] }))),
    new Set(['partner_organisation_codes']),
  );
  assert.deepEqual(
    errorFields(await post('admin', caseBody({ partner_organisation_codes: ['0147', '0147'] }))),
    new Set(['partner_organisation_codes']),
  );
});

test('cases_external_id_is_unique_per_lead_organisation_409', async () => {
  const key = `dublet-${unique()}`;
  await createCase(server, 'admin', { external_id: key });
  const again = await post('admin', caseBody({ external_id: key }));
  assert.equal(again.status, 409, again.text);
  assert.equal(again.body.type, 'urn:problem:coi:conflict');
  const otherOrg = await post('admin', caseBody({ organisation_code: '0147', external_id: key }));
  assert.equal(otherOrg.status, 201, otherOrg.text);
});

test('cases_text_round_trips_utf8_exactly_with_danish_letters_and_emoji', async () => {
  const text = {
    title: 'Ældre får øjeblikkelig hjælp på Åbenrå 🧓🏽✨',
    summary: 'Æ ø å Æ Ø Å — “citat” · 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 · e\u0301 (kombineret) · 👩‍👩‍👧‍👦',
    problem: 'Linje ét\nLinje to\r\n\tIndrykket 🚲',
    tags: ['grøn omstilling', '🌱'],
    contact_name: 'Søren Ærø-Østergård',
    links: [{ title: 'Fælles rapport 📄', url: 'https://example.dk/r%C3%A6kke?q=%C3%A5' }],
  };
  const created = await post('partner', caseBody(text));
  assert.equal(created.status, 201, created.text);
  const got = await getCase(server, created.body.id, 'partner');
  for (const [key, value] of Object.entries(text)) {
    assert.deepEqual(created.body[key], value, key);
    assert.deepEqual(got.body[key], value, key);
  }
  assert.ok(got.text.includes('Ældre får øjeblikkelig hjælp på Åbenrå 🧓🏽✨'), 'sent as UTF-8, not \\u escapes');
  const patched = await patch(created.body.id, 'partner', { summary: 'Nu med 🦆 og æøå' });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.body.summary, 'Nu med 🦆 og æøå');
});

test('cases_invalid_utf8_in_the_body_is_a_400', async () => {
  const head = Buffer.from('{"organisation_code":"0101","title":"');
  const tail = Buffer.from('","summary":"s","innovation_types":["task"]}');
  for (const bad of [Buffer.from([0xc3]), Buffer.from([0xe6, 0xf8, 0xe5]), Buffer.from([0xed, 0xa0, 0x80])]) {
    const response = await request(server, 'POST', '/v1/cases', {
      headers: { ...authFor('admin'), 'Content-Type': 'application/json' },
      rawBody: Buffer.concat([head, bad, tail]),
    });
    assert.equal(response.status, 400, response.text);
  }
});

test('cases_post_malformed_json_400_and_text_plain_415', async () => {
  const malformed = await request(server, 'POST', '/v1/cases', {
    headers: { ...authFor('admin'), 'Content-Type': 'application/json' },
    rawBody: '{"title": oops}',
  });
  assert.equal(malformed.status, 400, malformed.text);
  const plain = await request(server, 'POST', '/v1/cases', {
    headers: { ...authFor('admin'), 'Content-Type': 'text/plain' },
    rawBody: JSON.stringify(caseBody()),
  });
  assert.equal(plain.status, 415, plain.text);
  const array = await post('admin', [caseBody()]);
  assert.equal(array.status, 422, array.text);
});

// ---- reading one ---------------------------------------------------------------------------

test('cases_get_with_current_etag_in_if_none_match_answers_304', async () => {
  const created = await createCase(server);
  const etag = created.headers.get('etag');
  const response = await request(server, 'GET', `/v1/cases/${created.body.id}`, {
    headers: { ...authFor('editor'), 'If-None-Match': etag },
  });
  assert.equal(response.status, 304);
  assert.equal(response.headers.get('etag'), etag);
  const stale = await request(server, 'GET', `/v1/cases/${created.body.id}`, {
    headers: { ...authFor('editor'), 'If-None-Match': '"0000000000000000"' },
  });
  assert.equal(stale.status, 200);
});

test('cases_unknown_or_malformed_id_is_404', async () => {
  for (const id of ['00000000-0000-4000-8000-000000000000', 'nope', "1' OR '1'='1"]) {
    const response = await request(server, 'GET', `/v1/cases/${encodeURIComponent(id)}`, { headers: authFor('admin') });
    assert.equal(response.status, 404, response.text);
  }
});

// ---- patching ------------------------------------------------------------------------------

test('cases_patch_changes_only_the_given_fields_and_records_one_update', async () => {
  const created = await request(server, 'POST', '/v1/cases', { headers: authFor('partner'), body: fullBody() });
  assert.equal(created.status, 201, created.text);
  const response = await patch(created.body.id, 'partner', { scope: 'Hele Københavns hjemmepleje.', tags: ['ny'] });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.scope, 'Hele Københavns hjemmepleje.');
  assert.deepEqual(response.body.tags, ['ny']);
  assert.equal(response.body.version, 2);
  assert.notEqual(response.headers.get('etag'), created.headers.get('etag'));
  for (const key of ['title', 'summary', 'problem', 'links', 'partner_organisation_codes', 'contact_email']) {
    assert.deepEqual(response.body[key], created.body[key], key);
  }
  assert.ok(Date.parse(response.body.updated_at) >= Date.parse(created.body.updated_at));
  const history = await historyOf(server, created.body.id, 'partner');
  assert.equal(history.length, 2);
  assert.equal(history[0].action, 'updated');
  assert.deepEqual(history[0].changed_fields, ['scope', 'tags']);
  assert.equal(history[0].version, 2);
});

test('cases_patch_null_removes_optional_fields_and_empties_lists', async () => {
  const created = await request(server, 'POST', '/v1/cases', { headers: authFor('admin'), body: fullBody() });
  const response = await patch(created.body.id, 'admin', {
    sector: null, problem: null, tags: null, links: null, partner_organisation_codes: null, employee_driven: null, external_id: null,
  });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.sector, null);
  assert.equal(response.body.problem, null);
  assert.equal(response.body.employee_driven, null);
  assert.equal(response.body.external_id, null);
  assert.deepEqual(response.body.tags, []);
  assert.deepEqual(response.body.links, []);
  assert.deepEqual(response.body.partner_organisation_codes, []);
  assert.deepEqual(response.body.government_levels, ['municipal']);
});

test('cases_patch_cannot_remove_required_fields_and_lists_every_bad_field', async () => {
  const created = await createCase(server);
  const response = await patch(created.body.id, 'admin', {
    organisation_code: null, title: null, summary: null, innovation_types: null, sector: 'moon', version: 9, colour: 'red',
  });
  assert.deepEqual(
    errorFields(response),
    new Set(['organisation_code', 'title', 'summary', 'innovation_types', 'sector', 'version', 'colour']),
  );
  const unchanged = await getCase(server, created.body.id);
  assert.deepEqual(unchanged.body, created.body);
});

test('cases_patch_that_changes_nothing_keeps_the_version_etag_and_history', async () => {
  const created = await createCase(server);
  const response = await patch(created.body.id, 'admin', { title: created.body.title });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.headers.get('etag'), created.headers.get('etag'));
  assert.equal(response.body.version, 1);
  assert.equal((await historyOf(server, created.body.id)).length, 1);
});

test('cases_partner_cannot_move_its_case_to_another_organisation', async () => {
  const created = await createCase(server, 'partner');
  const response = await patch(created.body.id, 'partner', { organisation_code: '0147' });
  assert.deepEqual(errorFields(response), new Set(['organisation_code']));
});

test('cases_editor_may_move_a_case_to_another_lead_organisation', async () => {
  const created = await createCase(server);
  const response = await patch(created.body.id, 'editor', { organisation_code: '0751' });
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.body.regions_reached, ['1082']);
});

test('cases_patch_with_a_stale_if_match_is_412_and_changes_nothing', async () => {
  const created = await createCase(server);
  const first = await patch(created.body.id, 'admin', { scope: 'Første' }, { 'If-Match': created.headers.get('etag') });
  assert.equal(first.status, 200, first.text);
  const stale = await patch(created.body.id, 'admin', { scope: 'Anden' }, { 'If-Match': created.headers.get('etag') });
  assert.equal(stale.status, 412, stale.text);
  assert.equal(stale.body.type, 'urn:problem:coi:precondition-failed');
  assert.equal((await getCase(server, created.body.id)).body.scope, 'Første');
  const star = await patch(created.body.id, 'admin', { scope: 'Tredje' }, { 'If-Match': '*' });
  assert.equal(star.status, 200, star.text);
});

test('cases_patch_race_with_the_same_if_match_one_wins_one_gets_412_and_history_has_one_update', async () => {
  for (let round = 0; round < 5; round++) {
    const created = await createCase(server);
    const etag = created.headers.get('etag');
    const [a, b] = await Promise.all([
      patch(created.body.id, 'editor', { scope: `Klient A ${round}` }, { 'If-Match': etag }),
      patch(created.body.id, 'admin', { scope: `Klient B ${round}` }, { 'If-Match': etag }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 412], `${a.text}\n${b.text}`);
    const winner = a.status === 200 ? a : b;
    const stored = await getCase(server, created.body.id);
    assert.equal(stored.body.scope, winner.body.scope);
    assert.equal(stored.body.version, 2);
    const history = await historyOf(server, created.body.id);
    assert.deepEqual(history.map((h) => h.action), ['updated', 'created']);
    assert.equal(history[0].actor.role, winner === a ? 'editor' : 'admin');
  }
});

test('cases_patch_without_if_match_from_two_clients_applies_both', async () => {
  const created = await createCase(server);
  const [a, b] = await Promise.all([
    patch(created.body.id, 'editor', { scope: 'Fra A' }),
    patch(created.body.id, 'admin', { lessons_learned: 'Fra B' }),
  ]);
  assert.equal(a.status, 200, a.text);
  assert.equal(b.status, 200, b.text);
  const stored = await getCase(server, created.body.id);
  assert.equal(stored.body.scope, 'Fra A');
  assert.equal(stored.body.lessons_learned, 'Fra B');
  assert.equal(stored.body.version, 3);
});

test('cases_patch_external_id_taken_by_another_case_of_the_lead_is_409', async () => {
  const key = `taget-${unique()}`;
  await createCase(server, 'admin', { external_id: key });
  const other = await createCase(server);
  const response = await patch(other.body.id, 'admin', { external_id: key });
  assert.equal(response.status, 409, response.text);
});

test('cases_patch_as_text_plain_is_415_and_a_non_object_patch_is_422', async () => {
  const created = await createCase(server);
  const plain = await request(server, 'PATCH', `/v1/cases/${created.body.id}`, {
    headers: { ...authFor('admin'), 'Content-Type': 'text/plain' },
    rawBody: '{"scope":"x"}',
  });
  assert.equal(plain.status, 415, plain.text);
  const array = await patch(created.body.id, 'admin', ['scope']);
  assert.equal(array.status, 422, array.text);
  const json = await request(server, 'PATCH', `/v1/cases/${created.body.id}`, { headers: authFor('admin'), body: { scope: 'json' } });
  assert.equal(json.status, 200, json.text);
});

test('cases_partner_edits_its_own_case_only_in_draft_and_changes_requested', async () => {
  for (const status of ['draft', 'changes_requested']) {
    const kase = await caseIn(server, status);
    const response = await patch(kase.id, 'partner', { scope: `Redigeret i ${status}` });
    assert.equal(response.status, 200, `${status}: ${response.text}`);
  }
  for (const status of ['submitted', 'in_review', 'published', 'archived']) {
    const kase = await caseIn(server, status);
    const response = await patch(kase.id, 'partner', { scope: `Redigeret i ${status}` });
    assert.equal(response.status, 403, `${status}: ${response.text}`);
    assert.equal((await getCase(server, kase.id)).body.scope, null);
  }
});

test('cases_editor_and_admin_edit_in_every_status', async () => {
  for (const status of ['submitted', 'in_review', 'published', 'archived']) {
    const kase = await caseIn(server, status);
    for (const role of ['editor', 'admin']) {
      const response = await patch(kase.id, role, { scope: `${role} i ${status}` });
      assert.equal(response.status, 200, `${role} ${status}: ${response.text}`);
      assert.equal(response.body.status, status);
    }
  }
});

test('cases_steering_cannot_patch_403_and_anonymous_401', async () => {
  const kase = await caseIn(server, 'published');
  const steering = await patch(kase.id, 'steering', { scope: 'x' });
  assert.equal(steering.status, 403, steering.text);
  const anonymous = await patch(kase.id, 'anonymous', { scope: 'x' });
  assert.equal(anonymous.status, 401, anonymous.text);
  assert.equal((await getCase(server, kase.id)).body.scope, null);
});

test('cases_partner_listed_as_partner_sees_but_cannot_edit_403', async () => {
  const created = await createCase(server, 'admin', { organisation_code: '0147', partner_organisation_codes: ['0101'] });
  await getCase(server, created.body.id, 'partner');
  const response = await patch(created.body.id, 'partner', { scope: 'x' });
  assert.equal(response.status, 403, response.text);
});

test('cases_partner_of_another_org_gets_404_when_patching_a_draft_it_cannot_see', async () => {
  const created = await createCase(server, 'partner');
  const response = await patch(created.body.id, 'partner', { scope: 'x' }, authFor('partner', { org: '0147' }));
  assert.equal(response.status, 404, response.text);
});

test('cases_partner_of_another_org_gets_403_when_patching_a_published_case', async () => {
  const kase = await caseIn(server, 'published');
  const response = await patch(kase.id, 'partner', { scope: 'x' }, authFor('partner', { org: '0147' }));
  assert.equal(response.status, 403, response.text);
});

test('cases_long_texts_hold_up_to_20000_characters_each', async () => {
  const long = '🌊'.repeat(20000); // 80000 bytes: the limit counts characters
  const ok = await post('admin', caseBody({ problem: long, lessons_learned: 'æ'.repeat(20000), solution: '' }));
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.body.problem, long);
  assert.equal(ok.body.solution, '', 'an empty text is kept, not turned into null');
  const tooLong = await post('admin', caseBody({ problem: `${long}x`, effects_summary: 'ø'.repeat(20001), scope: 'a\u0001b' }));
  assert.deepEqual(errorFields(tooLong), new Set(['problem', 'effects_summary', 'scope']));
});

test('cases_body_over_the_size_limit_is_413', async () => {
  const response = await post('admin', caseBody({ problem: 'x'.repeat(1024 * 1024) }));
  assert.equal(response.status, 413, response.text);
  assert.equal(response.body.type, 'urn:problem:coi:payload-too-large');
});

test('cases_government_levels_come_from_the_lead_and_partner_organisations_kinds', async () => {
  const state = `STM${process.pid}`;
  const other = `LAB${process.pid}`;
  for (const [code, kind] of [[state, 'state'], [other, 'other']]) {
    const org = await request(server, 'POST', '/v1/organisations', { headers: authFor('admin'), body: { code, name: `Organisation ${code}`, kind } });
    assert.equal(org.status, 201, org.text);
  }
  const all = await post('admin', caseBody({ partner_organisation_codes: [state, '1085', other] }));
  assert.equal(all.status, 201, all.text);
  assert.deepEqual(all.body.government_levels, ['municipal', 'regional', 'state']);
  assert.deepEqual(all.body.regions_reached, ['1084', '1085']);
  const stateLed = await post('admin', caseBody({ organisation_code: state, partner_organisation_codes: [other] }));
  assert.equal(stateLed.status, 201, stateLed.text);
  assert.deepEqual(stateLed.body.government_levels, ['state']);
  assert.deepEqual(stateLed.body.regions_reached, []);
  const patched = await patch(stateLed.body.id, 'editor', { partner_organisation_codes: ['0751'] });
  assert.deepEqual(patched.body.government_levels, ['municipal', 'state']);
  assert.deepEqual(patched.body.regions_reached, ['1082']);
});
