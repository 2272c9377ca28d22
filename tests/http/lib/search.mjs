// Helpers for the tests of finding cases (GET /v1/cases with q, filters, sorts and cursors, and
// GET /v1/cases/facets): paging through a query, a varied corpus of cases written through the
// API as the roles that write them, and a model of the filters and facets computed from what a
// listing shows. Every call goes through the validated request() of ./contract.mjs.
import assert from 'node:assert/strict';
import { request } from './contract.mjs';
import { authFor } from './jwt.mjs';
import { listAll } from './data.mjs';
import { queryString } from './cases.mjs';

/** GET /v1/cases with `query` (as for queryString) as `role`; returns the response. */
export function listCases(server, role, query = {}, auth = {}) {
  return request(server, 'GET', `/v1/cases?${queryString(query)}`, { headers: authFor(role, auth) });
}

/** GET /v1/cases/facets with `query` as `role`; asserts 200 and returns the facets. */
export async function facetsOf(server, role, query = {}, auth = {}) {
  const response = await request(server, 'GET', `/v1/cases/facets?${queryString(query)}`, { headers: authFor(role, auth) });
  assert.equal(response.status, 200, response.text);
  return response.body;
}

/**
 * Pages through GET /v1/cases with `query` and page size `limit`, following next_cursor, and
 * calls `between(pageNumber)` after each page that has a next one (to write while paging).
 * Asserts every page is 200, holds at most `limit` cases, and that no case is listed twice.
 * Returns {items, pages, totals (each page's `total`, or undefined)}.
 */
export async function pageThrough(server, role, query = {}, { limit = 200, auth = {}, between = null } = {}) {
  const items = [];
  const totals = [];
  const seen = new Set();
  let cursor = null;
  for (let page = 1; page <= 1000; page++) {
    const params = queryString(query);
    params.set('limit', String(limit));
    if (cursor) params.set('cursor', cursor);
    const response = await request(server, 'GET', `/v1/cases?${params}`, { headers: authFor(role, auth) });
    assert.equal(response.status, 200, response.text);
    assert.ok(response.body.items.length <= limit, `page ${page} has ${response.body.items.length} cases`);
    for (const item of response.body.items) {
      assert.ok(!seen.has(item.id), `case ${item.id} (${item.title}) listed twice, again on page ${page}`);
      seen.add(item.id);
      items.push(item);
    }
    totals.push(response.body.total);
    cursor = response.body.next_cursor;
    if (cursor === null) return { items, pages: page, totals };
    if (between) await between(page);
  }
  throw new Error('pageThrough: more than 1000 pages');
}

/** Every case `role` sees with `query` (one call per 200 cases). */
export async function everything(server, role, query = {}, auth = {}) {
  return (await pageThrough(server, role, query, { auth })).items;
}

const ids = (items) => items.map((c) => c.id);
export const idSet = (items) => new Set(ids(items));

// ---- writing cases -----------------------------------------------------------------------------

const MOVES = {
  draft: [],
  submitted: [['submitted', 'owner']],
  in_review: [['submitted', 'owner'], ['in_review', 'editor']],
  changes_requested: [['submitted', 'owner'], ['in_review', 'editor'], ['changes_requested', 'editor']],
  published: [['submitted', 'owner'], ['in_review', 'editor'], ['published', 'editor']],
  archived: [['submitted', 'owner'], ['in_review', 'editor'], ['published', 'editor'], ['archived', 'editor']],
};

/**
 * Writes one case as its organisation's system would (PUT as a partner of `org`, when `via` is
 * 'put') or as the centre's staff (POST as an editor), then moves it to `status`: the partner
 * submits its own case, editors review and publish. Returns the case as last returned.
 */
export async function writeCase(server, { org, via = 'post', key, status = 'draft', body }) {
  let response;
  if (via === 'put') {
    response = await request(server, 'PUT', `/v1/organisations/${org}/cases/${encodeURIComponent(key)}`, {
      headers: authFor('partner', { org }),
      body,
    });
  } else {
    response = await request(server, 'POST', '/v1/cases', { headers: authFor('editor'), body: { organisation_code: org, ...body } });
  }
  assert.equal(response.status, 201, response.text);
  let kase = response.body;
  for (const [to, who] of MOVES[status]) {
    const headers = who === 'owner' && via === 'put' ? authFor('partner', { org }) : authFor('editor');
    const body2 = to === 'changes_requested' ? { to, note: 'Beskriv effekterne.' } : { to };
    const moved = await request(server, 'POST', `/v1/cases/${kase.id}/transitions`, { headers, body: body2 });
    assert.equal(moved.status, 200, `${to}: ${moved.text}`);
    kase = moved.body;
  }
  return kase;
}

