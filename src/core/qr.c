/* qr.c — QR code encoder (see qr.h). Section numbers are ISO/IEC 18004:2015. */
#include "core/qr.h"
#include "util/err.h"

#include <string.h>

#define QR__MAX_CODEWORDS 346 /* version 10 */
#define QR__MAX_DATA 216      /* version 10-M */
#define QR__MAX_EC 30
#define QR__MAX_BLOCKS 5
#define QR__CELLS (QR_MAX_SIZE * QR_MAX_SIZE)

/* ---- GF(2^8) and Reed-Solomon (7.5.2) ---- */

static uint8_t qr__gf_mul(uint8_t a, uint8_t b)
{
    unsigned r = 0, x = a;
    for (; b; b >>= 1) {
        if (b & 1) r ^= x;
        x <<= 1;
        if (x & 0x100) x ^= 0x11d;
    }
    return (uint8_t)r;
}

int qr_rs_generator(int degree, uint8_t *ret)
{
    if (degree < 1 || degree > QR__MAX_EC || !ret) return SK_EINVAL;
    /* g[0] is the highest power; multiply by (x + a^i) for each root */
    uint8_t g[QR__MAX_EC + 1] = {1};
    uint8_t root = 1;
    for (int i = 0; i < degree; i++) {
        g[i + 1] = 0;
        for (int j = i + 1; j > 0; j--) g[j] ^= qr__gf_mul(g[j - 1], root);
        root = qr__gf_mul(root, 2);
    }
    memcpy(ret, g, (size_t)degree + 1);
    return 0;
}

int qr_rs_remainder(const uint8_t *data, size_t n, int degree, uint8_t *ret)
{
    uint8_t g[QR__MAX_EC + 1], r[QR__MAX_EC] = {0};
    if ((!data && n) || !ret) return SK_EINVAL;
    int rc = qr_rs_generator(degree, g);
    if (rc) return rc;
    /* long division, one data codeword at a time */
    for (size_t i = 0; i < n; i++) {
        uint8_t f = data[i] ^ r[0];
        memmove(r, r + 1, (size_t)degree - 1);
        r[degree - 1] = 0;
        for (int j = 0; j < degree; j++) r[j] ^= qr__gf_mul(g[j + 1], f);
    }
    memcpy(ret, r, (size_t)degree);
    return 0;
}

/* ---- versions at level M (Table 9) ---- */

/* error-correction codewords per block and the number of blocks; the data
 * codewords are what is left of the version's codewords, shared out so that
 * the later blocks get one more when they do not divide evenly */
static const struct {
    uint8_t ec, blocks;
} qr__m[QR_MAX_VERSION + 1] = {
    {0, 0},   {10, 1}, {16, 1}, {26, 1}, {18, 2}, {24, 2},
    {16, 4},  {18, 4}, {22, 4}, {22, 5}, {26, 5},
};

/* centres of the alignment patterns (Annex E) */
static const uint8_t qr__align[QR_MAX_VERSION + 1][3] = {
    {0},        {0},        {6, 18},    {6, 22},    {6, 26},    {6, 30},
    {6, 34},    {6, 22, 38}, {6, 24, 42}, {6, 26, 46}, {6, 28, 50},
};

static int qr__naligns(int version)
{
    return version < 2 ? 0 : version < 7 ? 2 : 3;
}

/* ---- the symbol under construction ---- */

struct qr__grid {
    int version, size;
    uint8_t dark[QR__CELLS];
    uint8_t fn[QR__CELLS]; /* a function pattern or reserved: no data here */
};

static void qr__set(struct qr__grid *g, int x, int y, int dark)
{
    g->dark[y * g->size + x] = (uint8_t)(dark != 0);
    g->fn[y * g->size + x] = 1;
}

static void qr__finder(struct qr__grid *g, int cx, int cy)
{
    /* the 7x7 pattern and its light separator, by distance from the centre */
    for (int dy = -4; dy <= 4; dy++)
        for (int dx = -4; dx <= 4; dx++) {
            int x = cx + dx, y = cy + dy;
            if (x < 0 || y < 0 || x >= g->size || y >= g->size) continue;
            int adx = dx < 0 ? -dx : dx, ady = dy < 0 ? -dy : dy;
            int d = adx > ady ? adx : ady;
            qr__set(g, x, y, d != 2 && d != 4);
        }
}

