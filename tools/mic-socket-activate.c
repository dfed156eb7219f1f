/*
 * mic-socket-activate SOCKET_PATH -- COMMAND [ARG...]
 *
 * Socket activation without systemd, for a private pcscd: bind and listen on
 * an AF_UNIX stream socket, hand it over as fd 3 with LISTEN_FDS=1 and
 * LISTEN_PID set to our own PID, and exec COMMAND in this same process, so
 * sd_listen_fds() in pcscd accepts it. The socket listens before the exec,
 * so a client may connect at once; pcscd accepts it when it is ready.
 *
 * Debian's systemd-socket-activate would do, but it defers the exec until
 * the first client connects, so pcscd (and its vpcd readers) would not come
 * up on their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_FD 3   /* SD_LISTEN_FDS_START */

static void
usage(FILE *f)
{
	fprintf(f, "usage: mic-socket-activate SOCKET_PATH -- COMMAND [ARG...]\n"
	    "\n"
	    "Listen on the unix socket SOCKET_PATH, pass it to COMMAND as fd 3\n"
	    "with LISTEN_FDS=1 and LISTEN_PID (systemd socket activation), and\n"
	    "exec COMMAND. A stale socket file is replaced; a live one is not.\n");
}

/*
 * A socket file left behind by a dead server is removed; one that still
 * accepts connections belongs to a running server and is left alone.
 */
static int
clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "mic-socket-activate: %s exists and is not a "
		    "socket; not touching it\n", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
		close(fd);
		fprintf(stderr, "mic-socket-activate: %s: a server is already "
		    "listening there\n", path);
		return -1;
	}
	close(fd);
	if (unlink(path) != 0) {
		fprintf(stderr, "mic-socket-activate: cannot remove stale %s: "
		    "%s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "mic-socket-activate: socket path too long "
		    "(%zu bytes, at most %zu): %s\n", strlen(path),
		    sizeof(sa.sun_path) - 1, path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (clear_stale(path, &sa) != 0)
		goto fail;
	/* Not CLOEXEC: the command inherits it. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
		fprintf(stderr, "mic-socket-activate: socket: %s\n",
		    strerror(errno));
		goto fail;
	}
	if (bind(fd, (const struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "mic-socket-activate: bind %s: %s\n", path,
		    strerror(errno));
		goto fail;
	}
	if (listen(fd, SOMAXCONN) != 0) {
		fprintf(stderr, "mic-socket-activate: listen %s: %s\n", path,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Put @p fd at LISTEN_FD, inheritable. */
static int
move_to_listen_fd(int fd)
{
	if (fd != LISTEN_FD) {
		if (dup2(fd, LISTEN_FD) < 0) {
			fprintf(stderr, "mic-socket-activate: dup2: %s\n",
			    strerror(errno));
			return -1;
		}
		close(fd);
	}
	return fcntl(LISTEN_FD, F_SETFD, 0);
}

static int
set_env(void)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (setenv("LISTEN_FDS", "1", 1) != 0 ||
	    setenv("LISTEN_PID", pid, 1) != 0 ||
	    unsetenv("LISTEN_FDNAMES") != 0) {
		fprintf(stderr, "mic-socket-activate: setenv: %s\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path;
	int cmd, fd;

	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 3 || argv[1][0] == '-') {
		usage(stderr);
		return 2;
	}
	path = argv[1];
	cmd = 2;
	if (strcmp(argv[cmd], "--") == 0)
		cmd++;
	if (cmd >= argc) {
		usage(stderr);
		return 2;
	}
	if ((fd = listen_unix(path)) < 0)
		return 1;
	if (move_to_listen_fd(fd) != 0 || set_env() != 0)
		goto fail;
	execvp(argv[cmd], argv + cmd);
	fprintf(stderr, "mic-socket-activate: cannot run %s: %s\n", argv[cmd],
	    strerror(errno));
fail:
	unlink(path);
	return 1;
}
