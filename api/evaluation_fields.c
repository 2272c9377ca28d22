/* The evaluation resource's fields: checks, derived figures and the shown representation. */
#include "api/evaluation_fields.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api/http.h"
#include "api/problem.h"
#include "api/validate.h"

static const char *const evaluator_kinds[] = {"internal", "external", "research", NULL};
static const char *const methods[] = {"rct",
                                      "quasi_experimental",
                                      "before_after",
                                      "cost_benefit",
                                      "qualitative",
                                      "mixed",
                                      "self_assessment",
                                      "other",
                                      NULL};
static const char *const economic_fields[] = {"investment_dkk", "annual_savings_dkk",
                                              "annual_running_costs_dkk", NULL};
static const char *const economic_derived[] = {"net_annual_effect_dkk", "payback_years", NULL};
static const char *const effect_fields[] = {"indicator",        "unit", "baseline", "result",
                                            "higher_is_better", NULL};
static const char *const effect_derived[] = {"change", "improved", NULL};

#define PROSE_MAX 20000
#define DKK_MAX 1000000000000LL /* a trillion kroner: more is a typing error */
#define QUALITY_MAX 1e12        /* keeps result - baseline exact enough and finite */

const char *const EVALUATION_WRITABLE[] = {
    "title",
    "evaluator_kind",
    "evaluator_name",
    "method",
    "period_start",
    "period_end",
    "published_on",
    "report_url",
    "evidence_level",
    "economic",
    "quality_effects",
    "employee_effects",
    "user_effects",
    "conclusion",
    "lessons_learned",
    "risks_and_pitfalls",
    NULL,
};

const char *const EVALUATION_READ_ONLY[] = {"id",         "case_id",    "status",       "version",
                                            "created_at", "updated_at", "published_at", NULL};

/* Adds each of `sub`'s errors to `errors` with its field prefixed ("economic.x"). */
static void prefixed(json_t *errors, json_t *sub, const char *prefix)
{
    size_t i;
    json_t *e;
    json_array_foreach(sub, i, e)
    {
        char name[96];
        snprintf(name, sizeof name, "%s.%s", prefix,
                 json_string_value(json_object_get(e, "field")));
        problem_add_error(errors, name, "%s", json_string_value(json_object_get(e, "message")));
    }
}

static void check_economic(json_t *errors, const json_t *doc)
{
    json_t *eco = json_object_get(doc, "economic"), *sub = json_array();
    if (eco == NULL || json_is_null(eco))
        goto out;
    if (!json_is_object(eco)) {
        problem_add_error(errors, "economic", "must be an object or null");
        goto out;
    }
    validate_fields(sub, eco, economic_fields, economic_derived);
    for (const char *const *f = economic_fields; *f != NULL; f++) {
        json_t *v = json_object_get(eco, *f);
        if (v == NULL || json_is_null(v))
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > DKK_MAX)
            problem_add_error(sub, *f, "must be a whole number of kroner, not negative");
    }
    prefixed(errors, sub, "economic");
out:
    json_decref(sub);
}

static void check_quality(json_t *errors, const json_t *doc)
{
    json_t *list = json_object_get(doc, "quality_effects"), *item;
    size_t i;
    if (list == NULL || json_is_null(list))
        return;
    if (!json_is_array(list) || json_array_size(list) > 50) {
        problem_add_error(errors, "quality_effects", "must be an array of at most 50 effects");
        return;
    }
    json_array_foreach(list, i, item)
    {
        char prefix[40];
        json_t *sub = json_array();
        snprintf(prefix, sizeof prefix, "quality_effects[%zu]", i);
        if (!json_is_object(item)) {
            problem_add_error(errors, prefix, "must be an object");
        } else {
            validate_fields(sub, item, effect_fields, effect_derived);
            validate_text(sub, item, "indicator", 1, 200, 1);
            json_t *unit = json_object_get(item, "unit");
            if (unit != NULL && !json_is_null(unit))
                validate_text(sub, item, "unit", 1, 50, 0);
            for (const char *const *f = (const char *const[]){"baseline", "result", NULL}; *f;
                 f++) {
                json_t *v = json_object_get(item, *f);
                if (!json_is_number(v))
                    problem_add_error(sub, *f, "is required and must be a number");
                else if (fabs(json_number_value(v)) > QUALITY_MAX)
                    problem_add_error(sub, *f, "must be between -1e12 and 1e12");
            }
            if (!json_is_boolean(json_object_get(item, "higher_is_better")))
                problem_add_error(sub, "higher_is_better", "is required and must be true or false");
            prefixed(errors, sub, prefix);
        }
        json_decref(sub);
    }
}

