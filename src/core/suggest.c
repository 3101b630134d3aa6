/*
 * suggest.c — item-item suggestion model (see suggest.h).
 *
 * Invariants of a trained model:
 *  1. row_off has n_items + 1 entries; row i is nbr/w[row_off[i] ..
 *     row_off[i+1]), at most `neighbours` entries, every weight > 0, no
 *     entry j == i, sorted by weight descending (ties by item).
 *  2. pop_order lists every item once, by popularity descending, ties by
 *     item index ascending.
 */
#include "core/suggest.h"
#include "util/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct suggest_model {
    uint32_t n_items;
    enum suggest_method method;
    uint32_t modelled;
    uint32_t *pop;
    uint32_t *pop_order;
    size_t *row_off;
    uint32_t *nbr;
    float *w;
};

/* Deduplicated views of the training data, both directions. */
struct sg_mat {
    size_t n_rows;
    size_t *off; /* n_rows + 1 */
    uint32_t *idx;
    float *val;
};

static void sg_mat_free(struct sg_mat *x)
{
    free(x->off);
    free(x->idx);
    free(x->val);
    memset(x, 0, sizeof *x);
}

void suggest_params_default(struct suggest_params *p, enum suggest_method method)
{
    memset(p, 0, sizeof *p);
    p->method = method;
    p->neighbours = 100;
    p->lambda = 200.0;
    p->ease_max_dense = 2500;
}

void suggest_model_free(struct suggest_model *m)
{
    if (!m) return;
    free(m->pop);
    free(m->pop_order);
    free(m->row_off);
    free(m->nbr);
    free(m->w);
    free(m);
}

uint32_t suggest_model_items(const struct suggest_model *m) { return m->n_items; }
enum suggest_method suggest_model_method(const struct suggest_model *m) { return m->method; }
uint32_t suggest_model_modelled(const struct suggest_model *m) { return m->modelled; }
uint32_t suggest_model_popularity(const struct suggest_model *m, uint32_t item)
{
    return item < m->n_items ? m->pop[item] : 0;
}

/* ---- top-k selection: a min-heap whose root is the worst kept entry ---- */

struct sg_cand {
    float w;
    uint32_t j;
};

/* a is worse than b: lower weight, or equal weight and higher index. */
static int sg_worse(struct sg_cand a, struct sg_cand b)
{
    return a.w < b.w || (a.w == b.w && a.j > b.j);
}

static void sg_sift_down(struct sg_cand *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = i;
        if (l < n && sg_worse(h[l], h[s])) s = l;
        if (r < n && sg_worse(h[r], h[s])) s = r;
        if (s == i) return;
        struct sg_cand t = h[i];
        h[i] = h[s];
        h[s] = t;
        i = s;
    }
}

static void sg_sift_up(struct sg_cand *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!sg_worse(h[i], h[p])) return;
        struct sg_cand t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

/* Offers c to a heap of *n entries with capacity cap. */
static void sg_offer(struct sg_cand *h, size_t *n, size_t cap, struct sg_cand c)
{
    if (*n < cap) {
        h[*n] = c;
        sg_sift_up(h, (*n)++);
    } else if (cap > 0 && sg_worse(h[0], c)) {
        h[0] = c;
        sg_sift_down(h, cap, 0);
    }
}

/* Empties the heap into out best first. */
static void sg_drain(struct sg_cand *h, size_t n, struct sg_cand *out)
{
    while (n > 0) {
        out[n - 1] = h[0];
        h[0] = h[--n];
        sg_sift_down(h, n, 0);
    }
}

/* ---- data preparation ---- */

static int sg_validate(const struct suggest_data *d)
{
    if (!d || (d->n_baskets > 0 && (!d->off || !d->items))) return SK_EINVAL;
    if (d->n_items == 0 || d->n_items == UINT32_MAX) return SK_EINVAL;
    if (d->n_baskets == 0) return 0;
    if (d->off[0] != 0) return SK_EINVAL;
    for (size_t b = 0; b < d->n_baskets; b++)
        if (d->off[b + 1] < d->off[b]) return SK_EINVAL;
    size_t nnz = d->off[d->n_baskets];
    for (size_t e = 0; e < nnz; e++)
        if (d->items[e] >= d->n_items) return SK_EINVAL;
    return 0;
}

