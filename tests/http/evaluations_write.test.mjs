// Adding, editing and removing evaluations (POST /v1/cases/{id}/evaluations, PATCH and DELETE
// /v1/evaluations/{id}) as each role: every field's rule (each bad field named in the 422),
// who may write while the evaluation is not yet published, merge-patch semantics, the
// preconditions, and that a refused write leaves everything as it was.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseIn } from './lib/cases.mjs';
import {
  createEvaluation,
  evaluationBody,
  evaluationHistoryOf,
  evaluationIn,
  fullEvaluationBody,
  getEvaluation,
  listedEvaluations,
  patchEvaluation,
  postEvaluation,
  STATUSES,
} from './lib/evaluations.mjs';

let server;
let ownDraft; // a draft case of 0101 (the partner token's organisation)
let ownPublished; // a published case of 0101
let foreignPublished; // a published case of 0147
let listing; // a draft case of 0147 that lists 0101 as a partner
let foreignDraft; // a draft case of 0147 alone

before(async () => {
  server = await startServer();
  ownDraft = await caseIn(server, 'draft');
  ownPublished = await caseIn(server, 'published');
  foreignPublished = await caseIn(server, 'published', { organisation_code: '0147' });
  listing = await caseIn(server, 'draft', { organisation_code: '0147', partner_organisation_codes: ['0101'] });
  foreignDraft = await caseIn(server, 'draft', { organisation_code: '0147' });
});
after(async () => {
  await server?.stop();
});

/**
 * A refused PATCH /v1/evaluations/{id} (403 from the object rule, 412 from a precondition) once
 * freed the evaluation twice and killed the server: the tests that make such a request run on a
 * server of their own, whose clean exit stop() asserts.
 */

/** Runs `fn(srv)` against a server of its own, stopped afterwards (which asserts a clean exit). */
async function onOwnServer(fn) {
  const srv = await startServer();
  try {
    await fn(srv);
  } finally {
    await srv.stop();
  }
}

/** The ids of the evaluations of `caseId`, as an admin sees them. */
async function evaluationIdsOf(caseId) {
  return (await listedEvaluations(server, 'admin', { case_id: caseId })).map((e) => e.id);
}

/** Posts `body` to a fresh draft case of 0101 as `role`; asserts a 422 that names exactly
 * `fields`, and that nothing was added. */
async function refusedWith(body, fields, role = 'admin') {
  const kase = await caseIn(server, 'draft');
  const response = await postEvaluation(server, kase.id, body, role);
  assert.deepEqual([...errorFields(response)].sort(), [...fields].sort(), response.text);
  assert.equal(response.body.type, 'urn:problem:coi:validation');
  assert.deepEqual(await evaluationIdsOf(kase.id), [], 'a refused evaluation was stored');
  return response;
}

/** Posts a valid body changed by `extra` to ownDraft as an admin; asserts 201. */
async function accepted(extra) {
  const response = await postEvaluation(server, ownDraft.id, evaluationBody(extra));
  assert.equal(response.status, 201, `${JSON.stringify(extra).slice(0, 200)}: ${response.text}`);
  return response.body;
}

// ---- adding ------------------------------------------------------------------------------------

test('evaluations_partner_adds_an_evaluation_to_its_own_case_with_location_etag_and_every_field', async () => {
  const body = fullEvaluationBody();
  const response = await postEvaluation(server, ownDraft.id, body, 'partner');
  assert.equal(response.status, 201, response.text);
  const e = response.body;
  assert.equal(response.headers.get('location'), `/v1/evaluations/${e.id}`);
  assert.match(response.headers.get('etag'), /^"[0-9a-f]{16}"$/);
  assert.equal(e.case_id, ownDraft.id);
  assert.equal(e.status, 'draft');
  assert.equal(e.version, 1);
  assert.equal(e.published_at, null);
  assert.equal(e.created_at, e.updated_at);
  for (const key of Object.keys(body).filter((k) => k !== 'economic' && k !== 'quality_effects')) {
    assert.deepEqual(e[key], body[key], key);
  }
  assert.deepEqual(e.economic, { ...body.economic, net_annual_effect_dkk: 200000, payback_years: 2 });
  assert.deepEqual(
    e.quality_effects,
    body.quality_effects.map((q, i) => ({ ...q, change: [-4, 8.5][i], improved: true })),
  );
  const got = await getEvaluation(server, e.id, 'partner');
  assert.equal(got.status, 200, got.text);
  assert.deepEqual(got.body, e);
  assert.equal(got.headers.get('etag'), response.headers.get('etag'));
});

test('evaluations_minimal_body_shows_optional_fields_as_null_economic_as_nulls_and_no_quality_effects', async () => {
  const e = (await createEvaluation(server, ownDraft.id, 'editor')).body;
  for (const key of ['evaluator_name', 'period_start', 'period_end', 'published_on', 'report_url', 'employee_effects', 'user_effects', 'conclusion', 'lessons_learned', 'risks_and_pitfalls']) {
    assert.equal(e[key], null, key);
  }
  assert.deepEqual(e.economic, {
    investment_dkk: null,
    annual_savings_dkk: null,
    annual_running_costs_dkk: null,
    net_annual_effect_dkk: null,
    payback_years: null,
  });
  assert.deepEqual(e.quality_effects, []);
  // Explicit nulls and an empty economic object read the same.
  const nulls = await accepted({ evaluator_name: null, economic: {}, quality_effects: null, conclusion: null });
  assert.deepEqual(nulls.economic, e.economic);
  assert.deepEqual(nulls.quality_effects, []);
});

