/* PostgreSQL backend: creating and updating cases, one (case_create, case_update) or many in a
 * transaction (case_write_batch). One implementation serves both, a single write being a batch
 * of one, and each step is one set-based statement over all the writes it concerns: on the
 * heavily indexed cases table a statement's fixed cost is several times a row's (before the
 * RUM index of 0007, a one-row INSERT took about 0.3 ms, each row of a 1000-row INSERT about
 * 0.07 ms).
 *
 * A batch goes a group at a time: a group is the longest run of the remaining writes of which
 * none touches a case or an (organisation_code, external_id) key that an earlier one touches,
 * so checking all of them against the state before the group and writing them together gives
 * what writing them one after the other would. Per group: CHECK (locks the cases updated,
 * reports what each write refers to), then WRITE for those whose checks passed, under a
 * savepoint; if that statement fails, each of them is written alone under its own savepoint,
 * so only the failing ones are left out. WRITE answers each write's record and change entry as
 * of that write; the change rows (the case's, and those of its evaluations and adoptions
 * whose visibility a change of lead or partners changed) are written in the round trip that
 * commits (pg_commit_case_changes). */
#include "storage/postgres/pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/json_text.h"

/* $1: the writes [{i, kind, id, org, ext, partners, insp}]. Locks the cases to update (in id
 * order, so that concurrent batches do not deadlock) and answers per write, in order of i:
 * i, the stored version, organisation_code and external_id (update; NULL: no such case),
 * whether the lead exists, the first partner that does not (NULL: none), whether the
 * inspiring case exists, whether another case has the key. */
/* clang-format off */
const char pg_case_check_sql[] =
    "WITH w AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS w(i integer, kind text, id text,"
    " org text, ext text, partners jsonb, insp text)),"
    " l AS MATERIALIZED (SELECT c.id, c.version, c.organisation_code, c.external_id FROM cases c"
    " WHERE c.id IN (SELECT w.id FROM w WHERE w.kind = 'update') ORDER BY c.id FOR UPDATE)"
    " SELECT w.i, l.version, l.organisation_code, l.external_id,"
    " EXISTS (SELECT 1 FROM organisations o WHERE o.code = w.org),"
    " (SELECT e.code FROM jsonb_array_elements_text(w.partners) WITH ORDINALITY AS e(code, pos)"
    " WHERE NOT EXISTS (SELECT 1 FROM organisations o WHERE o.code = e.code)"
    " ORDER BY e.pos LIMIT 1),"
    " w.insp IS NULL OR EXISTS (SELECT 1 FROM cases x WHERE x.id = w.insp),"
    " w.ext IS NOT NULL AND EXISTS (SELECT 1 FROM cases x WHERE x.organisation_code = w.org"
    " AND x.external_id = w.ext AND x.id <> w.id)"
    " FROM w LEFT JOIN l ON l.id = w.id AND w.kind = 'update' ORDER BY w.i";
/* clang-format on */

enum { CK_I, CK_VERSION, CK_ORG, CK_EXT, CK_LEAD, CK_PARTNER, CK_INSPIRED, CK_TAKEN };

/* The organisations of a write: its lead, then its partners as given (pg_case_changes_sql
 * takes the first for the lead). */
#define W_ORGS "(ARRAY[w.org] || ARRAY(SELECT jsonb_array_elements_text(w.partners)))"

/* $1: the writes [{i, kind, id, org, ext, doc, partners, changed}] whose checks passed, $2 the
 * actor, $3 whether the records may be brief (id and version). Inserts or updates each case
 * with its derived columns, partners and history entry; answers per write: i, the record
 * written and the change entry (pg_commit_case_changes).
 * Every part reads the state before the statement: `b` sees the old partners, and the new
 * ones are taken from the writes. */