/** Records, as an editor, that `org` adopts case `caseId` (status `status`). */
export async function adopt(server, caseId, org, status = 'implemented') {
  const response = await request(server, 'POST', `/v1/cases/${caseId}/adoptions`, {
    headers: authFor('editor'),
    body: { organisation_code: org, status },
  });
  assert.equal(response.status, 201, response.text);
}

/** Adds, as an editor, an evaluation of `caseId` at `level` and moves it to `status`. */
export async function evaluate(server, caseId, level, status = 'published') {
  const created = await request(server, 'POST', `/v1/cases/${caseId}/evaluations`, {
    headers: authFor('editor'),
    body: { title: `Evaluering niveau ${level}`, evaluator_kind: 'external', method: 'before_after', evidence_level: level },
  });
  assert.equal(created.status, 201, created.text);
  for (const to of { draft: [], published: ['submitted', 'in_review', 'published'] }[status]) {
    const moved = await request(server, 'POST', `/v1/evaluations/${created.body.id}/transitions`, { headers: authFor('editor'), body: { to } });
    assert.equal(moved.status, 200, moved.text);
  }
}

/** The state body every corpus uses; created once per server by an admin. */
export const STATE_BODY = { code: 'DIGST', name: 'Digitaliseringsstyrelsen', kind: 'state' };

/**
 * A varied corpus: cases of municipalities in every region, of a region and of a state body, in
 * every status, pushed by partner systems (PUT) or written by editors (POST), with partners,
 * adoptions and evaluations (published and draft). Returns {byName: name -> case as last
 * written}. Needs a fresh server (it creates the state body DIGST).
 */
