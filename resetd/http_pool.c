/* The reset web service's worker threads (see http_pool.h). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "http_pool.h"
#include "log.h"

#define MAX_WORKERS 16
#define MAX_HASHES 4
/*
 * libldap and GnuTLS need more than a PAM thread. Only what a thread
 * touches is resident; argon2id's memory is on the heap, not here.
 */
#define WORKER_STACK (1024 * 1024)

struct lane {
	pthread_cond_t cv;
	struct mailotpd_job *head, *tail;
	unsigned queued, limit, n_running;
	int nice;
	pthread_t workers[MAX_WORKERS];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct lane lanes[MAILOTPD_LANE_COUNT] = {
    [MAILOTPD_LANE_QUICK] = {.cv = PTHREAD_COND_INITIALIZER},
    [MAILOTPD_LANE_HASH] = {.cv = PTHREAD_COND_INITIALIZER},
};
static bool stopping;

unsigned mailotpd_pool_hash_limit(void)
{
	cpu_set_t set;
	long n = 0;

	/* The CPUs we may run on (taskset, cgroup cpusets), not all the machine has. */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 2)
		return 1;
	return n - 1 > MAX_HASHES ? MAX_HASHES : (unsigned)(n - 1);
}

/*
 * Lowers the calling thread's priority by l->nice. On Linux the nice value
 * is per thread (setpriority on the thread id), so the polling thread and
 * the other lane keep theirs. Lowering needs no privilege; failing only
 * costs responsiveness, so it is logged, not fatal.
 */
static void lower_priority(const struct lane *l)
{
	pid_t tid = gettid();
	int cur;

	if (l->nice == 0)
		return;
	errno = 0;
	cur = getpriority(PRIO_PROCESS, (id_t)tid);
	if (cur == -1 && errno != 0)
		cur = 0;
	if (setpriority(PRIO_PROCESS, (id_t)tid, cur + l->nice > 19 ? 19 : cur + l->nice) != 0)
		mailotp_log(LOG_WARNING, "http: cannot lower a worker's priority: %s",
		            strerror(errno));
}

static void *worker_main(void *arg)
{
	struct lane *l = arg;

	lower_priority(l);
	for (;;) {
		struct mailotpd_job *j;

		pthread_mutex_lock(&mu);
		while (l->head == NULL && !stopping)
			pthread_cond_wait(&l->cv, &mu);
		/* Drain before leaving: every queued job holds a suspended connection. */
		if (l->head == NULL) {
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		j = l->head;
		l->head = j->next;
		if (l->head == NULL)
			l->tail = NULL;
		l->queued--;
		pthread_mutex_unlock(&mu);
		j->next = NULL;
		j->run(j);
	}
}

int mailotpd_pool_start(const struct mailotpd_lane_config cfg[MAILOTPD_LANE_COUNT])
{
	pthread_attr_t attr;
	int r = 0;

	for (int i = 0; i < MAILOTPD_LANE_COUNT; i++)
		if (cfg[i].workers == 0 || cfg[i].workers > MAX_WORKERS || cfg[i].queue_max == 0 ||
		    cfg[i].nice < 0 || cfg[i].nice > 19)
			return MAILOTP_ERR_INVALID;
	pthread_mutex_lock(&mu);
	stopping = false;
	for (int i = 0; i < MAILOTPD_LANE_COUNT; i++) {
		lanes[i].limit = cfg[i].queue_max;
		lanes[i].nice = cfg[i].nice;
	}
	pthread_mutex_unlock(&mu);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	for (int i = 0; i < MAILOTPD_LANE_COUNT && r == 0; i++) {
		struct lane *l = &lanes[i];

		for (l->n_running = 0; l->n_running < cfg[i].workers; l->n_running++) {
			if (pthread_create(&l->workers[l->n_running], &attr, worker_main, l) != 0) {
				r = MAILOTP_ERR_INTERNAL;
				break;
			}
		}
	}
	pthread_attr_destroy(&attr);
	if (r != 0)
		mailotpd_pool_stop();
	return r;
}

int mailotpd_pool_submit(struct mailotpd_job *job, enum mailotpd_lane lane)
{
	struct lane *l;

	if ((unsigned)lane >= MAILOTPD_LANE_COUNT)
		return MAILOTP_ERR_THROTTLED;
	l = &lanes[lane];
	pthread_mutex_lock(&mu);
	if (stopping || l->n_running == 0 || l->queued >= l->limit) {
		pthread_mutex_unlock(&mu);
		return MAILOTP_ERR_THROTTLED;
	}
	job->next = NULL;
	if (l->tail != NULL)
		l->tail->next = job;
	else
		l->head = job;
	l->tail = job;
	l->queued++;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&mu);
	return 0;
}

void mailotpd_pool_stop(void)
{
	pthread_mutex_lock(&mu);
	stopping = true;
	for (int i = 0; i < MAILOTPD_LANE_COUNT; i++)
		pthread_cond_broadcast(&lanes[i].cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < MAILOTPD_LANE_COUNT; i++) {
		for (unsigned k = 0; k < lanes[i].n_running; k++)
			pthread_join(lanes[i].workers[k], NULL);
		lanes[i].n_running = 0;
	}
}
