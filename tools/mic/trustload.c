/*
 * Loading a trust store for a verb, and saying what is wrong with the
 * directory when it does not load: mic_trust_load() only returns a code,
 * and "file or socket I/O failed" does not tell a user which path to fix.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mic-tool.h"

/* How many *.pem files @p dir holds; -1 (errno set) when it cannot be read. */
static int
count_pem(const char *dir)
{
	struct dirent *de;
	DIR *d;
	size_t n;
	int count = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n > 4 && de->d_name[0] != '.' &&
		    strcmp(de->d_name + n - 4, ".pem") == 0)
			count++;
	}
	closedir(d);
	return count;
}

mic_trust_t *
tool_trust_load(const char *verb, const char *arg)
{
	char dir[4096], roots[4096];
	mic_trust_t *t = NULL;
	struct stat st;
	mic_rc rc;
	int n;

	/* A PKI directory stands for its trust/. */
	n = snprintf(dir, sizeof(dir), "%s/trust/roots", arg);
	if (n > 0 && (size_t)n < sizeof(dir) && stat(dir, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		n = snprintf(dir, sizeof(dir), "%s/trust", arg);
	else
		n = snprintf(dir, sizeof(dir), "%s", arg);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		fprintf(stderr, "mic %s: %s: path too long\n", verb, arg);
		return NULL;
	}
	if ((rc = mic_trust_load(&t, dir)) == MIC_OK)
		return t;
	if (snprintf(roots, sizeof(roots), "%s/roots", dir) >=
	    (int)sizeof(roots)) {
		fprintf(stderr, "mic %s: %s: path too long\n", verb, dir);
		return NULL;
	}
	if ((n = count_pem(roots)) < 0)
		fprintf(stderr, "mic %s: trust store %s: %s: %s (a trust store "
		    "holds roots/*.pem and may hold intermediates/*.pem: a PKI "
		    "directory's trust/, or a terminal's)\n", verb, dir, roots,
		    strerror(errno));
	else if (n == 0)
		fprintf(stderr, "mic %s: trust store %s: no root certificate "
		    "(*.pem) in %s\n", verb, dir, roots);
	else
		fprintf(stderr, "mic %s: trust store %s: %s (%s)\n", verb, dir,
		    mic_strerror(rc), mic_strerror_name(rc));
	return NULL;
}

/* The first of @p names (under @p dir) that exists; NULL when none does. */
static int
any_exists(const char *dir, const char *const *names, size_t n, char *path,
    size_t cap)
{
	for (size_t i = 0; i < n; i++) {
		if (snprintf(path, cap, "%s/%s", dir, names[i]) < (int)cap &&
		    access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

mic_terminal_t *
tool_terminal_load(const char *verb, const char *dir)
{
	static const char *const cert[] = { "terminal/cert.pem" };
	static const char *const key[] = { "terminal/key.pem",
		"terminal/key.uri" };
	mic_terminal_t *term = NULL;
	char path[4096];
	mic_rc rc;
	int n;

	if ((rc = mic_terminal_load(&term, dir, NULL, NULL)) == MIC_OK)
		return term;
	/* Name the first missing piece, in the order a user sets them up. */
	if (snprintf(path, sizeof(path), "%s/roots", dir) < (int)sizeof(path) &&
	    (n = count_pem(path)) <= 0)
		fprintf(stderr, "mic %s: terminal %s: %s: %s (a terminal's "
		    "directory is what 'mic pki export-terminal' writes)\n",
		    verb, dir, path, n < 0 ? strerror(errno) :
		    "no root certificate (*.pem)");
	else if (!any_exists(dir, cert, 1, path, sizeof(path)))
		fprintf(stderr, "mic %s: terminal %s: %s: %s\n", verb, dir,
		    path, strerror(ENOENT));
	else if (!any_exists(dir, key, 2, path, sizeof(path)))
		fprintf(stderr, "mic %s: terminal %s: no key: neither %s/%s "
		    "nor %s/%s\n", verb, dir, dir, key[0], dir, key[1]);
	else
		fprintf(stderr, "mic %s: terminal %s: %s (%s)\n", verb, dir,
		    mic_strerror(rc), mic_strerror_name(rc));
	return NULL;
}
