/* test_qr.c — the QR encoder (src/core/qr.{h,c}) against ISO/IEC 18004:
 * Reed-Solomon against the published generator polynomials and the "HELLO
 * WORLD" 1-M codewords; finder, separator, timing, alignment patterns and
 * the dark module where the standard puts them; format information from the
 * standard's table for level M and each mask, in both copies; version
 * information for versions 7-10; version selection at the capacities of
 * the standard's table, SK_ETOOBIG past version 10; the penalty rules on
 * symbols worked out by hand, and the chosen mask being the lowest scoring;
 * a round trip through a small decoder written here (format, unmasking,
 * zig-zag reading, deinterleaving, syndromes, bit stream) for many inputs,
 * every version and every mask; the SVG, parsed back module by module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/qr.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- GF(256), written again here so the checks do not lean on qr.c ---- */

static uint8_t gf_exp[512];
static int gf_log[256];

static void gf_init(void)
{
    unsigned x = 1;
    for (int i = 0; i < 255; i++) {
        gf_exp[i] = (uint8_t)x;
        gf_log[x] = i;
        x <<= 1;
        if (x & 0x100) x ^= 0x11d;
    }
    for (int i = 255; i < 512; i++) gf_exp[i] = gf_exp[i - 255];
}

static uint8_t gf_mul(uint8_t a, uint8_t b)
{
    return a && b ? gf_exp[gf_log[a] + gf_log[b]] : 0;
}

/* p(x) at x, coefficients highest power first */
static uint8_t poly_eval(const uint8_t *p, int n, uint8_t x)
{
    uint8_t y = 0;
    for (int i = 0; i < n; i++) y = gf_mul(y, x) ^ p[i];
    return y;
}

static int gf_setup(void **state)
{
    (void)state;
    gf_init();
    return 0;
}

/* ---- the standard's tables for level M (ISO/IEC 18004 Tables 1, 7, 9) ---- */

static const int TOTAL_CW[11] = {0, 26, 44, 70, 100, 134, 172, 196, 242, 292, 346};
/* ec per block, blocks of the first group and their data codewords, blocks
 * of the second group and theirs */
static const int BLOCKS_M[11][5] = {
    {0},
    {10, 1, 16, 0, 0},  {16, 1, 28, 0, 0},  {26, 1, 44, 0, 0},  {18, 2, 32, 0, 0},
    {24, 2, 43, 0, 0},  {16, 4, 27, 0, 0},  {18, 4, 31, 0, 0},  {22, 2, 38, 2, 39},
    {22, 3, 36, 2, 37}, {26, 4, 43, 1, 44},
};
static const int CAP_ALNUM[11] = {0, 20, 38, 61, 90, 122, 154, 178, 221, 262, 311};
static const int CAP_BYTE[11] = {0, 14, 26, 42, 62, 84, 106, 122, 152, 180, 213};
static const int ALIGN[11][3] = {
    {0},        {0},        {6, 18},    {6, 22},    {6, 26},    {6, 30},
    {6, 34},    {6, 22, 38}, {6, 24, 42}, {6, 26, 46}, {6, 28, 50},
};
/* format information, level M, masks 0-7 (Table C.1) */
static const char *const FORMAT_M[8] = {
    "101010000010010", "101000100100101", "101111001111100", "101101101001011",
    "100010111111001", "100000011001110", "100111110010111", "100101010100000",
};
/* version information (Table D.1) */
static const uint32_t VERSION_INFO[11] = {0, 0, 0, 0, 0, 0, 0, 0x07c94, 0x085bc, 0x09a99, 0x0a4d3};