/* clang-format off */
const char pg_case_write_sql[] =
    "WITH w AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS w(i integer, kind text, id text,"
    " org text, ext text, doc jsonb, partners jsonb, changed jsonb)),"
    " b AS (SELECT w.i, c.version, c.status, " PG_CASE_ORGS("c") " AS orgs"
    " FROM w JOIN cases c ON c.id = w.id WHERE w.kind = 'update'),"
    " k AS (SELECT w.i AS key, x.code, false AS adopter FROM w, unnest(" W_ORGS ") AS x(code)"
    " UNION ALL SELECT w.i, a.organisation_code, true FROM w JOIN adoptions a"
    " ON a.case_id = w.id AND " PG_ADOPTION_LIVE " WHERE w.kind = 'update'),"
    " d AS (" PG_DERIVED("SELECT * FROM k") "),"
    " ins AS (INSERT INTO cases (id, organisation_code, external_id, doc, government_levels,"
    " regions_reached) SELECT w.id, w.org, w.ext, w.doc, d.government_levels, d.regions_reached"
    " FROM w JOIN d ON d.key = w.i WHERE w.kind = 'create' ORDER BY w.i RETURNING *),"
    " upd AS (UPDATE cases c SET organisation_code = w.org, external_id = w.ext, doc = w.doc,"
    " version = c.version + 1, updated_at = date_trunc('milliseconds', now()),"
    " government_levels = d.government_levels, adoption_count = d.adoption_count,"
    " regions_reached = d.regions_reached FROM w JOIN d ON d.key = w.i"
    " WHERE c.id = w.id AND w.kind = 'update' RETURNING c.*),"
    " pd AS (DELETE FROM case_partners p USING w WHERE w.kind = 'update' AND p.case_id = w.id"
    " AND NOT (w.partners ? p.organisation_code)),"
    " pi AS (INSERT INTO case_partners AS p (case_id, organisation_code, position)"
    " SELECT w.id, e.code, e.pos::integer"
    " FROM w, jsonb_array_elements_text(w.partners) WITH ORDINALITY AS e(code, pos)"
    " ON CONFLICT (case_id, organisation_code) DO UPDATE SET position = EXCLUDED.position"
    " WHERE p.position <> EXCLUDED.position),"
    " h AS (INSERT INTO case_history (case_id, version, actor, action, from_status, to_status,"
    " changed_fields) SELECT w.id, COALESCE(b.version + 1, 1), $2::jsonb,"
    " CASE WHEN b.i IS NULL THEN 'created' ELSE 'updated' END, b.status,"
    " COALESCE(b.status, 'draft'), w.changed FROM w LEFT JOIN b ON b.i = w.i)"
    " SELECT w.i, CASE WHEN $3::boolean THEN jsonb_build_object('id', c.id, 'version', c.version)"
    " ELSE " PG_CASE_OBJECT_WITH("w.partners") " END::text,"
    " jsonb_build_object('i', w.i, 'id', c.id, 'action',"
    " CASE WHEN b.i IS NULL THEN 'created' ELSE 'updated' END, 'version', c.version,"
    " 'public_before', COALESCE(b.status = 'published', false),"
    " 'orgs_before', to_jsonb(COALESCE(b.orgs, '{}'::text[])),"
    " 'public_after', c.status = 'published', 'orgs_after', to_jsonb(" W_ORGS "))::text"
    " FROM (SELECT * FROM ins UNION ALL SELECT * FROM upd) c JOIN w ON w.id = c.id"
    " LEFT JOIN b ON b.i = w.i";
/* clang-format on */

enum op_state { OP_OPEN, OP_FAILED, OP_WRITTEN };

/* A batch uses plans made at most this long ago (see pg_plan_refresh). */
#define PLAN_MAX_AGE_MS 1000

/* One write of the batch and what its statements need. */
struct op {
    struct coi_case_write *w;
    json_t *json;          /* the write as WRITE reads it (CHECK: see ops_text) */
    const char *org, *ext; /* borrowed from w->c */
    const char *id;        /* w->id, or new_id for a create */
    char new_id[37];
    const char *old_org, *old_ext; /* update: the stored key (borrowed from the CHECK result) */
    enum op_state state;
    char *entry; /* written: its change entry as WRITE gave it (JSON text, owned) */
};

