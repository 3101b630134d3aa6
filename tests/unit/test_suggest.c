/* test_suggest.c — unit tests for src/core/suggest.{h,c}. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/suggest.h"
#include "util/err.h"

#include <string.h>

/*
 * A tiny catalogue of 8 items:
 *   0 and 1 always bought together (bread and butter),
 *   2 and 3 always together (pasta and sauce),
 *   4 bought with 0 sometimes,
 *   5 very popular, bought with everything, so popular but not specific,
 *   6 alone, 7 never bought.
 */
static const uint32_t items[] = {
    0, 1, 5,       /* 0 */
    0, 1,          /* 1 */
    0, 1, 4,       /* 2 */
    2, 3, 5,       /* 3 */
    2, 3,          /* 4 */
    2, 3, 5,       /* 5 */
    5, 6,          /* 6 */
    5,             /* 7 */
    5, 4,          /* 8 */
    0, 1, 0,       /* 9: a repeated item counts once */
};
static const size_t off[] = {0, 3, 5, 8, 11, 13, 16, 18, 19, 21, 24};

static struct suggest_data data(void)
{
    return (struct suggest_data){8, 10, off, items, NULL};
}

static struct suggest_model *trained(enum suggest_method method)
{
    struct suggest_data d = data();
    struct suggest_params p;
    suggest_params_default(&p, method);
    p.lambda = 1.0;
    struct suggest_model *m = NULL;
    assert_int_equal(suggest_train(&d, &p, &m), 0);
    assert_non_null(m);
    return m;
}

static void check_partner_first(enum suggest_method method)
{
    struct suggest_model *m = trained(method);
    struct suggest_scored out[3];
    uint32_t h = 0;
    uint8_t excl[8] = {0};
    excl[0] = 1;
    assert_int_equal(suggest_rank(m, &h, 1, NULL, out, 3, excl), 3);
    assert_int_equal(out[0].item, 1); /* always with 0 */
    assert_int_equal(out[0].because, 0);
    assert_true(out[0].score > 0);
    assert_true(out[0].score >= out[1].score && out[1].score >= out[2].score);

    h = 3;
    excl[0] = 0;
    excl[3] = 1;
    assert_int_equal(suggest_rank(m, &h, 1, NULL, out, 1, excl), 1);
    assert_int_equal(out[0].item, 2);
    assert_int_equal(out[0].because, 3);
    suggest_model_free(m);
}

static void test_knn_known_answer(void **state)
{
    (void)state;
    check_partner_first(SUGGEST_KNN);
}

static void test_ease_known_answer(void **state)
{
    (void)state;
    check_partner_first(SUGGEST_EASE);
}

/* EASE through the Woodbury form (fewer baskets than items) agrees with the
 * direct form on which item ranks first. */
static void test_ease_woodbury(void **state)
{
    (void)state;
    /* 3 baskets, 8 items: Woodbury path. */
    static const uint32_t it[] = {0, 1, 2, 0, 1, 3, 4, 5, 6};
    static const size_t of[] = {0, 3, 6, 9};
    struct suggest_data d = {8, 3, of, it, NULL};
    struct suggest_params p;
    suggest_params_default(&p, SUGGEST_EASE);
    p.lambda = 0.5;
    struct suggest_model *m = NULL;
    assert_int_equal(suggest_train(&d, &p, &m), 0);
    assert_int_equal(suggest_model_modelled(m), 7); /* item 7 never bought */
    struct suggest_scored out[2];
    uint32_t h = 0;
    uint8_t excl[8] = {[0] = 1};
    assert_int_equal(suggest_rank(m, &h, 1, NULL, out, 2, excl), 2);
    assert_int_equal(out[0].item, 1);
    assert_int_equal(out[0].because, 0);
    suggest_model_free(m);
}

