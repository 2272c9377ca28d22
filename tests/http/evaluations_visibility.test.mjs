// Who sees which evaluation: an evaluation follows its case. Editors, admins and steering members
// see all; anyone else sees an evaluation only when they see its case and it is published, and
// the case's own organisation (partner) sees every evaluation of its cases. An evaluation the
// caller may not see is 404 on every route, never 403. Also the lists' filters, order, pages
// and cursors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseIn, transition } from './lib/cases.mjs';
import { evaluationIn, getEvaluation, listedEvaluations } from './lib/evaluations.mjs';

let server;
const cases = {}; // name -> case
const evaluations = []; // every fixture evaluation, in creation order, with `caseName`

/** The callers of the matrix: [label, role, auth]. */
const CALLERS = [
  ['anonymous', 'anonymous', {}],
  ['partner 0101', 'partner', { org: '0101' }],
  ['partner 0147', 'partner', { org: '0147' }],
  ['partner 0751', 'partner', { org: '0751' }],
  ['steering', 'steering', {}],
  ['editor', 'editor', {}],
  ['admin', 'admin', {}],
];

// Evaluation attributes cycled through the fixtures so that each filter value picks some.
const METHODS = ['rct', 'before_after', 'qualitative'];
const KINDS = ['internal', 'external', 'research'];

before(async () => {
  server = await startServer();
  cases.ownPublished = await caseIn(server, 'published');
  cases.ownDraft = await caseIn(server, 'draft');
  cases.ownArchived = await caseIn(server, 'archived');
  cases.listing = await caseIn(server, 'draft', { organisation_code: '0147', partner_organisation_codes: ['0101'] });
  cases.foreignPublished = await caseIn(server, 'published', { organisation_code: '0147' });
  cases.foreignDraft = await caseIn(server, 'draft', { organisation_code: '0147' });
  let n = 0;
  for (const caseName of Object.keys(cases)) {
    for (const status of ['draft', 'in_review', 'published', 'archived']) {
      const e = await evaluationIn(server, cases[caseName].id, status, {
        method: METHODS[n % 3],
        evaluator_kind: KINDS[Math.floor(n / 3) % 3],
        evidence_level: (n % 5) + 1,
      });
      evaluations.push({ ...e, caseName });
      n++;
    }
  }
});
after(async () => {
  await server?.stop();
});

/** The cases (by name) each caller may see. */
const SEES_CASE = {
  anonymous: ['ownPublished', 'foreignPublished'],
  'partner 0101': ['ownPublished', 'ownDraft', 'ownArchived', 'listing', 'foreignPublished'],
  'partner 0147': ['ownPublished', 'listing', 'foreignPublished', 'foreignDraft'],
  'partner 0751': ['ownPublished', 'foreignPublished'],
};
/** The cases whose every evaluation a partner sees: those its organisation leads. */
const LEADS = {
  'partner 0101': ['ownPublished', 'ownDraft', 'ownArchived'],
  'partner 0147': ['listing', 'foreignPublished', 'foreignDraft'],
};

/** Whether the caller `label` should see evaluation `e` (the rule, written out once here). */
function shouldSee(label, e) {
  if (['steering', 'editor', 'admin'].includes(label)) return true;
  if (!SEES_CASE[label].includes(e.caseName)) return false;
  return e.status === 'published' || (LEADS[label] ?? []).includes(e.caseName);
}

const fixtureIds = () => new Set(evaluations.map((e) => e.id));

test('evaluations_each_caller_sees_exactly_what_the_rule_allows_by_get_and_in_the_list', async () => {
  for (const [label, role, auth] of CALLERS) {
    const listed = (await listedEvaluations(server, role, {}, { auth })).filter((e) => fixtureIds().has(e.id));
    const expected = evaluations.filter((e) => shouldSee(label, e));
    assert.deepEqual(listed.map((e) => e.id), expected.map((e) => e.id), `${label}: listed (in creation order)`);
    for (const e of evaluations) {
      const response = await getEvaluation(server, e.id, role, auth);
      const where = `${label}: ${e.status} evaluation of ${e.caseName}`;
      if (shouldSee(label, e)) {
        assert.equal(response.status, 200, `${where}: ${response.text}`);
        const { caseName, ...shown } = e;
        assert.ok(caseName);
        assert.deepEqual(response.body, shown, where);
      } else {
        assert.equal(response.status, 404, `${where}: ${response.text}`);
        assert.equal(response.body.type, 'urn:problem:coi:not-found');
      }
    }
  }
});

