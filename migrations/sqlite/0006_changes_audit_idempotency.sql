-- The change feed, the audit log and stored responses for Idempotency-Key retries.

-- One row per create, update, transition or delete of a case, evaluation or adoption, written
-- in the transaction that made the change. SQLite has one writer at a time, so rowid order
-- is commit order. Visibility before and after the change is kept so that the feed can be
-- filtered per caller: public_* = anyone may see the object (0/1); orgs_* = JSON array of the
-- organisations that may see it even when not public (the rule of auth/policy.c).
CREATE TABLE changes (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    type           TEXT NOT NULL CHECK (type IN ('case', 'evaluation', 'adoption')),
    object_id      TEXT NOT NULL,
    case_id        TEXT NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('created', 'updated', 'transition', 'deleted')),
    version        INTEGER NOT NULL,
    public_before  INTEGER NOT NULL,
    orgs_before    TEXT NOT NULL DEFAULT '[]',
    public_after   INTEGER NOT NULL,
    orgs_after     TEXT NOT NULL DEFAULT '[]'
);

-- Who did what: every write request by an authenticated caller, allowed or refused.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    request_id   TEXT NOT NULL,
    sub          TEXT,
    role         TEXT,
    party        TEXT,
    org          TEXT,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    status       INTEGER NOT NULL,
    outcome      TEXT NOT NULL CHECK (outcome IN ('succeeded', 'refused', 'failed')),
    object_type  TEXT,
    object_id    TEXT,
    detail       TEXT
);
CREATE INDEX audit_log_sub ON audit_log (sub, seq);
CREATE INDEX audit_log_object ON audit_log (object_id, seq);

-- A POST's response kept for 24 hours under the caller's Idempotency-Key. status is NULL
-- while the first request with the key is still being answered.
CREATE TABLE idempotency_keys (
    sub           TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    status        INTEGER,
    headers       TEXT,
    body          TEXT,
    PRIMARY KEY (sub, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
