/* coi: the program's entry point and command line (serve, migrate, token, routes). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/cache.h"
#include "api/cache_sync.h"
#include "api/config.h"
#include "api/log.h"
#include "api/routes.h"
#include "api/server.h"
#include "auth/policy.h"
#include "auth/token.h"
#include "auth/verify.h"
#include "storage/storage.h"

#define COI_VERSION "0.1.0"
#define DEV_SECRET_PATH "var/dev-jwt-secret"

static const char usage[] =
    "usage: coi <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--dev]        start the HTTP service (applies pending migrations first);\n"
    "                       --dev: without a configured JWT key, use a development secret\n"
    "                       kept in " DEV_SECRET_PATH " and print an admin token\n"
    "  migrate [--status]   apply pending migrations, or show which are applied\n"
    "  token --role ROLE [--party P] [--org CODE] [--sub SUBJECT] [--ttl SECONDS]\n"
    "                       print a signed token (HS256, COI_JWT_SECRET); roles: admin,\n"
    "                       editor, steering (needs --party), partner (needs --org)\n"
    "  routes               print the route table as JSON\n"
    "  policy               print who may call each route, as JSON\n"
    "  --help, --version\n"
    "\n"
    "configuration (environment, or KEY=VALUE lines in the file named by COI_CONFIG):\n"
    "  COI_LISTEN (127.0.0.1:8080)  COI_DATABASE (sqlite:var/coi.db or postgresql://...)\n"
    "  COI_JWT_SECRET  COI_JWT_PUBLIC_KEY  COI_JWT_ISSUER  COI_JWT_AUDIENCE\n"
    "  COI_MAX_BODY_BYTES (1048576)  COI_DB_POOL_SIZE (8)  COI_LOG_LEVEL (info)\n"
    "  COI_DB_ACQUIRE_TIMEOUT_MS (2000)  COI_DB_STATEMENT_TIMEOUT_MS (5000)\n"
    "  COI_SHUTDOWN_TIMEOUT_MS (10000)\n";

static int load_config(struct config *cfg)
{
    char err[512];
    if (config_load(cfg, err, sizeof err) != 0) {
        fprintf(stderr, "coi: %s\n", err);
        return -1;
    }
    log_set_level(cfg->log_level);
    return 0;
}

static struct coi_storage *open_storage(const struct config *cfg)
{
    struct coi_storage *s;
    struct coi_storage_options o = {.pool_size = cfg->db_pool_size,
                                    .acquire_timeout_ms = cfg->db_acquire_timeout_ms,
                                    .statement_timeout_ms = cfg->db_statement_timeout_ms,
                                    .connect_timeout_s = 2};
    if (storage_open(&s, cfg->database, &o) != COI_OK) {
        fprintf(stderr, "coi: cannot open the database: %s\n", coi_error_detail());
        return NULL;
    }
    return s;
}

/* Reads the development secret, creating it (64 random hex digits, mode 0600) if absent. */
static int dev_secret(struct config *cfg)
{
    char buf[129] = "";
    FILE *f = fopen(DEV_SECRET_PATH, "r");
    if (f != NULL) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
    }
    if (strlen(buf) < 32) {
        unsigned char raw[32];
        if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
            return -1;
        for (size_t i = 0; i < sizeof raw; i++)
            snprintf(buf + 2 * i, 3, "%02x", raw[i]);
        mkdir("var", 0755);
        int fd = open(DEV_SECRET_PATH, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf)) {
            fprintf(stderr, "coi: cannot write %s: %s\n", DEV_SECRET_PATH, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
    }
    snprintf(cfg->jwt_secret, sizeof cfg->jwt_secret, "%s", buf);
    return 0;
}

static void print_dev_token(const struct config *cfg)
{
    char *token;
    struct token_claims claims = {.sub = "dev-admin", .role = "admin", .ttl_seconds = 86400};
    if (token_mint(&token, cfg, &claims) != COI_OK)
        return;
    fprintf(stderr,
            "\ncoi is running in development mode (JWT secret in %s).\n"
            "An admin token, valid 24 hours:\n\n  %s\n\nTry:\n\n"
            "  curl -H 'Authorization: Bearer %s' http://%s/v1/organisations/0101\n\n",
            DEV_SECRET_PATH, token, token, cfg->listen);
    free(token);
}