export async function writeCorpus(server) {
  const state = await request(server, 'POST', '/v1/organisations', { headers: authFor('admin'), body: STATE_BODY });
  assert.equal(state.status, 201, state.text);
  const byName = {};
  const add = async (name, spec) => {
    byName[name] = await writeCase(server, { key: `corpus-${name}`, ...spec });
  };
  await add('morgenmoede', {
    org: '0751', via: 'put', status: 'published',
    body: {
      title: 'Fælles morgenmøde i hjemmeplejen', summary: 'Grupperne i hjemmeplejen holder ét morgenmøde.',
      innovation_types: ['collaboration', 'workflow'], sector: 'elderly_care', implementation_status: 'implemented',
      effect_types: ['quality', 'economy'], spread_potential_rating: 'high', origin: 'original',
      tags: ['hjemmepleje', 'morgenmøde'], started_on: '2019-03-01',
    },
  });
  await add('ruter', {
    org: '0360', via: 'put', status: 'published',
    body: {
      title: 'Ruteplanlægning i hjemmeplejen', summary: 'Lolland planlægger ruterne digitalt.',
      innovation_types: ['work_tool'], sector: 'elderly_care', implementation_status: 'piloting', effect_types: ['economy'],
      spread_potential_rating: 'medium', origin: 'adapted', inspired_by_case_id: byName.morgenmoede.id,
      tags: ['hjemmepleje'], started_on: '2021-06-15', partner_organisation_codes: ['1085'],
    },
  });
  await add('sundhedsplatform', {
    org: '0101', status: 'published',
    body: {
      title: 'Sundhedsplatform for borgere', summary: 'Borgerne ser egne data.', innovation_types: ['work_tool', 'task'],
      sector: 'health', implementation_status: 'implementing', effect_types: ['citizen_involvement'],
      spread_potential_rating: 'low', origin: 'original', tags: ['digitalisering'], started_on: '2020-01-10',
      partner_organisation_codes: ['0147', '1082'],
    },
  });
  await add('unge', {
    org: '0461', status: 'published',
    body: {
      title: 'Unge i job', summary: 'Mentorer følger unge ledige.', innovation_types: ['role'], sector: 'employment',
      implementation_status: 'implemented', effect_types: ['employee_satisfaction', 'quality'], spread_potential_rating: 'high',
      origin: 'copied', inspired_by_case_id: byName.sundhedsplatform.id, tags: ['beskæftigelse', 'unge'], started_on: '2018-09-01',
    },
  });
  await add('skolekoekken', {
    org: '0851', status: 'published',
    body: { title: 'Klimavenlige skolekøkkener', summary: 'Skolerne laver mad med færre ressourcer.', innovation_types: ['vision'], sector: 'environment_climate' },
  });
  await add('digitalpost', {
    org: 'DIGST', status: 'published',
    body: {
      title: 'Fælles digital post', summary: 'Én postkasse til borgernes breve.', innovation_types: ['work_tool'],
      sector: 'digital_services', implementation_status: 'implemented', effect_types: ['economy'], spread_potential_rating: 'high',
      origin: 'original', tags: ['digitalisering'], started_on: '2015-01-01', partner_organisation_codes: ['0101', '1084'],
    },
  });
  await add('akut', {
    org: '1082', status: 'published',
    body: {
      title: 'Akutsygeplejersker i regionen', summary: 'Sygeplejersker rykker ud til ældre borgere.', innovation_types: ['role', 'task'],
      sector: 'health', implementation_status: 'piloting', effect_types: ['quality'], spread_potential_rating: 'medium',
      origin: 'original', tags: ['sundhed'], started_on: '2022-02-02',
    },
  });
  await add('kladde', {
    org: '0751', via: 'put', status: 'draft',
    body: { title: 'Kladde om ældrepleje', summary: 'Endnu ikke færdig.', innovation_types: ['task'], sector: 'elderly_care', tags: ['hjemmepleje'], started_on: '2023-01-01' },
  });
  await add('frivillige', {
    org: '0360', via: 'put', status: 'submitted',
    body: {
      title: 'Frivillige i ældreplejen', summary: 'Frivillige besøger ældre.', innovation_types: ['collaboration'], sector: 'social',
      implementation_status: 'piloting', effect_types: ['citizen_involvement'], spread_potential_rating: 'low', origin: 'original',
      tags: ['frivillighed'], partner_organisation_codes: ['0751'],
    },
  });
  await add('papirloes', {
    org: '0101', status: 'archived',
    body: {
      title: 'Papirløs sagsbehandling', summary: 'Sagerne behandles uden papir.', innovation_types: ['workflow'], sector: 'administration',
      implementation_status: 'discontinued', effect_types: ['economy'], spread_potential_rating: 'low', origin: 'original',
      tags: ['digitalisering'], started_on: '2012-05-05',
    },
  });
  await add('legepladser', {
    org: '0147', status: 'changes_requested',
    body: {
      title: 'Legepladser for alle', summary: 'Legepladser som børn med handicap kan bruge.', innovation_types: ['vision', 'collaboration'],
      sector: 'culture_leisure', implementation_status: 'implementing', tags: ['børn'], started_on: '2024-04-01',
    },
  });
  await add('dagtilbud', {
    org: '0461', status: 'published',
    body: {
      title: 'Tidlig indsats i dagtilbud', summary: 'Pædagoger opdager tidligt børn der mistrives.', innovation_types: ['workflow', 'task'],
      sector: 'children_youth', implementation_status: 'implemented', effect_types: ['quality'], spread_potential_rating: 'medium',
      origin: 'adapted', inspired_by_case_id: byName.legepladser.id, tags: ['børn', 'unge'], started_on: '2017-08-20',
      partner_organisation_codes: ['1083'],
    },
  });
  await add('robotter', {
    org: '0851', status: 'published',
    body: {
      title: 'Robotstøvsugere i plejeboliger', summary: 'Robotter støvsuger hos beboerne.', innovation_types: ['work_tool'],
      sector: 'elderly_care', implementation_status: 'discontinued', effect_types: ['employee_satisfaction'],
      spread_potential_rating: 'low', origin: 'original', tags: ['velfærdsteknologi'], started_on: '2016-11-11',
    },
  });
  await evaluate(server, byName.morgenmoede.id, 3);
  await evaluate(server, byName.sundhedsplatform.id, 5, 'draft');
  await evaluate(server, byName.sundhedsplatform.id, 2);
  await evaluate(server, byName.dagtilbud.id, 4);
  await evaluate(server, byName.dagtilbud.id, 1);
  await evaluate(server, byName.kladde.id, 4, 'draft');
  await adopt(server, byName.morgenmoede.id, '0360');
  await adopt(server, byName.morgenmoede.id, '0461');
  await adopt(server, byName.ruter.id, '0851');
  await adopt(server, byName.digitalpost.id, '0461');
  await adopt(server, byName.digitalpost.id, '0851');
  await adopt(server, byName.digitalpost.id, '0751', 'discontinued');
  await adopt(server, byName.robotter.id, '0360');
  return { byName };
}

