/*
 * store_people.c — the people a customer shops for, and households of
 * linked accounts (issue 5).
 *
 * A person's label, likes, dislikes and occasions are sealed with the
 * customer's data key, bound to customer, person and field; only ids and
 * times are in clear. A household invitation names its invitee by the keyed
 * hash of the email (as logins do); the email as typed is sealed with the
 * inviter's key. An accepted invitation becomes one household_members row
 * per side and is deleted; either side deletes both rows to undo it.
 */
#include "store/store_int.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const person_fields[4] = {"label", "likes", "dislikes", "occasions"};

static void person_field(const char *pid, const char *f, char ret[ID_MAX + 24])
{
    snprintf(ret, ID_MAX + 24, "person|%s|%s", pid, f);
}

/* Seals the four fields of person (label a string, the rest JSON). */
static int person_seal(const uint8_t key[CRYPTO_KEY_LEN], const char *cid, const char *pid,
                       json_t *person, uint8_t *enc[4], size_t len[4])
{
    int rc = 0;
    for (int i = 0; i < 4 && !rc; i++) {
        char field[ID_MAX + 24];
        person_field(pid, person_fields[i], field);
        json_t *v = json_object_get(person, person_fields[i]);
        char *text = i == 0 ? strdup(json_string_value(v) ? json_string_value(v) : "")
                            : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text) {
            rc = SK_ENOMEM;
            break;
        }
        rc = sti_seal_field(key, cid, field, text, &enc[i], &len[i]);
        free(text);
    }
    return rc;
}

static void person_free(uint8_t *enc[4])
{
    for (int i = 0; i < 4; i++) free(enc[i]);
}

#define PERSON_COLS "id, label_enc, likes_enc, dislikes_enc, occasions_enc, created_at, updated_at"

/* One row of PERSON_COLS, opened. */
static int person_row(const uint8_t key[CRYPTO_KEY_LEN], const char *cid, struct db_cur *cur,
                      json_t **ret)
{
    const char *pid = db_col_text(cur, 0, NULL);
    json_t *out = json_pack("{s:s}", "id", pid);
    int rc = out ? 0 : SK_ENOMEM;
    for (int i = 0; i < 4 && !rc; i++) {
        char field[ID_MAX + 24];
        person_field(pid, person_fields[i], field);
        if (i == 0) {
            char *label;
            size_t n;
            const void *enc = db_col_bytes(cur, 1, &n);
            rc = sti_open_field(key, cid, field, enc, n, &label);
            if (!rc) {
                json_object_set_new(out, "label", json_string(label));
                free(label);
            }
        } else {
            json_t *v;
            rc = sti_open_json(key, cid, field, cur, 1 + i, &v);
            if (!rc) json_object_set_new(out, person_fields[i], v);
        }
    }
    if (!rc) {
        json_object_set_new(out, "created_at", json_string(db_col_text(cur, 5, NULL)));
        json_object_set_new(out, "updated_at", json_string(db_col_text(cur, 6, NULL)));
        *ret = out;
    } else {
        json_decref(out);
    }
    return rc;
}

/* The customer's people (pid NULL: all, as an array) or one person. */
static int people_read(struct st_store *s, struct dbc *db, const char *cid, const char *pid,
                       json_t **ret)
{
    uint8_t key[CRYPTO_KEY_LEN];
    int rc = sti_cust_key(s, db, cid, key);
    if (rc) return rc;
    struct db_cur *cur;
    if (pid)
        rc = db_query(db, &cur,
                      "SELECT " PERSON_COLS " FROM people WHERE customer_id = ? AND id = ?",
                      "ss", cid, pid);
    else
        rc = db_query(db, &cur,
                      "SELECT " PERSON_COLS " FROM people WHERE customer_id = ? ORDER BY id",
                      "s", cid);
    if (rc) {
        memset(key, 0, sizeof key);
        return rc;
    }
    json_t *items = json_array(), *one = NULL;
    int step;
    while ((step = db_next(cur)) == 1) {
        json_t *p;
        rc = person_row(key, cid, cur, &p);
        if (rc) break;
        if (pid) one = p;
        else json_array_append_new(items, p);
    }
    if (!rc && step < 0) rc = step;
    db_done(cur);
    memset(key, 0, sizeof key);
    if (!rc && pid && !one) rc = SK_ENOTFOUND;
    if (rc) {
        json_decref(items);
        json_decref(one);
        return rc;
    }
    if (pid) {
        json_decref(items);
        *ret = one;
    } else {
        *ret = items;
    }
    return 0;
}

