/* The case resource's fields: the checks of what a writer sends and the shown representation. */
#include "api/case_fields.h"

#include <stdio.h>
#include <string.h>

#include "api/http.h"
#include "api/problem.h"
#include "api/validate.h"
#include "storage/storage.h"

const char *const CASE_INNOVATION_TYPES[] = {"collaboration", "work_tool", "workflow", "task",
                                             "vision",        "role",      NULL};
const char *const CASE_SECTORS[] = {"health",
                                    "elderly_care",
                                    "social",
                                    "children_youth",
                                    "education",
                                    "employment",
                                    "environment_climate",
                                    "culture_leisure",
                                    "administration",
                                    "digital_services",
                                    "other",
                                    NULL};
const char *const CASE_IMPLEMENTATION_STATUSES[] = {"piloting", "implementing", "implemented",
                                                    "discontinued", NULL};
const char *const CASE_ORIGINS[] = {"original", "adapted", "copied", NULL};
const char *const CASE_RATINGS[] = {"low", "medium", "high", NULL};
const char *const CASE_EFFECT_TYPES[] = {"economy", "quality", "employee_satisfaction",
                                         "citizen_involvement", NULL};

/* Long knowledge texts: at most this many characters each. */
#define PROSE_MAX 20000

const char *const CASE_WRITABLE[] = {
    "organisation_code", "partner_organisation_codes", "external_id", COI_CASE_CONTENT_FIELDS, NULL,
};

/* evaluation_summary is not stored with the case: case_present fills it in. */
const char *const CASE_READ_ONLY[] = {"id",
                                      "status",
                                      "government_levels",
                                      "adoption_count",
                                      "regions_reached",
                                      "evaluation_summary",
                                      "version",
                                      "created_at",
                                      "updated_at",
                                      "published_at",
                                      NULL};

/* Fields shown as [] rather than null when absent. */
static const char *const list_fields[] = {
    "partner_organisation_codes", "innovation_types", "tags", "effect_types", "links",
    "government_levels",          "regions_reached",  NULL};

static void check_links(json_t *errors, const json_t *doc)
{
    json_t *links = json_object_get(doc, "links"), *link;
    size_t i;
    if (links == NULL || json_is_null(links))
        return;
    if (!json_is_array(links) || json_array_size(links) > 20) {
        problem_add_error(errors, "links", "must be an array of at most 20 {title, url}");
        return;
    }
    json_array_foreach(links, i, link)
    {
        static const char *const keys[] = {"title", "url", NULL};
        json_t *sub = json_array();
        if (!json_is_object(link)) {
            problem_add_error(errors, "links", "item %zu must be an object {title, url}", i);
        } else {
            validate_fields(sub, link, keys, NULL);
            validate_text(sub, link, "title", 1, 200, 1);
            const char *url = validate_text(sub, link, "url", 1, 2000, 1);
            if (url != NULL && !validate_is_http_url(url))
                problem_add_error(sub, "url", "must be an http or https URL");
        }
        /* Name the item: links[2].url */
        size_t j;
        json_t *e;
        json_array_foreach(sub, j, e)
        {
            char name[64];
            snprintf(name, sizeof name, "links[%zu].%s", i,
                     json_string_value(json_object_get(e, "field")));
            problem_add_error(errors, name, "%s", json_string_value(json_object_get(e, "message")));
        }
        json_decref(sub);
    }
}

