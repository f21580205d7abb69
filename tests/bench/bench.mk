# `make bench`: login latency of mailotpd on the test-bed (slapd, the SMTP
# sink, the daemon), measured at its PAM socket by tests/bench/login_bench;
# tests/bench/run.sh runs the cases and prints one markdown table. Not part
# of `make check` and nothing in it judges a time. See docs/performance.md.
# (pthreads come with LIBS: configure.ac requires them.)
EXTRA_PROGRAMS = tests/bench/login_bench
tests_bench_login_bench_SOURCES = tests/bench/login_bench.c
tests_bench_login_bench_LDADD = lib/libmailotp_proto.la
CLEANFILES += tests/bench/login_bench$(EXEEXT)
EXTRA_DIST += tests/bench/run.sh docs/performance.md

bench: resetd/mailotpd$(EXEEXT) tests/bench/login_bench$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		$(SHELL) $(top_srcdir)/tests/bench/run.sh

.PHONY: bench
