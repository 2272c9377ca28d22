/* Finding cases: GET /v1/cases (text search, filters, sorts, keyset pages, counts) and
 * GET /v1/cases/facets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/cache.h"
#include "api/cache_sync.h"
#include "api/case_fields.h"
#include "api/cases.h"
#include "api/cursor.h"
#include "api/problem.h"
#include "api/routes.h"
#include "api/validate.h"
#include "storage/search.h"

#define MAX_VALUES 32 /* per list filter */

static const char *const statuses[] = {
    "draft", "submitted", "in_review", "published", "changes_requested", "archived", NULL};
static const char *const levels[] = {"municipal", "regional", "state", NULL};

/* The list filters: query name, allowed values (NULL: organisation codes, or free text for
 * tags), and where they go in the storage query. */
struct list_filter {
    const char *name;
    const char *const *allowed;
    size_t offset; /* of the struct coi_strings in struct coi_case_query */
};

#define AT(field) offsetof(struct coi_case_query, field)
static const struct list_filter list_filters[] = {
    {"status", statuses, AT(statuses)},
    {"organisation_code", NULL, AT(organisation_codes)},
    {"region_code", NULL, AT(region_codes)},
    {"government_level", levels, AT(government_levels)},
    {"innovation_type", CASE_INNOVATION_TYPES, AT(innovation_types)},
    {"sector", CASE_SECTORS, AT(sectors)},
    {"implementation_status", CASE_IMPLEMENTATION_STATUSES, AT(implementation_statuses)},
    {"effect_type", CASE_EFFECT_TYPES, AT(effect_types)},
    {"spread_potential_rating", CASE_RATINGS, AT(spread_potential_ratings)},
    {"origin", CASE_ORIGINS, AT(origins)},
    {"tag", NULL, AT(tags)},
};
#define LIST_FILTERS (sizeof list_filters / sizeof list_filters[0])

static const struct {
    const char *name;
    enum coi_case_sort sort;
} sorts[] = {
    {"-updated_at", COI_SORT_UPDATED_DESC},
    {"updated_at", COI_SORT_UPDATED_ASC},
    {"title", COI_SORT_TITLE},
    {"-adoption_count", COI_SORT_ADOPTIONS_DESC},
    {"-published_at", COI_SORT_PUBLISHED_DESC},
    {"relevance", COI_SORT_RELEVANCE},
};

/* Everything a list or facets request asked for, owning what the storage query borrows. */
struct case_request {
    struct coi_case_query q;
    const char *values[LIST_FILTERS][MAX_VALUES];
    char *copies[API_MAX_QUERY_PARAMS]; /* the comma-split copies the values point into */
    size_t n_copies;
    char updated_since[32];
    struct coi_search search;
    int has_search;
};

static void request_free(struct case_request *r)
{
    for (size_t i = 0; i < r->n_copies; i++)
        free(r->copies[i]);
    if (r->has_search)
        storage_search_free(&r->search);
}

/* Normalises an ISO 8601 date or date-time (Z or ±hh:mm) to UTC "YYYY-MM-DDTHH:MM:SS.mmmZ",
 * the form timestamps are stored and compared in. 0, or -1 when it is not one. */
static int normalise_timestamp(char out[32], const char *in)
{
    struct tm tm = {0};
    int ms = 0, off = 0;
    const char *p;
    if (validate_is_date(in)) {
        snprintf(out, 32, "%.10sT00:00:00.000Z", in);
        return 0;
    }
    if (strlen(in) < 20 ||
        !validate_is_date(
            (char[11]){in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8], in[9], 0}) ||
        (in[10] != 'T' && in[10] != 't'))
        return -1;
    /* Exactly HH:MM:SS: strptime alone would take " 1:00:00". */
    for (int i = 11; i < 19; i++)
        if ((i == 13 || i == 16) ? in[i] != ':' : (in[i] < '0' || in[i] > '9'))
            return -1;
    p = strptime(in + 11, "%H:%M:%S", &tm);
    if (p == NULL)
        return -1;
    if (*p == '.') {
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':' &&
               strspn(p + 1, "0123456789") == 2 && strspn(p + 4, "0123456789") == 2) {
        int h = atoi(p + 1), m = atoi(p + 4);
        if (h > 23 || m > 59)
            return -1;
        off = (*p == '+' ? 1 : -1) * (h * 60 + m) * 60;
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    tm.tm_year = atoi(in) - 1900;
    tm.tm_mon = atoi(in + 5) - 1;
    tm.tm_mday = atoi(in + 8);
    time_t t = timegm(&tm) - off;
    struct tm utc;
    gmtime_r(&t, &utc);
    if (utc.tm_year < 0 || utc.tm_year > 8000)
        return -1;
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &utc);
    snprintf(out + 19, 13, ".%03dZ", ms % 1000);
    return 0;
}

