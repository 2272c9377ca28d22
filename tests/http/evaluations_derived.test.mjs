// The figures the service derives for an evaluation: the economic net annual effect and payback
// time (null when there is no net saving to pay back with), and each quality indicator's
// change and whether it improved, in both directions. They are read-only and follow every
// change of the figures they come from.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseIn } from './lib/cases.mjs';
import { evaluationBody, getEvaluation, patchEvaluation, postEvaluation } from './lib/evaluations.mjs';

let server;
let kase;

/** Runs `fn(srv, caseId)` against a server of its own with a draft case of 0101, stopped
 * afterwards (which asserts a clean exit): for requests that may leave a record every later
 * read of which fails, or crash the server. */
async function onOwnServer(fn) {
  const srv = await startServer();
  try {
    await fn(srv, (await caseIn(srv, 'draft')).id);
  } finally {
    await srv.stop();
  }
}

before(async () => {
  server = await startServer();
  kase = await caseIn(server, 'draft');
});
after(async () => {
  await server?.stop();
});

/** Adds an evaluation with `economic` as a partner of 0101; returns its shown economic block
 * (and checks GET shows the same). */
async function economicOf(economic) {
  const response = await postEvaluation(server, kase.id, evaluationBody({ economic }), 'partner');
  assert.equal(response.status, 201, response.text);
  const got = await getEvaluation(server, response.body.id, 'partner');
  assert.deepEqual(got.body.economic, response.body.economic);
  return response.body.economic;
}

/** Adds an evaluation with one quality effect `row`; returns the row as shown. */
async function effectOf(row) {
  const response = await postEvaluation(server, kase.id, evaluationBody({ quality_effects: [row] }));
  assert.equal(response.status, 201, response.text);
  return response.body.quality_effects[0];
}

// ---- economic ------------------------------------------------------------------------------------

test('evaluations_net_effect_is_savings_minus_running_costs_and_payback_is_investment_over_it', async () => {
  assert.deepEqual(await economicOf({ investment_dkk: 400000, annual_savings_dkk: 250000, annual_running_costs_dkk: 50000 }), {
    investment_dkk: 400000,
    annual_savings_dkk: 250000,
    annual_running_costs_dkk: 50000,
    net_annual_effect_dkk: 200000,
    payback_years: 2,
  });
});

test('evaluations_payback_is_rounded_to_two_decimals', async () => {
  const cases = [
    [{ investment_dkk: 1000, annual_savings_dkk: 300 }, 3.33],
    [{ investment_dkk: 1000, annual_savings_dkk: 600 }, 1.67],
    [{ investment_dkk: 100, annual_savings_dkk: 800 }, 0.13], // 0.125 rounds half away from zero
    [{ investment_dkk: 1, annual_savings_dkk: 1000 }, 0],
    [{ investment_dkk: 0, annual_savings_dkk: 5000 }, 0],
    [{ investment_dkk: 1000000000000, annual_savings_dkk: 3 }, 333333333333.33],
    [{ investment_dkk: 750000, annual_savings_dkk: 400000, annual_running_costs_dkk: 100000 }, 2.5],
  ];
  for (const [economic, payback] of cases) {
    const shown = await economicOf(economic);
    assert.equal(shown.payback_years, payback, JSON.stringify(economic));
  }
});

test('evaluations_payback_is_null_when_savings_are_zero', async () => {
  const zero = await economicOf({ investment_dkk: 500000, annual_savings_dkk: 0 });
  assert.equal(zero.net_annual_effect_dkk, 0);
  assert.equal(zero.payback_years, null);
  const even = await economicOf({ investment_dkk: 500000, annual_savings_dkk: 80000, annual_running_costs_dkk: 80000 });
  assert.equal(even.net_annual_effect_dkk, 0);
  assert.equal(even.payback_years, null);
});

