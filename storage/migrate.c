/* The migration steps embedded in the binary, their checksums, and the CSV reader for seeds. */
#include "storage/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/embedded.h"

#define MAX_STEPS 256

struct backend_steps {
    int loaded;
    size_t count;
    struct coi_migration steps[MAX_STEPS];
    char tables[MAX_STEPS][64];
};

static struct backend_steps sqlite_steps, postgres_steps;

const struct coi_embedded_file *coi_embedded_find(const char *path)
{
    for (size_t i = 0; i < coi_embedded_count; i++)
        if (strcmp(coi_embedded_files[i].path, path) == 0)
            return &coi_embedded_files[i];
    return NULL;
}

static void fnv1a_hex(char out[17], const char *data, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)data[i];
        h *= 1099511628211ULL;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static int compare_steps(const void *a, const void *b)
{
    const struct coi_migration *x = a, *y = b;
    return (x->number > y->number) - (x->number < y->number);
}

/* Fills `bs` from the embedded files under migrations/<backend>/ (run once, at start-up,
 * before any thread is started: the result is read-only afterwards). */
static void load_steps(struct backend_steps *bs, const char *backend)
{
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "migrations/%s/", backend);

    bs->count = 0;
    for (size_t i = 0; i < coi_embedded_count && bs->count < MAX_STEPS; i++) {
        const struct coi_embedded_file *f = &coi_embedded_files[i];
        if (strncmp(f->path, prefix, (size_t)plen) != 0)
            continue;
        struct coi_migration *m = &bs->steps[bs->count];
        const char *name = f->path + plen;
        memset(m, 0, sizeof *m);
        m->number = atoi(name);
        m->name = name;
        m->text = f->data;
        m->length = f->length;
        fnv1a_hex(m->checksum, f->data, f->length);
        size_t len = strlen(name);
        m->is_csv = len > 4 && strcmp(name + len - 4, ".csv") == 0;
        bs->count++;
    }
    qsort(bs->steps, bs->count, sizeof bs->steps[0], compare_steps);
    /* Seeds are named NNNN_seed_<table>.csv; the table name is taken from the file name. */
    for (size_t i = 0; i < bs->count; i++) {
        struct coi_migration *m = &bs->steps[i];
        const char *t = m->is_csv ? strstr(m->name, "_seed_") : NULL;
        if (!m->is_csv)
            continue;
        if (t == NULL) {
            m->csv_table = ""; /* backends refuse a seed without a table name */
            continue;
        }
        t += 6;
        snprintf(bs->tables[i], sizeof bs->tables[0], "%.*s",
                 (int)(m->name + strlen(m->name) - 4 - t), t);
        m->csv_table = bs->tables[i];
    }
    bs->loaded = 1;
}

const struct coi_migration *storage_migrations(const char *backend, size_t *count)
{
    struct backend_steps *bs = strcmp(backend, "sqlite") == 0 ? &sqlite_steps : &postgres_steps;
    if (!bs->loaded)
        load_steps(bs, backend);
    *count = bs->count;
    return bs->steps;
}

int storage_migrate(struct coi_storage *s, struct coi_migration_report *out,
                    enum coi_migrate_mode mode)
{
    size_t n;
    const struct coi_migration *steps = storage_migrations(s->backend, &n);
    return s->migrate(s, out, steps, n, mode);
}

void storage_migration_report_free(struct coi_migration_report *r)
{
    if (r == NULL)
        return;
    free(r->steps);
    r->steps = NULL;
    r->count = 0;
}

/* Appends the field text[start..end) to `row`, undoing "" escapes when quoted. */
static int append_field(json_t *row, const char *start, const char *end, int quoted)
{
    if (!quoted && start == end)
        return json_array_append_new(row, json_null());
    char *buf = malloc((size_t)(end - start) + 1);
    if (buf == NULL)
        return -1;
    size_t n = 0;
    for (const char *p = start; p < end; p++) {
        buf[n++] = *p;
        if (quoted && *p == '"' && p + 1 < end && p[1] == '"')
            p++;
    }
    buf[n] = '\0';
    int rc = json_array_append_new(row, json_stringn(buf, n));
    free(buf);
    return rc;
}

int storage_csv_parse(json_t **out, const char *text, size_t length)
{
    json_t *rows = json_array(), *row = json_array();
    const char *p = text, *end = text + length;
    int rc = COI_OK;

    *out = NULL;
    if (rows == NULL || row == NULL) {
        rc = COI_ENOMEM;
        goto out;
    }
    while (p < end) {
        int quoted = *p == '"';
        const char *start = quoted ? p + 1 : p, *q = start;
        if (quoted) {
            while (q < end && !(*q == '"' && (q + 1 >= end || q[1] != '"')))
                q += (*q == '"') ? 2 : 1;
            if (q >= end) {
                rc = coi_error_set(COI_EINVALID, NULL, "unterminated quoted CSV field");
                goto out;
            }
            p = q + 1;
        } else {
            while (q < end && *q != ',' && *q != '\n' && *q != '\r')
                q++;
            p = q;
        }
        if (append_field(row, start, q, quoted) != 0) {
            rc = COI_ENOMEM;
            goto out;
        }
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '\r')
            p++;
        if (p < end && *p == '\n')
            p++;
        if (json_array_append_new(rows, row) != 0) {
            row = NULL;
            rc = COI_ENOMEM;
            goto out;
        }
        row = json_array();
    }
    if (json_array_size(row) > 0) {
        json_array_append(rows, row);
    }
    if (json_array_size(rows) > 1) {
        size_t width = json_array_size(json_array_get(rows, 0));
        for (size_t i = 1; i < json_array_size(rows); i++)
            if (json_array_size(json_array_get(rows, i)) != width) {
                rc = coi_error_set(COI_EINVALID, NULL, "CSV row %zu has %zu fields, expected %zu",
                                   i + 1, json_array_size(json_array_get(rows, i)), width);
                goto out;
            }
    }
    *out = rows;
    rows = NULL;
out:
    json_decref(row);
    json_decref(rows);
    return rc;
}
