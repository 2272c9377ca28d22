-- Generated cases for the search benchmark (bench/search.sh): 100 000 cases with their partner
-- organisations, adoptions, history and a few thousand evaluations, written straight into a
-- PostgreSQL database that `coi migrate` prepared (bench/gen_cases.sh runs the parts below).
--
-- Deterministic: every choice is a hash of the case number and a salt (hashtextextended, the
-- hash PostgreSQL keeps stable for hash partitioning), so two loads hold the same rows.
-- The rows are what the service itself would have written: the content fields in `doc` as the
-- API validates them (Danish texts from the word lists below), the derived columns
-- (government_levels, regions_reached, adoption_count) computed from the lead, partner and
-- adopter organisations as storage/postgres/cases.c does, version = the number of history
-- entries, ids UUID v7 whose time is the creation time, timestamps at millisecond precision
-- spread over 2017-2026. Columns the schema generates (the search vector of 0005, the
-- evaluations' method and evidence_level) are left to it.
--
-- Three parts, each one transaction, chosen with psql -v part=...:
--   prepare  checks the database is migrated and has no case, draws every case's choices into
--            UNLOGGED tables of schema bench_gen, and drops the secondary indexes of the tables
--            it fills (as pg_restore does: building them at the end is much faster);
--   cases    -v worker=W -v workers=K: builds and inserts the cases (and their history) of the
--            W-th of K equal ranges; the K workers run at once, one per core, because the
--            search vector the schema generates costs about 0.1 ms of CPU per case;
--   finish   partners, adoptions, evaluations, the dropped indexes rebuilt from their own
--            definitions, schema bench_gen dropped.
-- -v cases=N sets the number of cases (default 100000; the same N for every part); or
-- -v published=N: as many cases as it takes for exactly N of them to be published. ANALYZE
-- afterwards.
\set ON_ERROR_STOP on
\if :{?published}
-- The smallest count whose cases hold N published ones, by the status rule of bench_gen.g
-- below (published when h('status', n) % 1000 < 840).
SELECT min(n) AS cases
FROM (SELECT n, count(*) FILTER (WHERE (hashtextextended('status', n) & 4294967295) % 1000 < 840)
                    OVER (ORDER BY n) AS published
      FROM generate_series(1, 2 * :published + 1000) n) s
WHERE published = :published
\gset
\endif
\if :{?cases}
\else
\set cases 100000
\endif
\if :{?worker}
\else
\set worker 0
\endif
\if :{?workers}
\else
\set workers 1
\endif
\if :{?part}
\else
\set part none
\endif
SELECT :'part' = 'prepare' AS is_prepare, :'part' = 'cases' AS is_cases,
       :'part' = 'finish' AS is_finish,
       :'part' IN ('prepare', 'cases', 'finish') AS is_known,
       1 + :worker * ((:cases + :workers - 1) / :workers) AS first,
       least(:cases, (:worker + 1) * ((:cases + :workers - 1) / :workers)) AS last
\gset
\if :is_known
\else
\warn 'gen_cases.sql: -v part= must be prepare, cases or finish'
\quit
\endif

BEGIN;
SET LOCAL work_mem = '256MB';
SET LOCAL maintenance_work_mem = '512MB';
SET LOCAL client_min_messages = warning;
-- The estimates of these one-off statements are huge; compiling them would cost seconds.
SET LOCAL jit = off;

-- h(salt, n): a number in [0, 2^32) that depends only on its arguments. hashtextextended is
-- the hash of hash partitioning, which PostgreSQL keeps stable; md5 would be 15 times slower.
CREATE FUNCTION pg_temp.h(salt text, n bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashtextextended(salt, n) & 4294967295 $$;

-- pick(list, salt, n): one element of list.
CREATE FUNCTION pg_temp.pick(list text[], salt text, n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT list[1 + pg_temp.h(salt, n) % cardinality(list)] $$;

-- A UUID v7 (RFC 9562) whose 48-bit time is `ms` and whose other bits are a hash of salt/n:
-- ids sort in creation order, as storage/id.c makes them.
CREATE FUNCTION pg_temp.uuid7(ms bigint, salt text, n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT (lpad(to_hex(ms), 12, '0') || '7'
            || lpad(to_hex(hashtextextended(salt, n) & 4095), 3, '0')
            || to_hex(8 + (hashtextextended(salt || '/v', n) & 3))
            || lpad(to_hex(hashtextextended(salt || '/w', n) & 1152921504606846975), 15, '0')
           )::uuid::text
$$;

CREATE FUNCTION pg_temp.ts(ms bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT timestamptz '1970-01-01 00:00:00+00' + ms * interval '1 millisecond' $$;

-- Case n is created in its own 2.6-million-ms slot from 2017-01-02: 100 000 cases cover
-- eight years, and ids follow n.
CREATE FUNCTION pg_temp.case_ms(n bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 1483315200000 + (n - 1) * 2600000 + pg_temp.h('created', n) % 2600000 $$;

CREATE FUNCTION pg_temp.case_id(n bigint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT pg_temp.uuid7(pg_temp.case_ms(n), 'case', n) $$;

-- When step i (1 = created) of a history with `slot`-long steps happens, after the first.
CREATE FUNCTION pg_temp.step_ms(salt text, n bigint, i int, slot bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN i = 1 THEN 0 ELSE (i - 1) * slot + pg_temp.h(salt || i, n) % slot END $$;

CREATE FUNCTION pg_temp.capital(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT upper(left(s, 1)) || substr(s, 2) $$;

-- A name for host and mail addresses: "Høje-Taastrup" -> "hoeje-taastrup".
CREATE FUNCTION pg_temp.slug(s text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT regexp_replace(replace(replace(replace(lower(s), 'æ', 'ae'), 'ø', 'oe'), 'å', 'aa'),
                          '[^a-z0-9]+', '-', 'g')
$$;

\if :is_prepare
DO $$
BEGIN
    IF to_regclass('cases') IS NULL THEN
        RAISE EXCEPTION 'gen_cases.sql: no table cases (run coi migrate first)';
    ELSIF EXISTS (SELECT 1 FROM cases) THEN
        RAISE EXCEPTION 'gen_cases.sql loads into a database without cases';
    END IF;
END $$;
DROP SCHEMA IF EXISTS bench_gen CASCADE;
CREATE SCHEMA bench_gen;

-- The lead, partner and adopter candidates: the 98 municipalities, then the 5 regions, each
-- in code order (neighbours in code order are neighbours on the map).
CREATE UNLOGGED TABLE bench_gen.orgs AS
SELECT (row_number() OVER (ORDER BY kind = 'region', code) - 1)::int AS i, code, name, kind,
       CASE kind WHEN 'region' THEN code ELSE region_code END AS region,
       CASE kind WHEN 'region' THEN 'regional' ELSE 'municipal' END AS level,
       pg_temp.slug(name) AS slug
FROM organisations WHERE kind IN ('municipality', 'region');
CREATE UNIQUE INDEX ON bench_gen.orgs (i);
ANALYZE bench_gen.orgs;

DO $$
BEGIN
    IF (SELECT count(*) FROM bench_gen.orgs WHERE kind = 'municipality') <> 98
       OR (SELECT count(*) FROM bench_gen.orgs WHERE kind = 'region') <> 5 THEN
        RAISE EXCEPTION 'gen_cases.sql expects the 98 seeded municipalities and 5 regions (migrate first)';
    END IF;
END $$;

-- The word lists stay in their rows (toast_tuple_target): compressed out of line, every use
-- would decompress them again.
-- Per sector: subjects (definite Danish nouns that lead a title), what they do, the problem
-- and the solution, and tags.
CREATE UNLOGGED TABLE bench_gen.vocab (sector text PRIMARY KEY, weight int, subjects text[],
                               actions text[], problems text[], solutions text[], tags text[])
WITH (toast_tuple_target = 8160);
INSERT INTO bench_gen.vocab VALUES
('elderly_care', 20,
 '{hjemmeplejen,ældreplejen,plejecentret,plejehjemmet,hjemmesygeplejen,demensteamet,visitationen,madservice,aftenvagten i hjemmeplejen}',
 '{"planlægger selv ruterne","bruger skærmbesøg til ældre borgere","indfører hverdagsrehabilitering","afprøver velfærdsteknologi i hjemmet","samarbejder tæt med pårørende","forebygger fald hos ældre","arbejder i selvstyrende teams","styrker genoptræningen efter udskrivelse","mindsker ensomhed blandt ældre","bruger sensorer til natlige tilsyn","giver ældre borgere faste hjælpere"}',
 '{"Hjemmeplejen brugte meget tid på kørsel og koordinering, og borgerne mødte mange forskellige medarbejdere.","Flere ældre borgere blev genindlagt kort tid efter udskrivelse, fordi genoptræningen ikke kom hurtigt nok i gang.","Ældreplejen havde svært ved at rekruttere og fastholde medarbejdere.","Mange ældre borgere følte sig ensomme, og de pårørende manglede overblik over plejen.","Natlige tilsyn vækkede borgerne og gav uro på plejecentret."}',
 '{"Medarbejderne i hjemmeplejen lægger selv køreplanen hver morgen og fordeler besøgene i teamet.","Borgerne får et intensivt rehabiliteringsforløb med fokus på hverdagens aktiviteter, før der visiteres til varig hjemmepleje.","Skærmbesøg erstatter en del af de fysiske besøg, så borgeren kan få hjælp flere gange om dagen.","Sensorer i hjemmet giver besked, hvis borgeren falder om natten.","Ældreplejen er organiseret i små selvstyrende teams omkring den enkelte borger."}',
 '{hjemmepleje,ældrepleje,ældre,rehabilitering,velfærdsteknologi,demens,pårørende,skærmbesøg,genoptræning,faldforebyggelse,"selvstyrende teams",ensomhed}'),
('health', 14,
 '{sundhedsplejen,akutteamet,sygehuset,psykiatrien,forebyggelsescentret,genoptræningscentret,sundhedshuset,"almen praksis"}',
 '{"forebygger indlæggelser med tidlig opsporing","tilbyder videokonsultationer","samler sundhedsindsatsen i ét team","bruger data til at forudsige genindlæggelser","styrker overgangen mellem sygehus og kommune","nedbringer ventetiden","tilbyder digital genoptræning","inddrager patienterne i egen behandling"}',
 '{"Patienter med kroniske sygdomme blev indlagt flere gange om året med forværringer, der kunne være opdaget tidligere.","Ventetiden til genoptræning var lang, og mange patienter mistede funktionsevne undervejs.","Overgangen fra sygehus til kommune skabte usikkerhed for patienter og pårørende.","Borgere med psykisk sygdom faldt mellem to stole i sundhedsvæsenet."}',
 '{"Et tværsektorielt team følger patienterne tæt de første uger efter udskrivelse.","Patienterne måler selv blodtryk og vægt derhjemme, og sygeplejersken følger op via video.","Almen praksis, kommunen og sygehuset deler en fælles plan for den enkelte patient.","Akutteamet rykker ud i borgerens hjem og behandler der i stedet for på sygehuset."}',
 '{sundhed,forebyggelse,genindlæggelser,telemedicin,psykiatri,"tidlig opsporing",patientinddragelse,genoptræning,"tværsektorielt samarbejde",ventetid}'),
('social', 9,
 '{socialforvaltningen,botilbuddet,handicapområdet,misbrugsbehandlingen,herberget,bostøtten,socialpsykiatrien}',
 '{"giver udsatte borgere én indgang til kommunen","arbejder recovery-orienteret","inddrager borgerne i egen handleplan","bruger netværksmøder med familie og venner","forebygger hjemløshed","styrker samarbejdet med frivillige"}',
 '{"Udsatte borgere havde mange sagsbehandlere og forskellige planer, der ikke hang sammen.","Borgere på botilbuddet havde for lidt indflydelse på egen hverdag.","Flere unge blev hjemløse efter endt anbringelse."}',
 '{"Borgeren får én koordinerende sagsbehandler og én samlet plan.","Medarbejderne arbejder med recovery og borgerens egne mål.","Frivillige mentorer følger de unge i det første år i egen bolig."}',
 '{"udsatte borgere",handicap,misbrug,hjemløshed,recovery,socialpsykiatri,frivillige,netværk,borgerinddragelse,samskabelse}'),
('children_youth', 10,
 '{daginstitutionen,dagplejen,vuggestuen,børnehaven,familieafdelingen,ungdomsskolen,klubben,PPR}',
 '{"styrker sprogindsatsen for de mindste","bruger naturen som læringsrum","samarbejder tidligt med forældrene","forebygger mistrivsel blandt unge","giver familier én fast kontaktperson","arbejder med tidlig indsats"}',
 '{"For mange børn startede i skole med et svagt sprog.","Familier med komplekse problemer mødte mange forskellige fagpersoner.","Mistrivsel blandt unge blev opdaget for sent."}',
 '{"Pædagogerne i daginstitutionen arbejder struktureret med sprog i hverdagens aktiviteter.","Familien får én fast kontaktperson, der koordinerer indsatsen på tværs.","Ungdomsskolen og klubben tilbyder samtaleforløb, før problemerne vokser."}',
 '{daginstitution,børn,unge,familier,"tidlig indsats",sprog,trivsel,forældresamarbejde,mistrivsel,inklusion}'),
('education', 10,
 '{folkeskolen,skolen,specialundervisningen,ungdomsuddannelsen,SFO''en,skolebiblioteket}',
 '{"indfører holddannelse på tværs af årgange","bruger co-teaching i undervisningen","styrker elevernes trivsel","flytter undervisningen ud af klasselokalet","nedbringer fraværet","inkluderer flere elever i almenundervisningen"}',
 '{"Mange elever med særlige behov blev undervist uden for klassen.","Fraværet i udskolingen var højt og steg år for år.","Lærerne havde svært ved at differentiere undervisningen."}',
 '{"To lærere underviser sammen, så flere elever kan blive i klassen.","Skolen kontakter hjemmet samme dag, når en elev er fraværende.","Undervisningen foregår en dag om ugen i naturen og i lokale virksomheder."}',
 '{skole,folkeskole,undervisning,elever,trivsel,inklusion,fravær,læring,lærere,skole-hjem-samarbejde}'),
('employment', 9,
 '{jobcentret,beskæftigelsesindsatsen,virksomhedsservice,ydelseskontoret,integrationsindsatsen,ungeindsatsen}',
 '{"bringer ledige tættere på job med virksomhedspraktik","giver sygemeldte en hurtigere afklaring","samarbejder med lokale virksomheder om rekruttering","tilbyder jobformidling på borgerens præmisser","kombinerer sprogundervisning og praktik"}',
 '{"Ledige borgere var længe på offentlig forsørgelse uden kontakt til virksomheder.","Sygemeldte ventede længe på afklaring og mistede kontakten til arbejdspladsen.","Virksomhederne kunne ikke skaffe den arbejdskraft, de havde brug for."}',
 '{"Virksomhedskonsulenterne matcher ledige med konkrete job i lokale virksomheder.","Sygemeldte får en tværfaglig samtale i første uge.","Nyankomne flygtninge kombinerer danskundervisning med praktik fra første dag."}',
 '{beskæftigelse,jobcenter,ledige,sygedagpenge,integration,virksomhedssamarbejde,uddannelse,praktik,rekruttering}'),
('environment_climate', 7,
 '{klimaafdelingen,affaldsordningen,forsyningen,"vej og park",energirenoveringen,"den kollektive trafik",genbrugspladsen}',
 '{"halverer madspildet i kommunens køkkener","energirenoverer kommunens bygninger","omstiller bilparken til el","sorterer affaldet i ti fraktioner","planter skov sammen med borgerne","klimatilpasser byen med regnvandsbede"}',
 '{"Kommunens bygninger brugte meget energi, og klimamålene var svære at nå.","Store mængder mad blev smidt ud i kommunens køkkener.","Skybrud gav oversvømmelser i flere bydele."}',
 '{"Bygningerne er energirenoveret, og forbruget følges time for time.","Køkkenerne planlægger menuerne efter data om madspild.","Regnvand ledes til grønne bede og parker i stedet for kloakken."}',
 '{klima,miljø,"grøn omstilling",energi,affald,genbrug,madspild,elbiler,klimatilpasning,biodiversitet}'),
('culture_leisure', 5,
 '{biblioteket,kulturhuset,musikskolen,idrætsforeningerne,fritidsområdet,museet}',
 '{"åbner biblioteket for borgerne uden personale","samarbejder med foreningslivet om aktiviteter for ældre","bruger kulturen til at styrke fællesskaber","tilbyder gratis fritidsaktiviteter for børn","inddrager unge i planlægningen"}',
 '{"Biblioteket havde korte åbningstider i de små byer.","Mange børn fra udsatte familier gik ikke til fritidsaktiviteter.","Ældre borgere manglede fællesskaber efter arbejdslivet."}',
 '{"Borgerne låser sig ind med sundhedskortet og bruger biblioteket hele dagen.","Foreningerne får tilskud til at tage imod børn gratis det første år.","Kulturhuset og frivillige arrangerer ugentlige fællesspisninger."}',
 '{kultur,fritid,bibliotek,foreninger,fællesskab,frivillige,idræt,medborgerskab}'),
('administration', 8,
 '{borgerservice,sagsbehandlingen,økonomiafdelingen,HR-afdelingen,indkøbsafdelingen,byggesagsbehandlingen,"løn og personale"}',
 '{"automatiserer rutineopgaver med softwarerobotter","halverer sagsbehandlingstiden","forenkler blanketterne","samler ledelsesinformation i ét overblik","indfører tillidsbaseret ledelse","nedbringer sygefraværet"}',
 '{"Sagsbehandlingstiden på byggesager var lang, og borgerne ringede ofte for at høre nyt.","Medarbejderne brugte mange timer på manuel registrering.","Ledelsen manglede overblik over økonomi og aktivitet."}',
 '{"Softwarerobotter tager sig af registrering og journalisering.","Borgeren får en fast tid til en digital forhåndsdialog om sagen.","Data fra fagsystemerne samles i ét overblik for ledelsen."}',
 '{sagsbehandling,administration,digitalisering,ledelse,arbejdsgange,afbureaukratisering,sygefravær,robotter,data}'),
('digital_services', 6,
 '{"den digitale selvbetjening",it-afdelingen,digitaliseringsenheden,borgerportalen,velfærdsteknologienheden,dataenheden}',
 '{"bruger kunstig intelligens i sagsbehandlingen","udvikler selvbetjening sammen med borgerne","hjælper ældre borgere med digitale løsninger","deler data sikkert mellem forvaltninger","indfører chatbot i borgerservice","afprøver velfærdsteknologi i stor skala"}',
 '{"Mange borgere kunne ikke bruge de digitale løsninger og ringede i stedet.","Data lå i mange systemer og kunne ikke bruges på tværs.","Velfærdsteknologi blev afprøvet, men sjældent taget i brug bredt."}',
 '{"Borgere tester selvbetjeningen, før den sættes i drift.","En chatbot besvarer de hyppigste spørgsmål døgnet rundt.","Velfærdsteknologi udbredes med en fast model for afprøvning, implementering og opfølgning."}',
 '{digitalisering,velfærdsteknologi,"kunstig intelligens",selvbetjening,data,chatbot,"digital inklusion",it-sikkerhed}'),
('other', 2,
 '{kommunen,forvaltningen,frivilligcentret,lokalrådet,innovationsenheden}',
 '{"samskaber løsninger med borgerne","tester nye ideer i et innovationslaboratorium","deler viden på tværs af forvaltninger","styrker lokaldemokratiet"}',
 '{"Gode ideer fra medarbejderne blev sjældent afprøvet.","Borgerne i landdistrikterne følte sig ikke hørt."}',
 '{"Medarbejderne kan søge tid og hjælp til at afprøve en idé i tre måneder.","Lokalrådene får et budget og beslutter selv, hvad det bruges til."}',
 '{innovation,samskabelse,borgerinddragelse,lokaldemokrati,"tværfagligt samarbejde",ledelse}');
ANALYZE bench_gen.vocab;

-- Sectors by weight (the weights add up to 100): sector_of[1 + h % 100].
CREATE UNLOGGED TABLE bench_gen.sector_of AS
SELECT array_agg(sector ORDER BY sector, g) AS sector_of
FROM bench_gen.vocab, generate_series(1, weight) g;

-- One row per case: the choices everything else derives from.
CREATE UNLOGGED TABLE bench_gen.g AS
SELECT c.*,
       CASE WHEN c.status IN ('published', 'archived')
            THEN c.created_ms + pg_temp.step_ms('step', c.n, 4, c.slot) END AS published_ms,
       c.created_ms + pg_temp.step_ms('step', c.n, c.nsteps, c.slot) AS updated_ms,
       CASE WHEN pg_temp.h('ext?', c.n) % 10 < 6
            THEN 'SAG-' || to_char(pg_temp.ts(c.created_ms) AT TIME ZONE 'UTC', 'YYYY') || '-' || c.n
       END AS external_id
FROM (
WITH base AS (
    SELECT n,
           pg_temp.case_ms(n) AS created_ms,
           pg_temp.h('status', n) % 1000 AS s,
           pg_temp.h('lead', n) AS lh,
           86400000 + pg_temp.h('slot', n) % (20::bigint * 86400000) AS slot
    FROM generate_series(1, :cases) n
), lead AS (
    SELECT b.*,
           CASE WHEN b.lh % 100 < 12 THEN 98 + (b.lh / 100) % 5 -- a region
                ELSE floor(98 * power(((b.lh / 100) % 100000) / 100000.0::float8, 1.3))::int END AS li,
           -- (-v published=N counts cases by this rule: keep the two in step)
           CASE WHEN s < 840 THEN 'published' WHEN s < 920 THEN 'draft'
                WHEN s < 940 THEN 'submitted' WHEN s < 955 THEN 'in_review'
                WHEN s < 970 THEN 'changes_requested' ELSE 'archived' END AS status
    FROM base b
)
SELECT l.n, l.created_ms, l.slot, l.status, o.i AS lead_i, o.code AS lead, o.name AS lead_name,
       o.slug AS lead_slug,
       pg_temp.case_id(l.n) AS id,
       CASE WHEN pg_temp.h('sector?', l.n) % 100 < 3 THEN NULL
            ELSE so.sector_of[1 + pg_temp.h('sector', l.n) % 100] END AS sector,
       CASE l.status
           WHEN 'draft' THEN 1 + (pg_temp.h('upd', l.n) % 10 < 4)::int
           WHEN 'submitted' THEN 2 WHEN 'in_review' THEN 3 WHEN 'changes_requested' THEN 4
           WHEN 'published' THEN 4 + (pg_temp.h('upd', l.n) % 10 >= 5)::int
                                   + (pg_temp.h('upd', l.n) % 10 >= 8)::int
           ELSE 5 END AS nsteps,
       CASE WHEN pg_temp.h('np', l.n) % 100 < 55 THEN 0 WHEN pg_temp.h('np', l.n) % 100 < 80 THEN 1
            WHEN pg_temp.h('np', l.n) % 100 < 95 THEN 2 ELSE 3 END AS np,
       CASE WHEN l.status NOT IN ('published', 'archived') THEN 0
            WHEN pg_temp.h('na', l.n) % 100 < 80 THEN 0 WHEN pg_temp.h('na', l.n) % 100 < 90 THEN 1
            WHEN pg_temp.h('na', l.n) % 100 < 96 THEN 2 WHEN pg_temp.h('na', l.n) % 100 < 99 THEN 3
            ELSE 4 END AS na
FROM lead l JOIN bench_gen.orgs o ON o.i = l.li CROSS JOIN bench_gen.sector_of so
) c;
CREATE UNIQUE INDEX ON bench_gen.g (n);
ANALYZE bench_gen.g;

-- Partners: up to three organisations a little further on in code order (never the lead).
CREATE UNLOGGED TABLE bench_gen.partners AS
SELECT g.n, g.id, o.code, k AS position
FROM bench_gen.g g
CROSS JOIN LATERAL (SELECT 1 + pg_temp.h('p1', g.n) % 20 AS o1) a
CROSS JOIN LATERAL (SELECT a.o1 + 1 + pg_temp.h('p2', g.n) % 20 AS o2) b
CROSS JOIN LATERAL (SELECT b.o2 + 1 + pg_temp.h('p3', g.n) % 20 AS o3) c
CROSS JOIN LATERAL (VALUES (1, a.o1), (2, b.o2), (3, c.o3)) p(k, off)
JOIN bench_gen.orgs o ON o.i = (g.lead_i + p.off) % 103
WHERE p.k <= g.np;
ANALYZE bench_gen.partners;

-- Adoptions of published cases by organisations further away (offsets 64..99, so never the
-- lead or a partner), some time after publication.
CREATE UNLOGGED TABLE bench_gen.adoptions AS
SELECT g.n, g.id AS case_id, k, o.code, o.region,
       CASE WHEN pg_temp.h('as' || k, g.n) % 100 < 15 THEN 'considering'
            WHEN pg_temp.h('as' || k, g.n) % 100 < 40 THEN 'adapting'
            WHEN pg_temp.h('as' || k, g.n) % 100 < 88 THEN 'implemented'
            ELSE 'discontinued' END AS status,
       g.published_ms + 86400000 * (30 + pg_temp.h('ad' || k, g.n) % 400) AS created_ms
FROM bench_gen.g g
CROSS JOIN generate_series(0, 3) k
JOIN bench_gen.orgs o ON o.i = (g.lead_i + 64 + 9 * k + pg_temp.h('ao' || k, g.n) % 9) % 103
WHERE k < g.na;
ANALYZE bench_gen.adoptions;

-- The derived columns, as storage/postgres/cases.c recomputes them.
CREATE UNLOGGED TABLE bench_gen.derived AS
WITH runs AS (
    SELECT n, lead AS code FROM bench_gen.g
    UNION ALL SELECT n, code FROM bench_gen.partners
), reached AS (
    SELECT n, code FROM runs
    UNION ALL SELECT n, code FROM bench_gen.adoptions WHERE status <> 'discontinued'
)
SELECT l.n, l.levels, r.regions, COALESCE(a.live, 0) AS adoption_count
FROM (SELECT runs.n, array_agg(DISTINCT o.level ORDER BY o.level) AS levels
      FROM runs JOIN bench_gen.orgs o USING (code) GROUP BY runs.n) l
JOIN (SELECT reached.n, array_agg(DISTINCT o.region ORDER BY o.region) AS regions
      FROM reached JOIN bench_gen.orgs o USING (code) GROUP BY reached.n) r USING (n)
LEFT JOIN (SELECT n, count(*) AS live FROM bench_gen.adoptions WHERE status <> 'discontinued'
           GROUP BY n) a USING (n);
CREATE UNIQUE INDEX ON bench_gen.derived (n);
ANALYZE bench_gen.derived;

-- Texts shared by every sector.
CREATE UNLOGGED TABLE bench_gen.words WITH (toast_tuple_target = 8160) AS SELECT
 '{"give borgerne mere tid","frigøre tid til kerneopgaven","styrke borgernes selvhjulpenhed","reducere udgifterne","forbedre kvaliteten for borgerne","mindske ventetiden","øge medarbejdernes arbejdsglæde","nå kommunens klimamål","skabe mere sammenhæng for borgerne","bruge ressourcerne bedre"}'::text[] AS goals,
 '{"Projektet er udviklet i samarbejde med medarbejdere, borgere og pårørende.","Indsatsen bygger på erfaringer fra et pilotprojekt med tre teams.","Løsningen er afprøvet i to enheder og udbredes nu til hele organisationen.","Arbejdet er organiseret som et tværfagligt projekt med en fast styregruppe.","Ideen kom fra medarbejderne, som selv har stået for afprøvningen.","Indsatsen er inspireret af erfaringer fra Sverige og Holland.","Digitalisering og nye arbejdsgange går hånd i hånd i projektet."}'::text[] AS methods,
 '{"Erfaringerne viser, at borgerne er mere tilfredse, og at medarbejderne bruger mindre tid på dokumentation.","Sygefraværet er faldet, og det er blevet lettere at rekruttere.","Borgerne oplever færre overdragelser og mere sammenhæng.","Erfaringerne deles nu med andre kommuner og regioner.","De første målinger viser færre genindlæggelser og bedre sundhed blandt borgerne.","Flere borgere er kommet i beskæftigelse, og færre er på offentlig forsørgelse.","Indsatsen har også gavnet klima og miljø."}'::text[] AS results,
 '{"Det er vigtigt at inddrage medarbejderne fra begyndelsen.","Ledelsesopbakning og tid til oplæring er afgørende.","Teknologien er ikke nok i sig selv; arbejdsgangene skal ændres samtidig.","Start småt, mål effekterne og justér undervejs.","Borgernes og de pårørendes erfaringer har gjort løsningen bedre.","Det tager længere tid end forventet at ændre vaner.","Sagsbehandlingen skal tænkes med fra starten, ellers opstår der flaskehalse."}'::text[] AS lessons,
 '{"Der er risiko for, at de nye arbejdsgange ikke fastholdes, når projektperioden slutter.","Løsningen kræver stabil it og god support.","Det kan være svært at frigøre tid til udvikling i en travl hverdag.","Uden klare aftaler om data og ansvar kan samarbejdet gå i stå."}'::text[] AS risks,
 '{innovation,"tværfagligt samarbejde",borgerinddragelse,medarbejderinddragelse,ledelse,digitalisering,kvalitet,effektivisering,samskabelse,udbredelse}'::text[] AS general_tags,
 '{Anne,Mette,Lars,Søren,Hanne,Jens,Camilla,Mikkel,Louise,Henrik,Pia,Thomas,Sofie,Rasmus,Birgitte,Peter,Line,Anders,Maria,Morten}'::text[] AS first_names,
 '{Jensen,Nielsen,Hansen,Pedersen,Andersen,Christensen,Larsen,Sørensen,Rasmussen,Jørgensen,Petersen,Madsen,Kristensen,Olsen,Thomsen,Poulsen,Johansen,Møller,Mortensen,Knudsen}'::text[] AS last_names,
 '{collaboration,work_tool,workflow,task,vision,role}'::text[] AS innovation_types,
 '{economy,quality,employee_satisfaction,citizen_involvement}'::text[] AS effect_types;
ALTER TABLE bench_gen.words ADD COLUMN first_slugs text[], ADD COLUMN last_slugs text[];
UPDATE bench_gen.words SET
    first_slugs = ARRAY(SELECT pg_temp.slug(x) FROM unnest(first_names) WITH ORDINALITY u(x, o) ORDER BY o),
    last_slugs = ARRAY(SELECT pg_temp.slug(x) FROM unnest(last_names) WITH ORDINALITY u(x, o) ORDER BY o);

-- Load as pg_restore does: the tables' secondary indexes (those no constraint uses) are dropped
-- here and built again from their own definitions once the rows are in, which is several times
-- faster than growing them row by row.
CREATE UNLOGGED TABLE bench_gen.indexes AS
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
WHERE i.indrelid = ANY ('{cases,case_partners,case_history,adoptions,evaluations,evaluation_history}'::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid);
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT name FROM bench_gen.indexes LOOP
        EXECUTE 'DROP INDEX ' || r.name;
    END LOOP;
END $$;
\endif

\if :is_cases
-- The content of each case, built from the words of its sector.
-- created_fields: what the history's "created" entry names, the fields written, sorted.
CREATE TEMP TABLE bench_docs ON COMMIT DROP AS
SELECT s.n, s.doc,
       (SELECT jsonb_agg(k ORDER BY k COLLATE "C")
        FROM jsonb_object_keys(s.doc || jsonb_build_object('organisation_code', 1)
                               || CASE WHEN s.external_id IS NULL THEN '{}'
                                       ELSE '{"external_id": 1}' END::jsonb
                               || CASE WHEN s.np = 0 THEN '{}'
                                       ELSE '{"partner_organisation_codes": 1}' END::jsonb) k)
           AS created_fields
FROM (
SELECT g.n, g.external_id, g.np, jsonb_strip_nulls(jsonb_build_object(
    'title', pg_temp.capital(subject) || ' ' || action
             || CASE WHEN pg_temp.h('t-org', g.n) % 10 < 3 THEN ' i ' || g.lead_name ELSE '' END,
    'summary', pg_temp.capital(subject) || ' i ' || g.lead_name || ' ' || action || ' for at '
               || pg_temp.pick(w.goals, 'goal', g.n) || '. ' || pg_temp.pick(w.methods, 'm', g.n)
               || ' ' || pg_temp.pick(w.results, 'r', g.n),
    'problem', CASE WHEN pg_temp.h('problem?', g.n) % 10 < 9 THEN
                   pg_temp.pick(v.problems, 'problem', g.n) || ' Målet var at '
                   || pg_temp.pick(w.goals, 'goal2', g.n) || '.' END,
    'solution', CASE WHEN pg_temp.h('solution?', g.n) % 10 < 9 THEN
                    pg_temp.pick(v.solutions, 'solution', g.n) || ' '
                    || pg_temp.pick(w.methods, 'm2', g.n) END,
    'scope', CASE WHEN pg_temp.h('scope?', g.n) % 10 < 7 THEN
                 'Indsatsen omfatter ' || 2 + pg_temp.h('units', g.n) % 14 || ' enheder, '
                 || 20 + pg_temp.h('staff', g.n) % 400 || ' medarbejdere og omkring '
                 || 100 * (1 + pg_temp.h('citizens', g.n) % 60) || ' borgere.' END,
    -- Lists: 1..3 innovation types, 1..3 tags of the sector and 0..2 general ones (never one
    -- the sector has too), 0..3 effect types; distinct, as the API requires.
    'innovation_types', to_jsonb((ARRAY[w.innovation_types[1 + it % 6],
                                        w.innovation_types[1 + (it + 1) % 6],
                                        w.innovation_types[1 + (it + 2) % 6]])
                                 [1:1 + (itn >= 5)::int + (itn >= 8)::int]),
    'sector', g.sector,
    'tags', to_jsonb((ARRAY[v.tags[1 + tg % cardinality(v.tags)],
                            v.tags[1 + (tg + 2) % cardinality(v.tags)],
                            v.tags[1 + (tg + 4) % cardinality(v.tags)]])[1:1 + tgn % 3]
                     || array_remove(ARRAY[
                            CASE WHEN gtn % 3 >= 1 AND w.general_tags[1 + gt % 10] <> ALL (v.tags)
                                 THEN w.general_tags[1 + gt % 10] END,
                            CASE WHEN gtn % 3 >= 2 AND w.general_tags[1 + (gt + 3) % 10] <> ALL (v.tags)
                                 THEN w.general_tags[1 + (gt + 3) % 10] END], NULL)),
    'implementation_status', CASE WHEN pg_temp.h('is?', g.n) % 10 < 9 THEN
        (ARRAY['piloting', 'implementing', 'implementing', 'implemented', 'implemented',
               'implemented', 'discontinued'])[1 + pg_temp.h('is', g.n) % 7] END,
    'started_on', CASE WHEN pg_temp.h('so?', g.n) % 100 < 85 THEN
        to_char((pg_temp.ts(g.created_ms) - (pg_temp.h('so', g.n) % 900) * interval '1 day')
                AT TIME ZONE 'UTC', 'YYYY-MM-DD') END,
    'origin', origin,
    'inspired_by_case_id', CASE WHEN origin <> 'original' AND g.n > 1000 THEN
        pg_temp.case_id(g.n - 1 - pg_temp.h('inspired', g.n) % (g.n - 1)) END,
    'implementation_methods', CASE WHEN pg_temp.h('im?', g.n) % 2 = 0 THEN
        'Indsatsen er implementeret trinvist med superbrugere i hvert team og løbende opfølgning på ledermøderne.' END,
    'evaluation_methods', CASE WHEN pg_temp.h('em?', g.n) % 10 < 4 THEN
        'Effekterne er målt før og efter med registerdata og spørgeskemaer til borgere og medarbejdere.' END,
    'employee_involvement', CASE WHEN pg_temp.h('ei?', g.n) % 2 = 0 THEN
        'Medarbejderne har deltaget i workshops og har selv udviklet de nye arbejdsgange.' END,
    'user_involvement', CASE WHEN pg_temp.h('ui?', g.n) % 2 = 0 THEN
        'Borgere og pårørende er interviewet, og et borgerpanel har givet løbende feedback.' END,
    'employee_driven', CASE WHEN pg_temp.h('ed?', g.n) % 10 < 8 THEN pg_temp.h('ed', g.n) % 3 = 0 END,
    'user_driven', CASE WHEN pg_temp.h('ud?', g.n) % 10 < 8 THEN pg_temp.h('ud', g.n) % 5 = 0 END,
    'spread_potential', CASE WHEN pg_temp.h('sp?', g.n) % 2 = 0 THEN
        'Løsningen kan bruges i de fleste kommuner og kræver kun beskedne investeringer.' END,
    'spread_potential_rating', CASE WHEN pg_temp.h('spr?', g.n) % 10 < 8 THEN
        (ARRAY['low', 'medium', 'medium', 'high'])[1 + pg_temp.h('spr', g.n) % 4] END,
    'effect_types', to_jsonb((ARRAY[w.effect_types[1 + et % 4], w.effect_types[1 + (et + 1) % 4],
                                    w.effect_types[1 + (et + 2) % 4]])[1:etn % 4]),
    'effects_summary', CASE WHEN pg_temp.h('es?', g.n) % 10 < 6 THEN
        'Besparelse på omkring ' || 50000 * (1 + pg_temp.h('es', g.n) % 80)
        || ' kr. om året og højere tilfredshed blandt borgerne.' END,
    'risks_and_pitfalls', CASE WHEN pg_temp.h('rp?', g.n) % 10 < 4 THEN
        pg_temp.pick(w.risks, 'rp', g.n) END,
    'lessons_learned', CASE WHEN pg_temp.h('ll?', g.n) % 10 < 6 THEN
        pg_temp.pick(w.lessons, 'll', g.n) || ' ' || pg_temp.pick(w.lessons, 'll2', g.n) END,
    'contact_name', CASE WHEN contact THEN first_name || ' ' || last_name END,
    'contact_email', CASE WHEN contact THEN w.first_slugs[fi] || '.' || w.last_slugs[li]
                                            || '@' || g.lead_slug || '.dk' END,
    'links', CASE WHEN pg_temp.h('links?', g.n) % 10 < 3 THEN jsonb_build_array(jsonb_build_object(
        'title', 'Projektbeskrivelse',
        'url', 'https://www.' || g.lead_slug || '.dk/innovation/' || g.n)) END
)) AS doc
FROM bench_gen.g g
CROSS JOIN bench_gen.words w
LEFT JOIN bench_gen.vocab v ON v.sector = coalesce(g.sector, 'other')
CROSS JOIN LATERAL (SELECT 1 + pg_temp.h('fn', g.n) % cardinality(w.first_names) AS fi,
                           1 + pg_temp.h('ln', g.n) % cardinality(w.last_names) AS li) names
CROSS JOIN LATERAL (SELECT
    pg_temp.pick(v.subjects, 'subject', g.n) AS subject,
    pg_temp.pick(v.actions, 'action', g.n) AS action,
    (ARRAY['original', 'original', 'original', 'original', 'original', 'original', 'original',
           'adapted', 'adapted', 'copied'])[1 + pg_temp.h('origin', g.n) % 10] AS origin,
    pg_temp.h('contact?', g.n) % 10 < 7 AS contact,
    w.first_names[fi] AS first_name, w.last_names[li] AS last_name,
    pg_temp.h('it', g.n) AS it, pg_temp.h('itn', g.n) % 10 AS itn,
    pg_temp.h('tag', g.n) AS tg, pg_temp.h('tagn', g.n) AS tgn,
    pg_temp.h('gtag', g.n) AS gt, pg_temp.h('gtagn', g.n) AS gtn,
    pg_temp.h('et', g.n) AS et, pg_temp.h('etn', g.n) AS etn) x
WHERE g.n BETWEEN :first AND :last
OFFSET 0 -- keeps doc from being built twice
) s;
CREATE UNIQUE INDEX ON bench_docs (n);
ANALYZE bench_docs;

INSERT INTO cases (id, organisation_code, external_id, doc, status, government_levels,
                   adoption_count, regions_reached, version, created_at, updated_at, published_at)
SELECT g.id, g.lead, g.external_id, d.doc, g.status, dv.levels, dv.adoption_count, dv.regions, g.nsteps,
       pg_temp.ts(g.created_ms), pg_temp.ts(g.updated_ms), pg_temp.ts(g.published_ms)
FROM bench_gen.g g JOIN bench_docs d USING (n) JOIN bench_gen.derived dv USING (n)
ORDER BY g.n;

-- One history entry per version: created, the workflow's transitions, and later updates.
INSERT INTO case_history (case_id, version, at, actor, action, from_status, to_status, note,
                          changed_fields)
SELECT g.id, i, pg_temp.ts(g.created_ms + pg_temp.step_ms('step', g.n, i, g.slot)),
       CASE WHEN e.action <> 'transition' OR e.to_status = 'submitted'
            THEN jsonb_build_object('sub', 'sagssystem-' || g.lead, 'role', 'partner', 'org', g.lead)
            ELSE jsonb_build_object('sub', 'editor-' || pg_temp.pick(
                '{anna,mads,sofie,jonas}', 'editor', g.n * 10 + i), 'role', 'editor') END,
       e.action, e.from_status, e.to_status,
       CASE e.to_status WHEN 'changes_requested' THEN 'Beskriv effekterne nærmere.'
            WHEN 'published' THEN CASE WHEN e.action = 'transition' THEN 'Kvalitetssikret' END
            WHEN 'archived' THEN 'Indsatsen er afsluttet.' END,
       CASE e.action
           WHEN 'created' THEN d.created_fields
           WHEN 'updated' THEN (ARRAY['["summary"]', '["tags"]', '["implementation_status"]',
                                      '["lessons_learned", "solution"]']::jsonb[])
                               [1 + pg_temp.h('upd-fields', g.n * 10 + i) % 4]
           ELSE '["status"]'::jsonb END
FROM bench_gen.g g
JOIN bench_docs d USING (n)
CROSS JOIN generate_series(1, g.nsteps) i
CROSS JOIN LATERAL (SELECT
    CASE WHEN i = 1 THEN 'created'
         WHEN (g.status = 'draft' AND i = 2) OR (g.status = 'published' AND i >= 5) THEN 'updated'
         ELSE 'transition' END AS action,
    CASE WHEN i = 1 THEN NULL
         WHEN g.status = 'draft' THEN 'draft'
         WHEN g.status = 'published' AND i >= 5 THEN 'published'
         ELSE (ARRAY['draft', 'submitted', 'in_review', 'published'])[i - 1] END AS from_status,
    CASE WHEN i = 1 THEN 'draft'
         WHEN g.status = 'draft' THEN 'draft'
         WHEN g.status = 'published' AND i >= 5 THEN 'published'
         WHEN i = 4 AND g.status = 'changes_requested' THEN 'changes_requested'
         ELSE (ARRAY['submitted', 'in_review', 'published', 'archived'])[i - 1] END AS to_status) e
ORDER BY g.n, i;
\endif

\if :is_finish
INSERT INTO case_partners (case_id, organisation_code, position)
SELECT id, code, position FROM bench_gen.partners ORDER BY n, position;

INSERT INTO adoptions (id, case_id, organisation_code, status, started_on, notes, version,
                       created_at, updated_at)
SELECT pg_temp.uuid7(a.created_ms, 'adoption', a.n * 10 + a.k), a.case_id, a.code, a.status,
       CASE WHEN a.status <> 'considering'
            THEN (pg_temp.ts(a.created_ms) AT TIME ZONE 'UTC')::date + 14 END,
       CASE WHEN pg_temp.h('an', a.n * 10 + a.k) % 3 = 0
            THEN 'Tilpasset lokale forhold og afprøvet i ét team først.' END,
       1, pg_temp.ts(a.created_ms), pg_temp.ts(a.created_ms)
FROM bench_gen.adoptions a ORDER BY a.n, a.k;

-- Evaluations: about 4 % of the published and archived cases have one, 1 % a second one.
CREATE UNLOGGED TABLE bench_gen.evals AS
SELECT g.n, g.id AS case_id, k, g.n * 10 + k AS en, g.status AS case_status, g.lead,
       g.published_ms + 86400000 * (30 + pg_temp.h('ev-at' || k, g.n) % 240) AS created_ms,
       CASE WHEN pg_temp.h('ev-status' || k, g.n) % 100 < 85 THEN 'published'
            WHEN pg_temp.h('ev-status' || k, g.n) % 100 < 92 THEN 'draft'
            WHEN pg_temp.h('ev-status' || k, g.n) % 100 < 96 THEN 'submitted'
            ELSE 'in_review' END AS status,
       86400000 + pg_temp.h('ev-slot' || k, g.n) % (10::bigint * 86400000) AS slot
FROM bench_gen.g g
CROSS JOIN generate_series(1, 2) k
WHERE g.status IN ('published', 'archived')
  AND pg_temp.h('ev', g.n) % 100 < CASE k WHEN 1 THEN 4 ELSE 1 END;
ANALYZE bench_gen.evals;
ALTER TABLE bench_gen.evals ADD COLUMN nsteps int;
UPDATE bench_gen.evals SET nsteps = CASE status WHEN 'published' THEN 4 WHEN 'draft' THEN 1
                                            WHEN 'submitted' THEN 2 ELSE 3 END;

INSERT INTO evaluations (id, case_id, doc, status, version, created_at, updated_at, published_at)
SELECT pg_temp.uuid7(e.created_ms, 'evaluation', e.en), e.case_id,
       jsonb_strip_nulls(jsonb_build_object(
           'title', pg_temp.pick('{"Effektevaluering af indsatsen","Midtvejsevaluering","Slutevaluering af projektet","Økonomisk evaluering","Evaluering af pilotprojektet"}', 'ev-title', e.en),
           'evaluator_kind', kind,
           'evaluator_name', CASE kind
               WHEN 'external' THEN pg_temp.pick('{Rambøll,VIVE,"Implement Consulting Group",COWI,Deloitte}', 'ev-who', e.en)
               WHEN 'research' THEN pg_temp.pick('{"Aalborg Universitet","Syddansk Universitet","Københavns Universitet","Aarhus Universitet",DEFACTUM}', 'ev-who', e.en) END,
           'method', method,
           'period_start', to_char(pg_temp.ts(e.created_ms) AT TIME ZONE 'UTC' - interval '1 year', 'YYYY-MM-DD'),
           'period_end', to_char(pg_temp.ts(e.created_ms) AT TIME ZONE 'UTC' - interval '1 month', 'YYYY-MM-DD'),
           'published_on', CASE WHEN e.status = 'published'
                                THEN to_char(pg_temp.ts(e.created_ms) AT TIME ZONE 'UTC', 'YYYY-MM-DD') END,
           'report_url', 'https://www.coi.dk/evalueringer/' || e.en,
           'evidence_level', (ARRAY[1, 1, 2, 2, 2, 3, 3, 3, 4, 5])[1 + pg_temp.h('ev-level', e.en) % 10],
           'economic', CASE WHEN pg_temp.h('ev-eco?', e.en) % 10 < 6 THEN jsonb_build_object(
               'investment_dkk', 100000 * (1 + pg_temp.h('ev-inv', e.en) % 50),
               'annual_savings_dkk', 25000 * (1 + pg_temp.h('ev-sav', e.en) % 120),
               'annual_running_costs_dkk', 10000 * (pg_temp.h('ev-run', e.en) % 40)) END,
           'quality_effects', CASE WHEN pg_temp.h('ev-q?', e.en) % 10 < 7 THEN jsonb_build_array(
               jsonb_build_object('indicator', pg_temp.pick('{"Genindlæggelser pr. 1.000 borgere","Borgere der er selvhjulpne efter forløbet","Sagsbehandlingstid i dage","Sygefravær i procent","Tilfredse borgere i procent"}', 'ev-ind', e.en),
                                  'unit', 'antal',
                                  'baseline', 40 + pg_temp.h('ev-base', e.en) % 40,
                                  'result', 30 + pg_temp.h('ev-res', e.en) % 40,
                                  'higher_is_better', pg_temp.h('ev-hib', e.en) % 2 = 0)) END,
           'conclusion', 'Evalueringen viser, at ' || pg_temp.pick(
               '{"borgerne er mere tilfredse","medarbejderne bruger mindre tid på dokumentation","udgifterne er faldet","kvaliteten er steget","effekten er usikker, men lovende"}', 'ev-conc', e.en) || '.',
           'lessons_learned', CASE WHEN pg_temp.h('ev-ll?', e.en) % 2 = 0 THEN
               'Målingerne skal planlægges, før indsatsen går i gang.' END)),
       e.status, e.nsteps, pg_temp.ts(e.created_ms),
       pg_temp.ts(e.created_ms + pg_temp.step_ms('ev-step', e.en, e.nsteps, e.slot)),
       CASE WHEN e.status = 'published'
            THEN pg_temp.ts(e.created_ms + pg_temp.step_ms('ev-step', e.en, 4, e.slot)) END
FROM bench_gen.evals e
CROSS JOIN LATERAL (SELECT
    (ARRAY['internal', 'internal', 'external', 'research'])[1 + pg_temp.h('ev-kind', e.en) % 4] AS kind,
    (ARRAY['before_after', 'before_after', 'qualitative', 'mixed', 'cost_benefit',
           'self_assessment', 'quasi_experimental', 'rct', 'other'])[1 + pg_temp.h('ev-method', e.en) % 9]
        AS method) x
ORDER BY e.created_ms, e.en;

INSERT INTO evaluation_history (evaluation_id, version, at, actor, action, from_status,
                                to_status, note, changed_fields)
SELECT ev.id, i, pg_temp.ts(e.created_ms + pg_temp.step_ms('ev-step', e.en, i, e.slot)),
       CASE WHEN i <= 2 THEN jsonb_build_object('sub', 'sagssystem-' || e.lead, 'role', 'partner',
                                                'org', e.lead)
            ELSE jsonb_build_object('sub', 'editor-anna', 'role', 'editor') END,
       CASE WHEN i = 1 THEN 'created' ELSE 'transition' END,
       (ARRAY[NULL, 'draft', 'submitted', 'in_review'])[i],
       (ARRAY['draft', 'submitted', 'in_review', 'published'])[i],
       CASE WHEN i = 4 THEN 'Kvalitetssikret' END,
       CASE WHEN i = 1 THEN (SELECT jsonb_agg(k ORDER BY k COLLATE "C")
                             FROM jsonb_object_keys(ev.doc) k)
            ELSE '["status"]'::jsonb END
FROM bench_gen.evals e
JOIN evaluations ev ON ev.id = pg_temp.uuid7(e.created_ms, 'evaluation', e.en)
CROSS JOIN generate_series(1, e.nsteps) i
ORDER BY ev.id, i;

DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT definition FROM bench_gen.indexes LOOP
        EXECUTE r.definition;
    END LOOP;
END $$;
DROP SCHEMA bench_gen CASCADE;
\endif

COMMIT;
