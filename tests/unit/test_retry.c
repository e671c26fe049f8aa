/* Unit tests for retry: the budget, full jitter within the exponential
 * ceiling and its cap, Retry-After taken as given, and Retry-After header
 * values (seconds; nonsense and dates are ignored). */
#include <stdlib.h>

#include "check.h"
#include "retry.h"

static void test_backoff(void)
{
    struct retry_policy policy = {.base_ms = 100, .cap_ms = 1000, .max_retries = 6};
    srand(7);
    for (int attempt = 0; attempt < 6; attempt++) {
        double ceiling = attempt < 4 ? 100.0 * (1 << attempt) : 1000.0; /* 100, 200, 400, 800, then the cap */
        double lowest = ceiling, highest = 0;
        for (int i = 0; i < 2000; i++) {
            double wait = retry_delay_ms(&policy, attempt, 0);
            lowest = wait < lowest ? wait : lowest;
            highest = wait > highest ? wait : highest;
        }
        CHECK(lowest >= 0 && highest <= ceiling);
        CHECK(lowest < ceiling * 0.05 && highest > ceiling * 0.95); /* full jitter: the whole range */
    }
    CHECK(retry_delay_ms(&policy, 6, 0) < 0);   /* the budget is spent */
    CHECK(retry_delay_ms(&policy, 6, 500) < 0); /* whatever the platform says */
    CHECK(retry_delay_ms(&policy, -1, 0) < 0);
}

static void test_retry_after(void)
{
    struct retry_policy policy = {.base_ms = 100, .cap_ms = 1000, .max_retries = 3};
    CHECK(retry_delay_ms(&policy, 0, 2000) == 2000); /* the platform knows best, even above the cap */
    CHECK(retry_delay_ms(&policy, 2, 1) == 1);
    CHECK(retry_after_header_ms("2") == 2000);
    CHECK(retry_after_header_ms("0.5") == 500);
    CHECK(retry_after_header_ms("0") == 0);
    CHECK(retry_after_header_ms(NULL) == 0);
    CHECK(retry_after_header_ms("") == 0);
    CHECK(retry_after_header_ms("-3") == 0);
    CHECK(retry_after_header_ms("7200") == 0);                          /* over an hour: not believed */
    CHECK(retry_after_header_ms("Wed, 21 Oct 2015 07:28:00 GMT") == 0); /* a date: not what FaaS platforms send */
    CHECK(retry_after_header_ms("nan") == 0);
}

int main(void)
{
    test_backoff();
    test_retry_after();
    return check_report();
}