/*
 * Builds the deduplicated basket x item matrix (rows: baskets, keeping only
 * items with keep[item] != UINT32_MAX, renumbered to keep[item], dropping
 * baskets left empty) and its transpose. keep == NULL keeps every item as is.
 */
static int sg_build(const struct suggest_data *d, const uint32_t *keep, uint32_t n_cols,
                    struct sg_mat *ret_rows, struct sg_mat *ret_cols)
{
    struct sg_mat r = {0}, c = {0};
    size_t nnz_in = d->n_baskets ? d->off[d->n_baskets] : 0;
    uint32_t *stamp = calloc(n_cols ? n_cols : 1, sizeof *stamp);
    r.off = malloc((d->n_baskets + 1) * sizeof *r.off);
    r.idx = malloc((nnz_in ? nnz_in : 1) * sizeof *r.idx);
    r.val = malloc((nnz_in ? nnz_in : 1) * sizeof *r.val);
    c.off = calloc((size_t)n_cols + 1, sizeof *c.off);
    if (!stamp || !r.off || !r.idx || !r.val || !c.off) goto nomem;

    /* Baskets: stamp[col] = basket number + 1 marks a column already taken. */
    size_t nnz = 0, rows = 0;
    r.off[0] = 0;
    for (size_t b = 0; b < d->n_baskets; b++) {
        size_t start = nnz;
        for (size_t e = d->off[b]; e < d->off[b + 1]; e++) {
            uint32_t col = keep ? keep[d->items[e]] : d->items[e];
            if (col == UINT32_MAX || stamp[col] == rows + 1) continue;
            stamp[col] = (uint32_t)(rows + 1);
            r.idx[nnz] = col;
            r.val[nnz] = d->weights ? d->weights[e] : 1.0f;
            nnz++;
        }
        if (nnz > start) r.off[++rows] = nnz;
    }
    r.n_rows = rows;

    /* Transpose. */
    c.n_rows = n_cols;
    c.idx = malloc((nnz ? nnz : 1) * sizeof *c.idx);
    c.val = malloc((nnz ? nnz : 1) * sizeof *c.val);
    if (!c.idx || !c.val) goto nomem;
    for (size_t e = 0; e < nnz; e++) c.off[r.idx[e] + 1]++;
    for (uint32_t j = 0; j < n_cols; j++) c.off[j + 1] += c.off[j];
    size_t *fill = malloc(((size_t)n_cols + 1) * sizeof *fill);
    if (!fill) goto nomem;
    memcpy(fill, c.off, ((size_t)n_cols + 1) * sizeof *fill);
    for (size_t b = 0; b < rows; b++)
        for (size_t e = r.off[b]; e < r.off[b + 1]; e++) {
            size_t at = fill[r.idx[e]]++;
            c.idx[at] = (uint32_t)b;
            c.val[at] = r.val[e];
        }
    free(fill);
    free(stamp);
    *ret_rows = r;
    *ret_cols = c;
    return 0;
nomem:
    free(stamp);
    sg_mat_free(&r);
    sg_mat_free(&c);
    return SK_ENOMEM;
}

static int sg_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* pop_order from pop: popularity descending, ties by index. */
static int sg_pop_order(struct suggest_model *m)
{
    uint64_t *keys = malloc((size_t)m->n_items * sizeof *keys);
    if (!keys) return SK_ENOMEM;
    for (uint32_t i = 0; i < m->n_items; i++)
        keys[i] = (uint64_t)(UINT32_MAX - m->pop[i]) << 32 | i;
    qsort(keys, m->n_items, sizeof *keys, sg_cmp_u64);
    for (uint32_t i = 0; i < m->n_items; i++) m->pop_order[i] = (uint32_t)keys[i];
    free(keys);
    return 0;
}

/* ---- the sparse model built row by row ---- */

struct sg_rows {
    size_t n, cap;
    uint32_t *nbr;
    float *w;
};

static int sg_rows_push(struct sg_rows *r, const struct sg_cand *c, size_t n)
{
    if (r->n + n > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->n + n) cap *= 2;
        uint32_t *nb = realloc(r->nbr, cap * sizeof *nb);
        if (!nb) return SK_ENOMEM;
        r->nbr = nb;
        float *w = realloc(r->w, cap * sizeof *w);
        if (!w) return SK_ENOMEM;
        r->w = w;
        r->cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        r->nbr[r->n + i] = c[i].j;
        r->w[r->n + i] = c[i].w;
    }
    r->n += n;
    return 0;
}

