/*
 * store.h — the one storage interface.
 *
 * One struct store_ops, filled with designated initializers from the query
 * files (store_ops.c), serves every engine; an engine embeds struct store
 * first in its own state. Callers only ever use st->ops->fn(st, ...).
 * SQLite is the default engine; PostgreSQL goes behind the same table.
 *
 * Rules every backend keeps:
 *  - Consent is enforced in the queries: a read on behalf of a brand returns
 *    a customer's field only if the matching purpose is granted at that
 *    moment (member_view); a non-member is indistinguishable from no one.
 *  - Sealed fields (what customers typed about themselves) are encrypted with
 *    the customer's data key, which is wrapped by the master key.
 *  - Every function returns 0 or a negative SK_E* code; json_t **ret outputs
 *    are new references owned by the caller, written only on success.
 *  - Every write is one transaction: on error nothing is half-applied.
 */
#ifndef SK_STORE_H
#define SK_STORE_H

#include "core/purpose.h"
#include "core/roles.h"
#include "util/crypto.h"
#include "util/ids.h"

#include <jansson.h>
#include <stdint.h>

enum principal_kind {
    PRINCIPAL_NONE = 0,
    PRINCIPAL_OPERATOR,
    PRINCIPAL_STAFF,
    PRINCIPAL_CUSTOMER,
    PRINCIPAL_SCANNER,
    PRINCIPAL_DISPLAY,
    PRINCIPAL_POS, /* a store's point-of-sale key */
};

#define ROLE_MAX 16

/* Who is calling, as resolved from a bearer token. */
struct principal {
    enum principal_kind kind;
    char id[ID_MAX];       /* operator, staff, customer or store key id */
    char brand_id[ID_MAX]; /* staff and store keys */
    char store_id[ID_MAX]; /* store keys */
    char role[ROLE_MAX];   /* staff: the most senior role held, for display and logs */
    char token_hash[TOKEN_HASH_MAX];
    size_t ngrants;        /* staff: what they may do, and where */
    struct staff_grant grants[GRANTS_MAX];
};

/* A login candidate, for POST /v1/sessions. */
struct login_rec {
    char id[ID_MAX];
    char brand_id[ID_MAX];
    char role[ROLE_MAX];
    char pwhash[CRYPTO_PWHASH_MAX];
};

/* Who looked, for the access log. Never a person's name. */
struct actor {
    const char *kind;     /* staff | display | partner | export */
    const char *role;     /* staff role or key kind */
    const char *store_id; /* or NULL */
};

struct page {
    const char *after; /* cursor: the last id of the previous page, or NULL */
    int limit;
};

struct store;

/* An open visit as the database holds it (every node reads the same). */
struct visit_row {
    char id[ID_MAX];
    char brand_id[ID_MAX];
    char store_id[ID_MAX];
    char customer_id[ID_MAX];
    char channel[8];
    int64_t opened_us, last_seen_us;
    int64_t served_us; /* 0: not served */
};

struct store_ops {
    const char *name;
    void (*close)(struct store *st);

    /* operators and tokens */
    int (*operator_create)(struct store *st, const char *name, char ret_id[ID_MAX]);
    int (*token_create)(struct store *st, enum principal_kind kind, const char *subject_id,
                        const char *brand_id, const char *store_id, const char *hash,
                        int64_t expires_us /* 0: never */);
    int (*token_lookup)(struct store *st, const char *hash, int64_t now_us,
                        struct principal *ret);
    int (*token_revoke)(struct store *st, const char *hash);

    /* brands */
    int (*brand_create)(struct store *st, const char *name, const char *slug, json_t **ret);
    /* ref is an id or a slug; the brand with its current choices and notice */
    int (*brand_get)(struct store *st, const char *ref, json_t **ret);
    int (*brand_list)(struct store *st, const struct page *pg, json_t **ret);
    int (*choices_put)(struct store *st, const char *brand_id, json_t *normalized,
                       json_t **ret);
    /* version 0: the current one; {version, choices, created_at} */
    int (*choices_get)(struct store *st, const char *brand_id, int64_t version, json_t **ret);
    int (*notice_put)(struct store *st, const char *brand_id, json_t *notice, json_t **ret);
    /* one version of the notice: {text, faq, version, updated_at}; SK_ENOTFOUND */
    int (*notice_get)(struct store *st, const char *brand_id, int64_t version, json_t **ret);