static void test_popular_baseline(void **state)
{
    (void)state;
    struct suggest_model *m = trained(SUGGEST_POPULAR);
    assert_int_equal(suggest_model_popularity(m, 5), 6);
    assert_int_equal(suggest_model_popularity(m, 0), 4); /* basket 9 counts once */
    assert_int_equal(suggest_model_popularity(m, 7), 0);
    struct suggest_scored out[8];
    assert_int_equal(suggest_rank(m, NULL, 0, NULL, out, 8, NULL), 8);
    assert_int_equal(out[0].item, 5);
    assert_int_equal(out[0].because, SUGGEST_NO_REASON);
    assert_int_equal(out[7].item, 7);
    suggest_model_free(m);
}

static void test_exclusion_respected(void **state)
{
    (void)state;
    enum suggest_method methods[] = {SUGGEST_POPULAR, SUGGEST_KNN, SUGGEST_EASE};
    for (size_t mi = 0; mi < 3; mi++) {
        struct suggest_model *m = trained(methods[mi]);
        uint8_t excl[8] = {0};
        excl[1] = excl[5] = excl[2] = 1;
        uint32_t h[] = {0, 3};
        struct suggest_scored out[8];
        int got = suggest_rank(m, h, 2, NULL, out, 8, excl);
        assert_int_equal(got, 5); /* the whole catalogue minus 3 excluded */
        for (int r = 0; r < got; r++) {
            assert_false(excl[out[r].item]);
            for (int q = 0; q < r; q++) assert_int_not_equal(out[q].item, out[r].item);
        }
        suggest_model_free(m);
    }
}

/* Two history items: each suggestion's reason is the item that drives it. */
static void test_reasons(void **state)
{
    (void)state;
    struct suggest_model *m = trained(SUGGEST_KNN);
    uint32_t h[] = {0, 2};
    uint8_t excl[8] = {[0] = 1, [2] = 1, [5] = 1};
    struct suggest_scored out[3];
    assert_int_equal(suggest_rank(m, h, 2, NULL, out, 3, excl), 3);
    for (int r = 0; r < 2; r++) {
        if (out[r].item == 1) assert_int_equal(out[r].because, 0);
        else if (out[r].item == 3) assert_int_equal(out[r].because, 2);
        else fail_msg("unexpected item %u in the top 2", out[r].item);
    }
    /* Weighting the history moves the order. */
    float w[] = {1.0f, 0.1f};
    assert_int_equal(suggest_rank(m, h, 2, w, out, 2, excl), 2);
    assert_int_equal(out[0].item, 1);
    w[0] = 0.1f;
    w[1] = 1.0f;
    assert_int_equal(suggest_rank(m, h, 2, w, out, 2, excl), 2);
    assert_int_equal(out[0].item, 3);
    suggest_model_free(m);
}

/* suggest_score gives every item the score and reason suggest_rank ranks
 * by; items nothing points to get 0 and no reason. */
static void test_score_all(void **state)
{
    (void)state;
    struct suggest_model *m = trained(SUGGEST_KNN);
    uint32_t h[] = {0, 2};
    float w[] = {1.0f, 0.5f}, score[8];
    uint32_t because[8];
    struct suggest_scored out[8];
    assert_int_equal(suggest_score(m, h, 2, w, score, because), 0);
    int got = suggest_rank(m, h, 2, w, out, 8, NULL);
    assert_int_equal(got, 8);
    for (int r = 0; r < got; r++) {
        assert_float_equal(score[out[r].item], out[r].score, 1e-6);
        assert_int_equal(because[out[r].item], out[r].because);
    }
    assert_float_equal(score[7], 0, 0); /* never bought: nothing points to it */
    assert_int_equal(because[7], SUGGEST_NO_REASON);
    assert_int_equal(because[1], 0); /* butter, because of bread */
    assert_int_equal(because[3], 2); /* sauce, because of pasta */
    assert_int_equal(suggest_score(m, h, 2, w, NULL, because), SK_EINVAL);
    suggest_model_free(m);
}