int sti_person_create(struct store *st, const char *cid, json_t *person, int max,
                      json_t **ret)
{
    struct st_store *s = ST(st);
    char pid[ID_MAX], now[TIME_RFC3339_LEN];
    uint8_t key[CRYPTO_KEY_LEN], *enc[4] = {0};
    size_t len[4] = {0};
    if (id_new("per", pid)) return SK_ECRYPTO;
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    int rc = sti_cust_key(s, db, cid, key);
    if (!rc) rc = person_seal(key, cid, pid, person, enc, len);
    memset(key, 0, sizeof key);
    if (!rc) rc = db_tx_begin(db);
    if (!rc) {
        json_t *row;
        rc = db_row(db, &row, "SELECT COUNT(*) AS n FROM people WHERE customer_id = ?", "s",
                    cid);
        if (!rc) {
            if (json_integer_value(json_object_get(row, "n")) >= max) rc = SK_ETOOBIG;
            json_decref(row);
        }
        if (!rc)
            rc = db_exec(db,
                         "INSERT INTO people (id, customer_id, label_enc, likes_enc, "
                         "dislikes_enc, occasions_enc, created_at, updated_at) VALUES "
                         "(?, ?, ?, ?, ?, ?, ?, ?)",
                         "ssbbbbss", pid, cid, enc[0], len[0], enc[1], len[1], enc[2], len[2],
                         enc[3], len[3], now, now);
        rc = db_tx_end(db, rc);
    }
    db_release(s->db, db);
    person_free(enc);
    if (!rc) {
        json_t *out = json_deep_copy(person);
        json_object_set_new(out, "id", json_string(pid));
        json_object_set_new(out, "created_at", json_string(now));
        json_object_set_new(out, "updated_at", json_string(now));
        *ret = out;
    }
    return rc;
}

int sti_person_list(struct store *st, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = people_read(s, db, cid, NULL, ret);
    db_release(s->db, db);
    return rc;
}

int sti_person_get(struct store *st, const char *cid, const char *pid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = people_read(s, db, cid, pid, ret);
    db_release(s->db, db);
    return rc;
}

int sti_person_put(struct store *st, const char *cid, const char *pid, json_t *person,
                   json_t **ret)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    uint8_t key[CRYPTO_KEY_LEN], *enc[4] = {0};
    size_t len[4] = {0};
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    int rc = sti_cust_key(s, db, cid, key);
    if (!rc) rc = person_seal(key, cid, pid, person, enc, len);
    memset(key, 0, sizeof key);
    if (!rc)
        rc = db_exec(db,
                     "UPDATE people SET label_enc = ?, likes_enc = ?, dislikes_enc = ?, "
                     "occasions_enc = ?, updated_at = ? WHERE customer_id = ? AND id = ?",
                     "bbbbsss", enc[0], len[0], enc[1], len[1], enc[2], len[2], enc[3], len[3],
                     now, cid, pid);
    if (!rc && db_changes(db) == 0) rc = SK_ENOTFOUND;
    if (!rc) rc = people_read(s, db, cid, pid, ret);
    db_release(s->db, db);
    person_free(enc);
    return rc;
}

int sti_person_delete(struct store *st, const char *cid, const char *pid)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "DELETE FROM people WHERE customer_id = ? AND id = ?", "ss", cid, pid);
    if (!rc && db_changes(db) == 0) rc = SK_ENOTFOUND;
    db_release(s->db, db);
    return rc;
}

/* ---- households ---------------------------------------------------------- */

static void invitation_field(const char *iid, char ret[ID_MAX + 24])
{
    snprintf(ret, ID_MAX + 24, "invitation|%s|email", iid);
}

/* Another customer's name, opened with their key (a household member). */
static json_t *other_name(struct st_store *s, struct dbc *db, const char *other)
{
    json_t *c;
    if (sti_customer_read(s, db, other, &c)) return json_null();
    json_t *name = json_incref(json_object_get(c, "name"));
    json_decref(c);
    return name ? name : json_null();
}

/* The inviter's own invitations, with the email they typed. */
static int invitations_sent(struct st_store *s, struct dbc *db, const char *cid, json_t **ret)
{
    uint8_t key[CRYPTO_KEY_LEN];
    int rc = sti_cust_key(s, db, cid, key);
    if (rc) return rc;
    struct db_cur *cur = NULL;
    rc = db_query(db, &cur,
                  "SELECT id, email_enc, status, created_at, answered_at FROM "
                  "household_invitations WHERE customer_id = ? ORDER BY id",
                  "s", cid);
    json_t *items = json_array();
    while (!rc && db_next(cur) == 1) {
        const char *iid = db_col_text(cur, 0, NULL);
        char field[ID_MAX + 24], *email;
        invitation_field(iid, field);
        size_t n;
        const void *enc = db_col_bytes(cur, 1, &n);
        rc = sti_open_field(key, cid, field, enc, n, &email);
        if (rc) break;
        const char *answered = db_col_text(cur, 4, NULL);
        json_array_append_new(
            items, json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", iid, "email", email, "status",
                             db_col_text(cur, 2, NULL), "created_at", db_col_text(cur, 3, NULL),
                             "answered_at", answered ? json_string(answered) : json_null()));
        free(email);
    }
    db_done(cur);
    memset(key, 0, sizeof key);
    if (rc) {
        json_decref(items);
        return rc;
    }
    *ret = items;
    return 0;
}

