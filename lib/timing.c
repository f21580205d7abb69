/* Equal timing for login refusals (see timing.h). */
#include <errno.h>
#include <time.h>

#include "timing.h"

/* Before any bind was seen: a loopback {SSHA} bind takes about 1 ms. */
#define INITIAL_ESTIMATE_NS 2000000ull
/* Ignore outliers (a server stall) so one slow bind cannot slow every refusal. */
#define MAX_ESTIMATE_NS 2000000000ull

void mailotp_timing_init(struct mailotp_timing *t)
{
	pthread_mutex_init(&t->mu, NULL);
	t->estimate_ns = INITIAL_ESTIMATE_NS;
}

void mailotp_timing_destroy(struct mailotp_timing *t)
{
	pthread_mutex_destroy(&t->mu);
}

uint64_t mailotp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mailotp_timing_note(struct mailotp_timing *t, uint64_t elapsed_ns)
{
	if (elapsed_ns > MAX_ESTIMATE_NS)
		elapsed_ns = MAX_ESTIMATE_NS;
	pthread_mutex_lock(&t->mu);
	/* Exponential moving average, weight 1/8. */
	t->estimate_ns = t->estimate_ns - t->estimate_ns / 8 + elapsed_ns / 8;
	pthread_mutex_unlock(&t->mu);
}

void mailotp_timing_pad(struct mailotp_timing *t, uint64_t start_ns)
{
	uint64_t target, now;
	struct timespec ts;

	pthread_mutex_lock(&t->mu);
	target = start_ns + t->estimate_ns;
	pthread_mutex_unlock(&t->mu);
	now = mailotp_now_ns();
	if (now >= target)
		return;
	ts.tv_sec = (time_t)((target - now) / 1000000000ull);
	ts.tv_nsec = (long)((target - now) % 1000000000ull);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