/* Records the failure just set (coi_error_set) as the op's result. Returns `rc`. */
static int op_fail(struct op *o, int rc)
{
    const char *field = coi_error_field();

    o->state = OP_FAILED;
    o->w->rc = rc;
    snprintf(o->w->field, sizeof o->w->field, "%s", field != NULL ? field : "");
    snprintf(o->w->message, sizeof o->w->message, "%s", coi_error_detail());
    return rc;
}

/* Checks the partners against the lead and each other: no partner is the lead, none is
 * listed twice, all are strings. COI_EINVALID, field "partner_organisation_codes". */
static int partners_check(const json_t *partners, const char *lead)
{
    size_t i, j;
    json_t *p;

    json_array_foreach(partners, i, p)
    {
        const char *code = json_string_value(p);
        if (code == NULL || strlen(code) != json_string_length(p))
            return coi_error_set(COI_EINVALID, "partner_organisation_codes",
                                 "partner organisation codes must be strings");
        if (strcmp(code, lead) == 0)
            return coi_error_set(COI_EINVALID, "partner_organisation_codes",
                                 "the lead organisation %s cannot also be a partner", code);
        for (j = 0; j < i; j++)
            if (strcmp(code, json_string_value(json_array_get(partners, j))) == 0)
                return coi_error_set(COI_EINVALID, "partner_organisation_codes",
                                     "partner %s is listed twice", code);
    }
    return COI_OK;
}

/* The content fields present in `c`, as a new object (NULL: out of memory). */
static json_t *content_of(const json_t *c)
{
    json_t *doc = json_object();

    for (const char *const *key = CASE_CONTENT; doc != NULL && *key != NULL; key++) {
        json_t *v = json_object_get(c, *key);
        if (v != NULL && json_object_set(doc, *key, v) != 0) {
            json_decref(doc);
            return NULL;
        }
    }
    return doc;
}

/* Reads write number `i` of the batch into `o` (`c` is validated for shape by the API; what
 * the database cannot check is checked here). */
static int op_read(struct op *o, size_t i)
{
    const json_t *c = o->w->c, *external = json_object_get(c, "external_id");
    const json_t *partners = json_object_get(c, "partner_organisation_codes");
    const json_t *changed = o->w->changed_fields;
    int update = o->w->kind == COI_CASE_WRITE_UPDATE;
    int rc;

    o->org = json_string_value(json_object_get(c, "organisation_code"));
    o->ext = json_string_value(external);
    if (update && o->w->id == NULL)
        return coi_error_set(COI_EINVALID, NULL, "an update needs the id of its case");
    if (update) {
        o->id = o->w->id;
    } else {
        storage_new_id(o->new_id);
        o->id = o->new_id;
    }
    if (o->org == NULL)
        return coi_error_set(COI_EINVALID, "organisation_code", "organisation_code is required");
    if (external != NULL && !json_is_null(external) && o->ext == NULL)
        return coi_error_set(COI_EINVALID, "external_id", "external_id must be a string or null");
    if (partners != NULL && !json_is_array(partners))
        return coi_error_set(COI_EINVALID, "partner_organisation_codes",
                             "partner_organisation_codes must be an array");
    if ((rc = partners_check(partners, o->org)) != COI_OK)
        return rc;
    o->json =
        json_pack("{s:I, s:s, s:s, s:s, s:s?, s:o?, s:O?, s:s?, s:O?}", "i", (json_int_t)i, "kind",
                  update ? "update" : "create", "id", o->id, "org", o->org, "ext", o->ext, "doc",
                  content_of(c), "partners", partners, "insp",
                  json_string_value(json_object_get(c, "inspired_by_case_id")), "changed", changed);
    if (o->json == NULL || json_object_get(o->json, "doc") == NULL ||
        (partners == NULL && json_object_set_new(o->json, "partners", json_array()) != 0) ||
        (changed == NULL && json_object_set_new(o->json, "changed", json_array()) != 0))
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    return COI_OK;
}