test('evaluations_of_a_case_list_is_404_when_the_case_is_hidden_and_else_shows_what_the_rule_allows', async () => {
  for (const [label, role, auth] of CALLERS) {
    for (const [caseName, kase] of Object.entries(cases)) {
      const seesCase = ['steering', 'editor', 'admin'].includes(label) || SEES_CASE[label].includes(caseName);
      const path = `/v1/cases/${kase.id}/evaluations`;
      if (!seesCase) {
        const response = await request(server, 'GET', path, { headers: authFor(role, auth) });
        assert.equal(response.status, 404, `${label}: ${caseName}: ${response.text}`);
        continue;
      }
      const listed = await listedEvaluations(server, role, {}, { auth, path });
      const expected = evaluations.filter((e) => e.caseName === caseName && shouldSee(label, e));
      assert.deepEqual(listed.map((e) => e.id), expected.map((e) => e.id), `${label}: ${caseName}`);
      // The same as the general list filtered by case_id.
      const filtered = await listedEvaluations(server, role, { case_id: kase.id }, { auth });
      assert.deepEqual(filtered, listed, `${label}: ${caseName}: ?case_id=`);
    }
  }
});

test('evaluations_published_evaluation_of_a_hidden_case_stays_hidden', async () => {
  const pub = (caseName) => evaluations.find((e) => e.caseName === caseName && e.status === 'published');
  // Published, but its case is a draft (or archived): the public does not see it.
  for (const caseName of ['ownDraft', 'ownArchived', 'listing', 'foreignDraft']) {
    assert.equal((await getEvaluation(server, pub(caseName).id, 'anonymous')).status, 404, caseName);
  }
  // A partner of an unrelated organisation neither, though steering members do.
  assert.equal((await getEvaluation(server, pub('foreignDraft').id, 'partner', { org: '0101' })).status, 404);
  assert.equal((await getEvaluation(server, pub('ownArchived').id, 'partner', { org: '0147' })).status, 404);
  assert.equal((await getEvaluation(server, pub('foreignDraft').id, 'steering')).status, 200);
  // ?case_id= of a hidden case is an empty page, not an error.
  const page = await request(server, 'GET', `/v1/evaluations?case_id=${cases.foreignDraft.id}`, { headers: authFor('partner') });
  assert.equal(page.status, 200, page.text);
  assert.deepEqual(page.body.items, []);
});

test('evaluations_follow_their_case_when_it_is_archived_and_republished', async () => {
  const kase = await caseIn(server, 'published', { organisation_code: '0147' });
  const e = await evaluationIn(server, kase.id, 'published');
  assert.equal((await getEvaluation(server, e.id, 'anonymous')).status, 200);
  assert.equal((await transition(server, kase.id, 'archived', 'admin')).status, 200);
  assert.equal((await getEvaluation(server, e.id, 'anonymous')).status, 404);
  assert.equal((await getEvaluation(server, e.id, 'partner', { org: '0101' })).status, 404);
  const publicList = await listedEvaluations(server, 'anonymous', { case_id: kase.id });
  assert.deepEqual(publicList, []);
  assert.equal((await getEvaluation(server, e.id, 'partner', { org: '0147' })).status, 200, 'the owner still sees it');
  assert.equal((await transition(server, kase.id, 'published', 'admin')).status, 200);
  assert.equal((await getEvaluation(server, e.id, 'anonymous')).status, 200);
});

test('evaluations_list_filters_each_narrow_to_the_matching_evaluations', async () => {
  const filters = [
    ...METHODS.map((method) => [{ method }, (e) => e.method === method]),
    ...KINDS.map((kind) => [{ evaluator_kind: kind }, (e) => e.evaluator_kind === kind]),
    ...[1, 2, 3, 4, 5].map((level) => [{ evidence_level: String(level) }, (e) => e.evidence_level === level]),
    ...['draft', 'in_review', 'published', 'archived', 'submitted'].map((status) => [{ status }, (e) => e.status === status]),
    [{ case_id: cases.listing.id }, (e) => e.caseName === 'listing'],
    [{ method: 'rct', status: 'published' }, (e) => e.method === 'rct' && e.status === 'published'],
    [{ method: 'mixed' }, () => false],
  ];
  for (const [label, role, auth] of CALLERS.filter(([l]) => ['anonymous', 'partner 0101', 'admin'].includes(l))) {
    for (const [query, match] of filters) {
      const listed = (await listedEvaluations(server, role, query, { auth })).filter((e) => fixtureIds().has(e.id));
      const expected = evaluations.filter((e) => shouldSee(label, e) && match(e));
      assert.deepEqual(listed.map((e) => e.id), expected.map((e) => e.id), `${label} ${JSON.stringify(query)}`);
    }
  }
  // The same filters on a case's list.
  const inCase = await listedEvaluations(server, 'admin', { status: 'published' }, { path: `/v1/cases/${cases.ownDraft.id}/evaluations` });
  assert.deepEqual(inCase.map((e) => e.id), evaluations.filter((e) => e.caseName === 'ownDraft' && e.status === 'published').map((e) => e.id));
});