static void qr__alignment(struct qr__grid *g, int cx, int cy)
{
    for (int dy = -2; dy <= 2; dy++)
        for (int dx = -2; dx <= 2; dx++) {
            int adx = dx < 0 ? -dx : dx, ady = dy < 0 ? -dy : dy;
            qr__set(g, cx + dx, cy + dy, (adx > ady ? adx : ady) != 1);
        }
}

/* 6 bits of version and 12 of BCH(18,6), generator x^12+x^11+x^10+x^9+x^8+x^5+x^2+1
 * (7.10, Annex D) */
static uint32_t qr__version_bits(int version)
{
    uint32_t r = (uint32_t)version << 12;
    for (int i = 17; i >= 12; i--)
        if (r >> i & 1) r ^= (uint32_t)0x1f25 << (i - 12);
    return (uint32_t)version << 12 | r;
}

/* 2 bits of level (M is 00), 3 of mask, 10 of BCH(15,5) with generator
 * x^10+x^8+x^5+x^4+x^2+x+1, masked with 101010000010010 (7.9, Annex C) */
static uint32_t qr__format_bits(int mask)
{
    uint32_t d = (uint32_t)mask; /* level M: 00 */
    uint32_t r = d << 10;
    for (int i = 14; i >= 10; i--)
        if (r >> i & 1) r ^= (uint32_t)0x537 << (i - 10);
    return (d << 10 | r) ^ 0x5412;
}

/* The function patterns of a version, light and dark, with the format and
 * version areas reserved (format bits are drawn per mask). */
static void qr__function_patterns(struct qr__grid *g, int version)
{
    int n = 17 + 4 * version;
    memset(g, 0, sizeof *g);
    g->version = version;
    g->size = n;
    /* timing patterns (6.3.5) first: finders and alignments overwrite */
    for (int i = 0; i < n; i++) {
        qr__set(g, 6, i, i % 2 == 0);
        qr__set(g, i, 6, i % 2 == 0);
    }
    qr__finder(g, 3, 3);
    qr__finder(g, n - 4, 3);
    qr__finder(g, 3, n - 4);
    int na = qr__naligns(version);
    for (int i = 0; i < na; i++)
        for (int j = 0; j < na; j++) {
            /* not on a finder pattern */
            if ((i == 0 && j == 0) || (i == 0 && j == na - 1) || (i == na - 1 && j == 0))
                continue;
            qr__alignment(g, qr__align[version][i], qr__align[version][j]);
        }
    /* format areas: around the top left finder, under the top right one
     * and beside the bottom left one; then the dark module (7.9.1) */
    for (int i = 0; i <= 8; i++) {
        if (i != 6) {
            qr__set(g, 8, i, 0);
            qr__set(g, i, 8, 0);
        }
    }
    for (int i = 0; i < 8; i++) qr__set(g, n - 1 - i, 8, 0);
    for (int i = 0; i < 7; i++) qr__set(g, 8, n - 1 - i, 0);
    qr__set(g, 8, n - 8, 1);
    /* version information (7.10), versions 7 and up: bit i at 6x3 blocks
     * above the bottom left finder and, transposed, left of the top right */
    if (version >= 7) {
        uint32_t v = qr__version_bits(version);
        for (int i = 0; i < 18; i++) {
            int bit = (int)(v >> i & 1), a = i / 3, b = n - 11 + i % 3;
            qr__set(g, a, b, bit);
            qr__set(g, b, a, bit);
        }
    }
}

static void qr__draw_format(struct qr__grid *g, int mask)
{
    uint32_t f = qr__format_bits(mask);
    int n = g->size;
    for (int i = 0; i < 15; i++) {
        int bit = (int)(f >> i & 1);
        /* first copy: bits 0-7 up column 8 (skipping the timing row), bits
         * 8-14 leftwards along row 8 (skipping the timing column) */
        if (i < 6) qr__set(g, 8, i, bit);
        else if (i < 8) qr__set(g, 8, i + 1, bit);
        else if (i == 8) qr__set(g, 7, 8, bit);
        else qr__set(g, 14 - i, 8, bit);
        /* second copy: bits 0-7 along row 8 from the right edge, bits 8-14
         * down column 8 to the bottom edge */
        if (i < 8) qr__set(g, n - 1 - i, 8, bit);
        else qr__set(g, 8, n - 15 + i, bit);
    }
}