/* Whether two keys are the same (organisation_code, external_id); a NULL external_id is none. */
static int same_key(const char *org_a, const char *ext_a, const char *org_b, const char *ext_b)
{
    return ext_a != NULL && ext_b != NULL && org_a != NULL && org_b != NULL &&
           strcmp(ext_a, ext_b) == 0 && strcmp(org_a, org_b) == 0;
}

/* Whether `b` must see what `a` writes: both update one case, or they share a key (old or
 * new). */
static int ops_meet(const struct op *a, const struct op *b)
{
    if (a->w->kind == COI_CASE_WRITE_UPDATE && b->w->kind == COI_CASE_WRITE_UPDATE &&
        strcmp(a->id, b->id) == 0)
        return 1;
    return same_key(a->org, a->ext, b->org, b->ext) ||
           same_key(a->old_org, a->old_ext, b->org, b->ext) ||
           same_key(a->org, a->ext, b->old_org, b->old_ext);
}

/* The verdict of CHECK's row `row` on `o`, in the order a single write checks. */
static int check_row(const struct op *o, const PGresult *res, int row)
{
    int update = o->w->kind == COI_CASE_WRITE_UPDATE;
    const char *version = PQgetvalue(res, row, CK_VERSION);

    if (update && PQgetisnull(res, row, CK_VERSION))
        return coi_error_set(COI_ENOTFOUND, NULL, "no case with id %s", o->id);
    if (update && o->w->expected_version != -1 &&
        strtoll(version, NULL, 10) != o->w->expected_version)
        return coi_error_set(COI_ECONFLICT, NULL, "case %s is at version %s, not %" PRId64, o->id,
                             version, o->w->expected_version);
    if (strcmp(PQgetvalue(res, row, CK_LEAD), "t") != 0)
        return coi_error_set(COI_EINVALID, "organisation_code", "no organisation with code %s",
                             o->org);
    if (!PQgetisnull(res, row, CK_PARTNER))
        return coi_error_set(COI_EINVALID, "partner_organisation_codes",
                             "no organisation with code %s", PQgetvalue(res, row, CK_PARTNER));
    if (strcmp(PQgetvalue(res, row, CK_INSPIRED), "t") != 0)
        return coi_error_set(COI_EINVALID, "inspired_by_case_id", "no case with id %s",
                             json_string_value(json_object_get(o->json, "insp")));
    if (strcmp(PQgetvalue(res, row, CK_TAKEN), "t") == 0)
        return coi_error_set(COI_EEXISTS, "external_id",
                             "organisation %s already has a case with external_id %s", o->org,
                             o->ext);
    return COI_OK;
}

/* The batch being written: the ops, the actor (JSON text) and whether a failed statement
 * must be undone by savepoint (more than one write: others may already stand). */
struct batch {
    PGconn *conn;
    struct op *ops;
    size_t n;
    const char *actor;
    int savepoints;
};

/* A JSON array of the `json` of ops[idx[0..k)], as text (caller frees; NULL: out of memory).
 * Without `content` the doc and changed_fields are left out: the check does not read them,
 * and a value in them the database refuses then fails only the write of its op. */
static char *ops_text(const struct batch *b, const size_t *idx, size_t k, int content)
{
    json_t *list = json_array(), *item;
    char *text = NULL;

    for (size_t j = 0; list != NULL && j < k; j++) {
        item = content ? json_incref(b->ops[idx[j]].json) : json_copy(b->ops[idx[j]].json);
        if (!content && item != NULL) {
            json_object_del(item, "doc");
            json_object_del(item, "changed");
        }
        if (json_array_append_new(list, item) != 0)
            goto out;
    }
    if (list != NULL)
        text = json_text(list, 0, NULL);
out:
    json_decref(list);
    return text;
}

