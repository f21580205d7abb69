/*
 * Small helpers shared by the bench programs (header only): a monotonic
 * clock in ns, nearest-rank percentiles over samples in ms, and the
 * reading of counts from the command line.
 */
#ifndef MAILOTP_BENCH_STATS_H
#define MAILOTP_BENCH_STATS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct bench_stats {
	double median, p90, p99, max, mean;
};

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline double bench_ms(uint64_t a, uint64_t b)
{
	return (double)(b - a) / 1e6;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* nearest rank: the smallest value with at least q of the samples at or below it */
static inline double bench_pct(const double *v, size_t n, double q)
{
	size_t k;

	if (n == 0)
		return 0;
	k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

/* sorts v in place */
static inline void bench_summarise(double *v, size_t n, struct bench_stats *st)
{
	double sum = 0;

	st->median = st->p90 = st->p99 = st->max = st->mean = 0;
	if (n == 0)
		return;
	qsort(v, n, sizeof(double), bench_cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	st->median = bench_pct(v, n, 0.5);
	st->p90 = bench_pct(v, n, 0.9);
	st->p99 = bench_pct(v, n, 0.99);
	st->max = v[n - 1];
	st->mean = sum / (double)n;
}

/* A count given on the command line, 0..max; anything else exits 2 with a message. */
static inline size_t bench_count(const char *prog, const char *s, const char *what,
                                 unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v > max) {
		fprintf(stderr, "%s: %s: not a count: '%s'\n", prog, what, s);
		exit(2);
	}
	return (size_t)v;
}

#endif