test('evaluations_list_pages_follow_the_cursor_and_link_without_gaps_or_repeats', async () => {
  const whole = await listedEvaluations(server, 'partner', {}, { limit: 200 });
  const paged = await listedEvaluations(server, 'partner', {}, { limit: 3 });
  assert.deepEqual(paged, whole);
  const first = await request(server, 'GET', '/v1/evaluations?method=rct&limit=2', { headers: authFor('editor') });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.body.items.length, 2);
  assert.ok(first.body.next_cursor);
  const link = first.headers.get('link');
  assert.match(link, /^<\/v1\/evaluations\?method=rct&limit=2&cursor=[^>]+>; rel="next"$/);
  const next = await request(server, 'GET', link.slice(1, link.indexOf('>')), { headers: authFor('editor') });
  assert.equal(next.status, 200, next.text);
  assert.ok(next.body.items.every((e) => e.method === 'rct'));
  assert.ok(next.body.items[0].id > first.body.items[1].id, 'ids grow from page to page');
  const last = await request(server, 'GET', '/v1/evaluations?limit=200', { headers: authFor('admin') });
  assert.equal(last.body.next_cursor, null);
  assert.equal(last.headers.get('link'), null);
});

test('evaluations_list_cursor_is_bound_to_its_filters_and_its_caller', async () => {
  const page = await request(server, 'GET', '/v1/evaluations?method=rct&limit=1', { headers: authFor('partner') });
  const cursor = encodeURIComponent(page.body.next_cursor);
  const misuse = [
    ['partner', {}, `?method=qualitative&limit=1&cursor=${cursor}`],
    ['partner', {}, `?limit=1&cursor=${cursor}`],
    ['partner', { org: '0147' }, `?method=rct&limit=1&cursor=${cursor}`],
    ['admin', {}, `?method=rct&limit=1&cursor=${cursor}`],
    ['anonymous', {}, `?method=rct&limit=1&cursor=${cursor}`],
    ['partner', {}, '?cursor=not-a-cursor'],
    ['partner', {}, `?method=rct&limit=1&cursor=${cursor.slice(0, -2)}`],
  ];
  for (const [role, auth, query] of misuse) {
    const response = await request(server, 'GET', `/v1/evaluations${query}`, { headers: authFor(role, auth) });
    assert.deepEqual(errorFields(response), new Set(['cursor']), `${role} ${query}: ${response.text}`);
  }
  const ok = await request(server, 'GET', `/v1/evaluations?method=rct&limit=1&cursor=${cursor}`, { headers: authFor('partner') });
  assert.equal(ok.status, 200, ok.text);
  // A cursor of the general list does not serve a case's list, whose case is fixed by the path.
  const inCase = await request(server, 'GET', `/v1/cases/${cases.ownDraft.id}/evaluations?method=rct&limit=1&cursor=${cursor}`, { headers: authFor('partner') });
  assert.deepEqual(errorFields(inCase), new Set(['cursor']));
});

test('evaluations_list_query_is_checked_strictly_and_each_bad_parameter_named', async () => {
  const bad = [
    ['method=survey', ['method']],
    ['method=RCT', ['method']],
    ['evaluator_kind=consultant', ['evaluator_kind']],
    ['status=deleted', ['status']],
    ['evidence_level=0', ['evidence_level']],
    ['evidence_level=6', ['evidence_level']],
    ['evidence_level=03', ['evidence_level']],
    ['evidence_level=x', ['evidence_level']],
    ['evidence_level=', ['evidence_level']],
    ['case_id=abc', ['case_id']],
    ['limit=0', ['limit']],
    ['limit=201', ['limit']],
    ['colour=blue', ['colour']],
    ['method=rct&method=mixed', ['method']],
    ['method=survey&evidence_level=9&status=x&limit=-1', ['method', 'evidence_level', 'status', 'limit']],
  ];
  for (const [query, fields] of bad) {
    const response = await request(server, 'GET', `/v1/evaluations?${query}`);
    assert.deepEqual(errorFields(response), new Set(fields), `${query}: ${response.text}`);
  }
  // The case's list has no case_id parameter: the path names the case.
  const inCase = await request(server, 'GET', `/v1/cases/${cases.ownPublished.id}/evaluations?case_id=${cases.ownPublished.id}`);
  assert.deepEqual(errorFields(inCase), new Set(['case_id']));
  const unknownCase = await request(server, 'GET', '/v1/cases/00000000-0000-0000-0000-000000000000/evaluations');
  assert.equal(unknownCase.status, 404, unknownCase.text);
});
