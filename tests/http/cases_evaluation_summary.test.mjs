// The case's read-only evaluation_summary, counting only the evaluations the caller may see, as
// evaluations are added, changed, published, archived and removed; and the discovery filters
// has_evaluation and min_evidence_level of GET /v1/cases, which count the same way.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseIn, getCase, listedIds, MERGE_PATCH, transition } from './lib/cases.mjs';
import {
  createEvaluation,
  evaluationIn,
  evaluationTransition,
  moveEvaluationTo,
  patchEvaluation,
  summary,
  summaryOf,
} from './lib/evaluations.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const remove = (id, role = 'admin') => request(server, 'DELETE', `/v1/evaluations/${id}`, { headers: authFor(role) });

/** Asserts the summary of `caseId` as each of `expected`'s callers sees it:
 * {label: [role, auth, summary fields]}. */
async function assertSummaries(caseId, expected, when) {
  for (const [label, [role, auth, fields]] of Object.entries(expected)) {
    assert.deepEqual(await summaryOf(server, caseId, role, auth), summary(fields), `${when}: ${label}`);
  }
}

test('cases_summary_of_a_case_without_evaluations_is_empty_for_everyone', async () => {
  const kase = await caseIn(server, 'published');
  assert.deepEqual(kase.evaluation_summary, summary());
  for (const role of ['anonymous', 'partner', 'steering', 'editor', 'admin']) {
    assert.deepEqual(await summaryOf(server, kase.id, role), summary(), role);
  }
});

test('cases_summary_follows_evaluations_as_they_are_added_published_changed_archived_and_removed', async () => {
  const kase = await caseIn(server, 'published', { partner_organisation_codes: ['0147'] });
  const owner = ['partner', { org: '0101' }];
  const participant = ['partner', { org: '0147' }];
  const callers = (all, published) => ({
    admin: ['admin', {}, all],
    steering: ['steering', {}, all],
    'partner 0101 (leads the case)': [...owner, all],
    'partner 0147 (takes part)': [...participant, published],
    anonymous: ['anonymous', {}, published],
  });

  // A draft: counted for those who see it only.
  const first = (await createEvaluation(server, kase.id, 'partner', {
    method: 'cost_benefit',
    evidence_level: 2,
    economic: { investment_dkk: 100000, annual_savings_dkk: 40000, annual_running_costs_dkk: 5000 },
  })).body;
  const oneDraft = { count: 1, best_evidence_level: 2, documented_annual_savings_dkk: 40000, methods: ['cost_benefit'] };
  await assertSummaries(kase.id, callers(oneDraft, {}), 'one draft');

  // Published: now everyone sees it.
  await moveEvaluationTo(server, first.id, 'published');
  const onePublished = { ...oneDraft, published_count: 1 };
  await assertSummaries(kase.id, callers(onePublished, onePublished), 'one published');

  // A second, better evaluation in review, with another method and no economic figures.
  const second = await evaluationIn(server, kase.id, 'in_review', { method: 'rct', evidence_level: 4 });
  const withSecond = { count: 2, published_count: 1, best_evidence_level: 4, documented_annual_savings_dkk: 40000, methods: ['cost_benefit', 'rct'] };
  await assertSummaries(kase.id, callers(withSecond, onePublished), 'second in review');

  // A third with the same method as the first and more savings, published.
  const third = await evaluationIn(server, kase.id, 'published', {
    method: 'cost_benefit',
    evidence_level: 3,
    economic: { annual_savings_dkk: 250000 },
  });
  const publishedTwo = { count: 2, published_count: 2, best_evidence_level: 3, documented_annual_savings_dkk: 290000, methods: ['cost_benefit'] };
  await assertSummaries(kase.id, callers({ ...withSecond, count: 3, published_count: 2, documented_annual_savings_dkk: 290000 }, publishedTwo), 'third published');

  // The savings of a published evaluation change: the sum follows.
  assert.equal((await patchEvaluation(server, third.id, { economic: { annual_savings_dkk: 260000 } }, 'editor')).status, 200);
  const afterPatch = { count: 3, published_count: 2, best_evidence_level: 4, documented_annual_savings_dkk: 300000, methods: ['cost_benefit', 'rct'] };
  await assertSummaries(kase.id, callers(afterPatch, { ...publishedTwo, documented_annual_savings_dkk: 300000 }), 'savings changed');

  // The second is published: the best level grows for everyone.
  assert.equal((await evaluationTransition(server, second.id, 'published', 'editor')).status, 200);
  const allPublished = { ...afterPatch, published_count: 3 };
  await assertSummaries(kase.id, callers(allPublished, allPublished), 'all published');

  // Archived: no longer published, hidden from those who do not lead the case.
  assert.equal((await evaluationTransition(server, second.id, 'archived', 'editor')).status, 200);
  await assertSummaries(kase.id, callers({ ...allPublished, published_count: 2 }, { ...publishedTwo, documented_annual_savings_dkk: 300000 }), 'second archived');

  // Removed: gone for everyone.
  assert.equal((await remove(third.id, 'editor')).status, 204);
  await assertSummaries(
    kase.id,
    callers(
      { count: 2, published_count: 1, best_evidence_level: 4, documented_annual_savings_dkk: 40000, methods: ['cost_benefit', 'rct'] },
      onePublished,
    ),
    'third removed',
  );
  assert.equal((await remove(second.id)).status, 204);
  assert.equal((await remove(first.id)).status, 204);
  await assertSummaries(kase.id, callers({}, {}), 'all removed');
});

