/*
 * store_int.h — what the files of the store share: its state, the query
 * helpers and the operations of struct store_ops (prefix sti_). Nothing
 * outside src/store includes it.
 *
 * The layout of src/store: the query files store_<domain>.c (tokens,
 * brands, customers, consent, members, recognition, rights, staff,
 * catalogue, people, suggest, account, pairing, limits) hold the SQL, written once
 * against db.h, with store_common.c's helpers; store_ops.c builds the one
 * table of operations from them. Each engine is a driver of db.h
 * (db_sqlite.c; db_pg.c) and a small opener (store_sqlite.c) that owns
 * what only that engine needs (migrations runner, checkpointer, connection
 * setup). Only db_sqlite.c and store_sqlite.c call SQLite; no query file
 * calls into an engine file, nor any engine file into another.
 *
 * Queries go through db.h on a connection of s->db (db_acquire); the
 * helpers here take the caller's connection (struct dbc) and run inside its
 * transaction. They return 0 or an SK_E* code (a constraint violation is
 * SK_ECONFLICT).
 */
#ifndef SK_STORE_INT_H
#define SK_STORE_INT_H

#include "store/db.h"
#include "store/store.h"
#include "util/strmap.h"
#include "util/timeutil.h"

#include <stdarg.h>

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* The store's state every engine shares; an engine's own state embeds it
 * first (struct sqlite_store, store_sqlite.c), as it embeds struct store. */
struct st_store {
    struct store base;
    struct db *db;                     /* the pool of connections (the engine's driver) */
    struct db *keys;                   /* the key store's own pool; NULL: attached to db's
                                        * connections as schema "keys" (SQLite) */
    uint8_t k_wrap[CRYPTO_KEY_LEN];    /* wraps customer data keys */
    uint8_t k_email[CRYPTO_KEY_LEN];   /* keyed hash of customer emails */
    uint8_t k_receipt[CRYPTO_KEY_LEN]; /* consent receipts */
    uint8_t k_service[CRYPTO_KEY_LEN]; /* the service's own keys */
    uint8_t k_pseudo[CRYPTO_KEY_LEN];  /* pseudonyms of erased customers */
    uint8_t k_limit[CRYPTO_KEY_LEN];   /* keyed hash of rate-limit keys */
};

#define ST(st) ((struct st_store *)(st))

/* Fills ops with every operation of the query files (store_ops.c), and the
 * engine's name and close. */
void sti_ops_fill(struct store_ops *ops, const char *name, void (*close)(struct store *st));

/* Brings the schema on c up to date (store_migrate.c, migrations.h); err
 * says why not. */
int sti_migrate(struct dbc *c, char *err, size_t errlen);

/* ---- query helpers (store_common.c) ---------------------------------- */
/* the text of column i into buf (truncated); "" for NULL */
void sti_cur_text(struct db_cur *cur, int i, char *buf, size_t len);
/* the JSON text of a row's field, parsed (new reference); NULL if absent */
json_t *sti_json_parse_text(json_t *row, const char *field);
/* enum principal_kind -> the kind's name as stored in tokens and store keys */
extern const char *const sti_kind_names[];

char *sti_now_text(char buf[TIME_RFC3339_LEN]);
/* rows fetched with LIMIT n+1 -> {items, next} */
json_t *sti_page_wrap(json_t *rows, int limit);

/* customer keys and sealed fields (store_common.c). The key store holds
 * each customer's data key in keys.customer_keys. Attached (SQLite: a file
 * of its own, attached to every connection) its writes are part of the
 * caller's transaction; in a database of its own (PostgreSQL, s->keys)
 * they commit at once, so callers order them to fail safe: a key is
 * written before the rows it seals (a failure leaves a key that opens
 * nothing, which the caller removes), and destroyed before the rows it
 * sealed are deleted (a failure leaves rows no one can read, which the
 * erasure's retry deletes). */
int sti_key_put(struct st_store *s, struct dbc *db, const char *cid, const void *wrapped,
                size_t len, const char *now);
int sti_key_delete(struct st_store *s, struct dbc *db, const char *cid);
int sti_cust_key(struct st_store *s, struct dbc *db, const char *cid,
                 uint8_t ret[CRYPTO_KEY_LEN]);
int sti_seal_field(const uint8_t key[CRYPTO_KEY_LEN], const char *cid, const char *field,
                   const char *text, uint8_t **ret, size_t *ret_len);
int sti_open_field(const uint8_t key[CRYPTO_KEY_LEN], const char *cid, const char *field,
                   const void *blob, size_t len, char **ret);