test('evaluations_missing_required_fields_are_each_named', async () => {
  await refusedWith({}, ['title', 'evaluator_kind', 'method', 'evidence_level']);
  await refusedWith({ title: 'Kun en titel' }, ['evaluator_kind', 'method', 'evidence_level']);
  await refusedWith(evaluationBody({ title: null, evidence_level: null }), ['title', 'evidence_level']);
});

test('evaluations_body_with_every_field_invalid_lists_each_bad_field_in_one_422', async () => {
  const response = await refusedWith(
    {
      id: 'x',
      case_id: ownDraft.id,
      status: 'published',
      version: 7,
      created_at: '2015-01-01T00:00:00Z',
      updated_at: '2015-01-01T00:00:00Z',
      published_at: null,
      colour: 'blå',
      title: '   ',
      evaluator_kind: 'consultant',
      evaluator_name: '',
      method: 'survey',
      period_start: '2015-06-01',
      period_end: '2015-05-31',
      published_on: '2015-02-29',
      report_url: 'ftp://kora.dk/rapport.pdf',
      evidence_level: 6,
      economic: { investment_dkk: -1, annual_savings_dkk: 10.5, annual_running_costs_dkk: '100', net_annual_effect_dkk: 1, payback_years: 1, vat: 0 },
      quality_effects: [
        'ventetid',
        { indicator: '', unit: '', baseline: '12', result: null, higher_is_better: 'ja', change: -4, improved: true, source: 'x' },
      ],
      employee_effects: 42,
      user_effects: ['godt'],
      conclusion: 'bip\u0007',
      lessons_learned: 'x'.repeat(20001),
      risks_and_pitfalls: { text: 'x' },
    },
    [
      'id',
      'case_id',
      'status',
      'version',
      'created_at',
      'updated_at',
      'published_at',
      'colour',
      'title',
      'evaluator_kind',
      'evaluator_name',
      'method',
      'period_end',
      'published_on',
      'report_url',
      'evidence_level',
      'economic.investment_dkk',
      'economic.annual_savings_dkk',
      'economic.annual_running_costs_dkk',
      'economic.net_annual_effect_dkk',
      'economic.payback_years',
      'economic.vat',
      'quality_effects[0]',
      'quality_effects[1].indicator',
      'quality_effects[1].unit',
      'quality_effects[1].baseline',
      'quality_effects[1].result',
      'quality_effects[1].higher_is_better',
      'quality_effects[1].change',
      'quality_effects[1].improved',
      'quality_effects[1].source',
      'employee_effects',
      'user_effects',
      'conclusion',
      'lessons_learned',
      'risks_and_pitfalls',
    ],
  );
  const messages = Object.fromEntries(response.body.errors.map((e) => [e.field, e.message]));
  assert.match(messages.id, /read-only/);
  assert.match(messages['economic.net_annual_effect_dkk'], /read-only/);
  assert.match(messages['quality_effects[1].change'], /read-only/);
  assert.match(messages.colour, /unknown/);
  assert.match(messages['economic.vat'], /unknown/);
});

/** For each field, values that are each refused with a 422 naming only that field. */
const INVALID = {
  title: [null, '', '   ', 'x'.repeat(201), 'to\nlinjer', 42],
  evaluator_kind: [null, 'consultant', 'Internal', 1],
  evaluator_name: ['', ' ', 'x'.repeat(201), 'tab\tnavn', true],
  method: [null, 'survey', 'RCT', ['rct']],
  period_start: ['2015-13-01', '1899-12-31', '15-01-01', '2015-1-1', 20150101],
  published_on: ['2014-02-29', '2015-04-31', '2015-06-01T00:00:00Z', ''],
  report_url: ['ftp://kora.dk/r.pdf', 'https://', 'https:///sti', 'kora.dk/rapport', 'javascript:alert(1)', 'https://kora.dk/a b', '', `https://kora.dk/${'x'.repeat(2000)}`, 7],
  evidence_level: [null, 0, 6, -1, 2.5, 3.0001, '3', true],
  economic: ['400000', 5, ['investment_dkk'], true],
  quality_effects: [{}, 'ventetid', 3],
  employee_effects: [1, false, 'x'.repeat(20001), 'bip\u0001'],
  user_effects: [{}],
  conclusion: [[]],
  lessons_learned: ['\u007f'],
  risks_and_pitfalls: [0],
};

test('evaluations_each_invalid_field_value_is_refused_with_a_422_naming_that_field', async () => {
  for (const [field, values] of Object.entries(INVALID)) {
    for (const value of values) {
      const response = await postEvaluation(server, ownDraft.id, evaluationBody({ [field]: value }));
      assert.deepEqual([...errorFields(response)], [field], `${field} = ${JSON.stringify(value).slice(0, 80)}: ${response.text}`);
    }
  }
});