    /* staff. grants: [{role, store?}] normalized by the caller (a store role
     * names a store; SK_EINVAL when a store is not the brand's or closed).
     * pwhash NULL: invited, cannot sign in until a password is set. A row:
     * {id, brand_id, email, name, role (most senior), grants, invited,
     * disabled, created_at, disabled_at}. staff_list with store_id: only
     * staff holding a grant at that store. staff_update f: {name?, grants?,
     * disabled?}; disabling deletes their sessions. staff_login: only
     * enabled staff with a password. */
    int (*staff_create)(struct store *st, const char *brand_id, const char *email,
                        const char *name, json_t *grants, const char *pwhash, json_t **ret);
    int (*staff_list)(struct store *st, const char *brand_id, const char *store_id,
                      const struct page *pg, json_t **ret);
    int (*staff_get)(struct store *st, const char *brand_id, const char *staff_id, json_t **ret);
    int (*staff_update)(struct store *st, const char *brand_id, const char *staff_id, json_t *f,
                        json_t **ret);
    int (*staff_login)(struct store *st, const char *email, struct login_rec *ret);

    /* stores; fields holds name, timezone, city, address */
    int (*store_create)(struct store *st, const char *brand_id, json_t *fields, json_t **ret);
    int (*store_get)(struct store *st, const char *brand_id, const char *store_id,
                     json_t **ret);
    int (*store_list)(struct store *st, const char *brand_id, const struct page *pg,
                      json_t **ret);
    /* f: {name?, timezone?, city?, address?}; SK_ECONFLICT when closed */
    int (*store_update)(struct store *st, const char *brand_id, const char *store_id, json_t *f,
                        json_t **ret);
    /* closing revokes the store's keys and its staff grants; the row stays */
    int (*store_close)(struct store *st, const char *brand_id, const char *store_id,
                       json_t **ret);

    /* customers */
    int (*customer_create)(struct store *st, const char *name, const char *email,
                           const char *pwhash, json_t **ret);
    int (*customer_login)(struct store *st, const char *email, struct login_rec *ret);
    int (*customer_get)(struct store *st, const char *customer_id, json_t **ret);
    int (*customer_rename)(struct store *st, const char *customer_id, const char *name);

    /* consent */
    int (*membership_put)(struct store *st, const char *customer_id, const char *brand_id,
                          const struct purpose_set *wanted, const char *via, json_t **ret);
    int (*membership_leave)(struct store *st, const char *customer_id, const char *brand_id,
                            const char *via);
    int (*membership_get)(struct store *st, const char *customer_id, const char *brand_id,
                          json_t **ret);
    int (*membership_list)(struct store *st, const char *customer_id, json_t **ret);
    int (*consent_ledger)(struct store *st, const char *customer_id, const struct page *pg,
                          json_t **ret);

    /* preferences (SK_EFORBIDDEN without the preferences purpose) */
    int (*preferences_put)(struct store *st, const char *customer_id, const char *brand_id,
                           int64_t choices_version, json_t *answers, json_t *dont,
                           json_t **ret);
    int (*preferences_get)(struct store *st, const char *customer_id, const char *brand_id,
                           json_t **ret);

    /* the brand's view of one member, under current grants; logs the look */
    int (*member_view)(struct store *st, const char *brand_id, const char *customer_id,
                       const struct actor *who, json_t **ret);

    /* members whose name (visible under recognition, as in member_view)
     * contains q, case-insensitively: [{id, name, member_since}], at most
     * limit; each name returned is logged as a look */
    int (*member_search)(struct store *st, const char *brand_id, const char *q, int limit,
                         const struct actor *who, json_t **ret);

