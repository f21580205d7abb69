# tests/hostile.mk: hostile-input, fault, secret-hygiene, memory and
# hardening checks (tests/hostile/README.md lists which test covers which
# security rule).  Included from tests/local.mk.
if HAVE_PAMTEST
check_PROGRAMS += tests/hostile/pam_cycles
tests_hostile_pam_cycles_CFLAGS = $(AM_CFLAGS) $(PAM_CFLAGS)
tests_hostile_pam_cycles_LDADD = $(PAM_LIBS)

hostile_tests = \
	tests/hostile/inject.sh \
	tests/hostile/faults.sh \
	tests/hostile/secrets.sh \
	tests/hostile/memscan.sh \
	tests/hostile/valgrind_module.sh
TESTS += $(hostile_tests)
dist_check_SCRIPTS += $(hostile_tests)
endif

TESTS += tests/hostile/hardening.sh
dist_check_SCRIPTS += tests/hostile/hardening.sh
dist_check_DATA += tests/hostile/secretscan.py tests/hostile/memscan.py
EXTRA_DIST += tests/hostile/README.md docs/security.md scripts/analyze.sh .clang-tidy
