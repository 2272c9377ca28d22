// Writing organisations as an admin would: POST and PATCH (JSON Merge Patch), their
// validation, conditional requests and body limits. After every refused write the stored
// organisations are compared with a snapshot taken before it, so a refused write that still
// changed something fails.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields, snapshot } from './lib/data.mjs';
import { authFor } from './lib/jwt.mjs';
import { startServer } from './lib/server.mjs';

const MAX_BODY_BYTES = 1024;

let server;
before(async () => {
  server = await startServer({ env: { COI_MAX_BODY_BYTES: String(MAX_BODY_BYTES) } });
});
after(async () => {
  await server?.stop();
});

/** A request with an admin's token (only admins write organisations). */
function asAdmin(method, requestPath, options = {}) {
  return request(server, method, requestPath, { ...options, headers: { ...authFor('admin'), ...options.headers } });
}

const MERGE_PATCH = { 'Content-Type': 'application/merge-patch+json' };

/** Runs `write` and asserts that it did not change anything stored; returns its response. */
async function refusedWrite(write) {
  const before = await snapshot(server);
  const response = await write();
  assert.ok(response.status >= 400, `expected a refusal, got ${response.status}: ${response.text}`);
  assert.deepEqual(await snapshot(server), before, 'a refused write changed the stored organisations');
  return response;
}

async function create(org) {
  const response = await asAdmin('POST', '/v1/organisations', { body: org });
  assert.equal(response.status, 201, response.text);
  return response;
}

// ---- POST ----------------------------------------------------------------------------------

test('organisations_post_state_returns_201_with_location_and_etag_then_get_returns_it', async () => {
  const response = await asAdmin('POST', '/v1/organisations', {
    body: { code: 'STM', name: 'Statsministeriet', kind: 'state' },
  });
  assert.equal(response.status, 201, response.text);
  assert.equal(new URL(response.headers.get('location'), server.url).pathname, '/v1/organisations/STM');
  const etag = response.headers.get('etag');
  assert.ok(etag);
  assert.equal(response.body.code, 'STM');
  assert.equal(response.body.name, 'Statsministeriet');
  assert.equal(response.body.kind, 'state');
  assert.equal(response.body.region_code, null);
  assert.ok(Date.parse(response.body.created_at) <= Date.parse(response.body.updated_at) + 1);

  const got = await request(server, 'GET', '/v1/organisations/STM');
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, response.body);
  assert.equal(got.headers.get('etag'), etag);
});

test('organisations_post_municipality_with_a_region_returns_201', async () => {
  const response = await create({ code: '0999', name: 'Prøvekommune', kind: 'municipality', region_code: '1085' });
  assert.equal(response.body.region_code, '1085');
  assert.equal(response.body.name, 'Prøvekommune');
});

test('organisations_post_other_with_region_code_and_json_charset_returns_201', async () => {
  const response = await asAdmin('POST', '/v1/organisations', {
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: { code: 'rh-lab_1', name: 'Rigshospitalets innovationslab', kind: 'other', region_code: '1084' },
  });
  assert.equal(response.status, 201, response.text);
  assert.equal(response.body.region_code, '1084');
});

test('organisations_post_existing_code_returns_409_and_keeps_the_original', async () => {
  await create({ code: 'FM', name: 'Finansministeriet', kind: 'state' });
  const response = await refusedWrite(() =>
    asAdmin('POST', '/v1/organisations', { body: { code: 'FM', name: 'Andet navn', kind: 'other' } }),
  );
  assert.equal(response.status, 409);
  assert.equal(response.body.type, 'urn:problem:coi:conflict');
  const seeded = await refusedWrite(() =>
    asAdmin('POST', '/v1/organisations', {
      body: { code: '0101', name: 'København igen', kind: 'municipality', region_code: '1084' },
    }),
  );
  assert.equal(seeded.status, 409);
});