    /* devices (recognition); the identity key is sealed with the customer's key */
    int (*device_create)(struct store *st, const char *customer_id, const char *name,
                         const char *method, const uint8_t ik[16], unsigned k,
                         uint32_t clock_offset, json_t **ret);
    int (*device_list)(struct store *st, const char *customer_id, json_t **ret);
    int (*device_delete)(struct store *st, const char *customer_id, const char *device_id);
    /* Calls fn for every device (customer_id NULL) or every device of one
     * customer, with its opened key; stops at fn's error. */
    int (*device_each)(struct store *st, const char *customer_id,
                       int (*fn)(void *ctx, const char *device_id, const char *customer_id,
                                 const uint8_t ik[16], unsigned k, uint32_t clock_offset),
                       void *ctx);

    /* keys of the service itself, sealed under the master key */
    int (*service_key_get)(struct store *st, const char *name, uint8_t *ret, size_t len);
    int (*service_key_put)(struct store *st, const char *name, const uint8_t *value, size_t len);

    /* scanner and display keys of a store */
    int (*store_key_create)(struct store *st, const char *brand_id, const char *store_id,
                            enum principal_kind kind, const char *name, const char *token_hash,
                            json_t **ret);
    /* [{id, kind, name, store_id, created_at, last_seen_at, revoked_at}] */
    int (*store_key_list)(struct store *st, const char *store_id, json_t **ret);
    /* the key's token is deleted: it stops working at the next request */
    int (*store_key_revoke)(struct store *st, const char *store_id, const char *key_id,
                            json_t **ret);
    int (*store_key_seen)(struct store *st, const char *key_id, int64_t at_us);

    /* visits: opened only under a current recognition grant (else
     * SK_EFORBIDDEN), in the query itself; one open visit per customer
     * and store in the database, whichever node heard them: when one is
     * open already (another node opened it) *ret is that one and
     * *ret_joined is set. node: the cluster node that opens it (NULL: a
     * node alone) */
    int (*visit_open)(struct store *st, const char *brand_id, const char *store_id,
                      const char *customer_id, const char *channel, int64_t at_us,
                      const char *node, struct visit_row *ret, int *ret_joined);
    /* the shopper was heard then (last_seen only moves forward) */
    int (*visit_seen)(struct store *st, const char *visit_id, int64_t last_seen_us);
    int (*visit_close)(struct store *st, const char *visit_id, int64_t last_seen_us,
                       int64_t closed_us, const char *reason);
    /* closes the visit as quiet when no node has heard the shopper since
     * cutoff_us: 0 closed here; SK_EBUSY heard since (*ret_last_seen_us);
     * SK_ENOTFOUND closed already (by another node) */
    int (*visit_close_quiet)(struct store *st, const char *visit_id, int64_t last_seen_us,
                             int64_t cutoff_us, int64_t closed_us, int64_t *ret_last_seen_us);
    /* the open visits of a store (visit_id NULL), or that one of it */
    int (*visits_open_each)(struct store *st, const char *store_id, const char *visit_id,
                            int (*fn)(void *ctx, const struct visit_row *v), void *ctx);
    /* closes as quiet the visits no node has heard since cutoff_us (a
     * stopped node's), each passed to fn */
    int (*visits_close_orphans)(struct store *st, int64_t cutoff_us, int64_t closed_us,
                                int (*fn)(void *ctx, const struct visit_row *v), void *ctx);
    /* at_us 0: not served after all (the counter's undo) */
    int (*visit_served)(struct store *st, const char *visit_id, int64_t at_us);
    /* closes every visit still open in the store (after a crash: open
     * visits live in memory), or with node, only those that node holds
     * (the others' are theirs); returns how many in *ret_n */
    int (*visits_close_open)(struct store *st, int64_t closed_us, const char *reason,
                             const char *node, int64_t *ret_n);

