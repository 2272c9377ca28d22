// Authentication and the access policy, as an attacker would try them. The target of most tests
// is an admin-only write (PATCH /v1/organisations/0147) that a valid admin token does make (one
// positive test per key type proves it); every forged, broken or misplaced token must be refused
// with the documented status and must leave the stored organisations exactly as they were.
//
// Four servers: HS256 (the default TEST_SECRET), an RSA public key (RS256), a P-256 EC public key
// (ES256) and HS256 with a required issuer and audience. The policy matrix reads
// `coi policy` and generates one test per (non-GET route, role).
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { document, request } from './lib/contract.mjs';
import { snapshot } from './lib/data.mjs';
import { authFor, claimsFor, keyPair, now, sign, TEST_SECRET, tokenFor } from './lib/jwt.mjs';
import { binaryPath, run, startServer } from './lib/server.mjs';

const ROLES = ['anonymous', 'admin', 'editor', 'steering', 'partner'];
const ISSUER = 'https://idp.coi.test';
const AUDIENCE = 'coi-api';
const MERGE_PATCH = { 'Content-Type': 'application/merge-patch+json' };
const TARGET = '/v1/organisations/0147';

/** `coi policy`: [{method, path, roles}]. Read once, at load time, to generate the matrix. */
async function readPolicy() {
  const result = await run(binaryPath(), ['policy'], { env: { ...process.env, COI_LOG_LEVEL: 'warn' } });
  assert.equal(result.code, 0, `${binaryPath()} policy exited ${result.code}:\n${result.stderr}`);
  return JSON.parse(result.stdout);
}
const policy = await readPolicy();

const rsa = keyPair('rsa');
const ec = keyPair('ec');
let keyDir;
let hs; // HS256 with TEST_SECRET
let rs; // RS256 with rsa.publicPem
let es; // ES256 with ec.publicPem
let scoped; // HS256 with COI_JWT_ISSUER and COI_JWT_AUDIENCE

before(async () => {
  keyDir = await mkdtemp(path.join(os.tmpdir(), 'coi-keys-'));
  const rsaFile = path.join(keyDir, 'rsa.pem');
  const ecFile = path.join(keyDir, 'ec.pem');
  await writeFile(rsaFile, rsa.publicPem);
  await writeFile(ecFile, ec.publicPem);
  [hs, rs, es, scoped] = await Promise.all([
    startServer(),
    startServer({ env: { COI_JWT_SECRET: undefined, COI_JWT_PUBLIC_KEY: rsaFile } }),
    startServer({ env: { COI_JWT_SECRET: undefined, COI_JWT_PUBLIC_KEY: ecFile } }),
    startServer({ env: { COI_JWT_ISSUER: ISSUER, COI_JWT_AUDIENCE: AUDIENCE } }),
  ]);
});
after(async () => {
  await Promise.all([hs, rs, es, scoped].map((s) => s?.stop()));
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});

// ---- helpers ---------------------------------------------------------------------------------

let seq = 0;
const bearer = (token) => ({ Authorization: `Bearer ${token}` });

/** The admin-only write: renames organisation 0147 to a name never used before. */
function patchTarget(server, headers = {}, requestPath = TARGET) {
  return request(server, 'PATCH', requestPath, {
    headers: { ...MERGE_PATCH, ...headers },
    body: { name: `Frederiksberg ${++seq}` },
  });
}

/** Runs `call`, asserts its status and that the stored organisations did not change. */
async function refused(server, status, call) {
  const before = await snapshot(server);
  const response = await call();
  assert.equal(response.status, status, response.text);
  assert.deepEqual(await snapshot(server), before, 'a refused request changed the stored organisations');
  return response;
}

/** Asserts a 401 problem whose challenge names `error` (null: the bare challenge). */
function assertUnauthorized(response, error) {
  assert.equal(response.status, 401, response.text);
  assert.equal(response.body.type, 'urn:problem:coi:unauthorized');
  assert.equal(response.body.title, 'Authentication required');
  const challenge = response.headers.get('www-authenticate');
  if (error === null) {
    assert.equal(challenge, 'Bearer realm="coi"');
  } else {
    assert.match(challenge ?? '', new RegExp(`^Bearer realm="coi", error="${error}", error_description="[^"]+"$`));
  }
}