/* Reads the filters shared by lists and facets into `r`; errors go to `errors`. Parameters
 * named in `extra` are left to the caller; any other unknown parameter is an error. */
static void read_filters(struct api_ctx *c, struct case_request *r, json_t *errors,
                         const char *const *extra)
{
    static const char *const singles[] = {
        "q", "has_evaluation", "min_evidence_level", "updated_since", "started_from", "started_to",
        NULL};
    for (size_t i = 0; i < c->query_count; i++) {
        const char *name = c->query[i].name, *value = c->query[i].value;
        size_t f;
        for (f = 0; f < LIST_FILTERS && strcmp(list_filters[f].name, name) != 0; f++)
            ;
        if (f < LIST_FILTERS) {
            /* A repeated parameter or a comma list: any of the values. */
            struct coi_strings *list =
                (struct coi_strings *)((char *)&r->q + list_filters[f].offset);
            char *copy = strdup(value), *save = NULL;
            size_t had = list->n;
            r->copies[r->n_copies++] = copy; /* at most one per query parameter */
            for (char *v = strtok_r(copy, ",", &save); v != NULL; v = strtok_r(NULL, ",", &save)) {
                int ok = list_filters[f].allowed    ? validate_in(v, list_filters[f].allowed)
                         : strcmp(name, "tag") == 0 ? api_utf8_length(v) <= 50
                                                    : validate_is_code(v);
                if (!ok)
                    problem_add_error(errors, name, "\"%s\" is not a known value", v);
                else if (list->n == MAX_VALUES)
                    problem_add_error(errors, name, "at most %d values", MAX_VALUES);
                else
                    r->values[f][list->n++] = v;
            }
            list->items = r->values[f];
            if (list->n == had && strspn(value, ",") == strlen(value))
                problem_add_error(errors, name, "needs a value");
            continue;
        }
        int known = validate_in(name, singles) || (extra != NULL && validate_in(name, extra));
        int repeated = 0;
        for (size_t j = 0; j < i; j++)
            repeated |= strcmp(c->query[j].name, name) == 0;
        if (!known)
            problem_add_error(errors, name, "unknown query parameter");
        else if (repeated)
            problem_add_error(errors, name, "given more than once");
    }
    const char *q = api_query(c, "q");
    if (q != NULL) {
        if (storage_search_parse(&r->search, q) != COI_OK)
            problem_add_error(errors, "q", "%s", coi_error_detail());
        else
            r->has_search = 1, r->q.search = &r->search;
    }
    const char *has = api_query(c, "has_evaluation"), *level = api_query(c, "min_evidence_level");
    if (has != NULL && strcmp(has, "true") != 0 && strcmp(has, "false") != 0)
        problem_add_error(errors, "has_evaluation", "must be true or false");
    else if (has != NULL)
        r->q.has_evaluation = strcmp(has, "true") == 0 ? 1 : 2;
    if (level != NULL && (strlen(level) != 1 || level[0] < '1' || level[0] > '5'))
        problem_add_error(errors, "min_evidence_level", "must be an integer from 1 to 5");
    else if (level != NULL)
        r->q.min_evidence_level = level[0] - '0';
    const char *since = api_query(c, "updated_since");
    if (since != NULL && normalise_timestamp(r->updated_since, since) != 0)
        problem_add_error(errors, "updated_since",
                          "must be a date (YYYY-MM-DD) or an ISO 8601 date-time with Z or an "
                          "offset");
    else if (since != NULL)
        r->q.updated_since = r->updated_since;
    const char *from = api_query(c, "started_from"), *to = api_query(c, "started_to");
    if (from != NULL && !validate_is_date(from))
        problem_add_error(errors, "started_from", "must be a date written YYYY-MM-DD");
    else
        r->q.started_from = from;
    if (to != NULL && !validate_is_date(to))
        problem_add_error(errors, "started_to", "must be a date written YYYY-MM-DD");
    else
        r->q.started_to = to;
    struct coi_evaluation_query viewer = case_viewer(c);
    r->q.see_all = viewer.see_all;
    r->q.viewer_org = viewer.viewer_org;
}

/* 1 when `t` is a stored timestamp: "YYYY-MM-DDTHH:MM:SS.mmmZ" with a real date and time. */
static int is_stored_timestamp(const char *t)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (t == NULL || strlen(t) != sizeof shape - 1)
        return 0;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? t[i] < '0' || t[i] > '9' : t[i] != shape[i])
            return 0;
    char date[11];
    memcpy(date, t, 10);
    date[10] = '\0';
    return validate_is_date(date) && atoi(t + 11) < 24 && atoi(t + 14) < 60 && atoi(t + 17) < 60;
}

