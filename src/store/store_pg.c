/*
 * store_pg.c — the PostgreSQL engine of the store (issue 12): what only
 * PostgreSQL needs — the key store as a database of its own, opening and
 * closing — and store_pg_open. The queries are the shared store_*.c files
 * on db.h; the migrations runner is shared too (store_migrate.c), with
 * PostgreSQL's texts (embed_migrations.cmake).
 *
 * Invariants:
 *  1. The data and the key store are two databases, each with a pool of
 *     its own: the key store (keys.customer_keys, the customers' wrapped
 *     data keys) is never in the data database's backups, so destroying a
 *     key erases the sealed fields in every backup of the data too
 *     (docs/privacy.md). By default it is the database named like the data
 *     one with "_keys" after it, on the same server; --keys names another
 *     (another server, its own backup policy). The two must differ: the
 *     same database is refused.
 *  2. Writes to the key store commit on their own (store_int.h says in
 *     which order the query files make them, to fail safe).
 *  3. Several nodes may open one database at once: the migrations runner
 *     re-reads each version inside its write transaction (store_migrate.c),
 *     and the key store's table is made with IF NOT EXISTS under the same
 *     advisory lock.
 */
#include "store/store_int.h"
#include "util/err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_SIZE 8
#define KEYS_POOL_SIZE 4

static struct store_ops pg_ops;

static void pg_store_close(struct store *st)
{
    struct st_store *s = ST(st);
    db_close(s->keys);
    db_close(s->db);
    memset(s, 0, sizeof *s);
    free(s);
}

static void pg_once(void) { sti_ops_fill(&pg_ops, "postgresql", pg_store_close); }

/* The name of the database c is connected to, and where: "name@host:port". */
static int where(struct dbc *c, char *name, size_t nlen, char *full, size_t flen)
{
    json_t *row;
    int rc = db_row(c, &row,
                    "SELECT current_database() AS db, coalesce(host(inet_server_addr()), "
                    "'local') AS host, coalesce(inet_server_port(), 0) AS port",
                    NULL);
    if (rc) return rc;
    const char *db = json_string_value(json_object_get(row, "db"));
    snprintf(name, nlen, "%s", db ? db : "");
    snprintf(full, flen, "%s@%s:%lld", db ? db : "",
             json_string_value(json_object_get(row, "host")),
             (long long)json_integer_value(json_object_get(row, "port")));
    json_decref(row);
    return 0;
}

static int keys_schema(struct dbc *c)
{
    int rc = db_tx_begin(c);
    if (!rc)
        rc = db_script(c, "CREATE SCHEMA IF NOT EXISTS keys; "
                          "CREATE TABLE IF NOT EXISTS keys.customer_keys ("
                          "customer_id TEXT PRIMARY KEY, wrapped_key BYTEA NOT NULL, "
                          "created_at TEXT NOT NULL)");
    return db_tx_end(c, rc);
}

int store_pg_open(const char *conninfo, const char *keys_conninfo,
                  const uint8_t master_key[CRYPTO_KEY_LEN], struct store **ret, char *err,
                  size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, pg_once);
    err[0] = '\0';
    struct st_store *s = calloc(1, sizeof *s);
    if (!s) return SK_ENOMEM;
    s->base.ops = &pg_ops;
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper wrap v1", 18, s->k_wrap);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper email v1", 19, s->k_email);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper receipt v1", 21, s->k_receipt);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper service v1", 21, s->k_service);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper pseudonym v1", 23, s->k_pseudo);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper rate limit v1", 24, s->k_limit);

    char dname[256] = "", dwhere[600] = "", kname[300] = "", kwhere[600] = "";
    int rc = db_pg_open(conninfo, POOL_SIZE, &s->db, err, errlen);
    if (!rc) {
        struct dbc *c = db_acquire(s->db);
        rc = where(c, dname, sizeof dname, dwhere, sizeof dwhere);
        if (!rc) rc = sti_migrate(c, err, errlen);
        db_release(s->db, c);
    }
    if (!rc) {
        char kdb[300];
        snprintf(kdb, sizeof kdb, "%s_keys", dname);
        char kerr[400] = "";
        rc = keys_conninfo ? db_pg_open(keys_conninfo, KEYS_POOL_SIZE, &s->keys, kerr, sizeof kerr)
                           : db_pg_open_as(conninfo, kdb, KEYS_POOL_SIZE, &s->keys, kerr,
                                           sizeof kerr);
        if (rc)
            snprintf(err, errlen,
                     "cannot open the key store (%s): %s; create that database (it holds the "
                     "customers' data keys, apart from the data and its backups) or name "
                     "another with --keys",
                     keys_conninfo ? "--keys" : kdb, kerr);
    }
    if (!rc) {
        struct dbc *c = db_acquire(s->keys);
        rc = where(c, kname, sizeof kname, kwhere, sizeof kwhere);
        if (!rc && strcmp(kwhere, dwhere) == 0) {
            snprintf(err, errlen,
                     "the key store is the data's own database (%s): it must be another one, "
                     "kept out of the data's backups",
                     kwhere);
            rc = SK_EINVAL;
        }
        if (!rc && (rc = keys_schema(c)))
            snprintf(err, errlen, "cannot create the key store's table in %s", kwhere);
        db_release(s->keys, c);
    }
    if (rc) {
        if (!err[0]) snprintf(err, errlen, "%s", sk_strerror(rc));
        pg_store_close(&s->base);
        return rc;
    }
    *ret = &s->base;
    return 0;
}
