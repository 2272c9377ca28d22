/* Token verification and the policy table: what libjwt 1.10 does not check, checked here. */
#include <jwt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/routes.h"
#include "auth/policy.h"
#include "auth/verify.h"
#include "tests/unit/test.h"

#define SECRET "unit-test-secret-0123456789abcdefghij"

static struct auth_keys hs256_keys(const char *issuer, const char *audience)
{
    struct config cfg = {.jwt_secret = SECRET};
    struct auth_keys k;
    char err[128];
    snprintf(cfg.jwt_issuer, sizeof cfg.jwt_issuer, "%s", issuer);
    snprintf(cfg.jwt_audience, sizeof cfg.jwt_audience, "%s", audience);
    auth_keys_load(&k, &cfg, err, sizeof err);
    return k;
}

/* Signs the claims (a JSON object text) with `alg` and `key`; caller frees. */
static char *make_token(const char *claims, jwt_alg_t alg, const char *key)
{
    jwt_t *jwt = NULL;
    char *token = NULL;
    if (jwt_new(&jwt) == 0 && jwt_add_grants_json(jwt, claims) == 0 &&
        jwt_set_alg(jwt, alg, (const unsigned char *)key, key ? (int)strlen(key) : 0) == 0)
        token = jwt_encode_str(jwt);
    jwt_free(jwt);
    return token;
}

/* Verifies a token built from `claims` (with "%ld" replaced by now + offset seconds, at most
 * one) against HS256 keys; returns 0 when accepted. */
static int verify_claims(const char *claims_fmt, long offset, struct identity *who)
{
    char claims[512], why[160];
    const char *mark = strstr(claims_fmt, "%ld");
    snprintf(claims, sizeof claims, "%.*s%ld%s", (int)(mark - claims_fmt), claims_fmt,
             (long)time(NULL) + offset, mark + 3);
    char *token = make_token(claims, JWT_ALG_HS256, SECRET);
    struct auth_keys k = hs256_keys("", "");
    int rc = token ? auth_verify(who, &k, token, time(NULL), why, sizeof why) : -2;
    free(token);
    auth_keys_free(&k);
    return rc;
}

TEST(auth_valid_tokens_give_each_role_its_identity)
{
    struct identity who;
    CHECK_INT(verify_claims("{\"sub\":\"a\",\"role\":\"admin\",\"exp\":%ld}", 60, &who), 0);
    CHECK_INT(who.role, ROLE_ADMIN);
    CHECK_STR(who.sub, "a");
    CHECK_INT(verify_claims("{\"sub\":\"s\",\"role\":\"steering\",\"party\":\"kl\",\"exp\":%ld}",
                            60, &who),
              0);
    CHECK_INT(who.role, ROLE_STEERING);
    CHECK_STR(who.party, "kl");
    CHECK_INT(verify_claims("{\"sub\":\"p\",\"role\":\"partner\",\"org\":\"0101\",\"exp\":%ld}", 60,
                            &who),
              0);
    CHECK_INT(who.role, ROLE_PARTNER);
    CHECK_STR(who.org, "0101");
}

TEST(auth_time_claims_are_checked_with_30_seconds_leeway)
{
    struct identity who;
    CHECK_INT(verify_claims("{\"sub\":\"a\",\"role\":\"admin\",\"exp\":%ld}", -20, &who), 0);
    CHECK_INT(verify_claims("{\"sub\":\"a\",\"role\":\"admin\",\"exp\":%ld}", -40, &who), -1);
    CHECK_INT(verify_claims("{\"sub\":\"a\",\"role\":\"admin\",\"nbf\":%ld,\"exp\":9999999999}",
                            120, &who),
              -1);
    CHECK_INT(verify_claims("{\"sub\":\"a\",\"role\":\"admin\",\"iat\":%ld,\"exp\":9999999999}",
                            120, &who),
              -1);
    CHECK_INT(verify_claims("{\"sub\":\"a\",\"role\":\"admin\",\"x\":%ld}", 0, &who), -1);
    CHECK_INT(verify_claims("{\"sub\":\"a\",\"role\":\"admin\",\"exp\":\"%ld\"}", 60, &who), -1);
}

