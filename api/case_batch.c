/* POST /v1/organisations/{code}/cases:batch: many PUTs by external key in one request. Each item
 * is planned exactly as the PUT plans its body (api/cases.c), and the items go to storage a
 * chunk at a time: one case_get_by_external_ids and one case_write_batch per chunk. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/cases.h"
#include "api/log.h"
#include "api/problem.h"
#include "api/routes.h"
#include "auth/policy.h"

#define BATCH_MAX_ITEMS 1000
/* A chunk is at most this many items, and (NDJSON) at most about this many bytes of them: the
 * bound on what a request holds parsed at once. Bigger chunks cost fewer statements and
 * transactions (a push of 100 000 cases of 1.5 kB: 100 -> 250 saved a tenth of the database's
 * time), at about 10 kB of memory per item held. */
#define BATCH_CHUNK 250
#define BATCH_CHUNK_BYTES (512 * 1024)
/* A create that lost a race (external_id taken meanwhile) or an update that lost one (version
 * moved on) is planned again, as often as the PUT would try. */
#define BATCH_ATTEMPTS 3

/* ITEM_PENDING (0): not decided yet. */
enum item_result { ITEM_PENDING, ITEM_CREATED, ITEM_UPDATED, ITEM_UNCHANGED, ITEM_ERROR };
static const char *const result_names[] = {"pending", "created", "updated", "unchanged", "error"};

struct item {
    size_t index;    /* position in the body */
    json_t *body;    /* the item as parsed (owned); NULL when it did not parse */
    const char *ext; /* its external_id when a string (borrowed from body) */
    json_t *doc;     /* the case document to write (owned) */
    json_t *current; /* the stored case with this key, or NULL (owned) */
    enum item_result result;
    int status;     /* the status the item would have had alone */
    json_t *record; /* created, updated, unchanged: the case as stored (owned) */
    json_t *errors; /* error: [{field?, detail}] (owned) */
};

struct batch {
    struct api_ctx *c;
    const char *code;
    json_t *first_index; /* external_id -> index of the first item with it */
    json_t *items;       /* the response's items, in body order */
    size_t counts[5];    /* per enum item_result */
};

