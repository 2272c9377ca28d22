-- Finding cases: the Danish text search index and what makes the filters and sorts cheap.
--
-- cases_fts holds the searchable text of each case, one row per case whose rowid is the case's
-- search_key (a stable integer: the rowid of a table keyed by text may change on VACUUM). The
-- tokenizer "danish" (storage/sqlite/fts_danish.c) is registered on every connection the
-- service opens; other SQLite clients can read every table but this one. The case writes
-- (storage/sqlite/case_writes.c) replace a case's row in the same transaction. The column
-- order is the one coi_rank weighs.
ALTER TABLE cases ADD COLUMN search_key INTEGER;
UPDATE cases SET search_key = rowid;
CREATE UNIQUE INDEX cases_search_key ON cases (search_key);

CREATE VIRTUAL TABLE cases_fts USING fts5 (
    title, summary, problem, solution, lessons_learned, tags,
    tokenize = 'danish'
);
INSERT INTO cases_fts (rowid, title, summary, problem, solution, lessons_learned, tags)
SELECT search_key, json_extract(doc, '$.title'), json_extract(doc, '$.summary'),
       json_extract(doc, '$.problem'), json_extract(doc, '$.solution'),
       json_extract(doc, '$.lessons_learned'),
       (SELECT group_concat(value, ' ') FROM json_each(doc, '$.tags'))
FROM cases;

-- The content fields the lists filter and sort on, as columns computed from doc (virtual:
-- nothing is stored twice except in the indexes).
ALTER TABLE cases ADD COLUMN title TEXT
    GENERATED ALWAYS AS (json_extract(doc, '$.title')) VIRTUAL;
ALTER TABLE cases ADD COLUMN sector TEXT
    GENERATED ALWAYS AS (json_extract(doc, '$.sector')) VIRTUAL;
ALTER TABLE cases ADD COLUMN implementation_status TEXT
    GENERATED ALWAYS AS (json_extract(doc, '$.implementation_status')) VIRTUAL;
ALTER TABLE cases ADD COLUMN spread_potential_rating TEXT
    GENERATED ALWAYS AS (json_extract(doc, '$.spread_potential_rating')) VIRTUAL;
ALTER TABLE cases ADD COLUMN origin TEXT
    GENERATED ALWAYS AS (json_extract(doc, '$.origin')) VIRTUAL;
ALTER TABLE cases ADD COLUMN started_on TEXT
    GENERATED ALWAYS AS (json_extract(doc, '$.started_on')) VIRTUAL;

-- One index per sort (updated_at has cases_updated from 0003), each ending in id as the sort
-- does; and the selective filters.
CREATE INDEX cases_title ON cases (title, id);
CREATE INDEX cases_adoptions ON cases (adoption_count DESC, id DESC);
CREATE INDEX cases_published ON cases (published_at DESC, id DESC);
CREATE INDEX cases_sector ON cases (sector, updated_at DESC, id DESC);
CREATE INDEX cases_implementation_status ON cases (implementation_status, updated_at DESC, id DESC);
CREATE INDEX cases_started_on ON cases (started_on);