test('evaluations_period_end_before_period_start_is_refused_and_the_same_day_is_accepted', async () => {
  await refusedWith(evaluationBody({ period_start: '2015-01-02', period_end: '2015-01-01' }), ['period_end']);
  await refusedWith(evaluationBody({ period_start: '2016-01-01', period_end: '2015-12-31' }), ['period_end']);
  const same = await accepted({ period_start: '2015-01-01', period_end: '2015-01-01' });
  assert.equal(same.period_end, '2015-01-01');
  // Either end alone is fine.
  assert.equal((await accepted({ period_end: '1900-01-01' })).period_end, '1900-01-01');
  assert.equal((await accepted({ period_start: '2016-02-29' })).period_start, '2016-02-29');
});

test('evaluations_economic_figures_must_be_whole_kroner_from_0_to_a_trillion', async () => {
  for (const key of ['investment_dkk', 'annual_savings_dkk', 'annual_running_costs_dkk']) {
    for (const value of [-1, 1.5, 100.0001, '100', true, [1], 1000000000001]) {
      const response = await postEvaluation(server, ownDraft.id, evaluationBody({ economic: { [key]: value } }));
      assert.deepEqual([...errorFields(response)], [`economic.${key}`], `${key} = ${JSON.stringify(value)}: ${response.text}`);
    }
    for (const value of [0, 1, 1000000000000, null]) {
      const e = await accepted({ economic: { [key]: value } });
      assert.equal(e.economic[key], value, `${key} = ${value}`);
    }
  }
});

test('evaluations_quality_effect_rows_are_checked_one_by_one_and_named_by_index', async () => {
  const good = { indicator: 'Ventetid', unit: 'dage', baseline: 10, result: 8, higher_is_better: false };
  const cases = [
    [{ ...good, indicator: undefined }, 'indicator'],
    [{ ...good, indicator: 'x'.repeat(201) }, 'indicator'],
    [{ ...good, indicator: '  ' }, 'indicator'],
    [{ ...good, unit: '' }, 'unit'],
    [{ ...good, unit: 'x'.repeat(51) }, 'unit'],
    [{ ...good, unit: 3 }, 'unit'],
    [{ ...good, baseline: undefined }, 'baseline'],
    [{ ...good, baseline: '10' }, 'baseline'],
    [{ ...good, result: null }, 'result'],
    [{ ...good, result: [8] }, 'result'],
    [{ ...good, higher_is_better: undefined }, 'higher_is_better'],
    [{ ...good, higher_is_better: null }, 'higher_is_better'],
    [{ ...good, higher_is_better: 0 }, 'higher_is_better'],
    [{ ...good, improved: false }, 'improved'],
    [{ ...good, kilde: 'x' }, 'kilde'],
  ];
  for (const [row, field] of cases) {
    const clean = JSON.parse(JSON.stringify(row)); // drops the undefined members
    const response = await postEvaluation(server, ownDraft.id, evaluationBody({ quality_effects: [good, good, clean] }));
    assert.deepEqual([...errorFields(response)], [`quality_effects[2].${field}`], `${JSON.stringify(clean)}: ${response.text}`);
  }
  const notObject = await postEvaluation(server, ownDraft.id, evaluationBody({ quality_effects: [good, null] }));
  assert.deepEqual([...errorFields(notObject)], ['quality_effects[1]']);
  // unit may be null or left out; numbers may be negative or fractions.
  const e = await accepted({
    quality_effects: [
      { indicator: 'Fravær', baseline: -1.25, result: 0, higher_is_better: false },
      { indicator: 'Score', unit: null, baseline: 0, result: 0, higher_is_better: true },
      { indicator: 'x'.repeat(200), unit: 'x'.repeat(50), baseline: 1e6, result: 2e6, higher_is_better: true },
    ],
  });
  assert.deepEqual(e.quality_effects.map((q) => q.unit), [null, null, 'x'.repeat(50)]);
});

test('evaluations_up_to_50_quality_effects_are_accepted_and_51_are_refused', async () => {
  const row = (i) => ({ indicator: `Indikator ${i}`, baseline: i, result: i + 1, higher_is_better: true });
  const fifty = Array.from({ length: 50 }, (_, i) => row(i));
  assert.equal((await accepted({ quality_effects: fifty })).quality_effects.length, 50);
  await refusedWith(evaluationBody({ quality_effects: [...fifty, row(50)] }), ['quality_effects']);
  assert.deepEqual((await accepted({ quality_effects: [] })).quality_effects, []);
});

test('evaluations_boundary_values_of_each_field_are_accepted', async () => {
  const e = await accepted({
    title: 'x'.repeat(200),
    evaluator_name: 'æ'.repeat(200),
    report_url: `http://a${'/'.repeat(1992)}`,
    evidence_level: 5,
    conclusion: 'ø'.repeat(20000),
    employee_effects: '',
  });
  assert.equal(e.title.length, 200);
  assert.equal(e.report_url.length, 2000);
  assert.equal(e.conclusion.length, 20000);
  assert.equal(e.employee_effects, '');
  for (const kind of ['internal', 'external', 'research']) assert.equal((await accepted({ evaluator_kind: kind })).evaluator_kind, kind);
  for (const method of ['rct', 'quasi_experimental', 'before_after', 'cost_benefit', 'qualitative', 'mixed', 'self_assessment', 'other']) {
    assert.equal((await accepted({ method })).method, method);
  }
  for (const level of [1, 2, 3, 4, 5]) assert.equal((await accepted({ evidence_level: level })).evidence_level, level);
});

