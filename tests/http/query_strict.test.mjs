// Query parameters are checked strictly on every /v1 operation: one that documents no query
// parameter refuses any with a 422 naming it (after the token and the role are checked), and
// changes nothing; one that documents some refuses any other. Driven by the document, so a new
// operation is covered as soon as it is documented.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { document, request } from './lib/contract.mjs';
import { errorFields, snapshot } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';
import { caseIn, MERGE_PATCH } from './lib/cases.mjs';
import { evaluationBody, evaluationIn, listedEvaluations } from './lib/evaluations.mjs';

let server;
let kase; // a published case of 0101
let adoptionId; // 0147 adopting it
let evaluationId; // a draft evaluation of it

before(async () => {
  server = await startServer();
  kase = await caseIn(server, 'published');
  const adoption = await request(server, 'POST', `/v1/cases/${kase.id}/adoptions`, {
    headers: authFor('admin'),
    body: { organisation_code: '0147', status: 'considering' },
  });
  assert.equal(adoption.status, 201, adoption.text);
  adoptionId = adoption.body.id;
  evaluationId = (await evaluationIn(server, kase.id, 'draft')).id;
});
after(async () => {
  await server?.stop();
});

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Every documented /v1 operation as {method, template, queryParameters}. */
function operations() {
  const out = [];
  for (const [template, item] of Object.entries(document.paths)) {
    if (!template.startsWith('/v1/')) continue;
    for (const method of METHODS.filter((m) => item[m])) {
      const parameters = [...(item.parameters ?? []), ...(item[method].parameters ?? [])].map((p) =>
        p.$ref ? document.components.parameters[p.$ref.split('/').pop()] : p,
      );
      out.push({ method: method.toUpperCase(), template, query: parameters.filter((p) => p.in === 'query').map((p) => p.name) });
    }
  }
  return out;
}

/** A request each write would accept from an admin (so that only the query refuses it). */
function sample(method, template) {
  const path = template
    .replace('{code}', template.includes('/cases/{external_id}') ? '0101' : '0147')
    .replace('{external_id}', 'strict-query')
    .replace(/^\/v1\/adoptions\/\{id\}/, `/v1/adoptions/${adoptionId}`)
    .replace(/^\/v1\/evaluations\/\{id\}/, `/v1/evaluations/${evaluationId}`)
    .replace('{id}', kase.id);
  const bodies = {
    'POST /v1/organisations': { code: 'STRICT', name: 'Strengt ministerium', kind: 'state' },
    'PATCH /v1/organisations/{code}': { name: 'Frederiksberg (ændret)' },
    'POST /v1/cases': { organisation_code: '0101', title: 'Streng', summary: 'x', innovation_types: ['task'] },
    'PATCH /v1/cases/{id}': { scope: 'Ændret' },
    'PUT /v1/organisations/{code}/cases/{external_id}': { title: 'Streng', summary: 'x', innovation_types: ['task'] },
    'POST /v1/cases/{id}/transitions': { to: 'archived' },
    'POST /v1/cases/{id}/adoptions': { organisation_code: '0751', status: 'considering' },
    'PATCH /v1/adoptions/{id}': { status: 'implemented' },
    'POST /v1/cases/{id}/evaluations': evaluationBody(),
    'PATCH /v1/evaluations/{id}': { conclusion: 'Ændret' },
    'POST /v1/evaluations/{id}/transitions': { to: 'submitted' },
  };
  const body = bodies[`${method} ${template}`];
  const headers = method === 'PATCH' ? MERGE_PATCH : {};
  return { path, body, headers };
}

/** Everything a refused write could have changed. */
async function state() {
  const cases = await request(server, 'GET', '/v1/cases?limit=200', { headers: authFor('admin') });
  const adoptions = await request(server, 'GET', `/v1/cases/${kase.id}/adoptions?limit=200`, { headers: authFor('admin') });
  return {
    organisations: await snapshot(server),
    cases: cases.body.items,
    adoptions: adoptions.body.items,
    evaluations: await listedEvaluations(server, 'admin'),
  };
}

test('query_every_v1_operation_refuses_an_unknown_query_parameter_with_422_and_changes_nothing', async () => {
  const ops = operations();
  assert.ok(ops.length >= 24, `only ${ops.length} operations found`);
  const before = await state();
  for (const { method, template, query } of ops) {
    const { path, body, headers } = sample(method, template);
    const name = 'colour';
    assert.ok(!query.includes(name), `${method} ${template} documents ${name}`);
    const response = await request(server, method, `${path}?${name}=blue`, { headers: { ...authFor('admin'), ...headers }, body });
    assert.deepEqual(errorFields(response), new Set([name]), `${method} ${template}: ${response.text}`);
    assert.match(response.body.errors[0].message, /unknown query parameter/);
  }
  assert.deepEqual(await state(), before, 'a request refused for its query changed something');
});

test('query_operations_without_parameters_refuse_even_an_empty_or_valueless_one', async () => {
  const checks = [
    ['GET', `/v1/cases/${kase.id}?`, null],
    ['GET', `/v1/cases/${kase.id}?debug`, 'debug'],
    ['GET', `/v1/cases/${kase.id}?limit=10`, 'limit'],
    ['GET', `/v1/organisations/0101?a=1&b=2`, 'a,b'],
    ['GET', `/v1/adoptions/${adoptionId}?status=considering`, 'status'],
    ['GET', `/v1/evaluations/${evaluationId}?case_id=${kase.id}`, 'case_id'],
  ];
  for (const [method, path, names] of checks) {
    const response = await request(server, method, path, { headers: authFor('editor') });
    if (names === null) {
      assert.equal(response.status, 200, `${path}: an empty query string is no parameter`);
      continue;
    }
    assert.deepEqual(errorFields(response), new Set(names.split(',')), `${path}: ${response.text}`);
  }
});

test('query_is_checked_after_the_token_and_the_role', async () => {
  const anonymousWrite = await request(server, 'DELETE', `/v1/adoptions/${adoptionId}?force=1`);
  assert.equal(anonymousWrite.status, 401, anonymousWrite.text);
  const steeringWrite = await request(server, 'PATCH', `/v1/evaluations/${evaluationId}?force=1`, {
    headers: { ...authFor('steering'), ...MERGE_PATCH },
    body: { conclusion: 'x' },
  });
  assert.equal(steeringWrite.status, 403, steeringWrite.text);
  const badToken = await request(server, 'GET', `/v1/cases/${kase.id}?force=1`, { headers: { Authorization: 'Bearer x.y.z' } });
  assert.equal(badToken.status, 401, badToken.text);
  // Anonymous reads are allowed, so their query is checked.
  const anonymousRead = await request(server, 'GET', `/v1/cases/${kase.id}?force=1`);
  assert.deepEqual(errorFields(anonymousRead), new Set(['force']));
});
