-- How a case's row is stored. A case (about 1.5 kB of JSON in `doc`, 0.7 kB of search vector)
-- is too wide for a row to stay inline, so PostgreSQL first tries to compress its widest
-- values: with pglz, `doc` rarely shrank by the 25% pglz asks for, and was then stored out of
-- line uncompressed, after the time spent trying (4% of the database's CPU in a push of
-- 100 000 cases, bench/batch.sh). lz4 compresses JSON text quickly and keeps what it saves.
-- The search vector is compressed or moved out of line only when nothing else makes the row
-- fit (MAIN): a search reads it for every matching case.
DO $$
BEGIN
    ALTER TABLE cases ALTER COLUMN doc SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL; -- a server built without lz4 keeps pglz
END
$$;
ALTER TABLE cases ALTER COLUMN search SET STORAGE MAIN;

-- Every index is paid for by every write. The sorts by title, adoptions and publication had one
-- index each alone and one after status (0005); the visible cases are most of them (published,
-- or the viewer's own), so reading the sort's own index and skipping the others finds a page
-- about as fast, and a rare status has cases_status_updated to start from.
DROP INDEX cases_status_title;
DROP INDEX cases_status_adoptions;
DROP INDEX cases_status_published;