/*
 * Keeps the top `cap` positive entries of a dense row (index `self` skipped),
 * mapping column c to item map[c] (or c when map is NULL), and appends them
 * as the row of item `item` (rows must be appended in item order: rows of
 * items in between are left empty).
 */
struct sg_builder {
    struct sg_rows rows;
    size_t *row_off; /* n_items + 1 */
    uint32_t next_item;
    struct sg_cand *heap, *sorted;
    size_t cap;
};

static int sg_builder_row(struct sg_builder *bd, uint32_t item, const double *row, size_t n,
                          size_t self, const uint32_t *map)
{
    size_t h = 0;
    for (size_t c = 0; c < n; c++) {
        if (c == self || !(row[c] > 0)) continue;
        struct sg_cand cand = {(float)row[c], map ? map[c] : (uint32_t)c};
        if (!(cand.w > 0)) continue; /* underflow to 0 in float */
        sg_offer(bd->heap, &h, bd->cap, cand);
    }
    sg_drain(bd->heap, h, bd->sorted);
    while (bd->next_item <= item) bd->row_off[bd->next_item++] = bd->rows.n;
    return sg_rows_push(&bd->rows, bd->sorted, h);
}

/* Finishes the rows of a model with n_items items. */
static void sg_builder_finish(struct sg_builder *bd, struct suggest_model *m)
{
    while (bd->next_item <= m->n_items) bd->row_off[bd->next_item++] = bd->rows.n;
    m->row_off = bd->row_off;
    m->nbr = bd->rows.nbr;
    m->w = bd->rows.w;
    bd->row_off = NULL;
    bd->rows.nbr = NULL;
    bd->rows.w = NULL;
}

static void sg_builder_free(struct sg_builder *bd)
{
    free(bd->rows.nbr);
    free(bd->rows.w);
    free(bd->row_off);
    free(bd->heap);
    free(bd->sorted);
}

static int sg_builder_init(struct sg_builder *bd, uint32_t n_items, size_t cap)
{
    memset(bd, 0, sizeof *bd);
    bd->cap = cap;
    bd->row_off = malloc(((size_t)n_items + 1) * sizeof *bd->row_off);
    bd->heap = malloc(cap * sizeof *bd->heap);
    bd->sorted = malloc(cap * sizeof *bd->sorted);
    if (!bd->row_off || !bd->heap || !bd->sorted) {
        sg_builder_free(bd);
        return SK_ENOMEM;
    }
    return 0;
}

/* ---- item-kNN ---- */

static int sg_train_knn(struct suggest_model *m, const struct sg_mat *rows,
                        const struct sg_mat *cols, size_t cap)
{
    uint32_t n = m->n_items;
    double *norm = malloc((size_t)n * sizeof *norm);
    double *acc = calloc(n, sizeof *acc);
    uint32_t *touched = malloc((size_t)n * sizeof *touched);
    uint8_t *mark = calloc(n, 1);
    struct sg_builder bd;
    int rc = sg_builder_init(&bd, n, cap);
    if (rc || !norm || !acc || !touched || !mark) {
        rc = SK_ENOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t e = cols->off[i]; e < cols->off[i + 1]; e++) s += (double)cols->val[e] * cols->val[e];
        norm[i] = sqrt(s);
    }
    for (uint32_t i = 0; i < n; i++) {
        if (cols->off[i] == cols->off[i + 1]) continue;
        m->modelled++;
        size_t nt = 0;
        for (size_t e = cols->off[i]; e < cols->off[i + 1]; e++) {
            size_t b = cols->idx[e];
            double wi = cols->val[e];
            for (size_t f = rows->off[b]; f < rows->off[b + 1]; f++) {
                uint32_t j = rows->idx[f];
                if (!mark[j]) {
                    mark[j] = 1;
                    touched[nt++] = j;
                }
                acc[j] += wi * rows->val[f];
            }
        }
        size_t h = 0;
        for (size_t t = 0; t < nt; t++) {
            uint32_t j = touched[t];
            double s = acc[j];
            acc[j] = 0;
            mark[j] = 0;
            if (j == i || !(s > 0) || !(norm[j] > 0)) continue;
            struct sg_cand c = {(float)(s / (norm[i] * norm[j])), j};
            if (c.w > 0) sg_offer(bd.heap, &h, cap, c);
        }
        sg_drain(bd.heap, h, bd.sorted);
        while (bd.next_item <= i) bd.row_off[bd.next_item++] = bd.rows.n;
        if ((rc = sg_rows_push(&bd.rows, bd.sorted, h))) goto out;
    }
    sg_builder_finish(&bd, m);