/** The token `token` is refused on the admin-only write with 401 invalid_token, nothing changed. */
async function tokenRefused(server, token, error = 'invalid_token') {
  const response = await refused(server, 401, () => patchTarget(server, bearer(token)));
  assertUnauthorized(response, error);
  return response;
}

/** The write with `token` succeeds and stores the new name. */
async function writeAccepted(server, token) {
  const response = await patchTarget(server, bearer(token));
  assert.equal(response.status, 200, response.text);
  const got = await request(server, 'GET', TARGET);
  assert.equal(got.body.name, response.body.name);
}

const admin = (extra = {}) => claimsFor('admin', extra);

// ---- valid tokens of each key type are accepted (the refusals below are not vacuous) ----------

test('security_hs256_admin_token_may_patch_an_organisation', async () => {
  await writeAccepted(hs, sign(admin()));
});

test('security_rs256_admin_token_may_patch_an_organisation_on_an_rsa_key_server', async () => {
  await writeAccepted(rs, sign(admin(), { alg: 'RS256', key: rsa.privateKey }));
});

test('security_es256_admin_token_may_patch_an_organisation_on_an_ec_key_server', async () => {
  await writeAccepted(es, sign(admin(), { alg: 'ES256', key: ec.privateKey }));
});

test('security_admin_token_with_issuer_and_audience_string_may_patch_an_organisation', async () => {
  await writeAccepted(scoped, sign(admin({ iss: ISSUER, aud: AUDIENCE })));
});

test('security_audience_array_containing_the_audience_is_accepted', async () => {
  await writeAccepted(scoped, sign(admin({ iss: ISSUER, aud: ['other-api', AUDIENCE] })));
});

// ---- algorithm ---------------------------------------------------------------------------------

test('security_alg_none_token_is_refused_with_401', async () => {
  for (const alg of ['none', 'None', 'NONE']) {
    await tokenRefused(hs, sign(admin(), { alg }));
    await tokenRefused(rs, sign(admin(), { alg }));
  }
  // alg none with a valid HS256 signature attached anyway
  await tokenRefused(hs, sign(admin(), { alg: 'none', signAs: 'HS256' }));
});

test('security_algorithm_confusion_hs256_keyed_with_the_rsa_public_pem_is_refused_with_401', async () => {
  for (const key of [rsa.publicPem, rsa.publicPem.trimEnd()]) {
    await tokenRefused(rs, sign(admin(), { alg: 'HS256', key }));
    // the header claims RS256 but the signature is an HMAC keyed with the PEM
    await tokenRefused(rs, sign(admin(), { alg: 'RS256', signAs: 'HS256', key }));
  }
});

test('security_algorithm_confusion_hs256_keyed_with_the_ec_public_pem_is_refused_with_401', async () => {
  await tokenRefused(es, sign(admin(), { alg: 'HS256', key: ec.publicPem }));
});

test('security_hs512_token_signed_with_the_right_secret_is_refused_with_401', async () => {
  await tokenRefused(hs, sign(admin(), { alg: 'HS512', key: TEST_SECRET }));
  await tokenRefused(hs, sign(admin(), { alg: 'HS384', key: TEST_SECRET }));
});

test('security_rs256_token_is_refused_with_401_by_an_ec_key_server', async () => {
  await tokenRefused(es, sign(admin(), { alg: 'RS256', key: rsa.privateKey }));
});

test('security_es256_token_is_refused_with_401_by_an_rsa_key_server', async () => {
  await tokenRefused(rs, sign(admin(), { alg: 'ES256', key: ec.privateKey }));
});

test('security_rs256_token_is_refused_with_401_by_an_hs256_server', async () => {
  await tokenRefused(hs, sign(admin(), { alg: 'RS256', key: rsa.privateKey }));
});

// ---- signature and form ------------------------------------------------------------------------

