// SPDX-License-Identifier: GPL-2.0
/*
 * The change interrupt. kvm-topo injects a fixed interrupt into the vCPU
 * whose disclosure changed, on the vector that vCPU gave in
 * MSR_KVMEXT_TOPO_NOTIFY. x86 vectors are per CPU, so every CPU gets its
 * own interrupt from the x86 vector domain, affine to that CPU alone and
 * kept out of interrupt balancing: its vector cannot move while the host
 * knows it. It is freed before the CPU goes offline, after the host has
 * been told to stop. The handler only kicks the reading work; a CPU that
 * got no vector is still read by the poll.
 */
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <asm/hw_irq.h>
#include <asm/irqdomain.h>
#include <asm/msr.h>

#include "gpv.h"

static irqreturn_t gpv_irq(int irq, void *unused)
{
	atomic64_inc(&gpv_stats.irqs);
	gpv_kick();
	return IRQ_HANDLED;
}

static void gpv_irq_free(unsigned int irq)
{
	free_irq(irq, NULL);
	/* Frees the descriptor and the vector: irq_domain_free_irqs(). */
	irq_dispose_mapping(irq);
}

/**
 * gpv_notify_start() - give @cpu an interrupt of its own for the host
 * @cpu: the CPU, online; called on it, from its hotplug callback
 *
 * Allocates an interrupt from the x86 vector domain, affine to @cpu only
 * (set before activation, so the vector is taken on @cpu), and records
 * its vector for gpv_notify_local(). Without one (vector space
 * exhausted) the CPU is left to the poll and counted.
 *
 * Return: 0, or a negative error when @cpu has no interrupt.
 */
int gpv_notify_start(unsigned int cpu)
{
	struct gpv_cpu *c = per_cpu_ptr(gpv_cpus, cpu);
	struct irq_alloc_info info = {};
	struct irq_data *d;
	int irq, ret;

	irq = irq_domain_alloc_irqs(x86_vector_domain, 1, cpu_to_node(cpu),
				    &info);
	if (irq <= 0) {
		ret = irq ? irq : -ENOSPC;
		goto none;
	}
	irq_set_handler(irq, handle_edge_irq);
	ret = irq_set_affinity(irq, cpumask_of(cpu));
	if (ret) {
		irq_dispose_mapping(irq);
		goto none;
	}
	ret = request_irq(irq, gpv_irq, IRQF_NOBALANCING, "kvmext-topo", NULL);
	if (ret) {
		irq_dispose_mapping(irq);
		goto none;
	}
	d = irq_get_irq_data(irq);
	/* The allocator falls back to another CPU when this one is full. */
	if (!cpumask_equal(irq_data_get_effective_affinity_mask(d),
			   cpumask_of(cpu))) {
		gpv_irq_free(irq);
		ret = -ENOSPC;
		goto none;
	}
	c->vector = irqd_cfg(d)->vector;
	c->irq = irq;
	return 0;
none:
	atomic64_inc(&gpv_stats.notify_unavailable);
	pr_info_once("CPU %u has no vector for the host's change interrupt (%d): polling it\n",
		     cpu, ret);
	return ret;
}

/**
 * gpv_notify_stop() - free @cpu's interrupt
 * @cpu: the CPU; called on it, after gpv_notify_local(false)
 */
void gpv_notify_stop(unsigned int cpu)
{
	struct gpv_cpu *c = per_cpu_ptr(gpv_cpus, cpu);

	if (!c->irq)
		return;
	gpv_irq_free(c->irq);
	c->irq = 0;
	c->vector = 0;
}

/**
 * gpv_notify_local() - tell the host whether to interrupt this CPU
 * @enable: on this CPU's vector, when it has one; otherwise off
 *
 * Runs on the CPU itself (the MSR is per vCPU), with preemption off.
 */
void gpv_notify_local(bool enable)
{
	struct gpv_cpu *c = this_cpu_ptr(gpv_cpus);
	u64 v = 0;

	if (enable && c->irq)
		v = c->vector | KVMEXT_TOPO_NOTIFY_ENABLE;
	if (wrmsrl_safe(MSR_KVMEXT_TOPO_NOTIFY, v) && v)
		pr_warn_once("the host refused vector %u (CPU %d): polling\n",
			     c->vector, smp_processor_id());
}