static const char ALNUM[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

static int naligns(int v)
{
    return v == 1 ? 0 : v < 7 ? 2 : 3;
}

static int version_of(const struct qr *q)
{
    assert_true(q->size >= 21 && q->size <= 57 && (q->size - 17) % 4 == 0);
    return (q->size - 17) / 4;
}

static struct qr encoded(const char *text, int mask)
{
    struct qr q;
    int rc = qr_encode_mask(text, mask, &q);
    if (rc) fail_msg("\"%.40s\" (mask %d) was not encoded: %d", text, mask, rc);
    return q;
}

/* ---- a small decoder ---- */

/* 1 where a function pattern or a format/version area is */
static void function_map(int v, uint8_t *fn)
{
    int n = 17 + 4 * v;
    memset(fn, 0, (size_t)n * (size_t)n);
#define FN(x, y) fn[(y) * n + (x)] = 1
    for (int y = 0; y < 9; y++)
        for (int x = 0; x < 9; x++) FN(x, y); /* finder, separator, format */
    for (int y = 0; y < 9; y++)
        for (int x = n - 8; x < n; x++) FN(x, y);
    for (int y = n - 8; y < n; y++)
        for (int x = 0; x < 9; x++) FN(x, y);
    for (int i = 0; i < n; i++) {
        FN(6, i);
        FN(i, 6);
    }
    for (int i = 0; i < naligns(v); i++)
        for (int j = 0; j < naligns(v); j++) {
            int cx = ALIGN[v][i], cy = ALIGN[v][j];
            if ((cx < 9 && cy < 9) || (cx < 9 && cy > n - 9) || (cx > n - 9 && cy < 9)) continue;
            for (int y = cy - 2; y <= cy + 2; y++)
                for (int x = cx - 2; x <= cx + 2; x++) FN(x, y);
        }
    if (v >= 7)
        for (int a = 0; a < 6; a++)
            for (int b = n - 11; b < n - 8; b++) {
                FN(a, b);
                FN(b, a);
            }
#undef FN
}

static int mask_at(int mask, int i, int j) /* i row, j column */
{
    switch (mask) {
    case 0: return (i + j) % 2 == 0;
    case 1: return i % 2 == 0;
    case 2: return j % 3 == 0;
    case 3: return (i + j) % 3 == 0;
    case 4: return (i / 2 + j / 3) % 2 == 0;
    case 5: return (i * j) % 2 + (i * j) % 3 == 0;
    case 6: return ((i * j) % 2 + (i * j) % 3) % 2 == 0;
    case 7: return ((i + j) % 2 + (i * j) % 3) % 2 == 0;
    }
    fail_msg("mask %d", mask);
    return 0;
}

/* the 15 format bits, most significant first, of each copy */
static void format_copies(const struct qr *q, char one[16], char two[16])
{
    int n = q->size, k = 0;
    /* copy 1: row 8 from the left, then column 8 upwards, around the timing */
    for (int x = 0; x <= 8; x++)
        if (x != 6) one[k++] = (char)('0' + qr_module(q, x, 8));
    for (int y = 7; y >= 0; y--)
        if (y != 6) one[k++] = (char)('0' + qr_module(q, 8, y));
    one[k] = '\0';
    assert_int_equal(k, 15);
    /* copy 2: column 8 from the bottom up, then row 8 from n-8 rightwards */
    k = 0;
    for (int y = n - 1; y >= n - 7; y--) two[k++] = (char)('0' + qr_module(q, 8, y));
    for (int x = n - 8; x < n; x++) two[k++] = (char)('0' + qr_module(q, x, 8));
    two[k] = '\0';
    assert_int_equal(k, 15);
}

static int mask_of(const struct qr *q)
{
    char one[16], two[16];
    format_copies(q, one, two);
    assert_string_equal(one, two);
    for (int m = 0; m < 8; m++)
        if (!strcmp(one, FORMAT_M[m])) return m;
    fail_msg("format bits %s are not level M", one);
    return -1;
}

/* all codewords in placement order, unmasked; returns how many */
static int read_codewords(const struct qr *q, uint8_t *cw)
{
    int v = version_of(q), n = q->size, mask = mask_of(q);
    uint8_t fn[57 * 57];
    function_map(v, fn);
    int nbits = 0;
    memset(cw, 0, 346);
    /* pairs of columns from the right; the pair left of the timing column
     * is 4-5 */
    for (int pair = 0; pair < (n - 1) / 2; pair++) {
        int right = n - 1 - 2 * pair;
        if (right <= 6) right--;
        for (int t = 0; t < n; t++) {
            int y = pair % 2 == 0 ? n - 1 - t : t;
            for (int x = right; x >= right - 1; x--) {
                if (fn[y * n + x]) continue;
                int bit = qr_module(q, x, y) ^ mask_at(mask, y, x);
                if (nbits / 8 < TOTAL_CW[v]) cw[nbits / 8] |= (uint8_t)(bit << (7 - nbits % 8));
                else assert_int_equal(bit, 0); /* remainder bits are 0 */
                nbits++;
            }
        }
    }
    assert_int_equal(nbits / 8, TOTAL_CW[v]);
    assert_true(nbits % 8 == (v >= 2 && v <= 6 ? 7 : 0));
    return nbits / 8;
}

/* the data codewords, de-interleaved, after checking every block's syndromes */
static int data_codewords(const struct qr *q, uint8_t *data)
{
    uint8_t cw[346];
    int v = version_of(q);
    read_codewords(q, cw);
    const int *b = BLOCKS_M[v];
    int nblocks = b[1] + b[3], ec = b[0], k = 0, ndata = b[1] * b[2] + b[3] * b[4];
    assert_int_equal(ndata + nblocks * ec, TOTAL_CW[v]);
    uint8_t block[5][80];
    int len[5];
    for (int i = 0; i < nblocks; i++) len[i] = i < b[1] ? b[2] : b[4];
    for (int i = 0; i < b[4] || i < b[2]; i++)
        for (int j = 0; j < nblocks; j++)
            if (i < len[j]) block[j][i] = cw[k++];
    for (int i = 0; i < ec; i++)
        for (int j = 0; j < nblocks; j++) block[j][len[j] + i] = cw[k++];
    assert_int_equal(k, TOTAL_CW[v]);
    k = 0;
    for (int j = 0; j < nblocks; j++) {
        for (int i = 0; i < ec; i++)
            if (poly_eval(block[j], len[j] + ec, gf_exp[i]))
                fail_msg("version %d block %d: syndrome %d is not 0", v, j, i);
        memcpy(data + k, block[j], (size_t)len[j]);
        k += len[j];
    }
    return ndata;
}

static unsigned take(const uint8_t *d, int *pos, int nbits)
{
    unsigned v = 0;
    for (int i = 0; i < nbits; i++, (*pos)++) v = v << 1 | (d[*pos / 8] >> (7 - *pos % 8) & 1);
    return v;
}

/* decodes q into text (NUL-terminated); returns the mode indicator */
static int decode(const struct qr *q, char *text, size_t cap)
{
    uint8_t data[216];
    int v = version_of(q), ndata = data_codewords(q, data), pos = 0;
    unsigned mode = take(data, &pos, 4);
    assert_true(mode == 2 || mode == 4);
    unsigned len = take(data, &pos, mode == 2 ? (v < 10 ? 9 : 11) : (v < 10 ? 8 : 16));
    assert_true(len < cap);
    for (unsigned i = 0; i < len;) {
        if (mode == 4) {
            text[i++] = (char)take(data, &pos, 8);
        } else if (i + 1 < len) {
            unsigned p = take(data, &pos, 11);
            assert_true(p < 45 * 45);
            text[i++] = ALNUM[p / 45];
            text[i++] = ALNUM[p % 45];
        } else {
            unsigned c = take(data, &pos, 6);
            assert_true(c < 45);
            text[i++] = ALNUM[c];
        }
    }
    text[len] = '\0';
    /* terminator (up to 4 zeros), zeros to the byte, then EC 11 EC 11... */
    int end = pos + 4 < ndata * 8 ? pos + 4 : ndata * 8;
    while (pos < end) assert_int_equal(take(data, &pos, 1), 0);
    while (pos % 8) assert_int_equal(take(data, &pos, 1), 0);
    for (int i = 0; pos < ndata * 8; i++)
        assert_int_equal(take(data, &pos, 8), i % 2 ? 0x11 : 0xec);
    return (int)mode;
}

static void round_trip(const char *text, int mask, int want_version)
{
    struct qr q = encoded(text, mask);
    char back[400];
    int mode = decode(&q, back, sizeof back);
    if (strcmp(back, text)) fail_msg("\"%.40s\" came back as \"%.40s\"", text, back);
    int alnum = strspn(text, ALNUM) == strlen(text);
    assert_int_equal(mode, alnum ? 2 : 4);
    if (mask >= 0) assert_int_equal(mask_of(&q), mask);
    if (want_version) assert_int_equal(version_of(&q), want_version);
}

/* ---- Reed-Solomon ---- */

static void check_generator(int degree, const int *exps)
{
    uint8_t g[31];
    assert_int_equal(qr_rs_generator(degree, g), 0);
    for (int i = 0; i <= degree; i++)
        if (g[i] != gf_exp[exps[i]])
            fail_msg("degree %d: coefficient %d is %d, not a^%d", degree, i, g[i], exps[i]);
}

static void test_rs_generator(void **state)
{
    (void)state;
    /* the published generator polynomials, as exponents of a */
    const int g7[] = {0, 87, 229, 146, 149, 238, 102, 21};
    const int g10[] = {0, 251, 67, 46, 61, 118, 70, 64, 94, 32, 45};
    check_generator(7, g7);
    check_generator(10, g10);
    /* every degree: monic with roots a^0 .. a^(degree-1) and no others */
    for (int d = 1; d <= 30; d++) {
        uint8_t g[31];
        assert_int_equal(qr_rs_generator(d, g), 0);
        assert_int_equal(g[0], 1);
        for (int i = 0; i < 255; i++)
            assert_int_equal(poly_eval(g, d + 1, gf_exp[i]) == 0, i < d);
    }
    uint8_t g[32];
    assert_int_equal(qr_rs_generator(0, g), SK_EINVAL);
    assert_int_equal(qr_rs_generator(31, g), SK_EINVAL);
}

static void test_rs_remainder(void **state)
{
    (void)state;
    /* "HELLO WORLD", version 1-M */
    const uint8_t data[16] = {32, 91, 11,  120, 209, 114, 220, 77,
                              67, 64, 236, 17,  236, 17,  236, 17};
    const uint8_t want[10] = {196, 35, 39, 119, 235, 215, 231, 226, 93, 23};
    uint8_t ec[10];
    assert_int_equal(qr_rs_remainder(data, 16, 10, ec), 0);
    assert_memory_equal(ec, want, 10);
    /* random data: data followed by its remainder is a codeword */
    srand(1);
    for (int t = 0; t < 200; t++) {
        uint8_t cw[255];
        int n = 1 + rand() % 120, d = 1 + rand() % 30;
        for (int i = 0; i < n; i++) cw[i] = (uint8_t)rand();
        assert_int_equal(qr_rs_remainder(cw, (size_t)n, d, cw + n), 0);
        for (int i = 0; i < d; i++) assert_int_equal(poly_eval(cw, n + d, gf_exp[i]), 0);
    }
    assert_int_equal(qr_rs_remainder(data, 16, 0, ec), SK_EINVAL);
    assert_int_equal(qr_rs_remainder(NULL, 16, 10, ec), SK_EINVAL);
}

static void test_hello_world_codewords(void **state)
{
    (void)state;
    const uint8_t want[26] = {32,  91,  11,  120, 209, 114, 220, 77,  67,  64,  236, 17,  236,
                              17,  236, 17,  196, 35,  39,  119, 235, 215, 231, 226, 93,  23};
    for (int mask = QR_MASK_AUTO; mask < 8; mask++) {
        struct qr q = encoded("HELLO WORLD", mask);
        assert_int_equal(q.size, 21);
        uint8_t cw[346];
        assert_int_equal(read_codewords(&q, cw), 26);
        assert_memory_equal(cw, want, 26);
    }
}

/* ---- function patterns and format/version information ---- */

static void check_finder(const struct qr *q, int x0, int y0)
{
    for (int dy = -1; dy <= 7; dy++)
        for (int dx = -1; dx <= 7; dx++) {
            int x = x0 + dx, y = y0 + dy;
            if (x < 0 || y < 0 || x >= q->size || y >= q->size) continue;
            int ring = dx == -1 || dx == 7 || dy == -1 || dy == 7;   /* separator */
            int edge = dx == 0 || dx == 6 || dy == 0 || dy == 6;     /* dark frame */
            int core = dx >= 2 && dx <= 4 && dy >= 2 && dy <= 4;     /* dark 3x3 */
            int want = !ring && (edge || core);
            if (qr_module(q, x, y) != want)
                fail_msg("finder at %d,%d: module %d,%d is %d", x0, y0, x, y, !want);
        }
}

static void check_function_patterns(const struct qr *q)
{
    int n = q->size, v = version_of(q);
    check_finder(q, 0, 0);
    check_finder(q, n - 7, 0);
    check_finder(q, 0, n - 7);
    for (int i = 8; i < n - 8; i++) {
        assert_int_equal(qr_module(q, i, 6), i % 2 == 0);
        assert_int_equal(qr_module(q, 6, i), i % 2 == 0);
    }
    assert_int_equal(qr_module(q, 8, 4 * v + 9), 1); /* the dark module */
    int count = 0;
    for (int i = 0; i < naligns(v); i++)
        for (int j = 0; j < naligns(v); j++) {
            int cx = ALIGN[v][i], cy = ALIGN[v][j];
            if ((i == 0 && j == 0) || (i == 0 && j == naligns(v) - 1) ||
                (i == naligns(v) - 1 && j == 0))
                continue;
            count++;
            for (int dy = -2; dy <= 2; dy++)
                for (int dx = -2; dx <= 2; dx++) {
                    int d = abs(dx) > abs(dy) ? abs(dx) : abs(dy);
                    if (qr_module(q, cx + dx, cy + dy) != (d != 1))
                        fail_msg("version %d: alignment at %d,%d is wrong at %+d,%+d", v, cx, cy,
                                 dx, dy);
                }
        }
    const int want_count[11] = {0, 0, 1, 1, 1, 1, 1, 6, 6, 6, 6};
    assert_int_equal(count, want_count[v]);
    if (v >= 7) {
        /* bit i at (i / 3, n - 11 + i % 3) and transposed */
        for (int i = 0; i < 18; i++) {
            int bit = (int)(VERSION_INFO[v] >> i & 1);
            assert_int_equal(qr_module(q, i / 3, n - 11 + i % 3), bit);
            assert_int_equal(qr_module(q, n - 11 + i % 3, i / 3), bit);
        }
    }
}

/* a text that needs version v at M */
static void text_for_version(int v, int alnum, char *buf)
{
    int len = alnum ? CAP_ALNUM[v] : CAP_BYTE[v];
    for (int i = 0; i < len; i++)
        buf[i] = alnum ? ALNUM[(i * 7 + 3) % 45] : (char)('a' + (i * 5) % 26);
    buf[len] = '\0';
}

static void test_function_patterns(void **state)
{
    (void)state;
    char text[400];
    for (int v = 1; v <= 10; v++)
        for (int mask = QR_MASK_AUTO; mask < 8; mask++) {
            text_for_version(v, v % 2, text);
            struct qr q = encoded(text, mask);
            assert_int_equal(version_of(&q), v);
            check_function_patterns(&q);
        }
    struct qr q = encoded("SHOPKEEPER:7K3MQ9XD", QR_MASK_AUTO);
    assert_int_equal(q.size, 21);
    check_function_patterns(&q);
}

static void test_format_information(void **state)
{
    (void)state;
    /* the table is BCH(15,5) of 00 (level M) and the mask, xor 101010000010010 */
    for (int m = 0; m < 8; m++) {
        uint32_t r = (uint32_t)m << 10, f = 0;
        for (int i = 14; i >= 10; i--)
            if (r >> i & 1) r ^= 0x537u << (i - 10);
        r = ((uint32_t)m << 10 | r) ^ 0x5412;
        for (int i = 0; i < 15; i++) f = f << 1 | (uint32_t)(FORMAT_M[m][i] - '0');
        assert_int_equal(f, r);
    }
    char one[16], two[16];
    const char *texts[] = {"HELLO WORLD", "SHOPKEEPER:7K3MQ9XD", "lower case text", ""};
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++)
        for (int m = 0; m < 8; m++) {
            struct qr q = encoded(texts[t], m);
            format_copies(&q, one, two);
            assert_string_equal(one, FORMAT_M[m]);
            assert_string_equal(two, FORMAT_M[m]);
        }
}

