-- Organisations: municipalities, regions, state bodies and other public institutions.
CREATE TABLE organisations (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('municipality', 'region', 'state', 'other')),
    region_code TEXT REFERENCES organisations (code),
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX organisations_kind_code ON organisations (kind, code);
CREATE INDEX organisations_region_code ON organisations (region_code, code);
