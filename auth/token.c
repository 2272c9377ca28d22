/* Minting HS256 tokens with libjwt for development, tests and `coi token`. */
#include "auth/token.h"

#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "storage/error.h"

static const char *const roles[] = {"admin", "editor", "steering", "partner", NULL};
static const char *const parties[] = {"regeringen",      "oao", "ftf", "akademikerne",
                                      "danske_regioner", "kl",  NULL};

static int listed(const char *s, const char *const *list)
{
    for (; s != NULL && *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

int token_mint(char **out, const struct config *cfg, const struct token_claims *claims)
{
    jwt_t *jwt = NULL;
    int rc = COI_ERROR;
    time_t now = time(NULL);

    *out = NULL;
    if (cfg->jwt_secret[0] == '\0')
        return coi_error_set(COI_EINVALID, NULL, "COI_JWT_SECRET is not set");
    if (claims->sub == NULL || claims->sub[0] == '\0')
        return coi_error_set(COI_EINVALID, "sub", "a subject (--sub) is required");
    if (!listed(claims->role, roles))
        return coi_error_set(COI_EINVALID, "role",
                             "role must be admin, editor, steering or partner");
    if (strcmp(claims->role, "steering") == 0 && !listed(claims->party, parties))
        return coi_error_set(COI_EINVALID, "party",
                             "steering needs --party: regeringen, oao, ftf, akademikerne, "
                             "danske_regioner or kl");
    if (strcmp(claims->role, "partner") == 0 && (claims->org == NULL || !claims->org[0]))
        return coi_error_set(COI_EINVALID, "org", "partner needs --org (an organisation code)");
    if (claims->ttl_seconds <= 0)
        return coi_error_set(COI_EINVALID, "ttl", "ttl must be positive");

    if (jwt_new(&jwt) != 0)
        return COI_ENOMEM;
    if (jwt_add_grant(jwt, "sub", claims->sub) || jwt_add_grant(jwt, "role", claims->role) ||
        (claims->party && jwt_add_grant(jwt, "party", claims->party)) ||
        (claims->org && jwt_add_grant(jwt, "org", claims->org)) ||
        jwt_add_grant_int(jwt, "iat", now) ||
        jwt_add_grant_int(jwt, "exp", now + claims->ttl_seconds) ||
        (cfg->jwt_issuer[0] && jwt_add_grant(jwt, "iss", cfg->jwt_issuer)) ||
        (cfg->jwt_audience[0] && jwt_add_grant(jwt, "aud", cfg->jwt_audience)) ||
        jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)cfg->jwt_secret,
                    (int)strlen(cfg->jwt_secret)))
        goto out;
    *out = jwt_encode_str(jwt);
    rc = *out ? COI_OK : COI_ENOMEM;
out:
    jwt_free(jwt);
    return rc;
}
