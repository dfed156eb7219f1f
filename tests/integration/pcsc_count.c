/*
 * An LD_PRELOAD shim for the tests: counts the PC/SC calls a process
 * makes that cost a round trip to pcscd without moving a card's data
 * (new contexts, reader lists, status waits) and, at exit, appends them
 * to the file $MIC_PCSC_COUNT as "establish=N list=N status=N".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <PCSC/winscard.h>

static atomic_ulong n_establish, n_list, n_status;

static void *
next(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (f == NULL)
		abort();
	return f;
}

LONG
SCardEstablishContext(DWORD scope, LPCVOID r1, LPCVOID r2,
    LPSCARDCONTEXT ctx)
{
	LONG (*f)(DWORD, LPCVOID, LPCVOID, LPSCARDCONTEXT) =
	    (LONG (*)(DWORD, LPCVOID, LPCVOID, LPSCARDCONTEXT))
	    next("SCardEstablishContext");

	atomic_fetch_add(&n_establish, 1);
	return f(scope, r1, r2, ctx);
}

LONG
SCardListReaders(SCARDCONTEXT ctx, LPCSTR groups, LPSTR readers,
    LPDWORD len)
{
	LONG (*f)(SCARDCONTEXT, LPCSTR, LPSTR, LPDWORD) =
	    (LONG (*)(SCARDCONTEXT, LPCSTR, LPSTR, LPDWORD))
	    next("SCardListReaders");

	atomic_fetch_add(&n_list, 1);
	return f(ctx, groups, readers, len);
}

LONG
SCardGetStatusChange(SCARDCONTEXT ctx, DWORD timeout,
    SCARD_READERSTATE *st, DWORD n)
{
	LONG (*f)(SCARDCONTEXT, DWORD, SCARD_READERSTATE *, DWORD) =
	    (LONG (*)(SCARDCONTEXT, DWORD, SCARD_READERSTATE *, DWORD))
	    next("SCardGetStatusChange");

	atomic_fetch_add(&n_status, 1);
	return f(ctx, timeout, st, n);
}

__attribute__((destructor)) static void
report(void)
{
	const char *path = getenv("MIC_PCSC_COUNT");
	FILE *fp;

	if (path == NULL || (fp = fopen(path, "a")) == NULL)
		return;
	fprintf(fp, "establish=%lu list=%lu status=%lu\n",
	    atomic_load(&n_establish), atomic_load(&n_list),
	    atomic_load(&n_status));
	fclose(fp);
}