test('evaluations_body_that_is_not_a_json_object_is_422_malformed_json_400_and_wrong_type_415', async () => {
  for (const body of [[], [evaluationBody()]]) {
    const response = await postEvaluation(server, ownDraft.id, body);
    assert.deepEqual([...errorFields(response)], [''], response.text);
  }
  // A JSON text that is not an object or array is not accepted as a body at all.
  for (const body of ['evaluering', 3, null]) {
    const response = await postEvaluation(server, ownDraft.id, body);
    assert.equal(response.status, 400, response.text);
  }
  const malformed = await request(server, 'POST', `/v1/cases/${ownDraft.id}/evaluations`, {
    headers: { ...authFor('admin'), 'Content-Type': 'application/json' },
    rawBody: '{"title": "x",',
  });
  assert.equal(malformed.status, 400, malformed.text);
  const duplicate = await request(server, 'POST', `/v1/cases/${ownDraft.id}/evaluations`, {
    headers: { ...authFor('admin'), 'Content-Type': 'application/json' },
    rawBody: JSON.stringify(evaluationBody()).replace('{', '{"method":"rct",'),
  });
  assert.equal(duplicate.status, 400, duplicate.text);
  const text = await request(server, 'POST', `/v1/cases/${ownDraft.id}/evaluations`, {
    headers: { ...authFor('admin'), 'Content-Type': 'text/plain' },
    rawBody: JSON.stringify(evaluationBody()),
  });
  assert.equal(text.status, 415, text.text);
});

// ---- who may add -------------------------------------------------------------------------------

test('evaluations_partner_cannot_add_to_a_case_it_sees_but_does_not_lead_403', async () => {
  for (const kase of [foreignPublished, listing]) {
    const response = await postEvaluation(server, kase.id, evaluationBody(), 'partner');
    assert.equal(response.status, 403, response.text);
    assert.equal(response.body.type, 'urn:problem:coi:forbidden');
    assert.deepEqual(await evaluationIdsOf(kase.id), []);
  }
  // The 403 comes before the body is looked at.
  const bad = await postEvaluation(server, foreignPublished.id, {}, 'partner');
  assert.equal(bad.status, 403, bad.text);
});

test('evaluations_partner_adding_to_a_case_it_cannot_see_gets_404_and_an_unknown_case_404', async () => {
  const hidden = await postEvaluation(server, foreignDraft.id, evaluationBody(), 'partner');
  assert.equal(hidden.status, 404, hidden.text);
  const other = await postEvaluation(server, ownDraft.id, evaluationBody(), 'partner', { org: '0751' });
  assert.equal(other.status, 404, other.text);
  for (const id of ['00000000-0000-0000-0000-000000000000', 'nope']) {
    const missing = await postEvaluation(server, id, evaluationBody());
    assert.equal(missing.status, 404, missing.text);
  }
  assert.deepEqual(await evaluationIdsOf(foreignDraft.id), []);
});

test('evaluations_editor_and_admin_add_to_any_case_in_any_status', async () => {
  for (const role of ['editor', 'admin']) {
    for (const kase of [foreignDraft, foreignPublished, listing]) {
      const response = await postEvaluation(server, kase.id, evaluationBody(), role);
      assert.equal(response.status, 201, `${role}: ${response.text}`);
      assert.equal(response.body.case_id, kase.id);
    }
  }
  const archived = await caseIn(server, 'archived', { organisation_code: '0147' });
  assert.equal((await postEvaluation(server, archived.id, evaluationBody(), 'editor')).status, 201);
});

test('evaluations_steering_cannot_add_403_and_anonymous_401', async () => {
  const steering = await postEvaluation(server, ownPublished.id, evaluationBody(), 'steering');
  assert.equal(steering.status, 403, steering.text);
  const anonymous = await postEvaluation(server, ownPublished.id, evaluationBody(), 'anonymous');
  assert.equal(anonymous.status, 401, anonymous.text);
  assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer realm="coi"');
  assert.deepEqual(await evaluationIdsOf(ownPublished.id), []);
});

test('evaluations_created_history_entry_names_the_fields_given_a_value', async () => {
  const e = (await postEvaluation(server, ownDraft.id, evaluationBody({ conclusion: 'God.', economic: { investment_dkk: 1 }, report_url: null }), 'partner')).body;
  const history = await evaluationHistoryOf(server, e.id, 'partner');
  assert.equal(history.length, 1);
  assert.deepEqual(history[0].changed_fields, ['conclusion', 'economic', 'evaluator_kind', 'evidence_level', 'method', 'title']);
  assert.equal(history[0].action, 'created');
  assert.equal(history[0].from_status, null);
  assert.equal(history[0].to_status, 'draft');
  assert.equal(history[0].version, 1);
  assert.deepEqual(history[0].actor, { sub: 'test-partner', role: 'partner', org: '0101' });
});

