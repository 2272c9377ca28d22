/* Storage conformance, run on every backend: the audit log and idempotency keys. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "storage/storage.h"
#include "tests/unit/test.h"
#include "tests/unit/storage_helpers.h"

/* ---- audit log -------------------------------------------------------------------------- */

/* The entries the audit tests write, oldest first. */
static const struct coi_audit_entry ENTRIES[] = {
    {"req-1", "alice", "editor", "kl", NULL, "POST", "/v1/organisations/0101/cases", 201,
     "succeeded", "case", "case-1", NULL},
    {"req-2", "bob", "partner", NULL, "0851", "PUT", "/v1/organisations/0101/cases/x", 403,
     "refused", "case", "case-1", "only the lead organisation may edit the case"},
    {"req-3", "alice", "editor", "kl", NULL, "POST", "/v1/cases/case-2/evaluations", 422, "failed",
     "evaluation", NULL, "title is required"},
    {"req-4", NULL, NULL, NULL, NULL, "DELETE", "/v1/adoptions/a-1", 401, "refused", NULL, NULL,
     NULL},
    {"req-5", "alice", "admin", NULL, NULL, "POST", "/v1/cases/case-1:transition", 200, "succeeded",
     "case", "case-1", NULL},
};
#define ENTRY_COUNT (sizeof ENTRIES / sizeof ENTRIES[0])

static void append_all(struct coi_storage *s)
{
    for (size_t i = 0; i < ENTRY_COUNT; i++)
        CHECK_INT(s->audit_append(s, &ENTRIES[i]), COI_OK);
}

/* One page of audit_list; an empty array after recording a failure. */
static json_t *audit_page(struct coi_storage *s, const struct coi_audit_query *q)
{
    json_t *out = NULL;
    int rc = s->audit_list(s, &out, q);
    if (rc != COI_OK) {
        test_fail(__FILE__, __LINE__, "audit_list: %s (%s)", coi_error_name(rc),
                  coi_error_detail());
        return json_array();
    }
    CHECK((int)json_array_size(out) <= q->limit);
    return out;
}

/* The request ids of `rows` joined with spaces. */
static void request_ids(char *out, size_t size, const json_t *rows)
{
    join_key(out, size, rows, "request_id");
}

/* The request ids `filter` lists, read two at a time with before_seq; checks that seq falls
 * strictly across the pages. */
static void audit_ids_paged(struct coi_storage *s, const struct coi_audit_query *filter, char *out,
                            size_t size)
{
    struct coi_audit_query q = *filter;
    json_t *all = json_array(), *page;
    q.limit = 2;
    q.before_seq = 0;
    for (int round = 0; round < 10; round++) {
        page = audit_page(s, &q);
        size_t n = json_array_size(page);
        for (size_t i = 0; i < n; i++) {
            json_int_t seq = json_integer_value(json_object_get(json_array_get(page, i), "seq"));
            CHECK(seq > 0);
            CHECK(q.before_seq == 0 || seq < q.before_seq);
            q.before_seq = seq;
        }
        json_array_extend(all, page);
        json_decref(page);
        if (n < 2)
            break;
    }
    request_ids(out, size, all);
    json_decref(all);
}

