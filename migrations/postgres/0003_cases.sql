-- Cases (innovative initiatives), their partner organisations, history and adoptions.
-- A case's content fields live in `doc` (jsonb), written as the API validated them; the
-- columns beside it are what the service filters, sorts, joins and derives on.
CREATE TABLE cases (
    id                 text PRIMARY KEY,
    organisation_code  text NOT NULL REFERENCES organisations (code),
    external_id        text,
    doc                jsonb NOT NULL,
    status             text NOT NULL DEFAULT 'draft' CHECK (status IN
                           ('draft', 'submitted', 'in_review', 'published', 'changes_requested',
                            'archived')),
    government_levels  text[] NOT NULL DEFAULT '{}',
    adoption_count     integer NOT NULL DEFAULT 0,
    regions_reached    text[] NOT NULL DEFAULT '{}',
    version            bigint NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    updated_at         timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    published_at       timestamptz,
    UNIQUE (organisation_code, external_id)
);
CREATE INDEX cases_updated ON cases (updated_at DESC, id DESC);
CREATE INDEX cases_status_updated ON cases (status, updated_at DESC, id DESC);
CREATE INDEX cases_organisation_updated ON cases (organisation_code, updated_at DESC, id DESC);

-- The organisations a case is run with besides its lead, in the order the writer gave.
CREATE TABLE case_partners (
    case_id           text NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    organisation_code text NOT NULL REFERENCES organisations (code),
    position          integer NOT NULL,
    PRIMARY KEY (case_id, organisation_code)
);
CREATE INDEX case_partners_organisation ON case_partners (organisation_code);

-- One entry per version of a case, written in the transaction that made the version.
CREATE TABLE case_history (
    case_id        text NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    version        bigint NOT NULL,
    at             timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    actor          jsonb NOT NULL,
    action         text NOT NULL CHECK (action IN ('created', 'updated', 'transition')),
    from_status    text,
    to_status      text,
    note           text,
    changed_fields jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (case_id, version)
);

-- Another organisation taking a case up: one per organisation and case.
CREATE TABLE adoptions (
    id                text PRIMARY KEY,
    case_id           text NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    organisation_code text NOT NULL REFERENCES organisations (code),
    status            text NOT NULL CHECK (status IN
                          ('considering', 'adapting', 'implemented', 'discontinued')),
    started_on        date,
    notes             text,
    version           bigint NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    updated_at        timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    UNIQUE (case_id, organisation_code)
);
CREATE INDEX adoptions_case ON adoptions (case_id, id);
