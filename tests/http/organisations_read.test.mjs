// Reading organisations: one by code, conditional GET, listing with filters and cursor paging,
// and strict query validation. The server's data is only the seed list, which nothing here changes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from './lib/contract.mjs';
import { errorFields, listAll, seedOrganisations } from './lib/data.mjs';
import { startServer } from './lib/server.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const seed = seedOrganisations();
const codesWhere = (predicate) => seed.filter(predicate).map((o) => o.code).sort();
const codesOf = (items) => items.map((o) => o.code).sort();

test('seed_list_has_98_municipalities_and_5_regions', () => {
  // Guards the expectations below against a changed data file.
  assert.equal(codesWhere((o) => o.kind === 'municipality').length, 98);
  assert.equal(codesWhere((o) => o.kind === 'region').length, 5);
});

test('organisations_get_returns_københavn_with_region_1084', async () => {
  const response = await request(server, 'GET', '/v1/organisations/0101');
  assert.equal(response.status, 200);
  assert.equal(response.body.code, '0101');
  assert.equal(response.body.name, 'København');
  assert.equal(response.body.kind, 'municipality');
  assert.equal(response.body.region_code, '1084');
  assert.ok(response.headers.get('etag'), 'ETag header present');
});

test('organisations_get_region_has_null_region_code', async () => {
  const response = await request(server, 'GET', '/v1/organisations/1085');
  assert.equal(response.status, 200);
  assert.equal(response.body.name, 'Region Sjælland');
  assert.equal(response.body.kind, 'region');
  assert.equal(response.body.region_code, null);
});

test('organisations_get_unknown_code_returns_404_problem', async () => {
  const response = await request(server, 'GET', '/v1/organisations/9999');
  assert.equal(response.status, 404);
  assert.equal(response.body.type, 'urn:problem:coi:not-found');
  assert.equal(response.body.instance, '/v1/organisations/9999');
});

test('organisations_get_etag_is_stable_between_reads', async () => {
  const first = await request(server, 'GET', '/v1/organisations/0147');
  const second = await request(server, 'GET', '/v1/organisations/0147');
  assert.equal(first.headers.get('etag'), second.headers.get('etag'));
});

test('organisations_get_with_current_etag_in_if_none_match_returns_304_without_body', async () => {
  const first = await request(server, 'GET', '/v1/organisations/0101');
  const etag = first.headers.get('etag');
  const response = await request(server, 'GET', '/v1/organisations/0101', { headers: { 'If-None-Match': etag } });
  assert.equal(response.status, 304);
  assert.equal(response.text, '');
  assert.equal(response.headers.get('etag'), etag);
});

test('organisations_get_with_other_etag_in_if_none_match_returns_200', async () => {
  const response = await request(server, 'GET', '/v1/organisations/0101', {
    headers: { 'If-None-Match': '"not-the-current-etag"' },
  });
  assert.equal(response.status, 200);
  assert.equal(response.body.code, '0101');
});

test('organisations_list_without_limit_returns_50_items_and_a_cursor', async () => {
  const response = await request(server, 'GET', '/v1/organisations');
  assert.equal(response.status, 200);
  assert.equal(response.body.items.length, 50);
  assert.equal(typeof response.body.next_cursor, 'string');
  assert.match(response.headers.get('link') ?? '', /rel="next"/);
});

test('organisations_list_pages_through_98_municipalities_20_at_a_time_via_cursor_and_link', async () => {
  const codes = new Set();
  const pageSizes = [];
  let path = '/v1/organisations?kind=municipality&limit=20';
  for (let page = 0; page < 10; page++) {
    const response = await request(server, 'GET', path);
    assert.equal(response.status, 200);
    pageSizes.push(response.body.items.length);
    for (const item of response.body.items) {
      assert.equal(item.kind, 'municipality');
      assert.ok(!codes.has(item.code), `${item.code} repeated on page ${page + 1}`);
      codes.add(item.code);
    }
    const link = response.headers.get('link');
    if (response.body.next_cursor === null) {
      assert.equal(link, null, 'no Link header on the last page');
      path = null;
      break;
    }
    const match = /^<([^>]+)>;\s*rel="next"$/.exec(link ?? '');
    assert.ok(match, `Link header with rel="next" expected, got ${link}`);
    const next = new URL(match[1], server.url);
    assert.equal(next.pathname, '/v1/organisations');
    assert.equal(next.searchParams.get('cursor'), response.body.next_cursor, 'Link carries next_cursor');
    assert.equal(next.searchParams.get('kind'), 'municipality', 'Link keeps the filters');
    path = next.pathname + next.search;
  }
  assert.equal(path, null, 'paging ended');
  assert.deepEqual(pageSizes, [20, 20, 20, 20, 18]);
  assert.equal(codes.size, 98);
  assert.deepEqual([...codes].sort(), codesWhere((o) => o.kind === 'municipality'));
});

test('organisations_list_is_ordered_by_code', async () => {
  const items = await listAll(server);
  const codes = items.map((o) => o.code);
  assert.deepEqual(codes, [...codes].sort());
  assert.equal(items.length, seed.length);
});

test('organisations_list_kind_region_returns_the_5_regions', async () => {
  const response = await request(server, 'GET', '/v1/organisations?kind=region');
  assert.equal(response.status, 200);
  assert.deepEqual(codesOf(response.body.items), ['1081', '1082', '1083', '1084', '1085']);
  assert.equal(response.body.next_cursor, null);
  assert.equal(response.headers.get('link'), null);
});