/* ---- version selection ---- */

static void test_version_selection(void **state)
{
    (void)state;
    struct qr q;
    assert_int_equal(qr_encode("ABCDEFGHIJKLMNOPQRST", &q), 0); /* 20 alnum */
    assert_int_equal(q.size, 21);
    assert_int_equal(qr_encode("ABCDEFGHIJKLMNOPQRSTU", &q), 0); /* 21 */
    assert_int_equal(q.size, 25);
    assert_int_equal(qr_encode("abcdefghijklmn", &q), 0); /* 14 bytes */
    assert_int_equal(q.size, 21);
    assert_int_equal(qr_encode("abcdefghijklmno", &q), 0); /* 15 */
    assert_int_equal(q.size, 25);
    assert_int_equal(qr_encode("SHOPKEEPER:7K3MQ9XD", &q), 0);
    assert_int_equal(q.size, 21);
    assert_int_equal(qr_encode("shopkeeper:7k3mq9xd", &q), 0);
    assert_int_equal(q.size, 25);

    /* at each capacity of the table and one past it */
    char text[400];
    for (int v = 1; v <= 10; v++)
        for (int alnum = 0; alnum <= 1; alnum++) {
            text_for_version(v, alnum, text);
            round_trip(text, QR_MASK_AUTO, v);
            size_t len = strlen(text);
            text[len] = alnum ? 'Z' : 'z';
            text[len + 1] = '\0';
            if (v < 10) {
                round_trip(text, QR_MASK_AUTO, v + 1);
                continue;
            }
            memset(&q, 0xa5, sizeof q);
            struct qr before = q;
            assert_int_equal(qr_encode(text, &q), SK_ETOOBIG);
            assert_memory_equal(&q, &before, sizeof q); /* left alone */
        }
    /* far too long */
    char big[5000];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(qr_encode(big, &q), SK_ETOOBIG);
    assert_int_equal(qr_encode(NULL, &q), SK_EINVAL);
    assert_int_equal(qr_encode_mask("A", 8, &q), SK_EINVAL);
    assert_int_equal(qr_encode_mask("A", -2, &q), SK_EINVAL);
}

