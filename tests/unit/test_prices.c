/* Unit tests for prices: the built-in price file reads and has every
 * platform the kernel deploys to; billed durations round up as each
 * platform documents (aws every 1 ms, its own Billed Duration as it is, gcf and ibm every 100 ms, azure 1 ms
 * with a 100 ms minimum and memory in 128 MB steps), a runtime of exactly
 * a step is not rounded up a step further; costs are worked out by hand in
 * the comments; gcf gets the vCPUs of its memory; a free platform costs 0;
 * the notebook's file replaces an entry and adds one; FAASET_PRICES names
 * a file used instead of the built-in one; wrong files name the entry
 * and the key; an unknown platform has no price. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "prices.h"

static int near(double a, double b)
{
    return fabs(a - b) <= 1e-15 + 1e-9 * fabs(b);
}

static void test_built_in(void)
{
    char err[512] = "";
    char folder[] = "/tmp/faaset-prices-XXXXXX";
    CHECK(mkdtemp(folder) != NULL);
    unsetenv("FAASET_PRICES");
    struct prices *prices = prices_load(folder, err, sizeof err);
    CHECK(prices != NULL);
    if (prices == NULL) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    const char *platforms[] = {"local", "aws", "gcf", "ibm", "azure"};
    for (size_t i = 0; i < sizeof platforms / sizeof platforms[0]; i++)
        CHECK(prices_find(prices, platforms[i], NULL) != NULL);
    CHECK(prices_find(prices, "openfaas", NULL) == NULL);
    CHECK(strstr(prices_user_file(prices), "faaset-prices.json") != NULL);

    const struct price *local = prices_find(prices, "local", "default");
    struct price_bill bill = prices_bill(local, 1234.5, 1024);
    CHECK(local->free && bill.cost == 0 && strstr(local->note, "no charge") != NULL);

    /* aws: 1 ms steps, no minimum; 27.55 ms at 1024 MB is 28 ms:
     * 0.028 s * 1 GB * 0.0000166667 + 0.20 / 1e6 = 4.666676e-7 + 2e-7 */
    const struct price *aws = prices_find(prices, "aws", "us-east-1"); /* no such region: the default */
    bill = prices_bill(aws, 27.55, 1024);
    CHECK(bill.billed_ms == 28 && bill.billed_memory_mb == 1024);
    CHECK(near(bill.cost, 0.028 * 0.0000166667 + 0.2e-6));
    CHECK(prices_bill(aws, 28.0, 1024).billed_ms == 28);     /* exactly a step: not one more */
    CHECK(prices_bill(aws, 0.2, 128).billed_ms == 1);
    CHECK(prices_bill(aws, 0, 128).billed_ms == 0);
    /* Lambda's own Billed Duration is taken as it is, not rounded again */
    bill = prices_bill_billed(aws, 301, 512);
    CHECK(bill.billed_ms == 301 && near(bill.cost, 0.301 * 0.5 * 0.0000166667 + 0.2e-6));

    /* ibm: 100 ms steps, GB-seconds only; 260 ms at 256 MB is 300 ms:
     * 0.3 s * 0.25 GB * 0.000017 = 1.275e-6 */
    const struct price *ibm = prices_find(prices, "ibm", NULL);
    bill = prices_bill(ibm, 260, 256);
    CHECK(bill.billed_ms == 300 && near(bill.cost, 0.3 * 0.25 * 0.000017));
    CHECK(prices_bill(ibm, 100.0, 256).billed_ms == 100);
    CHECK(prices_bill(ibm, 100.001, 256).billed_ms == 200);
    CHECK(prices_bill(ibm, 1, 256).billed_ms == 100);

    /* gcf: 100 ms steps, 256 MB gets 0.167 vCPU; 1001 ms is 1100 ms:
     * 1.1 s * (0.25 GiB * 0.0000025 + 0.167 * 0.000024) + 0.40 / 1e6 */
    const struct price *gcf = prices_find(prices, "gcf", NULL);
    bill = prices_bill(gcf, 1001, 256);
    CHECK(bill.billed_ms == 1100 && near(bill.vcpus, 0.167));
    CHECK(near(bill.cost, 1.1 * (0.25 * 0.0000025 + 0.167 * 0.000024) + 0.4e-6));
    CHECK(near(prices_bill(gcf, 10, 300).vcpus, 0.333));       /* between steps: the next one up */
    CHECK(near(prices_bill(gcf, 10, 65536).vcpus, 8));         /* past the last: the last */

    /* azure: 1 ms steps, at least 100 ms, memory up to 128 MB steps; 20 ms
     * at 200 MB is 100 ms at 256 MB: 0.1 * 0.25 * 0.000016 + 0.2e-6 */
    const struct price *azure = prices_find(prices, "azure", NULL);
    bill = prices_bill(azure, 20, 200);
    CHECK(bill.billed_ms == 100 && bill.billed_memory_mb == 256);
    CHECK(near(bill.cost, 0.1 * 0.25 * 0.000016 + 0.2e-6));
    CHECK(prices_bill(azure, 150.2, 64).billed_ms == 151 && prices_bill(azure, 150.2, 64).billed_memory_mb == 128);
    prices_free(prices);

    /* a user's file beside the notebook: replaces ibm's default, adds a region of aws */
    char path[256];
    snprintf(path, sizeof path, "%s/faaset-prices.json", folder);
    FILE *file = fopen(path, "w");
    fputs("{\"prices\": [{\"platform\": \"ibm\", \"region\": \"default\", \"gbSecond\": 1, \"roundingMs\": 1000},"
          " {\"platform\": \"aws\", \"region\": \"eu-west-1\", \"gbSecond\": 2}]}", file);
    fclose(file);
    prices = prices_load(folder, err, sizeof err);
    CHECK(prices != NULL && strcmp(prices_user_file(prices), path) == 0);
    if (prices != NULL) {
        CHECK(prices_bill(prices_find(prices, "ibm", NULL), 10, 1024).billed_ms == 1000);
        CHECK(near(prices_bill(prices_find(prices, "ibm", NULL), 10, 1024).cost, 1.0));
        CHECK(near(prices_bill(prices_find(prices, "aws", "eu-west-1"), 1000, 1024).cost, 2.0));
        CHECK(near(prices_find(prices, "aws", "us-east-1")->gb_second, 0.0000166667));
        prices_free(prices);
    }
    /* FAASET_PRICES names the price file to use instead of the built-in one (the notebook's still over it) */
    char named[256];
    snprintf(named, sizeof named, "%s/mine.json", folder);
    file = fopen(named, "w");
    fputs("{\"prices\": [{\"platform\": \"gcf\", \"gbSecond\": 3}]}", file);
    fclose(file);
    setenv("FAASET_PRICES", named, 1);
    prices = prices_load(folder, err, sizeof err);
    CHECK(prices != NULL);
    if (prices != NULL) {
        CHECK(prices_find(prices, "local", NULL) == NULL && prices_find(prices, "azure", NULL) == NULL);
        CHECK(near(prices_find(prices, "gcf", NULL)->gb_second, 3) && prices_find(prices, "ibm", NULL) != NULL);
        prices_free(prices);
    }
    unlink(named);
    /* a file that is not there is an error that names it, not the built-in prices */
    setenv("FAASET_PRICES", "/nonexistent/prices.json", 1);
    CHECK(prices_load(folder, err, sizeof err) == NULL && strstr(err, "/nonexistent/prices.json") != NULL);
    unsetenv("FAASET_PRICES");
    unlink(path);
    rmdir(folder);
}