/* Data modules in placement order (7.7.3): two-module columns from the
 * right, upwards then downwards alternately, the right module of a pair
 * first, stepping over the vertical timing pattern. */
static void qr__place(struct qr__grid *g, const uint8_t *cw, int ncw)
{
    int n = g->size, k = 0, nbits = ncw * 8;
    int upward = 1;
    for (int right = n - 1; right >= 1; right -= 2) {
        if (right == 6) right = 5;
        for (int t = 0; t < n; t++) {
            int y = upward ? n - 1 - t : t;
            for (int c = 0; c < 2; c++) {
                int x = right - c, i = y * n + x;
                if (g->fn[i]) continue;
                /* remainder bits past the last codeword are 0 */
                g->dark[i] = k < nbits ? (uint8_t)(cw[k >> 3] >> (7 - (k & 7)) & 1) : 0;
                k++;
            }
        }
        upward = !upward;
    }
}

static int qr__mask_bit(int mask, int x, int y)
{
    /* i is the row, j the column (Table 10) */
    int i = y, j = x;
    switch (mask) {
    case 0: return (i + j) % 2 == 0;
    case 1: return i % 2 == 0;
    case 2: return j % 3 == 0;
    case 3: return (i + j) % 3 == 0;
    case 4: return (i / 2 + j / 3) % 2 == 0;
    case 5: return (i * j) % 2 + (i * j) % 3 == 0;
    case 6: return ((i * j) % 2 + (i * j) % 3) % 2 == 0;
    default: return ((i + j) % 2 + (i * j) % 3) % 2 == 0;
    }
}

static void qr__apply_mask(struct qr__grid *g, int mask)
{
    for (int y = 0; y < g->size; y++)
        for (int x = 0; x < g->size; x++) {
            int i = y * g->size + x;
            if (!g->fn[i] && qr__mask_bit(mask, x, y)) g->dark[i] ^= 1;
        }
}

/* ---- data encoding (7.4) ---- */

static const char qr__alnum_set[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

static int qr__alnum_value(unsigned char c)
{
    if (!c) return -1;
    const char *p = strchr(qr__alnum_set, c);
    return p ? (int)(p - qr__alnum_set) : -1;
}

struct qr__bits {
    uint8_t b[QR__MAX_DATA];
    int n; /* bits */
};

static void qr__put(struct qr__bits *bb, unsigned v, int nbits)
{
    for (int i = nbits - 1; i >= 0; i--, bb->n++)
        if (v >> i & 1) bb->b[bb->n >> 3] |= (uint8_t)(0x80 >> (bb->n & 7));
}

static int qr__count_bits(int alnum, int version)
{
    if (alnum) return version <= 9 ? 9 : 11;
    return version <= 9 ? 8 : 16;
}

static int qr__data_bits(int alnum, int version, size_t len)
{
    int head = 4 + qr__count_bits(alnum, version);
    int body = alnum ? 11 * (int)(len / 2) + 6 * (int)(len % 2) : 8 * (int)len;
    return head + body;
}

/* codewords a version has for data and error correction */
static int qr__raw_codewords(const struct qr__grid *g)
{
    int free_modules = 0;
    for (int i = 0; i < g->size * g->size; i++) free_modules += !g->fn[i];
    return free_modules / 8;
}

/* ---- penalty (7.8.3) ---- */

static int qr__line_penalty(const uint8_t *line, int n)
{
    int score = 0, runs[QR_MAX_SIZE], m = 0;
    uint8_t first = line[0];
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && line[j] == line[i]) j++;
        if (j - i >= 5) score += 3 + (j - i - 5); /* N1 */
        runs[m++] = j - i;
        i = j;
    }
    /* N3: dark 1, light 1, dark 3, light 1, dark 1 (times any k), with light
     * 4k before or after; beyond the symbol is the light quiet zone */
    for (int r = 2; r + 2 < m; r++) {
        int dark = (r % 2 == 0) == (first == 1);
        if (!dark || runs[r] % 3) continue;
        int k = runs[r] / 3;
        if (runs[r - 2] != k || runs[r - 1] != k || runs[r + 1] != k || runs[r + 2] != k)
            continue;
        int before = r - 3 <= 0 || runs[r - 3] >= 4 * k;
        int after = r + 3 >= m - 1 || runs[r + 3] >= 4 * k;
        if (before || after) score += 40;
    }
    return score;
}