/* ---- round trip ---- */

static void test_round_trip(void **state)
{
    (void)state;
    const char *texts[] = {
        "SHOPKEEPER:7K3MQ9XD",
        "SHOPKEEPER:N6VP-MWE5",
        "HELLO WORLD",
        "A",
        "",
        "0123456789",
        " $%*+-./:",
        "shopkeeper:7k3mq9xd",
        "Caf\xc3\xa9 \xe2\x82\xac 5",
        "https://shop.example/counter?code=N6VP-MWE5&brand=pike-pine",
        "SHOPKEEPER:7K3MQ9XD SHOPKEEPER:7K3MQ9XD SHOPKEEPER:7K3MQ9XD ABC",
        "\x01\x7f\x80\xff~`{}|\\\"'",
    };
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++)
        for (int mask = QR_MASK_AUTO; mask < 8; mask++) round_trip(texts[t], mask, 0);
    /* random texts of every length up to 180 bytes, alnum and not */
    srand(2);
    char text[400];
    for (int len = 0; len <= 180; len++)
        for (int alnum = 0; alnum <= 1; alnum++) {
            for (int i = 0; i < len; i++)
                text[i] = alnum ? ALNUM[rand() % 45] : (char)(1 + rand() % 255);
            text[len] = '\0';
            round_trip(text, len % 9 - 1, 0);
        }
}

