// The review workflow (POST /v1/cases/{id}/transitions) as each role: every legal move, every
// illegal one (409 naming the allowed moves), who may make which move, the note that requesting
// changes needs, and one case's whole life from a partner's draft to an admin's republishing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseBody, caseIn, createCase, getCase, historyOf, MERGE_PATCH, transition } from './lib/cases.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const STATUSES = ['draft', 'submitted', 'in_review', 'published', 'changes_requested', 'archived'];
const MOVES = {
  draft: ['submitted'],
  submitted: ['in_review'],
  in_review: ['published', 'changes_requested'],
  changes_requested: ['submitted'],
  published: ['archived'],
  archived: ['published'],
};

// ---- the whole life of a case ----------------------------------------------------------------

test('cases_full_life_partner_drafts_editor_reviews_another_org_adopts_admin_republishes', async () => {
  const partner = authFor('partner');
  const frederiksberg = authFor('partner', { org: '0147' });
  const editor = authFor('editor');

  // The partner system of 0101 creates a draft and submits it.
  const created = await request(server, 'POST', '/v1/cases', {
    headers: partner,
    body: { title: 'Digital morgenmadsklub', summary: 'Ældre spiser sammen via skærm.', innovation_types: ['work_tool'] },
  });
  assert.equal(created.status, 201, created.text);
  const id = created.body.id;
  assert.equal(created.body.organisation_code, '0101');
  let response = await transition(server, id, 'submitted', 'partner');
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.status, 'submitted');

  // Anonymous callers and other partners cannot see it yet.
  assert.equal((await request(server, 'GET', `/v1/cases/${id}`)).status, 404);
  assert.equal((await request(server, 'GET', `/v1/cases/${id}`, { headers: frederiksberg })).status, 404);

  // The editor takes it in review and requests changes; the note is required.
  response = await transition(server, id, 'in_review', 'editor');
  assert.equal(response.status, 200, response.text);
  response = await transition(server, id, 'changes_requested', 'editor');
  assert.deepEqual(errorFields(response), new Set(['note']));
  response = await transition(server, id, 'changes_requested', 'editor', { note: 'Beskriv effekten for borgerne.' });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.status, 'changes_requested');

  // The partner edits and resubmits.
  response = await request(server, 'PATCH', `/v1/cases/${id}`, {
    headers: { ...partner, ...MERGE_PATCH },
    body: { effects_summary: 'Færre føler sig ensomme.', effect_types: ['quality', 'citizen_involvement'] },
  });
  assert.equal(response.status, 200, response.text);
  response = await transition(server, id, 'submitted', 'partner');
  assert.equal(response.status, 200, response.text);

  // The editor reviews again and publishes.
  assert.equal((await transition(server, id, 'in_review', 'editor')).status, 200);
  response = await transition(server, id, 'published', 'editor');
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.status, 'published');
  assert.ok(response.body.published_at, 'published_at is set');

  // Anonymous callers see it now, in the list too.
  const publicView = await request(server, 'GET', `/v1/cases/${id}`);
  assert.equal(publicView.status, 200, publicView.text);
  assert.equal(publicView.body.effects_summary, 'Færre føler sig ensomme.');
  const listed = await request(server, 'GET', '/v1/cases?status=published&limit=200');
  assert.ok(listed.body.items.some((c) => c.id === id));

  // Frederiksberg (0147) takes it up: one adoption, regions reached by the two (both 1084).
  response = await request(server, 'POST', `/v1/cases/${id}/adoptions`, {
    headers: frederiksberg,
    body: { status: 'considering', started_on: '2015-01-05', notes: 'Vi prøver i to plejecentre.' },
  });
  assert.equal(response.status, 201, response.text);
  assert.equal(response.body.organisation_code, '0147');
  let kase = (await request(server, 'GET', `/v1/cases/${id}`)).body;
  assert.equal(kase.adoption_count, 1);
  assert.deepEqual(kase.regions_reached, ['1084']);
  // Aarhus (0751, region 1082) too: the regions reached grow.
  response = await request(server, 'POST', `/v1/cases/${id}/adoptions`, {
    headers: authFor('partner', { org: '0751' }),
    body: { status: 'adapting' },
  });
  assert.equal(response.status, 201, response.text);
  kase = (await request(server, 'GET', `/v1/cases/${id}`)).body;
  assert.equal(kase.adoption_count, 2);
  assert.deepEqual(kase.regions_reached, ['1082', '1084']);

  // The editor archives it: the public no longer sees it; only an admin republishes.
  response = await transition(server, id, 'archived', 'editor');
  assert.equal(response.status, 200, response.text);
  assert.equal((await request(server, 'GET', `/v1/cases/${id}`)).status, 404);
  response = await transition(server, id, 'published', 'editor');
  assert.equal(response.status, 403, response.text);
  response = await transition(server, id, 'published', 'admin');
  assert.equal(response.status, 200, response.text);
  assert.ok(Date.parse(response.body.published_at) >= Date.parse(kase.published_at));
  assert.equal((await request(server, 'GET', `/v1/cases/${id}`)).status, 200);

  // The history tells the story, newest first.
  const history = await historyOf(server, id, 'partner');
  assert.deepEqual(
    history.map((h) => [h.action, h.from_status, h.to_status, h.actor.role]),
    [
      ['transition', 'archived', 'published', 'admin'],
      ['transition', 'published', 'archived', 'editor'],
      ['transition', 'in_review', 'published', 'editor'],
      ['transition', 'submitted', 'in_review', 'editor'],
      ['transition', 'changes_requested', 'submitted', 'partner'],
      ['updated', 'changes_requested', 'changes_requested', 'partner'],
      ['transition', 'in_review', 'changes_requested', 'editor'],
      ['transition', 'submitted', 'in_review', 'editor'],
      ['transition', 'draft', 'submitted', 'partner'],
      ['created', null, 'draft', 'partner'],
    ],
  );
  assert.deepEqual(history.map((h) => h.version), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  assert.equal(history[6].note, 'Beskriv effekten for borgerne.');
  assert.deepEqual(history[5].changed_fields, ['effect_types', 'effects_summary']);
  assert.deepEqual(history[9].actor, { sub: 'test-partner', role: 'partner', org: '0101' });
});

