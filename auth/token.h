/* Minting signed tokens (HS256) for development, tests and `coi token`. */
#ifndef COI_TOKEN_H
#define COI_TOKEN_H

#include "api/config.h"

struct token_claims {
    const char *sub;   /* required */
    const char *role;  /* admin, editor, steering or partner */
    const char *party; /* steering-group party, for role steering */
    const char *org;   /* organisation code, for role partner */
    long ttl_seconds;  /* lifetime from now */
};

/* Mints a token signed with cfg->jwt_secret (HS256), with exp/iat and, when configured,
 * iss/aud. Checks the role and party vocabularies and that steering has a party and partner an
 * org (COI_EINVALID with a detail). On success *out is a new string the caller frees. */
int token_mint(char **out, const struct config *cfg, const struct token_claims *claims);

#endif