int sti_open_json(const uint8_t key[CRYPTO_KEY_LEN], const char *cid, const char *field,
                  struct db_cur *cur, int col, json_t **ret);
void sti_email_hash(struct st_store *s, const char *email, char ret[65]);
/* a customer row with name and email opened (store_customers.c) */
int sti_customer_read(struct st_store *s, struct dbc *db, const char *cid, json_t **ret);

/* consent (store_consent.c) */
int sti_load_purposes(struct dbc *db, const char *cid, const char *bid, struct purpose_set *ret);
json_t *sti_purposes_json(const struct purpose_set *ps);
int sti_membership_read(struct dbc *db, const char *cid, const char *bid, json_t **ret);
int sti_prefs_read(struct st_store *s, struct dbc *db, const char *cid, const char *bid,
                   const char *sql, json_t **ret);

/* the access log (store_members.c; within the caller's transaction) */
void sti_access_hash(const char *prev, const char *id, const char *cid, const char *bid,
                     const char *store_id, const char *kind, const char *role,
                     const char *fields, const char *purpose, const char *at, char ret[65]);
void sti_access_head(struct dbc *db, const char *cid, char ret[65]);
int sti_access_append(struct dbc *db, const char *cid, const char *bid, const struct actor *who,
                      const char *fields, const char *purpose);
/* the brand's consent-filtered view of a member (within the caller's
 * transaction); ret_fields/ret_purposes name what was read, for the log */
int sti_member_read(struct st_store *s, struct dbc *db, const char *bid, const char *cid,
                    json_t **ret, char *ret_fields, size_t flen, char *ret_purposes,
                    size_t plen);

/* staff, stores and store keys (store_staff.c) */
/* fills p's grants and primary role (within the caller's read) */
int sti_staff_grants_load(struct dbc *db, const char *staff_id, struct principal *p);
int sti_staff_create(struct store *st, const char *bid, const char *email, const char *name,
                     json_t *grants, const char *pwhash, json_t **ret);
int sti_staff_get(struct store *st, const char *bid, const char *sid, json_t **ret);
int sti_staff_list(struct store *st, const char *bid, const char *store_id,
                   const struct page *pg, json_t **ret);
int sti_staff_update(struct store *st, const char *bid, const char *sid, json_t *f,
                     json_t **ret);
int sti_staff_login(struct store *st, const char *email, struct login_rec *ret);
int sti_store_update(struct store *st, const char *bid, const char *sid, json_t *f,
                     json_t **ret);
int sti_store_close(struct store *st, const char *bid, const char *sid, json_t **ret);
int sti_store_key_list(struct store *st, const char *sid, json_t **ret);
int sti_store_key_revoke(struct store *st, const char *sid, const char *key_id, json_t **ret);
int sti_store_key_seen(struct store *st, const char *key_id, int64_t at_us);
int sti_member_search(struct store *st, const char *bid, const char *q, int limit,
                      const struct actor *who, json_t **ret);

/* catalogue and purchases (store_catalogue.c) */
int sti_item_put(struct store *st, const char *bid, const char *sku, json_t *item, json_t **ret,
                 int *ret_created);
int sti_item_get(struct store *st, const char *bid, const char *sku, json_t **ret);
int sti_item_list(struct store *st, const char *bid, const struct page *pg, json_t **ret);
int sti_purchase_create(struct store *st, const char *bid, const char *key, const char *body_hash,
                        json_t *p, json_t **ret, int *ret_replayed, int *ret_bad_line);
int sti_purchase_list_mine(struct store *st, const char *cid, const char *bid,
                           const struct page *pg, json_t **ret);
/* within the caller's transaction: the customer's purchases at the brand
 * become anonymous baskets (history withdrawn, brand left) */
int sti_purchases_unlink(struct dbc *db, const char *cid, const char *bid);
/* the export's "purchases" section (in the caller's read) */
int sti_purchases_export(struct dbc *db, const char *cid, json_t **ret);

/* people and households (store_people.c) */
int sti_person_create(struct store *st, const char *cid, json_t *person, int max, json_t **ret);
int sti_person_list(struct store *st, const char *cid, json_t **ret);
int sti_person_get(struct store *st, const char *cid, const char *pid, json_t **ret);
int sti_person_put(struct store *st, const char *cid, const char *pid, json_t *person,
                   json_t **ret);
int sti_person_delete(struct store *st, const char *cid, const char *pid);
int sti_household_invite(struct store *st, const char *cid, const char *email, int max_pending,
                         json_t **ret);
int sti_household_get(struct store *st, const char *cid, json_t **ret);
int sti_household_answer(struct store *st, const char *cid, const char *iid, int accept,
                         int max_members);
