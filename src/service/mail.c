/*
 * mail.c — outgoing mail through an SMTP relay (see mail.h).
 *
 * Invariants:
 *  1. The queue holds at most MAIL_QUEUE_MAX messages; mailer_send never
 *     blocks on the network.
 *  2. Header fields come only from validated addresses and our own subjects:
 *     a CR or LF in any of them is refused, so nothing can add a header.
 *  3. The log says that a message was sent or why it was not, never to whom
 *     and never what it says (bodies hold one-time links).
 */
#include "service/mail.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/log.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

/* A message to send, or (fn set) work to run on the mailer's thread. */
struct mail_msg {
    char *to, *subject, *body;
    void (*fn)(void *ctx);
    void *ctx;
};

struct mailer {
    char *smtp_url, *from;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    struct mail_msg q[MAIL_QUEUE_MAX];
    size_t head, n;
    int stopping;
};

static int has_line_break(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* ---- one message over SMTP --------------------------------------------- */

struct upload {
    const char *data;
    size_t len, off;
};

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ctx)
{
    struct upload *u = ctx;
    size_t room = size * nmemb, left = u->len - u->off;
    size_t n = left < room ? left : room;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

/* The message as sent: headers, a blank line, the body with CRLF line ends. */
static char *message_text(const char *from, const char *to, const char *subject,
                          const char *body, size_t *ret_len)
{
    char date[64], msgid[40];
    uint8_t rnd[12];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    snprintf(date, sizeof date, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
             tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    if (crypto_random(rnd, sizeof rnd)) return NULL;
    hex_encode(rnd, sizeof rnd, msgid);
    const char *domain = strchr(from, '@');
    size_t cap = strlen(from) + strlen(to) + strlen(subject) + 2 * strlen(body) + 512;
    char *out = malloc(cap);
    if (!out) return NULL;
    int n = snprintf(out, cap,
                     "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n"
                     "Message-ID: <%s%s>\r\nMIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n\r\n",
                     from, to, subject, date, msgid, domain ? domain : "@shopkeeper.invalid");
    size_t len = n > 0 ? (size_t)n : 0;
    for (const char *p = body; *p; p++) {
        if (*p == '\r') continue;
        if (*p == '\n') out[len++] = '\r';
        out[len++] = *p;
    }
    if (len < 2 || out[len - 1] != '\n') {
        out[len++] = '\r';
        out[len++] = '\n';
    }
    out[len] = '\0';
    *ret_len = len;
    return out;
}

int mail_send_now(const struct mail_config *cfg, const char *to, const char *subject,
                  const char *body, char *err, size_t errlen)
{
    if (has_line_break(to) || has_line_break(subject) || has_line_break(cfg->from)) {
        snprintf(err, errlen, "an address or the subject holds a line break");
        return SK_EINVAL;
    }
    size_t len;
    char *text = message_text(cfg->from, to, subject, body, &len);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return SK_ENOMEM;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        free(text);
        snprintf(err, errlen, "cannot start libcurl");
        return SK_EIO;
    }
    char from_env[300], to_env[300], curlerr[CURL_ERROR_SIZE] = "";
    snprintf(from_env, sizeof from_env, "<%s>", cfg->from);
    snprintf(to_env, sizeof to_env, "<%s>", to);
    struct curl_slist *rcpt = curl_slist_append(NULL, to_env);
    struct upload u = {text, len, 0};
    curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from_env);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &u);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
    CURLcode cc = curl_easy_perform(c);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    memset(text, 0, len);
    free(text);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curlerr[0] ? curlerr : curl_easy_strerror(cc));
        return SK_EIO;
    }
    return 0;
}

/* ---- the queue --------------------------------------------------------- */

static void msg_free(struct mail_msg *m)
{
    if (m->body) memset(m->body, 0, strlen(m->body));
    free(m->to);
    free(m->subject);
    free(m->body);
    memset(m, 0, sizeof *m);
}

static void *mailer_run(void *arg)
{
    struct mailer *m = arg;
    struct mail_config cfg = {m->smtp_url, m->from};
    pthread_mutex_lock(&m->mu);
    for (;;) {
        while (m->n == 0 && !m->stopping) pthread_cond_wait(&m->cv, &m->mu);
        if (m->n == 0) break;
        struct mail_msg msg = m->q[m->head];
        memset(&m->q[m->head], 0, sizeof m->q[m->head]);
        m->head = (m->head + 1) % MAIL_QUEUE_MAX;
        m->n--;
        pthread_mutex_unlock(&m->mu);
        char err[CURL_ERROR_SIZE + 64];
        if (msg.fn) {
            msg.fn(msg.ctx);
        } else {
            /* a relay that is busy or restarting a moment: try again twice,
             * after 1 s and 3 s, before giving up on the message */
            static const unsigned pause_s[MAIL_ATTEMPTS] = {0, 1, 3};
            int sent = 0;
            for (int a = 0; a < MAIL_ATTEMPTS && !sent; a++) {
                if (pause_s[a]) sleep(pause_s[a]);
                sent = mail_send_now(&cfg, msg.to, msg.subject, msg.body, err, sizeof err) == 0;
            }
            if (sent) log_kv(LOG_INFO, "mail.sent", NULL);
            else log_kv(LOG_WARN, "mail.failed", "error", err, "attempts", "3", NULL);
        }
        msg_free(&msg);
        pthread_mutex_lock(&m->mu);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

int mailer_new(const struct mail_config *cfg, struct mailer **ret)
{
    if (!cfg->smtp_url || !cfg->from || has_line_break(cfg->from)) return SK_EINVAL;
    struct mailer *m = calloc(1, sizeof *m);
    if (!m) return SK_ENOMEM;
    m->smtp_url = strdup(cfg->smtp_url);
    m->from = strdup(cfg->from);
    if (!m->smtp_url || !m->from) goto fail;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    if (pthread_create(&m->thread, NULL, mailer_run, m)) {
        pthread_cond_destroy(&m->cv);
        pthread_mutex_destroy(&m->mu);
        goto fail;
    }
    *ret = m;
    return 0;
fail:
    free(m->smtp_url);
    free(m->from);
    free(m);
    return SK_ENOMEM;
}

static int enqueue(struct mailer *m, struct mail_msg msg)
{
    pthread_mutex_lock(&m->mu);
    /* (while stopping too: the thread drains until the queue is empty, and
     * a deferred job may still queue its message) */
    if (m->n == MAIL_QUEUE_MAX) {
        pthread_mutex_unlock(&m->mu);
        msg_free(&msg);
        return SK_ETOOBIG;
    }
    m->q[(m->head + m->n) % MAIL_QUEUE_MAX] = msg;
    m->n++;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    return 0;
}

int mailer_send(struct mailer *m, const char *to, const char *subject, const char *body)
{
    if (has_line_break(to) || has_line_break(subject)) return SK_EINVAL;
    if (strlen(body) > MAIL_BODY_MAX) return SK_ETOOBIG;
    struct mail_msg msg = {.to = strdup(to), .subject = strdup(subject), .body = strdup(body)};
    if (!msg.to || !msg.subject || !msg.body) {
        msg_free(&msg);
        return SK_ENOMEM;
    }
    return enqueue(m, msg);
}

int mailer_defer(struct mailer *m, void (*fn)(void *ctx), void *ctx)
{
    struct mail_msg msg = {.fn = fn, .ctx = ctx};
    return enqueue(m, msg);
}

void mailer_free(struct mailer *m)
{
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    m->stopping = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m->smtp_url);
    free(m->from);
    free(m);
}
