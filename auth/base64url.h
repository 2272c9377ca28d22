/* Base64url without padding (RFC 4648 section 5), as used by JWTs and the API's cursors. */
#ifndef COI_BASE64URL_H
#define COI_BASE64URL_H

#include <stddef.h>

/* Encodes data[0..n) into out (NUL-terminated). -1 when out is too small. */
int base64url_encode(char *out, size_t out_len, const unsigned char *data, size_t n);

/* Decodes text[0..n) (no padding, no other characters) into a new buffer with a NUL after the
 * data; *out_len gets the data length. NULL when the text is not base64url. Caller frees. */
unsigned char *base64url_decode(const char *text, size_t n, size_t *out_len);

#endif