out:
    sg_builder_free(&bd);
    free(norm);
    free(acc);
    free(touched);
    free(mark);
    return rc;
}

/* ---- EASE ---- */

/*
 * In place inverse of the symmetric positive definite n x n matrix a
 * (row-major, both triangles set; both triangles of the result set).
 * Cholesky a = L L', U = L^-1 transposed (upper), a^-1 = U U'.
 * SK_ECONFLICT if a is not positive definite.
 */
static int sg_spd_inverse(double *a, size_t n)
{
    double *u = calloc(n * n, sizeof *u);
    if (!u) return SK_ENOMEM;
    /* Cholesky, L in the lower triangle of a. */
    for (size_t j = 0; j < n; j++) {
        const double *lj = a + j * n;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        size_t k = 0;
        for (; k + 4 <= j; k += 4) {
            s0 += lj[k] * lj[k];
            s1 += lj[k + 1] * lj[k + 1];
            s2 += lj[k + 2] * lj[k + 2];
            s3 += lj[k + 3] * lj[k + 3];
        }
        for (; k < j; k++) s0 += lj[k] * lj[k];
        double djj = a[j * n + j] - (s0 + s1 + s2 + s3);
        if (!(djj > 0)) {
            free(u);
            return SK_ECONFLICT;
        }
        djj = sqrt(djj);
        a[j * n + j] = djj;
        for (size_t i = j + 1; i < n; i++) {
            double *li = a + i * n;
            double t0 = 0, t1 = 0, t2 = 0, t3 = 0;
            k = 0;
            for (; k + 4 <= j; k += 4) {
                t0 += li[k] * lj[k];
                t1 += li[k + 1] * lj[k + 1];
                t2 += li[k + 2] * lj[k + 2];
                t3 += li[k + 3] * lj[k + 3];
            }
            for (; k < j; k++) t0 += li[k] * lj[k];
            li[j] = (li[j] - (t0 + t1 + t2 + t3)) / djj;
        }
    }
    /* Row c of u = column c of L^-1: u[c][c] = 1/L[c][c],
     * u[c][i] = -(sum_{k=c}^{i-1} L[i][k] u[c][k]) / L[i][i]. */
    for (size_t c = 0; c < n; c++) {
        double *uc = u + c * n;
        uc[c] = 1.0 / a[c * n + c];
        for (size_t i = c + 1; i < n; i++) {
            const double *li = a + i * n;
            double t0 = 0, t1 = 0, t2 = 0, t3 = 0;
            size_t k = c;
            for (; k + 4 <= i; k += 4) {
                t0 += li[k] * uc[k];
                t1 += li[k + 1] * uc[k + 1];
                t2 += li[k + 2] * uc[k + 2];
                t3 += li[k + 3] * uc[k + 3];
            }
            for (; k < i; k++) t0 += li[k] * uc[k];
            uc[i] = -(t0 + t1 + t2 + t3) / li[i];
        }
    }
    /* a^-1 = L^-T L^-1: entry (i, j) = sum_{k >= max(i,j)} u[i][k] u[j][k]. */
    for (size_t i = 0; i < n; i++) {
        const double *ui = u + i * n;
        for (size_t j = i; j < n; j++) {
            const double *uj = u + j * n;
            double t0 = 0, t1 = 0, t2 = 0, t3 = 0;
            size_t k = j;
            for (; k + 4 <= n; k += 4) {
                t0 += ui[k] * uj[k];
                t1 += ui[k + 1] * uj[k + 1];
                t2 += ui[k + 2] * uj[k + 2];
                t3 += ui[k + 3] * uj[k + 3];
            }
            for (; k < n; k++) t0 += ui[k] * uj[k];
            a[i * n + j] = a[j * n + i] = t0 + t1 + t2 + t3;
        }
    }
    free(u);
    return 0;
}

