/* SQLite batch writes of cases: one transaction for the batch, one savepoint per write, so
 * that each write is kept or undone on its own at the cost of a single commit. */
#include "storage/sqlite/sqlite_internal.h"

#include <stdio.h>

static int exec(sqlite3 *db, const char *sql, const char *what)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? COI_OK : sqlite_fail(db, rc, NULL, what);
}

/* Records failure `rc` of `op` with the detail and field coi_error_set left. */
static void op_fail(struct coi_case_write *op, int rc)
{
    const char *field = coi_error_field();
    op->rc = rc;
    snprintf(op->message, sizeof op->message, "%s", coi_error_detail());
    snprintf(op->field, sizeof op->field, "%s", field != NULL ? field : "");
}

/* Performs `op` under a savepoint: kept when it succeeds, rolled back to when it fails (the
 * failure recorded in `op`). COI_OK unless the batch's transaction itself is lost or cannot
 * go on; then that error. */
static int write_one(sqlite3 *db, struct coi_case_write *op, const struct coi_actor *actor)
{
    int rc = exec(db, "SAVEPOINT batch_write", "cannot start a write of the batch");
    if (rc != COI_OK)
        return rc;
    if (op->kind == COI_CASE_WRITE_CREATE)
        rc = sqlite_case_create_in(db, &op->out, op->c, actor, op->changed_fields);
    else
        rc = sqlite_case_update_in(db, &op->out, op->id, op->c, op->expected_version, actor,
                                   op->changed_fields);
    if (rc == COI_OK)
        return exec(db, "RELEASE batch_write", "cannot keep a write of the batch");
    op_fail(op, rc);
    /* Some errors (I/O, a full disk) make SQLite roll the whole transaction back. */
    if (sqlite3_get_autocommit(db))
        return rc;
    if ((rc = exec(db, "ROLLBACK TO batch_write", "cannot undo a write of the batch")) != COI_OK)
        return rc;
    return exec(db, "RELEASE batch_write", "cannot undo a write of the batch");
}

/* The batch as a whole failed with `rc`: nothing of it is kept, so no op keeps a record. */
static void batch_fail(struct coi_case_write *ops, size_t n, int rc)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(ops[i].out);
        ops[i].out = NULL;
        op_fail(&ops[i], rc);
    }
}

int sqlite_case_write_batch(struct coi_storage *s, struct coi_case_write *ops, size_t n,
                            const struct coi_actor *actor)
{
    struct sqlite_storage *st = sqlite_storage_from(s);
    sqlite3 *db = NULL;
    int rc;

    for (size_t i = 0; i < n; i++) {
        ops[i].out = NULL;
        ops[i].rc = COI_OK;
        ops[i].field[0] = ops[i].message[0] = '\0';
    }
    if (n == 0)
        return COI_OK;
    if ((rc = sqlite_conn_acquire(st, &db)) == COI_OK && (rc = sqlite_begin(db)) == COI_OK)
        for (size_t i = 0; i < n && rc == COI_OK; i++)
            rc = write_one(db, &ops[i], actor);
    if ((rc = sqlite_write_end(st, db, rc, NULL, NULL)) != COI_OK)
        batch_fail(ops, n, rc);
    return rc;
}