// ---- legal and illegal moves -------------------------------------------------------------------

test('cases_every_move_the_workflow_lacks_is_409_naming_the_allowed_moves', async () => {
  for (const from of STATUSES) {
    const kase = await caseIn(server, from);
    for (const to of STATUSES.filter((s) => !MOVES[from].includes(s))) {
      const response = await transition(server, kase.id, to, 'admin');
      assert.equal(response.status, 409, `${from} -> ${to}: ${response.text}`);
      assert.equal(response.body.type, 'urn:problem:coi:conflict');
      assert.deepEqual([...response.body.allowed_moves].sort(), [...MOVES[from]].sort(), `${from} -> ${to}`);
    }
    assert.equal((await getCase(server, kase.id)).body.status, from, 'an illegal move changed nothing');
  }
});

test('cases_every_move_the_workflow_has_is_made_by_an_admin', async () => {
  for (const [from, targets] of Object.entries(MOVES)) {
    for (const to of targets) {
      const kase = await caseIn(server, from);
      const response = await transition(server, kase.id, to, 'admin', { note: 'Ok.' });
      assert.equal(response.status, 200, `${from} -> ${to}: ${response.text}`);
      assert.equal(response.body.status, to);
      assert.equal(response.body.version, kase.version + 1);
    }
  }
});

test('cases_partner_submits_its_own_drafts_and_resubmits_after_changes', async () => {
  for (const from of ['draft', 'changes_requested']) {
    const kase = await caseIn(server, from);
    const response = await transition(server, kase.id, 'submitted', 'partner');
    assert.equal(response.status, 200, `${from}: ${response.text}`);
  }
});

