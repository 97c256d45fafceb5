# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of the kvmext modules.
#
#   make [KDIR=...]        build against KDIR (default: the running kernel)
#   make install           install into /lib/modules/<release>/updates and run depmod
#   make uninstall
#   make check             W=1 and sparse over every source, test modules included
#   make style             checkpatch.pl (CHECKPATCH=path, default: the lab's tree)
#   make lab-demo          boot the VM lab and show what the modules do
#   make lab-test          the whole test suite in the VM lab (README)

KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
INSTALL_MOD_DIR ?= updates
SOURCES := $(shell git -C $(CURDIR) ls-files -- '*.c' '*.h' 2>/dev/null)

all: modules

kdir-check:
	@test -f "$(KDIR)/Makefile" || { echo "kvmext: no kernel build tree in $(KDIR): install linux-headers-$(KERNELRELEASE), pass KDIR=<tree>, or use 'make lab-test', which fetches its own" >&2; exit 1; }

modules: kdir-check
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" modules

install: modules
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" INSTALL_MOD_DIR="$(INSTALL_MOD_DIR)" modules_install
	depmod -a "$$(cat "$(KDIR)/include/config/kernel.release")"

uninstall: kdir-check
	rel="$$(cat "$(KDIR)/include/config/kernel.release")"; \
	rm -rf "/lib/modules/$$rel/$(INSTALL_MOD_DIR)/common" \
	       "/lib/modules/$$rel/$(INSTALL_MOD_DIR)/kvm-zeropage" \
	       "/lib/modules/$$rel/$(INSTALL_MOD_DIR)/kvm-topo" \
	       "/lib/modules/$$rel/$(INSTALL_MOD_DIR)/guest-pv"; \
	depmod -a "$$rel"

check: kdir-check
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" KVMEXT_TESTS=1 W=1 C=2 modules

style:
	@test -n "$(CHECKPATCH)" || { echo "kvmext: set CHECKPATCH=<linux tree>/scripts/checkpatch.pl (lab/lab.sh fetch provides one)" >&2; exit 1; }
	$(CHECKPATCH) --no-tree --quiet --show-types -f $(SOURCES)

clean:
	-test -f "$(KDIR)/Makefile" && $(MAKE) -C "$(KDIR)" M="$(CURDIR)" clean

lab-test:
	lab/lab.sh test

lab-demo:
	lab/lab.sh demo

.PHONY: all kdir-check modules install uninstall check style clean lab-test lab-demo
