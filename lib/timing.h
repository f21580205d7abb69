/*
 * Equal timing for refusals. A wrong password costs a bind (and the
 * server's hash check); an unknown account or an empty password costs
 * nothing. To keep the answer time from telling which, every early
 * refusal of a login is held back until a running estimate of what a
 * real password check takes has passed.
 */
#ifndef MAILOTP_TIMING_H
#define MAILOTP_TIMING_H

#include <pthread.h>
#include <stdint.h>

struct mailotp_timing {
	pthread_mutex_t mu;
	uint64_t estimate_ns; /* moving average of search + bind */
};

void mailotp_timing_init(struct mailotp_timing *t);
void mailotp_timing_destroy(struct mailotp_timing *t);

/* Monotonic clock in nanoseconds. */
uint64_t mailotp_now_ns(void);

/* Adds one observed duration of a real password check. */
void mailotp_timing_note(struct mailotp_timing *t, uint64_t elapsed_ns);

/* Sleeps until start_ns + the current estimate (no sleep when already past). */
void mailotp_timing_pad(struct mailotp_timing *t, uint64_t start_ns);

#endif /* MAILOTP_TIMING_H */