STORAGE_TEST(storage_audit_list_returns_entries_newest_first_as_written)
{
    struct coi_audit_query q = {.limit = 100};
    char ids[256];

    append_all(s);
    json_t *all = audit_page(s, &q);
    request_ids(ids, sizeof ids, all);
    CHECK_STR(ids, "req-5 req-4 req-3 req-2 req-1");

    json_t *bob = json_array_get(all, 3);
    CHECK(json_is_integer(json_object_get(bob, "seq")));
    CHECK(is_rfc3339(field(bob, "at")));
    CHECK_STR(field(bob, "method"), "PUT");
    CHECK_STR(field(bob, "path"), "/v1/organisations/0101/cases/x");
    CHECK_INT(json_integer_value(json_object_get(bob, "status")), 403);
    CHECK_STR(field(bob, "outcome"), "refused");
    CHECK_STR(field(bob, "object_type"), "case");
    CHECK_STR(field(bob, "object_id"), "case-1");
    CHECK_STR(field(bob, "detail"), "only the lead organisation may edit the case");
    json_t *actor = json_object_get(bob, "actor");
    CHECK_INT(json_object_size(actor), 3); /* no party: the key is left out */
    CHECK_STR(field(actor, "sub"), "bob");
    CHECK_STR(field(actor, "role"), "partner");
    CHECK_STR(field(actor, "org"), "0851");
    CHECK(json_object_get(actor, "party") == NULL);

    /* an untrusted token: no actor keys at all, and the unknown object as nulls */
    json_t *anonymous = json_array_get(all, 1);
    CHECK(json_is_object(json_object_get(anonymous, "actor")));
    CHECK_INT(json_object_size(json_object_get(anonymous, "actor")), 0);
    CHECK(json_is_null(json_object_get(anonymous, "object_type")));
    CHECK(json_is_null(json_object_get(anonymous, "object_id")));
    CHECK(json_is_null(json_object_get(anonymous, "detail")));
    CHECK_INT(json_object_size(anonymous), 11);

    json_t *first = json_array_get(all, 4);
    CHECK_STR(field(json_object_get(first, "actor"), "party"), "kl");
    CHECK(json_integer_value(json_object_get(json_array_get(all, 0), "seq")) >
          json_integer_value(json_object_get(first, "seq")));
    json_decref(all);
}

STORAGE_TEST(storage_audit_list_filters_by_sub_object_and_outcome)
{
    static const struct {
        struct coi_audit_query q;
        const char *expected;
    } cases[] = {
        {{.sub = "alice"}, "req-5 req-3 req-1"},
        {{.sub = "bob"}, "req-2"},
        {{.sub = "nobody"}, ""},
        {{.object_id = "case-1"}, "req-5 req-2 req-1"},
        {{.outcome = "refused"}, "req-4 req-2"},
        {{.outcome = "failed"}, "req-3"},
        {{.sub = "alice", .outcome = "succeeded"}, "req-5 req-1"},
        {{.sub = "alice", .object_id = "case-1", .outcome = "succeeded"}, "req-5 req-1"},
        {{.object_id = "case-1", .outcome = "refused"}, "req-2"},
    };
    char got[256];

    append_all(s);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct coi_audit_query q = cases[i].q;
        q.limit = 100;
        json_t *page = audit_page(s, &q);
        request_ids(got, sizeof got, page);
        CHECK_STR(got, cases[i].expected);
        json_decref(page);
    }
}

STORAGE_TEST(storage_audit_list_pages_with_before_seq)
{
    char got[256];

    append_all(s);
    audit_ids_paged(s, &(struct coi_audit_query){0}, got, sizeof got);
    CHECK_STR(got, "req-5 req-4 req-3 req-2 req-1");
    audit_ids_paged(s, &(struct coi_audit_query){.sub = "alice"}, got, sizeof got);
    CHECK_STR(got, "req-5 req-3 req-1");
    audit_ids_paged(s, &(struct coi_audit_query){.object_id = "case-1"}, got, sizeof got);
    CHECK_STR(got, "req-5 req-2 req-1");

    /* before_seq is exclusive and works with a filter */
    struct coi_audit_query q = {.limit = 100};
    json_t *all = audit_page(s, &q);
    q.before_seq = json_integer_value(json_object_get(json_array_get(all, 1), "seq"));
    q.outcome = "refused";
    json_t *page = audit_page(s, &q);
    request_ids(got, sizeof got, page);
    CHECK_STR(got, "req-2");
    json_decref(page);
    json_decref(all);
}

STORAGE_TEST(storage_audit_append_refuses_text_that_is_not_utf8)
{
    struct coi_audit_entry bad = ENTRIES[0];
    struct coi_audit_query q = {.limit = 100};
    char ids[256];

    bad.request_id = "req-bad";
    bad.path = "/v1/organisations/\xff\xfe/cases";
    CHECK_INT(s->audit_append(s, &bad), COI_EINVALID);
    append_all(s);
    /* the log still lists, without the refused entry */
    json_t *all = audit_page(s, &q);
    request_ids(ids, sizeof ids, all);
    CHECK_STR(ids, "req-5 req-4 req-3 req-2 req-1");
    json_decref(all);
}

/* ---- idempotency keys ------------------------------------------------------------------- */