static int cmd_serve(int argc, char **argv)
{
    struct config cfg;
    int dev = argc > 1 && strcmp(argv[1], "--dev") == 0;
    if (argc > 1 + dev) {
        fputs(usage, stderr);
        return 2;
    }
    server_block_signals();
    if (load_config(&cfg) != 0)
        return 2;
    if (dev && !cfg.jwt_secret[0] && !cfg.jwt_public_key_path[0] && dev_secret(&cfg) != 0)
        return 1;
    struct coi_storage *s = open_storage(&cfg);
    if (s == NULL)
        return 1;
    if (storage_migrate(s, NULL, COI_MIGRATE_APPLY) != COI_OK) {
        fprintf(stderr, "coi: migrations: %s\n", coi_error_detail());
        storage_close(s);
        return 1;
    }
    struct auth_keys keys;
    char err[512];
    if (auth_keys_load(&keys, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "coi: %s\n", err);
        storage_close(s);
        return 2;
    }
    if (keys.alg == 0)
        log_msg(LOG_WARN, "no COI_JWT_SECRET or COI_JWT_PUBLIC_KEY: every caller is anonymous");
    if (dev && cfg.jwt_secret[0])
        print_dev_token(&cfg);
    /* One malloc arena per core instead of eight: with a thread per connection, every thread
     * would otherwise keep freed memory in an arena of its own, and the resident size grows
     * with the number of connections. */
    mallopt(M_ARENA_MAX, 2);
    cache_configure(cfg.cache_max_bytes);
    if (cfg.cache_max_bytes > 0 && cache_sync_start(s, cfg.cache_sync_ms) != 0)
        log_msg(LOG_WARN, "the response cache cannot follow the change feed: it stays off");
    int rc = server_run(&cfg, &keys, s);
    cache_sync_stop();
    auth_keys_free(&keys);
    storage_close(s);
    return rc;
}

static int cmd_migrate(int argc, char **argv)
{
    struct config cfg;
    struct coi_migration_report report = {0};
    int status_only = argc > 1 && strcmp(argv[1], "--status") == 0;
    if (argc > 1 + status_only) {
        fputs(usage, stderr);
        return 2;
    }
    if (load_config(&cfg) != 0)
        return 2;
    struct coi_storage *s = open_storage(&cfg);
    if (s == NULL)
        return 1;
    int rc = storage_migrate(s, &report, status_only ? COI_MIGRATE_VERIFY : COI_MIGRATE_APPLY);
    for (size_t i = 0; i < report.count; i++)
        printf("%04d  %-40s  %s\n", report.steps[i].number, report.steps[i].name,
               report.steps[i].applied_now ? "applied now"
               : report.steps[i].applied   ? report.steps[i].applied_at
                                           : "pending");
    if (rc != COI_OK)
        fprintf(stderr, "coi: migrations: %s\n", coi_error_detail());
    storage_migration_report_free(&report);
    storage_close(s);
    return rc == COI_OK ? 0 : 1;
}

static int cmd_token(int argc, char **argv)
{
    static const struct option options[] = {
        {"role", required_argument, NULL, 'r'}, {"party", required_argument, NULL, 'p'},
        {"org", required_argument, NULL, 'o'},  {"sub", required_argument, NULL, 's'},
        {"ttl", required_argument, NULL, 't'},  {NULL, 0, NULL, 0},
    };
    struct token_claims claims = {.ttl_seconds = 3600};
    struct config cfg;
    char *end, *token;
    int opt;

    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'r':
            claims.role = optarg;
            break;
        case 'p':
            claims.party = optarg;
            break;
        case 'o':
            claims.org = optarg;
            break;
        case 's':
            claims.sub = optarg;
            break;
        case 't':
            claims.ttl_seconds = strtol(optarg, &end, 10);
            if (*end != '\0' || claims.ttl_seconds <= 0) {
                fprintf(stderr, "coi: --ttl must be a positive number of seconds\n");
                return 2;
            }
            break;
        default:
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return 2;
    }
    if (claims.sub == NULL)
        claims.sub = claims.org ? claims.org : claims.party ? claims.party : claims.role;
    if (load_config(&cfg) != 0)
        return 2;
    if (!cfg.jwt_secret[0] && access(DEV_SECRET_PATH, R_OK) == 0 && dev_secret(&cfg) != 0)
        return 1;
    if (token_mint(&token, &cfg, &claims) != COI_OK) {
        fprintf(stderr, "coi: %s\n", coi_error_detail());
        return 2;
    }
    printf("%s\n", token);
    free(token);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("coi %s\n", COI_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "migrate") == 0)
        return cmd_migrate(argc - 1, argv + 1);
    if (strcmp(argv[1], "token") == 0)
        return cmd_token(argc - 1, argv + 1);
    if (strcmp(argv[1], "routes") == 0 && argc == 2) {
        routes_print();
        return 0;
    }
    if (strcmp(argv[1], "policy") == 0 && argc == 2) {
        policy_print();
        return 0;
    }
    fprintf(stderr, "coi: unknown command '%s'\n\n%s", argv[1], usage);
    return 2;
}