/* EASE with items sub[0..ns) (columns of rows/cols already renumbered). */
static int sg_train_ease(struct suggest_model *m, const struct sg_mat *rows,
                         const struct sg_mat *cols, const uint32_t *sub, size_t ns, double lambda,
                         size_t cap)
{
    size_t nb = rows->n_rows;
    struct sg_builder bd;
    int rc = sg_builder_init(&bd, m->n_items, cap);
    if (rc) return rc;
    double *rowbuf = malloc((ns ? ns : 1) * sizeof *rowbuf);
    double *diag = malloc((ns ? ns : 1) * sizeof *diag);
    double *a = NULL, *y = NULL, *yt = NULL;
    /* The rows of B are extracted in item order; sub is by popularity. */
    uint64_t *order = malloc((ns ? ns : 1) * sizeof *order);
    if (!rowbuf || !diag || !order) goto nomem;
    for (size_t c = 0; c < ns; c++) order[c] = (uint64_t)sub[c] << 32 | c;
    qsort(order, ns, sizeof *order, sg_cmp_u64);
    m->modelled = (uint32_t)ns;

    if (ns <= nb) {
        /* Direct: P = (X'X + lambda I)^-1, B[i][j] = -P[i][j] / P[j][j]. */
        a = calloc(ns * ns, sizeof *a);
        if (!a) goto nomem;
        for (size_t b = 0; b < nb; b++)
            for (size_t e = rows->off[b]; e < rows->off[b + 1]; e++) {
                double *ar = a + (size_t)rows->idx[e] * ns;
                double we = rows->val[e];
                for (size_t f = rows->off[b]; f < rows->off[b + 1]; f++)
                    ar[rows->idx[f]] += we * rows->val[f];
            }
        for (size_t c = 0; c < ns; c++) a[c * ns + c] += lambda;
        if ((rc = sg_spd_inverse(a, ns))) goto out;
        for (size_t c = 0; c < ns; c++) diag[c] = a[c * ns + c];
        for (size_t o = 0; o < ns; o++) {
            size_t i = (uint32_t)order[o];
            const double *pi = a + i * ns;
            for (size_t j = 0; j < ns; j++) rowbuf[j] = -pi[j] / diag[j];
            if ((rc = sg_builder_row(&bd, sub[i], rowbuf, ns, i, sub))) goto out;
        }
    } else {
        /* Woodbury: M = (XX' + lambda I)^-1 (baskets x baskets), Y = M X,
         * B[i][j] = x_i' Y_j / (1 - x_j' Y_j) for i != j. */
        a = calloc(nb * nb, sizeof *a);
        y = calloc(ns * nb, sizeof *y);
        yt = malloc(ns * nb * sizeof *yt);
        if (!a || !y || !yt) goto nomem;
        for (size_t j = 0; j < ns; j++)
            for (size_t e = cols->off[j]; e < cols->off[j + 1]; e++) {
                double *ar = a + (size_t)cols->idx[e] * nb;
                double we = cols->val[e];
                for (size_t f = cols->off[j]; f < cols->off[j + 1]; f++)
                    ar[cols->idx[f]] += we * cols->val[f];
            }
        for (size_t b = 0; b < nb; b++) a[b * nb + b] += lambda;
        if ((rc = sg_spd_inverse(a, nb))) goto out;
        for (size_t j = 0; j < ns; j++) {
            double *yj = y + j * nb;
            for (size_t e = cols->off[j]; e < cols->off[j + 1]; e++) {
                const double *mv = a + (size_t)cols->idx[e] * nb; /* M symmetric */
                double we = cols->val[e];
                for (size_t u = 0; u < nb; u++) yj[u] += we * mv[u];
            }
            double s = 0;
            for (size_t e = cols->off[j]; e < cols->off[j + 1]; e++)
                s += cols->val[e] * yj[cols->idx[e]];
            diag[j] = 1.0 - s;
        }
        for (size_t j = 0; j < ns; j++)
            for (size_t u = 0; u < nb; u++) yt[u * ns + j] = y[j * nb + u];
        free(y);
        y = NULL;
        for (size_t o = 0; o < ns; o++) {
            size_t i = (uint32_t)order[o];
            memset(rowbuf, 0, ns * sizeof *rowbuf);
            for (size_t e = cols->off[i]; e < cols->off[i + 1]; e++) {
                const double *yu = yt + (size_t)cols->idx[e] * ns;
                double we = cols->val[e];
                for (size_t j = 0; j < ns; j++) rowbuf[j] += we * yu[j];
            }
            for (size_t j = 0; j < ns; j++) rowbuf[j] = diag[j] > 0 ? rowbuf[j] / diag[j] : 0;
            if ((rc = sg_builder_row(&bd, sub[i], rowbuf, ns, i, sub))) goto out;
        }
    }
    sg_builder_finish(&bd, m);
    goto out;
nomem:
    rc = SK_ENOMEM;
out:
    sg_builder_free(&bd);
    free(rowbuf);
    free(diag);
    free(order);
    free(a);
    free(y);
    free(yt);
    return rc;
}