test('organisations_list_region_code_1084_returns_the_29_municipalities_of_hovedstaden', async () => {
  const items = await listAll(server, { region_code: '1084' });
  const expected = codesWhere((o) => o.region_code === '1084');
  assert.equal(expected.length, 29);
  assert.deepEqual(codesOf(items), expected);
  for (const item of items) assert.equal(item.region_code, '1084');
});

test('organisations_list_q_is_case_insensitive_with_danish_letters', async () => {
  for (const q of ['KØBEN', 'købEN', 'københavn']) {
    const response = await request(server, 'GET', `/v1/organisations?q=${encodeURIComponent(q)}`);
    assert.equal(response.status, 200);
    assert.deepEqual(codesOf(response.body.items), ['0101'], `q=${q}`);
  }
  for (const q of ['SJÆLLAND', 'ÅRHUS', 'Aarhus', 'TAARBÆK', 'ø']) {
    const items = await listAll(server, { q });
    const expected = codesWhere((o) => o.name.toLowerCase().includes(q.toLowerCase()));
    assert.deepEqual(codesOf(items), expected, `q=${q}`);
  }
});

test('organisations_list_q_percent_and_underscore_match_literally', async () => {
  for (const q of ['%', '_', '%øbenhavn', 'K_benhavn']) {
    const response = await request(server, 'GET', `/v1/organisations?q=${encodeURIComponent(q)}`);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body.items, [], `q=${q} should match nothing`);
    assert.equal(response.body.next_cursor, null);
  }
});

test('organisations_list_filters_combine', async () => {
  const items = await listAll(server, { kind: 'municipality', region_code: '1082', q: 'skive' });
  assert.deepEqual(
    codesOf(items),
    codesWhere((o) => o.kind === 'municipality' && o.region_code === '1082' && o.name.toLowerCase().includes('skive')),
  );
  assert.ok(items.length >= 1);
});

test('organisations_list_limit_0_and_201_return_422_naming_limit', async () => {
  for (const limit of ['0', '201', '-1', 'ten', '1.5', '']) {
    const response = await request(server, 'GET', `/v1/organisations?limit=${encodeURIComponent(limit)}`);
    assert.ok(errorFields(response).has('limit'), `limit=${limit}: ${response.text}`);
  }
});

test('organisations_list_limit_1_and_200_are_accepted', async () => {
  const one = await request(server, 'GET', '/v1/organisations?limit=1');
  assert.equal(one.status, 200);
  assert.equal(one.body.items.length, 1);
  const max = await request(server, 'GET', '/v1/organisations?limit=200');
  assert.equal(max.status, 200);
  assert.equal(max.body.items.length, seed.length);
  assert.equal(max.body.next_cursor, null);
});

test('organisations_list_unknown_query_parameter_returns_422_naming_it', async () => {
  const response = await request(server, 'GET', '/v1/organisations?colour=blue');
  assert.ok(errorFields(response).has('colour'), response.text);
});

test('organisations_list_repeated_parameter_returns_422', async () => {
  for (const query of ['kind=region&kind=municipality', 'kind=region&kind=region', 'limit=5&limit=6']) {
    const response = await request(server, 'GET', `/v1/organisations?${query}`);
    assert.equal(response.status, 422, `${query}: ${response.text}`);
  }
});

test('organisations_list_unknown_kind_returns_422_naming_kind', async () => {
  const response = await request(server, 'GET', '/v1/organisations?kind=planet');
  assert.ok(errorFields(response).has('kind'), response.text);
});

test('organisations_list_bad_region_code_and_q_return_422', async () => {
  const badRegion = await request(server, 'GET', '/v1/organisations?region_code=' + encodeURIComponent('-x y'));
  assert.ok(errorFields(badRegion).has('region_code'), badRegion.text);
  const longQ = await request(server, 'GET', `/v1/organisations?q=${'a'.repeat(201)}`);
  assert.ok(errorFields(longQ).has('q'), longQ.text);
  const emptyQ = await request(server, 'GET', '/v1/organisations?q=');
  assert.ok(errorFields(emptyQ).has('q'), emptyQ.text);
});

test('organisations_list_malformed_cursor_returns_422_naming_cursor', async () => {
  for (const cursor of ['garbage', 'AAAA', '!!!', '']) {
    const response = await request(server, 'GET', `/v1/organisations?cursor=${encodeURIComponent(cursor)}`);
    assert.ok(errorFields(response).has('cursor'), `cursor=${cursor}: ${response.text}`);
  }
});

test('organisations_list_cursor_reused_with_different_filters_returns_422', async () => {
  const first = await request(server, 'GET', '/v1/organisations?kind=municipality&limit=20');
  const cursor = first.body.next_cursor;
  assert.equal(typeof cursor, 'string');
  const same = await request(server, 'GET', `/v1/organisations?kind=municipality&limit=20&cursor=${encodeURIComponent(cursor)}`);
  assert.equal(same.status, 200, 'the cursor works with its own filters');
  for (const query of ['kind=region', 'kind=municipality&region_code=1084', 'kind=municipality&q=a', '']) {
    const response = await request(server, 'GET', `/v1/organisations?${query}&limit=20&cursor=${encodeURIComponent(cursor)}`);
    assert.ok(errorFields(response).has('cursor'), `${query}: ${response.text}`);
  }
});