test('security_bad_hs256_signature_is_refused_with_401', async () => {
  await tokenRefused(hs, sign(admin(), { key: `${TEST_SECRET}-wrong` }));
  const valid = sign(admin());
  const flipped = valid.slice(0, -2) + (valid.at(-2) === 'A' ? 'B' : 'A') + valid.at(-1);
  await tokenRefused(hs, flipped);
  await tokenRefused(hs, valid.slice(0, valid.lastIndexOf('.') + 1)); // signature stripped
});

test('security_rs256_and_es256_tokens_signed_with_another_key_are_refused_with_401', async () => {
  await tokenRefused(rs, sign(admin(), { alg: 'RS256', key: keyPair('rsa').privateKey }));
  await tokenRefused(es, sign(admin(), { alg: 'ES256', key: keyPair('ec').privateKey }));
});

test('security_partner_token_with_its_payload_edited_to_admin_is_refused_with_401', async () => {
  const [head, , signature] = tokenFor('partner').split('.');
  const forged = Buffer.from(JSON.stringify(admin())).toString('base64url');
  await tokenRefused(hs, `${head}.${forged}.${signature}`);
});

test('security_malformed_tokens_are_refused_with_401', async () => {
  const valid = sign(admin());
  for (const token of ['abc', 'a.b', 'a.b.c', '..', `${valid}.extra`, `${valid}.x.y`, '%%%.%%%.%%%']) {
    await tokenRefused(hs, token);
  }
});

test('security_duplicate_claim_names_are_refused_with_401', async () => {
  const exp = now() + 3600;
  const payload = `{"sub":"test-dup","role":"partner","org":"0101","exp":${exp},"role":"admin"}`;
  await tokenRefused(hs, sign(payload));
  const subTwice = `{"sub":"a","role":"admin","exp":${exp},"sub":"b"}`;
  await tokenRefused(hs, sign(subTwice));
});

/** An admin token of exactly `bytes` bytes, made long with an extra claim. */
function adminTokenOf(bytes) {
  const base = sign(admin({ pad: '' })).length;
  // every 3 bytes of padding add 4 base64url characters to the payload
  for (let pad = Math.floor(((bytes - base) * 3) / 4); pad < bytes; pad++) {
    const token = sign(admin({ pad: 'x'.repeat(pad) }));
    if (token.length === bytes) return token;
    if (token.length > bytes) break;
  }
  throw new Error(`no token of exactly ${bytes} bytes`);
}

test('security_token_over_8192_bytes_in_a_10_kb_authorization_header_is_refused_with_401', async () => {
  const token = adminTokenOf(10 * 1024 - 'Bearer '.length);
  assert.equal(`Bearer ${token}`.length, 10 * 1024);
  await tokenRefused(hs, token);
  await tokenRefused(hs, adminTokenOf(8193));
});

test('security_token_of_exactly_8192_bytes_is_accepted', async () => {
  await writeAccepted(hs, adminTokenOf(8192));
});

// ---- time claims -------------------------------------------------------------------------------

test('security_token_expired_beyond_the_30_s_leeway_is_refused_with_401', async () => {
  await tokenRefused(hs, sign(admin({ exp: now() - 45, iat: now() - 3600 })));
  await tokenRefused(hs, sign(admin({ exp: now() - 24 * 3600, iat: now() - 48 * 3600 })));
});

test('security_token_expired_within_the_30_s_leeway_is_accepted', async () => {
  await writeAccepted(hs, sign(admin({ exp: now() - 15, iat: now() - 3600 })));
});

test('security_token_not_valid_before_a_future_nbf_is_refused_with_401', async () => {
  await tokenRefused(hs, sign(admin({ nbf: now() + 300 })));
});

test('security_token_issued_in_the_future_is_refused_with_401', async () => {
  await tokenRefused(hs, sign(admin({ iat: now() + 300 })));
});

test('security_token_without_exp_is_refused_with_401', async () => {
  const { exp, ...claims } = admin();
  assert.ok(exp);
  await tokenRefused(hs, sign(claims));
});