void evaluation_check(json_t *errors, const json_t *doc)
{
    validate_text(errors, doc, "title", 1, 200, 1);
    validate_enum(errors, doc, "evaluator_kind", evaluator_kinds, 1);
    json_t *name = json_object_get(doc, "evaluator_name");
    if (name != NULL && !json_is_null(name))
        validate_text(errors, doc, "evaluator_name", 1, 200, 0);
    validate_enum(errors, doc, "method", methods, 1);
    const char *start = validate_date(errors, doc, "period_start", 0);
    const char *end = validate_date(errors, doc, "period_end", 0);
    if (start != NULL && end != NULL && strcmp(end, start) < 0)
        problem_add_error(errors, "period_end", "must not be before period_start");
    validate_date(errors, doc, "published_on", 0);
    json_t *url = json_object_get(doc, "report_url");
    if (url != NULL && !json_is_null(url)) {
        const char *u = validate_text(errors, doc, "report_url", 1, 2000, 0);
        if (u != NULL && !validate_is_http_url(u))
            problem_add_error(errors, "report_url", "must be an http or https URL");
    }
    json_t *level = json_object_get(doc, "evidence_level");
    if (level == NULL || json_is_null(level))
        problem_add_error(errors, "evidence_level", "is required");
    else if (!json_is_integer(level) || json_integer_value(level) < 1 ||
             json_integer_value(level) > 5)
        problem_add_error(errors, "evidence_level",
                          "must be an integer from 1 to 5 (Nesta Standards of Evidence)");
    check_economic(errors, doc);
    check_quality(errors, doc);
    static const char *const prose[] = {"employee_effects", "user_effects",       "conclusion",
                                        "lessons_learned",  "risks_and_pitfalls", NULL};
    for (const char *const *f = prose; *f != NULL; f++)
        validate_prose(errors, doc, *f, PROSE_MAX);
}

json_t *evaluation_writable(const json_t *record)
{
    json_t *out = json_object();
    for (const char *const *f = EVALUATION_WRITABLE; *f != NULL; f++) {
        json_t *v = json_object_get(record, *f);
        json_object_set_new(out, *f, v ? json_deep_copy(v) : json_null());
    }
    return out;
}

/* The economic block as shown: the given figures and the derived net effect and payback. */
static json_t *economic_shown(const json_t *eco)
{
    json_t *out = json_object();
    json_t *inv = json_object_get(eco, "investment_dkk");
    json_t *sav = json_object_get(eco, "annual_savings_dkk");
    json_t *run = json_object_get(eco, "annual_running_costs_dkk");
    json_object_set_new(out, "investment_dkk", json_is_integer(inv) ? json_copy(inv) : json_null());
    json_object_set_new(out, "annual_savings_dkk",
                        json_is_integer(sav) ? json_copy(sav) : json_null());
    json_object_set_new(out, "annual_running_costs_dkk",
                        json_is_integer(run) ? json_copy(run) : json_null());
    json_t *net = json_null(), *payback = json_null();
    if (json_is_integer(sav) || json_is_integer(run)) {
        json_int_t n = json_integer_value(sav) - json_integer_value(run);
        net = json_integer(n);
        /* Payback only when there is a net saving to pay the investment back with. */
        if (n > 0 && json_is_integer(inv))
            payback = json_real(round((double)json_integer_value(inv) / (double)n * 100.0) / 100.0);
    }
    json_object_set_new(out, "net_annual_effect_dkk", net);
    json_object_set_new(out, "payback_years", payback);
    return out;
}

static json_t *effect_shown(const json_t *effect)
{
    json_t *out = json_object();
    for (const char *const *f = effect_fields; *f != NULL; f++) {
        json_t *v = json_object_get(effect, *f);
        json_object_set_new(out, *f, v ? json_deep_copy(v) : json_null());
    }
    json_t *base = json_object_get(effect, "baseline"), *res = json_object_get(effect, "result");
    json_t *change;
    if (json_is_integer(base) && json_is_integer(res))
        change = json_integer(json_integer_value(res) - json_integer_value(base));
    else
        change = json_real(json_number_value(res) - json_number_value(base));
    double d = json_number_value(change);
    int higher = json_is_true(json_object_get(effect, "higher_is_better"));
    json_object_set_new(out, "change", change);
    json_object_set_new(out, "improved", json_boolean(higher ? d > 0 : d < 0));
    return out;
}

json_t *evaluation_present(const json_t *record)
{
    json_t *out = json_object(), *effects = json_array(), *item;
    size_t i;
    json_object_set(out, "id", json_object_get(record, "id"));
    json_object_set(out, "case_id", json_object_get(record, "case_id"));
    for (const char *const *f = EVALUATION_WRITABLE; *f != NULL; f++) {
        json_t *v = json_object_get(record, *f);
        if (strcmp(*f, "economic") == 0)
            json_object_set_new(out, *f, economic_shown(v));
        else if (strcmp(*f, "quality_effects") == 0) {
            json_array_foreach(v, i, item) json_array_append_new(effects, effect_shown(item));
            json_object_set(out, *f, effects);
        } else
            json_object_set_new(out, *f, v ? json_deep_copy(v) : json_null());
    }
    for (const char *const *f = EVALUATION_READ_ONLY; *f != NULL; f++)
        if (strcmp(*f, "id") != 0 && strcmp(*f, "case_id") != 0) {
            json_t *v = json_object_get(record, *f);
            json_object_set_new(out, *f, v ? json_deep_copy(v) : json_null());
        }
    json_decref(effects);
    return out;
}

json_t *evaluation_changed_fields(const json_t *before, const json_t *after)
{
    return api_changed_fields(before, after, EVALUATION_WRITABLE);
}