test('organisations_post_malformed_json_returns_400_naming_line_and_column', async () => {
  const response = await refusedWrite(() =>
    asAdmin('POST', '/v1/organisations', {
      headers: { 'Content-Type': 'application/json' },
      rawBody: '{\n  "code": "BAD1",\n  "name": oops,\n  "kind": "state"\n}',
    }),
  );
  assert.equal(response.status, 400);
  assert.equal(response.body.type, 'urn:problem:coi:bad-request');
  assert.match(response.body.detail ?? '', /line 3\b/i, response.text);
  assert.match(response.body.detail ?? '', /column \d+/i, response.text);
});

test('organisations_post_truncated_and_empty_bodies_return_400', async () => {
  for (const rawBody of ['{"code": "BAD2", "name": "x"', '']) {
    const response = await refusedWrite(() =>
      asAdmin('POST', '/v1/organisations', { headers: { 'Content-Type': 'application/json' }, rawBody }),
    );
    assert.equal(response.status, 400, `${JSON.stringify(rawBody)}: ${response.text}`);
  }
});

test('organisations_post_duplicate_keys_returns_400', async () => {
  const response = await refusedWrite(() =>
    asAdmin('POST', '/v1/organisations', {
      headers: { 'Content-Type': 'application/json' },
      rawBody: '{"code":"DUP1","name":"Dublet","kind":"state","code":"DUP2"}',
    }),
  );
  assert.equal(response.status, 400);
  assert.equal(response.body.type, 'urn:problem:coi:bad-request');
});

test('organisations_post_text_plain_returns_415', async () => {
  const response = await refusedWrite(() =>
    asAdmin('POST', '/v1/organisations', {
      headers: { 'Content-Type': 'text/plain' },
      rawBody: JSON.stringify({ code: 'TXT', name: 'Tekst', kind: 'state' }),
    }),
  );
  assert.equal(response.status, 415);
  assert.equal(response.body.type, 'urn:problem:coi:unsupported-media-type');
});

test('organisations_post_without_content_type_returns_415', async () => {
  const response = await refusedWrite(() =>
    asAdmin('POST', '/v1/organisations', {
      rawBody: Buffer.from(JSON.stringify({ code: 'NOCT', name: 'Ingen type', kind: 'state' })),
    }),
  );
  assert.equal(response.status, 415);
});

function bigBody(bytes) {
  const head = '{"code":"BIG","kind":"state","name":"';
  const tail = '"}';
  return head + 'x'.repeat(bytes - head.length - tail.length) + tail;
}

test('organisations_post_2000_byte_body_with_content_length_returns_413', async () => {
  const rawBody = bigBody(2000);
  assert.equal(Buffer.byteLength(rawBody), 2000);
  const response = await refusedWrite(() =>
    asAdmin('POST', '/v1/organisations', { headers: { 'Content-Type': 'application/json' }, rawBody }),
  );
  assert.equal(response.status, 413);
  assert.equal(response.body.type, 'urn:problem:coi:payload-too-large');
});

test('organisations_post_2000_byte_chunked_body_returns_413', async () => {
  const bytes = Buffer.from(bigBody(2000));
  const response = await refusedWrite(() => {
    let offset = 0;
    const rawBody = new ReadableStream({
      pull(controller) {
        if (offset >= bytes.length) {
          controller.close();
          return;
        }
        controller.enqueue(bytes.subarray(offset, offset + 250));
        offset += 250;
      },
    });
    return asAdmin('POST', '/v1/organisations', { headers: { 'Content-Type': 'application/json' }, rawBody });
  });
  assert.equal(response.status, 413);
  assert.equal(response.body.type, 'urn:problem:coi:payload-too-large');
});

test('organisations_post_small_chunked_body_is_accepted', async () => {
  const bytes = Buffer.from(JSON.stringify({ code: 'CHUNK', name: 'Chunked ministerium', kind: 'state' }));
  const rawBody = new ReadableStream({
    start(controller) {
      controller.enqueue(bytes.subarray(0, 10));
      controller.enqueue(bytes.subarray(10));
      controller.close();
    },
  });
  const response = await asAdmin('POST', '/v1/organisations', {
    headers: { 'Content-Type': 'application/json' },
    rawBody,
  });
  assert.equal(response.status, 201, response.text);
});

