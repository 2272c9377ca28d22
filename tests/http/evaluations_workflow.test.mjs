// The review workflow of evaluations (POST /v1/evaluations/{id}/transitions) is the one of cases:
// the same moves, the same 409 with allowed_moves, the same roles (the case's lead organisation
// being the owner), the note that requesting changes needs. And their history
// (GET /v1/evaluations/{id}/history) is kept like a case's: one entry per change, newest first,
// paginated, shown to the same people.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseIn, transition } from './lib/cases.mjs';
import {
  createEvaluation,
  evaluationHistoryOf,
  evaluationIn,
  evaluationTransition,
  getEvaluation,
  patchEvaluation,
  postEvaluation,
  evaluationBody,
  STATUSES,
} from './lib/evaluations.mjs';

const MOVES = {
  draft: ['submitted'],
  submitted: ['in_review'],
  in_review: ['published', 'changes_requested'],
  changes_requested: ['submitted'],
  published: ['archived'],
  archived: ['published'],
};

let server;
let ownCase; // a published case of 0101 (the partner token's organisation)
let listing; // a published case of 0147 that lists 0101 as a partner

before(async () => {
  server = await startServer();
  ownCase = await caseIn(server, 'published');
  listing = await caseIn(server, 'published', { organisation_code: '0147', partner_organisation_codes: ['0101'] });
});
after(async () => {
  await server?.stop();
});

const history = (id, role, query = '', auth = {}) =>
  request(server, 'GET', `/v1/evaluations/${id}/history${query}`, { headers: authFor(role, auth) });

// ---- the whole life of an evaluation -----------------------------------------------------------

test('evaluations_full_life_partner_drafts_editor_reviews_public_reads_admin_republishes', async () => {
  const frederiksberg = { org: '0147' };
  const created = await postEvaluation(server, ownCase.id, evaluationBody({ title: 'Evaluering af madklubben' }), 'partner');
  assert.equal(created.status, 201, created.text);
  const id = created.body.id;
  let response = await evaluationTransition(server, id, 'submitted', 'partner');
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.status, 'submitted');

  // Not published: the public and other partners do not see it, though they see the case.
  assert.equal((await getEvaluation(server, id, 'anonymous')).status, 404);
  assert.equal((await getEvaluation(server, id, 'partner', frederiksberg)).status, 404);

  response = await evaluationTransition(server, id, 'in_review', 'editor');
  assert.equal(response.status, 200, response.text);
  response = await evaluationTransition(server, id, 'changes_requested', 'editor');
  assert.deepEqual(errorFields(response), new Set(['note']));
  response = await evaluationTransition(server, id, 'changes_requested', 'editor', { note: 'Beskriv metoden.' });
  assert.equal(response.status, 200, response.text);

  // The partner edits and resubmits.
  response = await patchEvaluation(server, id, { method: 'mixed', conclusion: 'Færre ensomme.' }, 'partner');
  assert.equal(response.status, 200, response.text);
  response = await evaluationTransition(server, id, 'submitted', 'partner');
  assert.equal(response.status, 200, response.text);
  assert.equal((await evaluationTransition(server, id, 'in_review', 'editor')).status, 200);
  response = await evaluationTransition(server, id, 'published', 'editor');
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.status, 'published');
  assert.ok(response.body.published_at, 'published_at is set');
  const firstPublished = response.body.published_at;

  // Now everyone who sees the case sees it.
  for (const [role, auth] of [['anonymous', {}], ['partner', frederiksberg], ['steering', {}]]) {
    const got = await getEvaluation(server, id, role, auth);
    assert.equal(got.status, 200, `${role}: ${got.text}`);
    assert.equal(got.body.conclusion, 'Færre ensomme.');
  }

  // Archived: hidden from the public again; only an admin republishes.
  response = await evaluationTransition(server, id, 'archived', 'editor');
  assert.equal(response.status, 200, response.text);
  assert.equal((await getEvaluation(server, id, 'anonymous')).status, 404);
  response = await evaluationTransition(server, id, 'published', 'editor');
  assert.equal(response.status, 403, response.text);
  await new Promise((resolve) => setTimeout(resolve, 20));
  response = await evaluationTransition(server, id, 'published', 'admin');
  assert.equal(response.status, 200, response.text);
  assert.ok(Date.parse(response.body.published_at) > Date.parse(firstPublished));
  assert.equal((await getEvaluation(server, id, 'anonymous')).status, 200);

  const entries = await evaluationHistoryOf(server, id, 'partner');
  assert.deepEqual(
    entries.map((h) => [h.action, h.from_status, h.to_status, h.actor.role]),
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
  assert.deepEqual(entries.map((h) => h.version), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  assert.equal(entries[6].note, 'Beskriv metoden.');
  assert.deepEqual(entries[5].changed_fields, ['conclusion', 'method']);
  assert.deepEqual(entries[0].changed_fields, ['status']);
  assert.equal((await getEvaluation(server, id)).body.version, 10);
});

