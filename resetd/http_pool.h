/*
 * The reset web service's workers: small fixed sets of threads and bounded
 * queues for the slow work of a request (LDAP, argon2id, SMTP), so that
 * libmicrohttpd's polling thread only parses and answers.
 *
 * Two lanes, each with its own threads and queue:
 *
 *  - MAILOTPD_LANE_QUICK: work that mostly waits (an LDAP search or ping,
 *    handing a mail to the background queue): POST /request, GET /reset,
 *    /healthz.
 *  - MAILOTPD_LANE_HASH: setting a password (the token lookup, argon2id
 *    at the configured cost, the LDAP modify). Its threads run at a lower
 *    priority (nice +10 for the thread alone), so that on a busy machine
 *    the polling thread and the quick lane get a core first. How many
 *    hashes run at once is capped in lib/pwhash.h
 *    (mailotp_pwhash_set_limit, mailotpd_pool_hash_limit() below); the
 *    lane has one thread more than that, so that one thread's directory
 *    round trips overlap another's hash.
 *
 * Nothing in the quick lane ever waits behind a hash. A full queue is
 * refused at once (the caller answers 503) rather than growing without
 * bound.
 */
#ifndef MAILOTPD_HTTP_POOL_H
#define MAILOTPD_HTTP_POOL_H

#include "mailotp/error.h"

enum mailotpd_lane { MAILOTPD_LANE_QUICK, MAILOTPD_LANE_HASH, MAILOTPD_LANE_COUNT };

/* A unit of work; embed it in the request it belongs to. */
struct mailotpd_job {
	void (*run)(struct mailotpd_job *job); /* called on a worker thread */
	struct mailotpd_job *next;             /* the queue's link, owned by the pool */
};

/* The threads and queue of one lane. */
struct mailotpd_lane_config {
	unsigned workers;   /* 1..16 */
	unsigned queue_max; /* jobs waiting for a thread, >= 1 */
	int nice;           /* added to each thread's nice value (0..19); 0: unchanged */
};

/*
 * How many argon2id hashes this machine runs at once: one fewer than the
 * CPUs this process may run on (sched_getaffinity), at least 1 and at
 * most 4. On 2 CPUs that is 1, which leaves a core to everything else
 * while a hash runs.
 */
unsigned mailotpd_pool_hash_limit(void);

/*
 * Starts the threads of every lane, lane[MAILOTPD_LANE_QUICK] and
 * lane[MAILOTPD_LANE_HASH]. A nice value that cannot be set is logged and
 * the thread runs on at the normal priority.
 * Returns 0, MAILOTP_ERR_INVALID (a count or nice value out of range) or
 * MAILOTP_ERR_INTERNAL (a thread could not be started; none is left
 * running).
 */
int mailotpd_pool_start(const struct mailotpd_lane_config lane[MAILOTPD_LANE_COUNT])
    MAILOTP_MUST_CHECK;

/*
 * Queues job on lane. Returns 0, or MAILOTP_ERR_THROTTLED when that lane's
 * queue_max jobs are already waiting, the lane is unknown or the pool is
 * stopping (the job was not taken).
 */
int mailotpd_pool_submit(struct mailotpd_job *job, enum mailotpd_lane lane) MAILOTP_MUST_CHECK;

/* Runs every job already queued on every lane, then stops and joins the workers. */
void mailotpd_pool_stop(void);

#endif /* MAILOTPD_HTTP_POOL_H */