    /* What a card may hold for a member under current grants:
     * {purposes, name?, answers?, dont?, choices}; SK_ENOTFOUND for a
     * non-member. Does not log: the caller logs what it shows. */
    int (*card_data)(struct store *st, const char *brand_id, const char *customer_id,
                     json_t **ret);
    int (*access_log_add)(struct store *st, const char *customer_id, const char *brand_id,
                          const struct actor *who, const char *fields, const char *purpose);

    /* everything held about a customer, for GET /v1/me/export */
    int (*customer_export)(struct store *st, const char *customer_id, json_t **ret);
    /* erasure: every row of the customer goes and their data key is
     * destroyed; consent entries stay under a pseudonym (ret, may be NULL) */
    int (*customer_erase)(struct store *st, const char *customer_id, char ret_pseudonym[ID_MAX]);
    /* walks the customer's access-log chain: {intact, checked, first_broken?} */
    int (*access_log_verify)(struct store *st, const char *customer_id, json_t **ret);
    /* removes closed visits and access-log entries older than the cut-offs */
    int (*retention_sweep)(struct store *st, int64_t visits_before_us, int64_t access_before_us,
                           json_t **ret);
    /* what a brand holds of a member, under current grants; logs the look */
    int (*brand_member_export)(struct store *st, const char *brand_id, const char *customer_id,
                               const struct actor *who, json_t **ret);

    /* the customer's access log, newest first */
    int (*access_log_list)(struct store *st, const char *customer_id, const char *brand_id,
                           const struct page *pg, json_t **ret);

    /* catalogue: item is normalized (core/catalogue.h); sku is unique per brand */
    int (*item_put)(struct store *st, const char *brand_id, const char *sku, json_t *item,
                    json_t **ret, int *ret_created);
    int (*item_get)(struct store *st, const char *brand_id, const char *sku, json_t **ret);
    int (*item_list)(struct store *st, const char *brand_id, const struct page *pg,
                     json_t **ret);
    /* purchases: p is normalized {store, at, customer? | customer_email?,
     * source?, txn?, lines: [{sku, qty, price_cents, for?}]}. Linked to the
     * customer only under a current "history" grant (in the query). With
     * key: a replay of the same body_hash returns the stored purchase
     * (*ret_replayed = 1), another body SK_ECONFLICT. SK_ENOTFOUND: no such
     * store in the brand; SK_EINVAL with *ret_bad_line: an unknown sku. */
    int (*purchase_create)(struct store *st, const char *brand_id, const char *key,
                           const char *body_hash, json_t *p, json_t **ret, int *ret_replayed,
                           int *ret_bad_line);
    /* the customer's linked purchases at a brand (NULL: all), newest first */
    int (*purchase_list_mine)(struct store *st, const char *customer_id, const char *brand_id,
                              const struct page *pg, json_t **ret);

    /* the people a customer shops for; person is normalized {label, likes,
     * dislikes, occasions}, sealed with the customer's key. person_create:
     * SK_ETOOBIG when the customer has max people already */
    int (*person_create)(struct store *st, const char *customer_id, json_t *person, int max,
                         json_t **ret);
    int (*person_list)(struct store *st, const char *customer_id, json_t **ret);
    int (*person_get)(struct store *st, const char *customer_id, const char *person_id,
                      json_t **ret);
    int (*person_put)(struct store *st, const char *customer_id, const char *person_id,
                      json_t *person, json_t **ret);
    int (*person_delete)(struct store *st, const char *customer_id, const char *person_id);

    /* households: linked accounts, each side accepted. invite answers the
     * same whether the email has an account (SK_EINVAL: one's own email,
     * SK_ETOOBIG: max_pending waiting); answer is the invitee's (SK_ETOOBIG:
     * a side has max_members); cancel the inviter's; unlink either side's */
    int (*household_invite)(struct store *st, const char *customer_id, const char *email,
                            int max_pending, json_t **ret);
    int (*household_get)(struct store *st, const char *customer_id, json_t **ret);
    int (*household_answer)(struct store *st, const char *customer_id,
                            const char *invitation_id, int accept, int max_members);
    int (*household_cancel)(struct store *st, const char *customer_id,
                            const char *invitation_id);
    int (*household_unlink)(struct store *st, const char *customer_id, const char *member_id);