// ---- editing -----------------------------------------------------------------------------------

test('evaluations_patch_changes_fields_records_one_updated_entry_and_a_new_etag', async () => {
  const created = await createEvaluation(server, ownDraft.id, 'partner', { conclusion: 'Foreløbig.' });
  const e = created.body;
  const response = await patchEvaluation(server, e.id, { title: 'Ny titel', conclusion: null, evidence_level: 4, period_start: '2015-01-01' }, 'partner');
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.title, 'Ny titel');
  assert.equal(response.body.conclusion, null);
  assert.equal(response.body.evidence_level, 4);
  assert.equal(response.body.period_start, '2015-01-01');
  assert.equal(response.body.version, 2);
  assert.equal(response.body.created_at, e.created_at);
  assert.ok(response.body.updated_at >= e.updated_at);
  assert.notEqual(response.headers.get('etag'), created.headers.get('etag'));
  const history = await evaluationHistoryOf(server, e.id, 'partner');
  assert.equal(history.length, 2);
  assert.equal(history[0].action, 'updated');
  assert.equal(history[0].version, 2);
  assert.deepEqual(history[0].changed_fields, ['conclusion', 'evidence_level', 'period_start', 'title']);
  assert.equal(history[0].from_status, 'draft');
  assert.equal(history[0].to_status, 'draft');
});

test('evaluations_patch_that_changes_nothing_answers_200_without_a_new_version', async () => {
  const created = await createEvaluation(server, ownDraft.id, 'admin', { method: 'rct' });
  const response = await patchEvaluation(server, created.body.id, { method: 'rct', title: created.body.title });
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.body, created.body);
  assert.equal(response.headers.get('etag'), created.headers.get('etag'));
  assert.equal((await evaluationHistoryOf(server, created.body.id)).length, 1);
  const empty = await patchEvaluation(server, created.body.id, {});
  assert.equal(empty.status, 200, empty.text);
  assert.equal(empty.body.version, 1);
});

test('evaluations_patch_cannot_remove_required_fields_and_lists_every_bad_field', async () => {
  const e = (await createEvaluation(server, ownDraft.id)).body;
  const removed = await patchEvaluation(server, e.id, { title: null, evaluator_kind: null, method: null, evidence_level: null });
  assert.deepEqual([...errorFields(removed)].sort(), ['evaluator_kind', 'evidence_level', 'method', 'title']);
  for (const error of removed.body.errors) assert.match(error.message, /cannot be removed/);
  const bad = await patchEvaluation(server, e.id, {
    case_id: ownPublished.id,
    status: 'published',
    version: 9,
    colour: 'rød',
    evidence_level: 0,
    report_url: 'mailto:a@b.dk',
    period_start: '2016-01-01',
    period_end: '2015-01-01',
    economic: { investment_dkk: -5, payback_years: 1 },
    quality_effects: [{ indicator: 'x', baseline: 1, result: 2 }],
  });
  assert.deepEqual(
    [...errorFields(bad)].sort(),
    [
      'case_id',
      'colour',
      'economic.investment_dkk',
      'economic.payback_years',
      'evidence_level',
      'period_end',
      'quality_effects[0].higher_is_better',
      'report_url',
      'status',
      'version',
    ].sort(),
  );
  const got = await getEvaluation(server, e.id);
  assert.deepEqual(got.body, e, 'a refused patch changed the evaluation');
  assert.equal((await evaluationHistoryOf(server, e.id)).length, 1);
});

test('evaluations_patch_checks_period_end_against_the_stored_period_start', async () => {
  const e = (await createEvaluation(server, ownDraft.id, 'admin', { period_start: '2015-06-01' })).body;
  const response = await patchEvaluation(server, e.id, { period_end: '2015-05-31' });
  assert.deepEqual([...errorFields(response)], ['period_end']);
  const ok = await patchEvaluation(server, e.id, { period_end: '2015-06-01' });
  assert.equal(ok.status, 200, ok.text);
  // Removing the start lifts the rule.
  const moved = await patchEvaluation(server, e.id, { period_start: null, period_end: '1999-01-01' });
  assert.equal(moved.status, 200, moved.text);
});

test('evaluations_patch_null_removes_economic_and_quality_effects', async () => {
  const e = (await postEvaluation(server, ownDraft.id, fullEvaluationBody())).body;
  const response = await patchEvaluation(server, e.id, { economic: null, quality_effects: null, evaluator_name: null, report_url: null });
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.body.economic, {
    investment_dkk: null,
    annual_savings_dkk: null,
    annual_running_costs_dkk: null,
    net_annual_effect_dkk: null,
    payback_years: null,
  });
  assert.deepEqual(response.body.quality_effects, []);
  assert.equal(response.body.evaluator_name, null);
  assert.equal(response.body.report_url, null);
});

test('evaluations_patch_replaces_quality_effects_as_a_whole', async () => {
  const e = (await postEvaluation(server, ownDraft.id, fullEvaluationBody())).body;
  assert.equal(e.quality_effects.length, 2);
  const row = { indicator: 'Genindlæggelser', baseline: 30, result: 20, higher_is_better: false };
  const response = await patchEvaluation(server, e.id, { quality_effects: [row] });
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.body.quality_effects, [{ ...row, unit: null, change: -10, improved: true }]);
  const history = await evaluationHistoryOf(server, e.id);
  assert.deepEqual(history[0].changed_fields, ['quality_effects']);
});

