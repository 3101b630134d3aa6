/*
 * qr.h — a QR code encoder (ISO/IEC 18004) for the counter code the customer
 * portal shows as an image.
 *
 * Only what a short code needs: versions 1 to 10 (21x21 to 57x57 modules),
 * error-correction level M (about 15% of the symbol can be lost), one
 * segment in alphanumeric mode when every character is in the QR
 * alphanumeric set (0-9, A-Z, space and $%*+-./:), otherwise in byte mode
 * (the bytes as given, no ECI). The smallest version that holds the text is
 * used; each of the eight masks is applied and scored by the standard's four
 * penalty rules and the lowest score wins (the first mask on a tie).
 *
 * Pure logic: no allocation, no I/O. Outputs are written only on success.
 */
#ifndef SK_QR_H
#define SK_QR_H

#include <stddef.h>
#include <stdint.h>

#define QR_MAX_VERSION 10
#define QR_MAX_SIZE 57 /* 17 + 4 * QR_MAX_VERSION */
#define QR_MASK_AUTO (-1)

struct qr {
    int size; /* modules a side: 17 + 4 * version */
    /* row-major with stride size: modules[y * size + x], 1 dark, 0 light;
     * entries past size * size are 0 */
    uint8_t modules[QR_MAX_SIZE * QR_MAX_SIZE];
};

/* Encodes text at level M. SK_EINVAL when text is NULL, SK_ETOOBIG when it
 * does not fit in version 10 (311 alphanumeric characters or 213 bytes). */
int qr_encode(const char *text, struct qr *ret);

/* 1 when the module at column x, row y is dark; 0 when light or outside the
 * symbol (the quiet zone). */
int qr_module(const struct qr *q, int x, int y);

/* Writes an SVG of q into buf (NUL-terminated): a white background, one
 * <path> of the dark modules, a viewBox in modules including a quiet zone of
 * border modules a side (the standard asks for 4), crisp edges and no fixed
 * size, so CSS scales it. SK_ETOOBIG when buf is too small (buf is then left
 * alone), SK_EINVAL for a bad symbol or a border outside 0..64. */
int qr_svg(const struct qr *q, int border, char *buf, size_t len);

/* ---- parts, exposed for the tests ---- */

/* qr_encode with the mask forced to 0..7, or QR_MASK_AUTO. */
int qr_encode_mask(const char *text, int mask, struct qr *ret);

/* The score of the four penalty rules (ISO/IEC 18004 7.8.3) of a symbol as
 * it stands: runs of 5 or more (3 + run - 5), 2x2 blocks of one colour (3
 * each), 1:1:3:1:1 finder-like patterns with 4 light modules before or after,
 * the quiet zone counting as light (40 each), and the dark share's distance
 * from 50% (10 for each full 5%). SK_EINVAL for a bad symbol. */
int qr_penalty(const struct qr *q);

/* Reed-Solomon over GF(2^8) mod x^8+x^4+x^3+x^2+1 with the generator
 * (x - a^0)(x - a^1)...(x - a^(degree-1)), degree 1..30 (the most a QR
 * block uses), else SK_EINVAL.
 *
 * The generator's degree + 1 coefficients, highest power first (ret[0] is 1). */
int qr_rs_generator(int degree, uint8_t *ret);
/* The degree error-correction codewords of n data codewords: the remainder
 * of data(x) * x^degree divided by the generator. */
int qr_rs_remainder(const uint8_t *data, size_t n, int degree, uint8_t *ret);

#endif
