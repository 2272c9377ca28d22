/* Base64url without padding (RFC 4648 section 5). */
#include "auth/base64url.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_encode(char *out, size_t out_len, const unsigned char *data, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < n)
            v |= data[i + 2];
        size_t chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
        if (o + chars + 1 > out_len)
            return -1;
        for (size_t j = 0; j < chars; j++)
            out[o++] = alphabet[(v >> (18 - 6 * j)) & 63];
    }
    if (o + 1 > out_len)
        return -1;
    out[o] = '\0';
    return 0;
}

static int value_of(char ch)
{
    const char *p = ch ? strchr(alphabet, ch) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

unsigned char *base64url_decode(const char *text, size_t n, size_t *out_len)
{
    unsigned char *buf;
    size_t o = 0;
    if (n % 4 == 1 || (buf = malloc(n * 3 / 4 + 3)) == NULL)
        return NULL;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = 0;
        size_t chars = n - i < 4 ? n - i : 4;
        for (size_t j = 0; j < 4; j++) {
            int d = j < chars ? value_of(text[i + j]) : 0;
            if (d < 0) {
                free(buf);
                return NULL;
            }
            v = (v << 6) | (uint32_t)d;
        }
        for (size_t j = 0; j + 1 < chars; j++)
            buf[o++] = (unsigned char)(v >> (16 - 8 * j));
    }
    buf[o] = '\0';
    *out_len = o;
    return buf;
}
