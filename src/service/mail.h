/*
 * mail.h — outgoing mail through the SMTP relay the operator configures
 * (--smtp-url), with libcurl's SMTP.
 *
 * A struct mailer owns a bounded queue and one thread that sends it, so a
 * request that mails something answers at once and in the same time
 * whatever is sent. Plain-text messages only. Recipients' addresses and
 * message bodies (which hold one-time links) are never logged.
 */
#ifndef SK_MAIL_H
#define SK_MAIL_H

#include <stddef.h>

#define MAIL_QUEUE_MAX 64    /* messages waiting; more are refused (SK_ETOOBIG) */
#define MAIL_BODY_MAX 8192
#define MAIL_ATTEMPTS 3      /* a message is tried this often before it is given up */

struct mail_config {
    const char *smtp_url; /* smtp://host:port, smtps://..., user:pass@ allowed */
    const char *from;     /* the envelope and From: address */
};

struct mailer;

/* Starts the sending thread. The strings of cfg are copied. */
int mailer_new(const struct mail_config *cfg, struct mailer **ret);
/* Queues one message (strings copied). 0, SK_ETOOBIG when the queue is
 * full, SK_EINVAL for an address or subject with line breaks. */
int mailer_send(struct mailer *m, const char *to, const char *subject, const char *body);
/* Runs fn(ctx) on the mailer's thread, in queue order: work whose time must
 * not show in a response (finding whether an account exists). fn owns ctx.
 * 0, or SK_ETOOBIG when the queue is full (then fn never runs and ctx is
 * still the caller's). */
int mailer_defer(struct mailer *m, void (*fn)(void *ctx), void *ctx);
/* Sends what is queued (each attempt bounded by a timeout), then stops.
 * NULL is a no-op. */
void mailer_free(struct mailer *m);

/* Sends one message now, in the caller's thread; err gets a reason for
 * people on failure (never the URL, which may hold a password). */
int mail_send_now(const struct mail_config *cfg, const char *to, const char *subject,
                  const char *body, char *err, size_t errlen);

#endif