// ---- the model ---------------------------------------------------------------------------------

/** code -> organisation, for every organisation the service knows. */
export async function organisationsByCode(server) {
  return new Map((await listAll(server)).map((o) => [o.code, o]));
}

/** The distinct regions of a case's lead and partner organisations (a region is its own). */
export function regionsOf(kase, orgs) {
  const regions = new Set();
  for (const code of [kase.organisation_code, ...kase.partner_organisation_codes]) {
    const org = orgs.get(code);
    assert.ok(org, `unknown organisation ${code}`);
    const region = org.kind === 'region' ? org.code : org.region_code;
    if (region) regions.add(region);
  }
  return regions;
}

const values = (v) => (Array.isArray(v) ? v : [v]).flatMap((s) => String(s).split(',')).filter((s) => s !== '');
const anyOf = (list, wanted) => list.some((x) => wanted.includes(x));

/**
 * Whether `kase` (as a listing shows it to the caller) matches `filters`, an object of query
 * parameters of GET /v1/cases (values strings or arrays, as for queryString), by the meaning the
 * document gives them. `q` is not modelled.
 */
export function matches(kase, filters, orgs) {
  for (const [name, raw] of Object.entries(filters)) {
    const wanted = values(raw);
    const ok = {
      status: () => wanted.includes(kase.status),
      organisation_code: () => wanted.includes(kase.organisation_code),
      region_code: () => anyOf([...regionsOf(kase, orgs)], wanted),
      government_level: () => anyOf(kase.government_levels, wanted),
      innovation_type: () => anyOf(kase.innovation_types, wanted),
      sector: () => wanted.includes(kase.sector),
      implementation_status: () => wanted.includes(kase.implementation_status),
      effect_type: () => anyOf(kase.effect_types, wanted),
      spread_potential_rating: () => wanted.includes(kase.spread_potential_rating),
      origin: () => wanted.includes(kase.origin),
      tag: () => anyOf(kase.tags, wanted),
      has_evaluation: () => (kase.evaluation_summary.count > 0) === (wanted[0] === 'true'),
      min_evidence_level: () => (kase.evaluation_summary.best_evidence_level ?? 0) >= Number(wanted[0]),
      updated_since: () => Date.parse(kase.updated_at) >= Date.parse(wanted[0].length === 10 ? `${wanted[0]}T00:00:00Z` : wanted[0]),
      started_from: () => kase.started_on !== null && kase.started_on >= wanted[0],
      started_to: () => kase.started_on !== null && kase.started_on <= wanted[0],
    }[name];
    assert.ok(ok, `matches: no model of ${name}`);
    if (!ok()) return false;
  }
  return true;
}

/** The facets GET /v1/cases/facets should answer for `items` (the cases a listing with the same
 * query shows), with or without the status facet. */
export function facetsFromListing(items, orgs, { withStatus }) {
  const facets = { innovation_type: {}, sector: {}, government_level: {}, region_code: {}, implementation_status: {}, effect_type: {} };
  if (withStatus) facets.status = {};
  const count = (facet, value) => {
    if (value !== null && value !== undefined) facets[facet][value] = (facets[facet][value] ?? 0) + 1;
  };
  for (const kase of items) {
    for (const t of new Set(kase.innovation_types)) count('innovation_type', t);
    count('sector', kase.sector);
    for (const l of new Set(kase.government_levels)) count('government_level', l);
    for (const r of regionsOf(kase, orgs)) count('region_code', r);
    count('implementation_status', kase.implementation_status);
    if (withStatus) count('status', kase.status);
    for (const e of new Set(kase.effect_types)) count('effect_type', e);
  }
  return facets;
}
