// Helpers for the evaluation tests: valid bodies, adding evaluations as a role, walking one
// through the review workflow, reading its history and the lists. Every call goes through the
// validated request() of ./contract.mjs.
import assert from 'node:assert/strict';
import { request } from './contract.mjs';
import { authFor } from './jwt.mjs';
import { unique } from './cases.mjs';

export const STATUSES = ['draft', 'submitted', 'in_review', 'published', 'changes_requested', 'archived'];

/** The smallest valid evaluation body, with `extra` merged in. */
export function evaluationBody(extra = {}) {
  return {
    title: `Evaluering af morgenmødet ${unique()}`,
    evaluator_kind: 'internal',
    method: 'before_after',
    evidence_level: 2,
    ...extra,
  };
}

/** An evaluation body with every writable field given a valid value. */
export function fullEvaluationBody(extra = {}) {
  return evaluationBody({
    evaluator_kind: 'external',
    evaluator_name: 'KORA – Det Nationale Institut for Kommuners og Regioners Analyse',
    method: 'quasi_experimental',
    period_start: '2014-09-01',
    period_end: '2015-08-31',
    published_on: '2015-10-15',
    report_url: 'https://www.kora.dk/rapporter/morgenmoede?år=2015',
    evidence_level: 3,
    economic: { investment_dkk: 400000, annual_savings_dkk: 250000, annual_running_costs_dkk: 50000 },
    quality_effects: [
      { indicator: 'Ventetid på hjemmehjælp', unit: 'dage', baseline: 12, result: 8, higher_is_better: false },
      { indicator: 'Borgertilfredshed', unit: 'procent', baseline: 71.5, result: 80, higher_is_better: true },
    ],
    employee_effects: 'Færre dobbeltbesøg.\nMindre stress om morgenen.',
    user_effects: 'Borgerne møder de samme medarbejdere oftere.',
    conclusion: 'Morgenmødet betaler sig hjem på to år.',
    lessons_learned: 'Start i ét distrikt\tog udbred derefter.',
    risks_and_pitfalls: 'Mødet må ikke blive for langt.',
    ...extra,
  });
}

/** POST /v1/cases/{caseId}/evaluations as `role`; returns the response (status not checked). */
export function postEvaluation(server, caseId, body, role = 'admin', auth = {}, headers = {}) {
  return request(server, 'POST', `/v1/cases/${caseId}/evaluations`, { headers: { ...authFor(role, auth), ...headers }, body });
}

/** Adds an evaluation (evaluationBody with `extra`) as `role`; asserts 201, returns the response. */
export async function createEvaluation(server, caseId, role = 'admin', extra = {}, auth = {}) {
  const response = await postEvaluation(server, caseId, evaluationBody(extra), role, auth);
  assert.equal(response.status, 201, response.text);
  return response;
}

/** PATCH /v1/evaluations/{id} as a merge patch; returns the response (status not checked). */
export function patchEvaluation(server, id, body, role = 'admin', auth = {}, headers = {}) {
  return request(server, 'PATCH', `/v1/evaluations/${id}`, {
    headers: { 'Content-Type': 'application/merge-patch+json', ...authFor(role, auth), ...headers },
    body,
  });
}

/** POST an evaluation transition as `role`; returns the response (status not checked). */
export function evaluationTransition(server, id, to, role = 'admin', { note, auth = {}, headers = {} } = {}) {
  const body = note === undefined ? { to } : { to, note };
  return request(server, 'POST', `/v1/evaluations/${id}/transitions`, { headers: { ...authFor(role, auth), ...headers }, body });
}

/** The moves that bring a draft to each status, made by an admin. */
const PATH_TO = {
  draft: [],
  submitted: ['submitted'],
  in_review: ['submitted', 'in_review'],
  changes_requested: ['submitted', 'in_review', 'changes_requested'],
  published: ['submitted', 'in_review', 'published'],
  archived: ['submitted', 'in_review', 'published', 'archived'],
};

/** Moves a draft evaluation to `status` as an admin; returns the evaluation as last returned. */
export async function moveEvaluationTo(server, id, status) {
  let last = null;
  for (const to of PATH_TO[status]) {
    const response = await evaluationTransition(server, id, to, 'admin', { note: to === 'changes_requested' ? 'Uddyb metoden.' : undefined });
    assert.equal(response.status, 200, `${to}: ${response.text}`);
    assert.equal(response.body.status, to);
    last = response.body;
  }
  return last;
}

/** Adds an evaluation to `caseId` as an admin and moves it to `status`; returns it. */
export async function evaluationIn(server, caseId, status, extra = {}) {
  const created = await createEvaluation(server, caseId, 'admin', extra);
  if (status === 'draft') return created.body;
  return moveEvaluationTo(server, created.body.id, status);
}

/** GET /v1/evaluations/{id} as `role`; returns the response (status not checked). */
export function getEvaluation(server, id, role = 'admin', auth = {}, headers = {}) {
  return request(server, 'GET', `/v1/evaluations/${id}`, { headers: { ...authFor(role, auth), ...headers } });
}

/** Every history entry of an evaluation as `role` (following next_cursor, page size `limit`). */
export async function evaluationHistoryOf(server, id, role = 'admin', limit = 200, auth = {}) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set('cursor', cursor);
    const response = await request(server, 'GET', `/v1/evaluations/${id}/history?${query}`, { headers: authFor(role, auth) });
    assert.equal(response.status, 200, response.text);
    items.push(...response.body.items);
    cursor = response.body.next_cursor;
    if (cursor === null) return items;
  }
  throw new Error('evaluationHistoryOf: more than 100 pages');
}

/** Every evaluation the caller sees at `path` (/v1/evaluations or /v1/cases/{id}/evaluations)
 * with `query`, following next_cursor with page size `limit`; asserts each page is 200 and
 * that no id repeats. */
export async function listedEvaluations(server, role, query = {}, { auth = {}, path = '/v1/evaluations', limit = 200 } = {}) {
  const items = [];
  const seen = new Set();
  let cursor = null;
  for (let page = 0; page < 1000; page++) {
    const params = new URLSearchParams({ ...query, limit: String(limit) });
    if (cursor) params.set('cursor', cursor);
    const response = await request(server, 'GET', `${path}?${params}`, { headers: authFor(role, auth) });
    assert.equal(response.status, 200, response.text);
    for (const item of response.body.items) {
      assert.ok(!seen.has(item.id), `evaluation ${item.id} listed twice`);
      seen.add(item.id);
      items.push(item);
    }
    cursor = response.body.next_cursor;
    if (cursor === null) return items;
  }
  throw new Error('listedEvaluations: more than 1000 pages');
}

/** The evaluation_summary of case `caseId` as `role` sees it (GET /v1/cases/{id}). */
export async function summaryOf(server, caseId, role = 'admin', auth = {}) {
  const response = await request(server, 'GET', `/v1/cases/${caseId}`, { headers: authFor(role, auth) });
  assert.equal(response.status, 200, response.text);
  return response.body.evaluation_summary;
}

/** A summary object, with the fields not given as for a case without evaluations. */
export function summary(fields = {}) {
  return {
    count: 0,
    published_count: 0,
    best_evidence_level: null,
    documented_annual_savings_dkk: 0,
    methods: [],
    ...fields,
  };
}
