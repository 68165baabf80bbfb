/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SigV4 verifier (examples/objects/sigv4.h) on requests read from
 * stdin, for test_sigv4_botocore.py, which makes them with botocore's own
 * signer. Each request is
 *
 *   NOW METHOD TARGET\n     (NOW: Unix seconds of the server's clock)
 *   Name: value\n ...       (its headers)
 *   \n
 *
 * and gets one line on stdout: "OK" or its S3 error code. Keys: argv[1]
 * is a keys file (keys.h); region us-east-1, service s3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "sigv4.h"

#define LINE_MAX_ 16384
#define HEADERS_MAX 64

int
main(int argc, char **argv)
{
	static char lines[HEADERS_MAX + 1][LINE_MAX_];
	struct obj_header h[HEADERS_MAX];
	struct obj_keys keys = { NULL, 0 };
	char err[256];

	if (argc != 2 || obj_keys_load(&keys, argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "usage: sigv4_check KEYS_FILE < requests (%s)\n", argc == 2 ? err : "");
		return 2;
	}
	while (fgets(lines[0], LINE_MAX_, stdin) != NULL) {
		struct obj_sigv4_config cfg = { &keys, "us-east-1", "s3", 0 };
		struct obj_sigv4_request r;
		struct obj_sigv4_auth a;
		char method[16], *target, *qm, *sp;
		unsigned int n = 0;
		long long now;

		lines[0][strcspn(lines[0], "\n")] = '\0';
		if (sscanf(lines[0], "%lld %15s", &now, method) != 2 ||
		    (sp = strchr(lines[0], ' ')) == NULL || (sp = strchr(sp + 1, ' ')) == NULL) {
			fprintf(stderr, "bad request line: %s\n", lines[0]);
			return 2;
		}
		target = sp + 1;
		while (fgets(lines[n + 1], LINE_MAX_, stdin) != NULL) {
			char *line = lines[n + 1], *colon;

			line[strcspn(line, "\n")] = '\0';
			if (line[0] == '\0')
				break;
			colon = strchr(line, ':');
			if (colon == NULL || n == HEADERS_MAX) {
				fprintf(stderr, "bad header: %s\n", line);
				return 2;
			}
			h[n].name = line;
			h[n].name_len = (size_t)(colon - line);
			colon++;
			while (*colon == ' ')
				colon++;
			h[n].value = colon;
			h[n].value_len = strlen(colon);
			n++;
		}
		memset(&r, 0, sizeof(r));
		r.method = method;
		r.path = target;
		qm = strchr(target, '?');
		r.path_len = qm != NULL ? (size_t)(qm - target) : strlen(target);
		r.query = qm != NULL ? qm + 1 : NULL;
		r.query_len = qm != NULL ? strlen(qm + 1) : 0;
		r.headers = h;
		r.n_headers = n;
		cfg.now = (time_t)now;
		enum obj_sigv4_error e = obj_sigv4_verify(&r, &cfg, &a);
		printf("%s\n", e == OBJ_SIGV4_OK ? "OK" : obj_sigv4_code(e));
		fflush(stdout);
	}
	obj_keys_fini(&keys);
	return 0;
}