/* Reads WRITE's answer for ops[idx[0..k)]: the record and change entry of each. */
static int take_written(struct batch *b, const size_t *idx, size_t k, const PGresult *res)
{
    int rc;

    for (int row = 0; row < PQntuples(res); row++) {
        struct op *o = &b->ops[strtoul(PQgetvalue(res, row, 0), NULL, 10)];
        o->state = OP_WRITTEN;
        json_decref(o->w->out); /* a group written again one by one after a failure */
        free(o->entry);
        o->entry = NULL;
        if ((rc = pg_json_value(&o->w->out, res, row, 1)) != COI_OK)
            return rc;
        if ((o->entry = strdup(PQgetvalue(res, row, 2))) == NULL)
            return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    }
    for (size_t j = 0; j < k; j++) /* the rows were locked or new: cannot happen */
        if (b->ops[idx[j]].state != OP_WRITTEN)
            op_fail(&b->ops[idx[j]], coi_error_set(COI_ERROR, NULL, "the write went missing"));
    return COI_OK;
}

/* Runs WRITE for ops[idx[0..k)] (under a savepoint when the batch needs one). COI_OK, or the
 * failure of the statement (write_undo then restores the transaction). */
static int write_set(struct batch *b, const size_t *idx, size_t k)
{
    char *text = ops_text(b, idx, k, 1);
    int brief = 1;
    for (size_t j = 0; j < k; j++)
        brief = brief && b->ops[idx[j]].w->brief;
    const char *params[3] = {text, b->actor, brief ? "true" : "false"};
    const struct op *one = k == 1 ? &b->ops[idx[0]] : NULL;
    PGresult *res = NULL;
    int rc;

    if (text == NULL)
        return coi_error_set(COI_ENOMEM, NULL, "out of memory");
    if (b->savepoints && (rc = pg_exec(b->conn, "SAVEPOINT w")) != COI_OK)
        goto out;
    rc = pg_case_exec(&res, b->conn, pg_case_write_sql, 3, params, one ? one->org : NULL,
                      one ? one->ext : NULL);
    if (rc == COI_OK)
        rc = take_written(b, idx, k, res);
    if (b->savepoints && rc == COI_OK)
        rc = pg_exec(b->conn, "RELEASE SAVEPOINT w");
out:
    PQclear(res);
    free(text);
    return rc;
}

/* Undoes a failed write_set; COI_OK when the transaction goes on. */
static int write_undo(struct batch *b)
{
    if (!b->savepoints)
        return COI_OK; /* nothing else was written: the transaction is rolled back */
    return pg_exec(b->conn, "ROLLBACK TO SAVEPOINT w; RELEASE SAVEPOINT w");
}

/* Whether a failed statement failed for the database's reasons rather than a write's: then
 * nothing can be kept, and trying the writes one by one would only fail again. */
static int fails_all(int rc)
{
    return rc == COI_EUNAVAILABLE || rc == COI_ENOMEM;
}

/* Writes the ops of idx[] (checks passed, no two meeting): all at once, else one at a time so
 * that one failing write does not take the others with it. COI_OK or a fatal error. */
static int write_group(struct batch *b, const size_t *idx, size_t k)
{
    int rc;

    if (k == 0 || (rc = write_set(b, idx, k)) == COI_OK)
        return COI_OK;
    if (fails_all(rc))
        return rc;
    if (k == 1) {
        op_fail(&b->ops[idx[0]], rc);
        return write_undo(b);
    }
    if ((rc = write_undo(b)) != COI_OK)
        return rc;
    for (size_t j = 0; j < k; j++)
        if ((rc = write_group(b, &idx[j], 1)) != COI_OK)
            return rc;
    return COI_OK;
}