/* ---- masks and penalties ---- */

static void test_penalty_by_hand(void **state)
{
    (void)state;
    struct qr q;
    memset(&q, 0, sizeof q);
    q.size = 21;
    /* all light: 42 runs of 21 (19 each), 400 2x2 blocks, 0% dark (100) */
    assert_int_equal(qr_penalty(&q), 42 * 19 + 400 * 3 + 100);
    /* a checkerboard: no runs, no blocks, no finder patterns, 221/441 dark */
    for (int y = 0; y < 21; y++)
        for (int x = 0; x < 21; x++) q.modules[y * 21 + x] = (x + y) % 2 == 0;
    assert_int_equal(qr_penalty(&q), 0);
    /* one 1011101 in row 10 at columns 7-13, the rest light */
    memset(q.modules, 0, sizeof q.modules);
    const int cols[] = {7, 9, 10, 11, 13};
    for (int i = 0; i < 5; i++) q.modules[10 * 21 + cols[i]] = 1;
    int n1 = 2 * 5 + 20 * 19 /* rows */ + 5 * (2 * 8) + 16 * 19 /* columns */;
    int n2 = (400 - 2 * 8) * 3;
    int n3 = 40, n4 = 90; /* 5/441 dark: 9 full steps of 5% */
    assert_int_equal(qr_penalty(&q), n1 + n2 + n3 + n4);
    /* the same in a column */
    struct qr t;
    memset(&t, 0, sizeof t);
    t.size = 21;
    for (int y = 0; y < 21; y++)
        for (int x = 0; x < 21; x++) t.modules[y * 21 + x] = q.modules[x * 21 + y];
    assert_int_equal(qr_penalty(&t), n1 + n2 + n3 + n4);
    /* against the edge the quiet zone is the light side: 1011101 at 0-6 */
    memset(q.modules, 0, sizeof q.modules);
    const int edge[] = {0, 2, 3, 4, 6};
    for (int i = 0; i < 5; i++) q.modules[10 * 21 + edge[i]] = 1;
    n1 = (3 + 9) + 20 * 19 + 5 * (2 * 8) + 16 * 19;
    n2 = (400 - 2 * 7) * 3;
    assert_int_equal(qr_penalty(&q), n1 + n2 + 40 + 90);
    /* with only 3 light modules on each side it is no finder pattern:
     * 1 000 1011101 000 1 at columns 3-17 */
    memset(q.modules, 0, sizeof q.modules);
    const int tight[] = {3, 7, 9, 10, 11, 13, 17};
    for (int i = 0; i < 7; i++) q.modules[10 * 21 + tight[i]] = 1;
    n1 = 20 * 19 + 7 * (2 * 8) + 14 * 19;
    n2 = (400 - 2 * 12) * 3;
    assert_int_equal(qr_penalty(&q), n1 + n2 + 0 + 90); /* 7/441 dark is still 9 steps */
    /* 2 light modules before it, but the quiet zone beyond them: counted;
     * 2 light modules after it, then dark: not the light side */
    memset(q.modules, 0, sizeof q.modules);
    const int lead[] = {2, 4, 5, 6, 8, 11};
    for (int i = 0; i < 6; i++) q.modules[10 * 21 + lead[i]] = 1;
    n1 = (3 + 4) + 20 * 19 + 6 * (2 * 8) + 15 * 19;
    n2 = (400 - 2 * 10) * 3;
    assert_int_equal(qr_penalty(&q), n1 + n2 + 40 + 90);

    q.size = 22;
    assert_int_equal(qr_penalty(&q), SK_EINVAL);
}

