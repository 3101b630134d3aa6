/*
 * handlers.h — every per-resource handler, one file per resource:
 *   h_system.c     health, purposes
 *   h_brands.c     brands, choices, notice
 *   h_staff.c      staff and sessions (login/logout)
 *   h_stores.c     stores
 *   h_customers.c  sign-up and the customer's profile
 *   h_consent.c    memberships, the consent ledger, preferences
 *   h_members.c    the brand's view of a member, the customer's access log
 *   h_devices.c    the shopper's devices, counter codes, app check-in
 *   h_counter.c    store keys, sightings, cards and their live stream
 *   h_privacy.c    export, erasure, access-log integrity, retention
 *   h_catalogue.c  catalogue items, CSV import, purchases, my purchase history
 *   h_people.c     the people I shop for, households
 *   h_suggest.c    suggestions: mine, dismiss, outcomes at the counter, training
 * The route table (routes.c) binds them to paths.
 */
#ifndef SK_HANDLERS_H
#define SK_HANDLERS_H

#include "http/http.h"

#define H(name) void name(struct app *app, struct http_req *req, struct http_resp *resp)

H(h_healthz);
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
H(h_session_create);
H(h_session_get);
H(h_session_delete);

H(h_store_create);
H(h_store_list);
H(h_store_get);

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

#undef H

#include "core/account.h"

#endif
