/*
 * common.c — opening the database with its master key, shared by the
 * subcommands. The master key wraps every customer's data key: losing it
 * loses every sealed field, and production must supply its own.
 */
#include "cli/cli.h"
#include "store/db.h"
#include "util/crypto.h"
#include "util/err.h"
#include "util/ids.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void db_opts_defaults(struct db_opts *o)
{
    o->db_path = getenv("SHOPKEEPER_DB");
    if (!o->db_path || !*o->db_path) o->db_path = "var/shopkeeper.db";
    o->master_key_path = getenv("SHOPKEEPER_MASTER_KEY");
    if (o->master_key_path && !*o->master_key_path) o->master_key_path = NULL;
    o->keys_path = getenv("SHOPKEEPER_KEYS");
    if (o->keys_path && !*o->keys_path) o->keys_path = NULL;
}

static int mkdir_parent(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    char *dir = dirname(tmp);
    struct stat sb;
    if (stat(dir, &sb) == 0) return 0;
    if (mkdir(dir, 0700) == 0) return 0;
    fprintf(stderr, "shopkeeper: cannot create directory %s: %s\n", dir, strerror(errno));
    return -1;
}

static int key_read(const char *path, uint8_t key[CRYPTO_KEY_LEN])
{
    FILE *f = fopen(path, "r");
    if (!f) return SK_ENOTFOUND;
    char hex[80] = "";
    char *ok = fgets(hex, sizeof hex, f);
    fclose(f);
    if (!ok) return SK_EINVAL;
    hex[strcspn(hex, "\r\n \t")] = '\0';
    return hex_decode(hex, key, CRYPTO_KEY_LEN) ? SK_EINVAL : 0;
}

static int key_create(const char *path, uint8_t key[CRYPTO_KEY_LEN])
{
    char hex[2 * CRYPTO_KEY_LEN + 2];
    if (crypto_random(key, CRYPTO_KEY_LEN)) return SK_ECRYPTO;
    hex_encode(key, CRYPTO_KEY_LEN, hex);
    strcat(hex, "\n");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return SK_EIO;
    ssize_t n = write(fd, hex, strlen(hex));
    close(fd);
    return n == (ssize_t)strlen(hex) ? 0 : SK_EIO;
}

int db_open(const struct db_opts *o, struct store **ret)
{
    char keypath[1024];
    int given = o->master_key_path != NULL, pg = db_is_pg(o->db_path);
    if (pg && !given) {
        /* nothing sits "beside" a URL, and each node needs the same key */
        fprintf(stderr, "shopkeeper: a PostgreSQL --db needs --master-key (or "
                        "SHOPKEEPER_MASTER_KEY): the file of 64 hex digits every node shares\n");
        return 1;
    }
    if (given) {
        snprintf(keypath, sizeof keypath, "%s", o->master_key_path);
    } else {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%s", o->db_path);
        snprintf(keypath, sizeof keypath, "%s/master.key", dirname(tmp));
    }
    if (!pg && mkdir_parent(o->db_path)) return 1;
    uint8_t key[CRYPTO_KEY_LEN];
    int rc = key_read(keypath, key);
    if (rc == SK_ENOTFOUND && !given) {
        rc = key_create(keypath, key);
        if (rc == 0)
            log_kv(LOG_WARN, "master_key.generated", "path", keypath, "note",
                   "a new master key was generated for this machine; production must supply "
                   "its own with --master-key and keep a copy safe: without it every "
                   "customer's sealed data is lost",
                   NULL);
    }
    if (rc) {
        fprintf(stderr,
                "shopkeeper: cannot %s the master key at %s (%s); it must hold 64 hex digits\n",
                rc == SK_ENOTFOUND ? "find" : "read", keypath, sk_strerror(rc));
        return 1;
    }
    char err[512];
    rc = pg ? store_pg_open(o->db_path, o->keys_path, key, ret, err, sizeof err)
            : store_sqlite_open_keys(o->db_path, o->keys_path, key, ret, err, sizeof err);
    memset(key, 0, sizeof key);
    if (rc) {
        fprintf(stderr, "shopkeeper: %s\n", err[0] ? err : sk_strerror(rc));
        return 1;
    }
    return 0;
}

const char *db_opts_describe(const struct db_opts *o, char *buf, size_t len)
{
    if (db_is_pg(o->db_path)) db_pg_redact(o->db_path, buf, len);
    else snprintf(buf, len, "%s", o->db_path);
    return buf;
}

void progress_bar_show(struct progress_bar *b, const char *label, int64_t done, int64_t total)
{
    if (!b->tty || total <= 0) return;
    int pct = (int)(done * 100 / total);
    if (pct == b->last) return;
    b->last = pct;
    char fill[41];
    int n = pct * 40 / 100;
    memset(fill, '#', (size_t)n);
    memset(fill + n, '.', (size_t)(40 - n));
    fill[40] = '\0';
    fprintf(b->out, "\r[%s] %3d%%  %-24.24s", fill, pct, label ? label : "");
    fflush(b->out);
}

int operator_new(struct store *st, const char *name, char ret_token[64])
{
    char id[ID_MAX], token[TOKEN_MAX], hash[TOKEN_HASH_MAX];
    int rc = st->ops->operator_create(st, name, id);
    if (!rc) rc = token_new(token);
    if (!rc) {
        token_hash(token, hash);
        rc = st->ops->token_create(st, PRINCIPAL_OPERATOR, id, NULL, NULL, hash, 0);
    }
    if (!rc) memcpy(ret_token, token, TOKEN_MAX);
    return rc;
}

int public_url_resolve(const char *url, const char *listen, char *ret, size_t len)
{
    if (!url) {
        const char *l = listen && *listen ? listen : "127.0.0.1:8080";
        if (l[0] == ':' || strncmp(l, "0.0.0.0:", 8) == 0)
            snprintf(ret, len, "http://127.0.0.1:%s", strrchr(l, ':') + 1);
        else
            snprintf(ret, len, "http://%s", l);
        return 0;
    }
    size_t n = strlen(url);
    if (n > 200 || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) ||
        strpbrk(url, " \t\r\n\"<>#?"))
        return -1;
    while (n > 8 && url[n - 1] == '/') n--;
    snprintf(ret, len, "%.*s", (int)n, url);
    return 0;
}
