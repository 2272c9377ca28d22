// Full-text search of cases (GET /v1/cases?q=): Danish stemming over title, summary, problem,
// solution, lessons learned and tags (and nothing else), every term must match, "phrases" and
// prefix* terms, stop words ignored, best match first, highlighted snippets, and visibility on
// top: the public finds published cases only, a partner also its own drafts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer } from './lib/server.mjs';
import { everything, listCases, writeCase } from './lib/search.mjs';

let server;
const c = {}; // name -> case

before(async () => {
  server = await startServer();
  const write = async (name, spec) => {
    c[name] = await writeCase(server, { key: `search-${name}`, status: 'published', ...spec });
  };
  // The case Aarhus writes about "hjemmeplejen", pushed by its own system.
  await write('aarhus', {
    org: '0751', via: 'put',
    body: {
      title: 'Fælles morgenmøde i hjemmeplejen', summary: 'Medarbejderne i hjemmeplejen mødes hver morgen.',
      innovation_types: ['collaboration'], tags: ['samarbejde'],
    },
  });
  await write('nattevagt', {
    org: '0360', via: 'put',
    body: {
      title: 'Nattevagter deler viden', summary: 'Ældre borgere får besøg om natten.',
      problem: 'De ældres behov ændrer sig om natten.', innovation_types: ['workflow'],
    },
  });
  await write('laering', {
    org: '0461',
    body: {
      title: 'Digital træning', summary: 'Træning med tablet derhjemme.', innovation_types: ['work_tool'],
      lessons_learned: 'Hjemmeplejerne skal inddrages tidligt.',
    },
  });
  await write('tablets', {
    org: '0851',
    body: { title: 'Tablets til borgerne', summary: 'Borgerne låner en tablet.', solution: 'Hjemmehjælpen viser hvordan.', innovation_types: ['work_tool'] },
  });
  await write('uden', {
    org: '0101',
    body: {
      // The word only in fields that are not searched.
      title: 'Rengøring i plejeboliger', summary: 'Faste hold gør rent.', innovation_types: ['task'],
      scope: 'Hele hjemmeplejen', effects_summary: 'Hjemmepleje sparer tid.', risks_and_pitfalls: 'hjemmepleje',
      contact_name: 'Hjemmepleje Hansen',
    },
  });
  await write('morgen', {
    org: '0147',
    body: { title: 'Morgenmøde på skolen', summary: 'Et fælles projekt for lærerne.', innovation_types: ['collaboration'] },
  });
  await write('teknologi', {
    org: '0101',
    body: { title: 'Robotter i plejen', summary: 'Robotterne løfter.', innovation_types: ['work_tool'], tags: ['velfærdsteknologi'] },
  });
  await write('html', {
    org: '0101',
    body: { title: 'Sikker tekst', summary: 'Brug <b>fed</b> skrift & hjemmeplejens skabeloner.', innovation_types: ['task'] },
  });
  await write('kladde', {
    org: '0751', via: 'put', status: 'draft',
    body: { title: 'Hjemmepleje med robotter', summary: 'Endnu en kladde.', innovation_types: ['task'] },
  });
});
after(async () => {
  await server?.stop();
});

const found = async (q, role = 'anonymous', auth = {}, extra = {}) =>
  new Set((await everything(server, role, { q, ...extra }, auth)).map((k) => k.id));
const names = (...list) => new Set(list.map((n) => c[n].id));

test('cases_search_hjemmepleje_finds_the_case_aarhus_wrote_as_hjemmeplejen_and_its_other_forms', async () => {
  const wanted = names('aarhus', 'laering', 'html');
  for (const q of ['hjemmepleje', 'hjemmeplejen', 'hjemmeplejens', 'hjemmeplejerne', 'HJEMMEPLEJE', 'Hjemmeplejen']) {
    assert.deepEqual(await found(q), wanted, q);
  }
  // As Lolland's partner system searches: the case of Aarhus (0751) first.
  const response = await listCases(server, 'partner', { q: 'hjemmepleje' }, { org: '0360' });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.items[0].organisation_code, '0751');
});

test('cases_search_aeldre_variants_find_each_other_whatever_the_letter_case', async () => {
  for (const q of ['ældre', 'ældres', 'Ældre', 'ÆLDRE', 'ÆLDRES']) {
    assert.deepEqual(await found(q), names('nattevagt'), q);
  }
});