test('evaluations_patch_merges_into_economic_member_by_member_rfc_7396', async () => {
  const e = (await postEvaluation(server, ownDraft.id, fullEvaluationBody())).body;
  const response = await patchEvaluation(server, e.id, { economic: { annual_savings_dkk: 450000 } });
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.body.economic, {
    investment_dkk: 400000,
    annual_savings_dkk: 450000,
    annual_running_costs_dkk: 50000,
    net_annual_effect_dkk: 400000,
    payback_years: 1,
  });
  // null inside economic removes that figure only.
  const removed = await patchEvaluation(server, e.id, { economic: { annual_running_costs_dkk: null } });
  assert.equal(removed.body.economic.investment_dkk, 400000);
  assert.equal(removed.body.economic.annual_running_costs_dkk, null);
  assert.equal(removed.body.economic.net_annual_effect_dkk, 450000);
});

test('evaluations_patch_accepts_application_json_and_refuses_other_media_types_and_non_objects', async () => {
  const e = (await createEvaluation(server, ownDraft.id)).body;
  const json = await request(server, 'PATCH', `/v1/evaluations/${e.id}`, { headers: authFor('admin'), body: { conclusion: 'JSON virker.' } });
  assert.equal(json.status, 200, json.text);
  assert.equal(json.body.conclusion, 'JSON virker.');
  const text = await request(server, 'PATCH', `/v1/evaluations/${e.id}`, {
    headers: { ...authFor('admin'), 'Content-Type': 'text/plain' },
    rawBody: '{"conclusion": "nej"}',
  });
  assert.equal(text.status, 415, text.text);
  const array = await patchEvaluation(server, e.id, [{ conclusion: 'nej' }]);
  assert.deepEqual([...errorFields(array)], [''], array.text);
  for (const body of ['x', null]) {
    const response = await patchEvaluation(server, e.id, body);
    assert.equal(response.status, 400, response.text);
  }
  assert.equal((await getEvaluation(server, e.id)).body.conclusion, 'JSON virker.');
});

test('evaluations_partner_edits_its_own_evaluation_while_not_yet_published', async () => {
  for (const status of ['draft', 'submitted', 'in_review', 'changes_requested']) {
    const e = await evaluationIn(server, ownDraft.id, status);
    const response = await patchEvaluation(server, e.id, { conclusion: `Rettet i ${status}` }, 'partner');
    assert.equal(response.status, 200, `${status}: ${response.text}`);
    assert.equal(response.body.conclusion, `Rettet i ${status}`);
    assert.equal(response.body.status, status, 'editing does not move the evaluation');
  }
  // Partner 0147 leads `listing`: it edits that case's draft evaluations.
  const draftOnListing = await evaluationIn(server, listing.id, 'draft');
  const response = await patchEvaluation(server, draftOnListing.id, { conclusion: 'Ja' }, 'partner', { org: '0147' });
  assert.equal(response.status, 200, response.text);
});

test('evaluations_partner_cannot_edit_its_published_or_archived_evaluation_403', async () => {
  await onOwnServer(async (srv) => {
    const kase = await caseIn(srv, 'published');
    for (const status of ['published', 'archived']) {
      const e = await evaluationIn(srv, kase.id, status);
      const response = await patchEvaluation(srv, e.id, { conclusion: 'Rettet' }, 'partner');
      assert.equal(response.status, 403, `${status}: ${response.text}`);
      assert.equal(response.body.type, 'urn:problem:coi:forbidden');
      assert.deepEqual((await getEvaluation(srv, e.id)).body, e);
    }
  });
});

test('evaluations_partner_cannot_edit_evaluations_of_a_case_it_only_takes_part_in_or_another_orgs', async () => {
  await onOwnServer(async (srv) => {
    const partnerCase = await caseIn(srv, 'draft', { organisation_code: '0147', partner_organisation_codes: ['0101'] });
    const foreignCase = await caseIn(srv, 'published', { organisation_code: '0147' });
    // A draft evaluation of a case it only takes part in is not even visible to it.
    const draft = await evaluationIn(srv, partnerCase.id, 'draft');
    assert.equal((await patchEvaluation(srv, draft.id, { conclusion: 'Nej' }, 'partner')).status, 404);
    const published = await evaluationIn(srv, partnerCase.id, 'published');
    const foreign = await evaluationIn(srv, foreignCase.id, 'published');
    for (const e of [published, foreign]) {
      const response = await patchEvaluation(srv, e.id, { conclusion: 'Nej' }, 'partner');
      assert.equal(response.status, 403, response.text);
      assert.equal((await getEvaluation(srv, e.id)).body.conclusion, null);
    }
  });
});

test('evaluations_editor_and_admin_edit_published_and_archived_evaluations', async () => {
  for (const [role, status] of [['editor', 'published'], ['admin', 'archived'], ['editor', 'archived']]) {
    const e = await evaluationIn(server, foreignPublished.id, status);
    const response = await patchEvaluation(server, e.id, { evidence_level: 5 }, role);
    assert.equal(response.status, 200, `${role} ${status}: ${response.text}`);
    assert.equal(response.body.evidence_level, 5);
    assert.equal(response.body.status, status);
    const history = await evaluationHistoryOf(server, e.id);
    assert.equal(history[0].actor.role, role);
    assert.equal(history[0].from_status, status);
  }
});