    /* suggestions. stamp: changes when the brand's purchases or items do.
     * baskets: {items: [{sku, title, category, maker, tags, released,
     * consumable}], lines: [{p, sku}] by purchase} (anonymous included).
     * context: one member under current grants {purposes, dont?, answers?,
     * history?: [{sku, at, qty}], events?: [{sku, visit_id, shown_at,
     * outcome, outcome_at}], people?}; SK_ENOTFOUND for a non-member.
     * shown: records [{sku, reason, person?}] shown on a visit's card.
     * outcome: staff's answer to a suggestion on an open card at store_id,
     * logged in the customer's access log (SK_ENOTFOUND: not shown there or
     * answered already). dismiss: the customer's "never again". */
    int (*suggest_stamp)(struct store *st, const char *brand_id, int64_t *ret);
    int (*suggest_baskets)(struct store *st, const char *brand_id, json_t **ret);
    int (*suggest_context)(struct store *st, const char *brand_id, const char *customer_id,
                           json_t **ret);
    int (*suggest_shown)(struct store *st, const char *brand_id, const char *customer_id,
                         const char *visit_id, json_t *list);
    int (*suggest_outcome)(struct store *st, const char *store_id, const char *visit_id,
                           const char *sku, const char *outcome, const struct actor *who,
                           char ret_customer[ID_MAX], char ret_brand[ID_MAX]);
    int (*suggest_dismiss)(struct store *st, const char *brand_id, const char *customer_id,
                           const char *sku);

    /* accounts (store_account.c); kind is PRINCIPAL_STAFF or PRINCIPAL_CUSTOMER.
     * pwhash_get: the subject's password hash, to check a password before a
     * change. password_set: sets it, revokes every session of the subject
     * but keep_token_hash (NULL: all) and every unused link, in one
     * transaction. customer_email_set: the email as typed (sealed) and its
     * login hash; SK_ECONFLICT when another account has it. */
    int (*account_pwhash_get)(struct store *st, enum principal_kind kind, const char *subject_id,
                              char ret[CRYPTO_PWHASH_MAX]);
    int (*account_password_set)(struct store *st, enum principal_kind kind,
                                const char *subject_id, const char *pwhash,
                                const char *keep_token_hash);
    int (*customer_email_set)(struct store *st, const char *customer_id, const char *email);

    /* one-time password links (reset, staff invitation), stored as SHA-256 of the token */
    int (*pwlink_create)(struct store *st, enum principal_kind kind, const char *subject_id,
                         const char *purpose /* "reset" | "invite" */, const char *token_hash,
                         int64_t expires_us);
    /* checks the link (unused, unexpired), sets the subject's password hash, marks the link used
     * and revokes the subject's sessions, in one transaction; ret gets kind, id (and brand_id
     * for staff). SK_ENOTFOUND: unknown, used or expired. */
    int (*pwlink_use)(struct store *st, const char *token_hash, int64_t now_us,
                      const char *pwhash, struct principal *ret);
    /* an unused, unexpired link as {kind, purpose, expires_at}; SK_ENOTFOUND otherwise */
    int (*pwlink_get)(struct store *st, const char *token_hash, int64_t now_us, json_t **ret);

    /* counter displays paired by a short code (only hashes are stored).
     * create: a waiting pairing until expires_us (expired ones go;
     * SK_ECONFLICT: the code is taken, make another) -> {id, expires_at}.
     * poll, with the secret's hash: {status: "waiting", expires_at} or,
     * once claimed, the display key of key_hash is created and the pairing
     * deleted in one transaction -> {status: "paired", store, display: {id,
     * name}}; SK_ENOTFOUND: no such id or another secret; SK_ECONFLICT:
     * expired. claim: the waiting, unexpired pairing of code_hash becomes
     * the store's, collectable until expires_us -> {id, kind, name,
     * brand_id, store_id, paired}; SK_ENOTFOUND when none waits. */
    int (*pairing_create)(struct store *st, const char *id, const char *secret_hash,
                          const char *code_hash, int64_t expires_us, json_t **ret);
    int (*pairing_poll)(struct store *st, const char *id, const char *secret_hash,
                        const char *key_hash, json_t **ret);
    int (*pairing_claim)(struct store *st, const char *brand_id, const char *store_id,
                         const char *code_hash, const char *name, int64_t expires_us,
                         json_t **ret);