test('organisations_post_unknown_and_wrongly_typed_fields_returns_422_listing_every_field', async () => {
  const response = await refusedWrite(() =>
    asAdmin('POST', '/v1/organisations', {
      body: { code: '-bad code', name: 123, kind: 'planet', region_code: 5, colour: 'blue', size: 3 },
    }),
  );
  assert.equal(response.body.type, 'urn:problem:coi:validation');
  assert.deepEqual(errorFields(response), new Set(['code', 'name', 'kind', 'region_code', 'colour', 'size']));
});

test('organisations_post_missing_required_fields_returns_422_listing_each', async () => {
  const response = await refusedWrite(() => asAdmin('POST', '/v1/organisations', { body: {} }));
  assert.deepEqual(errorFields(response), new Set(['code', 'name', 'kind']));
});

// The contract does not say whether a JSON text that is not an object is malformed (400) or
// invalid (422); either is a refusal that must change nothing.
test('organisations_post_json_that_is_not_an_object_is_refused_with_400_or_422', async () => {
  for (const body of [[], ['STM'], 'STM', 42, null]) {
    const response = await refusedWrite(() => asAdmin('POST', '/v1/organisations', { body }));
    assert.ok([400, 422].includes(response.status), `${JSON.stringify(body)}: ${response.text}`);
  }
});

test('organisations_post_empty_and_too_long_names_return_422', async () => {
  for (const name of ['', 'x'.repeat(201)]) {
    const response = await refusedWrite(() =>
      asAdmin('POST', '/v1/organisations', { body: { code: 'NAME', name, kind: 'state' } }),
    );
    assert.deepEqual(errorFields(response), new Set(['name']));
  }
});

test('organisations_post_name_of_200_danish_characters_returns_201', async () => {
  const name = 'æøå'.repeat(66) + 'Æø';
  assert.equal([...name].length, 200);
  const response = await create({ code: 'LONGNAME', name, kind: 'other' });
  assert.equal(response.body.name, name);
});

test('organisations_post_municipality_without_region_code_returns_422', async () => {
  for (const body of [
    { code: '0998', name: 'Uden region', kind: 'municipality' },
    { code: '0998', name: 'Uden region', kind: 'municipality', region_code: null },
  ]) {
    const response = await refusedWrite(() => asAdmin('POST', '/v1/organisations', { body }));
    assert.deepEqual(errorFields(response), new Set(['region_code']), response.text);
  }
});

test('organisations_post_region_code_that_is_not_a_region_returns_422', async () => {
  for (const regionCode of ['0101', '1099', 'STM']) {
    const response = await refusedWrite(() =>
      asAdmin('POST', '/v1/organisations', {
        body: { code: '0997', name: 'Forkert region', kind: 'municipality', region_code: regionCode },
      }),
    );
    assert.deepEqual(errorFields(response), new Set(['region_code']), `${regionCode}: ${response.text}`);
  }
});

test('organisations_post_region_with_a_region_code_returns_422', async () => {
  const response = await refusedWrite(() =>
    asAdmin('POST', '/v1/organisations', {
      body: { code: '1086', name: 'Region Bornholm', kind: 'region', region_code: '1084' },
    }),
  );
  assert.deepEqual(errorFields(response), new Set(['region_code']));
});

test('organisations_post_read_only_created_at_returns_422', async () => {
  const response = await refusedWrite(() =>
    asAdmin('POST', '/v1/organisations', {
      body: { code: 'RO', name: 'Skrivebeskyttet', kind: 'state', created_at: '2014-01-01T00:00:00Z' },
    }),
  );
  assert.deepEqual(errorFields(response), new Set(['created_at']));
  const updated = await refusedWrite(() =>
    asAdmin('POST', '/v1/organisations', {
      body: { code: 'RO', name: 'Skrivebeskyttet', kind: 'state', updated_at: '2014-01-01T00:00:00Z' },
    }),
  );
  assert.deepEqual(errorFields(updated), new Set(['updated_at']));
});

// ---- PATCH ---------------------------------------------------------------------------------

