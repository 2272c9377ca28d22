/* A minimal test harness: self-registering tests, checks that record failures and go on. */
#ifndef COI_TEST_H
#define COI_TEST_H

#include <stdio.h>
#include <string.h>

struct coi_storage;

typedef void (*test_fn)(void);
typedef void (*storage_test_fn)(struct coi_storage *s);

void test_register(const char *name, test_fn fn);
void test_register_storage(const char *name, storage_test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A plain unit test, run once. */
#define TEST(name)                                                                             \
    static void name(void);                                                                    \
    __attribute__((constructor)) static void register_##name(void)                             \
    {                                                                                          \
        test_register(#name, name);                                                            \
    }                                                                                          \
    static void name(void)

/* A storage conformance test, run once per backend named in COI_TEST_STORAGE_URLS, each time
 * on a freshly opened and migrated store. */
#define STORAGE_TEST(name)                                                                     \
    static void name(struct coi_storage *s);                                                   \
    __attribute__((constructor)) static void register_##name(void)                             \
    {                                                                                          \
        test_register_storage(#name, name);                                                    \
    }                                                                                          \
    static void name(struct coi_storage *s)

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond))                                                                           \
            test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                                 \
    } while (0)

#define CHECK_INT(actual, expected)                                                            \
    do {                                                                                       \
        long long a_ = (long long)(actual), e_ = (long long)(expected);                        \
        if (a_ != e_)                                                                          \
            test_fail(__FILE__, __LINE__, "%s is %lld, expected %lld", #actual, a_, e_);       \
    } while (0)

#define CHECK_STR(actual, expected)                                                            \
    do {                                                                                       \
        const char *a_ = (actual), *e_ = (expected);                                           \
        if (a_ == NULL || e_ == NULL ? a_ != e_ : strcmp(a_, e_) != 0)                         \
            test_fail(__FILE__, __LINE__, "%s is \"%s\", expected \"%s\"", #actual,            \
                      a_ ? a_ : "(null)", e_ ? e_ : "(null)");                                 \
    } while (0)

#endif