test('security_token_with_exp_as_a_string_is_refused_with_401', async () => {
  await tokenRefused(hs, sign(admin({ exp: String(now() + 3600) })));
  await tokenRefused(hs, sign(admin({ exp: null })));
});

// ---- issuer and audience -----------------------------------------------------------------------

test('security_wrong_or_missing_issuer_is_refused_with_401', async () => {
  await tokenRefused(scoped, sign(admin({ iss: 'https://evil.test', aud: AUDIENCE })));
  await tokenRefused(scoped, sign(admin({ aud: AUDIENCE })));
});

test('security_wrong_or_missing_audience_is_refused_with_401', async () => {
  await tokenRefused(scoped, sign(admin({ iss: ISSUER, aud: 'other-api' })));
  await tokenRefused(scoped, sign(admin({ iss: ISSUER, aud: ['other-api', 'third-api'] })));
  await tokenRefused(scoped, sign(admin({ iss: ISSUER, aud: [] })));
  await tokenRefused(scoped, sign(admin({ iss: ISSUER })));
});

// ---- identity claims ---------------------------------------------------------------------------

test('security_unknown_or_missing_role_is_refused_with_401', async () => {
  for (const role of ['superuser', 'Admin', 'anonymous', '', ['admin'], undefined]) {
    await tokenRefused(hs, sign({ ...admin(), role }));
  }
});

test('security_missing_or_empty_sub_is_refused_with_401', async () => {
  for (const sub of [undefined, '', 42]) await tokenRefused(hs, sign({ ...admin(), sub }));
});

test('security_steering_token_without_party_is_refused_with_401', async () => {
  await tokenRefused(hs, sign({ ...claimsFor('steering'), party: undefined }));
});

test('security_steering_token_with_unknown_party_is_refused_with_401', async () => {
  for (const party of ['venstre', 'KL', '']) await tokenRefused(hs, sign(claimsFor('steering', { party })));
});

test('security_partner_token_without_org_is_refused_with_401', async () => {
  await tokenRefused(hs, sign({ ...claimsFor('partner'), org: undefined }));
  await tokenRefused(hs, sign(claimsFor('partner', { org: '' })));
});

test('security_partner_token_with_unknown_org_is_refused_with_401', async () => {
  for (const org of ['9999', "0101' OR '1'='1", '0101%', '010_', 'x'.repeat(64)]) {
    await tokenRefused(hs, sign(claimsFor('partner', { org })));
  }
});

// ---- where the token travels -------------------------------------------------------------------

test('security_token_in_the_query_string_is_refused_with_401_even_when_valid', async () => {
  const token = encodeURIComponent(tokenFor('admin'));
  let response = await refused(hs, 401, () => patchTarget(hs, {}, `${TARGET}?access_token=${token}`));
  assertUnauthorized(response, 'invalid_request');
  response = await refused(hs, 401, () => patchTarget(hs, authFor('admin'), `${TARGET}?access_token=${token}`));
  assertUnauthorized(response, 'invalid_request');
  for (const read of ['/v1/organisations/0101', '/v1/organisations']) {
    response = await refused(hs, 401, () => request(hs, 'GET', `${read}?access_token=${token}`));
    assertUnauthorized(response, 'invalid_request');
  }
});

test('security_basic_and_other_non_bearer_authorization_headers_are_refused_with_401', async () => {
  const token = tokenFor('admin');
  const values = [
    `Basic ${Buffer.from('admin:admin').toString('base64')}`,
    `Token ${token}`,
    token,
    'Bearer',
    'Bearer ',
    `Bearer${token}`,
  ];
  for (const value of values) {
    const response = await refused(hs, 401, () => patchTarget(hs, { Authorization: value }));
    assertUnauthorized(response, 'invalid_request');
  }
});

