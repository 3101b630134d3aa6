/* err.c — human words for the SK_E* codes (see err.h). */
#include "util/err.h"

const char *sk_strerror(int err)
{
    switch (err) {
    case SK_OK: return "ok";
    case SK_ENOTFOUND: return "not found";
    case SK_ECONFLICT: return "conflict";
    case SK_EINVAL: return "invalid";
    case SK_EFORBIDDEN: return "forbidden";
    case SK_EDB: return "storage error";
    case SK_ENOMEM: return "out of memory";
    case SK_ECRYPTO: return "cryptography error";
    case SK_ETOOBIG: return "too large";
    case SK_EUNAUTH: return "unauthenticated";
    case SK_ERATE: return "too many requests";
    case SK_EVERSION: return "database is from a newer version";
    case SK_EIO: return "input/output error";
    case SK_EBUSY: return "busy, try again shortly";
    }
    return "unknown error";
}
