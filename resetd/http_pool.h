/*
 * The reset web service's workers: a small fixed set of threads and a
 * bounded queue for the slow work of a request (LDAP, argon2id, SMTP), so
 * that libmicrohttpd's polling thread only parses and answers.
 *
 * The number of workers is also the cap on concurrent argon2id hashes:
 * each hash takes tens of MiB and a core, and nothing else in the web
 * service hashes. A full queue is refused at once (the caller answers
 * 503) rather than growing without bound.
 */
#ifndef MAILOTPD_HTTP_POOL_H
#define MAILOTPD_HTTP_POOL_H

#include "mailotp/error.h"

/* A unit of work; embed it in the request it belongs to. */
struct mailotpd_job {
	void (*run)(struct mailotpd_job *job); /* called on a worker thread */
	struct mailotpd_job *next;             /* the queue's link, owned by the pool */
};

/*
 * Starts n_workers threads (1..16) with room for queue_max waiting jobs.
 * Returns 0, MAILOTP_ERR_INVALID or MAILOTP_ERR_INTERNAL (a thread could not
 * be started; none is left running).
 */
int mailotpd_pool_start(unsigned n_workers, unsigned queue_max) MAILOTP_MUST_CHECK;

/*
 * Queues job. Returns 0, or MAILOTP_ERR_THROTTLED when queue_max jobs are
 * already waiting or the pool is stopping (the job was not taken).
 */
int mailotpd_pool_submit(struct mailotpd_job *job) MAILOTP_MUST_CHECK;

/* Runs every job already queued, then stops and joins the workers. */
void mailotpd_pool_stop(void);

#endif /* MAILOTPD_HTTP_POOL_H */