test('security_invalid_token_on_every_read_route_that_reads_tokens_is_refused_with_401', async () => {
  const expired = sign(admin({ exp: now() - 3600 }));
  for (const rule of policy.filter((r) => r.method === 'GET' && r.reads_token)) {
    const requestPath = rule.path.replace('{code}', '0101');
    const response = await refused(hs, 401, () => request(hs, 'GET', requestPath, { headers: bearer(expired) }));
    assertUnauthorized(response, 'invalid_token');
  }
});

test('security_every_role_with_a_valid_token_may_call_every_read_route_it_is_allowed', async () => {
  // A published case of 0101 (the partner token's organisation, so that it may read the
  // history) with an adoption by 0147 and a published evaluation: every read route has
  // something to show.
  const caseId = await adminCase('published');
  const adoptionId = await adminAdoption(caseId, '0147');
  const evaluationId = await adminEvaluation(caseId, 'published');
  for (const rule of policy.filter((r) => r.method === 'GET')) {
    for (const role of rule.roles) {
      const requestPath = rule.path
        .replace('{code}', '0101')
        .replace(/^\/v1\/adoptions\/\{id\}$/, `/v1/adoptions/${adoptionId}`)
        .replace(/^\/v1\/evaluations\/\{id\}/, `/v1/evaluations/${evaluationId}`)
        .replace('{id}', caseId);
      const response = await request(hs, 'GET', requestPath, { headers: authFor(role) });
      assert.equal(response.status, 200, `${role} GET ${requestPath}: ${response.text}`);
    }
  }
});

test('security_probes_and_documents_ignore_tokens_and_query_and_never_touch_storage_for_them', async () => {
  const probes = policy.filter((r) => !r.reads_token).map((r) => r.path);
  assert.deepEqual(probes.sort(), ['/healthz', '/openapi.json', '/openapi.yaml', '/readyz']);
  const partnerOfUnknownOrg = sign(claimsFor('partner', { org: '9999' }));
  const headers = [bearer(sign(admin({ exp: now() - 3600 }))), bearer(partnerOfUnknownOrg), { Authorization: 'Basic eDp5' }];
  for (const path of probes) {
    for (const h of headers) {
      const response = await request(hs, 'GET', `${path}?access_token=x&%ff=1`, { headers: h });
      assert.equal(response.status, 200, `GET ${path}: ${response.text}`);
    }
  }
});

// ---- challenges --------------------------------------------------------------------------------

test('security_401_for_a_refused_token_carries_www_authenticate_invalid_token_with_a_description', async () => {
  const response = await tokenRefused(hs, sign(admin({ exp: now() - 3600 })));
  assert.match(response.headers.get('www-authenticate'), /error_description="[^"]*expired[^"]*"/);
  assert.equal(response.body.status, 401);
});

test('security_401_for_an_anonymous_write_carries_the_bare_bearer_challenge', async () => {
  const response = await refused(hs, 401, () => patchTarget(hs));
  assertUnauthorized(response, null);
});

test('security_403_is_a_forbidden_problem_without_www_authenticate', async () => {
  const response = await refused(hs, 403, () => patchTarget(hs, authFor('editor')));
  assert.equal(response.body.type, 'urn:problem:coi:forbidden');
  assert.equal(response.body.title, 'Forbidden');
  assert.equal(response.body.status, 403);
  assert.equal(response.headers.get('www-authenticate'), null);
});

// ---- object level (BOLA) -----------------------------------------------------------------------

test('security_partner_of_0101_cannot_patch_organisation_0147', async () => {
  const response = await refused(hs, 403, () => patchTarget(hs, authFor('partner', { org: '0101' })));
  assert.equal(response.body.type, 'urn:problem:coi:forbidden');
});

test('security_partner_of_0101_cannot_patch_its_own_organisation_either', async () => {
  const response = await refused(hs, 403, () =>
    patchTarget(hs, authFor('partner', { org: '0101' }), '/v1/organisations/0101'),
  );
  assert.equal(response.body.type, 'urn:problem:coi:forbidden');
});

test('security_partner_cannot_create_an_organisation', async () => {
  const response = await refused(hs, 403, () =>
    request(hs, 'POST', '/v1/organisations', {
      headers: authFor('partner'),
      body: { code: 'BOLA1', name: 'Partnerens eget', kind: 'other' },
    }),
  );
  assert.equal(response.body.type, 'urn:problem:coi:forbidden');
});

