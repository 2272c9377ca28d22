// Test data and helpers shared by the HTTP tests: the seed list the service starts with, and
// reading whole collections through the validated request() helper.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, request } from './contract.mjs';

/** The seeded organisations from data/danish_public_bodies.csv (no quoted fields in it). */
export function seedOrganisations() {
  const lines = readFileSync(path.join(ROOT, 'data/danish_public_bodies.csv'), 'utf8').trim().split(/\r?\n/);
  const header = lines.shift().split(',');
  assert.deepEqual(header, ['code', 'name', 'kind', 'region_code'], 'unexpected CSV header');
  return lines.map((line) => {
    const [code, name, kind, regionCode] = line.split(',');
    return { code, name, kind, region_code: regionCode === '' ? null : regionCode };
  });
}

/**
 * Every organisation matching `query` (an object of query parameters), following next_cursor
 * until it is null. Asserts each page is 200 and that no page repeats a code.
 */
export async function listAll(server, query = {}) {
  const items = [];
  const seen = new Set();
  let cursor = null;
  for (let page = 0; page < 1000; page++) {
    const params = new URLSearchParams({ ...query, limit: '200' });
    if (cursor) params.set('cursor', cursor);
    const response = await request(server, 'GET', `/v1/organisations?${params}`);
    assert.equal(response.status, 200, response.text);
    for (const item of response.body.items) {
      assert.ok(!seen.has(item.code), `code ${item.code} listed twice`);
      seen.add(item.code);
      items.push(item);
    }
    cursor = response.body.next_cursor;
    if (cursor === null) return items;
  }
  throw new Error('listAll: more than 1000 pages');
}

/** A comparable picture of everything stored: every organisation, sorted by code. */
export async function snapshot(server) {
  const items = await listAll(server);
  return items.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

/** Field names listed in a 422 problem's errors[]. */
export function errorFields(response) {
  assert.equal(response.status, 422, response.text);
  return new Set(response.body.errors.map((e) => e.field));
}