static int household_read(struct st_store *s, struct dbc *db, const char *cid, json_t **ret)
{
    json_t *members = NULL, *sent = NULL, *received = NULL;
    int rc = db_rows(db, &members,
                     "SELECT member_id AS customer, since FROM household_members WHERE "
                     "customer_id = ? ORDER BY since, member_id",
                     "s", cid);
    size_t i;
    json_t *m;
    json_array_foreach(members, i, m) {
        const char *other = json_string_value(json_object_get(m, "customer"));
        json_object_set_new(m, "name", other_name(s, db, other));
    }
    if (!rc) rc = invitations_sent(s, db, cid, &sent);
    if (!rc)
        rc = db_rows(db, &received,
                     "SELECT i.id, i.customer_id AS from_customer, i.created_at FROM "
                     "household_invitations i JOIN customers c ON c.id = ? WHERE "
                     "i.invitee_hash = c.email_hash AND i.status = 'pending' AND "
                     "i.customer_id <> c.id ORDER BY i.id",
                     "s", cid);
    json_array_foreach(received, i, m) {
        const char *from = json_string_value(json_object_get(m, "from_customer"));
        json_object_set_new(m, "from", json_pack("{s:s, s:o}", "customer", from, "name",
                                                 other_name(s, db, from)));
        json_object_del(m, "from_customer");
    }
    if (rc) {
        json_decref(members);
        json_decref(sent);
        json_decref(received);
        return rc;
    }
    *ret = json_pack("{s:o, s:{s:o, s:o}}", "members", members, "invitations", "sent", sent,
                     "received", received);
    return *ret ? 0 : SK_ENOMEM;
}

int sti_household_get(struct store *st, const char *cid, json_t **ret)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_read_begin(db);
    if (!rc) {
        rc = household_read(s, db, cid, ret);
        db_read_end(db);
    }
    db_release(s->db, db);
    return rc;
}

/* Creates (or finds) the invitation of cid to email. The answer is the same
 * whether the email has an account or not. SK_EINVAL: one's own email;
 * SK_ETOOBIG: max_pending invitations already waiting. */
int sti_household_invite(struct store *st, const char *cid, const char *email,
                         int max_pending, json_t **ret)
{
    struct st_store *s = ST(st);
    char iid[ID_MAX], now[TIME_RFC3339_LEN], eh[65], field[ID_MAX + 24];
    uint8_t key[CRYPTO_KEY_LEN], *enc = NULL;
    size_t len = 0;
    if (id_new("hin", iid)) return SK_ECRYPTO;
    sti_email_hash(s, email, eh);
    invitation_field(iid, field);
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    int rc = sti_cust_key(s, db, cid, key);
    if (!rc) rc = sti_seal_field(key, cid, field, email, &enc, &len);
    memset(key, 0, sizeof key);
    if (!rc) rc = db_tx_begin(db);
    if (!rc) {
        json_t *row = NULL;
        rc = db_row(db, &row, "SELECT email_hash FROM customers WHERE id = ?", "s", cid);
        if (!rc && strcmp(json_string_value(json_object_get(row, "email_hash")), eh) == 0)
            rc = SK_EINVAL;
        json_decref(row);
        row = NULL;
        int exists = 0;
        if (!rc) {
            int r2 = db_row(db, &row,
                            "SELECT id FROM household_invitations WHERE customer_id = ? AND "
                            "invitee_hash = ?",
                            "ss", cid, eh);
            if (r2 == 0) {
                exists = 1;
                snprintf(iid, sizeof iid, "%s", json_string_value(json_object_get(row, "id")));
                json_decref(row);
            } else if (r2 != SK_ENOTFOUND) {
                rc = r2;
            }
        }
        if (!rc && !exists) {
            rc = db_row(db, &row,
                        "SELECT COUNT(*) AS n FROM household_invitations WHERE customer_id = "
                        "? AND status = 'pending'",
                        "s", cid);
            if (!rc) {
                if (json_integer_value(json_object_get(row, "n")) >= max_pending) rc = SK_ETOOBIG;
                json_decref(row);
            }
            if (!rc)
                rc = db_exec(db,
                             "INSERT INTO household_invitations (id, customer_id, "
                             "invitee_hash, email_enc, status, created_at) VALUES "
                             "(?, ?, ?, ?, 'pending', ?)",
                             "sssbs", iid, cid, eh, enc, len, now);
        }
        rc = db_tx_end(db, rc);
    }
    json_t *sent = NULL;
    if (!rc) rc = invitations_sent(s, db, cid, &sent);
    db_release(s->db, db);
    free(enc);
    if (rc) return rc;
    size_t i;
    json_t *inv, *found = NULL;
    json_array_foreach(sent, i, inv) {
        if (strcmp(json_string_value(json_object_get(inv, "id")), iid) == 0) found = inv;
    }
    if (found) *ret = json_incref(found);
    json_decref(sent);
    return found ? 0 : SK_ENOTFOUND;
}

