/* Storage conformance, run on every backend: the change feed, batch writes of cases, lookups by
 * external ids, the audit log and idempotency keys. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "storage/storage.h"
#include "tests/unit/test.h"
#include "tests/unit/storage_helpers.h"

/* A backend without the callback fails the test instead of crashing the run. */
#define NEEDS(cb)                                                                                  \
    do {                                                                                           \
        if (s->cb == NULL) {                                                                       \
            test_fail(__FILE__, __LINE__, "the backend has no " #cb);                              \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Short names for the objects of a test, so that a feed reads "c1.created e1.updated". */
struct names {
    int n;
    char id[16][40];
    const char *name[16];
};

static void name_it(struct names *nm, const json_t *record, const char *name)
{
    if (record == NULL || nm->n == 16)
        return;
    snprintf(nm->id[nm->n], sizeof nm->id[0], "%s", field(record, "id"));
    nm->name[nm->n++] = name;
}

static const char *name_of(const struct names *nm, const char *id)
{
    for (int i = 0; i < nm->n; i++)
        if (id != NULL && strcmp(nm->id[i], id) == 0)
            return nm->name[i];
    return "?";
}

/* One page of the feed, checked for shape: seqs rising above q->after_seq, at most q->limit
 * items of 7 keys each. An empty array after recording a failure. */
static json_t *feed_page(struct coi_storage *s, const struct coi_change_query *q, int64_t *next)
{
    json_t *out = NULL, *item;
    int64_t last = q->after_seq;
    size_t i;
    int rc = s->change_list(s, &out, next, q);

    if (rc != COI_OK) {
        test_fail(__FILE__, __LINE__, "change_list: %s (%s)", coi_error_name(rc),
                  coi_error_detail());
        return json_array();
    }
    CHECK((int)json_array_size(out) <= q->limit);
    json_array_foreach(out, i, item)
    {
        int64_t seq = json_integer_value(json_object_get(item, "seq"));
        CHECK(seq > last);
        last = seq;
        CHECK_INT(json_object_size(item), 7);
        CHECK(is_rfc3339(field(item, "at")));
        CHECK(json_is_integer(json_object_get(item, "version")));
        CHECK(field(item, "case_id") != NULL);
    }
    CHECK(*next >= last);
    return out;
}

/* The feed after seq `after` of the `types` (0: all) for one viewer (`org` NULL: the public,
 * "*": see_all), read three at a time, as "name.action" words (with "/version" when
 * `versions`). */
static void feed_text_after(struct coi_storage *s, const struct names *nm, const char *org,
                            int64_t after, unsigned types, int versions, char *out, size_t size)
{
    struct coi_change_query q = {.see_all = org != NULL && strcmp(org, "*") == 0,
                                 .viewer_org = org != NULL && strcmp(org, "*") != 0 ? org : NULL,
                                 .after_seq = after,
                                 .types = types,
                                 .limit = 3};
    size_t used = 0, i;
    json_t *page, *item;
    int64_t next = 0;

    out[0] = '\0';
    for (int round = 0; round < 50; round++) {
        page = feed_page(s, &q, &next);
        json_array_foreach(page, i, item)
        {
            char version[24] = "";
            if (versions)
                snprintf(version, sizeof version, "/%lld",
                         (long long)json_integer_value(json_object_get(item, "version")));
            if (used < size)
                used += (size_t)snprintf(out + used, size - used, "%s%s.%s%s", used ? " " : "",
                                         name_of(nm, field(item, "id")), field(item, "action"),
                                         version);
        }
        size_t n = json_array_size(page);
        json_decref(page);
        if (n < (size_t)q.limit)
            break;
        q.after_seq = next;
    }
}

/* The whole feed (see feed_text_after). */
static void feed_text(struct coi_storage *s, const struct names *nm, const char *org,
                      unsigned types, int versions, char *out, size_t size)
{
    feed_text_after(s, nm, org, 0, types, versions, out, size);
}

#define FEED_AFTER(org, after, expected)                                                           \
    do {                                                                                           \
        char got_[1024];                                                                           \
        feed_text_after(s, &nm, (org), (after), 0, 0, got_, sizeof got_);                          \
        CHECK_STR(got_, (expected));                                                               \
    } while (0)
#define FEED(org, types, expected)                                                                 \
    do {                                                                                           \
        char got_[1024];                                                                           \
        feed_text(s, &nm, (org), (types), 0, got_, sizeof got_);                                   \
        CHECK_STR(got_, (expected));                                                               \
    } while (0)

static json_t *adopt(struct coi_storage *s, const char *case_id, const char *org)
{
    json_t *in = json_pack("{s:s, s:s}", "organisation_code", org, "status", "considering");
    json_t *out = NULL;
    int rc = s->adoption_create(s, &out, case_id, in);
    if (rc != COI_OK)
        test_fail(__FILE__, __LINE__, "adoption_create: %s (%s)", coi_error_name(rc),
                  coi_error_detail());
    json_decref(in);
    return out;
}

/* ---- the feed ---------------------------------------------------------------------------- */

STORAGE_TEST(storage_changes_record_every_write_in_commit_order)
{
    struct names nm = {0};
    json_t *in = case_new("0101", "feed-1", NULL, "Feed"), *c, *e, *a, *out = NULL;
    json_t *fields = json_pack("[s]", "title");
    char got[1024];
    NEEDS(change_list);

    c = case_create_ok(s, in);
    name_it(&nm, c, "c1");
    if (c == NULL)
        goto out;
    const char *id = field(c, "id");
    json_object_set_new(in, "title", json_string("Feed 2"));
    CHECK_INT(s->case_update(s, &out, id, in, 1, &TEST_ACTOR, fields), COI_OK);
    json_decref(out);
    case_move(s, id, "submitted");
    json_t *ein = evaluation_new("Effekt", "survey", 2, "internal");
    e = evaluation_add(s, id, ein, NULL);
    name_it(&nm, e, "e1");
    if (e != NULL) {
        CHECK_INT(s->evaluation_update(s, &out, field(e, "id"), ein, 1, &TEST_ACTOR, fields),
                  COI_OK);
        json_decref(out);
        CHECK_INT(
            s->evaluation_transition(s, &out, field(e, "id"), "submitted", NULL, 2, &TEST_ACTOR),
            COI_OK);
        json_decref(out);
        CHECK_INT(s->evaluation_delete(s, field(e, "id"), 3), COI_OK);
    }
    a = adopt(s, id, "0851");
    name_it(&nm, a, "a1");
    if (a != NULL) {
        json_t *upd = json_pack("{s:s}", "status", "adapting");
        CHECK_INT(s->adoption_update(s, &out, field(a, "id"), upd, 1), COI_OK);
        json_decref(out);
        json_decref(upd);
        CHECK_INT(s->adoption_delete(s, field(a, "id"), 2), COI_OK);
    }
    feed_text(s, &nm, "*", 0, 1, got, sizeof got);
    CHECK_STR(got, "c1.created/1 c1.updated/2 c1.transition/3 e1.created/1 e1.updated/2"
                   " e1.transition/3 e1.deleted/3 a1.created/1 a1.updated/2 a1.deleted/2");

    /* a failed write leaves no change */
    CHECK_INT(s->case_update(s, &out, id, in, 1, &TEST_ACTOR, fields), COI_ECONFLICT);
    feed_text(s, &nm, "*", COI_CHANGE_CASE, 0, got, sizeof got);
    CHECK_STR(got, "c1.created c1.updated c1.transition");
    json_decref(e);
    json_decref(a);
    json_decref(ein);
out:
    json_decref(c);
    json_decref(in);
    json_decref(fields);
}

/* Lead 0101 with partner 0851; 0461 adopts. Each viewer's feed after: c1 created, e1 (draft)
 * and e2 (published) added, c1 published, a1 adopted, c1 archived, 0851 taken off the case,
 * e1 deleted. */
STORAGE_TEST(storage_changes_show_each_viewer_what_it_saw_with_removed_and_deleted)
{
    struct names nm = {0};
    json_t *c, *e1, *e2, *a1, *ein = evaluation_new("Effekt", "survey", 2, "internal"), *out = NULL;
    NEEDS(change_list);

    c = case_make(s, "0101", "0851", NULL, NULL);
    name_it(&nm, c, "c1");
    if (c == NULL)
        goto out;
    const char *id = field(c, "id");
    e1 = evaluation_add(s, id, ein, NULL);
    e2 = evaluation_add(s, id, ein, "published");
    name_it(&nm, e1, "e1");
    name_it(&nm, e2, "e2");
    case_move(s, id, "published");
    a1 = adopt(s, id, "0461");
    name_it(&nm, a1, "a1");
    case_move(s, id, "archived");
    json_t *solo = case_new("0101", NULL, NULL, "Uden titel");
    CHECK_INT(s->case_update(s, &out, id, solo, -1, &TEST_ACTOR, NULL), COI_OK);
    json_decref(out);
    json_decref(solo);
    CHECK_INT(s->evaluation_delete(s, field(e1, "id"), -1), COI_OK);

    const char *all = "c1.created e1.created e2.created e2.transition c1.transition e2.updated"
                      " a1.created c1.transition e2.updated a1.updated c1.updated e2.updated"
                      " a1.updated e1.deleted";
    FEED("*", 0, all);
    FEED("0101", 0, all);
    FEED("0851", 0,
         "c1.created e2.transition c1.transition e2.updated a1.created c1.transition e2.updated"
         " a1.updated c1.removed e2.removed a1.removed");
    FEED(NULL, 0, "c1.transition e2.updated a1.created c1.removed e2.removed a1.removed");
    FEED("0461", 0, "c1.transition e2.updated a1.created c1.removed e2.removed a1.removed");
    FEED("0751", 0, "c1.transition e2.updated a1.created c1.removed e2.removed a1.removed");

    /* the types filter, alone and with visibility */
    FEED("*", COI_CHANGE_EVALUATION,
         "e1.created e2.created e2.transition e2.updated e2.updated e2.updated e1.deleted");
    FEED(NULL, COI_CHANGE_CASE | COI_CHANGE_ADOPTION,
         "c1.transition a1.created c1.removed a1.removed");
    FEED("0851", COI_CHANGE_ADOPTION, "a1.created a1.updated a1.removed");

    /* a child's row keeps its version: only its visibility changed */
    char got[1024];
    feed_text(s, &nm, "*", COI_CHANGE_EVALUATION | COI_CHANGE_ADOPTION, 1, got, sizeof got);
    CHECK_STR(got, "e1.created/1 e2.created/1 e2.transition/2 e2.updated/2 a1.created/1"
                   " e2.updated/2 a1.updated/1 e2.updated/2 a1.updated/1 e1.deleted/1");
    json_decref(e1);
    json_decref(e2);
    json_decref(a1);
out:
    json_decref(c);
    json_decref(ein);
}

STORAGE_TEST(storage_changes_next_seq_continues_after_the_page_or_the_newest_change)
{
    struct coi_change_query q = {.see_all = 1, .limit = 2};
    json_t *page, *c[5] = {NULL};
    int64_t next = -1, seqs[5], head = -1;
    NEEDS(change_list);
    NEEDS(change_head);

    /* an empty feed */
    page = feed_page(s, &q, &next);
    CHECK_INT(json_array_size(page), 0);
    CHECK_INT(next, 0);
    json_decref(page);
    CHECK_INT(s->change_head(s, &head), COI_OK);
    CHECK_INT(head, 0);

    for (int i = 0; i < 5; i++)
        c[i] = case_make(s, "0101", NULL, NULL, NULL);
    q.limit = 5;
    page = feed_page(s, &q, &next);
    CHECK_INT(json_array_size(page), 5);
    for (size_t i = 0; i < 5; i++)
        seqs[i] = json_integer_value(json_object_get(json_array_get(page, i), "seq"));
    json_decref(page);
    CHECK_INT(next, seqs[4]); /* a full page: its last seq */
    CHECK_INT(s->change_head(s, &head), COI_OK);
    CHECK_INT(head, seqs[4]);

    /* full pages end at their last item, a short page at the newest change */
    q.limit = 2;
    page = feed_page(s, &q, &next);
    CHECK_INT(next, seqs[1]);
    json_decref(page);
    q.after_seq = next;
    page = feed_page(s, &q, &next);
    CHECK_INT(next, seqs[3]);
    json_decref(page);
    q.after_seq = next;
    page = feed_page(s, &q, &next);
    CHECK_INT(json_array_size(page), 1);
    CHECK_INT(next, seqs[4]);
    json_decref(page);
    q.after_seq = next;
    page = feed_page(s, &q, &next);
    CHECK_INT(json_array_size(page), 0);
    CHECK_INT(next, seqs[4]);
    json_decref(page);

    /* changes a viewer may not see are skipped for good: drafts for the public */
    struct coi_change_query pub = {.limit = 10};
    page = feed_page(s, &pub, &next);
    CHECK_INT(json_array_size(page), 0);
    CHECK_INT(next, seqs[4]);
    json_decref(page);
    /* ... but a full page stops at its last item even when hidden changes follow */
    case_move(s, field(c[0], "id"), "published");
    case_move(s, field(c[1], "id"), "published");
    for (int i = 2; i < 5; i++)
        case_move(s, field(c[i], "id"), "submitted");
    pub.limit = 2;
    page = feed_page(s, &pub, &next);
    CHECK_INT(json_array_size(page), 2);
    CHECK_INT(next, json_integer_value(json_object_get(json_array_get(page, 1), "seq")));
    CHECK_INT(next, seqs[4] + 2);
    json_decref(page);

    /* never below after_seq */
    q.after_seq = seqs[4] + 1000;
    page = feed_page(s, &q, &next);
    CHECK_INT(json_array_size(page), 0);
    CHECK_INT(next, seqs[4] + 1000);
    json_decref(page);
    for (int i = 0; i < 5; i++)
        json_decref(c[i]);
}

/* Writers commit while a poller reads the feed a few at a time from where it left off: if a
 * seq could become visible after a higher one, the poller would have passed it for good. */
struct feed_writer {
    struct coi_storage *s;
    const char *case_id;
    int writes;
    int *done;
};

static void *feed_write(void *arg)
{
    struct feed_writer *w = arg;
    json_t *in = evaluation_new("Effekt", "survey", 2, "internal"), *out = NULL;
    for (int i = 0; i < w->writes; i++) {
        if (w->s->evaluation_create(w->s, &out, w->case_id, in, &TEST_ACTOR, NULL) != COI_OK)
            test_fail(__FILE__, __LINE__, "evaluation_create: %s", coi_error_detail());
        json_decref(out);
    }
    json_decref(in);
    __atomic_add_fetch(w->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Reads one page after q->after_seq and moves q->after_seq on; the number of items. */
static size_t poll_once(struct coi_storage *s, struct coi_change_query *q)
{
    int64_t next = 0;
    json_t *page = feed_page(s, q, &next);
    size_t n = json_array_size(page);
    json_decref(page);
    q->after_seq = next;
    return n;
}

STORAGE_TEST(storage_changes_a_poller_misses_nothing_while_writers_commit)
{
    enum { WRITERS = 3, WRITES = 30 };
    struct feed_writer w[WRITERS];
    pthread_t threads[WRITERS];
    struct coi_change_query q = {.see_all = 1, .limit = 5};
    size_t seen = 0, n;
    int done = 0;
    NEEDS(change_list);

    json_t *c = case_make(s, "0101", NULL, NULL, NULL);
    if (c == NULL)
        return;
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct feed_writer){s, field(c, "id"), WRITES, &done};
        CHECK_INT(pthread_create(&threads[i], NULL, feed_write, &w[i]), 0);
    }
    while (__atomic_load_n(&done, __ATOMIC_SEQ_CST) < WRITERS)
        seen += poll_once(s, &q);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(threads[i], NULL);
    while ((n = poll_once(s, &q)) > 0)
        seen += n;
    CHECK_INT(seen, 1 + WRITERS * WRITES);
    json_decref(c);
}

/* ---- batch writes ------------------------------------------------------------------------ */

static const char NO_CASE[] = "00000000-0000-7000-8000-000000000000";

static struct coi_case_write op_create(const json_t *c)
{
    return (struct coi_case_write){.kind = COI_CASE_WRITE_CREATE, .c = c, .expected_version = -1};
}

static struct coi_case_write op_update(const char *id, const json_t *c, int64_t version)
{
    return (struct coi_case_write){
        .kind = COI_CASE_WRITE_UPDATE, .id = id, .c = c, .expected_version = version};
}

/* Checks op `i`'s outcome: rc, and for a failure the field and a detail, and no record. */
static void check_op(const struct coi_case_write *op, int rc, const char *field_name, int line)
{
    if (op->rc != rc)
        test_fail(__FILE__, line, "op rc is %s, expected %s (%s)", coi_error_name(op->rc),
                  coi_error_name(rc), op->message);
    if (rc == COI_OK && !json_is_object(op->out))
        test_fail(__FILE__, line, "a written op has no record");
    if (rc != COI_OK && (op->out != NULL || op->message[0] == '\0'))
        test_fail(__FILE__, line, "a failed op has a record or no detail");
    if (rc != COI_OK && strcmp(op->field, field_name ? field_name : "") != 0)
        test_fail(__FILE__, line, "op field is \"%s\", expected \"%s\"", op->field,
                  field_name ? field_name : "");
}
#define CHECK_OP(op, rc, field) check_op(&(op), (rc), (field), __LINE__)

/* Updates case `id` to lead `org` with `partners` (space-separated; NULL: none) and `title`,
 * at any version. The feed's head before the update. */
static int64_t case_set(struct coi_storage *s, const char *id, const char *org,
                        const char *partners, const char *title)
{
    json_t *in = case_new(org, NULL, partners, title), *out = NULL;
    int64_t head = -1;

    CHECK_INT(s->change_head(s, &head), COI_OK);
    CHECK_INT(s->case_update(s, &out, id, in, -1, &TEST_ACTOR, NULL), COI_OK);
    json_decref(out);
    json_decref(in);
    return head;
}

/* Lead 0101 of a published case c1 with a published evaluation e1, a draft evaluation e2 and
 * adoptions a1 (by 0461) and a2 (by 0751). An update that changes the lead or the partners
 * records, after the case's row, a row for each child whose visibility it changed: the
 * published evaluation and the adoptions go with the case's organisations, the draft
 * evaluation only with its lead. */
STORAGE_TEST(storage_changes_a_change_of_lead_or_partners_records_the_children_it_changes)
{
    struct names nm = {0};
    json_t *c, *e1, *e2, *a1, *a2, *ein = evaluation_new("Effekt", "survey", 2, "internal");
    char got[1024];
    int64_t start;
    NEEDS(change_list);
    NEEDS(change_head);
    NEEDS(case_write_batch);

    c = case_make(s, "0101", NULL, "published", NULL);
    name_it(&nm, c, "c1");
    if (c == NULL)
        goto out;
    const char *id = field(c, "id");
    e1 = evaluation_add(s, id, ein, "published");
    e2 = evaluation_add(s, id, ein, NULL);
    a1 = adopt(s, id, "0461");
    a2 = adopt(s, id, "0751");
    name_it(&nm, e1, "e1");
    name_it(&nm, e2, "e2");
    name_it(&nm, a1, "a1");
    name_it(&nm, a2, "a2");

    /* partners added: they now see the published evaluation and the adoptions as partners
     * (the draft evaluation stays the lead's); a child's row keeps its version */
    start = case_set(s, id, "0101", "0851 1084", "Uden titel");
    FEED_AFTER("*", start, "c1.updated e1.updated a1.updated a2.updated");
    FEED_AFTER("0851", start, "c1.updated e1.updated a1.updated a2.updated");
    FEED_AFTER("1084", start, "c1.updated e1.updated a1.updated a2.updated");
    feed_text_after(s, &nm, "*", start, COI_CHANGE_EVALUATION | COI_CHANGE_ADOPTION, 1, got,
                    sizeof got);
    CHECK_STR(got, "e1.updated/2 a1.updated/1 a2.updated/1");

    /* neither lead nor partners changed (another title, the partners in another order): the
     * case's row only */
    start = case_set(s, id, "0101", "1084 0851", "Ny titel");
    FEED_AFTER("*", start, "c1.updated");

    /* archived, then a partner taken off: the children leave its view with the case */
    case_move(s, id, "archived");
    start = case_set(s, id, "0101", "1084", "Ny titel");
    FEED_AFTER("*", start, "c1.updated e1.updated a1.updated a2.updated");
    FEED_AFTER("0851", start, "c1.removed e1.removed a1.removed a2.removed");
    FEED_AFTER("1084", start, "c1.updated e1.updated a1.updated a2.updated");
    FEED_AFTER(NULL, start, "");

    /* another lead: the draft evaluation changes hands too */
    start = case_set(s, id, "0147", "1084", "Ny titel");
    FEED_AFTER("*", start, "c1.updated e1.updated e2.updated a1.updated a2.updated");
    FEED_AFTER("0101", start, "c1.removed e1.removed e2.removed a1.removed a2.removed");
    FEED_AFTER("0147", start, "c1.updated e1.updated e2.updated a1.updated a2.updated");
    FEED_AFTER("1084", start, "c1.updated e1.updated a1.updated a2.updated");

    /* each write of a batch, with the visibility as of that write */
    json_t *in[2] = {case_new("0147", NULL, "1084 0851", "Ny titel"),
                     case_new("0147", NULL, "1084 0851", "Batch")};
    struct coi_case_write ops[2] = {op_update(id, in[0], -1), op_update(id, in[1], -1)};
    CHECK_INT(s->change_head(s, &start), COI_OK);
    CHECK_INT(s->case_write_batch(s, ops, 2, &TEST_ACTOR), COI_OK);
    CHECK_OP(ops[0], COI_OK, NULL);
    CHECK_OP(ops[1], COI_OK, NULL);
    FEED_AFTER("*", start, "c1.updated e1.updated a1.updated a2.updated c1.updated");
    FEED_AFTER("0851", start, "c1.updated e1.updated a1.updated a2.updated c1.updated");
    for (int i = 0; i < 2; i++) {
        json_decref(ops[i].out);
        json_decref(in[i]);
    }
    json_decref(e1);
    json_decref(e2);
    json_decref(a1);
    json_decref(a2);
out:
    json_decref(c);
    json_decref(ein);
}

STORAGE_TEST(storage_case_write_batch_keeps_the_good_writes_and_nothing_of_the_bad)
{
    struct names nm = {0};
    json_t *xin = case_new("0101", "bx", NULL, "X"), *yin = case_new("0101", "by", NULL, "Y");
    json_t *x = case_create_ok(s, xin), *y = case_create_ok(s, yin), *got = NULL;
    json_t *in[11];
    NEEDS(case_write_batch);
    NEEDS(change_list);

    name_it(&nm, x, "x");
    name_it(&nm, y, "y");
    if (x == NULL || y == NULL)
        goto out;
    size_t before = case_count(s);
    in[0] = case_new("0101", "b-1", NULL, "Ny");
    in[1] = case_new("0101", "b-2", "9999", "Ukendt partner");
    in[2] = case_new("0101", "bx", NULL, "X forkert version");
    in[3] = case_new("0101", "by", NULL, "Y 2");
    in[4] = case_new("0101", "bx", NULL, "Dublet af X");
    in[5] = case_new("0101", "b-1", NULL, "Dublet i samme batch");
    in[6] = case_new("0101", "by", "0851", "Y 3");
    in[7] = case_new("0101", "b-7", NULL, "Findes ikke");
    in[8] = case_new("9998", "b-8", NULL, "Ukendt leder");
    in[9] = case_new("0101", "b-9", NULL, "Ukendt inspiration");
    json_object_set_new(in[9], "inspired_by_case_id", json_string(NO_CASE));
    in[10] = case_new("0101", "b-10", "0851 1084", "Ny med partnere");
    struct coi_case_write ops[11] = {
        op_create(in[0]),
        op_create(in[1]),
        op_update(field(x, "id"), in[2], 5),
        op_update(field(y, "id"), in[3], 1),
        op_create(in[4]),
        op_create(in[5]),
        op_update(field(y, "id"), in[6], 2),
        op_update(NO_CASE, in[7], -1),
        op_create(in[8]),
        op_create(in[9]),
        op_create(in[10]),
    };
    CHECK_INT(s->case_write_batch(s, ops, 11, &TEST_ACTOR), COI_OK);
    CHECK_OP(ops[0], COI_OK, NULL);
    CHECK_OP(ops[1], COI_EINVALID, "partner_organisation_codes");
    CHECK_OP(ops[2], COI_ECONFLICT, NULL);
    CHECK_OP(ops[3], COI_OK, NULL);
    CHECK_OP(ops[4], COI_EEXISTS, "external_id");
    CHECK_OP(ops[5], COI_EEXISTS, "external_id");
    CHECK_OP(ops[6], COI_OK, NULL);
    CHECK_OP(ops[7], COI_ENOTFOUND, NULL);
    CHECK_OP(ops[8], COI_EINVALID, "organisation_code");
    CHECK_OP(ops[9], COI_EINVALID, "inspired_by_case_id");
    CHECK_OP(ops[10], COI_OK, NULL);

    /* each record is the case as its write left it, and the last is what case_get reads */
    CHECK_INT(case_count(s), before + 2);
    static const int last[] = {0, 6, 10};
    for (int i = 0; i < 3; i++) {
        CHECK_INT(s->case_get(s, &got, field(ops[last[i]].out, "id")), COI_OK);
        CHECK(json_equal(got, ops[last[i]].out));
        json_decref(got);
        got = NULL;
    }
    CHECK_STR(field(ops[0].out, "external_id"), "b-1");
    CHECK_STR(field(ops[0].out, "status"), "draft");
    CHECK_INT(version_of(ops[0].out), 1);
    CHECK_INT(version_of(ops[3].out), 2);
    CHECK_STR(field(ops[3].out, "title"), "Y 2");
    CHECK_INT(json_array_size(json_object_get(ops[3].out, "partner_organisation_codes")), 0);
    CHECK_INT(version_of(ops[6].out), 3);
    CHECK_STR(field(ops[6].out, "title"), "Y 3");
    char text[256];
    join_strings(text, sizeof text, json_object_get(ops[10].out, "government_levels"));
    CHECK_STR(text, "municipal regional");
    join_strings(text, sizeof text, json_object_get(ops[10].out, "regions_reached"));
    CHECK_STR(text, "1081 1084");
    join_strings(text, sizeof text, json_object_get(ops[10].out, "partner_organisation_codes"));
    CHECK_STR(text, "0851 1084");
    json_t *h = history_of(s, field(y, "id"));
    CHECK_INT(json_array_size(h), 3);
    join_key(text, sizeof text, h, "action");
    CHECK_STR(text, "updated updated created");
    json_decref(h);
    h = history_of(s, field(ops[0].out, "id"));
    CHECK_INT(json_array_size(h), 1);
    json_decref(h);
    check_case_unchanged(s, field(x, "id"), x, 1);

    /* one change row per kept write, in the batch's order */
    name_it(&nm, ops[0].out, "b0");
    name_it(&nm, ops[10].out, "b10");
    feed_text(s, &nm, "*", 0, 1, text, sizeof text);
    CHECK_STR(text, "x.created/1 y.created/1 b0.created/1 y.updated/2 y.updated/3 b10.created/1");
    FEED("*", 0, "x.created y.created b0.created y.updated y.updated b10.created");
    /* each row has the visibility its own write gave: 0851 became a partner of y in op 6 */
    FEED("0851", 0, "y.updated b10.created");
    for (int i = 0; i < 11; i++) {
        json_decref(ops[i].out);
        json_decref(in[i]);
    }
out:
    json_decref(x);
    json_decref(y);
    json_decref(xin);
    json_decref(yin);
}

STORAGE_TEST(storage_case_write_batch_a_write_the_database_refuses_fails_alone)
{
    struct names nm = {0};
    json_t *yin = case_new("0101", "by", NULL, "Y"), *y = case_create_ok(s, yin);
    json_t *good = case_new("0101", "g-1", NULL, "God"), *bad = case_new("0101", "g-2", NULL, "");
    json_t *upd = case_new("0101", "by", NULL, "Y 2");
    NEEDS(case_write_batch);
    NEEDS(change_list);

    name_it(&nm, y, "y");
    if (y == NULL)
        goto out;
    /* jsonb refuses \u0000: the database's verdict, found only when the group is written */
    json_object_set_new(bad, "title", json_stringn("a\0b", 3));
    size_t before = case_count(s);
    struct coi_case_write ops[3] = {op_create(good), op_create(bad),
                                    op_update(field(y, "id"), upd, 1)};
    CHECK_INT(s->case_write_batch(s, ops, 3, &TEST_ACTOR), COI_OK);
    CHECK_OP(ops[0], COI_OK, NULL);
    CHECK_OP(ops[1], COI_EINVALID, NULL);
    CHECK_OP(ops[2], COI_OK, NULL);
    CHECK_INT(case_count(s), before + 1);
    name_it(&nm, ops[0].out, "g1");
    FEED("*", 0, "y.created g1.created y.updated");

    /* a batch whose writes all fail runs, writes nothing and records no change */
    struct coi_case_write none[2] = {op_update(NO_CASE, upd, -1), op_create(bad)};
    CHECK_INT(s->case_write_batch(s, none, 2, &TEST_ACTOR), COI_OK);
    CHECK_OP(none[0], COI_ENOTFOUND, NULL);
    CHECK_OP(none[1], COI_EINVALID, NULL);
    CHECK_INT(s->case_write_batch(s, none, 0, &TEST_ACTOR), COI_OK);
    CHECK_INT(case_count(s), before + 1);
    FEED("*", 0, "y.created g1.created y.updated");
    for (int i = 0; i < 3; i++)
        json_decref(ops[i].out);
out:
    json_decref(y);
    json_decref(yin);
    json_decref(good);
    json_decref(bad);
    json_decref(upd);
}

STORAGE_TEST(storage_case_get_by_external_ids_maps_the_ids_found_of_one_organisation)
{
    json_t *in[3] = {case_new("0101", "k-1", NULL, "Et"), case_new("0101", "k-2", "0851", "To"),
                     case_new("0851", "k-1", NULL, "Aalborgs")};
    json_t *c[3], *got = NULL, *one = NULL;
    const char *ids[4] = {"k-1", "k-2", "k-3", "k-1"};
    NEEDS(case_get_by_external_ids);

    for (int i = 0; i < 3; i++)
        c[i] = case_create_ok(s, in[i]);
    CHECK_INT(s->case_get_by_external_ids(s, &got, "0101", ids, 4), COI_OK);
    CHECK_INT(json_object_size(got), 2);
    CHECK(json_equal(json_object_get(got, "k-1"), c[0]));
    CHECK(json_equal(json_object_get(got, "k-2"), c[1]));
    json_decref(got);
    got = NULL;
    CHECK_INT(s->case_get_by_external_ids(s, &got, "0851", ids, 3), COI_OK);
    CHECK_INT(json_object_size(got), 1);
    CHECK(json_equal(json_object_get(got, "k-1"), c[2]));
    json_decref(got);
    got = NULL;
    CHECK_INT(s->case_get_by_external_ids(s, &got, "0101", ids, 0), COI_OK);
    CHECK(json_is_object(got) && json_object_size(got) == 0);
    json_decref(got);
    CHECK_INT(s->case_get_by_external_id(s, &one, "0101", "k-3"), COI_ENOTFOUND);
    for (int i = 0; i < 3; i++) {
        json_decref(c[i]);
        json_decref(in[i]);
    }
}

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A case as a partner system sends it: every kind of content field, a few hundred words. */
static json_t *bench_case(int n)
{
    char ext[32], title[64];
    snprintf(ext, sizeof ext, "bench-%d", n);
    snprintf(title, sizeof title, "Velf\xc3\xa6rdsteknologi i hjemmeplejen %d", n);
    json_t *c = case_new("0101", ext, n % 3 ? "0851" : NULL, title);
    json_object_set_new(c, "problem",
                        json_string("Borgere i hjemmeplejen venter l\xc3\xa6nge p\xc3\xa5 "
                                    "hj\xc3\xa6lp, og medarbejderne bruger tid p\xc3\xa5 "
                                    "k\xc3\xb8rsel og dokumentation frem for omsorg."));
    json_object_set_new(c, "solution",
                        json_string("Sensorer og sk\xc3\xa6rmbes\xc3\xb8g erstatter "
                                    "en del af de fysiske bes\xc3\xb8g; ruterne "
                                    "planl\xc3\xa6gges dagligt ud fra behov."));
    json_object_set_new(c, "sector", json_string("elderly_care"));
    json_object_set_new(c, "innovation_types", json_pack("[s, s]", "technology", "process"));
    json_object_set_new(c, "lessons_learned", json_string("Inddrag medarbejderne fra start."));
    return c;
}

/* Not a check: prints what a chunk of writes costs, for the batch route's budget. */
STORAGE_TEST(storage_case_write_batch_timing_of_chunks_of_100)
{
    enum { CHUNK = 100, CHUNKS = 5 };
    json_t *in[CHUNK], *created[CHUNK];
    struct coi_case_write ops[CHUNK];
    double create = 0, update = 0, best = 1e9, t0, t;
    NEEDS(case_write_batch);

    for (int k = 0; k < CHUNKS; k++) {
        for (int i = 0; i < CHUNK; i++) {
            in[i] = bench_case(k * CHUNK + i);
            ops[i] = op_create(in[i]);
        }
        t0 = seconds_now();
        CHECK_INT(s->case_write_batch(s, ops, CHUNK, &TEST_ACTOR), COI_OK);
        t = seconds_now() - t0;
        create += t;
        best = t < best ? t : best;
        for (int i = 0; i < CHUNK; i++) {
            CHECK_INT(ops[i].rc, COI_OK);
            created[i] = ops[i].out;
            json_object_set_new(in[i], "title", json_string("Opdateret"));
            ops[i] = op_update(created[i] != NULL ? field(created[i], "id") : NO_CASE, in[i], 1);
        }
        t0 = seconds_now();
        CHECK_INT(s->case_write_batch(s, ops, CHUNK, &TEST_ACTOR), COI_OK);
        update += seconds_now() - t0;
        for (int i = 0; i < CHUNK; i++) {
            CHECK_INT(ops[i].rc, COI_OK);
            json_decref(ops[i].out);
            json_decref(created[i]);
            json_decref(in[i]);
        }
    }
    /* the same cases one call each, for comparison */
    t0 = seconds_now();
    for (int i = 0; i < CHUNK; i++) {
        json_t *c = bench_case(CHUNKS * CHUNK + i), *out = NULL;
        CHECK_INT(s->case_create(s, &out, c, &TEST_ACTOR, NULL), COI_OK);
        json_decref(out);
        json_decref(c);
    }
    t = seconds_now() - t0;
    printf("    [%s] case_write_batch, %d chunks of %d: create %.3f ms per case (best chunk"
           " %.3f), update %.3f ms per case; case_create one by one %.3f ms per case\n",
           s->backend, CHUNKS, CHUNK, 1000 * create / (CHUNKS * CHUNK), 1000 * best / CHUNK,
           1000 * update / (CHUNKS * CHUNK), 1000 * t / CHUNK);
}

/* ---- audit log and idempotency keys ------------------------------------------------------ */

STORAGE_TEST(storage_audit_list_keyset_pages_within_a_filter)
{
    struct coi_audit_entry e = {.request_id = "r",
                                .sub = "partner-1",
                                .role = "partner",
                                .org = "0851",
                                .method = "POST",
                                .path = "/v1/x",
                                .status = 201,
                                .outcome = "succeeded",
                                .object_type = "case"};
    char ids[10][16], got[256];
    NEEDS(audit_append);
    NEEDS(audit_list);

    /* ten entries: even ones about object o-even by partner-1, odd ones by someone else */
    for (int i = 0; i < 10; i++) {
        snprintf(ids[i], sizeof ids[i], "r%d", i);
        e.request_id = ids[i];
        e.sub = i % 2 ? "other" : "partner-1";
        e.object_id = i % 2 ? "o-odd" : "o-even";
        e.outcome = i == 4 ? "refused" : "succeeded";
        e.status = i == 4 ? 403 : 201;
        CHECK_INT(s->audit_append(s, &e), COI_OK);
    }
    struct coi_audit_query q = {.sub = "partner-1", .object_id = "o-even", .limit = 2};
    json_t *all = json_array(), *page = NULL;
    for (int round = 0; round < 10; round++) {
        CHECK_INT(s->audit_list(s, &page, &q), COI_OK);
        CHECK((int)json_array_size(page) <= 2);
        json_array_extend(all, page);
        size_t n = json_array_size(page);
        if (n > 0)
            q.before_seq = json_integer_value(json_object_get(json_array_get(page, n - 1), "seq"));
        json_decref(page);
        page = NULL;
        if (n < 2)
            break;
    }
    join_key(got, sizeof got, all, "request_id");
    CHECK_STR(got, "r8 r6 r4 r2 r0");
    json_t *actor = json_object_get(json_array_get(all, 2), "actor");
    CHECK_INT(json_object_size(actor), 3); /* sub, role, org: no party */
    CHECK_STR(field(actor, "org"), "0851");
    CHECK_STR(field(json_array_get(all, 2), "outcome"), "refused");
    json_decref(all);

    q = (struct coi_audit_query){.outcome = "refused", .limit = 10};
    CHECK_INT(s->audit_list(s, &page, &q), COI_OK);
    join_key(got, sizeof got, page, "request_id");
    CHECK_STR(got, "r4");
    json_decref(page);

    e.outcome = "unheard-of";
    CHECK_INT(s->audit_append(s, &e), COI_EINVALID);
}

STORAGE_TEST(storage_idempotency_replay_other_hash_ttl_zero_and_release)
{
    json_t *r = NULL;
    NEEDS(idempotency_claim);

    CHECK_INT(s->idempotency_claim(s, &r, "alice", "k", "h1", 3600, 60), COI_OK);
    CHECK_INT(s->idempotency_complete(s, "alice", "k", 201, NULL, "{\"id\":\"x\"}"), COI_OK);
    /* a completion is stored once: the record is no longer in progress */
    CHECK_INT(s->idempotency_complete(s, "alice", "k", 500, NULL, NULL), COI_ENOTFOUND);
    CHECK_INT(s->idempotency_claim(s, &r, "alice", "k", "h2", 3600, 60), COI_EEXISTS);
    CHECK_STR(field(r, "request_hash"), "h1");
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 201);
    CHECK_STR(field(r, "body"), "{\"id\":\"x\"}");
    json_decref(r);
    r = NULL;
    sleep_ms(20);
    CHECK_INT(s->idempotency_claim(s, &r, "alice", "k", "h2", 0, 60), COI_OK);
    CHECK(r == NULL);
    CHECK_INT(s->idempotency_claim(s, &r, "alice", "k", "h1", 3600, 60), COI_EEXISTS);
    CHECK_STR(field(r, "request_hash"), "h2");
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 0);
    json_decref(r);

    /* released: the next request with the key runs again */
    CHECK_INT(s->idempotency_release(s, "alice", "k"), COI_OK);
    r = NULL;
    CHECK_INT(s->idempotency_claim(s, &r, "alice", "k", "h3", 3600, 60), COI_OK);
    CHECK(r == NULL);

    /* nothing to complete or release for a key never claimed */
    CHECK_INT(s->idempotency_complete(s, "alice", "never", 200, NULL, NULL), COI_ENOTFOUND);
    CHECK_INT(s->idempotency_release(s, "alice", "never"), COI_OK);
}