test('cases_partner_cannot_review_publish_or_archive_even_its_own_case', async () => {
  const cases = [
    ['submitted', 'in_review'],
    ['in_review', 'published'],
    ['in_review', 'changes_requested'],
    ['published', 'archived'],
    ['archived', 'published'],
  ];
  for (const [from, to] of cases) {
    const kase = await caseIn(server, from);
    const response = await transition(server, kase.id, to, 'partner', { note: 'Jeg vil selv.' });
    assert.equal(response.status, 403, `${from} -> ${to}: ${response.text}`);
    assert.equal(response.body.type, 'urn:problem:coi:forbidden');
    assert.equal((await getCase(server, kase.id)).body.status, from);
  }
});

test('cases_partner_cannot_submit_a_case_it_is_only_listed_on', async () => {
  const kase = await caseIn(server, 'draft', { organisation_code: '0147', partner_organisation_codes: ['0101'] });
  const response = await transition(server, kase.id, 'submitted', 'partner');
  assert.equal(response.status, 403, response.text);
});

test('cases_partner_of_another_org_gets_404_moving_a_draft_it_cannot_see', async () => {
  const kase = await caseIn(server, 'draft');
  const response = await transition(server, kase.id, 'submitted', 'partner', { auth: { org: '0147' } });
  assert.equal(response.status, 404, response.text);
  assert.equal((await getCase(server, kase.id)).body.status, 'draft');
});

test('cases_editor_makes_every_move_but_republishing_an_archived_case', async () => {
  for (const [from, targets] of Object.entries(MOVES)) {
    for (const to of targets) {
      const kase = await caseIn(server, from);
      const response = await transition(server, kase.id, to, 'editor', { note: 'Ok.' });
      const expected = from === 'archived' ? 403 : 200;
      assert.equal(response.status, expected, `${from} -> ${to}: ${response.text}`);
    }
  }
});

test('cases_steering_cannot_move_cases_403_and_anonymous_401', async () => {
  const kase = await caseIn(server, 'submitted');
  const steering = await transition(server, kase.id, 'in_review', 'steering');
  assert.equal(steering.status, 403, steering.text);
  const anonymous = await transition(server, kase.id, 'in_review', 'anonymous');
  assert.equal(anonymous.status, 401, anonymous.text);
  assert.equal((await getCase(server, kase.id)).body.status, 'submitted');
});

test('cases_changes_requested_needs_a_non_blank_note', async () => {
  const kase = await caseIn(server, 'in_review');
  for (const note of [undefined, null, '', '  \n\t ']) {
    const response = await transition(server, kase.id, 'changes_requested', 'editor', { note });
    assert.deepEqual(errorFields(response), new Set(['note']), JSON.stringify(note));
  }
  assert.equal((await getCase(server, kase.id)).body.status, 'in_review');
});

test('cases_transition_body_is_checked_every_bad_field_listed', async () => {
  const kase = await caseIn(server, 'draft');
  const cases = [
    [{}, ['to']],
    [{ to: 'deleted' }, ['to']],
    [{ to: 'submitted', note: 'x'.repeat(2001) }, ['note']],
    [{ to: 'submitted', note: 7, why: 'x' }, ['note', 'why']],
    [{ to: 42, note: 'bad\u0007' }, ['to', 'note']],
  ];
  for (const [body, fields] of cases) {
    const response = await request(server, 'POST', `/v1/cases/${kase.id}/transitions`, { headers: authFor('admin'), body });
    assert.deepEqual(errorFields(response), new Set(fields), JSON.stringify(body));
  }
  const ok = await transition(server, kase.id, 'submitted', 'admin', { note: 'x'.repeat(2000) });
  assert.equal(ok.status, 200, ok.text);
});

test('cases_transition_with_a_stale_if_match_is_412', async () => {
  const created = await createCase(server);
  const etag = created.headers.get('etag');
  const first = await transition(server, created.body.id, 'submitted', 'admin', { headers: { 'If-Match': etag } });
  assert.equal(first.status, 200, first.text);
  const stale = await transition(server, created.body.id, 'in_review', 'admin', { headers: { 'If-Match': etag } });
  assert.equal(stale.status, 412, stale.text);
  const fresh = await transition(server, created.body.id, 'in_review', 'admin', { headers: { 'If-Match': first.headers.get('etag') } });
  assert.equal(fresh.status, 200, fresh.text);
});