test('cases_summary_changes_the_cases_etag_but_not_its_version_or_history', async () => {
  const kase = await caseIn(server, 'draft');
  const before = await getCase(server, kase.id, 'editor');
  const e = (await createEvaluation(server, kase.id, 'editor', { evidence_level: 5 })).body;
  const after = await getCase(server, kase.id, 'editor');
  assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
  assert.equal(after.body.version, before.body.version);
  assert.equal(after.body.updated_at, before.body.updated_at);
  assert.deepEqual(after.body.evaluation_summary, summary({ count: 1, best_evidence_level: 5, methods: ['before_after'] }));
  // An old ETag no longer matches: GET answers 200, and a write with it as If-Match is 412.
  const conditional = await request(server, 'GET', `/v1/cases/${kase.id}`, { headers: { ...authFor('editor'), 'If-None-Match': before.headers.get('etag') } });
  assert.equal(conditional.status, 200);
  const stale = await request(server, 'PATCH', `/v1/cases/${kase.id}`, {
    headers: { ...authFor('editor'), ...MERGE_PATCH, 'If-Match': before.headers.get('etag') },
    body: { scope: 'Hele kommunen' },
  });
  assert.equal(stale.status, 412, stale.text);
  const history = await request(server, 'GET', `/v1/cases/${kase.id}/history`, { headers: authFor('editor') });
  assert.equal(history.body.items.length, 1, 'adding an evaluation is not a change of the case');
  assert.equal((await remove(e.id)).status, 204);
  assert.equal((await getCase(server, kase.id, 'editor')).headers.get('etag'), before.headers.get('etag'));
});

test('cases_summary_is_read_only_in_a_case_write', async () => {
  const kase = await caseIn(server, 'draft');
  const patch = await request(server, 'PATCH', `/v1/cases/${kase.id}`, {
    headers: { ...authFor('admin'), ...MERGE_PATCH },
    body: { evaluation_summary: summary({ count: 3 }) },
  });
  assert.deepEqual(errorFields(patch), new Set(['evaluation_summary']));
  const post = await request(server, 'POST', '/v1/cases', {
    headers: authFor('admin'),
    body: { organisation_code: '0101', title: 'Med resumé', summary: 'x', innovation_types: ['task'], evaluation_summary: summary() },
  });
  assert.deepEqual(errorFields(post), new Set(['evaluation_summary']));
});

