# resetd/http.mk: the reset web service of mailotpd (libmicrohttpd).
# Included from resetd/local.mk after resetd_mailotpd_* are defined.
resetd_mailotpd_SOURCES += \
	resetd/http_server.c resetd/http_server.h \
	resetd/http_routes.c resetd/http_req.h \
	resetd/http_pages.c resetd/http_pages.h \
	resetd/http_guard.c resetd/http_guard.h \
	resetd/http_pool.c resetd/http_pool.h
resetd_mailotpd_CFLAGS += $(MHD_CFLAGS)
resetd_mailotpd_LDADD += $(MHD_LIBS)

dist_check_SCRIPTS += tests/reset_http.sh
TESTS += tests/reset_http.sh
