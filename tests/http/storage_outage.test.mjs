// A storage outage: the test runs its own PostgreSQL cluster, stops it under a running coi and
// starts it again. coi must answer 503 problems (with Retry-After) while the database is down
// and serve again once it is back, without being restarted.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, request } from './lib/contract.mjs';
import { authFor } from './lib/jwt.mjs';
import { freePort, run, startServer, testBackend } from './lib/server.mjs';

const skip =
  testBackend() === 'postgres'
    ? false
    : 'needs COI_TEST_BACKEND=postgres: the outage is made by stopping a PostgreSQL cluster (SQLite cannot go away)';

const PG_CLUSTER = path.join(ROOT, 'scripts/pg-cluster.sh');
let dir;
let port;
let server;

async function cluster(...args) {
  const result = await run(PG_CLUSTER, args);
  assert.equal(result.code, 0, `pg-cluster.sh ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
}

/** Polls `call` until `accept(response)` or the time is up; returns the last response. */
async function eventually(call, accept, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await call();
    if (accept(response) || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

before(async () => {
  if (skip) return;
  dir = await mkdtemp(path.join(os.tmpdir(), 'coi-outage-'));
  port = await freePort();
  await cluster('start', dir, String(port));
  server = await startServer({ backend: 'postgres', pgHost: dir, pgPort: port });
});

after(async () => {
  if (skip) return;
  try {
    if (server) {
      // The database is dropped through the cluster, so make sure it runs.
      await cluster('start', dir, String(port));
      await server.stop();
    }
  } finally {
    await run(PG_CLUSTER, ['stop', dir]);
    await rm(dir, { recursive: true, force: true });
  }
});

test('storage_outage_readyz_is_200_while_postgres_runs', { skip }, async () => {
  const response = await request(server, 'GET', '/readyz');
  assert.equal(response.status, 200, response.text);
  assert.deepEqual(response.body, { status: 'ready', storage: 'postgres' });
  const list = await request(server, 'GET', '/v1/organisations?kind=region');
  assert.equal(list.status, 200);
  assert.equal(list.body.items.length, 5);
});

test('storage_outage_readyz_and_requests_answer_503_with_retry_after_while_postgres_is_down', { skip }, async () => {
  await cluster('stop', dir);

  const ready = await eventually(() => request(server, 'GET', '/readyz'), (r) => r.status === 503, 10_000);
  assert.equal(ready.status, 503, ready.text);
  assert.equal(ready.body.type, 'urn:problem:coi:unavailable');
  assert.match(ready.headers.get('retry-after') ?? '', /^\d+$/);

  const calls = [
    () => request(server, 'GET', '/v1/organisations'),
    () => request(server, 'GET', '/v1/organisations/0101'),
    () => request(server, 'POST', '/v1/organisations', { headers: authFor('admin'), body: { code: 'DOWN', name: 'Nede', kind: 'state' } }),
    () =>
      request(server, 'PATCH', '/v1/organisations/0101', {
        headers: { ...authFor('admin'), 'Content-Type': 'application/merge-patch+json' },
        body: { name: 'Nede' },
      }),
  ];
  for (const call of calls) {
    const response = await eventually(call, (r) => r.status === 503, 10_000);
    assert.equal(response.status, 503, response.text);
    assert.equal(response.body.type, 'urn:problem:coi:unavailable');
    assert.match(response.headers.get('retry-after') ?? '', /^\d+$/);
  }

  const health = await request(server, 'GET', '/healthz');
  assert.equal(health.status, 200, 'liveness does not depend on storage');
});

test('storage_outage_service_recovers_within_seconds_when_postgres_is_back', { skip }, async () => {
  await cluster('start', dir, String(port));
  const started = Date.now();
  const ready = await eventually(() => request(server, 'GET', '/readyz'), (r) => r.status === 200, 10_000);
  assert.equal(ready.status, 200, `not ready ${Date.now() - started} ms after the restart: ${ready.text}`);

  const list = await eventually(
    () => request(server, 'GET', '/v1/organisations?kind=region'),
    (r) => r.status === 200,
    5_000,
  );
  assert.equal(list.status, 200, list.text);
  assert.equal(list.body.items.length, 5);
  const created = await request(server, 'POST', '/v1/organisations', {
    headers: authFor('admin'),
    body: { code: 'BACK', name: 'Tilbage igen', kind: 'state' },
  });
  assert.equal(created.status, 201, created.text);
  const unchanged = await request(server, 'GET', '/v1/organisations/0101');
  assert.equal(unchanged.status, 200);
  assert.equal(unchanged.body.name, 'København', 'the refused PATCH during the outage changed nothing');
  assert.equal((await request(server, 'GET', '/v1/organisations/DOWN')).status, 404);
});