/* 1 when a decoded cursor key has the shape the sort's keys have ([value, id]); a key edited
 * into another shape is refused here rather than handed to the storage. */
static int sort_key_fits(const json_t *key, enum coi_case_sort sort)
{
    json_t *value = json_array_get(key, 0), *id = json_array_get(key, 1);
    if (!json_is_array(key) || json_array_size(key) != 2 || !json_is_string(id) ||
        strlen(json_string_value(id)) != 36)
        return 0;
    switch (sort) {
    case COI_SORT_UPDATED_DESC:
    case COI_SORT_UPDATED_ASC:
        return is_stored_timestamp(json_string_value(value));
    case COI_SORT_PUBLISHED_DESC:
        return json_is_null(value) || is_stored_timestamp(json_string_value(value));
    case COI_SORT_TITLE:
        return json_is_string(value);
    case COI_SORT_ADOPTIONS_DESC:
        return json_is_integer(value) && json_integer_value(value) >= 0;
    case COI_SORT_RELEVANCE:
        return json_is_number(value) || json_is_string(value); /* the backend's own rank */
    }
    return 0;
}

/* The fingerprint that binds a cursor to everything that shapes the list: the whole query
 * string except limit and cursor, and who asks. */
static void fingerprint_of(struct api_ctx *c, char out[17])
{
    const char *parts[2 * API_MAX_QUERY_PARAMS + 2];
    size_t n = 0;
    for (size_t i = 0; i < c->query_count; i++) {
        if (strcmp(c->query[i].name, "limit") == 0 || strcmp(c->query[i].name, "cursor") == 0)
            continue;
        parts[n++] = c->query[i].name;
        parts[n++] = c->query[i].value;
    }
    parts[n++] = auth_role_name(c->who.role);
    parts[n++] = c->who.org;
    cursor_fingerprint(out, parts, n);
}

/* Lists and facets are kept in the response cache (api/cache.h) under the tag "lists", which
 * every change in the feed evicts, and for at most a second besides (a correction of an
 * organisation's region changes region filters and facets without a change in the feed).
 * The key is the route, who asks (cursors are bound to role and organisation) and the raw
 * query string, so only an answer to the very same request is reused. */
#define LIST_CACHE_TTL_MS 1000

struct list_cache {
    int on, claimed;
    uint64_t generation;
    char key[2048];
};

/* How long a request waits for another computing the same answer (cache_lookup): a crowd
 * asking for the same facets at once runs the query once. */
#define LIST_CACHE_WAIT_MS 2500

/* Answers from the cache when it holds the answer (returns 1), else prepares `lc` for
 * list_cache_send. */
static int list_cache_try(struct api_ctx *c, struct list_cache *lc)
{
    const char *query = strchr(c->req->http_url ? c->req->http_url : "", '?');
    int n;

    lc->generation = cache_generation();
    lc->on = cache_sync_active();
    lc->claimed = 0;
    if (!lc->on)
        return 0;
    n = snprintf(lc->key, sizeof lc->key, "lists|%s|%s|%s|%s", c->route->path,
                 auth_role_name(c->who.role), c->who.org, query ? query + 1 : "");
    if (n < 0 || (size_t)n >= sizeof lc->key) {
        lc->on = 0;
        return 0;
    }
    struct cache_entry *e = cache_lookup(lc->key, LIST_CACHE_WAIT_MS, &lc->claimed);
    if (e == NULL)
        return 0;
    if (e->link != NULL)
        api_set_header(c, "Link", e->link);
    api_set_header(c, "X-Cache", "hit");
    api_send_text(c, 200, e->body, e->length);
    cache_release(e);
    return 1;
}

/* Sends `page` (stolen) and keeps it in the cache when `lc` allows. */
static void list_cache_send(struct api_ctx *c, struct list_cache *lc, json_t *page)
{
    char *text = api_json_text(page);
    json_decref(page);
    if (text == NULL) {
        problem_send(c, 500, "out of memory");
        return;
    }
    if (lc->on) {
        struct cache_meta meta = {.link = u_map_get(c->res->map_header, "Link"),
                                  .ttl_ms = LIST_CACHE_TTL_MS};
        cache_put(lc->key, "lists", text, strlen(text), &meta, lc->generation);
    }
    if (lc->claimed)
        cache_unclaim(lc->key);
    lc->claimed = 0;
    api_set_header(c, "X-Cache", "miss");
    api_send_text(c, 200, text, strlen(text));
    free(text);
}

