/*
 * Process-wide protection of the secrets that pass through mailotpd and
 * mailotpctl (passwords, one-time codes, tokens, the service account's
 * password).
 */
#ifndef MAILOTP_HARDEN_H
#define MAILOTP_HARDEN_H

/*
 * No core files (RLIMIT_CORE 0), not dumpable (so no ptrace by processes
 * of the same user, and /proc/PID/mem is root's), and freed heap memory
 * overwritten by malloc itself (M_PERTURB): libraries that hold secrets in
 * buffers of their own (libldap's encoded bind requests, which carry the
 * user's password) free them without wiping. Call first thing in main(),
 * and again after a change of user id, which resets the dumpable flag.
 */
void mailotp_harden_process(void);

/*
 * Overwrites MAILOTP_BURN_STACK bytes of the calling thread's stack below
 * the caller's frame: what functions called before (in libraries too) left
 * there, such as libmicrohttpd's post processor decoding a password into a
 * buffer of its frame. M_PERTURB covers the heap, not stacks.
 */
#define MAILOTP_BURN_STACK (16 * 1024)
void mailotp_burn_stack(void);

#endif /* MAILOTP_HARDEN_H */
