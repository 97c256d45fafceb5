// SPDX-License-Identifier: GPL-2.0
/*
 * Load generators for the L2 guest's checks (lab/l2-tests), which have
 * only busybox: a real-time spinner and a cross-CPU ping-pong.
 *
 *   l2-load rt CPU SECONDS          SCHED_FIFO 10, on CPU, 1/6 busy
 *   l2-load pingpong CPU CPU SECONDS   two processes wake each other
 *   l2-load lat CPU SECONDS WARMUP WORK_US PERIOD_US
 *	a SCHED_FIFO task on CPU wakes every PERIOD_US (absolute timer),
 *	works WORK_US; prints how late it woke (µs), samples of the first
 *	WARMUP seconds left out: "lat samples N p50 A p99 B max C"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr, "l2-load: CPU %d: %s\n", cpu, strerror(errno));
		exit(1);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int rt(int cpu, double secs)
{
	struct sched_param sp = { .sched_priority = 10 };
	double end = now() + secs;

	pin(cpu);
	if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
		perror("l2-load: SCHED_FIFO");
		return 1;
	}
	/*
	 * 0.2 ms of work per 1.2 ms: real time that leaves most of a single
	 * CPU to the rest of the guest, even under emulation.
	 */
	while (now() < end) {
		double slice = now() + 0.0002;

		/* Reading the clock is the work: it cannot be optimised away. */
		while (now() < slice)
			;
		usleep(1000);
	}
	return 0;
}

static int pingpong(int a, int b, double secs)
{
	int ab[2], ba[2];
	unsigned long rounds = 0;
	double end = now() + secs;
	char c = 0;
	pid_t pid;

	if (pipe(ab) || pipe(ba)) {
		perror("l2-load: pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("l2-load: fork");
		return 1;
	}
	if (!pid) {
		/* Only the other side's ends: its exit is our end of file. */
		close(ab[1]);
		close(ba[0]);
		pin(b);
		while (read(ab[0], &c, 1) == 1 && c)
			if (write(ba[1], &c, 1) != 1)
				break;
		_exit(0);
	}
	close(ab[0]);
	close(ba[1]);
	pin(a);
	while (now() < end) {
		c = 1;
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			break;
		rounds++;
	}
	c = 0;
	if (write(ab[1], &c, 1) != 1)
		kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	printf("l2-load: %lu round trips between CPU %d and CPU %d in %.1f s\n",
	       rounds, a, b, secs);
	return 0;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static int latency(int cpu, double secs, double warmup, long work_us,
	       long period_us)
{
	struct sched_param sp = { .sched_priority = 10 };
	long n = 0, cap = (long)(secs * 1e6 / period_us) + 1;
	long *late = calloc(cap, sizeof(*late));
	struct timespec next, woke;
	double start = now();

	if (!late || period_us <= 0 || work_us < 0)
		return 2;
	pin(cpu);
	if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
		perror("l2-load: SCHED_FIFO");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (now() < start + secs && n < cap) {
		double until;

		next.tv_nsec += period_us * 1000;
		while (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		clock_gettime(CLOCK_MONOTONIC, &woke);
		if (now() >= start + warmup)
			late[n++] = (woke.tv_sec - next.tv_sec) * 1000000L +
				    (woke.tv_nsec - next.tv_nsec) / 1000;
		until = now() + work_us / 1e6;
		while (now() < until)
			;
		/* Behind by more than a period: skip, do not burst. */
		if (woke.tv_sec > next.tv_sec ||
		    (woke.tv_sec == next.tv_sec &&
		     woke.tv_nsec - next.tv_nsec > period_us * 1000))
			next = woke;
	}
	if (!n) {
		fprintf(stderr, "l2-load: no samples\n");
		return 1;
	}
	qsort(late, n, sizeof(*late), cmp_long);
	printf("lat samples %ld p50 %ld p99 %ld max %ld\n", n, late[n / 2],
	       late[n * 99 / 100], late[n - 1]);
	free(late);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "rt"))
		return rt(atoi(argv[2]), atof(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "pingpong"))
		return pingpong(atoi(argv[2]), atoi(argv[3]), atof(argv[4]));
	if (argc == 7 && !strcmp(argv[1], "lat"))
		return latency(atoi(argv[2]), atof(argv[3]), atof(argv[4]),
			   atol(argv[5]), atol(argv[6]));
	fprintf(stderr, "usage: l2-load rt CPU SECONDS | pingpong CPU CPU SECONDS | lat CPU SECONDS WARMUP WORK_US PERIOD_US\n");
	return 2;
}