test('cases_search_looks_in_title_summary_problem_solution_lessons_and_tags_only', async () => {
  assert.deepEqual(await found('nattevagter'), names('nattevagt'), 'title');
  assert.deepEqual(await found('besøg'), names('nattevagt'), 'summary');
  assert.deepEqual(await found('behov'), names('nattevagt'), 'problem');
  assert.deepEqual(await found('viser'), names('tablets'), 'solution');
  assert.deepEqual(await found('inddrages'), names('laering'), 'lessons_learned');
  assert.deepEqual(await found('velfærdsteknologi'), names('teknologi'), 'tags');
  for (const q of ['rent', 'plejeboliger']) assert.deepEqual(await found(q), names('uden'), q);
  // scope, effects_summary, risks_and_pitfalls and contact_name hold "hjemmepleje" in "uden":
  assert.ok(!(await found('hjemmepleje')).has(c.uden.id));
  assert.deepEqual(await found('sparer'), new Set(), 'effects_summary is not searched');
  assert.deepEqual(await found('hansen'), new Set(), 'contact_name is not searched');
});

test('cases_search_every_word_must_match_and_stop_words_are_ignored', async () => {
  assert.deepEqual(await found('fælles morgenmøde'), names('aarhus', 'morgen'));
  assert.deepEqual(await found('morgenmøde hjemmepleje'), names('aarhus'));
  assert.deepEqual(await found('morgenmøde zzyzxqk'), new Set());
  assert.deepEqual(await found('og i hjemmepleje på'), await found('hjemmepleje'));
  assert.deepEqual(await found('og'), new Set(), 'stop words only find nothing');
  assert.deepEqual(await found('"og i"'), new Set());
});

test('cases_search_a_phrase_needs_its_words_next_to_each_other_in_order_within_one_field', async () => {
  assert.deepEqual(await found('"fælles morgenmøde"'), names('aarhus'), 'in order, adjacent');
  assert.deepEqual(await found('"morgenmøde fælles"'), new Set(), 'reversed');
  assert.deepEqual(await found('"fælles projekt"'), names('morgen'));
  assert.deepEqual(await found('"fælles hjemmeplejen"'), new Set(), 'not adjacent');
  // Stemmed inside a phrase too.
  assert.deepEqual(await found('"ældre borger"'), names('nattevagt'));
  // The title ends with "hjemmeplejen" and the summary starts with "Medarbejderne".
  assert.deepEqual(await found('"hjemmeplejen medarbejderne"'), new Set(), 'no phrase across two fields');
  assert.deepEqual(await found('"fælles morgenmøde" hjemme*'), names('aarhus'), 'a phrase and a prefix');
  assert.deepEqual(await found('"fælles morgenmøde'), names('aarhus'), 'an unclosed quote ends at the end');
});

test('cases_search_a_prefix_matches_every_word_it_begins', async () => {
  assert.deepEqual(await found('hjemme*'), names('aarhus', 'laering', 'tablets', 'html'));
  assert.deepEqual(await found('HJEMMEHJ*'), names('tablets'));
  assert.deepEqual(await found('morgen*'), names('aarhus', 'morgen'));
  assert.deepEqual(await found('morgenm'), new Set(), 'without * a word matches itself (stemmed) only');
  assert.deepEqual(await found('velfærds*'), names('teknologi'), 'a prefix with a non-ASCII letter');
});

test('cases_search_finds_drafts_only_for_those_who_may_see_them', async () => {
  assert.ok(!(await found('robotter')).has(c.kladde.id), 'anonymous');
  assert.ok(!(await found('robotter', 'partner', { org: '0101' })).has(c.kladde.id), 'another partner');
  assert.ok((await found('robotter', 'partner', { org: '0751' })).has(c.kladde.id), 'its own partner');
  assert.ok((await found('robotter', 'editor')).has(c.kladde.id), 'editor');
  assert.deepEqual(await found('hjemmepleje', 'partner', { org: '0751' }), names('aarhus', 'laering', 'html', 'kladde'));
});

test('cases_search_ranks_the_best_match_first_by_default_and_on_request', async () => {
  // "hjemmepleje" in Aarhus' title and summary beats it once in a summary, which beats it once
  // in the lessons learned.
  const byDefault = await listCases(server, 'anonymous', { q: 'hjemmepleje' });
  assert.equal(byDefault.status, 200, byDefault.text);
  assert.deepEqual(byDefault.body.items.map((k) => k.id), [c.aarhus.id, c.html.id, c.laering.id]);
  const relevance = await listCases(server, 'anonymous', { q: 'hjemmepleje', sort: 'relevance' });
  assert.deepEqual(relevance.body.items.map((k) => k.id), byDefault.body.items.map((k) => k.id));
  const byTitle = await listCases(server, 'anonymous', { q: 'hjemmepleje', sort: 'title' });
  assert.deepEqual(byTitle.body.items.map((k) => k.title), [c.aarhus.title, c.laering.title, c.html.title].sort());
  const newest = await listCases(server, 'anonymous', { q: 'hjemmepleje', sort: '-updated_at' });
  assert.deepEqual(newest.body.items.map((k) => k.id), [c.html.id, c.laering.id, c.aarhus.id]);
});

