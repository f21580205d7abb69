/* Process-wide protection of secrets (see harden.h). */
#include "autoconfig.h" /* _GNU_SOURCE and friends, first */

#include "harden.h"

#include <malloc.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>

/*
 * The byte freed memory is filled with. glibc also fills new allocations
 * (other than calloc's) with its complement, so code that reads memory
 * it never wrote shows up as 0x5a... rather than as stale data.
 */
#define FREED_FILL 0xa5

void mailotp_harden_process(void)
{
	struct rlimit rl = {0, 0};

	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/*
	 * A wiping allocator given to liblber (LBER_OPT_MEMORY_FNS) is not
	 * enough: libldap frees with a NULL memory context, which liblber
	 * sends to free() directly. Chunks large enough to be mmap'd go back
	 * to the kernel when freed.
	 */
	(void)mallopt(M_PERTURB, FREED_FILL);
}

/* Not inlined, so that its array lies below the caller's frame. */
__attribute__((noinline)) void mailotp_burn_stack(void)
{
	unsigned char area[MAILOTP_BURN_STACK];

	sodium_memzero(area, sizeof(area));
}