test('cases_two_editors_deciding_at_once_with_the_same_if_match_decide_once', async () => {
  for (let round = 0; round < 5; round++) {
    const kase = await caseIn(server, 'in_review');
    const etag = (await getCase(server, kase.id)).headers.get('etag');
    const [a, b] = await Promise.all([
      transition(server, kase.id, 'published', 'editor', { headers: { 'If-Match': etag } }),
      transition(server, kase.id, 'changes_requested', 'editor', { note: 'Nej.', headers: { 'If-Match': etag } }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 412], `${a.text}\n${b.text}`);
    const history = await historyOf(server, kase.id);
    assert.equal(history.filter((h) => h.from_status === 'in_review').length, 1);
  }
});

test('cases_two_moves_at_once_without_if_match_make_one_move_and_a_409', async () => {
  for (let round = 0; round < 5; round++) {
    const kase = await caseIn(server, 'in_review');
    const [a, b] = await Promise.all([
      transition(server, kase.id, 'published', 'editor'),
      transition(server, kase.id, 'changes_requested', 'admin', { note: 'Nej.' }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409], `${a.text}\n${b.text}`);
    const history = await historyOf(server, kase.id);
    assert.equal(history.filter((h) => h.from_status === 'in_review').length, 1);
    assert.equal(history.length, 4);
  }
});

test('cases_transition_answers_the_new_etag_which_get_confirms', async () => {
  const kase = await caseIn(server, 'draft');
  const response = await transition(server, kase.id, 'submitted', 'partner');
  assert.equal(response.status, 200, response.text);
  const got = await getCase(server, kase.id);
  assert.equal(got.headers.get('etag'), response.headers.get('etag'));
  assert.deepEqual(got.body, response.body);
});

test('cases_transition_of_an_unknown_case_is_404', async () => {
  const response = await transition(server, '00000000-0000-4000-8000-000000000000', 'submitted', 'admin');
  assert.equal(response.status, 404, response.text);
});

test('cases_republishing_stamps_a_new_published_at', async () => {
  const kase = await caseIn(server, 'published');
  const first = kase.published_at;
  await transition(server, kase.id, 'archived', 'admin');
  await new Promise((resolve) => setTimeout(resolve, 20));
  const again = await transition(server, kase.id, 'published', 'admin');
  assert.equal(again.status, 200, again.text);
  assert.ok(Date.parse(again.body.published_at) > Date.parse(first), `${first} -> ${again.body.published_at}`);
});

test('cases_status_is_read_only_in_a_patch_only_transitions_move_it', async () => {
  const created = await request(server, 'POST', '/v1/cases', { headers: authFor('partner'), body: caseBody() });
  const response = await request(server, 'PATCH', `/v1/cases/${created.body.id}`, {
    headers: { ...authFor('partner'), ...MERGE_PATCH },
    body: { status: 'published' },
  });
  assert.deepEqual(errorFields(response), new Set(['status']));
  assert.equal((await getCase(server, created.body.id)).body.status, 'draft');
});

test('cases_transition_as_text_plain_is_415_and_malformed_json_400', async () => {
  const kase = await caseIn(server, 'draft');
  const plain = await request(server, 'POST', `/v1/cases/${kase.id}/transitions`, {
    headers: { ...authFor('partner'), 'Content-Type': 'text/plain' },
    rawBody: '{"to":"submitted"}',
  });
  assert.equal(plain.status, 415, plain.text);
  const malformed = await request(server, 'POST', `/v1/cases/${kase.id}/transitions`, {
    headers: { ...authFor('partner'), 'Content-Type': 'application/json' },
    rawBody: '{"to":"submitted","to":"in_review"}',
  });
  assert.equal(malformed.status, 400, malformed.text);
  assert.equal((await getCase(server, kase.id)).body.status, 'draft');
});
