-- Relevance order from the index. The GIN index of 0005 finds the matching cases, but ranking
-- them meant reading every match from the table and computing ts_rank_cd for each: a word in
-- most cases (e.g. "borgere") cost about 100 ms on 100 000 cases. A RUM index (the `rum`
-- extension, Debian package postgresql-15-rum) keeps the positions of every lexeme, so it
-- answers `search @@ q` like GIN (bitmap scans for counts, facets and the other sorts) and
-- also returns matches in the order of `search <=> q`, a cover-density distance (the inverse
-- of a ts_rank_cd-like score with the same weights), without reading the table.
CREATE EXTENSION IF NOT EXISTS rum;
CREATE INDEX cases_search_rum ON cases USING rum (search rum_tsvector_ops);
DROP INDEX cases_search;
