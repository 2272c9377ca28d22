// The filters of GET /v1/cases, alone and combined, as the roles that read them: each answer
// must be exactly the cases of the caller's unfiltered listing that the filter's documented
// meaning selects (a repeated parameter or a comma list means any of the values), and
// visibility applies on top of every filter.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from './lib/server.mjs';
import { everything, idSet, listCases, matches, organisationsByCode, writeCorpus } from './lib/search.mjs';

let server;
let corpus;
let orgs;

before(async () => {
  server = await startServer();
  corpus = (await writeCorpus(server)).byName;
  orgs = await organisationsByCode(server);
});
after(async () => {
  await server?.stop();
});

/** The readers: the public, a partner whose organisation pushes drafts (0751), one that leads
 * and partners cases (0101), the centre's staff and a steering member. */
const READERS = [
  ['anonymous', {}],
  ['partner', { org: '0751' }],
  ['partner', { org: '0101' }],
  ['editor', {}],
  ['steering', {}],
];

const label = (role, auth) => (auth.org ? `${role} of ${auth.org}` : role);
const titles = (items) => items.map((c) => c.title).sort();

const unfiltered = new Map(); // reader label -> its listing without filters (nothing is written after before())

/** Asserts that every reader gets exactly what the model selects from its own listing; returns
 * what the editor got. */
async function assertFilter(filters) {
  let editorGot = null;
  for (const [role, auth] of READERS) {
    if (!unfiltered.has(label(role, auth))) unfiltered.set(label(role, auth), await everything(server, role, {}, auth));
    const all = unfiltered.get(label(role, auth));
    const expected = all.filter((c) => matches(c, filters, orgs));
    const got = await everything(server, role, filters, auth);
    assert.deepEqual(titles(got), titles(expected), `${label(role, auth)} with ${JSON.stringify(filters)}`);
    if (role === 'editor') editorGot = got;
  }
  return editorGot;
}

test('cases_filters_visibility_holds_anonymous_published_partner_own_and_partnered_staff_everything', async () => {
  const staff = await everything(server, 'editor');
  assert.equal(staff.length, Object.keys(corpus).length);
  assert.deepEqual(idSet(await everything(server, 'steering')), idSet(staff));
  const anonymous = await everything(server, 'anonymous');
  assert.deepEqual(idSet(anonymous), idSet(staff.filter((c) => c.status === 'published')));
  const aarhus = await everything(server, 'partner', {}, { org: '0751' });
  const aarhusSees = (c) => c.status === 'published' || c.organisation_code === '0751' || c.partner_organisation_codes.includes('0751');
  assert.deepEqual(idSet(aarhus), idSet(staff.filter(aarhusSees)));
  // The partner sees its own draft and the submitted case of Lolland that lists Aarhus.
  assert.ok(idSet(aarhus).has(corpus.kladde.id) && idSet(aarhus).has(corpus.frivillige.id));
  assert.ok(!idSet(anonymous).has(corpus.kladde.id));
});

// Each filter alone, with one value and with several (repeated, comma list, or both); every
// one selects some cases but not all of them (for the editor), so that none can pass by
// returning everything or nothing.
const SINGLE = [
  { status: 'published' },
  { status: ['draft', 'submitted'] },
  { status: 'archived,changes_requested' },
  { organisation_code: '0751' },
  { organisation_code: ['0101', 'DIGST'] },
  { region_code: '1082' },
  { region_code: '1085' },
  { region_code: ['1081', '1083'] },
  { region_code: '1084,1085' },
  { government_level: 'state' },
  { government_level: 'regional' },
  { government_level: ['regional', 'state'] },
  { innovation_type: 'work_tool' },
  { innovation_type: ['role', 'vision'] },
  { sector: 'elderly_care' },
  { sector: 'health,employment' },
  { implementation_status: 'implemented' },
  { implementation_status: ['piloting', 'discontinued'] },
  { effect_type: 'economy' },
  { effect_type: ['quality', 'citizen_involvement'] },
  { spread_potential_rating: 'high' },
  { spread_potential_rating: 'low,medium' },
  { origin: 'adapted' },
  { origin: ['copied', 'original'] },
  { tag: 'hjemmepleje' },
  { tag: 'børn' },
  { tag: ['digitalisering', 'unge'] },
  { has_evaluation: 'true' },
  { has_evaluation: 'false' },
  { min_evidence_level: '3' },
  { started_from: '2019-03-01' },
  { started_to: '2019-03-01' },
  { started_from: '2016-11-11', started_to: '2020-01-10' },
];

test('cases_filters_each_filter_alone_selects_exactly_the_matching_visible_cases_for_every_role', async () => {
  const total = (await everything(server, 'editor')).length;
  for (const filters of SINGLE) {
    const got = await assertFilter(filters);
    assert.ok(got.length > 0 && got.length < total, `${JSON.stringify(filters)} selects ${got.length} of ${total}`);
  }
});

test('cases_filters_boundaries_are_inclusive_and_cases_without_a_start_date_never_match_a_date_range', async () => {
  const onTheDay = await everything(server, 'editor', { started_from: '2019-03-01', started_to: '2019-03-01' });
  assert.deepEqual(titles(onTheDay), [corpus.morgenmoede.title]);
  const wide = await everything(server, 'editor', { started_from: '1900-01-01' });
  assert.ok(!idSet(wide).has(corpus.skolekoekken.id) && !idSet(wide).has(corpus.frivillige.id), 'no started_on: no match');
  assert.equal(wide.length, (await everything(server, 'editor')).filter((c) => c.started_on !== null).length);
});

