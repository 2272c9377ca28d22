/* Per-thread error details for the storage layer (in the spirit of libgit2's git_error_last). */
#include "storage/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char detail_buf[512];
static _Thread_local char field_buf[64];
static _Thread_local int has_field;

int coi_error_set(int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail_buf, sizeof detail_buf, fmt, ap);
    va_end(ap);
    has_field = field != NULL;
    if (field != NULL)
        snprintf(field_buf, sizeof field_buf, "%s", field);
    return code;
}

const char *coi_error_detail(void)
{
    return detail_buf;
}

const char *coi_error_field(void)
{
    return has_field ? field_buf : NULL;
}

void coi_error_clear(void)
{
    detail_buf[0] = '\0';
    has_field = 0;
}

const char *coi_error_name(int code)
{
    switch (code) {
    case COI_OK:
        return "OK";
    case COI_ENOTFOUND:
        return "ENOTFOUND";
    case COI_EEXISTS:
        return "EEXISTS";
    case COI_EINVALID:
        return "EINVALID";
    case COI_ECONFLICT:
        return "ECONFLICT";
    case COI_EUNAVAILABLE:
        return "EUNAVAILABLE";
    case COI_ENOMEM:
        return "ENOMEM";
    case COI_EMIGRATION:
        return "EMIGRATION";
    default:
        return "ERROR";
    }
}
