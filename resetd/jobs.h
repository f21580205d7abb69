/*
 * The daemon's background queue: a few worker threads running deferred
 * work (the lookup, token and mail of a reset request), so that web
 * answers never wait for the directory or the mail server and do not
 * depend on whether an account exists. Bounded: a full queue refuses.
 */
#ifndef MAILOTPD_JOBS_H
#define MAILOTPD_JOBS_H

#include "login.h"

#define MAILOTPD_JOBS_WORKERS 2
#define MAILOTPD_JOBS_MAX 256

/* Starts the workers. Returns 0 or an error. */
int mailotpd_jobs_start(void) MAILOTP_MUST_CHECK;

/* The `defer` of struct mailotp_services: keeps the context alive until the job ran. */
int mailotpd_jobs_defer(const struct mailotp_services *s, mailotp_job_fn fn, void *arg,
                        void (*free_arg)(void *));

/* Runs what is queued, then stops the workers. */
void mailotpd_jobs_stop(void);

#endif /* MAILOTPD_JOBS_H */