static void test_best_mask_is_chosen(void **state)
{
    (void)state;
    const char *texts[] = {"SHOPKEEPER:7K3MQ9XD", "HELLO WORLD", "shopkeeper:7k3mq9xd",
                           "SHOPKEEPER:N6VP-MWE5", "", "https://shop.example/c/N6VP-MWE5"};
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        struct qr best = encoded(texts[t], QR_MASK_AUTO), each[8];
        int score[8], lowest = 0;
        for (int m = 0; m < 8; m++) {
            each[m] = encoded(texts[t], m);
            score[m] = qr_penalty(&each[m]);
            assert_true(score[m] > 0);
            if (score[m] < score[lowest]) lowest = m;
        }
        assert_int_equal(mask_of(&best), lowest);
        assert_memory_equal(&best, &each[lowest], sizeof best);
        /* the masks differ only off the function patterns */
        for (int m = 1; m < 8; m++) assert_memory_not_equal(&each[0], &each[m], sizeof best);
    }
    /* many texts, so that ties occur: the first of the lowest wins */
    int ties = 0;
    char text[64];
    for (int t = 0; t < 400; t++) {
        snprintf(text, sizeof text, "SHOPKEEPER:%08X%s", (unsigned)t * 2654435761u,
                 t % 2 ? "" : "x");
        struct qr best = encoded(text, QR_MASK_AUTO), each;
        int lowest = -1, lowest_score = 0, nlowest = 0;
        for (int m = 0; m < 8; m++) {
            each = encoded(text, m);
            int s = qr_penalty(&each);
            if (lowest < 0 || s < lowest_score) {
                lowest = m;
                lowest_score = s;
                nlowest = 1;
            } else if (s == lowest_score) {
                nlowest++;
            }
        }
        assert_int_equal(mask_of(&best), lowest);
        ties += nlowest > 1;
    }
    assert_true(ties > 0);
}