// ---- key configuration -------------------------------------------------------------------------

test('security_start_up_refuses_an_hs256_secret_shorter_than_32_bytes', async () => {
  await assert.rejects(startServer({ env: { COI_JWT_SECRET: 'x'.repeat(31) } }), /COI_JWT_SECRET/);
});

test('security_start_up_refuses_both_a_secret_and_a_public_key', async () => {
  await assert.rejects(
    startServer({ env: { COI_JWT_PUBLIC_KEY: path.join(keyDir, 'rsa.pem') } }),
    /COI_JWT_SECRET|COI_JWT_PUBLIC_KEY/,
  );
});

test('security_start_up_refuses_a_public_key_that_is_not_rsa_or_p256', async () => {
  const others = {
    'p384.pem': generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }),
    'ed25519.pem': generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }),
    'private.pem': rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    'empty.pem': '',
  };
  for (const [name, pem] of Object.entries(others)) {
    const file = path.join(keyDir, name);
    await writeFile(file, pem);
    await assert.rejects(startServer({ env: { COI_JWT_SECRET: undefined, COI_JWT_PUBLIC_KEY: file } }), /COI_JWT_PUBLIC_KEY/, name);
  }
});

// ---- the policy table, the document and the matrix ---------------------------------------------

test('policy_table_names_only_known_roles_and_covers_every_documented_operation', () => {
  const unknown = policy.flatMap((r) => r.roles.filter((role) => !ROLES.includes(role)).map((role) => `${r.method} ${r.path}: ${role}`));
  assert.deepEqual(unknown, []);
  const inPolicy = policy.map((r) => `${r.method} ${r.path}`).sort();
  const inDocument = Object.entries(document.paths)
    .flatMap(([p, item]) => Object.keys(item).filter((k) => k !== 'parameters').map((m) => `${m.toUpperCase()} ${p}`))
    .sort();
  assert.deepEqual(inPolicy, inDocument);
});

test('openapi_security_and_401_403_responses_match_the_policy_table', () => {
  const gaps = [];
  for (const rule of policy) {
    const label = `${rule.method} ${rule.path}`;
    const operation = document.paths[rule.path]?.[rule.method.toLowerCase()];
    if (!operation) {
      gaps.push(`${label}: not documented`);
      continue;
    }
    const security = operation.security ?? document.security ?? [];
    const anonymousInDocument = security.length === 0 || security.some((s) => Object.keys(s).length === 0);
    if (anonymousInDocument !== rule.roles.includes('anonymous')) {
      gaps.push(`${label}: security ${JSON.stringify(security)} but policy roles ${rule.roles.join(', ')}`);
    }
    if (!rule.reads_token) {
      if (security.length !== 0) gaps.push(`${label}: reads no token but security is ${JSON.stringify(security)}`);
      if (operation.responses['401']) gaps.push(`${label}: reads no token but documents 401`);
      continue;
    }
    if (!security.some((s) => 'bearerAuth' in s)) gaps.push(`${label}: no bearerAuth`);
    if (!operation.responses['401']) gaps.push(`${label}: no 401`);
    const closedToSomeRole = ROLES.some((role) => role !== 'anonymous' && !rule.roles.includes(role));
    if (closedToSomeRole && !operation.responses['403']) gaps.push(`${label}: no 403`);
    if (rule.roles.length === 1 && rule.roles[0] === 'admin' && !/admin only/i.test(operation.description ?? '')) {
      gaps.push(`${label}: the description does not say "admin only"`);
    }
  }
  assert.deepEqual(gaps, []);
});

const asAdmin = authFor('admin');

