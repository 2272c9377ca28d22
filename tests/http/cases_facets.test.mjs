// GET /v1/cases/facets: for the same filters as GET /v1/cases, the counts per innovation type,
// sector, government level, region, implementation status, status and effect type must equal
// the counts computed from the cases the listing shows the same caller; status is left out for
// the anonymous public only; the list-only parameters and bad values are refused.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { everything, facetsFromListing, facetsOf, organisationsByCode, writeCase, writeCorpus } from './lib/search.mjs';

let server;
let orgs;

before(async () => {
  server = await startServer();
  await writeCorpus(server);
  orgs = await organisationsByCode(server);
});
after(async () => {
  await server?.stop();
});

const READERS = [
  ['anonymous', {}],
  ['partner', { org: '0751' }],
  ['partner', { org: '0101' }],
  ['editor', {}],
  ['admin', {}],
  ['steering', {}],
];

const QUERIES = [
  {},
  { sector: 'elderly_care' },
  { q: 'hjemmepleje' },
  { q: 'ældre*' },
  { region_code: '1084' },
  { status: ['published', 'draft', 'submitted'] },
  { has_evaluation: 'true' },
  { innovation_type: 'work_tool,role', started_from: '2016-01-01' },
  { tag: 'digitalisering', effect_type: 'economy' },
  { updated_since: '2000-01-01T00:00:00+01:00', min_evidence_level: '2' },
];

test('cases_facets_equal_the_counts_computed_from_the_listing_for_every_role_and_query', async () => {
  for (const query of QUERIES) {
    for (const [role, auth] of READERS) {
      const listed = await everything(server, role, query, auth);
      const expected = facetsFromListing(listed, orgs, { withStatus: role !== 'anonymous' });
      const got = await facetsOf(server, role, query, auth);
      assert.deepEqual(got, expected, `${role}${auth.org ? ` of ${auth.org}` : ''} with ${JSON.stringify(query)}`);
    }
  }
});

test('cases_facets_of_the_whole_corpus_as_an_editor_are_the_expected_numbers', async () => {
  // Written out once, so that the listing and the facets cannot agree on a wrong answer.
  const facets = await facetsOf(server, 'editor');
  assert.deepEqual(facets.status, { published: 9, draft: 1, submitted: 1, archived: 1, changes_requested: 1 });
  assert.deepEqual(facets.sector, {
    elderly_care: 4, health: 2, employment: 1, environment_climate: 1, digital_services: 1, social: 1,
    administration: 1, culture_leisure: 1, children_youth: 1,
  });
  assert.deepEqual(facets.government_level, { municipal: 12, regional: 5, state: 1 });
  // Regions of the lead and partners, once per case: 1082 the two cases of Aarhus, Lolland's
  // case that lists Aarhus, the region's own case and the one listing the region; 1084 the
  // cases of 0101 and 0147 and digital post (partners 0101 and 1084; its state lead has no
  // region). Adopters never count.
  assert.deepEqual(facets.region_code, { 1081: 2, 1082: 5, 1083: 2, 1084: 4, 1085: 2 });
  assert.deepEqual(facets.innovation_type, { collaboration: 3, workflow: 3, work_tool: 4, task: 4, role: 2, vision: 2 });
  assert.deepEqual(facets.implementation_status, { implemented: 4, piloting: 3, implementing: 2, discontinued: 2 });
  assert.deepEqual(facets.effect_type, { quality: 4, economy: 4, citizen_involvement: 2, employee_satisfaction: 2 });
});

test('cases_facets_status_is_left_out_for_the_public_and_present_for_every_signed_in_reader', async () => {
  const anonymous = await facetsOf(server, 'anonymous');
  assert.ok(!('status' in anonymous));
  assert.deepEqual(Object.keys(anonymous).sort(), ['effect_type', 'government_level', 'implementation_status', 'innovation_type', 'region_code', 'sector']);
  for (const [role, auth] of READERS.slice(1)) {
    const facets = await facetsOf(server, role, {}, auth);
    assert.ok('status' in facets, role);
  }
  // A partner counts its own drafts; the public counts published cases only.
  assert.deepEqual((await facetsOf(server, 'partner', {}, { org: '0751' })).status, { published: 9, draft: 1, submitted: 1 });
  assert.equal(anonymous.sector.elderly_care, 3, 'the draft about ældrepleje is not counted for the public');
});

test('cases_facets_with_no_match_have_every_facet_and_no_value', async () => {
  const empty = { innovation_type: {}, sector: {}, government_level: {}, region_code: {}, implementation_status: {}, effect_type: {} };
  assert.deepEqual(await facetsOf(server, 'anonymous', { q: 'zzyzxqk' }), empty);
  assert.deepEqual(await facetsOf(server, 'anonymous', { q: 'og' }), empty, 'stop words only');
  assert.deepEqual(await facetsOf(server, 'editor', { tag: 'ingen-sag-har-dette-tag' }), { ...empty, status: {} });
});

test('cases_facets_follow_a_new_publication_at_once', async () => {
  const before = await facetsOf(server, 'anonymous', { sector: 'education' });
  assert.deepEqual(before.sector, {});
  await writeCase(server, {
    org: '0851', via: 'put', key: 'facets-new', status: 'published',
    body: { title: 'Lektiecafé på biblioteket', summary: 'Frivillige hjælper med lektier.', innovation_types: ['collaboration'], sector: 'education' },
  });
  const after = await facetsOf(server, 'anonymous', { sector: 'education' });
  assert.deepEqual(after, {
    innovation_type: { collaboration: 1 }, sector: { education: 1 }, government_level: { municipal: 1 },
    region_code: { 1081: 1 }, implementation_status: {}, effect_type: {},
  });
});

test('cases_facets_refuse_the_list_only_parameters_unknown_filters_and_bad_values_with_422', async () => {
  const cases = [
    ['sort=title', ['sort']],
    ['limit=10', ['limit']],
    ['cursor=abc', ['cursor']],
    ['count=exact', ['count']],
    ['highlight=true', ['highlight']],
    ['colour=blue', ['colour']],
    ['sector=space', ['sector']],
    ['status=published,deleted', ['status']],
    ['government_level=federal', ['government_level']],
    ['region_code=%20', ['region_code']],
    ['updated_since=yesterday', ['updated_since']],
    ['started_from=2024-02-30&started_to=2024-13-01', ['started_from', 'started_to']],
    ['has_evaluation=yes', ['has_evaluation']],
    ['min_evidence_level=6', ['min_evidence_level']],
    ['q=', ['q']],
    ['q=a&q=b', ['q']],
    [`q=${'a'.repeat(501)}`, ['q']],
  ];
  for (const [query, fields] of cases) {
    for (const role of ['anonymous', 'partner', 'editor']) {
      const response = await request(server, 'GET', `/v1/cases/facets?${query}`, { headers: authFor(role) });
      assert.deepEqual(errorFields(response), new Set(fields), `${role}: ${query}`);
    }
  }
  const bad = await request(server, 'GET', '/v1/cases/facets?q=%FF');
  assert.equal(bad.status, 400, bad.text);
});

test('cases_facets_refuse_a_refused_token_even_though_the_public_may_read_them', async () => {
  const response = await request(server, 'GET', '/v1/cases/facets', { headers: { Authorization: 'Bearer x.y.z' } });
  assert.equal(response.status, 401, response.text);
});
