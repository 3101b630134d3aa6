/*
 * err.h — the one error convention of the tree.
 *
 * Every fallible function returns int: 0 on success, one of the negative
 * SK_E* codes on failure. Output parameters (named ret*) are written only on
 * success. Only the HTTP edge (src/http/problem.c) maps codes to statuses.
 */
#ifndef SK_ERR_H
#define SK_ERR_H

enum sk_err {
    SK_OK = 0,
    SK_ENOTFOUND = -1,  /* no such thing, or not visible to the caller */
    SK_ECONFLICT = -2,  /* already exists / state does not allow it */
    SK_EINVAL = -3,     /* a field is invalid (message says which) */
    SK_EFORBIDDEN = -4, /* caller may not do this */
    SK_EDB = -5,        /* storage failed */
    SK_ENOMEM = -6,     /* allocation failed */
    SK_ECRYPTO = -7,    /* key missing, tag mismatch, RNG failure */
    SK_ETOOBIG = -8,    /* a client-controlled size is over its limit */
    SK_EUNAUTH = -9,    /* no or bad credentials */
    SK_ERATE = -10,     /* too many attempts */
    SK_EVERSION = -11,  /* database from a newer version */
    SK_EIO = -12,       /* file or socket failure */
    SK_EBUSY = -13,     /* at capacity now: try again shortly */
};

const char *sk_strerror(int err);

#endif
