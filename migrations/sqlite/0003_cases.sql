-- Cases (innovative initiatives), their partner organisations, history and adoptions.
-- A case's content fields live in `doc` (JSON text), written as the API validated them; the
-- columns beside it are what the service filters, sorts, joins and derives on. Arrays are
-- JSON text.
CREATE TABLE cases (
    id                 TEXT PRIMARY KEY,
    organisation_code  TEXT NOT NULL REFERENCES organisations (code),
    external_id        TEXT,
    doc                TEXT NOT NULL CHECK (json_valid(doc)),
    status             TEXT NOT NULL DEFAULT 'draft' CHECK (status IN
                           ('draft', 'submitted', 'in_review', 'published', 'changes_requested',
                            'archived')),
    government_levels  TEXT NOT NULL DEFAULT '[]',
    adoption_count     INTEGER NOT NULL DEFAULT 0,
    regions_reached    TEXT NOT NULL DEFAULT '[]',
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    published_at       TEXT,
    UNIQUE (organisation_code, external_id)
);
CREATE INDEX cases_updated ON cases (updated_at DESC, id DESC);
CREATE INDEX cases_status_updated ON cases (status, updated_at DESC, id DESC);
CREATE INDEX cases_organisation_updated ON cases (organisation_code, updated_at DESC, id DESC);

CREATE TABLE case_partners (
    case_id           TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    organisation_code TEXT NOT NULL REFERENCES organisations (code),
    position          INTEGER NOT NULL,
    PRIMARY KEY (case_id, organisation_code)
);
CREATE INDEX case_partners_organisation ON case_partners (organisation_code);

CREATE TABLE case_history (
    case_id        TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('created', 'updated', 'transition')),
    from_status    TEXT,
    to_status      TEXT,
    note           TEXT,
    changed_fields TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (case_id, version)
);

CREATE TABLE adoptions (
    id                TEXT PRIMARY KEY,
    case_id           TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    organisation_code TEXT NOT NULL REFERENCES organisations (code),
    status            TEXT NOT NULL CHECK (status IN
                          ('considering', 'adapting', 'implemented', 'discontinued')),
    started_on        TEXT,
    notes             TEXT,
    version           INTEGER NOT NULL DEFAULT 1,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (case_id, organisation_code)
);
CREATE INDEX adoptions_case ON adoptions (case_id, id);