#define DAY (24 * 3600)
#define STALE 60

/* Claims (sub, key) with `hash`, expecting `rc`; the record claim returned (NULL for COI_OK;
 * caller decrefs). */
static json_t *claim_expect(struct coi_storage *s, const char *sub, const char *key,
                            const char *hash, int ttl, int stale, int rc, int line)
{
    json_t *out = NULL;
    int got = s->idempotency_claim(s, &out, sub, key, hash, ttl, stale);
    if (got != rc)
        test_fail(__FILE__, line, "claim %s/%s is %s, expected %s (%s)", sub, key,
                  coi_error_name(got), coi_error_name(rc), coi_error_detail());
    if (rc == COI_OK && out != NULL)
        test_fail(__FILE__, line, "a successful claim returned a record");
    if (rc == COI_EEXISTS && !json_is_object(out))
        test_fail(__FILE__, line, "a taken key returned no record");
    return out;
}
#define CLAIM(sub, key, hash, rc) claim_expect(s, sub, key, hash, DAY, STALE, rc, __LINE__)

static void check_in_progress(const json_t *r, const char *hash)
{
    CHECK_STR(field(r, "request_hash"), hash);
    CHECK(json_is_integer(json_object_get(r, "status")));
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 0);
    CHECK(json_is_null(json_object_get(r, "headers")));
    CHECK(json_is_null(json_object_get(r, "body")));
}

STORAGE_TEST(storage_idempotency_claim_complete_and_replay)
{
    json_t *r, *headers = json_pack("{s:s, s:s, s:s}", "Content-Type", "application/json",
                                    "Location", "/v1/cases/abc", "ETag", "\"1\"");
    static const char body[] = "{\"id\":\"abc\",\"title\":\"K\xc3\xb8kken\"}";

    json_decref(CLAIM("alice", "k-1", "hash-a", COI_OK));

    /* while the first request runs, a retry learns that it is in progress */
    r = CLAIM("alice", "k-1", "hash-a", COI_EEXISTS);
    check_in_progress(r, "hash-a");
    json_decref(r);

    CHECK_INT(s->idempotency_complete(s, "alice", "k-1", 201, headers, body), COI_OK);
    r = CLAIM("alice", "k-1", "hash-a", COI_EEXISTS);
    CHECK_STR(field(r, "request_hash"), "hash-a");
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 201);
    CHECK(json_equal(json_object_get(r, "headers"), headers));
    CHECK_STR(field(r, "body"), body);
    CHECK_INT(json_object_size(r), 4);
    json_decref(r);

    /* another request under the same key gets the stored record: the API compares hashes */
    r = CLAIM("alice", "k-1", "hash-b", COI_EEXISTS);
    CHECK_STR(field(r, "request_hash"), "hash-a");
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 201);
    json_decref(r);

    /* a response without headers or body is stored as such */
    json_decref(CLAIM("alice", "k-2", "hash-c", COI_OK));
    CHECK_INT(s->idempotency_complete(s, "alice", "k-2", 204, NULL, NULL), COI_OK);
    r = CLAIM("alice", "k-2", "hash-c", COI_EEXISTS);
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 204);
    CHECK(json_is_null(json_object_get(r, "headers")));
    CHECK(json_is_null(json_object_get(r, "body")));
    json_decref(r);
    json_decref(headers);
}

STORAGE_TEST(storage_idempotency_release_forgets_the_key)
{
    json_t *r;

    json_decref(CLAIM("alice", "k-1", "hash-a", COI_OK));
    CHECK_INT(s->idempotency_release(s, "alice", "k-1"), COI_OK);
    /* the next request with the key runs again, with its own hash */
    json_decref(CLAIM("alice", "k-1", "hash-b", COI_OK));
    r = CLAIM("alice", "k-1", "hash-a", COI_EEXISTS);
    check_in_progress(r, "hash-b");
    json_decref(r);

    /* a completed record can be released too */
    CHECK_INT(s->idempotency_complete(s, "alice", "k-1", 200, NULL, "{}"), COI_OK);
    CHECK_INT(s->idempotency_release(s, "alice", "k-1"), COI_OK);
    json_decref(CLAIM("alice", "k-1", "hash-c", COI_OK));
}

