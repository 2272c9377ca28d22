-- Evaluations: documented economic and quality effects of cases, reviewed like cases.
-- The content (economic figures, quality effects, texts) lives in `doc`; the columns beside it
-- are what the service filters and summarises on.
CREATE TABLE evaluations (
    id              text PRIMARY KEY,
    case_id         text NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    doc             jsonb NOT NULL,
    method          text GENERATED ALWAYS AS (doc ->> 'method') STORED,
    evaluator_kind  text GENERATED ALWAYS AS (doc ->> 'evaluator_kind') STORED,
    evidence_level  integer GENERATED ALWAYS AS ((doc ->> 'evidence_level')::integer) STORED,
    status          text NOT NULL DEFAULT 'draft' CHECK (status IN
                        ('draft', 'submitted', 'in_review', 'published', 'changes_requested',
                         'archived')),
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    updated_at      timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    published_at    timestamptz
);
CREATE INDEX evaluations_case ON evaluations (case_id, id);

CREATE TABLE evaluation_history (
    evaluation_id  text NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
    version        bigint NOT NULL,
    at             timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    actor          jsonb NOT NULL,
    action         text NOT NULL CHECK (action IN ('created', 'updated', 'transition')),
    from_status    text,
    to_status      text,
    note           text,
    changed_fields jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (evaluation_id, version)
);
