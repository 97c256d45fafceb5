// SPDX-License-Identifier: GPL-2.0
/*
 * Load generators for the L2 guest's checks (lab/l2-tests), which have
 * only busybox: a real-time spinner and a cross-CPU ping-pong.
 *
 *   l2-load rt CPU SECONDS          SCHED_FIFO 10, busy on CPU
 *   l2-load pingpong CPU CPU SECONDS   two processes wake each other
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
	/* Sleep a little each millisecond: the guest's own RT throttling. */
	while (now() < end) {
		double slice = now() + 0.0008;

		/* Reading the clock is the work: it cannot be optimised away. */
		while (now() < slice)
			;
		usleep(200);
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
		pin(b);
		while (read(ab[0], &c, 1) == 1 && c)
			if (write(ba[1], &c, 1) != 1)
				break;
		_exit(0);
	}
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

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "rt"))
		return rt(atoi(argv[2]), atof(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "pingpong"))
		return pingpong(atoi(argv[2]), atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: l2-load rt CPU SECONDS | pingpong CPU CPU SECONDS\n");
	return 2;
}