int suggest_train(const struct suggest_data *d, const struct suggest_params *p,
                  struct suggest_model **ret)
{
    int rc = sg_validate(d);
    if (rc) return rc;
    if (!p || !ret) return SK_EINVAL;
    if (p->method != SUGGEST_POPULAR && p->method != SUGGEST_KNN && p->method != SUGGEST_EASE)
        return SK_EINVAL;
    size_t cap = p->neighbours ? p->neighbours : 100;
    double lambda = p->lambda > 0 ? p->lambda : 200.0;
    size_t max_dense = p->ease_max_dense ? p->ease_max_dense : 2500;

    struct suggest_model *m = calloc(1, sizeof *m);
    if (!m) return SK_ENOMEM;
    m->n_items = d->n_items;
    m->method = p->method;
    m->pop = calloc(d->n_items, sizeof *m->pop);
    m->pop_order = malloc((size_t)d->n_items * sizeof *m->pop_order);
    struct sg_mat rows = {0}, cols = {0};
    uint32_t *keep = NULL, *sub = NULL;
    if (!m->pop || !m->pop_order) goto nomem;
    if ((rc = sg_build(d, NULL, d->n_items, &rows, &cols))) goto fail;
    for (uint32_t i = 0; i < d->n_items; i++)
        m->pop[i] = (uint32_t)(cols.off[i + 1] - cols.off[i]);
    if ((rc = sg_pop_order(m))) goto fail;

    if (p->method == SUGGEST_POPULAR) {
        m->row_off = calloc((size_t)d->n_items + 1, sizeof *m->row_off);
        if (!m->row_off) goto nomem;
    } else if (p->method == SUGGEST_KNN) {
        if ((rc = sg_train_knn(m, &rows, &cols, cap))) goto fail;
    } else {
        /* The dense subset: items bought at all, most popular first, cut so
         * that min(items, baskets) <= max_dense. */
        size_t ns = 0;
        while (ns < d->n_items && m->pop[m->pop_order[ns]] > 0) ns++;
        if (ns > max_dense && rows.n_rows > max_dense) ns = max_dense;
        keep = malloc((size_t)d->n_items * sizeof *keep);
        sub = malloc((ns ? ns : 1) * sizeof *sub);
        if (!keep || !sub) goto nomem;
        for (uint32_t i = 0; i < d->n_items; i++) keep[i] = UINT32_MAX;
        /* Columns are renumbered only when items are dropped; otherwise
         * column c is item c. */
        for (size_t c = 0; c < ns; c++) {
            sub[c] = ns < d->n_items ? m->pop_order[c] : (uint32_t)c;
            keep[sub[c]] = (uint32_t)c;
        }
        if (ns < d->n_items) {
            sg_mat_free(&rows);
            sg_mat_free(&cols);
            if ((rc = sg_build(d, keep, (uint32_t)ns, &rows, &cols))) goto fail;
        }
        if ((rc = sg_train_ease(m, &rows, &cols, sub, ns, lambda, cap))) goto fail;
    }
    sg_mat_free(&rows);
    sg_mat_free(&cols);
    free(keep);
    free(sub);
    *ret = m;
    return 0;
nomem:
    rc = SK_ENOMEM;
fail:
    sg_mat_free(&rows);
    sg_mat_free(&cols);
    free(keep);
    free(sub);
    suggest_model_free(m);
    return rc;
}

/* ---- ranking ---- */

/* Adds a history's terms into score (first touches: marked in mark, listed
 * in touched, score/best/reason set): score[j] = sum of weight(i) * W[i][j],
 * reason[j] the history item with the largest term. Returns how many items
 * were touched. */
static size_t sg_accumulate(const struct suggest_model *m, const uint32_t *history, size_t n,
                            const float *history_weights, float *score, float *best, uint32_t *reason,
                            uint32_t *touched, uint8_t *mark)
{
    uint32_t ni = m->n_items;
    size_t nt = 0;
    for (size_t h = 0; h < n; h++) {
        uint32_t i = history[h];
        if (i >= ni) continue;
        float wh = history_weights ? history_weights[h] : 1.0f;
        if (!(wh > 0)) continue;
        for (size_t e = m->row_off[i]; e < m->row_off[i + 1]; e++) {
            uint32_t j = m->nbr[e];
            float c = wh * m->w[e];
            if (!mark[j]) {
                mark[j] = 1;
                touched[nt++] = j;
                score[j] = c;
                best[j] = c;
                reason[j] = i;
            } else {
                score[j] += c;
                if (c > best[j]) {
                    best[j] = c;
                    reason[j] = i;
                }
            }
        }
    }
    return nt;
}

