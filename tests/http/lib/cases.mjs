// Helpers for the case and adoption tests: valid bodies, creating cases as a role, walking a case
// through the review workflow and reading its whole history. Every call goes through the
// validated request() of ./contract.mjs.
import assert from 'node:assert/strict';
import { request } from './contract.mjs';
import { authFor } from './jwt.mjs';

export const MERGE_PATCH = { 'Content-Type': 'application/merge-patch+json' };

let seq = 0;
/** A number never returned before in this process (for unique titles and external ids). */
export const unique = () => `${process.pid}-${++seq}`;

/** The smallest valid case body, with `extra` merged in. */
export function caseBody(extra = {}) {
  return {
    organisation_code: '0101',
    title: `Fælles morgenmøde i hjemmeplejen ${unique()}`,
    summary: 'Hjemmeplejens grupper holder ét fælles morgenmøde, så ruterne deles bedre.',
    innovation_types: ['collaboration'],
    ...extra,
  };
}

/** POST /v1/cases as `role` (auth options as for authFor); asserts 201, returns the response. */
export async function createCase(server, role = 'admin', extra = {}, auth = {}) {
  const response = await request(server, 'POST', '/v1/cases', { headers: authFor(role, auth), body: caseBody(extra) });
  assert.equal(response.status, 201, response.text);
  return response;
}

/** POST a transition as `role`; returns the response (status not checked). */
export function transition(server, id, to, role = 'admin', { note, auth = {}, headers = {} } = {}) {
  const body = note === undefined ? { to } : { to, note };
  return request(server, 'POST', `/v1/cases/${id}/transitions`, { headers: { ...authFor(role, auth), ...headers }, body });
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

/** Moves a draft case to `status` as an admin; returns the last response (the case). */
export async function moveDraftTo(server, id, status) {
  let last = null;
  for (const to of PATH_TO[status]) {
    last = await transition(server, id, to, 'admin', { note: to === 'changes_requested' ? 'Uddyb effekterne.' : undefined });
    assert.equal(last.status, 200, `${to}: ${last.text}`);
    assert.equal(last.body.status, to);
  }
  return last;
}

/** Creates a case (as an admin, lead organisation 0101 unless `extra` says otherwise) and moves
 * it to `status`; returns the case as last returned. */
export async function caseIn(server, status, extra = {}) {
  const created = await createCase(server, 'admin', extra);
  if (status === 'draft') return created.body;
  return (await moveDraftTo(server, created.body.id, status)).body;
}

/** Every history entry of a case as `role` (following next_cursor with page size `limit`). */
export async function historyOf(server, id, role = 'admin', limit = 200) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < 100; page++) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set('cursor', cursor);
    const response = await request(server, 'GET', `/v1/cases/${id}/history?${query}`, { headers: authFor(role) });
    assert.equal(response.status, 200, response.text);
    items.push(...response.body.items);
    cursor = response.body.next_cursor;
    if (cursor === null) return items;
  }
  throw new Error('historyOf: more than 100 pages');
}

/** GET /v1/cases/{id} as `role`; asserts 200 and returns the response. */
export async function getCase(server, id, role = 'admin', auth = {}) {
  const response = await request(server, 'GET', `/v1/cases/${id}`, { headers: authFor(role, auth) });
  assert.equal(response.status, 200, response.text);
  return response;
}

/** Query parameters from an object whose values are strings or arrays of strings (an array
 * repeats the parameter, in order), or from a list of [name, value] pairs. */
export function queryString(query = {}) {
  const pairs = Array.isArray(query)
    ? query
    : Object.entries(query).flatMap(([name, value]) => (Array.isArray(value) ? value.map((v) => [name, v]) : [[name, value]]));
  return new URLSearchParams(pairs.map(([name, value]) => [name, String(value)]));
}

/** Every case id the caller sees in GET /v1/cases with `query` (as for queryString; all
 * pages). */
export async function listedIds(server, role, query = {}, auth = {}) {
  const ids = [];
  let cursor = null;
  for (let page = 0; page < 1000; page++) {
    const params = queryString(query);
    params.set('limit', '200');
    if (cursor) params.set('cursor', cursor);
    const response = await request(server, 'GET', `/v1/cases?${params}`, { headers: authFor(role, auth) });
    assert.equal(response.status, 200, response.text);
    ids.push(...response.body.items.map((c) => c.id));
    cursor = response.body.next_cursor;
    if (cursor === null) return ids;
  }
  throw new Error('listedIds: more than 1000 pages');
}
