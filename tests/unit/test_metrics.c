/* test_metrics.c — unit tests for src/util/metrics.{h,c}: counts land on
 * their route and status (an unknown status as "other", an out-of-range
 * route as "none"), buckets are cumulative, label values are escaped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *render(struct metrics *m)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    metrics_write(m, out);
    assert_int_equal(fclose(out), 0);
    return text;
}

static void test_counts_and_buckets(void **state)
{
    (void)state;
    const char *labels[] = {"GET /a", "POST /b/{id}"};
    struct metrics *m;
    assert_int_equal(metrics_new(labels, 2, &m), 0);
    metrics_observe(m, 0, 200, 300);     /* 0.3 ms */
    metrics_observe(m, 0, 200, 4000);    /* 4 ms */
    metrics_observe(m, 0, 299, 9000000); /* 9 s: past the last bound; a status not listed */
    metrics_observe(m, 7, 404, 100);     /* no such route: "none" */
    char *t = render(m);
    assert_non_null(strstr(t, "shopkeeper_http_requests_total{route=\"GET /a\",status=\"200\"} 2\n"));
    assert_non_null(strstr(t, "shopkeeper_http_requests_total{route=\"GET /a\",status=\"other\"} 1\n"));
    assert_non_null(strstr(t, "shopkeeper_http_requests_total{route=\"none\",status=\"404\"} 1\n"));
    /* a route never called is left out */
    assert_null(strstr(t, "POST /b/{id}"));
    assert_non_null(strstr(t, "_bucket{route=\"GET /a\",le=\"0.0005\"} 1\n"));
    assert_non_null(strstr(t, "_bucket{route=\"GET /a\",le=\"0.005\"} 2\n"));
    assert_non_null(strstr(t, "_bucket{route=\"GET /a\",le=\"5\"} 2\n"));
    assert_non_null(strstr(t, "_bucket{route=\"GET /a\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(t, "_count{route=\"GET /a\"} 3\n"));
    assert_non_null(strstr(t, "_sum{route=\"GET /a\"} 9.004300\n"));
    free(t);
    metrics_free(m);
    metrics_free(NULL);
}

static void test_label_escaping(void **state)
{
    (void)state;
    char buf[32];
    metrics_label(buf, sizeof buf, "a\"b\\c\nd");
    assert_string_equal(buf, "a\\\"b\\\\c\\nd");
    /* truncated, never a dangling backslash past the end */
    char small[4];
    metrics_label(small, sizeof small, "\"\"\"");
    assert_string_equal(small, "\\\"");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_buckets),
        cmocka_unit_test(test_label_escaping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
