/* Bearer token verification. libjwt 1.10.2 trusts the token's alg header and checks no claim,
 * so the algorithm is pinned here before and after decoding, and every claim is checked by
 * hand on the decoded payload. */
#include "auth/verify.h"

#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "auth/base64url.h"

static const char *const role_names[ROLE_COUNT] = {"anonymous", "admin", "editor", "steering",
                                                   "partner"};
static const char *const parties[] = {"regeringen",      "oao", "ftf", "akademikerne",
                                      "danske_regioner", "kl",  NULL};

const char *auth_role_name(enum auth_role role)
{
    return role >= 0 && role < ROLE_COUNT ? role_names[role] : "unknown";
}

/* The key type of a PEM public key: JWT_ALG_RS256 for RSA, JWT_ALG_ES256 for a P-256 EC key,
 * 0 otherwise. Looks for the algorithm OIDs in the DER body (SubjectPublicKeyInfo). */
static int pem_key_alg(const char *pem)
{
    static const unsigned char rsa_oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
    static const unsigned char ec_oid[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
    static const unsigned char p256_oid[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    if (strstr(pem, "-----BEGIN RSA PUBLIC KEY-----") != NULL)
        return JWT_ALG_RS256;
    const char *begin = strstr(pem, "-----BEGIN PUBLIC KEY-----");
    const char *end = begin ? strstr(begin, "-----END PUBLIC KEY-----") : NULL;
    if (end == NULL)
        return 0;
    /* Standard base64 body: map to base64url and drop line breaks and padding. */
    char *b64 = malloc((size_t)(end - begin) + 1);
    size_t n = 0, der_len = 0;
    if (b64 == NULL)
        return 0;
    for (const char *p = begin + 26; p < end; p++) {
        if (*p == '+')
            b64[n++] = '-';
        else if (*p == '/')
            b64[n++] = '_';
        else if (*p != '\n' && *p != '\r' && *p != '=' && *p != ' ')
            b64[n++] = *p;
    }
    unsigned char *der = base64url_decode(b64, n, &der_len);
    free(b64);
    int alg = 0;
    if (der != NULL) {
        if (memmem(der, der_len, rsa_oid, sizeof rsa_oid) != NULL)
            alg = JWT_ALG_RS256;
        else if (memmem(der, der_len, ec_oid, sizeof ec_oid) != NULL &&
                 memmem(der, der_len, p256_oid, sizeof p256_oid) != NULL)
            alg = JWT_ALG_ES256;
    }
    free(der);
    return alg;
}

int auth_keys_load(struct auth_keys *out, const struct config *cfg, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    snprintf(out->issuer, sizeof out->issuer, "%s", cfg->jwt_issuer);
    snprintf(out->audience, sizeof out->audience, "%s", cfg->jwt_audience);
    if (cfg->jwt_secret[0] != '\0') {
        out->alg = JWT_ALG_HS256;
        out->key_len = strlen(cfg->jwt_secret);
        out->key = (unsigned char *)strdup(cfg->jwt_secret);
        return out->key ? 0 : -1;
    }
    if (cfg->jwt_public_key_path[0] == '\0')
        return 0;
    FILE *f = fopen(cfg->jwt_public_key_path, "r");
    if (f == NULL) {
        snprintf(err, err_len, "COI_JWT_PUBLIC_KEY: cannot read %s: %s", cfg->jwt_public_key_path,
                 strerror(errno));
        return -1;
    }
    char *pem = calloc(1, 65537);
    size_t n = pem ? fread(pem, 1, 65536, f) : 0;
    fclose(f);
    int alg = pem ? pem_key_alg(pem) : 0;
    if (alg == 0) {
        snprintf(err, err_len, "COI_JWT_PUBLIC_KEY: %s is not a PEM RSA or P-256 EC public key",
                 cfg->jwt_public_key_path);
        free(pem);
        return -1;
    }
    out->alg = alg;
    out->key = (unsigned char *)pem;
    out->key_len = n;
    return 0;
}

void auth_keys_free(struct auth_keys *k)
{
    free(k->key);
    k->key = NULL;
}

const char *auth_bearer_token(const char *header)
{
    if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    header += 7;
    while (*header == ' ')
        header++;
    return *header ? header : NULL;
}

static int fail(char *why, size_t why_len, const char *reason)
{
    snprintf(why, why_len, "%s", reason);
    return -1;
}

/* Checks the JOSE header before libjwt sees the token: alg must be the configured one. */
static int check_header(const struct auth_keys *k, const char *token, char *why, size_t why_len)
{
    const char *dot = strchr(token, '.');
    size_t n = 0;
    if (dot == NULL)
        return fail(why, why_len, "the token is not a JWT");
    unsigned char *raw = base64url_decode(token, (size_t)(dot - token), &n);
    json_t *header = raw ? json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(raw);
    const char *alg = json_string_value(json_object_get(header, "alg"));
    int rc = 0;
    if (!json_is_object(header))
        rc = fail(why, why_len, "the token header is not valid");
    else if (alg == NULL || strcmp(alg, jwt_alg_str((jwt_alg_t)k->alg)) != 0)
        rc = fail(why, why_len, "the token's algorithm is not accepted");
    else if (json_object_get(header, "crit") != NULL)
        rc = fail(why, why_len, "the token has critical header parameters");
    json_decref(header);
    return rc;
}

/* A numeric claim as seconds: 1 when present and numeric, 0 when absent, -1 when not a number. */
static int time_claim(const json_t *claims, const char *name, double *out)
{
    json_t *v = json_object_get(claims, name);
    if (v == NULL)
        return 0;
    if (!json_is_number(v))
        return -1;
    *out = json_number_value(v);
    return 1;
}

static int audience_matches(const json_t *aud, const char *want)
{
    size_t i;
    json_t *v;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    json_array_foreach(aud, i, v) if (json_is_string(v) &&
                                      strcmp(json_string_value(v), want) == 0) return 1;
    return 0;
}

static int check_claims(struct identity *out, double *expires, const struct auth_keys *k,
                        const json_t *claims, time_t now, char *why, size_t why_len)
{
    double exp = 0, nbf = 0, iat = 0;
    int has;
    if ((has = time_claim(claims, "exp", &exp)) <= 0)
        return fail(why, why_len, has < 0 ? "exp is not a number" : "the token has no exp");
    if ((double)now > exp + AUTH_LEEWAY_SECONDS)
        return fail(why, why_len, "the token has expired");
    if ((has = time_claim(claims, "nbf", &nbf)) < 0 ||
        (has && nbf > (double)now + AUTH_LEEWAY_SECONDS))
        return fail(why, why_len, has < 0 ? "nbf is not a number" : "the token is not valid yet");
    if ((has = time_claim(claims, "iat", &iat)) < 0 ||
        (has && iat > (double)now + AUTH_LEEWAY_SECONDS))
        return fail(why, why_len,
                    has < 0 ? "iat is not a number" : "the token was issued in the future");
    if (k->issuer[0]) {
        const char *iss = json_string_value(json_object_get(claims, "iss"));
        if (iss == NULL || strcmp(iss, k->issuer) != 0)
            return fail(why, why_len, "the token's issuer is not accepted");
    }
    if (k->audience[0] && !audience_matches(json_object_get(claims, "aud"), k->audience))
        return fail(why, why_len, "the token is not meant for this service (aud)");

    const char *sub = json_string_value(json_object_get(claims, "sub"));
    const char *role = json_string_value(json_object_get(claims, "role"));
    if (sub == NULL || sub[0] == '\0' || strlen(sub) >= sizeof out->sub)
        return fail(why, why_len, "the token has no valid sub");
    memset(out, 0, sizeof *out);
    for (int r = ROLE_ADMIN; r < ROLE_COUNT; r++)
        if (role != NULL && strcmp(role, role_names[r]) == 0)
            out->role = (enum auth_role)r;
    if (out->role == ROLE_ANONYMOUS)
        return fail(why, why_len,
                    "the token's role is not one of admin, editor, steering, partner");
    snprintf(out->sub, sizeof out->sub, "%s", sub);
    if (out->role == ROLE_STEERING) {
        const char *party = json_string_value(json_object_get(claims, "party"));
        int known = 0;
        for (const char *const *p = parties; party != NULL && *p != NULL; p++)
            known |= strcmp(party, *p) == 0;
        if (!known)
            return fail(why, why_len, "a steering token needs a known party");
        snprintf(out->party, sizeof out->party, "%s", party);
    }
    if (out->role == ROLE_PARTNER) {
        const char *org = json_string_value(json_object_get(claims, "org"));
        if (org == NULL || org[0] == '\0' || strlen(org) >= sizeof out->org)
            return fail(why, why_len, "a partner token needs an org");
        snprintf(out->org, sizeof out->org, "%s", org);
    }
    *expires = exp;
    return 0;
}

/* Tokens verified lately, so that a client sending the same token with every request is
 * verified once (the signature check and the claims parse cost more than the rest of a cached
 * read). A slot holds the token's text, compared in full, and what it proved; only exp can make
 * it invalid later (nbf and iat, once passed, stay passed), so it is checked on every use. A
 * slot also records which key set verified it (a fingerprint of the algorithm, key, issuer and
 * audience): only the same key set may take the answer again. */
#define VERIFIED_SLOTS 1024
static struct verified {
    char *token;
    uint64_t keys;
    struct identity who;
    double exp;
} verified[VERIFIED_SLOTS];
static pthread_mutex_t verified_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    for (const unsigned char *p = data; n-- > 0; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

static uint64_t keys_fingerprint(const struct auth_keys *k)
{
    uint64_t h = fnv(1469598103934665603ULL, &k->alg, sizeof k->alg);
    h = fnv(h, k->key, k->key_len);
    h = fnv(h, k->issuer, strlen(k->issuer) + 1);
    return fnv(h, k->audience, strlen(k->audience) + 1);
}

static size_t slot_of(const char *token)
{
    return (size_t)(fnv(1469598103934665603ULL, token, strlen(token)) % VERIFIED_SLOTS);
}

static int verified_lookup(struct identity *out, uint64_t keys, const char *token, time_t now)
{
    struct verified *v = &verified[slot_of(token)];
    int found = 0;
    pthread_mutex_lock(&verified_lock);
    if (v->token != NULL && v->keys == keys && strcmp(v->token, token) == 0 &&
        (double)now <= v->exp + AUTH_LEEWAY_SECONDS) {
        *out = v->who;
        found = 1;
    }
    pthread_mutex_unlock(&verified_lock);
    return found;
}

static void verified_store(const struct identity *who, uint64_t keys, const char *token, double exp)
{
    struct verified *v = &verified[slot_of(token)];
    char *copy = strdup(token);
    if (copy == NULL)
        return;
    pthread_mutex_lock(&verified_lock);
    free(v->token);
    v->token = copy;
    v->keys = keys;
    v->who = *who;
    v->exp = exp;
    pthread_mutex_unlock(&verified_lock);
}

int auth_verify(struct identity *out, const struct auth_keys *k, const char *token, time_t now,
                char *why, size_t why_len)
{
    jwt_t *jwt = NULL;
    char *grants = NULL;
    json_t *claims = NULL;
    int rc = -1;

    double exp = 0;

    memset(out, 0, sizeof *out);
    if (k->alg == 0)
        return fail(why, why_len, "this service is configured to accept no tokens");
    if (strlen(token) > AUTH_MAX_TOKEN_BYTES)
        return fail(why, why_len, "the token is too large");
    uint64_t keys = keys_fingerprint(k);
    if (verified_lookup(out, keys, token, now))
        return 0;
    if (check_header(k, token, why, why_len) != 0)
        return -1;
    if (jwt_decode(&jwt, token, k->key, (int)k->key_len) != 0 || jwt == NULL) {
        fail(why, why_len, "the token's signature is not valid");
        goto out;
    }
    if ((int)jwt_get_alg(jwt) != k->alg) {
        fail(why, why_len, "the token's algorithm is not accepted");
        goto out;
    }
    /* The claims are read from the (now verified) payload directly, refusing duplicate names
     * that libjwt's own parse would silently collapse. */
    const char *payload = strchr(token, '.') + 1, *end = strchr(payload, '.');
    size_t n = 0;
    grants = end ? (char *)base64url_decode(payload, (size_t)(end - payload), &n) : NULL;
    claims = grants ? json_loadb(grants, n, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!json_is_object(claims)) {
        fail(why, why_len, "the token's claims are not valid");
        goto out;
    }
    if ((rc = check_claims(out, &exp, k, claims, now, why, why_len)) == 0)
        verified_store(out, keys, token, exp);
out:
    json_decref(claims);
    free(grants);
    jwt_free(jwt);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}
