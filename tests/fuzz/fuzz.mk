# tests/fuzz/: libFuzzer targets for every parser and encoder that sees
# outside data, and the SMTP client against a hostile server (see
# tests/fuzz/README.md). Included from tests/local.mk.
#
#   make fuzz                     each target for $(FUZZ_SECONDS) s (60)
#   make fuzz FUZZ_SECONDS=300
#   make fuzz-ci                  each target for 20,000 inputs from a fixed
#                                 seed (what CI runs: repeatable)
#   make check                    replays tests/fuzz/regressions and the seeds
#
# The fuzz build does not use configure's compiler or flags: build.sh
# compiles lib/*.c with clang -fsanitize=fuzzer,address,undefined into
# tests/fuzz/bin (needs clang and libclang-rt-14-dev; regress.sh skips
# without them).

FUZZ_SECONDS = 60
FUZZ_ENV = FUZZ_BIN='$(abs_top_builddir)/tests/fuzz/bin' top_builddir='$(abs_top_builddir)'

fuzz:
	$(FUZZ_ENV) $(SHELL) $(top_srcdir)/tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-ci:
	FUZZ_RUNS=20000 FUZZ_SEED=1 $(FUZZ_ENV) $(SHELL) $(top_srcdir)/tests/fuzz/run.sh 60

TESTS += tests/fuzz/regress.sh

clean-local: clean-fuzz
clean-fuzz:
	rm -rf tests/fuzz/bin

.PHONY: fuzz fuzz-ci clean-fuzz

EXTRA_DIST += tests/fuzz/README.md tests/fuzz/fuzz.mk tests/fuzz/fuzz_common.h \
	tests/fuzz/build.sh tests/fuzz/run.sh tests/fuzz/regress.sh tests/fuzz/gen_corpus.py \
	tests/fuzz/fuzz_addr.c tests/fuzz/fuzz_config.c tests/fuzz/fuzz_escape.c \
	tests/fuzz/fuzz_form.c tests/fuzz/fuzz_header.c tests/fuzz/fuzz_message.c \
	tests/fuzz/fuzz_policy.c tests/fuzz/fuzz_proto_build.c tests/fuzz/fuzz_proto_read.c \
	tests/fuzz/fuzz_secret.c tests/fuzz/fuzz_smtp_server.c tests/fuzz/fuzz_template.c \
	tests/fuzz/fuzz_token.c \
	tests/fuzz/corpus tests/fuzz/regressions