/* Marks the item as an error with one {field?, detail} (field NULL or "": none). */
static void item_fail(struct item *it, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void item_fail(struct item *it, int status, const char *field, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_t *e = json_pack("{s:s}", "detail", detail);
    if (field != NULL && field[0] != '\0')
        json_object_set_new(e, "field", json_string(field));
    if (it->errors == NULL)
        it->errors = json_array();
    json_array_append_new(it->errors, e);
    it->result = ITEM_ERROR;
    it->status = status;
}

/* Marks the item as an error with a list of {field, message} (as a 422 problem lists them). */
static void item_fail_fields(struct item *it, int status, const json_t *field_errors)
{
    size_t i;
    json_t *e;
    json_array_foreach(field_errors, i, e)
        item_fail(it, status, json_string_value(json_object_get(e, "field")), "%s",
                  json_string_value(json_object_get(e, "message")));
}

/* Marks the item as failed with a storage error code, in the words problem_from_error would
 * answer the PUT with. */
static void item_fail_storage(struct batch *b, struct item *it, int rc, const char *field,
                              const char *message)
{
    int status = problem_status_for_error(rc);
    if (status == 500 || status == 503) {
        json_t *f = json_pack("{s:s, s:s, s:s, s:i}", "request_id", b->c->request_id, "error",
                              coi_error_name(rc), "detail", message, "item", (int)it->index);
        log_event(status == 500 ? LOG_ERROR : LOG_WARN, "batch item failed", f);
        json_decref(f);
        item_fail(it, status, NULL, "%s",
                  status == 500 ? "an internal error occurred; quote the request id when "
                                  "reporting it"
                                : "storage is unavailable; retry shortly");
    } else if (status == 412) {
        item_fail(it, 412, NULL, "the resource has changed since the given ETag; fetch it again");
    } else {
        item_fail(it, status, field, "%s", message);
    }
}

/* The first checks of an item, without storage: an object with a string external_id not seen
 * before in this batch, whose document (case_put_document) is valid. */
static void item_prepare(struct batch *b, struct item *it)
{
    if (it->result == ITEM_ERROR)
        return; /* did not parse */
    if (!json_is_object(it->body)) {
        item_fail(it, 422, NULL, "the item must be a JSON object");
        return;
    }
    json_t *ext = json_object_get(it->body, "external_id");
    if (ext == NULL || json_is_null(ext)) {
        item_fail(it, 422, "external_id", "is required");
        return;
    }
    if (!json_is_string(ext)) {
        item_fail(it, 422, "external_id", "must be a string");
        return;
    }
    it->ext = json_string_value(ext);
    json_t *first = json_object_get(b->first_index, it->ext);
    if (first != NULL) {
        item_fail(it, 409, "external_id", "external_id repeated in this batch, item %lld",
                  (long long)json_integer_value(first));
        return;
    }
    json_object_set_new(b->first_index, it->ext, json_integer((json_int_t)it->index));
    json_t *errors = json_array();
    it->doc = case_put_document(errors, it->body, b->code, it->ext);
    if (json_array_size(errors) > 0)
        item_fail_fields(it, 422, errors);
    json_decref(errors);
}

/* Plans the pending items against the cases stored under their keys and writes the creates and
 * updates in one case_write_batch. Items whose write lost a race stay pending. Returns COI_OK,
 * or the storage error that stopped the chunk (nothing of this call was written). */
static int chunk_attempt(struct batch *b, struct item *items, size_t n, int last_attempt)
{
    struct api_ctx *c = b->c;
    const char **ids = calloc(n, sizeof *ids);
    struct case_put_plan *plans = calloc(n, sizeof *plans);
    struct coi_case_write *ops = calloc(n, sizeof *ops);
    struct item **op_item = calloc(n, sizeof *op_item);
    json_t *found = NULL;
    size_t k = 0, nops = 0;
    int rc = COI_ERROR;

    if (ids == NULL || plans == NULL || ops == NULL || op_item == NULL) {
        coi_error_set(COI_ERROR, NULL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (items[i].result == ITEM_PENDING)
            ids[k++] = items[i].ext;
    rc = c->storage->case_get_by_external_ids(c->storage, &found, b->code, ids, k);
    if (rc != COI_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        if (it->result != ITEM_PENDING)
            continue;
        json_decref(it->current);
        it->current = json_incref(json_object_get(found, it->ext));
        struct case_put_plan *p = &plans[i];
        if ((rc = case_put_plan(c, p, it->doc, it->current)) != COI_OK)
            goto out;
        switch (p->result) {
        case CASE_PUT_ERROR:
            if (json_array_size(p->errors) > 0)
                item_fail_fields(it, p->status, p->errors);
            else
                item_fail(it, p->status, NULL, "%s", p->detail);
            break;
        case CASE_PUT_UNCHANGED:
            it->result = ITEM_UNCHANGED;
            it->status = 200;
            it->record = json_incref(it->current);
            break;
        case CASE_PUT_CREATE:
        case CASE_PUT_UPDATE:
            ops[nops] = (struct coi_case_write){
                .kind =
                    p->result == CASE_PUT_CREATE ? COI_CASE_WRITE_CREATE : COI_CASE_WRITE_UPDATE,
                .id = json_string_value(json_object_get(it->current, "id")),
                .c = it->doc,
                .expected_version = it->current ? (int64_t)json_integer_value(
                                                      json_object_get(it->current, "version"))
                                                : -1,
                .changed_fields = p->changed,
                .brief = 1, /* the response shows the id and version only */
            };
            op_item[nops++] = it;
            break;
        }
    }
    if (nops > 0) {
        struct coi_actor actor = case_actor(c);
        if ((rc = c->storage->case_write_batch(c->storage, ops, nops, &actor)) != COI_OK)
            goto out;
    }
    for (size_t j = 0; j < nops; j++) {
        struct item *it = op_item[j];
        int create = ops[j].kind == COI_CASE_WRITE_CREATE;
        if (ops[j].rc == COI_OK) {
            it->result = create ? ITEM_CREATED : ITEM_UPDATED;
            it->status = create ? 201 : 200;
            it->record = ops[j].out;
            ops[j].out = NULL;
            continue;
        }
        int lost_race = create
                            ? ops[j].rc == COI_EEXISTS && strcmp(ops[j].field, "external_id") == 0
                            : ops[j].rc == COI_ECONFLICT;
        if (!lost_race || last_attempt)
            item_fail_storage(b, it, ops[j].rc, ops[j].field, ops[j].message);
    }
    rc = COI_OK;
out:
    for (size_t j = 0; ops != NULL && j < nops; j++)
        json_decref(ops[j].out);
    for (size_t i = 0; plans != NULL && i < n; i++)
        case_put_plan_clear(&plans[i]);
    json_decref(found);
    free(ids);
    free(plans);
    free(ops);
    free(op_item);
    return rc;
}

/* Prepares, plans and writes one chunk, then appends its items to the response and frees them.
 * Returns COI_OK or the storage error that stopped the batch. */
static int chunk_run(struct batch *b, struct item *items, size_t n)
{
    int rc = COI_OK;
    for (size_t i = 0; i < n; i++)
        item_prepare(b, &items[i]);
    for (int attempt = 0; attempt < BATCH_ATTEMPTS && rc == COI_OK; attempt++) {
        size_t pending = 0;
        for (size_t i = 0; i < n; i++)
            pending += items[i].result == ITEM_PENDING;
        if (pending == 0)
            break;
        rc = chunk_attempt(b, items, n, attempt == BATCH_ATTEMPTS - 1);
    }
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        if (rc == COI_OK) {
            json_t *out =
                json_pack("{s:I, s:o, s:o, s:s, s:i}", "index", (json_int_t)it->index,
                          "external_id", it->ext ? json_string(it->ext) : json_null(), "id",
                          json_null(), "result", result_names[it->result], "status", it->status);
            const json_t *known = it->record ? it->record : it->current;
            if (known != NULL)
                json_object_set(out, "id", json_object_get(known, "id"));
            if (it->result == ITEM_ERROR)
                json_object_set(out, "errors", it->errors);
            else
                json_object_set(out, "version", json_object_get(it->record, "version"));
            json_array_append_new(b->items, out);
            b->counts[it->result]++;
        }
        json_decref(it->body);
        json_decref(it->doc);
        json_decref(it->current);
        json_decref(it->record);
        json_decref(it->errors);
        memset(it, 0, sizeof *it);
    }
    return rc;
}

/* The items of a JSON array body, a chunk at a time. Returns COI_OK or a storage error; a
 * problem was sent when the body was refused (*refused = 1). */
static int run_array(struct batch *b, struct item *chunk, int *refused)
{
    struct api_ctx *c = b->c;
    json_error_t err;
    json_t *all = json_loadb(c->req->binary_body, c->req->binary_body_length,
                             JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    int rc = COI_OK;
    *refused = 1;
    if (all == NULL) {
        problem_send(c, 400, "malformed JSON at line %d, column %d: %s", err.line, err.column,
                     err.text);
        return COI_OK;
    }
    if (!json_is_array(all)) {
        json_t *errors = json_array();
        problem_add_error(errors, "", "the body must be a JSON array of cases");
        problem_send_errors(c, errors, "the batch has errors");
    } else if (json_array_size(all) > BATCH_MAX_ITEMS) {
        problem_send(c, 413, "a batch holds at most %d items; this one has %zu", BATCH_MAX_ITEMS,
                     json_array_size(all));
    } else {
        *refused = 0;
        size_t total = json_array_size(all);
        for (size_t start = 0; start < total && rc == COI_OK; start += BATCH_CHUNK) {
            size_t n = total - start < BATCH_CHUNK ? total - start : BATCH_CHUNK;
            for (size_t i = 0; i < n; i++) {
                chunk[i].index = start + i;
                chunk[i].body = json_incref(json_array_get(all, start + i));
            }
            rc = chunk_run(b, chunk, n);
        }
    }
    json_decref(all);
    return rc;
}

/* The next line of body[*pos..len) without its "\n" or "\r\n" into *line, *line_len; 0 at the
 * end. */
static int next_line(const char *body, size_t len, size_t *pos, const char **line, size_t *line_len)
{
    if (*pos >= len)
        return 0;
    const char *start = body + *pos, *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - start) : len - *pos;
    *pos += n + (nl != NULL);
    if (n > 0 && start[n - 1] == '\r')
        n--;
    *line = start;
    *line_len = n;
    return 1;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* The items of an NDJSON body: counted first (more than the maximum is refused before anything
 * is written), then parsed, planned and written a chunk of lines at a time. */
static int run_ndjson(struct batch *b, struct item *chunk, int *refused)
{
    struct api_ctx *c = b->c;
    const char *body = c->req->binary_body, *line;
    size_t len = c->req->binary_body_length, pos = 0, n_line, total = 0, n = 0, bytes = 0;
    int rc = COI_OK;

    while (next_line(body, len, &pos, &line, &n_line))
        total += !is_blank(line, n_line);
    if (total > BATCH_MAX_ITEMS) {
        *refused = 1;
        problem_send(c, 413, "a batch holds at most %d items; this one has %zu", BATCH_MAX_ITEMS,
                     total);
        return COI_OK;
    }
    *refused = 0;
    pos = 0;
    for (size_t index = 0; rc == COI_OK && next_line(body, len, &pos, &line, &n_line);) {
        if (is_blank(line, n_line))
            continue;
        struct item *it = &chunk[n++];
        json_error_t err;
        it->index = index++;
        it->body = json_loadb(line, n_line, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
        if (it->body == NULL)
            item_fail(it, 400, NULL, "malformed JSON at column %d: %s", err.column, err.text);
        bytes += n_line;
        if (n == BATCH_CHUNK || bytes >= BATCH_CHUNK_BYTES) {
            rc = chunk_run(b, chunk, n);
            n = bytes = 0;
        }
    }
    if (rc == COI_OK && n > 0)
        rc = chunk_run(b, chunk, n);
    return rc;
}

void cases_batch(struct api_ctx *c)
{
    const char *code = api_path_param(c, "code"), *type = api_header(c, "Content-Type");
    struct batch b = {c, code, json_object(), json_array(), {0}};
    struct item *chunk = NULL;
    int rc = COI_OK, refused = 0, ndjson;

    if (!policy_may_create_case(&c->who, code)) {
        problem_send(c, 403, "a partner writes only cases of its own organisation (%s)",
                     c->who.org);
        goto out;
    }
    ndjson = type != NULL && api_media_type_is(type, "application/x-ndjson");
    if (!ndjson && (type == NULL || !api_media_type_is(type, "application/json"))) {
        problem_send(c, 415,
                     "send the batch as application/json (an array) or application/x-ndjson "
                     "(one object per line)");
        goto out;
    }
    if (c->req->binary_body_length == 0) {
        problem_send(c, 400, "a request body is required");
        goto out;
    }
    if ((chunk = calloc(BATCH_CHUNK, sizeof *chunk)) == NULL) {
        problem_send(c, 500, "an internal error occurred; quote the request id when reporting it");
        goto out;
    }
    rc = ndjson ? run_ndjson(&b, chunk, &refused) : run_array(&b, chunk, &refused);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    if (refused)
        goto out;
    api_send_json(c, 200,
                  json_pack("{s:{s:I, s:I, s:I, s:I}, s:O}", "summary", "created",
                            (json_int_t)b.counts[ITEM_CREATED], "updated",
                            (json_int_t)b.counts[ITEM_UPDATED], "unchanged",
                            (json_int_t)b.counts[ITEM_UNCHANGED], "error",
                            (json_int_t)b.counts[ITEM_ERROR], "items", b.items));
out:
    free(chunk);
    json_decref(b.first_index);
    json_decref(b.items);
}
