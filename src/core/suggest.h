/*
 * suggest.h — the suggestion engine's pure core: an item-item model learned
 * from baskets, ranking from a history, and the per-person merge.
 *
 * Training input is a list of baskets (CSR: basket b holds
 * items[off[b] .. off[b+1])), anonymous baskets included: a "basket" may be
 * one till receipt or one person's whole consented history. Items are dense
 * indices 0 .. n_items-1; a repeated item inside a basket counts once.
 *
 * The model is a sparse item-item matrix W: row i lists up to `neighbours`
 * items j with a positive weight W[i][j]. A history h scores
 *     score(j) = sum over i in h of weight(i) * W[i][j]
 * and the history item with the largest term is the suggestion's reason
 * ("because you bought i"). Three ways to fill W:
 *   SUGGEST_POPULAR  no W; items ranked by how many baskets hold them (the
 *                    baseline, and the fill when a history yields too few).
 *   SUGGEST_KNN      cosine similarity of co-occurrence,
 *                    C[i][j] / sqrt(C[i][i] C[j][j]), top-k per item.
 *   SUGGEST_EASE     Steck's EASE: B = I - P / diag(P), P = (X'X + lambda I)^-1,
 *                    then top-k per row. The inverse is dense in
 *                    d = min(items, baskets): when there are fewer baskets
 *                    than items it is taken through the Woodbury identity,
 *                    P = (I - X'(XX' + lambda I)^-1 X) / lambda, so only a
 *                    baskets x baskets matrix is inverted. When d would exceed
 *                    ease_max_dense, EASE is restricted to that many most
 *                    popular items (the rest get no neighbours).
 *
 * Pure logic: no I/O, no global state; a trained model is immutable and may
 * be used by any number of threads at once.
 */
#ifndef SK_SUGGEST_H
#define SK_SUGGEST_H

#include <stddef.h>
#include <stdint.h>

#define SUGGEST_NO_REASON UINT32_MAX

enum suggest_method {
    SUGGEST_POPULAR = 0,
    SUGGEST_KNN = 1,
    SUGGEST_EASE = 2,
};

struct suggest_data {
    uint32_t n_items;
    size_t n_baskets;
    const size_t *off;    /* n_baskets + 1 offsets into items */
    const uint32_t *items; /* item indices, < n_items */
    const float *weights; /* per entry (e.g. quantity, recency), or NULL for 1 */
};

struct suggest_params {
    enum suggest_method method;
    uint32_t neighbours;     /* kept per item; 0 means the default (100) */
    double lambda;           /* EASE ridge; <= 0 means the default (200) */
    uint32_t ease_max_dense; /* largest dense inverse; 0 means the default (2500) */
};

struct suggest_scored {
    uint32_t item;
    float score;
    uint32_t because; /* the history item contributing most, or SUGGEST_NO_REASON */
};

struct suggest_model;

/* Fills p with the defaults for method. */
void suggest_params_default(struct suggest_params *p, enum suggest_method method);

/* 0, SK_EINVAL (an item out of range, bad offsets), SK_ENOMEM, or
 * SK_ECONFLICT when the EASE system is not positive definite (lambda too
 * small for the data). */
int suggest_train(const struct suggest_data *d, const struct suggest_params *p,
                  struct suggest_model **ret);
void suggest_model_free(struct suggest_model *m);

uint32_t suggest_model_items(const struct suggest_model *m);
enum suggest_method suggest_model_method(const struct suggest_model *m);
/* Items that have neighbours (for EASE: the dense subset actually modelled). */
uint32_t suggest_model_modelled(const struct suggest_model *m);
/* Number of baskets holding item (0 if out of range). */
uint32_t suggest_model_popularity(const struct suggest_model *m, uint32_t item);

/*
 * Ranks the catalogue for a history of n items (weights per history entry, or
 * NULL for 1; entries out of range are ignored). Writes up to k suggestions,
 * best first (ties by item index), into out and returns how many (< k only
 * when the catalogue minus exclusions is smaller), or a negative SK_E*.
 * exclude is per item (non-zero: never suggest), or NULL. History items are
 * not excluded unless exclude says so. When the history yields fewer than k
 * scored items the rest is filled with the most popular ones (score 0, no
 * reason). Allocates O(n_items) scratch; thread-safe.
 */
int suggest_rank(const struct suggest_model *m, const uint32_t *history, size_t n,
                 const float *history_weights, struct suggest_scored *out, size_t k,
                 const uint8_t *exclude);

/*
 * The scores suggest_rank ranks by, for every item at once: score[j] what the
 * history gives item j (0 when nothing in it points to j) and because[j] the
 * history item with the largest term (SUGGEST_NO_REASON when none). Both
 * arrays hold suggest_model_items(m) entries and are overwritten. No
 * exclusions and no popularity fill: for callers that choose among items
 * themselves. 0, SK_EINVAL or SK_ENOMEM; thread-safe.
 */
int suggest_score(const struct suggest_model *m, const uint32_t *history, size_t n,
                  const float *history_weights, float *score, uint32_t *because);

/* One person's ranked list for the merge. */
struct suggest_person_list {
    const struct suggest_scored *items;
    size_t n;
    double weight; /* the list's share (e.g. its quality); <= 0 counts as 1 */
};

struct suggest_merged {
    struct suggest_scored s;
    uint32_t person; /* index into the lists given to suggest_merge */
};

enum suggest_merge_mode {
    /* After one each, slots by the highest weight / (taken + 1): D'Hondt
     * proportional shares, blind to scores. */
    SUGGEST_MERGE_SHARES = 0,
    /* After one each, slots by the highest weight * score: the lists must
     * come from one model so their scores compare. */
    SUGGEST_MERGE_SCORES = 1,
    /* After one each, slots by an item's value summed over every list that
     * holds it, weight * score: an item two people would both like counts
     * for both. The lists must come from one model; a weight of
     * 1 / (the person's total history weight) puts people with long and
     * short histories on one scale. Measured best on MovieLens households
     * (bench/bench_suggest.c), ahead of SCORES, SHARES, normalising by the
     * top score and calibrated probabilities. */
    SUGGEST_MERGE_SUM = 2,
};

/*
 * Interleaves several people's ranked lists into one of at most k without
 * duplicates. First every person with anything left gets their best not yet
 * taken item (heavier weight first, ties to the lower person index), so each
 * is represented when k allows; the remaining slots go by mode. An item on
 * several lists goes to whoever reaches it first (SUM: to the list giving it
 * the largest part of its value). Returns the count written.
 */
size_t suggest_merge(const struct suggest_person_list *lists, size_t n_lists,
                     enum suggest_merge_mode mode, struct suggest_merged *out, size_t k);

#endif