test('evaluations_steering_cannot_edit_or_remove_403_and_anonymous_401', async () => {
  const e = await evaluationIn(server, ownPublished.id, 'published');
  assert.equal((await patchEvaluation(server, e.id, { conclusion: 'x' }, 'steering')).status, 403);
  assert.equal((await patchEvaluation(server, e.id, { conclusion: 'x' }, 'anonymous')).status, 401);
  assert.equal((await request(server, 'DELETE', `/v1/evaluations/${e.id}`, { headers: authFor('steering') })).status, 403);
  assert.equal((await request(server, 'DELETE', `/v1/evaluations/${e.id}`)).status, 401);
  assert.deepEqual((await getEvaluation(server, e.id)).body, e);
});

// ---- preconditions -----------------------------------------------------------------------------

test('evaluations_delete_with_a_stale_if_match_or_if_none_match_star_is_412_and_removes_nothing', async () => {
  const created = await createEvaluation(server, ownDraft.id, 'partner');
  const stale = created.headers.get('etag');
  const changed = await patchEvaluation(server, created.body.id, { conclusion: 'Først' }, 'partner', {}, { 'If-Match': stale });
  assert.equal(changed.status, 200, changed.text);
  const current = changed.headers.get('etag');
  for (const headers of [{ 'If-Match': stale }, { 'If-None-Match': '*' }, { 'If-None-Match': current }]) {
    const refused = await request(server, 'DELETE', `/v1/evaluations/${created.body.id}`, { headers: { ...authFor('partner'), ...headers } });
    assert.equal(refused.status, 412, `${JSON.stringify(headers)}: ${refused.text}`);
    assert.equal(refused.body.type, 'urn:problem:coi:precondition-failed');
  }
  const got = await getEvaluation(server, created.body.id);
  assert.equal(got.body.conclusion, 'Først');
  assert.equal(got.headers.get('etag'), current);
  const deleted = await request(server, 'DELETE', `/v1/evaluations/${created.body.id}`, { headers: { ...authFor('partner'), 'If-Match': current } });
  assert.equal(deleted.status, 204, deleted.text);
});

test('evaluations_patch_with_the_current_if_match_or_another_if_none_match_applies', async () => {
  const created = await createEvaluation(server, ownDraft.id);
  const first = await patchEvaluation(server, created.body.id, { conclusion: 'A' }, 'admin', {}, { 'If-Match': created.headers.get('etag') });
  assert.equal(first.status, 200, first.text);
  const second = await patchEvaluation(server, created.body.id, { conclusion: 'B' }, 'admin', {}, { 'If-None-Match': '"0000000000000000"' });
  assert.equal(second.status, 200, second.text);
  assert.equal(second.body.conclusion, 'B');
});

test('evaluations_patch_with_a_stale_if_match_or_if_none_match_star_is_412_and_changes_nothing', async () => {
  await onOwnServer(async (srv) => {
    const kase = await caseIn(srv, 'draft');
    const created = await createEvaluation(srv, kase.id, 'partner');
    const stale = created.headers.get('etag');
    const changed = await patchEvaluation(srv, created.body.id, { conclusion: 'Først' }, 'partner', {}, { 'If-Match': stale });
    assert.equal(changed.status, 200, changed.text);
    for (const headers of [{ 'If-Match': stale }, { 'If-None-Match': '*' }, { 'If-None-Match': changed.headers.get('etag') }]) {
      const late = await patchEvaluation(srv, created.body.id, { conclusion: 'Sidst' }, 'partner', {}, headers);
      assert.equal(late.status, 412, `${JSON.stringify(headers)}: ${late.text}`);
      assert.equal(late.body.type, 'urn:problem:coi:precondition-failed');
    }
    assert.deepEqual((await getEvaluation(srv, created.body.id)).body, changed.body);
    assert.equal((await evaluationHistoryOf(srv, created.body.id)).length, 2);
  });
});

test('evaluations_get_with_the_current_etag_in_if_none_match_answers_304', async () => {
  const created = await createEvaluation(server, ownDraft.id);
  const etag = created.headers.get('etag');
  const same = await getEvaluation(server, created.body.id, 'admin', {}, { 'If-None-Match': etag });
  assert.equal(same.status, 304);
  assert.equal(same.text, '');
  assert.equal(same.headers.get('etag'), etag);
  const other = await getEvaluation(server, created.body.id, 'admin', {}, { 'If-None-Match': '"0000000000000000"' });
  assert.equal(other.status, 200);
});