int sti_household_cancel(struct store *st, const char *cid, const char *iid);
int sti_household_unlink(struct store *st, const char *cid, const char *member);
/* the export's "people" and "household" sections (in the caller's read) */
int sti_people_export(struct st_store *s, struct dbc *db, const char *cid, json_t *out);

/* suggestions (store_suggest.c) */
int sti_suggest_stamp(struct store *st, const char *bid, int64_t *ret);
int sti_suggest_baskets(struct store *st, const char *bid, json_t **ret);
int sti_suggest_context(struct store *st, const char *bid, const char *cid, json_t **ret);
int sti_suggest_shown(struct store *st, const char *bid, const char *cid, const char *visit_id,
                      json_t *list);
int sti_suggest_outcome(struct store *st, const char *store_id, const char *visit_id,
                        const char *sku, const char *outcome, const struct actor *who,
                        char ret_cid[ID_MAX], char ret_bid[ID_MAX]);
int sti_suggest_dismiss(struct store *st, const char *bid, const char *cid, const char *sku);
/* the export's "suggestions" section (in the caller's read) */
int sti_suggestions_export(struct dbc *db, const char *cid, json_t **ret);

/* accounts and one-time password links (store_account.c) */
int sti_account_pwhash_get(struct store *st, enum principal_kind kind, const char *id,
                           char ret[CRYPTO_PWHASH_MAX]);
int sti_account_password_set(struct store *st, enum principal_kind kind, const char *id,
                             const char *pwhash, const char *keep_token_hash);
int sti_customer_email_set(struct store *st, const char *cid, const char *email);
int sti_pwlink_create(struct store *st, enum principal_kind kind, const char *id,
                      const char *purpose, const char *token_hash, int64_t expires_us);
int sti_pwlink_use(struct store *st, const char *token_hash, int64_t now_us, const char *pwhash,
                   struct principal *ret);
int sti_pwlink_get(struct store *st, const char *token_hash, int64_t now_us, json_t **ret);

/* counter display pairings (store_pairing.c) */
int sti_pairing_create(struct store *st, const char *id, const char *secret_hash,
                       const char *code_hash, int64_t expires_us, json_t **ret);
int sti_pairing_poll(struct store *st, const char *id, const char *secret_hash,
                     const char *key_hash, json_t **ret);
int sti_pairing_claim(struct store *st, const char *bid, const char *sid, const char *code_hash,
                      const char *name, int64_t expires_us, json_t **ret);

/* rate limits shared by the nodes of a database (store_limits.c) */
int sti_limit_hit(struct store *st, const char *key, int64_t window_us, int64_t now_us,
                  int64_t *ret_hits, int64_t *ret_start_us);
int sti_limit_get(struct store *st, const char *key, int64_t now_us, int64_t *ret_hits,
                  int64_t *ret_start_us);
int sti_limit_clear(struct store *st, const char *key);
int sti_limits_sweep(struct store *st, int64_t now_us, int64_t *ret_n);
/* the outbox between nodes (store_outbox.c) */
int sti_change_list(struct store *st, int64_t *cursor, json_t **ret);
int sti_changes_expire(struct store *st, int64_t before_us, int64_t *ret_n);

/* ---- the operations of store_ops, by file (store_ops.c fills the table) */

/* operators and tokens (store_tokens.c) */
int sti_operator_create(struct store *st, const char *name, char ret_id[ID_MAX]);
int sti_token_create(struct store *st, enum principal_kind kind, const char *subject_id,
                     const char *brand_id, const char *store_id, const char *hash,
                     int64_t expires_us);
int sti_token_lookup(struct store *st, const char *hash, int64_t now_us,
                     struct principal *ret);
int sti_token_revoke(struct store *st, const char *hash);

/* brands, choices and notice (store_brands.c) */
int sti_brand_create(struct store *st, const char *name, const char *slug, json_t **ret);
int sti_brand_get(struct store *st, const char *ref, json_t **ret);
int sti_brand_list(struct store *st, const struct page *pg, json_t **ret);
int sti_choices_put(struct store *st, const char *brand_id, json_t *normalized,
                    json_t **ret);
int sti_notice_get(struct store *st, const char *brand_id, int64_t version, json_t **ret);
int sti_choices_get(struct store *st, const char *brand_id, int64_t version, json_t **ret);
int sti_notice_put(struct store *st, const char *brand_id, json_t *notice, json_t **ret);

/* customers (store_customers.c) */
int sti_customer_create(struct store *st, const char *name, const char *email,
                        const char *pwhash, json_t **ret);