static int qr__valid_size(int size)
{
    return size >= 21 && size <= QR_MAX_SIZE && (size - 17) % 4 == 0;
}

static int qr__penalty(const uint8_t *m, int n)
{
    int score = 0, dark = 0;
    uint8_t line[QR_MAX_SIZE];
    for (int y = 0; y < n; y++) score += qr__line_penalty(m + y * n, n);
    for (int x = 0; x < n; x++) {
        for (int y = 0; y < n; y++) line[y] = m[y * n + x];
        score += qr__line_penalty(line, n);
    }
    for (int y = 0; y + 1 < n; y++) /* N2 */
        for (int x = 0; x + 1 < n; x++) {
            uint8_t c = m[y * n + x];
            if (m[y * n + x + 1] == c && m[(y + 1) * n + x] == c && m[(y + 1) * n + x + 1] == c)
                score += 3;
        }
    for (int i = 0; i < n * n; i++) dark += m[i];
    int total = n * n, dev = 20 * dark - 10 * total; /* N4 */
    if (dev < 0) dev = -dev;
    return score + 10 * (dev / total);
}

int qr_penalty(const struct qr *q)
{
    if (!q || !qr__valid_size(q->size)) return SK_EINVAL;
    return qr__penalty(q->modules, q->size);
}

/* ---- the encoder ---- */

int qr_encode_mask(const char *text, int mask, struct qr *ret)
{
    if (!text || !ret || mask < QR_MASK_AUTO || mask > 7) return SK_EINVAL;
    size_t len = strlen(text);
    if (len > 4096) return SK_ETOOBIG;
    int alnum = 1;
    for (size_t i = 0; i < len; i++)
        if (qr__alnum_value((unsigned char)text[i]) < 0) alnum = 0;

    /* the smallest version that holds it */
    struct qr__grid grid;
    int version = 0, ndata = 0, nraw = 0;
    for (int v = 1; v <= QR_MAX_VERSION; v++) {
        qr__function_patterns(&grid, v);
        nraw = qr__raw_codewords(&grid);
        ndata = nraw - qr__m[v].ec * qr__m[v].blocks;
        int need = qr__data_bits(alnum, v, len);
        if (need <= ndata * 8 && len < (size_t)1 << qr__count_bits(alnum, v)) {
            version = v;
            break;
        }
    }
    if (!version) return SK_ETOOBIG;

    /* the bit stream: mode, count, data, terminator, padding (7.4.9-10) */
    struct qr__bits bb;
    memset(&bb, 0, sizeof bb);
    qr__put(&bb, alnum ? 2 : 4, 4);
    qr__put(&bb, (unsigned)len, qr__count_bits(alnum, version));
    if (alnum) {
        size_t i = 0;
        for (; i + 1 < len; i += 2)
            qr__put(&bb,
                    (unsigned)(45 * qr__alnum_value((unsigned char)text[i]) +
                               qr__alnum_value((unsigned char)text[i + 1])),
                    11);
        if (i < len) qr__put(&bb, (unsigned)qr__alnum_value((unsigned char)text[i]), 6);
    } else {
        for (size_t i = 0; i < len; i++) qr__put(&bb, (unsigned char)text[i], 8);
    }
    int cap = ndata * 8, term = cap - bb.n < 4 ? cap - bb.n : 4;
    qr__put(&bb, 0, term);
    bb.n = (bb.n + 7) / 8 * 8;
    for (int pad = 0xec; bb.n < cap; pad ^= 0xec ^ 0x11) qr__put(&bb, (unsigned)pad, 8);

    /* blocks, error correction and interleaving (7.5-7.6) */
    int nblocks = qr__m[version].blocks, nec = qr__m[version].ec;
    int short_len = ndata / nblocks, nlong = ndata % nblocks;
    uint8_t ec[QR__MAX_BLOCKS][QR__MAX_EC];
    int start[QR__MAX_BLOCKS + 1];
    start[0] = 0;
    for (int b = 0; b < nblocks; b++) {
        int blen = short_len + (b >= nblocks - nlong);
        start[b + 1] = start[b] + blen;
        int rc = qr_rs_remainder(bb.b + start[b], (size_t)blen, nec, ec[b]);
        if (rc) return rc;
    }
    uint8_t cw[QR__MAX_CODEWORDS];
    int k = 0;
    for (int i = 0; i <= short_len; i++)
        for (int b = 0; b < nblocks; b++)
            if (start[b] + i < start[b + 1]) cw[k++] = bb.b[start[b] + i];
    for (int i = 0; i < nec; i++)
        for (int b = 0; b < nblocks; b++) cw[k++] = ec[b][i];

    qr__place(&grid, cw, k);

    /* masks: try each, keep the lowest penalty (7.8) */
    int best = mask, best_score = -1;
    if (mask == QR_MASK_AUTO) {
        for (int m = 0; m < 8; m++) {
            struct qr__grid t = grid;
            qr__apply_mask(&t, m);
            qr__draw_format(&t, m);
            int s = qr__penalty(t.dark, t.size);
            if (best_score < 0 || s < best_score) {
                best = m;
                best_score = s;
            }
        }
    }
    qr__apply_mask(&grid, best);
    qr__draw_format(&grid, best);

    memset(ret, 0, sizeof *ret);
    ret->size = grid.size;
    memcpy(ret->modules, grid.dark, (size_t)grid.size * (size_t)grid.size);
    return 0;
}