    /* rate limits every node of the database shares (store_limits.c): a
     * fixed window per key, key naming the limit and its subject
     * ("login-addr|192.0.2.1"); only a keyed hash of it is stored.
     * limit_hit counts one event in key's window, atomically (a new window
     * of window_us starts at now_us when the last one is over) -> the hits
     * of the window, this one included, and when it started. limit_get:
     * the same without counting (0 hits, start now_us: no window running).
     * limit_clear forgets key's window; limits_sweep removes the windows
     * over at now_us (*ret_n: how many; may be NULL). */
    int (*limit_hit)(struct store *st, const char *key, int64_t window_us, int64_t now_us,
                     int64_t *ret_hits, int64_t *ret_start_us);
    int (*limit_get)(struct store *st, const char *key, int64_t now_us, int64_t *ret_hits,
                     int64_t *ret_start_us);
    int (*limit_clear)(struct store *st, const char *key);
    int (*limits_sweep)(struct store *st, int64_t now_us, int64_t *ret_n);
    /* The outbox of changes between nodes (migration 0013, store_outbox.c;
     * only PostgreSQL fills it). change_list: the changes of the
     * transactions that began at or after *cursor and have all ended now,
     * as [{id, what, customer_id, brand_id}] in id order, and *cursor moves
     * past them (to the oldest transaction still running). With *cursor 0
     * it only sets *cursor: a reader starts from now. SQLite: [] and
     * *cursor unchanged. changes_expire removes rows written before
     * before_us (*ret_n: how many). */
    int (*change_list)(struct store *st, int64_t *cursor, json_t **ret);
    int (*changes_expire)(struct store *st, int64_t before_us, int64_t *ret_n);
};

struct store {
    const struct store_ops *ops;
};

/* Opens the SQLite backend at path, applying pending migrations. The key
 * store (customers' wrapped data keys) is the file keys_path, by default
 * path + ".keys": keep it apart from database backups. */
int store_sqlite_open_keys(const char *path, const char *keys_path,
                           const uint8_t master_key[CRYPTO_KEY_LEN], struct store **ret,
                           char *err, size_t errlen);
int store_sqlite_open(const char *path, const uint8_t master_key[CRYPTO_KEY_LEN],
                      struct store **ret, char *err, size_t errlen);

/* Opens the PostgreSQL backend (conninfo: a postgresql:// URI or key=value
 * pairs), applying pending migrations. The key store is a database of its
 * own: keys_conninfo, by default the data's database name + "_keys" on the
 * same server; it must exist (store_pg.c). */
int store_pg_open(const char *conninfo, const char *keys_conninfo,
                  const uint8_t master_key[CRYPTO_KEY_LEN], struct store **ret, char *err,
                  size_t errlen);

/* Copies the SQLite store from into the empty PostgreSQL store to, its key
 * store included, in one transaction on each (store_copy.c); both must be
 * opened with the same master key. progress (may be NULL) hears of each
 * few thousand rows: the table being copied, rows copied so far and in
 * all. ret: {rows, tables: {name: count}}. On failure nothing is kept and
 * err says why. */
struct copy_progress {
    void (*fn)(void *cls, const char *table, int64_t done, int64_t total);
    void *cls;
};
int store_copy(struct store *from, struct store *to, const struct copy_progress *progress,
               json_t **ret, char *err, size_t errlen);

static inline void store_close(struct store *st)
{
    if (st) st->ops->close(st);
}

#endif