int sti_customer_login(struct store *st, const char *email, struct login_rec *ret);
int sti_customer_get(struct store *st, const char *cid, json_t **ret);
int sti_customer_rename(struct store *st, const char *cid, const char *name);

/* memberships, the consent ledger and preferences (store_consent.c) */
int sti_membership_put(struct store *st, const char *cid, const char *bid,
                       const struct purpose_set *wanted, const char *via, json_t **ret);
int sti_membership_leave(struct store *st, const char *cid, const char *bid,
                         const char *via);
int sti_membership_get(struct store *st, const char *cid, const char *bid, json_t **ret);
int sti_membership_list(struct store *st, const char *cid, json_t **ret);
int sti_consent_ledger(struct store *st, const char *cid, const struct page *pg,
                       json_t **ret);
int sti_preferences_put(struct store *st, const char *cid, const char *bid,
                        int64_t choices_version, json_t *answers, json_t *dont,
                        json_t **ret);
int sti_preferences_get(struct store *st, const char *cid, const char *bid, json_t **ret);

/* the brand's view and the access log (store_members.c) */
int sti_member_view(struct store *st, const char *bid, const char *cid,
                    const struct actor *who, json_t **ret);
int sti_card_data(struct store *st, const char *bid, const char *cid, json_t **ret);
int sti_access_log_add(struct store *st, const char *cid, const char *bid,
                       const struct actor *who, const char *fields, const char *purpose);
int sti_access_log_list(struct store *st, const char *cid, const char *bid,
                        const struct page *pg, json_t **ret);

/* devices, service keys and visits (store_recognition.c) */
int sti_device_create(struct store *st, const char *cid, const char *name,
                      const char *method, const uint8_t ik[16], unsigned k,
                      uint32_t clock_offset, json_t **ret);
int sti_device_list(struct store *st, const char *cid, json_t **ret);
int sti_device_delete(struct store *st, const char *cid, const char *did);
int sti_device_each(struct store *st, const char *only,
                    int (*fn)(void *ctx, const char *device_id, const char *customer_id,
                              const uint8_t ik[16], unsigned k, uint32_t clock_offset),
                    void *ctx);
int sti_service_key_get(struct store *st, const char *name, uint8_t *ret, size_t len);
int sti_service_key_put(struct store *st, const char *name, const uint8_t *value,
                        size_t len);
int sti_visit_open(struct store *st, const char *bid, const char *sid, const char *cid,
                   const char *channel, int64_t at_us, const char *node, struct visit_row *ret,
                   int *ret_joined);
int sti_visit_seen(struct store *st, const char *vid, int64_t last_seen_us);
int sti_visit_close(struct store *st, const char *vid, int64_t last_seen_us,
                    int64_t closed_us, const char *reason);
int sti_visit_close_quiet(struct store *st, const char *vid, int64_t last_seen_us,
                          int64_t cutoff_us, int64_t closed_us, int64_t *ret_last_seen_us);
int sti_visits_open_each(struct store *st, const char *sid, const char *vid,
                         int (*fn)(void *ctx, const struct visit_row *v), void *ctx);
int sti_visits_close_orphans(struct store *st, int64_t cutoff_us, int64_t closed_us,
                             int (*fn)(void *ctx, const struct visit_row *v), void *ctx);
int sti_visit_served(struct store *st, const char *vid, int64_t at_us);
int sti_visits_close_open(struct store *st, int64_t closed_us, const char *reason,
                          const char *node, int64_t *ret_n);

/* export, erasure, the log's integrity, retention, a brand's export
 * (store_rights.c) */
int sti_customer_export(struct store *st, const char *cid, json_t **ret);
int sti_customer_erase(struct store *st, const char *cid, char ret_pseudonym[ID_MAX]);
int sti_access_log_verify(struct store *st, const char *cid, json_t **ret);
int sti_retention_sweep(struct store *st, int64_t visits_before_us,
                        int64_t access_before_us, json_t **ret);
int sti_brand_member_export(struct store *st, const char *bid, const char *cid,
                            const struct actor *who, json_t **ret);

/* stores and store keys (store_staff.c, with staff above) */
int sti_store_create(struct store *st, const char *brand_id, json_t *f, json_t **ret);
int sti_store_get(struct store *st, const char *brand_id, const char *store_id,
                  json_t **ret);
int sti_store_list(struct store *st, const char *brand_id, const struct page *pg,
                   json_t **ret);
int sti_store_key_create(struct store *st, const char *bid, const char *sid,
                         enum principal_kind kind, const char *name, const char *hash,
                         json_t **ret);

#endif
