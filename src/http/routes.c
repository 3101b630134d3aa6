/*
 * routes.c — the route table: a new endpoint is one row.
 * WHO_* says which token kinds may call it; roles narrows staff. The glue
 * (server.c) enforces both, and keeps staff and store keys inside their own
 * brand on every route under /v1/brands/{brand}. `shopkeeper routes` prints
 * this table, and the API tests walk it for brand isolation.
 */
#include "http/handlers.h"

#define ADMIN_OR_OP (WHO_OPERATOR | WHO_STAFF)

const struct route http_routes[] = {
    {"GET", "/healthz", h_healthz, WHO_PUBLIC, 0, "liveness and version"},
    {"GET", "/v1/purposes", h_purposes, WHO_PUBLIC, 0, "the purposes, each explained"},

    {"POST", "/v1/brands", h_brand_create, WHO_OPERATOR, 0, "create a brand"},
    {"GET", "/v1/brands", h_brand_list, WHO_PUBLIC, 0, "brands a customer can join"},
    {"GET", "/v1/brands/{brand}", h_brand_get, WHO_PUBLIC, 0, "one brand"},
    {"PUT", "/v1/brands/{brand}/choices", h_choices_put, ADMIN_OR_OP, ROLE_ADMIN,
     "set the brand's simple choices (new version)"},
    {"GET", "/v1/brands/{brand}/choices", h_choices_get, WHO_PUBLIC, 0,
     "current or ?version=N choices"},
    {"PUT", "/v1/brands/{brand}/notice", h_notice_put, ADMIN_OR_OP, ROLE_ADMIN,
     "set what the brand collects and why, and its FAQ"},
    {"GET", "/v1/brands/{brand}/notice", h_notice_get, WHO_PUBLIC, 0, "the brand's notice"},

    {"POST", "/v1/brands/{brand}/staff", h_staff_create, ADMIN_OR_OP, ROLE_ADMIN,
     "add a staff member"},
    {"GET", "/v1/brands/{brand}/staff", h_staff_list, ADMIN_OR_OP, ROLE_ADMIN | ROLE_MANAGER,
     "list staff"},
    {"POST", "/v1/sessions", h_session_create, WHO_PUBLIC, 0, "log in (staff or customer)"},
    {"GET", "/v1/sessions/current", h_session_get,
     WHO_OPERATOR | WHO_STAFF | WHO_CUSTOMER | WHO_SCANNER | WHO_DISPLAY, 0,
     "who this token is"},
    {"DELETE", "/v1/sessions/current", h_session_delete, WHO_OPERATOR | WHO_STAFF | WHO_CUSTOMER,
     0, "log out (revoke this token)"},

    {"POST", "/v1/brands/{brand}/stores", h_store_create, ADMIN_OR_OP, ROLE_ADMIN,
     "open a store"},
    {"GET", "/v1/brands/{brand}/stores", h_store_list, WHO_PUBLIC, 0, "the brand's stores"},
    {"GET", "/v1/brands/{brand}/stores/{store}", h_store_get, WHO_PUBLIC, 0, "one store"},

    {"POST", "/v1/customers", h_customer_create, WHO_PUBLIC, 0, "sign up as a shopper"},
    {"GET", "/v1/me", h_me_get, WHO_CUSTOMER, 0, "my profile"},
    {"PATCH", "/v1/me", h_me_patch, WHO_CUSTOMER, 0, "change my name"},
    {"GET", "/v1/me/brands", h_my_brands, WHO_CUSTOMER, 0, "my memberships and grants"},
    {"GET", "/v1/me/brands/{brand}", h_my_brand_get, WHO_CUSTOMER, 0, "one membership"},
    {"PUT", "/v1/me/brands/{brand}", h_my_brand_put, WHO_CUSTOMER, 0,
     "join a brand or change what is granted"},
    {"DELETE", "/v1/me/brands/{brand}", h_my_brand_delete, WHO_CUSTOMER, 0,
     "leave a brand: withdraw everything"},
    {"GET", "/v1/me/consents", h_my_consents, WHO_CUSTOMER, 0, "my consent ledger"},
    {"PUT", "/v1/me/brands/{brand}/preferences", h_my_prefs_put, WHO_CUSTOMER, 0,
     "answer the brand's choices, set my don't-list"},
    {"GET", "/v1/me/brands/{brand}/preferences", h_my_prefs_get, WHO_CUSTOMER, 0,
     "my answers for a brand"},
    {"GET", "/v1/me/access-log", h_my_access_log, WHO_CUSTOMER, 0, "who looked at my data"},
    {"GET", "/v1/me/brands/{brand}/card", h_card_preview, WHO_CUSTOMER, 0,
     "what staff will see: my card under my current grants"},

    {"GET", "/v1/brands/{brand}/members/{customer}", h_member_get, WHO_STAFF, 0,
     "what the brand may see of a member (logged)"},

    {"GET", "/v1/eid-params", h_eid_params, WHO_PUBLIC, 0,
     "the resolver's X25519 public key and accepted rotation exponents"},
    {"POST", "/v1/me/devices", h_device_create, WHO_CUSTOMER, 0,
     "register a device (Eddystone-EID, by X25519 or a service-made key)"},
    {"GET", "/v1/me/devices", h_device_list, WHO_CUSTOMER, 0, "my devices"},
    {"DELETE", "/v1/me/devices/{device}", h_device_delete, WHO_CUSTOMER, 0,
     "remove a device: it stops resolving at once"},
    {"GET", "/v1/me/devices/{device}/code", h_device_code, WHO_CUSTOMER, 0,
     "the device's current counter code"},
    {"POST", "/v1/me/presence", h_my_presence, WHO_CUSTOMER, 0,
     "app check-in: I am at this store"},
    {"GET", "/v1/stores/{store}", h_store_public, WHO_PUBLIC, 0, "one store, by id"},
    {"POST", "/v1/stores/{store}/scanners", h_scanner_create, ADMIN_OR_OP,
     ROLE_ADMIN | ROLE_MANAGER, "create a scanner key (shown once)"},
    {"POST", "/v1/stores/{store}/displays", h_display_create, ADMIN_OR_OP,
     ROLE_ADMIN | ROLE_MANAGER, "create a counter display key (shown once)"},
    {"POST", "/v1/sightings", h_sightings, WHO_SCANNER, 0, "a scanner's batch of heard EIDs"},
    {"POST", "/v1/stores/{store}/codes", h_code, WHO_DISPLAY | WHO_STAFF, 0,
     "a counter code typed or scanned at the counter"},
    {"GET", "/v1/stores/{store}/cards", h_cards, WHO_DISPLAY | WHO_STAFF, 0,
     "the open cards of the store"},
    {"GET", "/v1/stores/{store}/cards/stream", h_cards_stream, WHO_DISPLAY | WHO_STAFF, 0,
     "server-sent events: card, update, gone"},
    {"POST", "/v1/stores/{store}/cards/{visit}/served", h_served, WHO_DISPLAY | WHO_STAFF, 0,
     "mark a card served"},
    {"GET", "/v1/recognition/stats", h_recog_stats, WHO_OPERATOR, 0,
     "aggregate recognition counters"},

    {"GET", "/v1/privacy", h_privacy, WHO_PUBLIC, 0, "how long each kind of data is kept"},
    {"GET", "/v1/me/export", h_my_export, WHO_CUSTOMER, 0,
     "everything held about me (docs/export.md)"},
    {"DELETE", "/v1/me", h_me_delete, WHO_CUSTOMER, 0,
     "erase my account: rows deleted, my data key destroyed"},
    {"GET", "/v1/me/access-log/verify", h_my_access_log_verify, WHO_CUSTOMER, 0,
     "check my access log's hash chain"},
    {"GET", "/v1/brands/{brand}/members/{customer}/export", h_member_export, WHO_STAFF,
     ROLE_ADMIN, "what the brand holds of a member, under granted purposes (logged)"},
};

const size_t http_routes_count = sizeof http_routes / sizeof http_routes[0];
