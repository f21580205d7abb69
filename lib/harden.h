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

#endif /* MAILOTP_HARDEN_H */