test('cases_list_items_carry_the_same_summary_as_each_case', async () => {
  const kase = await caseIn(server, 'published', { organisation_code: '0147' });
  await evaluationIn(server, kase.id, 'published', { method: 'mixed', evidence_level: 3, economic: { annual_savings_dkk: 7 } });
  await evaluationIn(server, kase.id, 'draft', { method: 'rct', evidence_level: 5 });
  for (const [role, auth] of [['anonymous', {}], ['partner', { org: '0147' }], ['admin', {}]]) {
    const page = await request(server, 'GET', '/v1/cases?organisation_code=0147&limit=200', { headers: authFor(role, auth) });
    assert.equal(page.status, 200, page.text);
    const item = page.body.items.find((c) => c.id === kase.id);
    assert.ok(item, role);
    assert.deepEqual(item.evaluation_summary, await summaryOf(server, kase.id, role, auth), role);
  }
  assert.deepEqual(await summaryOf(server, kase.id, 'anonymous'), summary({ count: 1, published_count: 1, best_evidence_level: 3, documented_annual_savings_dkk: 7, methods: ['mixed'] }));
  assert.deepEqual(await summaryOf(server, kase.id, 'partner', { org: '0147' }), summary({ count: 2, published_count: 1, best_evidence_level: 5, documented_annual_savings_dkk: 7, methods: ['mixed', 'rct'] }));
});

test('cases_summary_is_shown_in_write_and_transition_responses_for_the_writer', async () => {
  const kase = await caseIn(server, 'draft');
  await evaluationIn(server, kase.id, 'draft', { evidence_level: 4 });
  const expected = summary({ count: 1, best_evidence_level: 4, methods: ['before_after'] });
  const patched = await request(server, 'PATCH', `/v1/cases/${kase.id}`, {
    headers: { ...authFor('partner'), ...MERGE_PATCH },
    body: { scope: 'To distrikter' },
  });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual(patched.body.evaluation_summary, expected);
  const moved = await transition(server, kase.id, 'submitted', 'partner');
  assert.deepEqual(moved.body.evaluation_summary, expected);
  assert.equal(moved.headers.get('etag'), (await getCase(server, kase.id, 'partner')).headers.get('etag'));
});

// ---- discovery filters -------------------------------------------------------------------------

test('cases_has_evaluation_and_min_evidence_level_filter_by_what_the_caller_may_see', async () => {
  const none = await caseIn(server, 'published');
  const draftOnly = await caseIn(server, 'published');
  await evaluationIn(server, draftOnly.id, 'draft', { evidence_level: 5 });
  const low = await caseIn(server, 'published');
  await evaluationIn(server, low.id, 'published', { evidence_level: 2 });
  const high = await caseIn(server, 'published');
  await evaluationIn(server, high.id, 'published', { evidence_level: 2 });
  await evaluationIn(server, high.id, 'published', { evidence_level: 4 });
  const mine = [none, draftOnly, low, high].map((c) => c.id);

  /** The ids among `mine` that `role` gets with `query`, in mine's order. */
  const pick = async (role, query, auth = {}) => {
    const listed = new Set(await listedIds(server, role, query, auth));
    return mine.filter((id) => listed.has(id));
  };
  const ids = (...cases) => cases.map((c) => c.id);

  // The public does not count the draft evaluation; the lead organisation and staff do.
  assert.deepEqual(await pick('anonymous', { has_evaluation: 'true' }), ids(low, high));
  assert.deepEqual(await pick('anonymous', { has_evaluation: 'false' }), ids(none, draftOnly));
  assert.deepEqual(await pick('partner', { has_evaluation: 'true' }, { org: '0751' }), ids(low, high));
  for (const [role, auth] of [['partner', { org: '0101' }], ['editor', {}], ['steering', {}]]) {
    assert.deepEqual(await pick(role, { has_evaluation: 'true' }, auth), ids(draftOnly, low, high), role);
    assert.deepEqual(await pick(role, { has_evaluation: 'false' }, auth), ids(none), role);
  }

  // At least this level, counting only visible evaluations.
  assert.deepEqual(await pick('anonymous', { min_evidence_level: '1' }), ids(low, high));
  assert.deepEqual(await pick('anonymous', { min_evidence_level: '2' }), ids(low, high));
  assert.deepEqual(await pick('anonymous', { min_evidence_level: '3' }), ids(high));
  assert.deepEqual(await pick('anonymous', { min_evidence_level: '4' }), ids(high));
  assert.deepEqual(await pick('anonymous', { min_evidence_level: '5' }), []);
  assert.deepEqual(await pick('admin', { min_evidence_level: '5' }), ids(draftOnly));
  assert.deepEqual(await pick('partner', { min_evidence_level: '5' }), ids(draftOnly));

  // Combined with each other and with the other filters.
  assert.deepEqual(await pick('admin', { has_evaluation: 'true', min_evidence_level: '3' }), ids(draftOnly, high));
  assert.deepEqual(await pick('admin', { has_evaluation: 'false', min_evidence_level: '1' }), []);
  assert.deepEqual(await pick('admin', { has_evaluation: 'true', status: 'published', organisation_code: '0101' }), ids(draftOnly, low, high));
  assert.deepEqual(await pick('admin', { has_evaluation: 'true', organisation_code: '0147' }), []);
});

