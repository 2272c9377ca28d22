/* Request context helpers: headers, path and query parameters, JSON responses, ETags. */
#include "api/http.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/problem.h"
#include "storage/json_text.h"

/* How every JSON body is written (and hashed for its ETag): compact, reals to 15 digits so
 * that 0.33 is written 0.33. */
/* How reals are printed (json_text prints the rest compactly, as json_dumps would). */
#define API_REAL_FLAGS JSON_REAL_PRECISION(15)

void api_ctx_clear(struct api_ctx *c)
{
    for (size_t i = 0; i < c->path_count; i++) {
        free(c->path[i].name);
        free(c->path[i].value);
    }
    for (size_t i = 0; i < c->query_count; i++) {
        free(c->query[i].name);
        free(c->query[i].value);
    }
    c->path_count = c->query_count = 0;
    json_decref(c->body);
    c->body = NULL;
}

const char *api_header(const struct api_ctx *c, const char *name)
{
    return u_map_get_case(c->req->map_header, name);
}

void api_set_header(struct api_ctx *c, const char *name, const char *value)
{
    u_map_put(c->res->map_header, name, value);
}

const char *api_path_param(const struct api_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->path_count; i++)
        if (strcmp(c->path[i].name, name) == 0)
            return c->path[i].value;
    return NULL;
}

const char *api_query(const struct api_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->query_count; i++)
        if (strcmp(c->query[i].name, name) == 0)
            return c->query[i].value;
    return NULL;
}

int api_query_check(struct api_ctx *c, const char *const *allowed)
{
    json_t *errors = json_array();
    for (size_t i = 0; i < c->query_count; i++) {
        const char *name = c->query[i].name;
        int known = 0;
        for (const char *const *a = allowed; *a != NULL; a++)
            known |= strcmp(*a, name) == 0;
        int repeated = 0;
        for (size_t j = 0; j < i; j++)
            repeated |= strcmp(c->query[j].name, name) == 0;
        if (!known)
            problem_add_error(errors, name, "unknown query parameter");
        else if (repeated)
            problem_add_error(errors, name, "given more than once");
    }
    if (json_array_size(errors) > 0) {
        problem_send_errors(c, errors, "the query string has errors");
        return -1;
    }
    json_decref(errors);
    return 0;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

char *api_percent_decode(const char *in, size_t len, int plus)
{
    char *out = malloc(len + 1);
    size_t n = 0;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '%') {
            int hi = i + 2 < len ? hex_value(in[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            out[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus && in[i] == '+') {
            out[n++] = ' ';
        } else {
            out[n++] = in[i];
        }
    }
    out[n] = '\0';
    if (!api_utf8_valid(out, n)) {
        free(out);
        return NULL;
    }
    return out;
}

void api_percent_encode(char *buf, size_t buf_len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(buf);
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 4 < buf_len; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            buf[n++] = (char)*p;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[*p >> 4];
            buf[n++] = hex[*p & 15];
        }
    }
    buf[n] = '\0';
}

int api_parse_query(struct api_ctx *c, const char *raw_url)
{
    const char *q = strchr(raw_url, '?');
    if (q == NULL)
        return 0;
    for (const char *p = q + 1; *p != '\0';) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            size_t name_len = eq ? (size_t)(eq - p) : len;
            if (c->query_count == API_MAX_QUERY_PARAMS) {
                json_t *errors = json_array();
                problem_add_error(errors, "", "more than %d query parameters",
                                  API_MAX_QUERY_PARAMS);
                problem_send_errors(c, errors, "the query string has errors");
                return -1;
            }
            char *name = api_percent_decode(p, name_len, 1);
            char *value = eq ? api_percent_decode(eq + 1, len - name_len - 1, 1) : strdup("");
            if (name == NULL || value == NULL) {
                free(name);
                free(value);
                problem_send(c, 400, "the query string is not valid percent-encoded UTF-8");
                return -1;
            }
            c->query[c->query_count++] = (struct api_param){name, value};
        }
        p += len + (end != NULL);
    }
    return 0;
}