/** Creates (as an admin) a case led by `org` and moves it to `status`; returns its id. */
async function adminCase(status, org = '0101') {
  const created = await request(hs, 'POST', '/v1/cases', {
    headers: asAdmin,
    body: { organisation_code: org, title: `Matrixsag ${++seq}`, summary: 'Til adgangsmatricen.', innovation_types: ['task'] },
  });
  assert.equal(created.status, 201, created.text);
  const moves = { draft: [], published: ['submitted', 'in_review', 'published'] }[status];
  for (const to of moves) {
    const moved = await request(hs, 'POST', `/v1/cases/${created.body.id}/transitions`, { headers: asAdmin, body: { to } });
    assert.equal(moved.status, 200, moved.text);
  }
  return created.body.id;
}

/** Records (as an admin) that `org` adopts case `caseId`; returns the adoption's id. */
async function adminAdoption(caseId, org) {
  const created = await request(hs, 'POST', `/v1/cases/${caseId}/adoptions`, {
    headers: asAdmin,
    body: { organisation_code: org, status: 'considering' },
  });
  assert.equal(created.status, 201, created.text);
  return created.body.id;
}

/** Adds (as an admin) an evaluation to case `caseId` and moves it to `status` (draft or
 * published); returns its id. */
async function adminEvaluation(caseId, status = 'draft') {
  const created = await request(hs, 'POST', `/v1/cases/${caseId}/evaluations`, {
    headers: asAdmin,
    body: { title: `Matrixevaluering ${++seq}`, evaluator_kind: 'internal', method: 'before_after', evidence_level: 2 },
  });
  assert.equal(created.status, 201, created.text);
  const moves = { draft: [], published: ['submitted', 'in_review', 'published'] }[status];
  for (const to of moves) {
    const moved = await request(hs, 'POST', `/v1/evaluations/${created.body.id}/transitions`, { headers: asAdmin, body: { to } });
    assert.equal(moved.status, 200, moved.text);
  }
  return created.body.id;
}

/**
 * A request each non-GET route would accept from a role the policy allows. A new route without
 * an entry here fails its matrix tests until one is added. Each sample makes what it needs
 * (as an admin) so that it works for every role on its own: case writes target a draft of
 * 0101, the partner token's organisation; adoption writes are for 0101 on a published case of
 * 0147, so that the partner may record and change them; evaluation writes target a draft
 * evaluation of a draft case of 0101, which the partner may still change.
 */
const SAMPLES = {
  'POST /v1/organisations': () => ({
    path: '/v1/organisations',
    body: { code: `MATRIX${++seq}`, name: 'Matrixstyrelsen', kind: 'state' },
  }),
  // 0101 is the partner token's own organisation: a refusal comes from the route rule itself.
  'PATCH /v1/organisations/{code}': () => ({
    path: '/v1/organisations/0101',
    headers: MERGE_PATCH,
    body: { name: `København ${++seq}` },
  }),
  'POST /v1/cases': () => ({
    path: '/v1/cases',
    body: { organisation_code: '0101', title: `Matrixsag ${++seq}`, summary: 'Ny kladde.', innovation_types: ['vision'] },
  }),
  'PATCH /v1/cases/{id}': async () => ({
    path: `/v1/cases/${await adminCase('draft')}`,
    headers: MERGE_PATCH,
    body: { scope: `Rettet ${++seq}` },
  }),
  'PUT /v1/organisations/{code}/cases/{external_id}': () => ({
    path: `/v1/organisations/0101/cases/matrix-${++seq}`,
    body: { title: 'Skubbet sag', summary: 'Fra partnerens system.', innovation_types: ['workflow'] },
  }),
  'POST /v1/organisations/{code}/cases:batch': () => ({
    path: '/v1/organisations/0101/cases:batch',
    body: [{ external_id: `matrix-batch-${++seq}`, title: 'Skubbet i bunke', summary: 'Fra partnerens system.', innovation_types: ['task'] }],
  }),
  'POST /v1/cases/{id}/transitions': async () => ({
    path: `/v1/cases/${await adminCase('draft')}/transitions`,
    body: { to: 'submitted', note: 'Klar.' },
  }),
  'POST /v1/cases/{id}/adoptions': async () => ({
    path: `/v1/cases/${await adminCase('published', '0147')}/adoptions`,
    body: { organisation_code: '0101', status: 'considering' },
  }),
  'PATCH /v1/adoptions/{id}': async () => ({
    path: `/v1/adoptions/${await adminAdoption(await adminCase('published', '0147'), '0101')}`,
    headers: MERGE_PATCH,
    body: { status: 'adapting' },
  }),
  'DELETE /v1/adoptions/{id}': async () => ({
    path: `/v1/adoptions/${await adminAdoption(await adminCase('published', '0147'), '0101')}`,
  }),
  'POST /v1/cases/{id}/evaluations': async () => ({
    path: `/v1/cases/${await adminCase('draft')}/evaluations`,
    body: {
      title: `Matrixevaluering ${++seq}`,
      evaluator_kind: 'external',
      method: 'cost_benefit',
      evidence_level: 3,
      economic: { investment_dkk: 100000, annual_savings_dkk: 40000 },
    },
  }),
  'PATCH /v1/evaluations/{id}': async () => ({
    path: `/v1/evaluations/${await adminEvaluation(await adminCase('draft'))}`,
    headers: MERGE_PATCH,
    body: { conclusion: `Rettet ${++seq}`, evidence_level: 4 },
  }),
  'DELETE /v1/evaluations/{id}': async () => ({
    path: `/v1/evaluations/${await adminEvaluation(await adminCase('draft'))}`,
  }),
  'POST /v1/evaluations/{id}/transitions': async () => ({
    path: `/v1/evaluations/${await adminEvaluation(await adminCase('draft'))}/transitions`,
    body: { to: 'submitted', note: 'Klar.' },
  }),
};

