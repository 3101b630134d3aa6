/*
 * handlers.h — every per-resource handler, one file per resource:
 *   h_system.c     health, purposes
 *   h_brands.c     brands, choices, notice
 *   h_staff.c      sessions (login/logout)
 *   h_team.c       the brand's staff: add, invite, roles and stores, disable
 *   h_stores.c     stores, and their keys (list, last use, revoke)
 *   h_customers.c  sign-up and the customer's profile
 *   h_consent.c    memberships, the consent ledger, preferences
 *   h_members.c    the brand's view of a member, the customer's access log
 *   h_devices.c    the shopper's devices, counter codes, app check-in
 *   h_counter.c    store keys, sightings, cards and their live stream
 *   h_privacy.c    export, erasure, access-log integrity, retention
 *   h_catalogue.c  catalogue items, CSV import, purchases, my purchase history
 *   h_people.c     the people I shop for, households
 *   h_suggest.c    suggestions: mine, dismiss, outcomes at the counter, training
 *   h_account.c    my password, forgotten passwords, one-time password links
 * The route table (routes.c) binds them to paths.
 */
#ifndef SK_HANDLERS_H
#define SK_HANDLERS_H

#include "http/http.h"

#define H(name) void name(struct app *app, struct http_req *req, struct http_resp *resp)

H(h_healthz);
H(h_metrics);
H(h_purposes);

H(h_brand_create);
H(h_brand_list);
H(h_brand_get);
H(h_choices_put);
H(h_choices_get);
H(h_notice_put);
H(h_notice_get);

H(h_staff_create);
H(h_staff_list);
H(h_staff_get);
H(h_staff_patch);
H(h_session_create);
H(h_session_get);
H(h_session_delete);

H(h_store_create);
H(h_store_list);
H(h_store_get);
H(h_store_patch);
H(h_store_close);
H(h_store_keys);
H(h_store_key_revoke);
H(h_store_sign);

H(h_customer_create);
H(h_me_get);
H(h_me_patch);

H(h_my_brands);
H(h_my_brand_get);
H(h_my_brand_put);
H(h_my_brand_delete);
H(h_my_consents);
H(h_my_prefs_put);
H(h_my_prefs_get);

H(h_member_get);
H(h_member_search);

H(h_eid_params);
H(h_device_create);
H(h_device_list);
H(h_device_delete);
H(h_device_code);
H(h_my_presence);
H(h_store_public);
H(h_scanner_create);
H(h_display_create);
H(h_sightings);
H(h_code);
H(h_cards);
H(h_cards_stream);
H(h_served);
H(h_served_undo);
H(h_pairing_create);
H(h_pairing_poll);
H(h_recog_stats);

H(h_privacy);
H(h_my_export);
H(h_me_delete);
H(h_my_access_log_verify);
H(h_member_export);
H(h_card_preview);
H(h_my_access_log);

H(h_item_put);
H(h_item_get);
H(h_item_list);
H(h_item_import);
H(h_pos_create);
H(h_purchase_create);
H(h_my_purchases);

H(h_people_list);
H(h_person_create);
H(h_person_get);
H(h_person_put);
H(h_person_delete);
H(h_household_get);
H(h_household_invite);
H(h_household_accept);
H(h_household_decline);
H(h_household_cancel);
H(h_household_unlink);

H(h_my_suggestions);
H(h_my_suggestion_dismiss);
H(h_suggestion_outcome);
H(h_brand_train);

H(h_password_change);
H(h_password_reset_request);
H(h_password_link_get);
H(h_password_link_use);

#undef H

#include "core/account.h"

/* ---- shared by handlers (h_account.c) ---------------------------------- */

/* 429: "Too many attempts. Try again in 15 minutes." with Retry-After. */
void resp_too_many_attempts(struct http_resp *resp, int64_t wait_us);
/* password is the signed-in caller's current one: 0; else a 403 or 429
 * problem (wrong guesses limited per account) and -1. */
int account_check_password(struct app *app, struct http_req *req, struct http_resp *resp,
                           const char *password);
/* A one-time link for subject (purpose "reset" | "invite", valid ttl_s):
 * ret_url gets public_url + "/reset#token=..."; the token is not kept. */
int account_link_new(struct app *app, enum principal_kind kind, const char *subject_id,
                     const char *purpose, int64_t ttl_s, char *ret_url, size_t len);

#endif