/* Runs CHECK on the open ops from `from` on (with BEGIN when `begin`). */
static int check(struct batch *b, size_t from, int begin, PGresult **out)
{
    size_t *idx = malloc((b->n - from) * sizeof *idx), k = 0;
    char *text = NULL;
    int rc = COI_OK;

    *out = NULL;
    for (size_t i = from; idx != NULL && i < b->n; i++)
        if (b->ops[i].state == OP_OPEN)
            idx[k++] = i;
    if (idx == NULL || (text = ops_text(b, idx, k, 0)) == NULL) {
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
    } else {
        const char *params[1] = {text};
        struct pg_statement st[2] = {{"BEGIN", 0, NULL}, {pg_case_check_sql, 1, params}};
        PGresult *res[2];
        if ((rc = pg_pipeline(b->conn, begin ? st : st + 1, begin ? 2 : 1, res)) == COI_OK) {
            PQclear(begin ? res[0] : NULL);
            *out = res[begin ? 1 : 0];
        }
    }
    free(text);
    free(idx);
    return rc;
}

/* Checks the open ops from `from` on, takes the group that starts there and writes it. On
 * return *end is where the next group starts. */
static int run_group(struct batch *b, size_t from, int begin, size_t *end)
{
    size_t *pass = malloc(b->n * sizeof *pass), *members = malloc(b->n * sizeof *members);
    size_t npass = 0, nmembers = 0, stop = b->n;
    PGresult *res = NULL;
    int rc = pass == NULL || members == NULL ? coi_error_set(COI_ENOMEM, NULL, "out of memory")
                                             : check(b, from, begin, &res);

    for (int row = 0; rc == COI_OK && row < PQntuples(res); row++) {
        size_t i = strtoul(PQgetvalue(res, row, CK_I), NULL, 10);
        struct op *o = &b->ops[i];
        o->old_org = PQgetisnull(res, row, CK_ORG) ? NULL : PQgetvalue(res, row, CK_ORG);
        o->old_ext = PQgetisnull(res, row, CK_EXT) ? NULL : PQgetvalue(res, row, CK_EXT);
        for (size_t j = 0; j < nmembers && stop == b->n; j++)
            if (ops_meet(&b->ops[members[j]], o))
                stop = i;
        if (stop != b->n) {
            o->old_org = o->old_ext = NULL; /* the next group's CHECK reads them again */
            break;
        }
        members[nmembers++] = i;
        if ((rc = check_row(o, res, row)) != COI_OK) {
            op_fail(o, rc); /* the op's failure, not the batch's */
            rc = COI_OK;
        } else {
            pass[npass++] = i;
        }
    }
    if (rc == COI_OK)
        rc = write_group(b, pass, npass);
    for (size_t j = 0; j < nmembers; j++)
        b->ops[members[j]].old_org = b->ops[members[j]].old_ext = NULL;
    *end = stop;
    PQclear(res);
    free(pass);
    free(members);
    return rc;
}

/* The change entries of the written ops, in their order, as a JSON array (text the caller
 * frees; NULL: out of memory). The entries are the database's own JSON text, joined as they
 * are: parsing and printing them again cost more than the rest of the commit. */
static char *entries_text(const struct batch *b)
{
    size_t size = 3, used = 0;
    char *text;

    for (size_t i = 0; i < b->n; i++)
        if (b->ops[i].state == OP_WRITTEN)
            size += strlen(b->ops[i].entry) + 1;
    if ((text = malloc(size)) == NULL)
        return NULL;
    text[used++] = '[';
    for (size_t i = 0; i < b->n; i++)
        if (b->ops[i].state == OP_WRITTEN) {
            size_t len = strlen(b->ops[i].entry);
            if (used > 1)
                text[used++] = ',';
            memcpy(text + used, b->ops[i].entry, len);
            used += len;
        }
    text[used++] = ']';
    text[used] = '\0';
    return text;
}

/* Writes the change rows of the written ops and commits. */
static int commit(struct batch *b)
{
    char *entries = entries_text(b);
    int rc = entries != NULL ? pg_commit_case_changes(b->conn, NULL, NULL, entries)
                             : coi_error_set(COI_ENOMEM, NULL, "out of memory");
    free(entries);
    return rc;
}

/* Checks and writes every open op, a group at a time, then commits. COI_OK, or a failure after
 * which nothing is kept. */
