/*
 * A plain TCP stream, the baseline scripts/bench-pageserver measures the
 * page server against: the same bytes between the same two namespaces.
 *
 *   tcp-stream recv PORT FILE   accept one connection on PORT, write what
 *                               comes to FILE ("-": drop it), then print
 *                               "BYTES SECONDS" (first byte to end)
 *   tcp-stream send ADDR PORT MIB  send MIB MiB of memory (touched first)
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	(1 << 20)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int do_recv(int port, const char *path)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int one = 1, lsk = socket(AF_INET, SOCK_STREAM, 0), sk, out = -1;
	unsigned long long total = 0;
	char *buf = malloc(CHUNK);
	double t0 = 0;
	ssize_t n;

	if (lsk < 0 || !buf || setsockopt(lsk, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lsk, (struct sockaddr *)&a, sizeof(a)) || listen(lsk, 1)) {
		perror("tcp-stream: listen");
		return 1;
	}
	if (strcmp(path, "-") && (out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0) {
		perror(path);
		return 1;
	}
	/* ready: the sender may connect */
	printf("listening\n");
	fflush(stdout);
	sk = accept(lsk, NULL, NULL);
	if (sk < 0) {
		perror("tcp-stream: accept");
		return 1;
	}
	while ((n = read(sk, buf, CHUNK)) > 0) {
		if (!total)
			t0 = now();
		total += n;
		for (ssize_t off = 0; out >= 0 && off < n;) {
			ssize_t w = write(out, buf + off, n - off);

			if (w <= 0) {
				perror(path);
				return 1;
			}
			off += w;
		}
	}
	if (n < 0) {
		perror("tcp-stream: read");
		return 1;
	}
	printf("%llu %.6f\n", total, now() - t0);
	return 0;
}

static int do_send(const char *addr, int port, long mib)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	size_t len = (size_t)mib << 20;
	char *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int sk = socket(AF_INET, SOCK_STREAM, 0);

	if (mem == MAP_FAILED || sk < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
		perror("tcp-stream: setup");
		return 1;
	}
	for (size_t i = 0; i < len; i += 4096)
		mem[i] = (char)i | 1;
	if (connect(sk, (struct sockaddr *)&a, sizeof(a))) {
		perror("tcp-stream: connect");
		return 1;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(sk, mem + off, len - off < CHUNK ? len - off : CHUNK);

		if (n <= 0) {
			perror("tcp-stream: write");
			return 1;
		}
		off += n;
	}
	close(sk);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "recv"))
		return do_recv(atoi(argv[2]), argv[3]);
	if (argc == 5 && !strcmp(argv[1], "send"))
		return do_send(argv[2], atoi(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: %s recv PORT FILE | send ADDR PORT MIB\n", argv[0]);
	return 2;
}