static void send_text(struct api_ctx *c, int status, const char *content_type, json_t *body)
{
    char *text = json_text(body, API_REAL_FLAGS, NULL);
    json_decref(body);
    if (text == NULL) {
        ulfius_set_string_body_response(c->res, 500, "");
        c->status = 500;
        return;
    }
    ulfius_set_binary_body_response(c->res, (unsigned int)status, text, strlen(text));
    free(text);
    api_set_header(c, "Content-Type", content_type);
    c->status = status;
}

void api_send_json(struct api_ctx *c, int status, json_t *body)
{
    send_text(c, status, "application/json", body);
}

void problem_send_json(struct api_ctx *c, int status, json_t *body)
{
    send_text(c, status, "application/problem+json", body);
}

void api_set_next_link(struct api_ctx *c, const char *cursor)
{
    api_set_next_link_as(c, "cursor", cursor);
}

void api_set_next_link_as(struct api_ctx *c, const char *param, const char *cursor)
{
    char link[8192] = "<"; /* the query (q up to 500 bytes, encoded) and a cursor fit */
    strncat(link, c->req->url_path, sizeof link - strlen(link) - 1);
    strncat(link, "?", sizeof link - strlen(link) - 1);
    for (size_t i = 0; i < c->query_count; i++) {
        if (strcmp(c->query[i].name, param) == 0)
            continue;
        api_percent_encode(link, sizeof link, c->query[i].name);
        strncat(link, "=", sizeof link - strlen(link) - 1);
        api_percent_encode(link, sizeof link, c->query[i].value);
        strncat(link, "&", sizeof link - strlen(link) - 1);
    }
    api_percent_encode(link, sizeof link, param);
    strncat(link, "=", sizeof link - strlen(link) - 1);
    api_percent_encode(link, sizeof link, cursor);
    strncat(link, ">; rel=\"next\"", sizeof link - strlen(link) - 1);
    api_set_header(c, "Link", link);
}

void api_send_page(struct api_ctx *c, json_t *items, const char *next_cursor)
{
    if (next_cursor != NULL)
        api_set_next_link(c, next_cursor);
    api_send_json(c, 200,
                  json_pack("{s:o, s:o}", "items", items, "next_cursor",
                            next_cursor ? json_string(next_cursor) : json_null()));
}

void api_send_empty(struct api_ctx *c, int status)
{
    c->res->status = (unsigned int)status;
    c->status = status;
}

void api_etag_of_text(char *out, size_t len, const char *text)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    snprintf(out, len, "\"%016llx\"", (unsigned long long)h);
}

void api_etag_of(char *out, size_t len, const json_t *representation)
{
    char *text = json_text(representation, API_REAL_FLAGS, NULL);
    api_etag_of_text(out, len, text);
    free(text);
}

char *api_json_text(const json_t *representation)
{
    return json_text(representation, API_REAL_FLAGS, NULL);
}

void api_send_text(struct api_ctx *c, int status, const char *text, size_t length)
{
    ulfius_set_binary_body_response(c->res, (unsigned int)status, text, length);
    api_set_header(c, "Content-Type", "application/json");
    c->status = status;
}

void api_send_text_resource(struct api_ctx *c, int status, const char *text, size_t length,
                            const char *etag)
{
    const char *header = api_header(c, "If-None-Match");
    api_set_header(c, "ETag", etag);
    if (status == 200 && header != NULL && strcmp(c->req->http_verb, "GET") == 0 &&
        api_etag_listed(header, etag)) {
        api_send_empty(c, 304);
        return;
    }
    ulfius_set_binary_body_response(c->res, (unsigned int)status, text, length);
    api_set_header(c, "Content-Type", "application/json");
    c->status = status;
}

int api_etag_listed(const char *header, const char *etag)
{
    size_t elen = strlen(etag);
    for (const char *p = header; *p != '\0';) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, elen) == 0 &&
            (p[elen] == '\0' || p[elen] == ',' || p[elen] == ' ' || p[elen] == '\t'))
            return 1;
        while (*p != '\0' && *p != ',')
            p++;
    }
    return 0;
}

