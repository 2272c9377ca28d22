/* Opens a storage backend from its URL and checks that backends fill in the interface. */
#include "storage/storage.h"

#include <string.h>

const char *const CASE_CONTENT[] = {COI_CASE_CONTENT_FIELDS, NULL};

int storage_register(const struct coi_storage *s)
{
    if (s == NULL || s->version != COI_STORAGE_VERSION)
        return coi_error_set(COI_EINVALID, NULL, "storage backend has version %u, expected %u",
                             s ? s->version : 0, COI_STORAGE_VERSION);
    if (s->backend == NULL || s->close == NULL || s->ping == NULL || s->migrate == NULL ||
        s->organisation_list == NULL || s->organisation_get == NULL ||
        s->organisation_create == NULL || s->organisation_update == NULL || s->case_list == NULL ||
        s->case_count == NULL || s->case_facets == NULL || s->case_get == NULL ||
        s->case_get_by_external_id == NULL || s->case_create == NULL || s->case_update == NULL ||
        s->case_transition == NULL || s->case_history == NULL || s->adoption_create == NULL ||
        s->adoption_get == NULL || s->adoption_list == NULL || s->adoption_update == NULL ||
        s->adoption_delete == NULL || s->evaluation_create == NULL || s->evaluation_get == NULL ||
        s->evaluation_list == NULL || s->evaluation_update == NULL ||
        s->evaluation_transition == NULL || s->evaluation_history == NULL ||
        s->evaluation_delete == NULL || s->evaluation_summaries == NULL || s->change_list == NULL ||
        s->change_head == NULL || s->case_get_by_external_ids == NULL ||
        s->case_write_batch == NULL || s->audit_append == NULL || s->audit_list == NULL ||
        s->idempotency_claim == NULL || s->idempotency_complete == NULL ||
        s->idempotency_release == NULL)
        return coi_error_set(COI_EINVALID, NULL, "storage backend lacks a required callback");
    return COI_OK;
}

int storage_open(struct coi_storage **out, const char *url, const struct coi_storage_options *o)
{
    struct coi_storage *s = NULL;
    int rc;

    *out = NULL;
    if (strncmp(url, "sqlite:", 7) == 0)
        rc = storage_sqlite_open(&s, url + 7, o);
    else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        rc = storage_postgres_open(&s, url, o);
    else
        return coi_error_set(COI_EINVALID, NULL,
                             "unknown database URL scheme (use sqlite:PATH or postgresql://...)");
    if (rc != COI_OK)
        return rc;
    if ((rc = storage_register(s)) != COI_OK) {
        s->close(s);
        return rc;
    }
    *out = s;
    return COI_OK;
}

void storage_close(struct coi_storage *s)
{
    if (s != NULL)
        s->close(s);
}
