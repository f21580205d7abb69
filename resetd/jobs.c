/* The daemon's background queue (see jobs.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#include "ctx.h"
#include "jobs.h"
#include "log.h"

struct job {
	struct job *next;
	struct mailotpd_ctx *ctx;
	mailotp_job_fn fn;
	void *arg;
	void (*free_arg)(void *);
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;
static size_t queued;
static bool stopping;
static pthread_t workers[MAILOTPD_JOBS_WORKERS];
static size_t nworkers;

static void *worker(void *unused)
{
	(void)unused;
	for (;;) {
		struct job *j;

		pthread_mutex_lock(&mu);
		while (head == NULL && !stopping)
			pthread_cond_wait(&cv, &mu);
		if (head == NULL) {
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		j = head;
		head = j->next;
		if (head == NULL)
			tail = NULL;
		queued--;
		pthread_mutex_unlock(&mu);

		j->fn(&j->ctx->services, j->arg);
		if (j->free_arg != NULL)
			j->free_arg(j->arg);
		mailotpd_ctx_unref(j->ctx);
		free(j);
	}
}

int mailotpd_jobs_start(void)
{
	for (nworkers = 0; nworkers < MAILOTPD_JOBS_WORKERS; nworkers++)
		if (pthread_create(&workers[nworkers], NULL, worker, NULL) != 0)
			return MAILOTP_ERR_INTERNAL;
	return 0;
}

int mailotpd_jobs_defer(const struct mailotp_services *s, mailotp_job_fn fn, void *arg,
                        void (*free_arg)(void *))
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto refuse;
	/* The services live inside a context: keep that context until the job ran. */
	j->ctx = mailotpd_ctx_of(s);
	j->fn = fn;
	j->arg = arg;
	j->free_arg = free_arg;
	pthread_mutex_lock(&mu);
	if (stopping || queued >= MAILOTPD_JOBS_MAX) {
		pthread_mutex_unlock(&mu);
		mailotpd_ctx_unref(j->ctx);
		free(j);
		goto refuse;
	}
	if (tail != NULL)
		tail->next = j;
	else
		head = j;
	tail = j;
	queued++;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return 0;
refuse:
	if (free_arg != NULL)
		free_arg(arg);
	return MAILOTP_ERR_TOOBIG;
}

void mailotpd_jobs_stop(void)
{
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (size_t i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	nworkers = 0;
}
