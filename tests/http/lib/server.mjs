// Starts the coi binary for a test file: a fresh database, a free port, and a clean stop.
//
// COI_BIN           the binary (default build/coi-test, relative to the repository root)
// COI_TEST_BACKEND  "sqlite" (default) or "postgres"
// COI_TEST_PG_HOST  PostgreSQL socket directory, and COI_TEST_PG_PORT its port (postgres only)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './contract.mjs';
import { TEST_SECRET } from './jwt.mjs';

const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;

export function binaryPath() {
  return path.resolve(ROOT, process.env.COI_BIN || 'build/coi-test');
}

export function testBackend() {
  const backend = process.env.COI_TEST_BACKEND || 'sqlite';
  if (backend !== 'sqlite' && backend !== 'postgres') {
    throw new Error(`COI_TEST_BACKEND must be sqlite or postgres, not ${JSON.stringify(backend)}`);
  }
  return backend;
}

/** A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion; resolves {code, signal, stdout, stderr}. */
export function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

async function psql(host, port, sql) {
  const result = await run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-c', sql]);
  if (result.code !== 0) throw new Error(`psql ${sql} failed (${result.code}): ${result.stderr}`);
}

/**
 * Creates the database a server will use. Returns {url, cleanup()}.
 * options.pgHost / options.pgPort override COI_TEST_PG_HOST / COI_TEST_PG_PORT (postgres).
 */
async function createDatabase(backend, options) {
  if (backend === 'sqlite') {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'coi-http-'));
    return {
      url: `sqlite:${path.join(dir, 'coi.db')}`,
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  }
  const host = options.pgHost ?? process.env.COI_TEST_PG_HOST;
  const port = options.pgPort ?? process.env.COI_TEST_PG_PORT;
  if (!host || !port) throw new Error('the postgres backend needs COI_TEST_PG_HOST and COI_TEST_PG_PORT');
  const name = `coi_http_${process.pid}_${randomBytes(6).toString('hex')}`;
  await psql(host, port, `CREATE DATABASE "${name}"`);
  const query = new URLSearchParams({ host, port: String(port), user: 'postgres' });
  return {
    url: `postgresql:///${name}?${query}`,
    // Best effort: the cluster may be gone already (the storage outage test stops its own).
    cleanup: () => psql(host, port, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {}),
  };
}

const live = new Set();
process.once('exit', () => {
  for (const proc of live) proc.kill('SIGKILL');
});

function waitForExit(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return Promise.resolve({ code: proc.exitCode, signal: proc.signalCode });
  }
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts `COI_BIN serve` and waits until GET /healthz answers 200.
 *   options.backend  "sqlite" | "postgres" (default: COI_TEST_BACKEND)
 *   options.env      extra environment, e.g. {COI_MAX_BODY_BYTES: '1024'}; COI_JWT_SECRET is
 *                    TEST_SECRET of ./jwt.mjs unless given here; a key whose value is
 *                    undefined is removed (COI_JWT_SECRET: undefined for a public-key server)
 *   options.pgHost, options.pgPort  the PostgreSQL cluster to create the database on
 *   options.database  share this database URL (another server's `database`) instead
 * Returns {url, backend, database, proc, stderr(), stdout(), kill(signal), stop()}:
 *   stop() sends SIGTERM, waits for the exit and asserts exit code 0 (a sanitizer report makes
 *   it non-zero), then removes the database. kill(signal) sends a signal and resolves the exit.
 */
export async function startServer(options = {}) {
  const backend = options.backend ?? testBackend();
  // options.database: the database URL of a running server, to start a second process on the
  // same data (the first server's stop() removes it).
  const database = options.database
    ? { url: options.database, cleanup: async () => {} }
    : await createDatabase(backend, options);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    COI_LISTEN: `127.0.0.1:${port}`,
    COI_DATABASE: database.url,
    COI_LOG_LEVEL: 'warn',
    COI_JWT_SECRET: TEST_SECRET,
    ...options.env,
  };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const proc = spawn(binaryPath(), ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // A server that a failed test never stopped must not keep the test process alive (the run
  // would hang until its time limit): the child and its pipes do not hold the event loop, and
  // whatever still runs when the process exits is killed.
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  proc.unref();
  proc.stdout.unref();
  proc.stderr.unref();
  let stderr = '';
  let stdout = '';
  let spawnError = null;
  proc.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  proc.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  proc.on('error', (error) => (spawnError = error));

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError) {
      await database.cleanup();
      throw new Error(`cannot start ${binaryPath()}: ${spawnError.message}`);
    }
    if (proc.exitCode !== null || proc.signalCode !== null) {
      await database.cleanup();
      throw new Error(`${binaryPath()} serve exited (${proc.exitCode ?? proc.signalCode}) before answering /healthz:\n${stderr}`);
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      await waitForExit(proc);
      await database.cleanup();
      throw new Error(`${binaryPath()} serve did not answer /healthz within ${START_TIMEOUT_MS} ms:\n${stderr}`);
    }
    await sleep(50);
  }

  let stopped = null;
  return {
    url,
    backend,
    database: database.url,
    proc,
    stderr: () => stderr,
    stdout: () => stdout,
    async kill(signal = 'SIGTERM') {
      proc.kill(signal);
      return waitForExit(proc);
    },
    stop() {
      stopped ??= (async () => {
        const alreadyExited = proc.exitCode !== null || proc.signalCode !== null;
        if (!alreadyExited) proc.kill('SIGTERM');
        let timer;
        const timeout = new Promise((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS, 'timeout')));
        const result = await Promise.race([waitForExit(proc), timeout]);
        clearTimeout(timer); // a pending timer would keep the test process alive
        if (result === 'timeout') {
          proc.kill('SIGKILL');
          await waitForExit(proc);
          await database.cleanup();
          assert.fail(`coi did not exit within ${STOP_TIMEOUT_MS} ms of SIGTERM:\n${stderr.slice(-4000)}`);
        }
        await database.cleanup();
        assert.ok(!alreadyExited, `coi had exited before stop() (code ${result.code}, signal ${result.signal}):\n${stderr.slice(-4000)}`);
        assert.equal(result.signal, null, `coi died of ${result.signal} after SIGTERM:\n${stderr.slice(-4000)}`);
        assert.equal(result.code, 0, `coi exited ${result.code} after SIGTERM:\n${stderr.slice(-4000)}`);
      })();
      return stopped;
    },
  };
}