static void test_fill_with_popular(void **state)
{
    (void)state;
    struct suggest_model *m = trained(SUGGEST_KNN);
    uint32_t h = 6; /* only with 5 */
    uint8_t excl[8] = {[6] = 1};
    struct suggest_scored out[4];
    assert_int_equal(suggest_rank(m, &h, 1, NULL, out, 4, excl), 4);
    assert_int_equal(out[0].item, 5);
    assert_int_equal(out[0].because, 6);
    for (int r = 1; r < 4; r++) assert_int_equal(out[r].because, SUGGEST_NO_REASON);
    suggest_model_free(m);
}

static void test_invalid(void **state)
{
    (void)state;
    static const uint32_t bad[] = {0, 9};
    static const size_t of[] = {0, 2};
    struct suggest_data d = {8, 1, of, bad, NULL};
    struct suggest_params p;
    suggest_params_default(&p, SUGGEST_KNN);
    struct suggest_model *m = NULL;
    assert_int_equal(suggest_train(&d, &p, &m), SK_EINVAL);
    assert_null(m);
    static const size_t back[] = {0, 2, 1};
    d = (struct suggest_data){8, 2, back, items, NULL};
    assert_int_equal(suggest_train(&d, &p, &m), SK_EINVAL);
    /* Out-of-range history entries are ignored. */
    m = trained(SUGGEST_KNN);
    uint32_t h[] = {99, 0};
    struct suggest_scored out[1];
    uint8_t excl[8] = {[0] = 1};
    assert_int_equal(suggest_rank(m, h, 2, NULL, out, 1, excl), 1);
    assert_int_equal(out[0].item, 1);
    assert_int_equal(suggest_rank(m, h, 2, NULL, out, 0, excl), 0);
    suggest_model_free(m);
}

/* ---- merge ---- */

static struct suggest_scored sc(uint32_t item, float score)
{
    return (struct suggest_scored){item, score, SUGGEST_NO_REASON};
}

static void test_merge_every_person_no_duplicates(void **state)
{
    (void)state;
    /* A dominant person with high scores, and two others whose lists
     * overlap with it. */
    struct suggest_scored a[] = {sc(1, 9), sc(2, 8), sc(3, 7), sc(4, 6), sc(5, 5)};
    struct suggest_scored b[] = {sc(1, 0.5f), sc(10, 0.4f), sc(11, 0.3f)};
    struct suggest_scored c[] = {sc(2, 0.2f), sc(1, 0.1f), sc(20, 0.05f)};
    struct suggest_person_list l[] = {{a, 5, 1}, {b, 3, 1}, {c, 3, 1}};
    enum suggest_merge_mode modes[] = {SUGGEST_MERGE_SHARES, SUGGEST_MERGE_SCORES, SUGGEST_MERGE_SUM};
    for (int mi = 0; mi < 3; mi++) {
        for (size_t k = 3; k <= 11; k++) {
            struct suggest_merged out[11];
            size_t got = suggest_merge(l, 3, modes[mi], out, k);
            size_t distinct = 5 + 2 + 1; /* 1..5, 10, 11, 20 */
            assert_int_equal(got, k < distinct ? k : distinct);
            int seen[3] = {0};
            for (size_t r = 0; r < got; r++) {
                seen[out[r].person]++;
                for (size_t q = 0; q < r; q++) assert_int_not_equal(out[q].s.item, out[r].s.item);
            }
            for (int p = 0; p < 3; p++) assert_true(seen[p] > 0);
            /* Everyone's first pick is their best item not already taken. */
            assert_int_equal(out[0].s.item, 1);
            assert_int_equal(out[0].person, 0);
            assert_int_equal(out[1].s.item, 10); /* b's 1 is taken */
            assert_int_equal(out[1].person, 1);
            assert_int_equal(out[2].s.item, 2);
            assert_int_equal(out[2].person, 2);
        }
    }
}