test('evaluations_negative_net_effect_when_running_costs_exceed_savings_and_no_payback', async () => {
  const loss = await economicOf({ investment_dkk: 200000, annual_savings_dkk: 30000, annual_running_costs_dkk: 75000 });
  assert.equal(loss.net_annual_effect_dkk, -45000);
  assert.equal(loss.payback_years, null);
  // Running costs alone: the savings count as 0.
  const costs = await economicOf({ annual_running_costs_dkk: 12000 });
  assert.equal(costs.net_annual_effect_dkk, -12000);
  assert.equal(costs.payback_years, null);
  assert.equal(costs.annual_savings_dkk, null);
});

test('evaluations_net_effect_without_running_costs_is_the_savings_and_payback_needs_an_investment', async () => {
  const savings = await economicOf({ annual_savings_dkk: 90000 });
  assert.equal(savings.net_annual_effect_dkk, 90000);
  assert.equal(savings.payback_years, null, 'no investment, no payback time');
  assert.equal(savings.annual_running_costs_dkk, null);
});

test('evaluations_investment_alone_gives_neither_net_effect_nor_payback', async () => {
  for (const economic of [{ investment_dkk: 300000 }, { investment_dkk: 300000, annual_savings_dkk: null, annual_running_costs_dkk: null }, {}]) {
    const shown = await economicOf(economic);
    assert.equal(shown.net_annual_effect_dkk, null, JSON.stringify(economic));
    assert.equal(shown.payback_years, null, JSON.stringify(economic));
  }
});

test('evaluations_derived_economic_figures_follow_a_patch', async () => {
  const created = await postEvaluation(server, kase.id, evaluationBody({ economic: { investment_dkk: 100000, annual_savings_dkk: 50000 } }), 'partner');
  assert.equal(created.body.economic.payback_years, 2);
  const costlier = await patchEvaluation(server, created.body.id, {
    economic: { investment_dkk: 100000, annual_savings_dkk: 50000, annual_running_costs_dkk: 60000 },
  }, 'partner');
  assert.equal(costlier.status, 200, costlier.text);
  assert.equal(costlier.body.economic.net_annual_effect_dkk, -10000);
  assert.equal(costlier.body.economic.payback_years, null);
  const cheaper = await patchEvaluation(server, created.body.id, {
    economic: { investment_dkk: 100000, annual_savings_dkk: 50000, annual_running_costs_dkk: 10000 },
  }, 'partner');
  assert.equal(cheaper.body.economic.net_annual_effect_dkk, 40000);
  assert.equal(cheaper.body.economic.payback_years, 2.5);
  assert.notEqual(cheaper.headers.get('etag'), costlier.headers.get('etag'));
});

test('evaluations_derived_economic_figures_are_read_only', async () => {
  for (const key of ['net_annual_effect_dkk', 'payback_years']) {
    const response = await postEvaluation(server, kase.id, evaluationBody({ economic: { annual_savings_dkk: 10, [key]: 10 } }));
    assert.deepEqual([...errorFields(response)], [`economic.${key}`], response.text);
    assert.match(response.body.errors[0].message, /read-only/);
  }
  // Sending back the economic block as shown is refused too: the derived figures are named.
  const created = await postEvaluation(server, kase.id, evaluationBody({ economic: { investment_dkk: 10, annual_savings_dkk: 5 } }));
  const echoed = await patchEvaluation(server, created.body.id, { economic: created.body.economic });
  assert.deepEqual([...errorFields(echoed)].sort(), ['economic.net_annual_effect_dkk', 'economic.payback_years']);
});

// ---- quality effects ---------------------------------------------------------------------------

test('evaluations_quality_change_is_result_minus_baseline_and_improved_follows_higher_is_better', async () => {
  const rows = [
    // higher is better, and it went up: improved
    [{ indicator: 'Tilfredshed', unit: 'procent', baseline: 70, result: 82, higher_is_better: true }, 12, true],
    // higher is better, and it went down: not improved
    [{ indicator: 'Tilfredshed', unit: 'procent', baseline: 70, result: 64, higher_is_better: true }, -6, false],
    // lower is better, and it went down: improved
    [{ indicator: 'Ventetid', unit: 'dage', baseline: 12, result: 8, higher_is_better: false }, -4, true],
    // lower is better, and it went up: not improved
    [{ indicator: 'Ventetid', unit: 'dage', baseline: 12, result: 15, higher_is_better: false }, 3, false],
    // no change is no improvement, either way
    [{ indicator: 'Fravær', baseline: 5, result: 5, higher_is_better: true }, 0, false],
    [{ indicator: 'Fravær', baseline: 5, result: 5, higher_is_better: false }, 0, false],
  ];
  for (const [row, change, improved] of rows) {
    const shown = await effectOf(row);
    assert.deepEqual(shown, { unit: null, ...row, change, improved }, JSON.stringify(row));
  }
});

