/*
 * h_people.c — the people a customer shops for (/v1/me/people) and
 * households of linked accounts (/v1/me/household), issue 5.
 *
 * What a customer says about the people they buy for is sealed with their
 * data key in the store; here it is validated and normalized, with a limit
 * on every size a client controls. A household invitation answers the same
 * whether the email has an account or not.
 */
#include "http/handlers.h"
#include "core/account.h"
#include "core/choices.h"
#include "core/ratelimit.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define PEOPLE_MAX 20         /* people per customer */
#define LABEL_MAX 60          /* characters */
#define TASTE_MAX 50          /* entries in each likes/dislikes list */
#define TASTE_TEXT_MAX 200    /* characters of one entry */
#define OCCASIONS_MAX 20      /* occasions per person */
#define OCCASION_NAME_MAX 60
#define PENDING_MAX 10        /* invitations waiting per customer */
#define MEMBERS_MAX 10        /* household members per customer */

static const char *const taste_keys[3] = {"categories", "makers", "tags"};

/* likes/dislikes: {categories, makers, tags}, each a list of texts. */
static json_t *taste_normalize(json_t *body, const char *name, struct http_resp *resp)
{
    json_t *v = json_object_get(body, name);
    json_t *out = json_pack("{s:[], s:[], s:[]}", "categories", "makers", "tags");
    if (!v || json_is_null(v)) return out;
    if (!json_is_object(v)) {
        resp_problem(resp, 422, "%s: must be an object with categories, makers and tags",
                     name);
        json_decref(out);
        return NULL;
    }
    const char *k;
    json_t *list;
    json_object_foreach(v, k, list) {
        int known = 0;
        for (int i = 0; i < 3; i++) known |= strcmp(k, taste_keys[i]) == 0;
        if (!known) {
            resp_problem(resp, 422, "%s.%.40s: unknown; use categories, makers or tags", name,
                         k);
            json_decref(out);
            return NULL;
        }
        if (json_is_null(list)) continue;
        if (!json_is_array(list) || json_array_size(list) > TASTE_MAX) {
            resp_problem(resp, 422, "%s.%s: must be a list of at most %d texts", name, k,
                         TASTE_MAX);
            json_decref(out);
            return NULL;
        }
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e) {
            const char *s = json_string_value(e);
            if (!s || !text_is_clean(s, TASTE_TEXT_MAX)) {
                resp_problem(resp, 422, "%s.%s[%zu]: must be text of 1-%d characters", name, k,
                             i, TASTE_TEXT_MAX);
                json_decref(out);
                return NULL;
            }
        }
        json_object_set(out, k, list);
    }
    return out;
}

static int mmdd_valid(const char *s)
{
    static const int days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!s || strlen(s) != 5 || s[2] != '-') return 0;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9')) return 0;
    int m = (s[0] - '0') * 10 + (s[1] - '0'), d = (s[3] - '0') * 10 + (s[4] - '0');
    return m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1];
}

static json_t *occasions_normalize(json_t *body, struct http_resp *resp)
{
    json_t *v = json_object_get(body, "occasions");
    json_t *out = json_array();
    if (!v || json_is_null(v)) return out;
    if (!json_is_array(v) || json_array_size(v) > OCCASIONS_MAX) {
        resp_problem(resp, 422, "occasions: must be a list of at most %d occasions",
                     OCCASIONS_MAX);
        json_decref(out);
        return NULL;
    }
    size_t i;
    json_t *o;
    json_array_foreach(v, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        const char *date = json_string_value(json_object_get(o, "date"));
        if (!json_is_object(o) || !name || !text_is_clean(name, OCCASION_NAME_MAX)) {
            resp_problem(resp, 422, "occasions[%zu].name: required, text of 1-%d characters",
                         i, OCCASION_NAME_MAX);
            json_decref(out);
            return NULL;
        }
        if (!mmdd_valid(date)) {
            resp_problem(resp, 422, "occasions[%zu].date: required, a day of the year as MM-DD",
                         i);
            json_decref(out);
            return NULL;
        }
        json_array_append_new(out, json_pack("{s:s, s:s}", "name", name, "date", date));
    }
    return out;
}

/* The body as a normalized person, or a 4xx problem and NULL. */
static json_t *person_normalize(struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return NULL;
    const char *label = body_text(body, "label", LABEL_MAX, resp);
    if (!label) return NULL;
    json_t *likes = taste_normalize(body, "likes", resp);
    if (!likes) return NULL;
    json_t *dislikes = taste_normalize(body, "dislikes", resp);
    if (!dislikes) {
        json_decref(likes);
        return NULL;
    }
    json_t *occasions = occasions_normalize(body, resp);
    if (!occasions) {
        json_decref(likes);
        json_decref(dislikes);
        return NULL;
    }
    return json_pack("{s:s, s:o, s:o, s:o}", "label", label, "likes", likes, "dislikes",
                     dislikes, "occasions", occasions);
}

void h_people_list(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *items;
    int rc = app->st->ops->person_list(app->st, req->who.id, &items);
    if (rc) {
        resp_store_error(resp, rc, "people");
        return;
    }
    resp_json(resp, 200, json_pack("{s:o}", "items", items));
}