static void test_merge_weights(void **state)
{
    (void)state;
    struct suggest_scored a[] = {sc(1, 1), sc(2, 1), sc(3, 1), sc(4, 1), sc(5, 1)};
    struct suggest_scored b[] = {sc(11, 1), sc(12, 1), sc(13, 1), sc(14, 1), sc(15, 1)};
    struct suggest_person_list l[] = {{a, 5, 1}, {b, 5, 3}};
    struct suggest_merged out[8];
    assert_int_equal(suggest_merge(l, 2, SUGGEST_MERGE_SHARES, out, 8), 8);
    int nb = 0;
    for (int r = 0; r < 8; r++) nb += out[r].person == 1;
    assert_int_equal(out[0].person, 1); /* heavier first */
    assert_int_equal(nb, 5);            /* b's whole list, then a */
    /* Equal weights alternate. */
    l[1].weight = 0; /* counts as 1 */
    assert_int_equal(suggest_merge(l, 2, SUGGEST_MERGE_SHARES, out, 4), 4);
    assert_int_equal(out[0].person, 0);
    assert_int_equal(out[1].person, 1);
    assert_int_equal(out[2].person, 0);
    assert_int_equal(out[3].person, 1);
    /* Empty lists and k = 0. */
    struct suggest_person_list e[] = {{NULL, 0, 1}, {a, 5, 1}};
    assert_int_equal(suggest_merge(e, 2, SUGGEST_MERGE_SCORES, out, 3), 3);
    for (int r = 0; r < 3; r++) assert_int_equal(out[r].person, 1);
    assert_int_equal(suggest_merge(e, 2, SUGGEST_MERGE_SCORES, out, 0), 0);
}

static void test_merge_sum(void **state)
{
    (void)state;
    /* Two people: a's list leads with 1 and 2, b's with 3; item 5 is
     * second-rate for both, so together it outweighs each one's next best. */
    struct suggest_scored a[] = {sc(1, 10), sc(2, 6), sc(5, 4), sc(6, 3.5f)};
    struct suggest_scored b[] = {sc(3, 10), sc(5, 4), sc(7, 3.9f), sc(2, 1)};
    struct suggest_person_list l[] = {{a, 4, 1}, {b, 4, 1}};
    struct suggest_merged out[8];
    assert_int_equal(suggest_merge(l, 2, SUGGEST_MERGE_SUM, out, 8), 6);
    /* one each first */
    assert_int_equal(out[0].s.item, 1);
    assert_int_equal(out[0].person, 0);
    assert_int_equal(out[1].s.item, 3);
    assert_int_equal(out[1].person, 1);
    /* then by summed value: 5 (4 + 4), 2 (6 + 1), 7 (3.9), 6 (3.5) */
    assert_int_equal(out[2].s.item, 5);
    assert_int_equal(out[3].s.item, 2);
    assert_int_equal(out[3].person, 0); /* a gives it the larger part */
    assert_int_equal(out[4].s.item, 7);
    assert_int_equal(out[4].person, 1);
    assert_int_equal(out[5].s.item, 6);
    /* a weight scales a person's part: b's scores count ten times less, so
     * after the first round a's 6 comes before b's 7 */
    l[1].weight = 0.1;
    assert_int_equal(suggest_merge(l, 2, SUGGEST_MERGE_SUM, out, 8), 6);
    assert_int_equal(out[0].s.item, 1); /* the heavier list picks first: a */
    assert_int_equal(out[0].person, 0);
    size_t at6 = 0, at7 = 0;
    for (size_t r = 0; r < 6; r++) {
        if (out[r].s.item == 6) at6 = r;
        if (out[r].s.item == 7) at7 = r;
    }
    assert_true(at6 < at7);
    /* k smaller than the number of people: the first k people's best */
    assert_int_equal(suggest_merge(l, 2, SUGGEST_MERGE_SUM, out, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_knn_known_answer),
        cmocka_unit_test(test_ease_known_answer),
        cmocka_unit_test(test_ease_woodbury),
        cmocka_unit_test(test_popular_baseline),
        cmocka_unit_test(test_exclusion_respected),
        cmocka_unit_test(test_reasons),
        cmocka_unit_test(test_score_all),
        cmocka_unit_test(test_fill_with_popular),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_merge_every_person_no_duplicates),
        cmocka_unit_test(test_merge_weights),
        cmocka_unit_test(test_merge_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