async function get(code) {
  const response = await request(server, 'GET', `/v1/organisations/${code}`);
  assert.equal(response.status, 200, response.text);
  return response;
}

test('organisations_patch_merge_patch_changes_name_and_etag', async () => {
  const created = await create({ code: 'PATCH1', name: 'Gammelt navn', kind: 'state' });
  const response = await asAdmin('PATCH', '/v1/organisations/PATCH1', {
    headers: MERGE_PATCH,
    body: { name: 'Nyt navn' },
  });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.name, 'Nyt navn');
  assert.equal(response.body.kind, 'state');
  assert.equal(response.body.created_at, created.body.created_at);
  assert.ok(Date.parse(response.body.updated_at) >= Date.parse(created.body.updated_at));
  const etag = response.headers.get('etag');
  assert.notEqual(etag, created.headers.get('etag'), 'ETag changes with the organisation');
  const got = await get('PATCH1');
  assert.equal(got.body.name, 'Nyt navn');
  assert.equal(got.headers.get('etag'), etag);
});

test('organisations_patch_with_application_json_is_accepted', async () => {
  await create({ code: 'PATCH2', name: 'Før', kind: 'other' });
  const response = await asAdmin('PATCH', '/v1/organisations/PATCH2', { body: { name: 'Efter' } });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.name, 'Efter');
});

test('organisations_patch_with_stale_if_match_returns_412_and_changes_nothing', async () => {
  const created = await create({ code: 'PATCH3', name: 'Version 1', kind: 'state' });
  const stale = created.headers.get('etag');
  const second = await asAdmin('PATCH', '/v1/organisations/PATCH3', {
    headers: MERGE_PATCH,
    body: { name: 'Version 2' },
  });
  assert.equal(second.status, 200);
  const response = await refusedWrite(() =>
    asAdmin('PATCH', '/v1/organisations/PATCH3', {
      headers: { ...MERGE_PATCH, 'If-Match': stale },
      body: { name: 'Version 3 based on 1' },
    }),
  );
  assert.equal(response.status, 412);
  assert.equal(response.body.type, 'urn:problem:coi:precondition-failed');
  const got = await get('PATCH3');
  assert.equal(got.body.name, 'Version 2');
  assert.equal(got.headers.get('etag'), second.headers.get('etag'));
});

test('organisations_patch_with_current_if_match_returns_200', async () => {
  const created = await create({ code: 'PATCH4', name: 'Aktuel', kind: 'state' });
  const response = await asAdmin('PATCH', '/v1/organisations/PATCH4', {
    headers: { ...MERGE_PATCH, 'If-Match': created.headers.get('etag') },
    body: { name: 'Opdateret' },
  });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.name, 'Opdateret');
});

test('organisations_get_with_current_etag_after_patch_returns_304', async () => {
  const patched = await asAdmin('PATCH', '/v1/organisations/0147', {
    headers: MERGE_PATCH,
    body: { name: 'Frederiksberg Kommune' },
  });
  assert.equal(patched.status, 200, patched.text);
  const etag = patched.headers.get('etag');
  const response = await request(server, 'GET', '/v1/organisations/0147', { headers: { 'If-None-Match': etag } });
  assert.equal(response.status, 304);
  assert.equal(response.text, '');
});

test('organisations_patch_changing_code_returns_422_and_changes_nothing', async () => {
  await create({ code: 'PATCH5', name: 'Fast kode', kind: 'state' });
  const response = await refusedWrite(() =>
    asAdmin('PATCH', '/v1/organisations/PATCH5', { headers: MERGE_PATCH, body: { code: 'OTHER', name: 'x' } }),
  );
  assert.ok(errorFields(response).has('code'), response.text);
  assert.equal((await request(server, 'GET', '/v1/organisations/OTHER')).status, 404);
});

test('organisations_patch_with_the_same_code_is_accepted', async () => {
  await create({ code: 'PATCH6', name: 'Samme kode', kind: 'state' });
  const response = await asAdmin('PATCH', '/v1/organisations/PATCH6', {
    headers: MERGE_PATCH,
    body: { code: 'PATCH6', name: 'Samme kode, nyt navn' },
  });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.name, 'Samme kode, nyt navn');
});

