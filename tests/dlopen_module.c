/*
 * The module loads: dlopen with RTLD_NOW resolves every symbol (as
 * Linux-PAM's tests/tst-dlopen.c), and it exports the four pam_sm_*
 * entry points and nothing of lib/.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	const char *top = getenv("top_builddir");
	const char *want[] = {"pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt",
	                      "pam_sm_chauthtok"};
	const char *hidden[] = {"mailotp_msg_read", "mailotp_strerror", "mailotp_client_call"};
	char path[4096];
	void *h;
	int n = 0, failed = 0;

	snprintf(path, sizeof(path), "%s/pam_module/.libs/pam_mailotp.so", top ? top : ".");
	printf("1..%zu\n", 1 + sizeof(want) / sizeof(want[0]) + sizeof(hidden) / sizeof(hidden[0]));
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	printf("%s %d - dlopen(RTLD_NOW) %s%s%s\n", h ? "ok" : "not ok", ++n, path, h ? "" : ": ",
	       h ? "" : dlerror());
	if (h == NULL)
		return 1;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int found = dlsym(h, want[i]) != NULL;
		failed |= !found;
		printf("%s %d - exports %s\n", found ? "ok" : "not ok", ++n, want[i]);
	}
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
		int found = dlsym(h, hidden[i]) != NULL;
		failed |= found;
		printf("%s %d - does not export %s\n", found ? "not ok" : "ok", ++n, hidden[i]);
	}
	dlclose(h);
	return failed;
}
