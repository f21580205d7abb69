/*
 * Tests of resetd/http_pool.c: the two lanes of the reset web service's
 * workers. Quick work never waits behind a hash, each lane's queue is
 * bounded, the hashing threads run at a lower priority than the rest,
 * and stopping runs every queued job first.
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_pool.h"

struct tjob {
	struct mailotpd_job job; /* first: the pool hands back &job */
	bool block;              /* wait until released */
	bool ran;
	int nice;     /* the worker's nice value, as seen by the job */
	int seq;      /* the order in which jobs ran */
	pid_t thread; /* the worker that ran it */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool released;
static int started_blocking, next_seq;

static void run(struct mailotpd_job *job)
{
	struct tjob *t = (struct tjob *)(void *)job;
	int nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, (id_t)gettid());
	pthread_mutex_lock(&mu);
	t->nice = nice;
	t->thread = gettid();
	if (t->block) {
		started_blocking++;
		pthread_cond_broadcast(&cv);
		while (!released)
			pthread_cond_wait(&cv, &mu);
	}
	t->seq = next_seq++;
	t->ran = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* Waits (bounded) until cond() holds; the mutex is held while it is tested. */
static bool wait_for(bool (*cond)(void *), void *arg)
{
	struct timespec until;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&mu);
	while (!(ok = cond(arg)))
		if (pthread_cond_timedwait(&cv, &mu, &until) != 0)
			break;
	ok = cond(arg);
	pthread_mutex_unlock(&mu);
	return ok;
}

static bool job_ran(void *arg)
{
	return ((struct tjob *)arg)->ran;
}

static bool n_blocking(void *arg)
{
	return started_blocking >= *(int *)arg;
}

static void release(void)
{
	pthread_mutex_lock(&mu);
	released = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static int setup(void **state)
{
	(void)state;
	released = false;
	started_blocking = 0;
	next_seq = 0;
	return 0;
}

static const struct mailotpd_lane_config lanes_1_1[MAILOTPD_LANE_COUNT] = {
    [MAILOTPD_LANE_QUICK] = {1, 4, 0},
    [MAILOTPD_LANE_HASH] = {1, 2, 10},
};

static void test_bad_config(void **state)
{
	struct mailotpd_lane_config c[MAILOTPD_LANE_COUNT] = {{1, 1, 0}, {0, 1, 0}};

	(void)state;
	assert_int_equal(mailotpd_pool_start(c), MAILOTP_ERR_INVALID);
	c[1].workers = 17;
	assert_int_equal(mailotpd_pool_start(c), MAILOTP_ERR_INVALID);
	c[1].workers = 1;
	c[1].queue_max = 0;
	assert_int_equal(mailotpd_pool_start(c), MAILOTP_ERR_INVALID);
	c[1].queue_max = 1;
	c[1].nice = 20;
	assert_int_equal(mailotpd_pool_start(c), MAILOTP_ERR_INVALID);
	c[1].nice = -1;
	assert_int_equal(mailotpd_pool_start(c), MAILOTP_ERR_INVALID);
}

static void test_hash_limit(void **state)
{
	cpu_set_t set;
	unsigned n = mailotpd_pool_hash_limit();
	int cpus;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	cpus = CPU_COUNT(&set);
	assert_true(n >= 1 && n <= 4);
	/* One core is always left to the rest, except on a single CPU. */
	if (cpus >= 2)
		assert_true((int)n <= cpus - 1);
	else
		assert_int_equal(n, 1);
}

/* A busy hash lane does not hold quick work up, and hashes run at nice +10. */
static void test_quick_not_behind_hash(void **state)
{
	struct tjob hash = {.job.run = run, .block = true}, waiting = {.job.run = run},
	            quick = {.job.run = run};
	int one = 1, base;

	(void)state;
	errno = 0;
	base = getpriority(PRIO_PROCESS, 0);
	assert_int_equal(mailotpd_pool_start(lanes_1_1), 0);
	assert_int_equal(mailotpd_pool_submit(&hash.job, MAILOTPD_LANE_HASH), 0);
	assert_true(wait_for(n_blocking, &one));
	assert_int_equal(mailotpd_pool_submit(&waiting.job, MAILOTPD_LANE_HASH), 0);
	assert_int_equal(mailotpd_pool_submit(&quick.job, MAILOTPD_LANE_QUICK), 0);
	assert_true(wait_for(job_ran, &quick));
	assert_false(waiting.ran);
	assert_int_equal(quick.nice, base);
	release();
	mailotpd_pool_stop();
	assert_true(hash.ran && waiting.ran);
	assert_int_equal(hash.nice, base + 10 > 19 ? 19 : base + 10);
	assert_int_equal(waiting.thread, hash.thread);
	assert_int_not_equal(quick.thread, hash.thread);
}

/* Each lane's queue is bounded on its own; a full one refuses at once. */
static void test_bounded(void **state)
{
	struct tjob running = {.job.run = run, .block = true}, q1 = {.job.run = run},
	            q2 = {.job.run = run}, over = {.job.run = run}, quick = {.job.run = run};
	int one = 1;

	(void)state;
	assert_int_equal(mailotpd_pool_start(lanes_1_1), 0);
	assert_int_equal(mailotpd_pool_submit(&running.job, MAILOTPD_LANE_HASH), 0);
	assert_true(wait_for(n_blocking, &one));
	assert_int_equal(mailotpd_pool_submit(&q1.job, MAILOTPD_LANE_HASH), 0);
	assert_int_equal(mailotpd_pool_submit(&q2.job, MAILOTPD_LANE_HASH), 0);
	assert_int_equal(mailotpd_pool_submit(&over.job, MAILOTPD_LANE_HASH),
	                 MAILOTP_ERR_THROTTLED);
	/* The quick lane still takes work. */
	assert_int_equal(mailotpd_pool_submit(&quick.job, MAILOTPD_LANE_QUICK), 0);
	assert_int_equal(mailotpd_pool_submit(&over.job, MAILOTPD_LANE_COUNT),
	                 MAILOTP_ERR_THROTTLED);
	release();
	mailotpd_pool_stop();
	assert_true(q1.ran && q2.ran && quick.ran);
	assert_false(over.ran);
	/* In the order they came. */
	assert_true(running.seq < q1.seq && q1.seq < q2.seq);
}

/* Stopping runs what is queued, then refuses new work. */
static void test_stop_drains(void **state)
{
	struct mailotpd_lane_config c[MAILOTPD_LANE_COUNT] = {{2, 64, 0}, {1, 64, 10}};
	struct tjob jobs[40], late;

	(void)state;
	memset(jobs, 0, sizeof(jobs));
	memset(&late, 0, sizeof(late));
	for (int i = 0; i < 40; i++)
		jobs[i].job.run = run;
	late.job.run = run;
	assert_int_equal(mailotpd_pool_start(c), 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(mailotpd_pool_submit(&jobs[i].job, i % 2 == 0
		                                                        ? MAILOTPD_LANE_QUICK
		                                                        : MAILOTPD_LANE_HASH),
		                 0);
	mailotpd_pool_stop();
	for (int i = 0; i < 40; i++)
		assert_true(jobs[i].ran);
	assert_int_equal(mailotpd_pool_submit(&late.job, MAILOTPD_LANE_QUICK),
	                 MAILOTP_ERR_THROTTLED);
	assert_false(late.ran);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bad_config),
	    cmocka_unit_test(test_hash_limit),
	    cmocka_unit_test_setup(test_quick_not_behind_hash, setup),
	    cmocka_unit_test_setup(test_bounded, setup),
	    cmocka_unit_test_setup(test_stop_drains, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
