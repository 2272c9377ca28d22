// System behaviour: probes, the served document, request ids, generic 404/405, request logs
// and a clean exit on SIGTERM.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { DOCUMENT_PATH, document, request } from './lib/contract.mjs';
import { startServer, testBackend } from './lib/server.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

test('healthz_returns_200_status_ok', async () => {
  const response = await request(server, 'GET', '/healthz');
  assert.equal(response.status, 200);
  assert.deepEqual(response.body, { status: 'ok' });
});

test('readyz_returns_200_ready_naming_the_storage_backend', async () => {
  const response = await request(server, 'GET', '/readyz');
  assert.equal(response.status, 200);
  assert.deepEqual(response.body, { status: 'ready', storage: testBackend() });
});

test('openapi_json_is_the_yaml_document_converted_to_json', async () => {
  const response = await request(server, 'GET', '/openapi.json');
  assert.equal(response.status, 200);
  assert.deepEqual(response.body, document);
});

test('openapi_yaml_is_the_document_as_written', async () => {
  const response = await request(server, 'GET', '/openapi.yaml');
  assert.equal(response.status, 200);
  assert.equal(response.text, readFileSync(DOCUMENT_PATH, 'utf8'));
  assert.deepEqual(YAML.parse(response.text), document);
});

test('request_id_is_echoed_when_the_client_sends_a_valid_one', async () => {
  const id = 'partner-42.batch_7-' + 'x'.repeat(100);
  const response = await request(server, 'GET', '/healthz', { headers: { 'X-Request-Id': id } });
  assert.equal(response.headers.get('x-request-id'), id);
});

test('request_id_of_128_characters_is_echoed', async () => {
  const id = 'a'.repeat(128);
  const response = await request(server, 'GET', '/healthz', { headers: { 'X-Request-Id': id } });
  assert.equal(response.headers.get('x-request-id'), id);
});

test('request_id_is_generated_and_unique_when_the_client_sends_none', async () => {
  const first = await request(server, 'GET', '/healthz');
  const second = await request(server, 'GET', '/healthz');
  const a = first.headers.get('x-request-id');
  const b = second.headers.get('x-request-id');
  assert.match(a, REQUEST_ID);
  assert.match(b, REQUEST_ID);
  assert.notEqual(a, b);
});

test('request_id_is_replaced_when_the_client_sends_an_invalid_one', async () => {
  for (const bad of ['has spaces', 'a'.repeat(129), 'semi;colon', 'slash/ed', '']) {
    const response = await request(server, 'GET', '/healthz', { headers: { 'X-Request-Id': bad } });
    const id = response.headers.get('x-request-id');
    assert.match(id, REQUEST_ID, `for ${JSON.stringify(bad)}`);
    assert.notEqual(id, bad);
  }
});

test('unknown_route_returns_404_problem_json_with_instance_and_request_id', async () => {
  const response = await request(server, 'GET', '/no/such/route', { headers: { 'X-Request-Id': 'probe-404' } });
  assert.equal(response.status, 404);
  assert.match(response.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(response.body.type, 'urn:problem:coi:not-found');
  assert.equal(response.body.status, 404);
  assert.equal(response.body.instance, '/no/such/route');
  assert.equal(response.body.request_id, 'probe-404');
});

test('unknown_path_below_an_organisation_returns_404_problem_json', async () => {
  const response = await request(server, 'GET', '/v1/organisations/0101/cases');
  assert.equal(response.status, 404);
  assert.equal(response.body.type, 'urn:problem:coi:not-found');
});

function allowed(response) {
  return new Set(response.headers.get('allow').split(',').map((m) => m.trim()));
}

test('delete_on_organisations_returns_405_with_allow_listing_get_and_post', async () => {
  const response = await request(server, 'DELETE', '/v1/organisations');
  assert.equal(response.status, 405);
  assert.equal(response.body.type, 'urn:problem:coi:method-not-allowed');
  const methods = allowed(response);
  assert.ok(methods.has('GET') && methods.has('POST'), `Allow: ${response.headers.get('allow')}`);
  assert.ok(!methods.has('DELETE') && !methods.has('PATCH'), `Allow: ${response.headers.get('allow')}`);
});

test('put_on_an_organisation_returns_405_with_allow_listing_get_and_patch', async () => {
  const response = await request(server, 'PUT', '/v1/organisations/0101', { body: { name: 'x' } });
  assert.equal(response.status, 405);
  assert.equal(response.body.type, 'urn:problem:coi:method-not-allowed');
  const methods = allowed(response);
  assert.ok(methods.has('GET') && methods.has('PATCH'), `Allow: ${response.headers.get('allow')}`);
  assert.ok(!methods.has('PUT') && !methods.has('POST'), `Allow: ${response.headers.get('allow')}`);
});

test('post_on_healthz_returns_405_with_allow_listing_get', async () => {
  const response = await request(server, 'POST', '/healthz', { body: {} });
  assert.equal(response.status, 405);
  assert.ok(allowed(response).has('GET'), `Allow: ${response.headers.get('allow')}`);
});

function jsonLines(text) {
  const lines = [];
  for (const line of text.split('\n')) {
    if (!line.trim().startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line));
    } catch {
      // not a JSON log line (e.g. a sanitizer banner)
    }
  }
  return lines;
}

async function waitFor(predicate, timeoutMs = 3000) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

// COI_LOG_LEVEL=warn (the harness default) may silence request logs, so this server logs at info.
test('every_request_logs_one_json_line_with_method_path_status_duration', async () => {
  const logged = await startServer({ env: { COI_LOG_LEVEL: 'info' } });
  try {
    const calls = [
      ['GET', '/v1/organisations/0161', 200],
      ['GET', '/log-probe-unknown-route', 404],
      ['DELETE', '/readyz', 405],
    ];
    for (const [method, path, status] of calls) {
      const response = await request(logged, method, path);
      assert.equal(response.status, status);
    }
    const linesFor = (method, path) =>
      jsonLines(logged.stderr()).filter((l) => l.method === method && l.path === path);
    await waitFor(() => calls.every(([method, path]) => linesFor(method, path).length >= 1));
    for (const [method, path, status] of calls) {
      const lines = linesFor(method, path);
      assert.equal(lines.length, 1, `expected one log line for ${method} ${path}, stderr:\n${logged.stderr()}`);
      const [line] = lines;
      assert.equal(line.status, status);
      const durationKey = Object.keys(line).find((k) => /^duration/.test(k));
      assert.ok(durationKey, `no duration in ${JSON.stringify(line)}`);
      assert.equal(typeof line[durationKey], 'number', JSON.stringify(line));
      assert.ok(line[durationKey] >= 0, JSON.stringify(line));
    }
  } finally {
    await logged.stop();
  }
});

test('sigterm_stops_the_server_with_exit_code_0', async () => {
  const own = await startServer();
  try {
    const response = await request(own, 'GET', '/v1/organisations?limit=5');
    assert.equal(response.status, 200);
  } finally {
    await own.stop();
  }
  assert.equal(own.proc.exitCode, 0);
});