int qr_encode(const char *text, struct qr *ret)
{
    return qr_encode_mask(text, QR_MASK_AUTO, ret);
}

int qr_module(const struct qr *q, int x, int y)
{
    if (!q || x < 0 || y < 0 || x >= q->size || y >= q->size || q->size > QR_MAX_SIZE) return 0;
    return q->modules[y * q->size + x] != 0;
}

/* ---- SVG ---- */

struct qr__out {
    char *buf; /* NULL: only count */
    size_t len, n;
};

static void qr__str(struct qr__out *o, const char *s)
{
    for (; *s; s++, o->n++)
        if (o->buf && o->n < o->len) o->buf[o->n] = *s;
}

static void qr__int(struct qr__out *o, int v)
{
    char d[12];
    int i = (int)sizeof d - 1;
    d[i] = '\0';
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    qr__str(o, d + i);
}

static void qr__svg(const struct qr *q, int border, struct qr__out *o)
{
    int w = q->size + 2 * border;
    qr__str(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ");
    qr__int(o, w);
    qr__str(o, " ");
    qr__int(o, w);
    qr__str(o, "\" shape-rendering=\"crispEdges\"><rect width=\"");
    qr__int(o, w);
    qr__str(o, "\" height=\"");
    qr__int(o, w);
    qr__str(o, "\" fill=\"#fff\"/><path fill=\"#000\" d=\"");
    /* each horizontal run of dark modules as a 1-high rectangle */
    for (int y = 0; y < q->size; y++)
        for (int x = 0; x < q->size;) {
            if (!qr_module(q, x, y)) {
                x++;
                continue;
            }
            int x0 = x;
            while (x < q->size && qr_module(q, x, y)) x++;
            qr__str(o, "M");
            qr__int(o, x0 + border);
            qr__str(o, " ");
            qr__int(o, y + border);
            qr__str(o, "h");
            qr__int(o, x - x0);
            qr__str(o, "v1h-");
            qr__int(o, x - x0);
            qr__str(o, "z");
        }
    qr__str(o, "\"/></svg>");
}

int qr_svg(const struct qr *q, int border, char *buf, size_t len)
{
    if (!q || !qr__valid_size(q->size) || border < 0 || border > 64 || (!buf && len))
        return SK_EINVAL;
    struct qr__out o = {NULL, 0, 0};
    qr__svg(q, border, &o);
    if (o.n + 1 > len) return SK_ETOOBIG;
    o = (struct qr__out){buf, len, 0};
    qr__svg(q, border, &o);
    buf[o.n] = '\0';
    return 0;
}
