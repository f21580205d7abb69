# The reset web pages end to end in headless Chromium (Debian's chromium,
# chromium-driver and python3-selenium; skipped without them).  Needs the
# test-bed of tests/integration.mk and mailotpd with reset_listen.
# Screenshots of every page are written to tests/screenshots/ in the
# build tree.
TESTS += tests/web_browser.sh
dist_check_SCRIPTS += tests/web_browser.sh
dist_check_DATA += tests/web_browser.py
CLEANFILES += tests/screenshots/*.png

clean-local: clean-web-screenshots
clean-web-screenshots:
	-rm -rf tests/screenshots
.PHONY: clean-web-screenshots