void api_send_resource(struct api_ctx *c, int status, json_t *representation)
{
    char etag[24], *text = json_text(representation, API_REAL_FLAGS, NULL);
    json_decref(representation);
    if (text == NULL) {
        ulfius_set_string_body_response(c->res, 500, "");
        c->status = 500;
        return;
    }
    api_etag_of_text(etag, sizeof etag, text);
    api_set_header(c, "ETag", etag);
    ulfius_set_binary_body_response(c->res, (unsigned int)status, text, strlen(text));
    free(text);
    api_set_header(c, "Content-Type", "application/json");
    c->status = status;
}

int api_not_modified(struct api_ctx *c, const json_t *representation)
{
    const char *header = api_header(c, "If-None-Match");
    char etag[24];
    if (header == NULL || strcmp(c->req->http_verb, "GET") != 0)
        return 0;
    api_etag_of(etag, sizeof etag, representation);
    if (!api_etag_listed(header, etag))
        return 0;
    api_set_header(c, "ETag", etag);
    api_send_empty(c, 304);
    return 1;
}

int api_if_match_holds(const struct api_ctx *c, const json_t *representation)
{
    const char *match = api_header(c, "If-Match"), *none = api_header(c, "If-None-Match");
    char etag[24];
    if (match == NULL && none == NULL)
        return 1;
    api_etag_of(etag, sizeof etag, representation);
    /* On a write, If-None-Match fails when it lists the existing representation (or is "*":
     * the client meant to create, and something exists) -- RFC 9110, 13.1.2. */
    return (match == NULL || api_etag_listed(match, etag)) &&
           (none == NULL || !api_etag_listed(none, etag));
}

int64_t api_record_take_version(json_t *record)
{
    int64_t v = (int64_t)json_integer_value(json_object_get(record, "version"));
    json_object_del(record, "version");
    return v;
}

json_t *api_merge_patch(const json_t *target, const json_t *patch)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object(), *value;
    const char *key;
    json_object_foreach((json_t *)patch, key, value)
    {
        if (json_is_null(value))
            json_object_del(out, key);
        else
            json_object_set_new(out, key, api_merge_patch(json_object_get(out, key), value));
    }
    return out;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *api_changed_fields(const json_t *before, const json_t *after, const char *const *fields)
{
    const char *names[64];
    size_t n = 0;
    for (; *fields != NULL && n < 64; fields++) {
        json_t *x = json_object_get(before, *fields), *y = json_object_get(after, *fields);
        if ((x == NULL) != (y == NULL) || (x != NULL && !json_equal(x, y)))
            names[n++] = *fields;
    }
    qsort(names, n, sizeof names[0], compare_names);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, json_string(names[i]));
    return out;
}

int api_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned char b = *p;
        size_t n;
        uint32_t cp;
        if (b == 0)
            return 0;
        if (b < 0x80) {
            p++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            n = 1, cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            n = 2, cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            n = 3, cp = b & 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        /* Overlong forms, surrogates and values beyond Unicode are invalid. */
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        p += n + 1;
    }
    return 1;
}

size_t api_utf8_length(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

/* Compares the media type of a Content-Type value (before any ';', case-insensitive) with
 * `type`, and accepts only a UTF-8 charset parameter. */
int api_media_type_is(const char *header, const char *type)
{
    size_t tlen = strlen(type);
    while (*header == ' ')
        header++;
    if (strncasecmp(header, type, tlen) != 0)
        return 0;
    const char *rest = header + tlen;
    while (*rest == ' ')
        rest++;
    if (*rest == '\0')
        return 1;
    if (*rest != ';')
        return 0;
    const char *charset = strcasestr(rest, "charset=");
    return charset == NULL || strncasecmp(charset + 8, "utf-8", 5) == 0 ||
           strncasecmp(charset + 8, "\"utf-8\"", 7) == 0;
}
