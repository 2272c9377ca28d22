-- Finding cases: a Danish text-search vector per case, the content fields the list filters on
-- as columns, and indexes for the filters and sorts (storage/postgres/case_search.c).

-- The strings of a JSON array as text[] (empty for a JSON null or anything else, NULL for
-- NULL): how the array fields of `doc` become columns that && and GIN compare exactly.
CREATE FUNCTION coi_text_array(value jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ARRAY(SELECT jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(value) = 'array' THEN value END));

-- Filters test these small columns instead of `doc`, which is mostly stored out of line
-- (TOAST): reading it for every candidate row would dominate a filtered list.
-- `search`: title (A), summary (B), problem, solution and tags (C), lessons_learned (D),
-- stemmed with the `danish` configuration. Between two fields a placeholder lexeme '#' (which
-- the parser never produces) takes one position and is then deleted, so that a phrase cannot
-- match across a field boundary; jsonb_to_tsvector keeps tags apart the same way.
ALTER TABLE cases
    ADD COLUMN sector text GENERATED ALWAYS AS (doc ->> 'sector') STORED,
    ADD COLUMN implementation_status text
        GENERATED ALWAYS AS (doc ->> 'implementation_status') STORED,
    ADD COLUMN origin text GENERATED ALWAYS AS (doc ->> 'origin') STORED,
    ADD COLUMN spread_potential_rating text
        GENERATED ALWAYS AS (doc ->> 'spread_potential_rating') STORED,
    ADD COLUMN started_on text GENERATED ALWAYS AS (doc ->> 'started_on') STORED,
    ADD COLUMN innovation_types text[]
        GENERATED ALWAYS AS (coi_text_array(doc -> 'innovation_types')) STORED,
    ADD COLUMN effect_types text[]
        GENERATED ALWAYS AS (coi_text_array(doc -> 'effect_types')) STORED,
    ADD COLUMN tags text[] GENERATED ALWAYS AS (coi_text_array(doc -> 'tags')) STORED,
    ADD COLUMN search tsvector GENERATED ALWAYS AS (ts_delete(
        setweight(to_tsvector('danish', COALESCE(doc ->> 'title', '')), 'A') || '#:1'::tsvector ||
        setweight(to_tsvector('danish', COALESCE(doc ->> 'summary', '')), 'B') || '#:1'::tsvector ||
        setweight(to_tsvector('danish', COALESCE(doc ->> 'problem', '')), 'C') || '#:1'::tsvector ||
        setweight(to_tsvector('danish', COALESCE(doc ->> 'solution', '')), 'C') || '#:1'::tsvector ||
        setweight(jsonb_to_tsvector('danish', COALESCE(doc -> 'tags', '[]'), '["string"]'), 'C')
        || '#:1'::tsvector ||
        setweight(to_tsvector('danish', COALESCE(doc ->> 'lessons_learned', '')), 'D'),
        '#')) STORED;

CREATE INDEX cases_search ON cases USING gin (search);

-- Filters that can be selective, alone or intersected with others (bitmap AND). One sector
-- (the commonest filter) is also read in updated_at order, stopping at the page's end.
CREATE INDEX cases_tags ON cases USING gin (tags);
CREATE INDEX cases_innovation_types ON cases USING gin (innovation_types);
CREATE INDEX cases_effect_types ON cases USING gin (effect_types);
CREATE INDEX cases_sector ON cases (sector, updated_at DESC, id DESC);
-- The region filter and facet look up the cases of the organisations in a region among the
-- partners: with case_id in the index that is an index-only scan.
DROP INDEX case_partners_organisation;
CREATE INDEX case_partners_organisation ON case_partners (organisation_code, case_id);

-- Each sort, alone and after the status filter (the visibility of anonymous readers). The
-- updated_at ones exist since 0003 (read backwards for updated_at ASC). Titles sort by bytes.
CREATE INDEX cases_title ON cases ((doc ->> 'title') COLLATE "C", id);
CREATE INDEX cases_status_title ON cases (status, (doc ->> 'title') COLLATE "C", id);
CREATE INDEX cases_adoptions ON cases (adoption_count DESC, id DESC);
CREATE INDEX cases_status_adoptions ON cases (status, adoption_count DESC, id DESC);
-- Never-published cases last: they sort as -infinity, which keeps the keyset one comparison.
CREATE INDEX cases_published ON cases ((COALESCE(published_at, '-infinity')) DESC, id DESC);
CREATE INDEX cases_status_published
    ON cases (status, (COALESCE(published_at, '-infinity')) DESC, id DESC);