/* ---- qr_module, SVG ---- */

static void test_module_outside_is_light(void **state)
{
    (void)state;
    struct qr q = encoded("HELLO WORLD", QR_MASK_AUTO);
    assert_int_equal(qr_module(&q, 0, 0), 1);
    assert_int_equal(qr_module(&q, -1, 0), 0);
    assert_int_equal(qr_module(&q, 0, -1), 0);
    assert_int_equal(qr_module(&q, 21, 0), 0);
    assert_int_equal(qr_module(&q, 0, 21), 0);
    for (int i = 21 * 21; i < 57 * 57; i++) assert_int_equal(q.modules[i], 0);
}

static long number(const char **p)
{
    char *end;
    long v = strtol(*p, &end, 10);
    if (end == *p) fail_msg("a number expected at \"%.20s\"", *p);
    *p = end;
    return v;
}

static void expect(const char **p, const char *s)
{
    if (strncmp(*p, s, strlen(s))) fail_msg("\"%s\" expected at \"%.20s\"", s, *p);
    *p += strlen(s);
}

/* checks the SVG's shape and that its path draws exactly q's dark modules */
static void check_svg(const struct qr *q, int border, const char *svg)
{
    int w = q->size + 2 * border;
    char head[300];
    snprintf(head, sizeof head,
             "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
             "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
             "<path fill=\"#000\" d=\"",
             w, w, w, w);
    const char *p = svg;
    expect(&p, head);
    /* well-formed: three elements, the root closed, quotes paired */
    int lt = 0, gt = 0, quotes = 0;
    for (const char *c = svg; *c; c++) {
        lt += *c == '<';
        gt += *c == '>';
        quotes += *c == '"';
    }
    assert_int_equal(lt, 4);
    assert_int_equal(gt, 4);
    assert_int_equal(quotes % 2, 0);
    assert_non_null(strstr(svg, "<path"));
    assert_null(strstr(strstr(svg, "<path") + 1, "<path"));
    size_t len = strlen(svg);
    assert_true(len > 9 && !strcmp(svg + len - 9, "\"/></svg>"));

    static uint8_t drawn[65 * 65];
    memset(drawn, 0, sizeof drawn);
    while (*p == 'M') {
        p++;
        long x = number(&p);
        expect(&p, " ");
        long y = number(&p);
        expect(&p, "h");
        long h = number(&p);
        expect(&p, "v1h-");
        long back = number(&p);
        expect(&p, "z");
        assert_int_equal(h, back);
        assert_true(h >= 1 && x >= 0 && y >= 0 && x + h <= w && y < w);
        for (long i = x; i < x + h; i++) {
            assert_int_equal(drawn[y * w + i], 0); /* drawn once */
            drawn[y * w + i] = 1;
        }
    }
    expect(&p, "\"/></svg>");
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            if (drawn[y * w + x] != qr_module(q, x - border, y - border))
                fail_msg("svg module %d,%d is %d", x, y, drawn[y * w + x]);
}

