-- The text-search vector of each case in a table of its own, `case_search`, with the status
-- that anonymous searches filter on. Ranking a word that most cases contain reads the vector
-- of every one of them; read from `cases`, whose rows are half other columns, that cost about
-- a third more than from this table (bench/search.sh: 49 -> 33 ms for "borgere
-- digitalisering", 27 000 matches). Searches read `case_search` and join `cases` only for the
-- filters and sorts that need it (storage/postgres/case_search.c).
--
-- Statement triggers keep it in step with `cases` from any writer, in the same statement: a
-- case inserted gets its row; an update that changes the document recomputes the vector, one
-- that changes the status copies it. Deleting a case deletes its row.

-- The vector of 0005, as a function of the document: title (A), summary (B), problem, solution
-- and tags (C), lessons_learned (D), stemmed with the `danish` configuration; a placeholder
-- lexeme '#' between fields keeps a phrase from matching across them.
CREATE FUNCTION coi_search_vector(doc jsonb) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ts_delete(
        setweight(to_tsvector('danish', COALESCE(doc ->> 'title', '')), 'A') || '#:1'::tsvector ||
        setweight(to_tsvector('danish', COALESCE(doc ->> 'summary', '')), 'B') || '#:1'::tsvector ||
        setweight(to_tsvector('danish', COALESCE(doc ->> 'problem', '')), 'C') || '#:1'::tsvector ||
        setweight(to_tsvector('danish', COALESCE(doc ->> 'solution', '')), 'C') || '#:1'::tsvector ||
        setweight(jsonb_to_tsvector('danish', COALESCE(doc -> 'tags', '[]'), '["string"]'), 'C')
        || '#:1'::tsvector ||
        setweight(to_tsvector('danish', COALESCE(doc ->> 'lessons_learned', '')), 'D'),
        '#');

CREATE TABLE case_search (
    id     text PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    status text NOT NULL,
    search tsvector NOT NULL
);
-- Compressed or moved out of line only when nothing else makes a row fit: a search reads it
-- for every matching case.
ALTER TABLE case_search ALTER COLUMN search SET STORAGE MAIN;
INSERT INTO case_search (id, status, search) SELECT id, status, search FROM cases;
CREATE INDEX case_search_search ON case_search USING gin (search);

ALTER TABLE cases DROP COLUMN search; -- and its index, cases_search

CREATE FUNCTION coi_case_search_added() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_search (id, status, search)
    SELECT n.id, n.status, coi_search_vector(n.doc) FROM added n;
    RETURN NULL;
END
$$;

CREATE FUNCTION coi_case_search_changed() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    UPDATE case_search s
       SET status = n.status,
           search = CASE WHEN o.doc IS DISTINCT FROM n.doc THEN coi_search_vector(n.doc)
                         ELSE s.search END
      FROM changed_old o JOIN changed_new n ON n.id = o.id
     WHERE s.id = n.id AND (o.doc IS DISTINCT FROM n.doc OR o.status IS DISTINCT FROM n.status);
    RETURN NULL;
END
$$;

CREATE TRIGGER cases_search_added AFTER INSERT ON cases
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION coi_case_search_added();
CREATE TRIGGER cases_search_changed AFTER UPDATE ON cases
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
    FOR EACH STATEMENT EXECUTE FUNCTION coi_case_search_changed();
