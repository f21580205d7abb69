# `make bench`: the figures of docs/performance.md, from one run on the
# test-bed (slapd, the SMTP sink, the daemon): mailotpd's login latency at
# its PAM socket (tests/bench/login_bench), the pam_ldap.so + nslcd anchor
# (tests/bench/pam_ldap_driver, in a private mount namespace), the floor
# (tests/bench/floor_bench: bind on a reused connection, libsodium argon2id),
# and the reset web service under wrk. tests/bench/run.sh runs the cases and
# prints one markdown table. Then, optionally, tests/bench/ssh_bench.sh:
# SSH logins/s through sshd with the module against pam_unix alone (root
# only, a private mount namespace; it exits 3 and says why when it cannot
# run, which does not fail `make bench`). Not part of `make check` and
# nothing in it judges a time. See docs/performance.md.
# (pthreads come with LIBS: configure.ac requires them.)
EXTRA_PROGRAMS = tests/bench/login_bench tests/bench/pam_ldap_driver tests/bench/floor_bench
tests_bench_login_bench_SOURCES = tests/bench/login_bench.c tests/bench/stats.h
tests_bench_login_bench_LDADD = lib/libmailotp_proto.la
tests_bench_pam_ldap_driver_SOURCES = tests/bench/pam_ldap_driver.c tests/bench/stats.h
tests_bench_pam_ldap_driver_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS)
tests_bench_pam_ldap_driver_LDADD = $(PAM_LIBS)
tests_bench_floor_bench_SOURCES = tests/bench/floor_bench.c tests/bench/stats.h
tests_bench_floor_bench_CFLAGS = $(AM_CFLAGS) $(LDAP_CFLAGS) $(SODIUM_CFLAGS)
tests_bench_floor_bench_LDADD = $(LDAP_LIBS) $(SODIUM_LIBS)
CLEANFILES += tests/bench/login_bench$(EXEEXT) tests/bench/pam_ldap_driver$(EXEEXT) \
	tests/bench/floor_bench$(EXEEXT)
EXTRA_DIST += tests/bench/run.sh tests/bench/pam_ldap_bench.sh tests/bench/reset_bench.py \
	tests/bench/reset_post.lua tests/bench/ssh_bench.sh docs/performance.md

BENCH_BINS = tests/bench/login_bench$(EXEEXT) tests/bench/pam_ldap_driver$(EXEEXT) \
	tests/bench/floor_bench$(EXEEXT)

bench: resetd/mailotpd$(EXEEXT) pam_module/pam_mailotp.la $(BENCH_BINS)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		$(SHELL) $(top_srcdir)/tests/bench/run.sh
	@rc=0; top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		$(SHELL) $(top_srcdir)/tests/bench/ssh_bench.sh || rc=$$?; \
	test $$rc = 0 || test $$rc = 3

.PHONY: bench
