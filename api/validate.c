/* Field validators shared by the resources. */
#include "api/validate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/problem.h"

int validate_in(const char *s, const char *const *allowed)
{
    for (; s != NULL && *allowed != NULL; allowed++)
        if (strcmp(s, *allowed) == 0)
            return 1;
    return 0;
}

void validate_fields(json_t *errors, const json_t *obj, const char *const *writable,
                     const char *const *read_only)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        if (read_only != NULL && validate_in(key, read_only))
            problem_add_error(errors, key, "is read-only");
        else if (!validate_in(key, writable))
            problem_add_error(errors, key, "unknown field");
    }
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* The string at obj[field], or NULL with an error when it is missing/of another type. */
static const char *string_field(json_t *errors, const json_t *obj, const char *field,
                                int required)
{
    json_t *v = json_object_get(obj, field);
    if (v == NULL || json_is_null(v)) {
        if (required)
            problem_add_error(errors, field, "is required");
        return NULL;
    }
    if (!json_is_string(v)) {
        problem_add_error(errors, field, "must be a string, not %s", type_name(v));
        return NULL;
    }
    return json_string_value(v);
}

const char *validate_text(json_t *errors, const json_t *obj, const char *field, size_t min,
                          size_t max, int required)
{
    const char *s = string_field(errors, obj, field, required);
    if (s == NULL)
        return NULL;
    size_t n = api_utf8_length(s), blank = 1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            problem_add_error(errors, field, "must not contain control characters");
            return NULL;
        }
        blank &= *p == ' ';
    }
    if (n < min || (min > 0 && blank)) {
        problem_add_error(errors, field, "must not be empty");
        return NULL;
    }
    if (n > max) {
        problem_add_error(errors, field, "must be at most %zu characters (got %zu)", max, n);
        return NULL;
    }
    return s;
}

const char *validate_enum(json_t *errors, const json_t *obj, const char *field,
                          const char *const *allowed, int required)
{
    const char *s = string_field(errors, obj, field, required);
    if (s == NULL)
        return NULL;
    if (!validate_in(s, allowed)) {
        char list[256] = "";
        for (const char *const *a = allowed; *a != NULL; a++) {
            strncat(list, *a, sizeof list - strlen(list) - 1);
            if (a[1] != NULL)
                strncat(list, ", ", sizeof list - strlen(list) - 1);
        }
        problem_add_error(errors, field, "must be one of: %s", list);
        return NULL;
    }
    return s;
}

int validate_is_code(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 32 || s[0] == '_' || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

const char *validate_code(json_t *errors, const json_t *obj, const char *field, int required,
                          int nullable)
{
    json_t *v = json_object_get(obj, field);
    if (v != NULL && json_is_null(v) && nullable)
        return NULL;
    const char *s = string_field(errors, obj, field, required);
    if (s != NULL && !validate_is_code(s)) {
        problem_add_error(errors, field,
                          "must be 1 to 32 letters, digits, '_' or '-', starting with a "
                          "letter or digit");
        return NULL;
    }
    return s;
}

void validate_limit(json_t *errors, const char *value, int def, int max, int *out)
{
    *out = def;
    if (value == NULL)
        return;
    char *end;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || n < 1 || n > max) {
        problem_add_error(errors, "limit", "must be an integer from 1 to %d", max);
        return;
    }
    *out = (int)n;
}
