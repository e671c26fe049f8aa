/* prices: what a run costs on each platform, from the price file
 * (runtime/prices.json, compiled into the kernel, or the file FAASET_PRICES
 * names instead) and faaset-prices.json beside the notebook, a file of the
 * same shape whose entries replace those with the same platform and region
 * and add the others. A run's billed duration is its runtime rounded up as the
 * platform bills it (a multiple of roundingMs, at least minimumMs); its
 * cost is the billed seconds times the configured memory's GB (rounded up
 * to memoryRoundingMb) times gbSecond, plus the vCPUs the platform gives
 * that memory times vcpuSecond, plus one request's share of
 * perMillionRequests. */
#ifndef FAASET_PRICES_H
#define FAASET_PRICES_H

#include <stddef.h>

#define PRICES_MAX_VCPU_STEPS 16

struct price {
    char platform[32];
    char region[64];
    int free;                        /* no charge: NOTE says why */
    double gb_second, vcpu_second, per_million_requests;
    double rounding_ms, minimum_ms;
    int memory_rounding_mb;
    int vcpu_steps;                  /* vcpuByMemoryMb: up to MB, vCPUs */
    double vcpu_by_memory[PRICES_MAX_VCPU_STEPS][2];
    char note[160];
};

/* One run as billed. */
struct price_bill {
    double billed_ms;
    int billed_memory_mb;
    double vcpus;
    double cost;                     /* USD */
};

struct prices;

/* The built-in prices (or FAASET_PRICES's) with WORKDIR/faaset-prices.json
 * over them. NULL with ERR when a file is wrong (the sentence
 * names the file and the entry). */
struct prices *prices_load(const char *workdir, char *err, size_t err_size);

/* The prices of TEXT (a price file's JSON) alone, for tests and checks;
 * SOURCE names it in errors. */
struct prices *prices_parse(const char *text, const char *source, char *err, size_t err_size);
void prices_free(struct prices *prices);

/* PLATFORM's entry for REGION, else its "default" one; NULL when unknown. */
const struct price *prices_find(const struct prices *prices, const char *platform, const char *region);

/* The file a user adds a missing price to: faaset-prices.json beside the notebook. */
const char *prices_user_file(const struct prices *prices);

/* RUNTIME_MS of a function configured with MEMORY_MB, as PRICE bills it. */
struct price_bill prices_bill(const struct price *price, double runtime_ms, int memory_mb);

/* The same for a duration the platform itself billed (BILLED_MS, not rounded again). */
struct price_bill prices_bill_billed(const struct price *price, double billed_ms, int memory_mb);

#endif
