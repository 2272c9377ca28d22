/* Bearer token verification on libjwt 1.10, which checks neither claims nor the algorithm. */
#ifndef COI_VERIFY_H
#define COI_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "api/config.h"
#include "auth/identity.h"

#define AUTH_MAX_TOKEN_BYTES 8192
#define AUTH_LEEWAY_SECONDS 30

/* The one algorithm and key this service accepts, fixed by configuration. */
struct auth_keys {
    int alg;            /* jwt_alg_t: JWT_ALG_HS256, JWT_ALG_RS256 or JWT_ALG_ES256; 0 = none */
    unsigned char *key; /* the HS256 secret or the PEM public key (owned) */
    size_t key_len;
    char issuer[256];   /* "" = not checked */
    char audience[256]; /* "" = not checked */
};

/* Builds the key set from the configuration: HS256 with COI_JWT_SECRET, or RS256/ES256 with
 * the PEM file COI_JWT_PUBLIC_KEY (the key type decides which). With neither, no token is
 * accepted (alg 0). -1 with a one-line reason in `err` when the key file is unusable. */
int auth_keys_load(struct auth_keys *out, const struct config *cfg, char *err, size_t err_len);
void auth_keys_free(struct auth_keys *k);

/* Verifies `token` (the text after "Bearer "): the header's alg must be the configured one,
 * the signature must verify, exp must be a number in the future, nbf/iat (when present) not in
 * the future, iss/aud must match when configured, and sub/role/party/org must be well formed
 * (leeway AUTH_LEEWAY_SECONDS). Returns 0 and fills `out`, or -1 with a short reason in `why`.
 * The partner's organisation is NOT looked up here (the caller does, with storage). */
int auth_verify(struct identity *out, const struct auth_keys *k, const char *token, time_t now,
                char *why, size_t why_len);

/* Extracts the token from an Authorization header value ("Bearer <token>", scheme
 * case-insensitive). NULL when the header is not of that form. Points into `header`. */
const char *auth_bearer_token(const char *header);

#endif