/** What a refused sample must leave as it was: every case (as an admin lists them, with its
 * evaluation_summary) and, for an adoption or evaluation route, that adoption or evaluation. */
async function caseState(sample) {
  const cases = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: '200' });
    if (cursor) query.set('cursor', cursor);
    const page = await request(hs, 'GET', `/v1/cases?${query}`, { headers: asAdmin });
    assert.equal(page.status, 200, page.text);
    cases.push(...page.body.items);
    cursor = page.body.next_cursor;
  } while (cursor);
  cases.sort((a, b) => (a.id < b.id ? -1 : 1));
  const adoption = sample.path.startsWith('/v1/adoptions/') ? (await request(hs, 'GET', sample.path, { headers: asAdmin })).body : null;
  const evaluationPath = /^\/v1\/evaluations\/[^/]+/.exec(sample.path)?.[0];
  const evaluation = evaluationPath ? await request(hs, 'GET', evaluationPath, { headers: asAdmin }) : null;
  if (evaluation) assert.equal(evaluation.status, 200, evaluation.text);
  return { cases, adoption, evaluation: evaluation?.body ?? null };
}

async function sampleFor(rule) {
  const make = SAMPLES[`${rule.method} ${rule.path}`];
  assert.ok(make, `no sample request for ${rule.method} ${rule.path}: add one to SAMPLES`);
  return make();
}

const slug = (p) => p.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '');

for (const rule of policy.filter((r) => r.method !== 'GET')) {
  for (const role of ROLES) {
    const allowed = rule.roles.includes(role);
    const name = `policy_matrix_${role}_${allowed ? 'can' : 'cannot'}_${rule.method.toLowerCase()}_${slug(rule.path)}`;
    test(name, async () => {
      const sample = await sampleFor(rule);
      const call = () =>
        request(hs, rule.method, sample.path, { headers: { ...sample.headers, ...authFor(role) }, body: sample.body });
      if (allowed) {
        const response = await call();
        assert.ok(response.status >= 200 && response.status < 300, `${response.status}: ${response.text}`);
        return;
      }
      const before = await caseState(sample);
      const response = await refused(hs, role === 'anonymous' ? 401 : 403, call);
      assert.deepEqual(await caseState(sample), before, 'a refused request changed a case, an adoption or an evaluation');
      if (role === 'anonymous') assertUnauthorized(response, null);
      else assert.equal(response.body.type, 'urn:problem:coi:forbidden');
    });
  }
}