test('cases_evaluation_filters_follow_publishing_and_removal', async () => {
  const kase = await caseIn(server, 'published');
  const has = async (role, query) => (await listedIds(server, role, query)).includes(kase.id);
  const e = await evaluationIn(server, kase.id, 'in_review', { evidence_level: 3 });
  assert.equal(await has('anonymous', { has_evaluation: 'true' }), false);
  assert.equal(await has('anonymous', { min_evidence_level: '3' }), false);
  assert.equal((await evaluationTransition(server, e.id, 'published', 'editor')).status, 200);
  assert.equal(await has('anonymous', { has_evaluation: 'true' }), true);
  assert.equal(await has('anonymous', { min_evidence_level: '3' }), true);
  assert.equal(await has('anonymous', { min_evidence_level: '4' }), false);
  assert.equal((await patchEvaluation(server, e.id, { evidence_level: 4 }, 'editor')).status, 200);
  assert.equal(await has('anonymous', { min_evidence_level: '4' }), true);
  assert.equal((await remove(e.id)).status, 204);
  assert.equal(await has('anonymous', { has_evaluation: 'true' }), false);
  assert.equal(await has('anonymous', { has_evaluation: 'false' }), true);
});

test('cases_evaluation_filter_values_are_checked_strictly', async () => {
  const bad = [
    ['has_evaluation=yes', ['has_evaluation']],
    ['has_evaluation=1', ['has_evaluation']],
    ['has_evaluation=TRUE', ['has_evaluation']],
    ['has_evaluation=', ['has_evaluation']],
    ['min_evidence_level=0', ['min_evidence_level']],
    ['min_evidence_level=6', ['min_evidence_level']],
    ['min_evidence_level=03', ['min_evidence_level']],
    ['min_evidence_level=3.0', ['min_evidence_level']],
    ['min_evidence_level=high', ['min_evidence_level']],
    ['has_evaluation=true&has_evaluation=false', ['has_evaluation']],
    ['has_evaluation=maybe&min_evidence_level=9&limit=0', ['has_evaluation', 'min_evidence_level', 'limit']],
    ['evidence_level=3', ['evidence_level']],
  ];
  for (const [query, fields] of bad) {
    const response = await request(server, 'GET', `/v1/cases?${query}`);
    assert.deepEqual(errorFields(response), new Set(fields), `${query}: ${response.text}`);
  }
});

test('cases_list_cursor_is_bound_to_the_evaluation_filters', async () => {
  for (let i = 0; i < 3; i++) {
    const kase = await caseIn(server, 'published');
    await evaluationIn(server, kase.id, 'published', { evidence_level: 3 });
  }
  const page = await request(server, 'GET', '/v1/cases?has_evaluation=true&limit=1', { headers: authFor('editor') });
  assert.equal(page.status, 200, page.text);
  const cursor = encodeURIComponent(page.body.next_cursor);
  for (const query of [`limit=1&cursor=${cursor}`, `has_evaluation=false&limit=1&cursor=${cursor}`, `has_evaluation=true&min_evidence_level=3&limit=1&cursor=${cursor}`]) {
    const response = await request(server, 'GET', `/v1/cases?${query}`, { headers: authFor('editor') });
    assert.deepEqual(errorFields(response), new Set(['cursor']), query);
  }
  const next = await request(server, 'GET', `/v1/cases?has_evaluation=true&limit=1&cursor=${cursor}`, { headers: authFor('editor') });
  assert.equal(next.status, 200, next.text);
  assert.notEqual(next.body.items[0].id, page.body.items[0].id);
  // Paging with the filter gives the same cases as one big page.
  const paged = await listedIds(server, 'editor', { has_evaluation: 'true', min_evidence_level: '3' });
  const big = await request(server, 'GET', '/v1/cases?has_evaluation=true&min_evidence_level=3&limit=200', { headers: authFor('editor') });
  assert.deepEqual(paged, big.body.items.map((c) => c.id));
});