test('organisations_patch_null_for_a_required_field_returns_422', async () => {
  await create({ code: 'PATCH7', name: 'Kræver navn', kind: 'state' });
  for (const field of ['name', 'kind', 'code']) {
    const response = await refusedWrite(() =>
      asAdmin('PATCH', '/v1/organisations/PATCH7', { headers: MERGE_PATCH, body: { [field]: null } }),
    );
    assert.deepEqual(errorFields(response), new Set([field]), response.text);
  }
});

test('organisations_patch_null_region_code_on_a_municipality_returns_422', async () => {
  const response = await refusedWrite(() =>
    asAdmin('PATCH', '/v1/organisations/0151', { headers: MERGE_PATCH, body: { region_code: null } }),
  );
  assert.deepEqual(errorFields(response), new Set(['region_code']));
});

test('organisations_patch_region_code_to_a_non_region_returns_422', async () => {
  const response = await refusedWrite(() =>
    asAdmin('PATCH', '/v1/organisations/0153', { headers: MERGE_PATCH, body: { region_code: '0101' } }),
  );
  assert.deepEqual(errorFields(response), new Set(['region_code']));
});

test('organisations_patch_null_region_code_on_a_state_body_removes_it', async () => {
  await create({ code: 'PATCH8', name: 'Med region', kind: 'state', region_code: '1083' });
  const response = await asAdmin('PATCH', '/v1/organisations/PATCH8', {
    headers: MERGE_PATCH,
    body: { region_code: null },
  });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.region_code, null);
  assert.equal(response.body.name, 'Med region');
});

test('organisations_patch_municipality_moved_to_another_region', async () => {
  const response = await asAdmin('PATCH', '/v1/organisations/0155', {
    headers: MERGE_PATCH,
    body: { region_code: '1085' },
  });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.region_code, '1085');
  assert.equal(response.body.name, 'Dragør');
});

test('organisations_patch_unknown_and_read_only_fields_return_422_listing_each', async () => {
  await create({ code: 'PATCH9', name: 'Ukendte felter', kind: 'state' });
  const response = await refusedWrite(() =>
    asAdmin('PATCH', '/v1/organisations/PATCH9', {
      headers: MERGE_PATCH,
      body: { colour: 'red', updated_at: '2014-01-01T00:00:00Z', name: 7 },
    }),
  );
  assert.deepEqual(errorFields(response), new Set(['colour', 'updated_at', 'name']));
});

test('organisations_patch_unknown_organisation_returns_404', async () => {
  const response = await refusedWrite(() =>
    asAdmin('PATCH', '/v1/organisations/NOSUCHORG', { headers: MERGE_PATCH, body: { name: 'x' } }),
  );
  assert.equal(response.status, 404);
  assert.equal(response.body.type, 'urn:problem:coi:not-found');
});

test('organisations_patch_text_plain_returns_415', async () => {
  const response = await refusedWrite(() =>
    asAdmin('PATCH', '/v1/organisations/0157', {
      headers: { 'Content-Type': 'text/plain' },
      rawBody: '{"name":"Gentofte Kommune"}',
    }),
  );
  assert.equal(response.status, 415);
});

test('organisations_patch_malformed_json_returns_400', async () => {
  const response = await refusedWrite(() =>
    asAdmin('PATCH', '/v1/organisations/0157', { headers: MERGE_PATCH, rawBody: '{"name": }' }),
  );
  assert.equal(response.status, 400);
  assert.equal(response.body.type, 'urn:problem:coi:bad-request');
});

test('organisations_patch_body_over_the_limit_returns_413', async () => {
  const rawBody = JSON.stringify({ name: 'x'.repeat(MAX_BODY_BYTES + 100) });
  const response = await refusedWrite(() =>
    asAdmin('PATCH', '/v1/organisations/0157', { headers: MERGE_PATCH, rawBody }),
  );
  assert.equal(response.status, 413);
});