void h_person_create(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *person = person_normalize(req, resp);
    if (!person) return;
    json_t *out;
    int rc = app->st->ops->person_create(app->st, req->who.id, person, PEOPLE_MAX, &out);
    json_decref(person);
    if (rc == SK_ETOOBIG) {
        resp_problem(resp, 409, "people: at most %d people; remove one first", PEOPLE_MAX);
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "person");
        return;
    }
    snprintf(resp->location, sizeof resp->location, "/v1/me/people/%s",
             json_string_value(json_object_get(out, "id")));
    resp_json(resp, 201, out);
}

void h_person_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *pid = req_param(req, "person");
    json_t *out;
    int rc = id_is_plausible(pid) ? app->st->ops->person_get(app->st, req->who.id, pid, &out)
                                  : SK_ENOTFOUND;
    if (rc) {
        resp_store_error(resp, rc, "person");
        return;
    }
    resp_json(resp, 200, out);
}

void h_person_put(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *pid = req_param(req, "person");
    if (!id_is_plausible(pid)) {
        resp_store_error(resp, SK_ENOTFOUND, "person");
        return;
    }
    json_t *person = person_normalize(req, resp);
    if (!person) return;
    json_t *out;
    int rc = app->st->ops->person_put(app->st, req->who.id, pid, person, &out);
    json_decref(person);
    if (rc) {
        resp_store_error(resp, rc, "person");
        return;
    }
    resp_json(resp, 200, out);
}

void h_person_delete(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *pid = req_param(req, "person");
    int rc = id_is_plausible(pid) ? app->st->ops->person_delete(app->st, req->who.id, pid)
                                  : SK_ENOTFOUND;
    if (rc) {
        resp_store_error(resp, rc, "person");
        return;
    }
    resp_json(resp, 200, json_pack("{s:s, s:b}", "id", pid, "deleted", 1));
}

/* ---- households ---------------------------------------------------------- */

void h_household_get(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *out;
    int rc = app->st->ops->household_get(app->st, req->who.id, &out);
    if (rc) {
        resp_store_error(resp, rc, "household");
        return;
    }
    resp_json(resp, 200, out);
}

void h_household_invite(struct app *app, struct http_req *req, struct http_resp *resp)
{
    json_t *body = req_object(req, resp);
    if (!body) return;
    const char *email = body_text(body, "email", 254, resp);
    if (!email) return;
    char lower[256];
    if (!email_normalize(email, lower, sizeof lower)) {
        resp_problem(resp, 422, "email: not an email address");
        return;
    }
    int64_t now = time_now_us(), wait_us = 0;
    int limited = limiter_take(&app->rl_invite, req->who.id, now, &wait_us);
    if (limited && limited != SK_ERATE) {
        limiter_unavailable(resp);
        return;
    }
    if (limited) {
        long long secs = (long long)(wait_us / 1000000) + 1;
        snprintf(resp->retry_after, sizeof resp->retry_after, "%lld", secs);
        resp_problem(resp, 429, "too many invitations; try again in %lld seconds", secs);
        return;
    }
    json_t *out;
    int rc = app->st->ops->household_invite(app->st, req->who.id, email, PENDING_MAX, &out);
    if (rc == SK_EINVAL) {
        resp_problem(resp, 422, "email: that is your own address");
        return;
    }
    if (rc == SK_ETOOBIG) {
        resp_problem(resp, 409, "invitations: at most %d waiting; withdraw one first",
                     PENDING_MAX);
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "invitation");
        return;
    }
    /* 202 whether or not the email has an account */
    resp_json(resp, 202, out);
}

static void answer(struct app *app, struct http_req *req, struct http_resp *resp, int accept)
{
    const char *iid = req_param(req, "invitation");
    int rc = id_is_plausible(iid) ? app->st->ops->household_answer(app->st, req->who.id, iid,
                                                                   accept, MEMBERS_MAX)
                                  : SK_ENOTFOUND;
    if (rc == SK_ETOOBIG) {
        resp_problem(resp, 409, "members: a household has at most %d members", MEMBERS_MAX);
        return;
    }
    if (rc) {
        resp_store_error(resp, rc, "invitation");
        return;
    }
    h_household_get(app, req, resp);
}

void h_household_accept(struct app *app, struct http_req *req, struct http_resp *resp)
{
    answer(app, req, resp, 1);
}

void h_household_decline(struct app *app, struct http_req *req, struct http_resp *resp)
{
    answer(app, req, resp, 0);
}

void h_household_cancel(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *iid = req_param(req, "invitation");
    int rc = id_is_plausible(iid) ? app->st->ops->household_cancel(app->st, req->who.id, iid)
                                  : SK_ENOTFOUND;
    if (rc) {
        resp_store_error(resp, rc, "invitation");
        return;
    }
    resp_json(resp, 200, json_pack("{s:s, s:b}", "id", iid, "deleted", 1));
}

void h_household_unlink(struct app *app, struct http_req *req, struct http_resp *resp)
{
    const char *other = req_param(req, "customer");
    int rc = id_is_plausible(other)
                 ? app->st->ops->household_unlink(app->st, req->who.id, other)
                 : SK_ENOTFOUND;
    if (rc) {
        resp_store_error(resp, rc, "household member");
        return;
    }
    resp_json(resp, 200, json_pack("{s:s, s:b}", "customer", other, "deleted", 1));
}