// ---- the same workflow as cases ------------------------------------------------------------------

test('evaluations_every_move_the_workflow_lacks_is_409_with_the_same_allowed_moves_as_a_case', async () => {
  for (const from of STATUSES) {
    const e = await evaluationIn(server, ownCase.id, from);
    const kase = await caseIn(server, from);
    for (const to of STATUSES.filter((s) => !MOVES[from].includes(s))) {
      const response = await evaluationTransition(server, e.id, to, 'admin', { note: 'Nej.' });
      assert.equal(response.status, 409, `${from} -> ${to}: ${response.text}`);
      assert.equal(response.body.type, 'urn:problem:coi:conflict');
      assert.match(response.body.detail, new RegExp(`a ${from} evaluation cannot move to ${to}`));
      assert.deepEqual([...response.body.allowed_moves].sort(), [...MOVES[from]].sort(), `${from} -> ${to}`);
      const forCase = await transition(server, kase.id, to, 'admin', { note: 'Nej.' });
      assert.equal(forCase.status, 409);
      assert.deepEqual(response.body.allowed_moves, forCase.body.allowed_moves, `${from} -> ${to}: case and evaluation differ`);
    }
    const got = await getEvaluation(server, e.id);
    assert.equal(got.body.status, from, 'an illegal move changed nothing');
    assert.equal(got.body.version, e.version);
  }
});

test('evaluations_every_move_the_workflow_has_is_made_by_an_admin', async () => {
  for (const [from, targets] of Object.entries(MOVES)) {
    for (const to of targets) {
      const e = await evaluationIn(server, ownCase.id, from);
      const response = await evaluationTransition(server, e.id, to, 'admin', { note: 'Ok.' });
      assert.equal(response.status, 200, `${from} -> ${to}: ${response.text}`);
      assert.equal(response.body.status, to);
      assert.equal(response.body.version, e.version + 1);
      if (to === 'published') assert.ok(response.body.published_at);
    }
  }
});

test('evaluations_editor_makes_every_move_but_republishing_an_archived_evaluation', async () => {
  for (const [from, targets] of Object.entries(MOVES)) {
    for (const to of targets) {
      const e = await evaluationIn(server, ownCase.id, from);
      const response = await evaluationTransition(server, e.id, to, 'editor', { note: 'Ok.' });
      assert.equal(response.status, from === 'archived' ? 403 : 200, `${from} -> ${to}: ${response.text}`);
    }
  }
});

test('evaluations_partner_of_the_cases_organisation_submits_and_resubmits', async () => {
  for (const from of ['draft', 'changes_requested']) {
    const e = await evaluationIn(server, ownCase.id, from);
    const response = await evaluationTransition(server, e.id, 'submitted', 'partner');
    assert.equal(response.status, 200, `${from}: ${response.text}`);
    const entries = await evaluationHistoryOf(server, e.id);
    assert.deepEqual(entries[0].actor, { sub: 'test-partner', role: 'partner', org: '0101' });
  }
});

test('evaluations_partner_cannot_review_publish_or_archive_even_its_own_evaluation', async () => {
  const moves = [
    ['submitted', 'in_review'],
    ['in_review', 'published'],
    ['in_review', 'changes_requested'],
    ['published', 'archived'],
    ['archived', 'published'],
  ];
  for (const [from, to] of moves) {
    const e = await evaluationIn(server, ownCase.id, from);
    const response = await evaluationTransition(server, e.id, to, 'partner', { note: 'Jeg vil selv.' });
    assert.equal(response.status, 403, `${from} -> ${to}: ${response.text}`);
    assert.equal(response.body.type, 'urn:problem:coi:forbidden');
    assert.equal((await getEvaluation(server, e.id)).body.status, from);
  }
});