STORAGE_TEST(storage_idempotency_records_expire_and_stale_claims_are_forgotten)
{
    json_t *r;

    json_decref(CLAIM("alice", "done", "hash-a", COI_OK));
    CHECK_INT(s->idempotency_complete(s, "alice", "done", 201, NULL, "{}"), COI_OK);
    json_decref(CLAIM("alice", "done-2", "hash-a", COI_OK));
    CHECK_INT(s->idempotency_complete(s, "alice", "done-2", 201, NULL, "{}"), COI_OK);
    json_decref(CLAIM("alice", "running", "hash-a", COI_OK));
    json_decref(CLAIM("alice", "running-2", "hash-a", COI_OK));
    sleep_ms(1100);

    /* within the ttl, a completed record is kept however old its claim */
    r = claim_expect(s, "alice", "done-2", "hash-b", DAY, 1, COI_EEXISTS, __LINE__);
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 201);
    json_decref(r);

    /* still in progress after stale_seconds: its request died, the key is claimed afresh */
    json_decref(claim_expect(s, "alice", "running", "hash-b", DAY, 1, COI_OK, __LINE__));
    r = CLAIM("alice", "running", "hash-a", COI_EEXISTS);
    check_in_progress(r, "hash-b");
    json_decref(r);
    /* in progress within stale_seconds: still in progress */
    r = CLAIM("alice", "running-2", "hash-b", COI_EEXISTS);
    check_in_progress(r, "hash-a");
    json_decref(r);

    /* older than the ttl: forgotten, the key is claimed afresh (last: a claim may purge
     * every record older than its ttl) */
    json_decref(claim_expect(s, "alice", "done", "hash-b", 1, STALE, COI_OK, __LINE__));
    r = CLAIM("alice", "done", "hash-a", COI_EEXISTS);
    check_in_progress(r, "hash-b");
    json_decref(r);
}

STORAGE_TEST(storage_idempotency_keys_are_scoped_by_sub)
{
    json_t *r, *headers = json_pack("{s:s}", "Content-Type", "application/json");

    json_decref(CLAIM("alice", "same-key", "hash-a", COI_OK));
    json_decref(CLAIM("bob", "same-key", "hash-b", COI_OK));
    CHECK_INT(s->idempotency_complete(s, "alice", "same-key", 201, headers, "{\"by\":\"alice\"}"),
              COI_OK);

    r = CLAIM("bob", "same-key", "hash-b", COI_EEXISTS);
    check_in_progress(r, "hash-b");
    json_decref(r);
    CHECK_INT(s->idempotency_release(s, "bob", "same-key"), COI_OK);

    r = CLAIM("alice", "same-key", "hash-a", COI_EEXISTS);
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 201);
    CHECK_STR(field(r, "body"), "{\"by\":\"alice\"}");
    json_decref(r);
    json_decref(CLAIM("bob", "same-key", "hash-c", COI_OK));
    json_decref(headers);
}

struct claim_race {
    struct coi_storage *s;
    int rc;
};

static void *claim_thread(void *arg)
{
    struct claim_race *race = arg;
    json_t *out = NULL;
    race->rc = race->s->idempotency_claim(race->s, &out, "alice", "raced", "hash-a", DAY, STALE);
    json_decref(out);
    return NULL;
}

STORAGE_TEST(storage_idempotency_concurrent_claims_let_one_request_run)
{
    enum { THREADS = 4, ROUNDS = 5 };
    for (int round = 0; round < ROUNDS; round++) {
        struct claim_race races[THREADS];
        pthread_t threads[THREADS];
        int ok = 0, taken = 0;
        for (int i = 0; i < THREADS; i++) {
            races[i] = (struct claim_race){s, 1};
            CHECK_INT(pthread_create(&threads[i], NULL, claim_thread, &races[i]), 0);
        }
        for (int i = 0; i < THREADS; i++) {
            pthread_join(threads[i], NULL);
            ok += races[i].rc == COI_OK;
            taken += races[i].rc == COI_EEXISTS;
        }
        CHECK_INT(ok, 1);
        CHECK_INT(taken, THREADS - 1);
        CHECK_INT(s->idempotency_release(s, "alice", "raced"), COI_OK);
    }
}