int suggest_score(const struct suggest_model *m, const uint32_t *history, size_t n,
                  const float *history_weights, float *score, uint32_t *because)
{
    if (!m || (n > 0 && !history) || !score || !because) return SK_EINVAL;
    uint32_t ni = m->n_items;
    unsigned char *blk = malloc((size_t)ni * (sizeof(float) + sizeof(uint32_t) + 1) + 1);
    if (!blk) return SK_ENOMEM;
    float *best = (float *)blk;
    uint32_t *touched = (uint32_t *)(best + ni);
    uint8_t *mark = (uint8_t *)(touched + ni);
    memset(mark, 0, ni);
    for (uint32_t j = 0; j < ni; j++) {
        score[j] = 0;
        because[j] = SUGGEST_NO_REASON;
    }
    sg_accumulate(m, history, n, history_weights, score, best, because, touched, mark);
    free(blk);
    return 0;
}

int suggest_rank(const struct suggest_model *m, const uint32_t *history, size_t n,
                 const float *history_weights, struct suggest_scored *out, size_t k,
                 const uint8_t *exclude)
{
    if (!m || (n > 0 && !history) || (k > 0 && !out)) return SK_EINVAL;
    if (k == 0) return 0;
    uint32_t ni = m->n_items;
    if (k > ni) k = ni;
    /* One block: score, best term, reason, touched list, marks. */
    size_t bytes = (size_t)ni * (sizeof(float) * 2 + sizeof(uint32_t) * 2 + 1);
    unsigned char *blk = malloc(bytes);
    struct sg_cand *heap = malloc(2 * k * sizeof *heap); /* heap, then sorted */
    if (!blk || !heap) {
        free(blk);
        free(heap);
        return SK_ENOMEM;
    }
    float *score = (float *)blk;
    float *best = score + ni;
    uint32_t *reason = (uint32_t *)(best + ni);
    uint32_t *touched = reason + ni;
    uint8_t *mark = (uint8_t *)(touched + ni);
    memset(mark, 0, ni);

    size_t nt = sg_accumulate(m, history, n, history_weights, score, best, reason, touched, mark);
    size_t hn = 0;
    for (size_t t = 0; t < nt; t++) {
        uint32_t j = touched[t];
        if (exclude && exclude[j]) continue;
        if (!(score[j] > 0)) continue;
        sg_offer(heap, &hn, k, (struct sg_cand){score[j], j});
    }
    size_t got = hn;
    struct sg_cand *sorted = heap + k;
    sg_drain(heap, hn, sorted);
    for (size_t r = 0; r < got; r++) {
        uint32_t j = sorted[r].j;
        out[r] = (struct suggest_scored){j, sorted[r].w, reason[j]};
    }
    /* Marks now: 1 = touched; 2 = already in out. */
    for (size_t r = 0; r < got; r++) mark[out[r].item] = 2;
    for (size_t o = 0; o < ni && got < k; o++) {
        uint32_t j = m->pop_order[o];
        if (mark[j] == 2 || (exclude && exclude[j])) continue;
        float s = m->method == SUGGEST_POPULAR ? (float)m->pop[j] : 0.0f;
        out[got++] = (struct suggest_scored){j, s, SUGGEST_NO_REASON};
    }
    free(blk);
    free(heap);
    return (int)got;
}

/* ---- per-person merge ---- */

static int taken_at(const struct suggest_merged *out, size_t got, uint32_t item)
{
    for (size_t r = 0; r < got; r++)
        if (out[r].s.item == item) return 1;
    return 0;
}

struct sum_entry {
    uint32_t item, list, pos;
    double part;
};

static int cmp_sum_entry(const void *a, const void *b)
{
    const struct sum_entry *x = a, *y = b;
    if (x->item != y->item) return x->item < y->item ? -1 : 1;
    return x->part > y->part ? -1 : x->part < y->part; /* largest part first */
}

