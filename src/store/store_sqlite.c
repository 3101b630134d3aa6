/*
 * store_sqlite.c — the SQLite engine of the store: what only SQLite needs
 * (the WAL checkpointer and its hook, each connection's setup with the key
 * store attached, opening and closing) and the store_sqlite_open* entry
 * points; the migrations runner is shared (store_migrate.c). With db_sqlite.c it is the only file
 * that calls SQLite; the queries are the shared store_*.c files, on db.h.
 *
 * Invariants:
 *  1. Connections come from a fixed pool; a connection is used by one thread
 *     at a time (db_acquire/db_release, db.h), so SQLite runs in its
 *     multi-thread mode with WAL, a busy handler (conn_busy) and foreign keys on.
 *  2. Every write is one BEGIN IMMEDIATE ... COMMIT (db_tx_begin/db_tx_end);
 *     any error rolls back.
 *  3. Commits never checkpoint the WAL (wal_autocheckpoint is off on the
 *     pool); a background thread checkpoints passively every second, or as
 *     soon as a commit sees the WAL pass WAL_WAKE_FRAMES, so a request never
 *     pays for copying pages back into the database. Passive checkpoints
 *     alone never let the WAL start over under steady writes (the next
 *     writer restarts it only if it found every frame copied back and no
 *     reader in it), so past WAL_RESTART_FRAMES the checkpointer runs a
 *     RESTART checkpoint, which holds writers back for the few frames left
 *     and waits for readers briefly (ckpt_busy); journal_size_limit then
 *     cuts the file back to WAL_SIZE_LIMIT when the log restarts.
 *  4. Pool connections keep the statements they ran prepared (db_sqlite.c's
 *     cache) and reset each one as its query ends.
 */
#include "store/store_int.h"
#include "store/db_sqlite.h"
#include "util/err.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL_SIZE 8
#define BUSY_TIMEOUT_MS 5000

/* A SQLite store: the engine-neutral state (store_int.h) first, so that
 * ST() and the query files see it as a struct st_store, then what only this
 * engine needs: the WAL checkpointer (a thread with a connection of its
 * own, outside the pool). */
struct sqlite_store {
    struct st_store st;
    pthread_t ckpt;   /* the WAL checkpointer */
    int ckpt_running;
    int ckpt_wake;    /* a commit saw the WAL pass WAL_WAKE_FRAMES */
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cv;
    sqlite3 *ckpt_db;
};

/* The table of operations (store_ops.c) with this engine's name and close,
 * filled once per process (sqlite_once). */
static struct store_ops sqlite_ops;

/* ---- the WAL checkpointer ----------------------------------------------
 * Sizes in WAL frames (one page, 4 KiB, each): at ~500 purchases a second
 * the log grows by ~27 MB a second, so waiting for the once-a-second tick
 * is not enough; a commit that sees the log past WAL_WAKE_FRAMES wakes the
 * checkpointer at once (wal_hook: a lock and a signal, no I/O). */
#define WAL_WAKE_FRAMES 4096             /* 16 MiB: wake the checkpointer */
#define WAL_RESTART_FRAMES 8192          /* 32 MiB: make the log start over */
#define WAL_SIZE_LIMIT (32 * 1024 * 1024) /* journal_size_limit, bytes */
#define CKPT_BUSY_STEPS 200              /* x 250 us: wait 50 ms for readers */

static int wal_hook(void *arg, sqlite3 *db, const char *zdb, int frames)
{
    (void)db;
    (void)zdb;
    struct sqlite_store *s = arg;
    if (frames >= WAL_WAKE_FRAMES) {
        pthread_mutex_lock(&s->ckpt_mu);
        if (!s->ckpt_wake) {
            s->ckpt_wake = 1;
            pthread_cond_signal(&s->ckpt_cv);
        }
        pthread_mutex_unlock(&s->ckpt_mu);
    }
    return SQLITE_OK;
}

/* The checkpointer's busy handler. A RESTART checkpoint holds the write
 * lock while it waits for readers still in the old log, so it waits only
 * briefly; if they are not done it gives up (SQLITE_BUSY), writers go on,
 * and the next round tries again. */
