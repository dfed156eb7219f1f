/*
 * The C half of the cross-check with tests/sm/ref_scp.py, an independent
 * Python implementation written from the GlobalPlatform amendments.
 *
 * Reads fixed inputs on stdin, one per line:
 *   key NAME SCALAR      P-256 private keys: sk_sd, esk_sd, sk_oce, esk_oce
 *   apdu CMD RSP SW      a plain command APDU, the plain response data
 *                        ("-" for none) and the status word, all hex
 * and runs, for SCP11b then SCP11a, the handshake with both roles of the
 * shared core (host and card), then every APDU through host wrap, card
 * unwrap, card wrap and host unwrap. It checks that each end recovers what
 * the other sent and prints every byte string that crosses the wire:
 *   VARIANT auth_cmd HEX     the authenticate data field (host)
 *   VARIANT auth_rsp HEX     the card's answer (card)
 *   VARIANT keys HEX         S-ENC S-MAC S-RMAC S-DEK (host = card)
 *   VARIANT chain HEX        the first MAC chaining value, the receipt
 *   VARIANT cmd.N HEX        the protected command APDU, encoded
 *   VARIANT rsp.N HEX        the protected response APDU (data, SW)
 * The Python side computes the same lines and compares them byte for byte.
 * Exit status 0 only when every step succeeded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "internal.h"
#include "sm_internal.h"

#define MAX_APDUS 32
#define LINE_MAX_LEN (4 * 70000)

struct apdu_in {
	uint8_t *cmd;
	size_t cmd_len;
	uint8_t *rsp;
	size_t rsp_len;
	uint16_t sw;
};

struct inputs {
	EVP_PKEY *sk_sd, *esk_sd, *sk_oce, *esk_oce;
	struct apdu_in apdu[MAX_APDUS];
	size_t n;
};

static _Noreturn void
die(const char *what)
{
	fprintf(stderr, "sm_vectors: %s\n", what);
	exit(1);
}

static void
put_hex(const char *variant, const char *name, const uint8_t *p, size_t n)
{
	size_t i;

	printf("%s %s ", variant, name);
	for (i = 0; i < n; i++)
		printf("%02x", p[i]);
	if (n == 0)
		printf("-");
	printf("\n");
}

static uint8_t *
hex_dup(const char *s, size_t *len)
{
	size_t cap = strlen(s) / 2 + 1;
	uint8_t *p = malloc(cap);

	*len = 0;
	if (p == NULL)
		die("malloc");
	if (strcmp(s, "-") != 0 &&
	    mici_hex_decode(s, p, cap, len) != MIC_OK)
		die("bad hex");
	return p;
}

static EVP_PKEY *
scalar_key(const char *hex)
{
	char der[200];
	uint8_t bin[100];
	const unsigned char *p = bin;
	size_t n;
	EVP_PKEY *k = NULL;

	if (strlen(hex) != 64)
		die("a scalar is 32 bytes");
	/* SEC 1 ECPrivateKey; OpenSSL computes the public point. */
	snprintf(der, sizeof(der), "30310201010420%sa00a06082a8648ce3d030107",
	    hex);
	if (mici_hex_decode(der, bin, sizeof(bin), &n) != MIC_OK ||
	    (k = d2i_AutoPrivateKey(NULL, &p, (long)n)) == NULL)
		die("bad key");
	return k;
}

static void
read_inputs(struct inputs *in)
{
	static char line[LINE_MAX_LEN];
	char *w[4], *save;
	struct apdu_in *a;
	int n;

	memset(in, 0, sizeof(*in));
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		for (n = 0; n < 4; n++)
			w[n] = strtok_r(n == 0 ? line : NULL, " ", &save);
		if (w[0] == NULL)
			continue;
		if (strcmp(w[0], "key") == 0 && w[1] != NULL && w[2] != NULL) {
			EVP_PKEY **slot =
			    strcmp(w[1], "sk_sd") == 0 ? &in->sk_sd :
			    strcmp(w[1], "esk_sd") == 0 ? &in->esk_sd :
			    strcmp(w[1], "sk_oce") == 0 ? &in->sk_oce :
			    strcmp(w[1], "esk_oce") == 0 ? &in->esk_oce : NULL;

			if (slot == NULL)
				die("unknown key");
			*slot = scalar_key(w[2]);
		} else if (strcmp(w[0], "apdu") == 0 && w[3] != NULL) {
			size_t swl;
			uint8_t *sw;

			if (in->n == MAX_APDUS)
				die("too many APDUs");
			a = &in->apdu[in->n++];
			a->cmd = hex_dup(w[1], &a->cmd_len);
			a->rsp = hex_dup(w[2], &a->rsp_len);
			sw = hex_dup(w[3], &swl);
			if (swl != 2)
				die("SW is 2 bytes");
			a->sw = mici_get_u16(sw);
			free(sw);
		} else
			die("unknown line");
	}
	if (in->sk_sd == NULL || in->esk_sd == NULL || in->sk_oce == NULL ||
	    in->esk_oce == NULL)
		die("missing keys");
}