test('evaluations_partner_that_only_takes_part_in_the_case_cannot_move_its_evaluations', async () => {
  // 0101 is a partner organisation of `listing` (led by 0147): it sees the published
  // evaluation but may not move it; it does not see the draft at all.
  const published = await evaluationIn(server, listing.id, 'published');
  const refused = await evaluationTransition(server, published.id, 'archived', 'partner');
  assert.equal(refused.status, 403, refused.text);
  const draft = await evaluationIn(server, listing.id, 'draft');
  const hidden = await evaluationTransition(server, draft.id, 'submitted', 'partner');
  assert.equal(hidden.status, 404, hidden.text);
  // The lead organisation (0147) is the owner: it submits its case's draft evaluation.
  const owner = await evaluationTransition(server, draft.id, 'submitted', 'partner', { auth: { org: '0147' } });
  assert.equal(owner.status, 200, owner.text);
});

test('evaluations_partner_of_an_unrelated_org_gets_404_moving_a_draft_it_cannot_see', async () => {
  const e = await evaluationIn(server, ownCase.id, 'draft');
  const response = await evaluationTransition(server, e.id, 'submitted', 'partner', { auth: { org: '0751' } });
  assert.equal(response.status, 404, response.text);
  assert.equal((await getEvaluation(server, e.id)).body.status, 'draft');
});

test('evaluations_steering_cannot_move_evaluations_403_and_anonymous_401', async () => {
  const e = await evaluationIn(server, ownCase.id, 'submitted');
  const steering = await evaluationTransition(server, e.id, 'in_review', 'steering');
  assert.equal(steering.status, 403, steering.text);
  const anonymous = await evaluationTransition(server, e.id, 'in_review', 'anonymous');
  assert.equal(anonymous.status, 401, anonymous.text);
  assert.equal((await getEvaluation(server, e.id)).body.status, 'submitted');
});

test('evaluations_changes_requested_needs_a_non_blank_note', async () => {
  const e = await evaluationIn(server, ownCase.id, 'in_review');
  for (const note of [undefined, null, '', '  \n\t ']) {
    const response = await evaluationTransition(server, e.id, 'changes_requested', 'editor', { note });
    assert.deepEqual(errorFields(response), new Set(['note']), JSON.stringify(note));
  }
  assert.equal((await getEvaluation(server, e.id)).body.status, 'in_review');
});

test('evaluations_transition_body_is_checked_every_bad_field_listed', async () => {
  const e = await evaluationIn(server, ownCase.id, 'draft');
  const bodies = [
    [{}, ['to']],
    [{ to: 'deleted' }, ['to']],
    [{ to: 'submitted', note: 'x'.repeat(2001) }, ['note']],
    [{ to: 'submitted', note: 7, why: 'x' }, ['note', 'why']],
    [{ to: 42, note: 'bad\u0007' }, ['to', 'note']],
    [[], ['']],
  ];
  for (const [body, fields] of bodies) {
    const response = await request(server, 'POST', `/v1/evaluations/${e.id}/transitions`, { headers: authFor('admin'), body });
    assert.deepEqual(errorFields(response), new Set(fields), JSON.stringify(body));
  }
  const ok = await evaluationTransition(server, e.id, 'submitted', 'admin', { note: 'x'.repeat(2000) });
  assert.equal(ok.status, 200, ok.text);
});

test('evaluations_transition_with_a_stale_if_match_or_if_none_match_star_is_412', async () => {
  const created = await createEvaluation(server, ownCase.id);
  const etag = created.headers.get('etag');
  const first = await evaluationTransition(server, created.body.id, 'submitted', 'admin', { headers: { 'If-Match': etag } });
  assert.equal(first.status, 200, first.text);
  const stale = await evaluationTransition(server, created.body.id, 'in_review', 'admin', { headers: { 'If-Match': etag } });
  assert.equal(stale.status, 412, stale.text);
  const star = await evaluationTransition(server, created.body.id, 'in_review', 'admin', { headers: { 'If-None-Match': '*' } });
  assert.equal(star.status, 412, star.text);
  assert.equal((await getEvaluation(server, created.body.id)).body.status, 'submitted');
  const fresh = await evaluationTransition(server, created.body.id, 'in_review', 'admin', { headers: { 'If-Match': first.headers.get('etag') } });
  assert.equal(fresh.status, 200, fresh.text);
  const got = await getEvaluation(server, created.body.id);
  assert.equal(got.headers.get('etag'), fresh.headers.get('etag'));
  assert.deepEqual(got.body, fresh.body);
});