void case_check(json_t *errors, const json_t *doc)
{
    validate_code(errors, doc, "organisation_code", 1, 0);
    validate_code_list(errors, doc, "partner_organisation_codes", 50);
    json_t *ext = json_object_get(doc, "external_id");
    if (ext != NULL && !json_is_null(ext))
        validate_text(errors, doc, "external_id", 1, 200, 0);
    validate_text(errors, doc, "title", 1, 200, 1);
    validate_text(errors, doc, "summary", 1, 1000, 1);
    validate_prose(errors, doc, "problem", PROSE_MAX);
    validate_prose(errors, doc, "solution", PROSE_MAX);
    validate_prose(errors, doc, "scope", PROSE_MAX);
    validate_enum_list(errors, doc, "innovation_types", CASE_INNOVATION_TYPES, 1, 6, 1);
    validate_enum(errors, doc, "sector", CASE_SECTORS, 0);
    validate_string_list(errors, doc, "tags", 20, 50);
    validate_enum(errors, doc, "implementation_status", CASE_IMPLEMENTATION_STATUSES, 0);
    validate_date(errors, doc, "started_on", 0);
    const char *origin = validate_enum(errors, doc, "origin", CASE_ORIGINS, 0);
    json_t *inspired = json_object_get(doc, "inspired_by_case_id");
    if (inspired != NULL && !json_is_null(inspired)) {
        if (validate_text(errors, doc, "inspired_by_case_id", 1, 64, 0) != NULL &&
            (origin == NULL || strcmp(origin, "original") == 0))
            problem_add_error(errors, "inspired_by_case_id",
                              "is given only with origin adapted or copied");
    }
    validate_prose(errors, doc, "implementation_methods", PROSE_MAX);
    validate_prose(errors, doc, "evaluation_methods", PROSE_MAX);
    validate_prose(errors, doc, "employee_involvement", PROSE_MAX);
    validate_prose(errors, doc, "user_involvement", PROSE_MAX);
    validate_bool(errors, doc, "employee_driven");
    validate_bool(errors, doc, "user_driven");
    validate_prose(errors, doc, "spread_potential", PROSE_MAX);
    validate_enum(errors, doc, "spread_potential_rating", CASE_RATINGS, 0);
    validate_enum_list(errors, doc, "effect_types", CASE_EFFECT_TYPES, 0, 4, 0);
    validate_prose(errors, doc, "effects_summary", PROSE_MAX);
    validate_prose(errors, doc, "risks_and_pitfalls", PROSE_MAX);
    validate_prose(errors, doc, "lessons_learned", PROSE_MAX);
    json_t *name = json_object_get(doc, "contact_name");
    if (name != NULL && !json_is_null(name))
        validate_text(errors, doc, "contact_name", 1, 200, 0);
    validate_email(errors, doc, "contact_email");
    check_links(errors, doc);
}

/* obj[key], or what an absent field is shown as ([] for lists, null otherwise); borrowed. */
static json_t *shown(const json_t *obj, const char *key, json_t *empty_list)
{
    json_t *v = json_object_get(obj, key);
    if (v != NULL && !(json_is_null(v) && validate_in(key, list_fields)))
        return v;
    return validate_in(key, list_fields) ? empty_list : json_null();
}

/* Sets each of `fields` in `out` to its value in `record` as shown(). The values are shared
 * with `record`, not copied: nothing changes a value in place (a field is changed by setting
 * another value), and a batch of 1000 cases spent a tenth of the service's time copying them.
 * Absent lists share `empty`. */
static void set_shown(json_t *out, const json_t *record, const char *const *fields, json_t *empty)
{
    for (const char *const *f = fields; *f != NULL; f++)
        json_object_set(out, *f, shown(record, *f, empty));
}

json_t *case_present(const json_t *record, const json_t *summary)
{
    json_t *out = json_object(), *empty = json_array();
    json_object_set(out, "id", json_object_get(record, "id"));
    set_shown(out, record, CASE_WRITABLE, empty);
    set_shown(out, record, CASE_READ_ONLY, empty); /* "id" again, in place */
    /* The summary's keys in the documented order, whatever order the backend built them in
     * (PostgreSQL's jsonb orders keys by length). */
    static const char *const summary_keys[] = {"count",
                                               "published_count",
                                               "best_evidence_level",
                                               "documented_annual_savings_dkk",
                                               "methods",
                                               NULL};
    json_t *ordered = json_object();
    for (const char *const *k = summary_keys; *k != NULL; k++) {
        json_t *v = summary != NULL ? json_object_get(summary, *k) : NULL;
        if (v == NULL)
            v = strcmp(*k, "methods") == 0               ? json_array()
                : strcmp(*k, "best_evidence_level") == 0 ? json_null()
                                                         : json_integer(0);
        else
            json_incref(v);
        json_object_set_new(ordered, *k, v);
    }
    json_object_set_new(out, "evaluation_summary", ordered);
    json_decref(empty);
    return out;
}

json_t *case_writable(const json_t *record)
{
    json_t *out = json_object(), *empty = json_array();
    set_shown(out, record, CASE_WRITABLE, empty);
    json_decref(empty);
    return out;
}

json_t *case_changed_fields(const json_t *before, const json_t *after)
{
    return api_changed_fields(before, after, CASE_WRITABLE);
}