test('evaluations_two_patches_at_once_with_the_same_if_match_one_wins', async () => {
  await onOwnServer(async (srv) => {
    const kase = await caseIn(srv, 'draft');
    const created = await createEvaluation(srv, kase.id);
    const etag = created.headers.get('etag');
    const [a, b] = await Promise.all(
      ['A', 'B'].map((v) => patchEvaluation(srv, created.body.id, { conclusion: v }, 'admin', {}, { 'If-Match': etag })),
    );
    assert.deepEqual([a.status, b.status].sort(), [200, 412], `${a.text}\n${b.text}`);
    const winner = a.status === 200 ? 'A' : 'B';
    assert.equal((await getEvaluation(srv, created.body.id)).body.conclusion, winner);
    assert.equal((await evaluationHistoryOf(srv, created.body.id)).length, 2);
  });
});

// ---- removing ----------------------------------------------------------------------------------

test('evaluations_partner_removes_its_own_unpublished_evaluation_and_its_history_goes_with_it', async () => {
  for (const status of ['draft', 'submitted', 'in_review', 'changes_requested']) {
    const e = await evaluationIn(server, ownDraft.id, status);
    const response = await request(server, 'DELETE', `/v1/evaluations/${e.id}`, { headers: authFor('partner') });
    assert.equal(response.status, 204, `${status}: ${response.text}`);
    assert.equal(response.text, '');
    assert.equal((await getEvaluation(server, e.id)).status, 404);
    const history = await request(server, 'GET', `/v1/evaluations/${e.id}/history`, { headers: authFor('admin') });
    assert.equal(history.status, 404, history.text);
    assert.ok(!(await evaluationIdsOf(ownDraft.id)).includes(e.id));
    const again = await request(server, 'DELETE', `/v1/evaluations/${e.id}`, { headers: authFor('partner') });
    assert.equal(again.status, 404, again.text);
  }
});

test('evaluations_partner_cannot_remove_a_published_or_archived_evaluation_but_an_editor_can', async () => {
  for (const status of ['published', 'archived']) {
    const e = await evaluationIn(server, ownPublished.id, status);
    const refused = await request(server, 'DELETE', `/v1/evaluations/${e.id}`, { headers: authFor('partner') });
    assert.equal(refused.status, 403, refused.text);
    assert.equal((await getEvaluation(server, e.id)).status, 200);
    const removed = await request(server, 'DELETE', `/v1/evaluations/${e.id}`, { headers: authFor('editor') });
    assert.equal(removed.status, 204, removed.text);
  }
  const e = await evaluationIn(server, foreignPublished.id, 'published');
  assert.equal((await request(server, 'DELETE', `/v1/evaluations/${e.id}`, { headers: authFor('partner') })).status, 403);
  assert.equal((await request(server, 'DELETE', `/v1/evaluations/${e.id}`, { headers: authFor('admin') })).status, 204);
});

test('evaluations_unknown_or_malformed_ids_are_404_on_every_evaluation_route', async () => {
  for (const id of ['00000000-0000-0000-0000-000000000000', 'nope', 'x'.repeat(36), `${ownDraft.id}`]) {
    assert.equal((await getEvaluation(server, id)).status, 404, `GET ${id}`);
    assert.equal((await patchEvaluation(server, id, { conclusion: 'x' })).status, 404, `PATCH ${id}`);
    assert.equal((await request(server, 'DELETE', `/v1/evaluations/${id}`, { headers: authFor('admin') })).status, 404, `DELETE ${id}`);
    const moved = await request(server, 'POST', `/v1/evaluations/${id}/transitions`, { headers: authFor('admin'), body: { to: 'submitted' } });
    assert.equal(moved.status, 404, `transition ${id}`);
    assert.equal((await request(server, 'GET', `/v1/evaluations/${id}/history`, { headers: authFor('admin') })).status, 404, `history ${id}`);
  }
});

test('evaluations_routes_without_query_parameters_refuse_any_with_422_and_change_nothing', async () => {
  const e = (await createEvaluation(server, ownDraft.id)).body;
  const get = await request(server, 'GET', `/v1/evaluations/${e.id}?fields=title`, { headers: authFor('admin') });
  assert.deepEqual([...errorFields(get)], ['fields']);
  const patch = await request(server, 'PATCH', `/v1/evaluations/${e.id}?dry_run=1&force=1`, {
    headers: { ...authFor('admin'), 'Content-Type': 'application/merge-patch+json' },
    body: { conclusion: 'Nej' },
  });
  assert.deepEqual([...errorFields(patch)].sort(), ['dry_run', 'force']);
  const remove = await request(server, 'DELETE', `/v1/evaluations/${e.id}?cascade=true`, { headers: authFor('admin') });
  assert.deepEqual([...errorFields(remove)], ['cascade']);
  const postWithQuery = await request(server, 'POST', `/v1/cases/${ownDraft.id}/evaluations?notify=1`, { headers: authFor('admin'), body: evaluationBody() });
  assert.deepEqual([...errorFields(postWithQuery)], ['notify']);
  const moved = await request(server, 'POST', `/v1/evaluations/${e.id}/transitions?x=`, { headers: authFor('admin'), body: { to: 'submitted' } });
  assert.deepEqual([...errorFields(moved)], ['x']);
  assert.deepEqual((await getEvaluation(server, e.id)).body, e);
  // The token is checked first: anonymous callers of a write get 401.
  const anonymous = await request(server, 'DELETE', `/v1/evaluations/${e.id}?cascade=true`);
  assert.equal(anonymous.status, 401, anonymous.text);
});