static void test_wrong_files(void)
{
    char err[512] = "";
    CHECK(prices_parse("{\"prices\": [{\"platform\": \"aws\", \"gbSecond\": -1}]}", "p.json", err, sizeof err) == NULL);
    CHECK(strstr(err, "p.json, entry 1 (aws)") != NULL && strstr(err, "gbSecond") != NULL);
    CHECK(prices_parse("{\"prices\": [{\"gbSecond\": 1}]}", "p.json", err, sizeof err) == NULL);
    CHECK(strstr(err, "\"platform\"") != NULL);
    CHECK(prices_parse("{\"prices\": [{\"platform\": \"x\"}]}", "p.json", err, sizeof err) == NULL);
    CHECK(strstr(err, "\"free\": true") != NULL);
    CHECK(prices_parse("{\"prices\": [{\"platform\": \"x\", \"gbSecond\": 1, \"roundingMs\": 0}]}", "p.json", err,
                       sizeof err) == NULL);
    CHECK(strstr(err, "roundingMs") != NULL);
    CHECK(prices_parse("{\"prices\": [{\"platform\": \"x\", \"gbSecond\": 1, \"vcpuByMemoryMb\": [[256, 1], [128, 2]]}]}",
                       "p.json", err, sizeof err) == NULL);
    CHECK(strstr(err, "vcpuByMemoryMb") != NULL);
    CHECK(prices_parse("{\"price\": []}", "p.json", err, sizeof err) == NULL && strstr(err, "\"prices\"") != NULL);
    CHECK(prices_parse("{", "p.json", err, sizeof err) == NULL && strstr(err, "not valid JSON") != NULL);
}

int main(void)
{
    test_built_in();
    test_wrong_files();
    return check_report();
}