/* The invitee answers a pending invitation addressed to their email. */
int sti_household_answer(struct store *st, const char *cid, const char *iid, int accept,
                         int max_members)
{
    struct st_store *s = ST(st);
    char now[TIME_RFC3339_LEN];
    sti_now_text(now);
    struct dbc *db = db_acquire(s->db);
    json_t *row = NULL;
    int rc = db_tx_begin(db);
    if (!rc)
        rc = db_row(db, &row,
                    "SELECT i.customer_id AS inviter FROM household_invitations i JOIN "
                    "customers c ON c.id = ? WHERE i.id = ? AND i.invitee_hash = c.email_hash "
                    "AND i.status = 'pending' AND i.customer_id <> c.id",
                    "ss", cid, iid);
    const char *inviter = row ? json_string_value(json_object_get(row, "inviter")) : NULL;
    if (!rc && !accept)
        rc = db_exec(db,
                     "UPDATE household_invitations SET status = 'declined', answered_at = ? "
                     "WHERE id = ?",
                     "ss", now, iid);
    if (!rc && accept) {
        json_t *n = NULL;
        rc = db_row(db, &n,
                    "SELECT (SELECT COUNT(*) FROM household_members WHERE customer_id = ?1) "
                    "AS mine, (SELECT COUNT(*) FROM household_members WHERE customer_id = ?2) "
                    "AS theirs, EXISTS (SELECT 1 FROM household_members WHERE customer_id = "
                    "?1 AND member_id = ?2) AS linked",
                    "ss", cid, inviter);
        if (!rc && !json_integer_value(json_object_get(n, "linked")) &&
            (json_integer_value(json_object_get(n, "mine")) >= max_members ||
             json_integer_value(json_object_get(n, "theirs")) >= max_members))
            rc = SK_ETOOBIG;
        json_decref(n);
        if (!rc)
            rc = db_exec(db,
                         "INSERT INTO household_members (customer_id, member_id, since) VALUES "
                         "(?1, ?2, ?3), (?2, ?1, ?3) ON CONFLICT DO NOTHING",
                         "sss", cid, inviter, now);
        /* the link is the record now; the other direction's invitation, if
         * any, is answered by it too */
        if (!rc)
            rc = db_exec(db,
                         "DELETE FROM household_invitations WHERE id = ?1 OR (customer_id = "
                         "?2 AND invitee_hash = (SELECT email_hash FROM customers WHERE id = "
                         "?3))",
                         "sss", iid, cid, inviter);
    }
    rc = db_tx_end(db, rc);
    json_decref(row);
    db_release(s->db, db);
    return rc;
}

/* The inviter withdraws an invitation (pending or declined). */
int sti_household_cancel(struct store *st, const char *cid, const char *iid)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db, "DELETE FROM household_invitations WHERE customer_id = ? AND id = ?",
                     "ss", cid, iid);
    if (!rc && db_changes(db) == 0) rc = SK_ENOTFOUND;
    db_release(s->db, db);
    return rc;
}

/* Either side undoes a link: both rows go. */
int sti_household_unlink(struct store *st, const char *cid, const char *member)
{
    struct st_store *s = ST(st);
    struct dbc *db = db_acquire(s->db);
    int rc = db_exec(db,
                     "DELETE FROM household_members WHERE (customer_id = ?1 AND member_id = "
                     "?2) OR (customer_id = ?2 AND member_id = ?1)",
                     "ss", cid, member);
    if (!rc && db_changes(db) == 0) rc = SK_ENOTFOUND;
    db_release(s->db, db);
    return rc;
}

/* The export's "people" and "household" sections, inside the caller's read
 * transaction. */
int sti_people_export(struct st_store *s, struct dbc *db, const char *cid, json_t *out)
{
    json_t *v;
    int rc = people_read(s, db, cid, NULL, &v);
    if (rc) return rc;
    json_object_set_new(out, "people", v);
    rc = household_read(s, db, cid, &v);
    if (rc) return rc;
    json_object_set_new(out, "household", v);
    return 0;
}
