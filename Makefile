# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of the kvmext modules.
#
#   make [KDIR=...]        build against KDIR (default: the running kernel)
#   make install           install into /lib/modules/<release>/updates and run depmod
#   make uninstall
#   make dkms-install      register with DKMS, which builds and signs it per kernel
#   make dkms-uninstall
#   make check             W=1 and sparse over every source, test modules included
#   make style             checkpatch.pl (CHECKPATCH=path, default: the lab's tree)
#   make lab-demo          boot the VM lab and show what the modules do
#   make lab-test          the whole test suite in the VM lab (README)
#   make bench             the benchmarks in the VM lab, as tables of ratios

KERNELRELEASE ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KERNELRELEASE)/build
INSTALL_MOD_DIR ?= updates
# The release the modules are built for, as the module loader checks it
# (Debian's headers report another one through "make kernelrelease").
MODULE_RELEASE = $(shell /sbin/modinfo -F vermagic kvm-topo/kvm-topo.ko | cut -d' ' -f1)
SOURCES := $(shell git -C $(CURDIR) ls-files -- '*.c' '*.h' 2>/dev/null)

all: modules

kdir-check:
	@test -f "$(KDIR)/Makefile" && test -d "$(KDIR)/scripts" && test "$$(realpath "$(KDIR)")" != "$(CURDIR)" || { echo "kvmext: no kernel build tree in $(KDIR): install linux-headers-$(KERNELRELEASE), pass KDIR=<tree>, or use 'make lab-test', which fetches its own" >&2; exit 1; }

modules: kdir-check
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" modules

install: modules
	$(MAKE) -C "$(KDIR)" M="$(CURDIR)" INSTALL_MOD_DIR="$(INSTALL_MOD_DIR)" modules_install
	depmod -b "$(or $(INSTALL_MOD_PATH),/)" -a "$(MODULE_RELEASE)"

# DKMS: the source goes to /usr/src/kvmext-<version>; DKMS builds, signs
# and installs it for every kernel it manages.
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
dkms-install:
	rm -rf /usr/src/kvmext-$(DKMS_VERSION)
	mkdir -p /usr/src/kvmext-$(DKMS_VERSION)
	git -C "$(CURDIR)" archive HEAD | tar -x -C /usr/src/kvmext-$(DKMS_VERSION)
	dkms install -m kvmext -v $(DKMS_VERSION)

dkms-uninstall:
	dkms remove -m kvmext -v $(DKMS_VERSION) --all
	rm -rf /usr/src/kvmext-$(DKMS_VERSION)

uninstall: modules
	rel="$(MODULE_RELEASE)"; \
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

# Not kbuild's "clean" with M=: that deletes every *.o, *.ko and
# modules.order under the tree, lab/cache's kernel modules and debug
# kernel objects included.
MODULE_DIRS := common kvm-topo kvm-zeropage guest-pv
clean:
	find $(MODULE_DIRS) -type f \( -name '*.[aios]' -o -name '*.ko' -o -name '*.mod' \
		-o -name '*.mod.c' -o -name '.*.cmd' -o -name '.*.d' -o -name modules.order \) -delete
	rm -f Module.symvers modules.order .modules.order.cmd .Module.symvers.cmd

lab-test:
	lab/lab.sh test

bench:
	lab/lab.sh bench

lab-demo:
	lab/lab.sh demo

.PHONY: all kdir-check modules install uninstall dkms-install dkms-uninstall check style clean lab-test lab-demo bench
