-- Organisations: municipalities, regions, state bodies and other public institutions.
CREATE TABLE organisations (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('municipality', 'region', 'state', 'other')),
    region_code text REFERENCES organisations (code),
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organisations_kind_code ON organisations (kind, code);
CREATE INDEX organisations_region_code ON organisations (region_code, code);
