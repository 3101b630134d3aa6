/*
 * httpc.h — a small JSON-over-HTTP client for the simulator and benchmarks.
 */
#ifndef SK_HTTPC_H
#define SK_HTTPC_H

#include <jansson.h>
#include <stddef.h>

struct httpc;

struct httpc *httpc_new(const char *base_url);
void httpc_free(struct httpc *h);
/* *ret_body is valid until the next call on h. SK_EIO when no answer. */
int httpc_raw(struct httpc *h, const char *method, const char *path, const char *token,
              const char *body, size_t body_len, long *ret_status, const char **ret_body);
/* *ret is a new reference (JSON null when the body was not JSON). */
int httpc_json(struct httpc *h, const char *method, const char *path, const char *token,
               json_t *body, long *ret_status, json_t **ret);

#endif