test('evaluations_two_moves_at_once_decide_once', async () => {
  for (let round = 0; round < 3; round++) {
    const e = await evaluationIn(server, ownCase.id, 'in_review');
    const [a, b] = await Promise.all([
      evaluationTransition(server, e.id, 'published', 'editor'),
      evaluationTransition(server, e.id, 'changes_requested', 'admin', { note: 'Nej.' }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409], `${a.text}\n${b.text}`);
    const entries = await evaluationHistoryOf(server, e.id);
    assert.equal(entries.filter((h) => h.from_status === 'in_review').length, 1);
  }
});

test('evaluations_move_independently_of_their_cases_status', async () => {
  // A published evaluation of a draft case: staff see it published; the public sees neither.
  const draftCase = await caseIn(server, 'draft');
  const e = await evaluationIn(server, draftCase.id, 'published');
  assert.equal(e.status, 'published');
  assert.equal((await getEvaluation(server, e.id, 'anonymous')).status, 404);
  // Moving the case does not move its evaluations.
  const archivedCaseEval = await evaluationIn(server, (await caseIn(server, 'published')).id, 'published');
  const archived = await transition(server, archivedCaseEval.case_id, 'archived', 'admin');
  assert.equal(archived.status, 200, archived.text);
  assert.equal((await getEvaluation(server, archivedCaseEval.id)).body.status, 'published');
});

test('evaluations_status_is_read_only_in_a_patch_only_transitions_move_it', async () => {
  const e = (await createEvaluation(server, ownCase.id, 'partner')).body;
  const response = await patchEvaluation(server, e.id, { status: 'published' }, 'partner');
  assert.deepEqual(errorFields(response), new Set(['status']));
  assert.equal((await getEvaluation(server, e.id)).body.status, 'draft');
});

test('evaluations_transition_as_text_plain_is_415_and_malformed_json_400', async () => {
  const e = await evaluationIn(server, ownCase.id, 'draft');
  const plain = await request(server, 'POST', `/v1/evaluations/${e.id}/transitions`, {
    headers: { ...authFor('partner'), 'Content-Type': 'text/plain' },
    rawBody: '{"to":"submitted"}',
  });
  assert.equal(plain.status, 415, plain.text);
  const malformed = await request(server, 'POST', `/v1/evaluations/${e.id}/transitions`, {
    headers: { ...authFor('partner'), 'Content-Type': 'application/json' },
    rawBody: '{"to":"submitted","to":"in_review"}',
  });
  assert.equal(malformed.status, 400, malformed.text);
  assert.equal((await getEvaluation(server, e.id)).body.status, 'draft');
});

// ---- history -----------------------------------------------------------------------------------

test('evaluations_history_records_creation_updates_and_transitions_newest_first', async () => {
  const created = await createEvaluation(server, ownCase.id, 'partner', { method: 'rct', economic: { investment_dkk: 10 } });
  const id = created.body.id;
  const patched = await patchEvaluation(server, id, { method: 'rct', economic: { investment_dkk: 20 }, user_effects: 'Gladere borgere.' }, 'editor');
  assert.equal(patched.status, 200, patched.text);
  assert.equal((await evaluationTransition(server, id, 'submitted', 'partner', { note: 'Klar til gennemsyn.' })).status, 200);
  const response = await history(id, 'partner');
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.next_cursor, null);
  assert.equal(response.body.items.length, 3);
  const [submitted, updated, createdEntry] = response.body.items;

  assert.equal(createdEntry.action, 'created');
  assert.equal(createdEntry.version, 1);
  assert.equal(createdEntry.from_status, null);
  assert.equal(createdEntry.to_status, 'draft');
  assert.equal(createdEntry.note, null);
  assert.deepEqual(createdEntry.actor, { sub: 'test-partner', role: 'partner', org: '0101' });
  assert.deepEqual(createdEntry.changed_fields, ['economic', 'evaluator_kind', 'evidence_level', 'method', 'title']);
  assert.equal(createdEntry.at, created.body.created_at);

  assert.equal(updated.action, 'updated');
  assert.equal(updated.version, 2);
  assert.deepEqual([updated.from_status, updated.to_status], ['draft', 'draft']);
  assert.deepEqual(updated.actor, { sub: 'test-editor', role: 'editor' });
  assert.deepEqual(updated.changed_fields, ['economic', 'user_effects'], 'method was sent unchanged');
  assert.equal(updated.at, patched.body.updated_at);

  assert.equal(submitted.action, 'transition');
  assert.equal(submitted.version, 3);
  assert.deepEqual([submitted.from_status, submitted.to_status], ['draft', 'submitted']);
  assert.deepEqual(submitted.changed_fields, ['status']);
  assert.equal(submitted.note, 'Klar til gennemsyn.');
  assert.ok(Date.parse(submitted.at) >= Date.parse(updated.at));
});