TEST(auth_a_token_verified_once_is_taken_again_only_while_valid_and_by_the_same_keys)
{
    char why[160], claims[160];
    struct identity who;
    long exp = (long)time(NULL) + 60;
    snprintf(claims, sizeof claims, "{\"sub\":\"r\",\"role\":\"editor\",\"exp\":%ld}", exp);
    char *token = make_token(claims, JWT_ALG_HS256, SECRET);
    struct auth_keys k = hs256_keys("", "");
    CHECK_INT(auth_verify(&who, &k, token, time(NULL), why, sizeof why), 0);
    CHECK_INT(auth_verify(&who, &k, token, time(NULL), why, sizeof why), 0);
    CHECK_INT(who.role, ROLE_EDITOR);
    CHECK_STR(who.sub, "r");
    /* Past exp and the leeway, the remembered answer is not used. */
    CHECK_INT(auth_verify(&who, &k, token, (time_t)exp + 31, why, sizeof why), -1);
    CHECK_INT(who.role, ROLE_ANONYMOUS);
    /* Another key set (here: an issuer required) decides afresh. */
    struct auth_keys strict = hs256_keys("https://idp.example", "");
    CHECK_INT(auth_verify(&who, &strict, token, time(NULL), why, sizeof why), -1);
    auth_keys_free(&strict);
    auth_keys_free(&k);
    free(token);
}

TEST(auth_claims_must_name_a_known_role_party_and_org)
{
    struct identity who;
    CHECK_INT(verify_claims("{\"sub\":\"a\",\"role\":\"root\",\"exp\":%ld}", 60, &who), -1);
    CHECK_INT(verify_claims("{\"role\":\"admin\",\"exp\":%ld}", 60, &who), -1);
    CHECK_INT(verify_claims("{\"sub\":\"a\",\"role\":\"steering\",\"exp\":%ld}", 60, &who), -1);
    CHECK_INT(verify_claims("{\"sub\":\"a\",\"role\":\"steering\",\"party\":\"x\",\"exp\":%ld}", 60,
                            &who),
              -1);
    CHECK_INT(verify_claims("{\"sub\":\"a\",\"role\":\"partner\",\"exp\":%ld}", 60, &who), -1);
    CHECK_INT(who.role, ROLE_ANONYMOUS);
}

TEST(auth_algorithm_is_pinned_to_the_configured_one)
{
    char claims[128], why[160];
    struct identity who;
    struct auth_keys k = hs256_keys("", "");
    snprintf(claims, sizeof claims, "{\"sub\":\"a\",\"role\":\"admin\",\"exp\":%ld}",
             (long)time(NULL) + 60);
    char *none = make_token(claims, JWT_ALG_NONE, NULL);
    char *hs512 = make_token(claims, JWT_ALG_HS512, SECRET);
    char *other = make_token(claims, JWT_ALG_HS256, "another-secret-0123456789abcdefghijkl");
    CHECK(none != NULL && hs512 != NULL && other != NULL);
    if (none && hs512 && other) {
        CHECK_INT(auth_verify(&who, &k, none, time(NULL), why, sizeof why), -1);
        CHECK_INT(auth_verify(&who, &k, hs512, time(NULL), why, sizeof why), -1);
        CHECK(strstr(why, "algorithm") != NULL);
        CHECK_INT(auth_verify(&who, &k, other, time(NULL), why, sizeof why), -1);
        CHECK(strstr(why, "signature") != NULL);
    }
    free(none);
    free(hs512);
    free(other);
    auth_keys_free(&k);
}