static int ckpt_busy(void *arg, int n)
{
    (void)arg;
    if (n >= CKPT_BUSY_STEPS) return 0;
    struct timespec ts = {0, 250 * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

/* One round: copy back what can be copied without waiting; then, for a
 * log past WAL_RESTART_FRAMES, a RESTART checkpoint so that the next
 * writer starts the log over (a passive checkpoint just before leaves
 * only the frames written since for it to copy while writers wait). */
static int checkpoint_round(struct sqlite_store *s)
{
    static const char *const dbs[] = {"main", "keys"};
    int busy = 0;
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        int log = 0, done = 0;
        sqlite3_wal_checkpoint_v2(s->ckpt_db, dbs[i], SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        if (log < WAL_RESTART_FRAMES) continue;
        int64_t t0 = time_now_us();
        int rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, dbs[i], SQLITE_CHECKPOINT_RESTART, &log,
                                           &done);
        char frames[16], ms[24];
        snprintf(frames, sizeof frames, "%d", log);
        snprintf(ms, sizeof ms, "%.2f", (double)(time_now_us() - t0) / 1000.0);
        log_kv(rc == SQLITE_OK ? LOG_DEBUG : LOG_INFO, "sqlite.checkpoint", "db", dbs[i], "mode",
               "restart", "frames", frames, "result", rc == SQLITE_OK ? "ok" : "readers busy",
               "ms", ms, NULL);
        if (rc != SQLITE_OK) busy = 1;
    }
    return busy;
}

static void *checkpointer(void *arg)
{
    struct sqlite_store *s = arg;
    long backoff_ms = 0; /* after a RESTART gave up: a long reader; writers go first */
    pthread_mutex_lock(&s->ckpt_mu);
    while (s->ckpt_running) {
        if (!s->ckpt_wake || backoff_ms) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            long ms = backoff_ms ? backoff_ms : 1000;
            ts.tv_sec += ms / 1000;
            ts.tv_nsec += (ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            /* woken early only to stop while backing off */
            while (s->ckpt_running && (backoff_ms || !s->ckpt_wake) &&
                   pthread_cond_timedwait(&s->ckpt_cv, &s->ckpt_mu, &ts) == 0)
                ;
        }
        if (!s->ckpt_running) break;
        s->ckpt_wake = 0;
        pthread_mutex_unlock(&s->ckpt_mu);
        int busy = checkpoint_round(s);
        backoff_ms = !busy ? 0 : backoff_ms ? (backoff_ms * 2 > 1000 ? 1000 : backoff_ms * 2) : 50;
        pthread_mutex_lock(&s->ckpt_mu);
    }
    pthread_mutex_unlock(&s->ckpt_mu);
    return NULL;
}

static void sqlite_close(struct store *st)
{
    struct sqlite_store *s = (struct sqlite_store *)st;
    pthread_mutex_lock(&s->ckpt_mu);
    int was = s->ckpt_running;
    s->ckpt_running = 0;
    pthread_cond_signal(&s->ckpt_cv);
    pthread_mutex_unlock(&s->ckpt_mu);
    if (was) pthread_join(s->ckpt, NULL);
    if (s->ckpt_db) sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    sqlite3_close(s->ckpt_db);
    pthread_mutex_destroy(&s->ckpt_mu);
    pthread_cond_destroy(&s->ckpt_cv);
    db_close(s->st.db);
    memset(s, 0, sizeof *s);
    free(s);
}


/* Waits while another connection writes. SQLite's own busy timeout sleeps
 * 1 ms at the least, then longer; a write here holds the lock for a tenth
 * of that, so a card that met another card's write waited ten times what it
 * had to. Short sleeps first, doubling to 1 ms, for BUSY_TIMEOUT_MS in all. */
static int conn_busy(void *arg, int n)
{
    (void)arg;
    enum { STEPS = 6, FIRST_US = 25 }; /* 25, 50 ... 800 us: 1.6 ms */
    if (n >= STEPS + BUSY_TIMEOUT_MS) return 0;
    long us = n < STEPS ? (long)FIRST_US << n : 1000;
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

/* Sets up one connection (db_sqlite.c's pool calls it for each): the
 * busy handler, pragmas, and the key store attached. cls: the key store's
 * path. */
static int conn_setup(sqlite3 *db, void *cls, char *err, size_t errlen)
{
    const char *keys = cls, *path = sqlite3_db_filename(db, "main");
    if (!path) path = "";
    sqlite3_busy_handler(db, conn_busy, NULL);
    /* SHOPKEEPER_SQLITE_SYNC: NORMAL (default; safe with WAL), FULL, or OFF
     * for bulk loads such as the benchmarks' seeding, never in production */
    const char *sync = getenv("SHOPKEEPER_SQLITE_SYNC");
    if (!sync || (strcmp(sync, "OFF") && strcmp(sync, "FULL"))) sync = "NORMAL";
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA foreign_keys = ON; "
             "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %d;",
             sync, WAL_SIZE_LIMIT);
    if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot configure database %s: %s", path, sqlite3_errmsg(db));
        return SK_EDB;
    }
    /* the key store: a file of its own, so a copy of the database holds no
     * key (see migration 0003); erased rows are overwritten, not left in
     * free pages */
    sqlite3_stmt *att;
    int ok = sqlite3_prepare_v2(db, "ATTACH DATABASE ? AS keys", -1, &att, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(att, 1, keys, -1, SQLITE_TRANSIENT);
        ok = sqlite3_step(att) == SQLITE_DONE;
        sqlite3_finalize(att);
    }
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA keys.journal_mode = WAL; PRAGMA keys.synchronous = %s; "
             "PRAGMA secure_delete = ON; PRAGMA keys.secure_delete = ON; "
             "PRAGMA keys.journal_size_limit = %d;",
             sync, WAL_SIZE_LIMIT);
    if (!ok || sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the key store %s: %s", keys, sqlite3_errmsg(db));
        return SK_EDB;
    }
    return 0;
}