static void
run(const struct inputs *in, mici_scp11_variant v)
{
	static uint8_t wire[MIC_APDU_CMD_MAX], cbuf[MIC_APDU_NC_MAX_EXT];
	static uint8_t pbuf[MIC_APDU_NC_MAX_EXT], rbuf[MIC_APDU_RSP_MAX + 16];
	static uint8_t out[MIC_APDU_RSP_MAX];
	const char *name = v == MICI_SCP11A ? "11a" : "11b";
	uint8_t data[MICI_SCP11_AUTH_DATA_LEN], rsp[128];
	uint8_t chain_h[16], chain_c[16], keys_out[64];
	mici_sm_keys kh, kc;
	mici_sm *host = NULL, *card = NULL;
	mic_apdu plain, w, got;
	char label[32];
	size_t len, rlen, olen, i;

	if (mici_scp11_auth_data(v, in->esk_oce, data, sizeof(data), &len) !=
	    MIC_OK)
		die("auth_data");
	put_hex(name, "auth_cmd", data, len);
	if (mici_scp11_card_session(v, in->sk_sd, v == MICI_SCP11A ?
	    in->sk_oce : NULL, in->esk_sd, data, len, rsp, sizeof(rsp), &rlen,
	    &card) != MIC_OK)
		die("card session");
	put_hex(name, "auth_rsp", rsp, rlen);
	if (mici_scp11_host_session(v, in->esk_oce, v == MICI_SCP11A ?
	    in->sk_oce : NULL, in->sk_sd, data, len, rsp, rlen, &host) !=
	    MIC_OK)
		die("host session");
	mici_sm_peek(host, &kh, chain_h, NULL);
	mici_sm_peek(card, &kc, chain_c, NULL);
	if (memcmp(&kh, &kc, sizeof(kh)) != 0 ||
	    memcmp(chain_h, chain_c, 16) != 0)
		die("host and card disagree");
	memcpy(keys_out, kh.enc, 16);
	memcpy(keys_out + 16, kh.mac, 16);
	memcpy(keys_out + 32, kh.rmac, 16);
	memcpy(keys_out + 48, kh.dek, 16);
	put_hex(name, "keys", keys_out, sizeof(keys_out));
	put_hex(name, "chain", chain_h, 16);
	for (i = 0; i < in->n; i++) {
		const struct apdu_in *a = &in->apdu[i];

		if (mic_apdu_decode(a->cmd, a->cmd_len, &plain) != MIC_OK)
			die("plain APDU");
		if (mici_sm_wrap_command(host, &plain, &w, cbuf,
		    sizeof(cbuf)) != MIC_OK ||
		    mic_apdu_encode(&w, MIC_APDU_AUTO, wire, sizeof(wire),
		    &len) != MIC_OK)
			die("wrap command");
		snprintf(label, sizeof(label), "cmd.%zu", i);
		put_hex(name, label, wire, len);
		/* The card decodes what went on the wire, then unwraps. */
		if (mic_apdu_decode(wire, len, &w) != MIC_OK ||
		    mici_sm_unwrap_command(card, &w, &got, pbuf,
		    sizeof(pbuf)) != MIC_OK)
			die("unwrap command");
		if (got.cla != plain.cla || got.ins != plain.ins ||
		    got.p1 != plain.p1 || got.p2 != plain.p2 ||
		    got.nc != plain.nc || got.ne != plain.ne ||
		    (got.nc > 0 && memcmp(got.data, plain.data, got.nc) != 0))
			die("the card got another command");
		if (mici_sm_wrap_response(card, a->rsp, a->rsp_len, a->sw, rbuf,
		    sizeof(rbuf), &rlen) != MIC_OK)
			die("wrap response");
		snprintf(label, sizeof(label), "rsp.%zu", i);
		put_hex(name, label, rbuf, rlen);
		if (mici_sm_unwrap_response(host, rbuf, rlen - 2, a->sw, out,
		    sizeof(out), &olen) != MIC_OK)
			die("unwrap response");
		if (!mici_sm_sw_is_error(a->sw) && (olen != a->rsp_len ||
		    (olen > 0 && memcmp(out, a->rsp, olen) != 0)))
			die("the host got another response");
	}
	mici_sm_free(&host);
	mici_sm_free(&card);
}

int
main(void)
{
	struct inputs in;
	size_t i;

	read_inputs(&in);
	run(&in, MICI_SCP11B);
	run(&in, MICI_SCP11A);
	for (i = 0; i < in.n; i++) {
		free(in.apdu[i].cmd);
		free(in.apdu[i].rsp);
	}
	EVP_PKEY_free(in.sk_sd);
	EVP_PKEY_free(in.esk_sd);
	EVP_PKEY_free(in.sk_oce);
	EVP_PKEY_free(in.esk_oce);
	return 0;
}