test('evaluations_quality_change_of_decimals_and_negative_values', async () => {
  const rows = [
    [{ indicator: 'Andel', baseline: 10, result: 7.5, higher_is_better: false }, -2.5, true],
    [{ indicator: 'Andel', baseline: 0.1, result: 0.3, higher_is_better: true }, 0.2, true],
    [{ indicator: 'Saldo', baseline: -3, result: 2, higher_is_better: true }, 5, true],
    [{ indicator: 'Saldo', baseline: 2.25, result: -1.5, higher_is_better: false }, -3.75, true],
  ];
  for (const [row, change, improved] of rows) {
    const shown = await effectOf(row);
    assert.equal(shown.change, change, JSON.stringify(row));
    assert.equal(shown.improved, improved, JSON.stringify(row));
  }
});

test('evaluations_quality_derived_figures_are_kept_per_row_and_follow_a_patch', async () => {
  const created = await postEvaluation(server, kase.id, evaluationBody({
    quality_effects: [
      { indicator: 'A', baseline: 1, result: 2, higher_is_better: true },
      { indicator: 'B', baseline: 1, result: 2, higher_is_better: false },
    ],
  }));
  assert.deepEqual(created.body.quality_effects.map((q) => [q.change, q.improved]), [[1, true], [1, false]]);
  const flipped = await patchEvaluation(server, created.body.id, {
    quality_effects: [
      { indicator: 'A', baseline: 2, result: 1, higher_is_better: true },
      { indicator: 'B', baseline: 2, result: 1, higher_is_better: false },
    ],
  });
  assert.equal(flipped.status, 200, flipped.text);
  assert.deepEqual(flipped.body.quality_effects.map((q) => [q.change, q.improved]), [[-1, false], [-1, true]]);
});

test('evaluations_derived_quality_figures_are_read_only', async () => {
  const row = { indicator: 'A', baseline: 1, result: 2, higher_is_better: true };
  for (const key of ['change', 'improved']) {
    const response = await postEvaluation(server, kase.id, evaluationBody({ quality_effects: [row, { ...row, [key]: 1 }] }));
    assert.deepEqual([...errorFields(response)], [`quality_effects[1].${key}`], response.text);
  }
});

test('evaluations_quality_values_whose_change_overflows_a_double_are_refused', async () => {
  await onOwnServer(async (srv, caseId) => {
    const row = { indicator: 'Ekstrem', baseline: -1e308, result: 1e308, higher_is_better: true };
    const response = await postEvaluation(srv, caseId, evaluationBody({ quality_effects: [row] }));
    assert.equal(response.status, 422, response.text);
    assert.ok([...errorFields(response)].every((f) => f.startsWith('quality_effects[0].')), response.text);
  });
});

test('evaluations_quality_integers_whose_change_overflows_64_bits_are_refused_and_do_not_crash', async () => {
  await onOwnServer(async (srv, caseId) => {
    const body = JSON.stringify(evaluationBody()).replace(
      /}$/,
      ',"quality_effects":[{"indicator":"Ekstrem","baseline":-9223372036854775808,"result":9223372036854775807,"higher_is_better":true}]}',
    );
    const response = await request(srv, 'POST', `/v1/cases/${caseId}/evaluations`, {
      headers: { ...authFor('admin'), 'Content-Type': 'application/json' },
      rawBody: body,
    });
    assert.equal(response.status, 422, response.text);
    assert.ok([...errorFields(response)].every((f) => f.startsWith('quality_effects[0].')), response.text);
  });
});