/* A connection outside the pool (the checkpointer's), set up the same. */
static int conn_open(const char *path, const char *keys, sqlite3 **ret, char *err, size_t errlen)
{
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return SK_EDB;
    }
    int rc = conn_setup(db, (void *)keys, err, errlen);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *ret = db;
    return 0;
}

static void install_wal_hook(sqlite3 *db, void *s) { sqlite3_wal_hook(db, wal_hook, s); }

int store_sqlite_open(const char *path, const uint8_t master_key[CRYPTO_KEY_LEN],
                      struct store **ret, char *err, size_t errlen)
{
    return store_sqlite_open_keys(path, NULL, master_key, ret, err, errlen);
}

/* Once per process, before SQLite starts: no memory statistics, which
 * SQLite keeps under one global mutex that every allocation of every
 * connection takes (requests on two cores queued on it); and the table of
 * operations. */
static void sqlite_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sti_ops_fill(&sqlite_ops, "sqlite", sqlite_close);
}

int store_sqlite_open_keys(const char *path, const char *keys_path,
                           const uint8_t master_key[CRYPTO_KEY_LEN], struct store **ret,
                           char *err, size_t errlen)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    pthread_once(&configured, sqlite_once);
    err[0] = '\0';
    char keys[1100];
    if (keys_path) snprintf(keys, sizeof keys, "%s", keys_path);
    else snprintf(keys, sizeof keys, "%s.keys", path);
    struct sqlite_store *s = calloc(1, sizeof *s);
    if (!s) return SK_ENOMEM;
    s->st.base.ops = &sqlite_ops;
    pthread_mutex_init(&s->ckpt_mu, NULL);
    pthread_cond_init(&s->ckpt_cv, NULL);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper wrap v1", 18, s->st.k_wrap);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper email v1", 19, s->st.k_email);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper receipt v1", 21, s->st.k_receipt);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper service v1", 21, s->st.k_service);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper pseudonym v1", 23, s->st.k_pseudo);
    crypto_hmac_sha256(master_key, CRYPTO_KEY_LEN, "shopkeeper rate limit v1", 24, s->st.k_limit);
    int rc = db_sqlite_open_with(path, POOL_SIZE, conn_setup, keys, &s->st.db, err, errlen);
    if (!rc) {
        struct dbc *c = db_acquire(s->st.db);
        rc = sti_migrate(c, err, errlen);
        db_release(s->st.db, c);
    }
    if (!rc) rc = conn_open(path, keys, &s->ckpt_db, err, errlen);
    if (!rc) {
        db_sqlite_each(s->st.db, install_wal_hook, s);
        sqlite3_busy_handler(s->ckpt_db, ckpt_busy, NULL);
        s->ckpt_running = 1;
        if (pthread_create(&s->ckpt, NULL, checkpointer, s)) s->ckpt_running = 0;
    }
    if (rc) {
        sqlite_close(&s->st.base);
        return rc;
    }
    *ret = &s->st.base;
    return 0;
}