/* SUGGEST_MERGE_SUM after the first round: each slot to the untaken item
 * with the largest sum over lists of weight * score (ties to the lower
 * item), credited to the list contributing most. The values do not change
 * as slots fill, so they are added up once: O(T log T) for T list entries. */
static size_t merge_sum(const struct suggest_person_list *lists, size_t n_lists,
                        struct suggest_merged *out, size_t got, size_t k)
{
    size_t total = 0;
    for (size_t p = 0; p < n_lists; p++) total += lists[p].items ? lists[p].n : 0;
    struct sum_entry *e = total ? malloc(total * sizeof *e) : NULL;
    if (!e) return got;
    size_t n = 0;
    for (size_t p = 0; p < n_lists; p++) {
        double w = lists[p].weight > 0 ? lists[p].weight : 1.0;
        for (size_t q = 0; lists[p].items && q < lists[p].n; q++)
            e[n++] = (struct sum_entry){lists[p].items[q].item, (uint32_t)p, (uint32_t)q,
                                        w * (double)lists[p].items[q].score};
    }
    qsort(e, n, sizeof *e, cmp_sum_entry);
    /* one entry per item: the owner's, with the summed value in part */
    size_t u = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        double v = 0;
        for (; j < n && e[j].item == e[i].item; j++) v += e[j].part;
        if (!taken_at(out, got, e[i].item)) {
            e[u] = e[i];
            e[u++].part = v;
        }
        i = j;
    }
    while (got < k) {
        size_t best = u;
        for (size_t i = 0; i < u; i++)
            if (e[i].list != UINT32_MAX && (best == u || e[i].part > e[best].part)) best = i;
        if (best == u) break;
        out[got].s = lists[e[best].list].items[e[best].pos];
        out[got].person = e[best].list;
        got++;
        e[best].list = UINT32_MAX;
    }
    free(e);
    return got;
}

size_t suggest_merge(const struct suggest_person_list *lists, size_t n_lists,
                     enum suggest_merge_mode mode, struct suggest_merged *out, size_t k)
{
    if (!lists || !out || k == 0 || n_lists == 0) return 0;
    size_t got = 0;
    /* Per person: next position to look at, and slots taken. Duplicates are
     * found by scanning out: a household and a card-sized k, so
     * O(n_lists * k * k) is fine. */
    size_t pos_stack[16], taken_stack[16];
    size_t *pos = n_lists <= 16 ? pos_stack : calloc(n_lists, sizeof *pos);
    size_t *taken = n_lists <= 16 ? taken_stack : calloc(n_lists, sizeof *taken);
    if (!pos || !taken) {
        if (pos != pos_stack) free(pos);
        if (taken != taken_stack) free(taken);
        return 0;
    }
    for (size_t p = 0; p < n_lists; p++) {
        pos[p] = taken[p] = 0;
        if (!lists[p].items) pos[p] = lists[p].n; /* nothing to take */
    }

#define SG_WEIGHT(p) (lists[p].weight > 0 ? lists[p].weight : 1.0)
    for (int phase = 0; phase < 2 && got < k; phase++) {
        if (phase == 1 && mode == SUGGEST_MERGE_SUM) {
            got = merge_sum(lists, n_lists, out, got, k);
            break;
        }
        for (;;) {
            if (got >= k) break;
            /* Choose a person. Phase 0: untaken persons by weight; phase 1:
             * highest weight / (taken + 1). */
            size_t best = n_lists;
            double bv = -1;
            for (size_t p = 0; p < n_lists; p++) {
                if (phase == 0 && taken[p] > 0) continue;
                /* skip persons whose list is exhausted of new items */
                size_t q = pos[p];
                for (; q < lists[p].n; q++) {
                    if (!taken_at(out, got, lists[p].items[q].item)) break;
                }
                pos[p] = q;
                if (q >= lists[p].n) continue;
                double v = SG_WEIGHT(p) / (double)(taken[p] + 1);
                if (phase == 1 && mode == SUGGEST_MERGE_SCORES)
                    v = SG_WEIGHT(p) * (double)lists[p].items[q].score;
                if (v > bv) {
                    bv = v;
                    best = p;
                }
            }
            if (best == n_lists) break;
            out[got].s = lists[best].items[pos[best]];
            out[got].person = (uint32_t)best;
            got++;
            pos[best]++;
            taken[best]++;
        }
    }
#undef SG_WEIGHT
    if (pos != pos_stack) free(pos);
    if (taken != taken_stack) free(taken);
    return got;
}