test('cases_search_relevance_needs_q_and_count_exact_counts_the_hits', async () => {
  const noQ = await listCases(server, 'anonymous', { sort: 'relevance' });
  assert.equal(noQ.status, 422, noQ.text);
  assert.deepEqual(noQ.body.errors.map((e) => e.field), ['sort']);
  const counted = await listCases(server, 'anonymous', { q: 'hjemme*', count: 'exact', limit: '2' });
  assert.equal(counted.status, 200, counted.text);
  assert.equal(counted.body.total, 4);
  assert.equal(counted.body.items.length, 2);
  const none = await listCases(server, 'anonymous', { q: 'zzyzxqk', count: 'exact' });
  assert.deepEqual([none.body.items, none.body.total, none.body.next_cursor], [[], 0, null]);
  const uncounted = await listCases(server, 'anonymous', { q: 'hjemme*' });
  assert.ok(!('total' in uncounted.body), 'total only with count=exact');
});

test('cases_search_highlight_gives_each_hit_a_snippet_with_the_matches_in_mark', async () => {
  const response = await listCases(server, 'anonymous', { q: 'hjemmepleje', highlight: 'true' });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.items.length, 3);
  for (const item of response.body.items) {
    assert.equal(typeof item.snippet, 'string', `${item.title}: ${JSON.stringify(item.snippet)}`);
    const marked = [...item.snippet.matchAll(/<mark>(.*?)<\/mark>/g)].map((m) => m[1]);
    assert.ok(marked.length > 0, `${item.title}: no <mark> in ${item.snippet}`);
    for (const word of marked) assert.match(word, /^hjemmeplej/i, item.snippet);
    assert.equal(item.snippet.split('<mark>').length, item.snippet.split('</mark>').length, 'balanced');
  }
  const aarhus = response.body.items.find((k) => k.id === c.aarhus.id);
  assert.match(aarhus.snippet, /<mark>hjemmeplejen<\/mark>/);
  // Every other field is the case as GET /v1/cases/{id} shows it.
  const { snippet, ...rest } = aarhus;
  assert.ok(snippet);
  assert.deepEqual(rest, (await listCases(server, 'anonymous', { q: 'hjemmepleje' })).body.items.find((k) => k.id === c.aarhus.id));
});

test('cases_search_snippet_text_around_the_marks_is_the_cases_own_text_not_html', async () => {
  // PostgreSQL's ts_headline would drop "<b>" and "</b>" as HTML tags.
  const response = await listCases(server, 'anonymous', { q: 'skabeloner', highlight: 'true' });
  assert.equal(response.status, 200, response.text);
  assert.equal(response.body.items.length, 1);
  assert.match(response.body.items[0].snippet, /<b>fed<\/b> skrift & hjemmeplejens <mark>skabeloner<\/mark>/);
});

test('cases_search_snippets_mark_prefix_and_phrase_matches_and_tags', async () => {
  const prefix = await listCases(server, 'anonymous', { q: 'hjemmehj*', highlight: 'true' });
  assert.equal(prefix.body.items.length, 1);
  assert.match(prefix.body.items[0].snippet, /<mark>Hjemmehjælpen<\/mark>/);
  const phrase = await listCases(server, 'anonymous', { q: '"ældre borgere"', highlight: 'true' });
  assert.match(phrase.body.items[0].snippet, /<mark>Ældre<\/mark> <mark>borgere<\/mark>|<mark>Ældre borgere<\/mark>/);
  const tag = await listCases(server, 'anonymous', { q: 'velfærdsteknologi', highlight: 'true' });
  assert.match(tag.body.items[0].snippet, /<mark>velfærdsteknologi<\/mark>/);
});

test('cases_search_snippet_is_absent_without_highlight_true_and_q', async () => {
  for (const query of [{ q: 'hjemmepleje' }, { q: 'hjemmepleje', highlight: 'false' }, { highlight: 'true' }, {}]) {
    const response = await listCases(server, 'anonymous', query);
    assert.equal(response.status, 200, response.text);
    assert.ok(response.body.items.length > 0, JSON.stringify(query));
    for (const item of response.body.items) assert.ok(!('snippet' in item), `${JSON.stringify(query)}: ${item.title}`);
  }
});
