// The benchmark's peer (bench/run.sh): coi's two anonymous case reads, GET /v1/cases/{id} and
// GET /v1/cases (newest first, keyset pages), written the way a Node team would write them with
// Fastify 5 and pg over the same PostgreSQL database: the same visibility rule (the public sees
// published cases only; anything else is 404), the same JSON fields in the same order, one
// round trip per request with named (prepared) statements, a pool of POOL_SIZE connections and
// plain JSON.stringify.
//
// Environment: PORT (8090), POOL_SIZE (8), and libpq's PGHOST, PGPORT, PGUSER, PGDATABASE.
import Fastify from 'fastify';
import pg from 'pg';

// bigint columns and counts (version, count(*), sums) as numbers: they stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

const pool = new pg.Pool({ max: Number.parseInt(process.env.POOL_SIZE ?? '8', 10) });

// Columns of a case row `c` with its partners and the summary of its published evaluations (the
// public sees those of published cases).
const CASE_SELECT = `
SELECT c.id, c.organisation_code, c.external_id, c.doc, c.status, c.government_levels,
       c.adoption_count, c.regions_reached, c.version, c.created_at, c.updated_at,
       c.published_at,
       ARRAY(SELECT p.organisation_code FROM case_partners p
             WHERE p.case_id = c.id ORDER BY p.position) AS partners,
       s.count, s.best, s.savings, s.methods
FROM cases c
CROSS JOIN LATERAL (
    SELECT count(*) AS count, max(e.evidence_level) AS best,
           COALESCE(sum((e.doc -> 'economic' ->> 'annual_savings_dkk')::bigint), 0)::bigint AS savings,
           COALESCE(array_agg(DISTINCT e.method COLLATE "C" ORDER BY e.method COLLATE "C")
                    FILTER (WHERE e.method IS NOT NULL), '{}') AS methods
    FROM evaluations e
    WHERE e.case_id = c.id AND e.status = 'published') s`;

const GET_CASE = `${CASE_SELECT}
WHERE c.id = $1 AND c.status = 'published'`;

const LIST_FIRST = `${CASE_SELECT}
WHERE c.status = 'published'
ORDER BY c.updated_at DESC, c.id DESC
LIMIT $1`;

const LIST_AFTER = `${CASE_SELECT}
WHERE c.status = 'published' AND (c.updated_at, c.id) < ($2::timestamptz, $3)
ORDER BY c.updated_at DESC, c.id DESC
LIMIT $1`;

// The content fields, in the order coi shows them; lists are shown as [] when absent.
const CONTENT = [
  'title', 'summary', 'problem', 'solution', 'scope', 'innovation_types', 'sector', 'tags',
  'implementation_status', 'started_on', 'origin', 'inspired_by_case_id',
  'implementation_methods', 'evaluation_methods', 'employee_involvement', 'user_involvement',
  'employee_driven', 'user_driven', 'spread_potential', 'spread_potential_rating',
  'effect_types', 'effects_summary', 'risks_and_pitfalls', 'lessons_learned', 'contact_name',
  'contact_email', 'links',
];
const LISTS = new Set(['innovation_types', 'tags', 'effect_types', 'links']);

function present(row) {
  const out = {
    id: row.id,
    organisation_code: row.organisation_code,
    partner_organisation_codes: row.partners,
    external_id: row.external_id,
  };
  for (const field of CONTENT) {
    out[field] = row.doc[field] ?? (LISTS.has(field) ? [] : null);
  }
  out.status = row.status;
  out.government_levels = row.government_levels;
  out.adoption_count = row.adoption_count;
  out.regions_reached = row.regions_reached;
  out.evaluation_summary = {
    count: row.count,
    published_count: row.count,
    best_evidence_level: row.best,
    documented_annual_savings_dkk: row.savings,
    methods: row.methods,
  };
  out.version = row.version;
  out.created_at = row.created_at.toISOString();
  out.updated_at = row.updated_at.toISOString();
  out.published_at = row.published_at ? row.published_at.toISOString() : null;
  return out;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function notFound(reply, detail) {
  return reply.code(404).type('application/problem+json')
    .send({ type: 'about:blank', title: 'Not Found', status: 404, detail });
}

const app = Fastify({ logger: false });

app.get('/healthz', async () => ({ status: 'ok' }));

app.get('/v1/cases/:id', async (request, reply) => {
  const { id } = request.params;
  if (!UUID.test(id)) return notFound(reply, `no case with id ${id}`);
  const { rows } = await pool.query({ name: 'case_get', text: GET_CASE, values: [id] });
  if (rows.length === 0) return notFound(reply, `no case with id ${id}`);
  return present(rows[0]);
});

const cursorOf = (row) =>
  Buffer.from(JSON.stringify([row.updated_at.toISOString(), row.id])).toString('base64url');

function readCursor(cursor) {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof at === 'string' && !Number.isNaN(Date.parse(at)) && typeof id === 'string') {
      return [at, id];
    }
  } catch {
    // not ours: answered below
  }
  return null;
}

app.get('/v1/cases', {
  schema: {
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
        cursor: { type: 'string', maxLength: 512 },
      },
    },
  },
}, async (request, reply) => {
  const { limit, cursor } = request.query;
  let result;
  if (cursor === undefined) {
    result = await pool.query({ name: 'case_list', text: LIST_FIRST, values: [limit + 1] });
  } else {
    const after = readCursor(cursor);
    if (after === null) {
      return reply.code(400).send({ status: 400, title: 'Bad Request', detail: 'bad cursor' });
    }
    result = await pool.query({ name: 'case_list_after', text: LIST_AFTER, values: [limit + 1, ...after] });
  }
  const rows = result.rows;
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return {
    items: page.map(present),
    next_cursor: more ? cursorOf(page[page.length - 1]) : null,
  };
});

const port = Number.parseInt(process.env.PORT ?? '8090', 10);
await app.listen({ host: '127.0.0.1', port });

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    await app.close();
    await pool.end();
    process.exit(0);
  });
}