TEST(auth_issuer_and_audience_are_checked_when_configured)
{
    char claims[256], why[160];
    struct identity who;
    struct auth_keys k = hs256_keys("https://idp.example", "coi");
    const char *cases[][2] = {
        {"\"iss\":\"https://idp.example\",\"aud\":\"coi\"", "ok"},
        {"\"iss\":\"https://idp.example\",\"aud\":[\"x\",\"coi\"]", "ok"},
        {"\"iss\":\"https://evil.example\",\"aud\":\"coi\"", "no"},
        {"\"iss\":\"https://idp.example\",\"aud\":\"other\"", "no"},
        {"\"aud\":\"coi\"", "no"},
        {"\"iss\":\"https://idp.example\"", "no"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(claims, sizeof claims, "{\"sub\":\"a\",\"role\":\"admin\",\"exp\":%ld,%s}",
                 (long)time(NULL) + 60, cases[i][0]);
        char *token = make_token(claims, JWT_ALG_HS256, SECRET);
        int rc = auth_verify(&who, &k, token, time(NULL), why, sizeof why);
        CHECK_INT(rc, strcmp(cases[i][1], "ok") == 0 ? 0 : -1);
        free(token);
    }
    auth_keys_free(&k);
}

TEST(auth_refuses_oversized_and_malformed_tokens_and_unconfigured_service)
{
    char why[160];
    struct identity who;
    struct auth_keys k = hs256_keys("", ""), none = {0};
    char *big = malloc(AUTH_MAX_TOKEN_BYTES + 2);
    memset(big, 'a', AUTH_MAX_TOKEN_BYTES + 1);
    big[AUTH_MAX_TOKEN_BYTES + 1] = '\0';
    CHECK_INT(auth_verify(&who, &k, big, time(NULL), why, sizeof why), -1);
    CHECK_INT(auth_verify(&who, &k, "abc", time(NULL), why, sizeof why), -1);
    CHECK_INT(auth_verify(&who, &k, "a.b.c", time(NULL), why, sizeof why), -1);
    CHECK_INT(auth_verify(&who, &none, "a.b.c", time(NULL), why, sizeof why), -1);
    CHECK_STR(auth_bearer_token("Bearer abc"), "abc");
    CHECK_STR(auth_bearer_token("bearer  abc"), "abc");
    CHECK(auth_bearer_token("Basic abc") == NULL);
    CHECK(auth_bearer_token("Bearer ") == NULL);
    free(big);
    auth_keys_free(&k);
}

TEST(policy_has_exactly_one_rule_for_every_route)
{
    for (size_t i = 0; i < route_count; i++) {
        int rules = 0;
        for (unsigned j = 0; j < policy_rule_count; j++)
            rules += strcmp(policy_rules[j].method, routes[i].method) == 0 &&
                     strcmp(policy_rules[j].path, routes[i].path) == 0;
        if (rules != 1)
            test_fail(__FILE__, __LINE__, "%s %s has %d policy rules", routes[i].method,
                      routes[i].path, rules);
    }
    for (unsigned j = 0; j < policy_rule_count; j++) {
        int found = 0;
        for (size_t i = 0; i < route_count; i++)
            found |= strcmp(policy_rules[j].method, routes[i].method) == 0 &&
                     strcmp(policy_rules[j].path, routes[i].path) == 0;
        if (!found)
            test_fail(__FILE__, __LINE__, "policy rule %s %s has no route", policy_rules[j].method,
                      policy_rules[j].path);
    }
}

TEST(policy_denies_a_route_without_a_rule)
{
    struct identity admin = {.role = ROLE_ADMIN};
    CHECK(policy_find("DELETE", "/v1/organisations/{code}") == NULL);
    CHECK(!policy_allows(NULL, &admin));
}

TEST(policy_organisation_writes_are_admin_only)
{
    const struct policy_rule *post = policy_find("POST", "/v1/organisations");
    const struct policy_rule *patch = policy_find("PATCH", "/v1/organisations/{code}");
    for (int r = 0; r < ROLE_COUNT; r++) {
        struct identity who = {.role = (enum auth_role)r};
        CHECK_INT(policy_allows(post, &who), r == ROLE_ADMIN);
        CHECK_INT(policy_allows(patch, &who), r == ROLE_ADMIN);
    }
}
