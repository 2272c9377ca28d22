// Code and contract cannot drift apart: the binary's route table (`coi routes`) and the paths
// and methods of openapi/openapi.yaml must be the same set, and the /v1 operations document
// their problem responses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileAllResponseSchemas, document, documentedOperations } from './lib/contract.mjs';
import { binaryPath, run } from './lib/server.mjs';

async function routes() {
  const result = await run(binaryPath(), ['routes'], { env: { ...process.env, COI_LOG_LEVEL: 'warn' } });
  assert.equal(result.code, 0, `${binaryPath()} routes exited ${result.code}:\n${result.stderr}`);
  let parsed;
  try {
    parsed = JSON.parse(result.stdout);
  } catch (error) {
    assert.fail(`${binaryPath()} routes did not print JSON (${error.message}):\n${result.stdout}`);
  }
  assert.ok(Array.isArray(parsed), 'routes prints a JSON array');
  for (const route of parsed) {
    assert.equal(typeof route.method, 'string', JSON.stringify(route));
    assert.equal(typeof route.path, 'string', JSON.stringify(route));
    assert.equal(typeof route.summary, 'string', JSON.stringify(route));
  }
  return parsed;
}

test('routes_command_lists_exactly_the_documented_operations', async () => {
  const table = await routes();
  const inCode = table.map((r) => `${r.method.toUpperCase()} ${r.path}`);
  assert.equal(new Set(inCode).size, inCode.length, `duplicate routes: ${inCode.join(', ')}`);
  const inDocument = documentedOperations();
  const missingFromDocument = inCode.filter((op) => !inDocument.includes(op)).sort();
  const missingFromCode = inDocument.filter((op) => !inCode.includes(op)).sort();
  assert.deepEqual(
    { missingFromDocument, missingFromCode },
    { missingFromDocument: [], missingFromCode: [] },
    'route table and openapi/openapi.yaml differ',
  );
});

test('routes_summaries_match_the_document', async () => {
  const table = await routes();
  const differences = [];
  for (const route of table) {
    const operation = document.paths[route.path]?.[route.method.toLowerCase()];
    if (operation && operation.summary !== route.summary) {
      differences.push(`${route.method} ${route.path}: code "${route.summary}", document "${operation.summary}"`);
    }
  }
  assert.deepEqual(differences, []);
});

test('openapi_v1_operations_document_4xx_500_and_503_problems', () => {
  const gaps = [];
  for (const [template, item] of Object.entries(document.paths)) {
    if (!template.startsWith('/v1/')) continue;
    for (const [method, operation] of Object.entries(item)) {
      if (!operation?.responses) continue;
      const codes = Object.keys(operation.responses);
      const label = `${method.toUpperCase()} ${template}`;
      if (!codes.some((c) => c.startsWith('4'))) gaps.push(`${label}: no 4xx`);
      for (const code of ['500', '503']) if (!codes.includes(code)) gaps.push(`${label}: no ${code}`);
      for (const code of codes.filter((c) => /^[45]/.test(c))) {
        const ref = operation.responses[code].$ref;
        const response = ref ? document.components.responses[ref.split('/').pop()] : operation.responses[code];
        if (!response?.content?.['application/problem+json']) gaps.push(`${label} ${code}: not a problem+json`);
      }
    }
  }
  assert.deepEqual(gaps, []);
});

test('openapi_every_response_schema_compiles_with_ajv_in_strict_mode', () => {
  assert.ok(compileAllResponseSchemas() > 20);
});
