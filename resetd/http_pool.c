/* The reset web service's worker threads (see http_pool.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "http_pool.h"

#define MAX_WORKERS 16
#define WORKER_STACK (1024 * 1024) /* libldap and libcurl need more than a PAM thread */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct mailotpd_job *head, *tail;
static unsigned queued, limit, n_running;
static bool stopping;
static pthread_t workers[MAX_WORKERS];

static void *worker_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct mailotpd_job *j;

		pthread_mutex_lock(&mu);
		while (head == NULL && !stopping)
			pthread_cond_wait(&cv, &mu);
		/* Drain before leaving: every queued job holds a suspended connection. */
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
		j->next = NULL;
		j->run(j);
	}
}

int mailotpd_pool_start(unsigned n_workers, unsigned queue_max)
{
	pthread_attr_t attr;
	int r = 0;

	if (n_workers == 0 || n_workers > MAX_WORKERS || queue_max == 0)
		return MAILOTP_ERR_INVALID;
	pthread_mutex_lock(&mu);
	stopping = false;
	limit = queue_max;
	pthread_mutex_unlock(&mu);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	for (n_running = 0; n_running < n_workers; n_running++) {
		if (pthread_create(&workers[n_running], &attr, worker_main, NULL) != 0) {
			r = MAILOTP_ERR_INTERNAL;
			break;
		}
	}
	pthread_attr_destroy(&attr);
	if (r != 0)
		mailotpd_pool_stop();
	return r;
}

int mailotpd_pool_submit(struct mailotpd_job *job)
{
	pthread_mutex_lock(&mu);
	if (stopping || n_running == 0 || queued >= limit) {
		pthread_mutex_unlock(&mu);
		return MAILOTP_ERR_THROTTLED;
	}
	job->next = NULL;
	if (tail != NULL)
		tail->next = job;
	else
		head = job;
	tail = job;
	queued++;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return 0;
}

void mailotpd_pool_stop(void)
{
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (unsigned i = 0; i < n_running; i++)
		pthread_join(workers[i], NULL);
	n_running = 0;
}