static void test_svg(void **state)
{
    (void)state;
    static char buf[40000];
    struct qr q = encoded("SHOPKEEPER:7K3MQ9XD", QR_MASK_AUTO);
    assert_int_equal(qr_svg(&q, 4, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "viewBox=\"0 0 29 29\""));
    assert_non_null(strstr(buf, "shape-rendering=\"crispEdges\""));
    check_svg(&q, 4, buf);
    assert_true(strlen(buf) < 2500); /* compact */
    assert_int_equal(qr_svg(&q, 0, buf, sizeof buf), 0);
    assert_non_null(strstr(buf, "viewBox=\"0 0 21 21\""));
    check_svg(&q, 0, buf);

    char text[400];
    for (int v = 1; v <= 10; v += 3) {
        text_for_version(v, 0, text);
        q = encoded(text, QR_MASK_AUTO);
        assert_int_equal(qr_svg(&q, 4, buf, sizeof buf), 0);
        check_svg(&q, 4, buf);
    }

    /* too small: SK_ETOOBIG and the buffer left alone, at every size */
    q = encoded("HELLO WORLD", QR_MASK_AUTO);
    assert_int_equal(qr_svg(&q, 4, buf, sizeof buf), 0);
    size_t need = strlen(buf) + 1;
    static char small[40000];
    for (size_t len = 0; len < need; len++) {
        memset(small, 'x', sizeof small);
        assert_int_equal(qr_svg(&q, 4, small, len), SK_ETOOBIG);
        for (size_t i = 0; i < sizeof small; i++) assert_int_equal(small[i], 'x');
    }
    memset(small, 'x', sizeof small);
    assert_int_equal(qr_svg(&q, 4, small, need), 0);
    assert_string_equal(small, buf);

    assert_int_equal(qr_svg(&q, -1, buf, sizeof buf), SK_EINVAL);
    assert_int_equal(qr_svg(&q, 65, buf, sizeof buf), SK_EINVAL);
    q.size = 23;
    assert_int_equal(qr_svg(&q, 4, buf, sizeof buf), SK_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rs_generator),
        cmocka_unit_test(test_rs_remainder),
        cmocka_unit_test(test_hello_world_codewords),
        cmocka_unit_test(test_function_patterns),
        cmocka_unit_test(test_format_information),
        cmocka_unit_test(test_version_selection),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_penalty_by_hand),
        cmocka_unit_test(test_best_mask_is_chosen),
        cmocka_unit_test(test_module_outside_is_light),
        cmocka_unit_test(test_svg),
    };
    return cmocka_run_group_tests(tests, gf_setup, NULL);
}