test('cases_filters_repeated_comma_and_mixed_lists_all_mean_any_of_the_values', async () => {
  const spellings = [
    [['sector', 'health'], ['sector', 'employment'], ['sector', 'social']],
    [['sector', 'health,employment,social']],
    [['sector', 'health,employment'], ['sector', 'social']],
    [['sector', ',health,,employment,'], ['sector', 'social']],
    [['sector', 'health'], ['sector', 'health'], ['sector', 'employment,social']],
  ];
  const expected = (await everything(server, 'editor')).filter((c) => ['health', 'employment', 'social'].includes(c.sector));
  assert.ok(expected.length >= 3);
  for (const pairs of spellings) {
    assert.deepEqual(titles(await everything(server, 'editor', pairs)), titles(expected), JSON.stringify(pairs));
  }
});

test('cases_filters_a_value_no_case_has_and_codes_that_are_no_region_select_nothing', async () => {
  for (const filters of [
    { tag: 'Hjemmepleje' }, // tags compare exactly, letter case included
    { tag: 'hjemme' },
    { region_code: '0101' }, // a municipality's code is no region
    { organisation_code: '9999' },
    { min_evidence_level: '5' }, // the only level-5 evaluation is a draft of 0101's case: see below
    { sector: 'education' },
    { started_from: '2030-01-01' },
  ]) {
    const got = await everything(server, 'anonymous', filters);
    assert.deepEqual(got, [], JSON.stringify(filters));
  }
  // The level-5 draft evaluation counts for those who may see it.
  assert.deepEqual(titles(await everything(server, 'editor', { min_evidence_level: '5' })), [corpus.sundhedsplatform.title]);
  assert.deepEqual(titles(await everything(server, 'partner', { min_evidence_level: '5' }, { org: '0101' })), [corpus.sundhedsplatform.title]);
  assert.deepEqual(await everything(server, 'partner', { min_evidence_level: '5' }, { org: '0147' }), []);
});

test('cases_filters_updated_since_compares_the_moment_whatever_the_offset_it_is_written_with', async () => {
  const all = await everything(server, 'editor');
  const middle = [...all].sort((a, b) => (a.updated_at < b.updated_at ? -1 : 1))[Math.floor(all.length / 2)];
  const at = new Date(middle.updated_at);
  const expected = all.filter((c) => Date.parse(c.updated_at) >= at.getTime());
  assert.ok(expected.length > 0 && expected.length < all.length);
  // The same moment as UTC, as +02:00 and as -05:30, and one millisecond later.
  const shifted = (minutes) => {
    const local = new Date(at.getTime() + minutes * 60_000).toISOString().slice(0, 23);
    const sign = minutes < 0 ? '-' : '+';
    const abs = Math.abs(minutes);
    return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  };
  for (const since of [middle.updated_at, shifted(120), shifted(-330)]) {
    assert.deepEqual(titles(await everything(server, 'editor', { updated_since: since })), titles(expected), since);
  }
  const later = new Date(at.getTime() + 1).toISOString();
  assert.ok(!idSet(await everything(server, 'editor', { updated_since: later })).has(middle.id));
  assert.equal((await everything(server, 'editor', { updated_since: '2000-01-01' })).length, all.length);
  assert.deepEqual(await everything(server, 'editor', { updated_since: '2999-01-01' }), []);
});

const COMBINED = [
  { sector: 'elderly_care', status: 'published', tag: 'hjemmepleje' },
  { region_code: '1084', innovation_type: 'work_tool', has_evaluation: 'false' },
  { region_code: ['1082', '1085'], sector: ['elderly_care', 'social'], started_from: '2020-01-01' },
  { government_level: 'municipal', effect_type: 'quality', implementation_status: 'implemented,piloting' },
  { organisation_code: ['0751', '0360'], status: ['draft', 'submitted', 'published'] },
  { origin: 'original', spread_potential_rating: ['high', 'medium'], has_evaluation: 'true' },
  { tag: ['hjemmepleje', 'børn'], min_evidence_level: '1', started_to: '2019-12-31' },
  { innovation_type: 'collaboration', region_code: '1082', updated_since: '2000-01-01' },
];

test('cases_filters_combined_filters_narrow_together_for_every_role', async () => {
  for (const filters of COMBINED) {
    const got = await assertFilter(filters);
    assert.ok(got.length > 0, `${JSON.stringify(filters)} selects nothing for the editor`);
  }
});

test('cases_filters_combine_with_a_text_search', async () => {
  // Two titles hold "hjemmeplejen"; the draft has the tag "hjemmepleje" (same stem).
  const hjemmepleje = idSet(await everything(server, 'editor', { q: 'hjemmeplejen' }));
  assert.deepEqual(hjemmepleje, new Set([corpus.morgenmoede.id, corpus.ruter.id, corpus.kladde.id]));
  const published = await everything(server, 'editor', { q: 'hjemmeplejen', status: 'published' });
  assert.deepEqual(idSet(published), idSet(await everything(server, 'anonymous', { q: 'hjemmeplejen' })));
  const got = await everything(server, 'editor', { q: 'hjemmeplejen', region_code: '1085' });
  assert.deepEqual(titles(got), [corpus.ruter.title]);
  const anonymous = await everything(server, 'anonymous', { q: 'ældre', sector: 'social,health' });
  assert.deepEqual(titles(anonymous), [corpus.akut.title], 'the submitted case about ældre is hidden');
  const partner = await everything(server, 'partner', { q: 'ældre', sector: 'social,health' }, { org: '0751' });
  assert.deepEqual(titles(partner), titles([corpus.akut, corpus.frivillige]));
});

test('cases_filters_an_anonymous_status_filter_cannot_reveal_unpublished_cases', async () => {
  for (const status of ['draft', 'submitted', 'in_review', 'changes_requested', 'archived']) {
    const response = await listCases(server, 'anonymous', { status, count: 'exact' });
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.body.items, []);
    assert.equal(response.body.total, 0);
  }
});
