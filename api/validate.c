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
    json_object_foreach((json_t *)obj, key, value)
    {
        if (read_only != NULL && validate_in(key, read_only))
            problem_add_error(errors, key, "is read-only");
        else if (!validate_in(key, writable))
            problem_add_error(errors, key, "unknown field");
    }
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* The string at obj[field], or NULL with an error when it is missing/of another type. */
static const char *string_field(json_t *errors, const json_t *obj, const char *field, int required)
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
    /* Digits only: strtol would also take " 5", "+5" and "05". */
    if (errno != 0 || strspn(value, "0123456789") != strlen(value) || value[0] == '0' ||
        end == value || *end != '\0' || n < 1 || n > max) {
        problem_add_error(errors, "limit", "must be an integer from 1 to %d", max);
        return;
    }
    *out = (int)n;
}

/* Appends an error unless `v` is a string of 1..max code points; `multiline` allows \n, \r, \t. */
static int check_string(json_t *errors, const char *field, const json_t *v, size_t min, size_t max,
                        int multiline)
{
    if (!json_is_string(v)) {
        problem_add_error(errors, field, "must be a string, not %s", type_name(v));
        return 0;
    }
    const char *s = json_string_value(v);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && !(multiline && (*p == '\n' || *p == '\r' || *p == '\t'))) || *p == 0x7f) {
            problem_add_error(errors, field, "must not contain control characters");
            return 0;
        }
    size_t n = api_utf8_length(s);
    if (n < min) {
        problem_add_error(errors, field, "must not be empty");
        return 0;
    }
    if (n > max) {
        problem_add_error(errors, field, "must be at most %zu characters (got %zu)", max, n);
        return 0;
    }
    return 1;
}

const char *validate_prose(json_t *errors, const json_t *obj, const char *field, size_t max)
{
    json_t *v = json_object_get(obj, field);
    if (v == NULL || json_is_null(v))
        return NULL;
    return check_string(errors, field, v, 0, max, 1) ? json_string_value(v) : NULL;
}

/* The array at obj[field] when it is one of at most `max` items; NULL (with an error when
 * required or of another type) otherwise. */
static json_t *array_field(json_t *errors, const json_t *obj, const char *field, size_t max,
                           int required)
{
    json_t *v = json_object_get(obj, field);
    if (v == NULL || json_is_null(v)) {
        if (required)
            problem_add_error(errors, field, "is required");
        return NULL;
    }
    if (!json_is_array(v)) {
        problem_add_error(errors, field, "must be an array, not %s", type_name(v));
        return NULL;
    }
    if (json_array_size(v) > max) {
        problem_add_error(errors, field, "must have at most %zu items (got %zu)", max,
                          json_array_size(v));
        return NULL;
    }
    return v;
}

/* 1 when no two items of `list` (strings) are equal; else an error is added. */
static int unique_items(json_t *errors, const char *field, const json_t *list)
{
    for (size_t i = 0; i < json_array_size(list); i++)
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_array_get(list, i), json_array_get(list, j))) {
                problem_add_error(errors, field, "lists %s more than once",
                                  json_string_value(json_array_get(list, i)));
                return 0;
            }
    return 1;
}

void validate_enum_list(json_t *errors, const json_t *obj, const char *field,
                        const char *const *allowed, size_t min, size_t max, int required)
{
    json_t *list = array_field(errors, obj, field, max, required), *item;
    size_t i;
    if (list == NULL)
        return;
    if (json_array_size(list) < min) {
        problem_add_error(errors, field, "must have at least %zu item%s", min, min == 1 ? "" : "s");
        return;
    }
    json_array_foreach(list, i, item)
    {
        if (!validate_in(json_string_value(item), allowed)) {
            json_t *wrap = json_pack("{s:O}", field, item);
            validate_enum(errors, wrap, field, allowed, 1);
            json_decref(wrap);
            return;
        }
    }
    unique_items(errors, field, list);
}

void validate_string_list(json_t *errors, const json_t *obj, const char *field, size_t max_items,
                          size_t max_len)
{
    json_t *list = array_field(errors, obj, field, max_items, 0), *item;
    size_t i;
    if (list == NULL)
        return;
    json_array_foreach(list, i, item) if (!check_string(errors, field, item, 1, max_len, 0)) return;
    unique_items(errors, field, list);
}

void validate_code_list(json_t *errors, const json_t *obj, const char *field, size_t max_items)
{
    json_t *list = array_field(errors, obj, field, max_items, 0), *item;
    size_t i;
    if (list == NULL)
        return;
    json_array_foreach(list, i, item)
    {
        if (!validate_is_code(json_string_value(item))) {
            problem_add_error(errors, field, "must hold organisation codes");
            return;
        }
    }
    unique_items(errors, field, list);
}

void validate_bool(json_t *errors, const json_t *obj, const char *field)
{
    json_t *v = json_object_get(obj, field);
    if (v != NULL && !json_is_null(v) && !json_is_boolean(v))
        problem_add_error(errors, field, "must be true, false or null, not %s", type_name(v));
}

int validate_is_date(const char *s)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return y >= 1900 && m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap);
}

const char *validate_date(json_t *errors, const json_t *obj, const char *field, int required)
{
    const char *s = string_field(errors, obj, field, required);
    if (s != NULL && !validate_is_date(s)) {
        problem_add_error(errors, field, "must be a date written YYYY-MM-DD");
        return NULL;
    }
    return s;
}

void validate_email(json_t *errors, const json_t *obj, const char *field)
{
    const char *s = string_field(errors, obj, field, 0);
    if (s == NULL)
        return;
    const char *at = strchr(s, '@');
    int ok = at != NULL && at != s && strchr(at + 1, '@') == NULL && strlen(s) <= 254 &&
             strchr(at + 1, '.') != NULL && at[1] != '.' && s[strlen(s) - 1] != '.';
    for (const unsigned char *p = (const unsigned char *)s; ok && *p; p++)
        ok = *p > 0x20 && *p != 0x7f && *p != ',' && *p != '<' && *p != '>';
    if (!ok)
        problem_add_error(errors, field, "must be an e-mail address such as name@example.dk");
}

int validate_is_http_url(const char *s)
{
    size_t skip = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;
    if (skip == 0 || strlen(s) > 2000 || s[skip] == '\0' || s[skip] == '/')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 0;
    return 1;
}