void cases_list(struct api_ctx *c)
{
    static const char *const extra[] = {"sort", "limit", "cursor", "count", "highlight", NULL};
    struct case_request r = {0};
    json_t *errors = json_array(), *after = NULL, *items = NULL;
    struct list_cache lc;
    int limit;

    if (list_cache_try(c, &lc)) {
        json_decref(errors);
        return;
    }
    read_filters(c, &r, errors, extra);
    const char *sort = api_query(c, "sort"), *count = api_query(c, "count");
    const char *highlight = api_query(c, "highlight");
    r.q.sort = r.has_search ? COI_SORT_RELEVANCE : COI_SORT_UPDATED_DESC;
    if (sort != NULL) {
        size_t i;
        for (i = 0; i < sizeof sorts / sizeof sorts[0] && strcmp(sorts[i].name, sort) != 0; i++)
            ;
        if (i == sizeof sorts / sizeof sorts[0])
            problem_add_error(errors, "sort",
                              "must be one of: relevance, -updated_at, updated_at, title, "
                              "-adoption_count, -published_at");
        else if (sorts[i].sort == COI_SORT_RELEVANCE && !r.has_search)
            problem_add_error(errors, "sort", "relevance needs a search (q)");
        else
            r.q.sort = sorts[i].sort;
    }
    if (count != NULL && strcmp(count, "exact") != 0)
        problem_add_error(errors, "count", "must be exact (or left out)");
    if (highlight != NULL && strcmp(highlight, "true") != 0 && strcmp(highlight, "false") != 0)
        problem_add_error(errors, "highlight", "must be true or false");
    r.q.highlight = highlight != NULL && strcmp(highlight, "true") == 0 && r.has_search;
    validate_limit(errors, api_query(c, "limit"), 50, 200, &limit);

    char fingerprint[17];
    fingerprint_of(c, fingerprint);
    const char *cursor = api_query(c, "cursor");
    if (cursor != NULL) {
        if (cursor_decode(&after, cursor, fingerprint) != COI_OK)
            problem_add_error(errors, "cursor", "%s", coi_error_detail());
        else if (!sort_key_fits(after, r.q.sort))
            problem_add_error(errors, "cursor", "the cursor is not one this API issued");
        else
            r.q.after = after;
    }
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the query string has errors");
        goto out;
    }
    r.q.limit = limit + 1;
    int rc = c->storage->case_list(c->storage, &items, &r.q);
    int64_t total = 0;
    if (rc == COI_OK && count != NULL)
        rc = c->storage->case_count(c->storage, &total, &r.q);
    /* The storage names the sort key it was given "after"; the client sent it as the cursor. */
    if (rc == COI_EINVALID && coi_error_field() && strcmp(coi_error_field(), "after") == 0)
        coi_error_set(rc, "cursor", "the cursor is not one this API issued");
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    char token[4096];
    const char *next =
        cursor_next_page(token, sizeof token, items, limit, "_sort_key", fingerprint);
    json_t *summaries = case_summaries(c, items);
    if (summaries == NULL)
        goto out;
    json_t *shown = json_array(), *item;
    size_t i;
    json_array_foreach(items, i, item)
    {
        const char *id = json_string_value(json_object_get(item, "id"));
        json_t *rep = case_present(item, json_object_get(summaries, id));
        if (r.q.highlight)
            json_object_set(rep, "snippet",
                            json_object_get(item, "_snippet") ? json_object_get(item, "_snippet")
                                                              : json_null());
        json_array_append_new(shown, rep);
    }
    json_decref(summaries);
    if (next != NULL)
        api_set_next_link(c, next);
    json_t *page = json_pack("{s:o, s:o}", "items", shown, "next_cursor",
                             next ? json_string(next) : json_null());
    if (count != NULL)
        json_object_set_new(page, "total", json_integer(total));
    list_cache_send(c, &lc, page);
out:
    if (lc.claimed)
        cache_unclaim(lc.key);
    request_free(&r);
    json_decref(errors);
    json_decref(after);
    json_decref(items);
}

void cases_facets(struct api_ctx *c)
{
    struct case_request r = {0};
    json_t *errors = json_array(), *facets = NULL;
    struct list_cache lc;

    if (list_cache_try(c, &lc)) {
        json_decref(errors);
        return;
    }
    read_filters(c, &r, errors, NULL);
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, json_incref(errors), "the query string has errors");
        goto out;
    }
    int rc = c->storage->case_facets(c->storage, &facets, &r.q);
    if (rc != COI_OK) {
        problem_from_error(c, rc);
        goto out;
    }
    /* The public sees only published cases: a status facet would tell it nothing. */
    if (!r.q.see_all && r.q.viewer_org == NULL)
        json_object_del(facets, "status");
    list_cache_send(c, &lc, json_incref(facets));
out:
    if (lc.claimed)
        cache_unclaim(lc.key);
    request_free(&r);
    json_decref(errors);
    json_decref(facets);
}