static int write_all(struct batch *b)
{
    size_t next = 0, written = 0;
    int rc = COI_OK, begin = 1;

    while (rc == COI_OK) {
        while (next < b->n && b->ops[next].state != OP_OPEN)
            next++;
        if (next == b->n)
            break;
        rc = run_group(b, next, begin, &next);
        begin = 0;
    }
    for (size_t i = 0; i < b->n; i++)
        written += b->ops[i].state == OP_WRITTEN;
    if (rc == COI_OK && written > 0)
        rc = commit(b);
    pg_rollback(b->conn); /* after a failure, or when nothing was written */
    return rc;
}

/* Performs the n writes (see case_write_batch). */
static int write_batch(struct pg_storage *pg, struct coi_case_write *w, size_t n,
                       const struct coi_actor *actor)
{
    struct batch b = {NULL, calloc(n > 0 ? n : 1, sizeof *b.ops), n, NULL, n > 1};
    char *actor_text = NULL;
    size_t open = 0;
    int rc;

    for (size_t i = 0; i < n; i++) {
        w[i].out = NULL;
        w[i].rc = COI_OK;
        w[i].field[0] = w[i].message[0] = '\0';
    }
    if (b.ops == NULL)
        rc = coi_error_set(COI_ENOMEM, NULL, "out of memory");
    else
        rc = pg_actor_text(&actor_text, actor);
    for (size_t i = 0; rc == COI_OK && i < n; i++) {
        int one;
        b.ops[i].w = &w[i];
        if ((one = op_read(&b.ops[i], i)) != COI_OK)
            op_fail(&b.ops[i], one);
        else
            open++;
    }
    b.actor = actor_text;
    if (rc == COI_OK && open > 0 && (rc = pg_acquire(pg, &b.conn)) == COI_OK) {
        if (n == 1 || (rc = pg_plan_refresh(b.conn, PLAN_MAX_AGE_MS)) == COI_OK)
            rc = write_all(&b);
        pg_release(pg, b.conn);
    }
    for (size_t i = 0; i < n; i++) {
        if (rc != COI_OK && (b.ops == NULL || b.ops[i].state != OP_FAILED)) {
            json_decref(w[i].out); /* written, but not committed */
            w[i].out = NULL;
            op_fail(&(struct op){.w = &w[i]}, rc);
        }
        if (b.ops != NULL) {
            json_decref(b.ops[i].json);
            free(b.ops[i].entry);
        }
    }
    free(b.ops);
    free(actor_text);
    return rc;
}

int pg_case_write_batch(struct coi_storage *s, struct coi_case_write *ops, size_t n,
                        const struct coi_actor *actor)
{
    return write_batch((struct pg_storage *)s, ops, n, actor);
}

/* A single write: a batch of one, whose failure is the call's (the thread's error detail is
 * still the one the failure set). */
static int write_one(struct coi_storage *s, json_t **out, struct coi_case_write *w,
                     const struct coi_actor *actor)
{
    int rc = write_batch((struct pg_storage *)s, w, 1, actor);
    *out = w->out;
    return rc != COI_OK ? rc : w->rc;
}

int pg_case_create(struct coi_storage *s, json_t **out, const json_t *c,
                   const struct coi_actor *actor, const json_t *changed_fields)
{
    struct coi_case_write w = {.kind = COI_CASE_WRITE_CREATE,
                               .c = c,
                               .expected_version = -1,
                               .changed_fields = changed_fields};
    return write_one(s, out, &w, actor);
}

int pg_case_update(struct coi_storage *s, json_t **out, const char *id, const json_t *c,
                   int64_t expected_version, const struct coi_actor *actor,
                   const json_t *changed_fields)
{
    struct coi_case_write w = {.kind = COI_CASE_WRITE_UPDATE,
                               .id = id,
                               .c = c,
                               .expected_version = expected_version,
                               .changed_fields = changed_fields};
    return write_one(s, out, &w, actor);
}
