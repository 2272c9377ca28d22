-- Evaluations: documented economic and quality effects of cases, reviewed like cases.
-- The content (economic figures, quality effects, texts) lives in `doc` (JSON text); the
-- columns beside it are what the service filters and summarises on.
CREATE TABLE evaluations (
    id              TEXT PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    doc             TEXT NOT NULL CHECK (json_valid(doc)),
    method          TEXT GENERATED ALWAYS AS (json_extract(doc, '$.method')) STORED,
    evaluator_kind  TEXT GENERATED ALWAYS AS (json_extract(doc, '$.evaluator_kind')) STORED,
    evidence_level  INTEGER GENERATED ALWAYS AS (json_extract(doc, '$.evidence_level')) STORED,
    status          TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
                        ('draft', 'submitted', 'in_review', 'published', 'changes_requested',
                         'archived')),
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    published_at    TEXT
);
CREATE INDEX evaluations_case ON evaluations (case_id, id);

CREATE TABLE evaluation_history (
    evaluation_id  TEXT NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('created', 'updated', 'transition')),
    from_status    TEXT,
    to_status      TEXT,
    note           TEXT,
    changed_fields TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (evaluation_id, version)
);