test('evaluations_history_pages_by_cursor_without_gaps_or_repeats', async () => {
  const e = await evaluationIn(server, ownCase.id, 'archived');
  for (let i = 0; i < 3; i++) assert.equal((await patchEvaluation(server, e.id, { conclusion: `Version ${i}` }, 'editor')).status, 200);
  const all = await evaluationHistoryOf(server, e.id, 'admin', 200);
  assert.deepEqual(all.map((h) => h.version), [8, 7, 6, 5, 4, 3, 2, 1]);
  const paged = await evaluationHistoryOf(server, e.id, 'steering', 3);
  assert.deepEqual(paged, all);
  const first = await history(e.id, 'admin', '?limit=3');
  assert.match(first.headers.get('link'), new RegExp(`^</v1/evaluations/${e.id}/history\\?limit=3&cursor=[^>]+>; rel="next"$`));
});

test('evaluations_history_cursor_is_bound_to_its_evaluation_and_query_is_checked', async () => {
  const a = await evaluationIn(server, ownCase.id, 'published');
  const b = await evaluationIn(server, ownCase.id, 'published');
  const page = await history(a.id, 'admin', '?limit=1');
  const cursor = page.body.next_cursor;
  assert.ok(cursor);
  assert.deepEqual(errorFields(await history(b.id, 'admin', `?limit=1&cursor=${encodeURIComponent(cursor)}`)), new Set(['cursor']));
  // A case's history cursor is not an evaluation's either.
  const kasePage = await request(server, 'GET', `/v1/cases/${ownCase.id}/history?limit=1`, { headers: authFor('admin') });
  assert.deepEqual(errorFields(await history(a.id, 'admin', `?cursor=${encodeURIComponent(kasePage.body.next_cursor)}`)), new Set(['cursor']));
  for (const query of ['?limit=0', '?limit=201', '?limit=x', '?cursor=nonsense', '?status=draft', '?limit=1&limit=2']) {
    const response = await history(a.id, 'admin', query);
    assert.equal(response.status, 422, `${query}: ${response.text}`);
  }
});

test('evaluations_history_is_shown_to_the_cases_organisation_staff_and_steering_only', async () => {
  const onOwn = await evaluationIn(server, ownCase.id, 'published');
  for (const role of ['partner', 'editor', 'admin', 'steering']) {
    assert.equal((await history(onOwn.id, role)).status, 200, role);
  }
  const anonymous = await history(onOwn.id, 'anonymous');
  assert.equal(anonymous.status, 401, anonymous.text);
  // 0147 sees the published evaluation of 0101's published case, but not its history.
  assert.equal((await getEvaluation(server, onOwn.id, 'partner', { org: '0147' })).status, 200);
  const other = await history(onOwn.id, 'partner', '', { org: '0147' });
  assert.equal(other.status, 403, other.text);
  // 0101 only takes part in `listing`: it sees the published evaluation, not its history.
  const onListing = await evaluationIn(server, listing.id, 'published');
  assert.equal((await history(onListing.id, 'partner')).status, 403);
  assert.equal((await history(onListing.id, 'partner', '', { org: '0147' })).status, 200);
  // An evaluation the partner cannot see is 404, not 403.
  const hidden = await evaluationIn(server, listing.id, 'draft');
  assert.equal((await history(hidden.id, 'partner')).status, 404);
  assert.equal((await history(hidden.id, 'partner', '', { org: '0751' })).status, 404);
});
