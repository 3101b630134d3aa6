/* test_item_index.c — the catalogue index (src/core/item_index.c) answers
 * exactly what a walk over every item with sr_matches_taste /
 * sr_matches_dont answers: on a hand-made catalogue with the awkward cases
 * (case, paths, repeated segments, first words, titles that look like
 * categories) and on a generated one, for every text worth asking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/item_index.h"

struct view { /* like the service's: the item first, other fields after */
    struct sr_item it;
    const char *tags[3];
    int other;
};

static const char *const texts[] = {
    "thrillers", "THRILLERS", "Books", "books/fiction", "BOOKS/Fiction/thrillers", "fiction/thrillers",
    "books/children", "children", "children's books", "Ann Author", "ann author", "cosy", "Cosy",
    "series", "The Long Walk", "the long walk", "garden", "Garden", "gardening", "roses", "Roses",
    "kids", "a/b/a", "a", "b", "", "thrill", "books/", "/books", "nobody", "Walk",
    "a text far longer than any catalogue field could ever be, so that it cannot fit the index key "
    "buffer at all and must still be answered the way the walk answers it, which is nothing at all "
    "unless its first word names a category, which this one does not, as it starts with the article"};

static size_t walk(const struct view *v, uint32_t n, const char *text, int dont, uint32_t *out)
{
    size_t got = 0;
    for (uint32_t i = 0; i < n; i++)
        if (dont ? sr_matches_dont(&v[i].it, text) : sr_matches_taste(&v[i].it, text)) out[got++] = i;
    return got;
}

static void same_answers(const struct view *v, uint32_t n, const char *const *tx, size_t ntx)
{
    struct item_index *x;
    assert_int_equal(item_index_build(&v[0].it, sizeof v[0], n, &x), 0);
    uint32_t *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    for (size_t t = 0; t < ntx; t++)
        for (int dont = 0; dont < 2; dont++) {
            size_t nw = walk(v, n, tx[t], dont, want);
            size_t ng = dont ? item_index_dont(x, tx[t], got) : item_index_taste(x, tx[t], got);
            if (nw != ng) fprintf(stderr, "text \"%s\" (%s): walk %zu, index %zu\n", tx[t], dont ? "dont" : "taste", nw, ng);
            assert_int_equal(ng, nw);
            assert_memory_equal(got, want, nw * sizeof *got);
        }
    free(want);
    free(got);
    item_index_free(x);
}

static void test_hand_made(void **state)
{
    (void)state;
    struct view v[] = {
        {.it = {"The Long Walk", "books/fiction/thrillers", "Ann Author", NULL, 2, 0}, .tags = {"cosy", "series"}},
        {.it = {"Roses", "garden/plants/roses", NULL, NULL, 1, 0}, .tags = {"Gardening"}},
        {.it = {"Thrillers", "books/nonfiction", "ANN AUTHOR", NULL, 0, 0}},
        {.it = {"Kids' Puzzle", "Children/Puzzles", "Toyco", NULL, 2, 0}, .tags = {"kids", "KIDS"}},
        {.it = {"Loop", "a/b/a", NULL, NULL, 0, 1}},
        {.it = {"Nothing", NULL, NULL, NULL, 0, 0}},
        {.it = {"Garden Gloves", "Garden/Tools", "Roses", NULL, 1, 1}, .tags = {"garden"}},
    };
    uint32_t n = sizeof v / sizeof v[0];
    for (uint32_t i = 0; i < n; i++) v[i].it.tags = v[i].tags;
    same_answers(v, n, texts, sizeof texts / sizeof texts[0]);

    /* and the answers are the ones a person expects */
    struct item_index *x;
    uint32_t out[8];
    assert_int_equal(item_index_build(&v[0].it, sizeof v[0], n, &x), 0);
    assert_int_equal(item_index_taste(x, "ann author", out), 2); /* maker, any case */
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 2);
    assert_int_equal(item_index_taste(x, "garden", out), 2); /* a segment and a tag */
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 6);
    assert_int_equal(item_index_dont(x, "Thrillers", out), 2); /* a category and a title */
    assert_int_equal(item_index_dont(x, "children's books", out), 1);
    assert_int_equal(out[0], 3);
    assert_int_equal(item_index_dont(x, "books/children", out), 0);
    assert_int_equal(item_index_taste(x, "kids", out), 1); /* one item, though tagged twice */
    item_index_free(x);
}

static unsigned next_rand(void)
{
    static unsigned r = 12345;
    r = r * 1103515245u + 12345u;
    return (r >> 16) % 32768u;
}

static void test_generated(void **state)
{
    (void)state;
    enum { N = 3000 };
    static const char *const words[] = {"books", "Fiction", "crime", "garden", "tools", "drinks", "coffee",
                                        "tea",   "kids",    "Toys",  "home",   "cosy",  "new",    "Maker A",
                                        "maker b", "crime fiction"};
    size_t nw = sizeof words / sizeof words[0];
    struct view *v = calloc(N, sizeof *v);
    char(*cats)[64] = calloc(N, 64), (*titles)[32] = calloc(N, 32);
#define NEXT() next_rand()
    for (uint32_t i = 0; i < N; i++) {
        const char *a = words[NEXT() % nw], *b = words[NEXT() % nw], *c = words[NEXT() % nw];
        snprintf(cats[i], 64, "%s/%s/%s", a, b, c);
        snprintf(titles[i], 32, "%s", i % 50 ? "Title" : words[NEXT() % nw]);
        v[i].it.title = titles[i];
        v[i].it.category = NEXT() % 10 ? cats[i] : NULL;
        v[i].it.maker = NEXT() % 3 ? words[NEXT() % nw] : NULL;
        v[i].tags[0] = words[NEXT() % nw];
        v[i].tags[1] = words[NEXT() % nw];
        v[i].it.tags = v[i].tags;
        v[i].it.ntags = NEXT() % 3;
    }
#undef NEXT
    const char *ask[64];
    size_t na = 0;
    for (size_t w = 0; w < nw; w++) ask[na++] = words[w];
    ask[na++] = "BOOKS/fiction";
    ask[na++] = "garden/tools/coffee";
    ask[na++] = "crime fiction/tea";
    ask[na++] = "Title";
    ask[na++] = "home-made things";
    same_answers(v, N, ask, na);
    free(v);
    free(cats);
    free(titles);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hand_made), cmocka_unit_test(test_generated)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
