-- The change feed, the audit log and stored responses for Idempotency-Key retries.

-- One row per create, update, transition or delete of a case, evaluation or adoption, written
-- in the transaction that made the change. `seq` is taken while holding a transaction-level
-- advisory lock (storage/postgres/changes.c) that is released at commit, so seq order is
-- commit order and a reader that has seen seq N has seen every committed seq below N.
-- Visibility before and after the change is kept so that the feed can be filtered per caller:
-- public_* = anyone may see the object; orgs_* = organisations that may see it even when not
-- public (the rule of auth/policy.c for that type).
CREATE TABLE changes (
    seq            bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
    type           text NOT NULL CHECK (type IN ('case', 'evaluation', 'adoption')),
    object_id      text NOT NULL,
    case_id        text NOT NULL,
    action         text NOT NULL CHECK (action IN ('created', 'updated', 'transition', 'deleted')),
    version        bigint NOT NULL,
    public_before  boolean NOT NULL,
    orgs_before    text[] NOT NULL DEFAULT '{}',
    public_after   boolean NOT NULL,
    orgs_after     text[] NOT NULL DEFAULT '{}'
);

-- Who did what: every write request by an authenticated caller, allowed or refused.
CREATE TABLE audit_log (
    seq          bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
    request_id   text NOT NULL,
    sub          text,
    role         text,
    party        text,
    org          text,
    method       text NOT NULL,
    path         text NOT NULL,
    status       integer NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('succeeded', 'refused', 'failed')),
    object_type  text,
    object_id    text,
    detail       text
);
CREATE INDEX audit_log_sub ON audit_log (sub, seq);
CREATE INDEX audit_log_object ON audit_log (object_id, seq);

-- A POST's response kept for 24 hours under the caller's Idempotency-Key. status is NULL
-- while the first request with the key is still being answered.
CREATE TABLE idempotency_keys (
    sub           text NOT NULL,
    key           text NOT NULL,
    request_hash  text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    status        integer,
    headers       jsonb,
    body          text,
    PRIMARY KEY (sub, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
