/*
 * mic-vcard new: create a card image, blank or a personalized sample.
 * mic-vcard perso-script: the sample's personalization as an APDU script.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chipfactory.h"
#include "image.h"
#include "internal.h"
#include "mic-vcard.h"

static void
usage_new(FILE *f)
{
	fprintf(f,
	    "usage: mic-vcard new --out FILE [--serial S] [--pki DIR] [--force]\n"
	    "       mic-vcard new --out FILE --sample [--pki DIR] [--serial S] [--pin PIN]\n"
	    "                     [--balance FEN] [--ssn N] [--name NAME] "
	    "[--force]\n"
	    "\n"
	    "Create a card image. Without --sample the card is blank, as it\n"
	    "leaves the chip factory: personalization (STORE DATA) makes it a\n"
	    "card. With --sample it is personalized and activated with\n"
	    "synthetic holder data, by driving the card engine as the bureau,\n"
	    "the holder, the bank and the agency would:\n"
	    "GENERATE KEY, STORE DATA (DGIs 0101-0105, 8010), CHANGE REFERENCE\n"
	    "DATA to the holder's PIN, ACTIVATE FILE, CREDIT of the balance.\n"
	    "With --pki, EF.CERT is the card certificate DIR's card-certificate\n"
	    "issuer issues over the generated key, and EF.SOD the security\n"
	    "object DIR's document signer signs ('mic card verify' checks it).\n"
	    "Without, both hold a marked PLACEHOLDER that a terminal checking\n"
	    "authenticity rejects.\n"
	    "\n"
	    "  --out FILE     the image to write (mode 0600)\n"
	    "  --serial S     chip serial, 1-%d of A-Z a-z 0-9 . _ -\n"
	    "                 (default %s)\n"
	    "  --force        replace FILE if it exists (refused otherwise)\n"
	    "  --pki DIR      a PKI of 'mic pki init': the chip factory gives the\n"
	    "                 card its SCP11 key, CERT.SD.ECKA (signed by DIR's\n"
	    "                 card-certificate issuer), DIR's root as the anchor\n"
	    "                 of terminal chains, and today as its date; a\n"
	    "                 --sample is then personalized, activated and\n"
	    "                 credited through real SCP11a channels with DIR's\n"
	    "                 bureau, bank and agency terminals. Without --pki\n"
	    "                 the card has no SCP11 key and answers 6A88.\n"
	    "  --sample       a personalized, active sample card\n"
	    "  --pin PIN      the holder's PIN, 6-12 digits (default %s)\n"
	    "  --balance FEN  opening balance in fen (default %d = %d.00 CNY)\n"
	    "  --ssn N        social security number (default %s, a\n"
	    "                 synthetic GB 11643 test number)\n"
	    "  --name NAME    holder name, UTF-8 (default \"%s\")\n",
	    VC_SERIAL_MAX, DEFAULT_SERIAL, SAMPLE_PIN, SAMPLE_BALANCE,
	    SAMPLE_BALANCE / 100, SAMPLE_SSN, SAMPLE_NAME);
}

static int
parse_balance(const char *s, int64_t *out)
{
	unsigned long v;

	if (vct_parse_ulong(s, &v) != 0 || v > (unsigned long)INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* Write the image, refusing to replace one unless asked; 0 ok. */
static int
write_image(const char *out, const vc_card *card, int force)
{
	const uint8_t *nv = NULL;
	size_t len = 0;
	vc_image_rc rc;

	vc_card_nv(card, &nv, &len);
	rc = vc_image_save(out, nv, len, force ? 0 : VC_IMAGE_NOCLOBBER);
	if (rc == VC_IMAGE_E_EXISTS) {
		fprintf(stderr, "mic-vcard: %s exists; --force replaces it\n",
		    out);
		return -1;
	}
	if (rc == VC_IMAGE_E_SYS) {
		fprintf(stderr, "mic-vcard: cannot write %s: %s\n", out,
		    strerror(errno));
		return -1;
	}
	if (rc != VC_IMAGE_OK) {
		fprintf(stderr, "mic-vcard: cannot write %s: %s\n", out,
		    vc_image_strerror(rc));
		return -1;
	}
	return 0;
}

int
cmd_new(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "serial", required_argument, NULL, 's' },
		{ "force", no_argument, NULL, 'f' },
		{ "sample", no_argument, NULL, 'S' },
		{ "pin", required_argument, NULL, 'P' },
		{ "balance", required_argument, NULL, 'b' },
		{ "ssn", required_argument, NULL, 'n' },
		{ "name", required_argument, NULL, 'N' },
		{ "pki", required_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vct_sample smp = { .serial = DEFAULT_SERIAL, .ssn = SAMPLE_SSN,
		.name = SAMPLE_NAME, .pin = SAMPLE_PIN,
		.balance = SAMPLE_BALANCE };
	struct vct_scp *link = NULL;
	vcf_factory *factory = NULL;
	const char *out = NULL, *pki = NULL;
	vc_card *card = NULL;
	char why[256];
	int c, force = 0, sample = 0, sample_opt = 0, status = EXIT_FAILURE;
	mic_rc rc;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":fh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 's':
			smp.serial = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'S':
			sample = 1;
			break;
		case 'P':
			smp.pin = optarg;
			sample_opt = 1;
			break;
		case 'b':
			if (parse_balance(optarg, &smp.balance) != 0) {
				fprintf(stderr, "mic-vcard new: bad balance "
				    "'%s' (fen, a whole number)\n", optarg);
				return EXIT_USAGE;
			}
			sample_opt = 1;
			break;
		case 'n':
			smp.ssn = optarg;
			sample_opt = 1;
			break;
		case 'N':
			smp.name = optarg;
			sample_opt = 1;
			break;
		case 'K':
			pki = optarg;
			break;
		case 'h':
			usage_new(stdout);
			return 0;
		case ':':
			fprintf(stderr, "mic-vcard new: %s needs a value\n",
			    argv[optind - 1]);
			usage_new(stderr);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "mic-vcard new: unknown option '%s'\n",
			    argv[optind - 1]);
			usage_new(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || out == NULL || (sample_opt && !sample)) {
		if (optind != argc)
			fprintf(stderr, "mic-vcard new: unexpected argument "
			    "'%s'\n", argv[optind]);
		else if (out == NULL)
			fprintf(stderr, "mic-vcard new: --out is required\n");
		else
			fprintf(stderr, "mic-vcard new: --pin, --balance, "
			    "--ssn and --name go with --sample\n");
		usage_new(stderr);
		return EXIT_USAGE;
	}
	smp.now = time(NULL);
	if (!vct_serial_ok(smp.serial)) {
		fprintf(stderr, "mic-vcard new: bad serial '%s'\n", smp.serial);
		return EXIT_USAGE;
	}
	if (sample && vct_sample_check(&smp, why, sizeof(why)) != 0) {
		fprintf(stderr, "mic-vcard new: %s\n", why);
		return EXIT_USAGE;
	}
	/* Fail before the work when the answer is already known; the save
	 * itself refuses atomically in any case. */
	if (!force && access(out, F_OK) == 0) {
		fprintf(stderr, "mic-vcard: %s exists; --force replaces it\n",
		    out);
		return EXIT_FAILURE;
	}
	if ((rc = vc_card_new(&card, smp.serial, 0)) != MIC_OK) {
		fprintf(stderr, "mic-vcard: cannot create the card: %s\n",
		    mic_strerror(rc));
		return EXIT_FAILURE;
	}
	if (pki != NULL && (vcf_new(&factory, pki, why, sizeof(why)) != 0 ||
	    vcf_card(factory, card, NULL, why, sizeof(why)) != 0)) {
		fprintf(stderr, "mic-vcard: the chip factory failed: %s\n",
		    why);
		goto out;
	}
	if (sample && pki != NULL && vct_scp_open(&link, card, pki, why,
	    sizeof(why)) != 0) {
		fprintf(stderr, "mic-vcard: the sample card failed: %s\n", why);
		goto out;
	}
	smp.pki = sample ? pki : NULL;
	if (sample && vct_sample_build(card, &smp, link, why,
	    sizeof(why)) != 0) {
		fprintf(stderr, "mic-vcard: the sample card failed: %s\n", why);
		goto out;
	}
	if (write_image(out, card, force) != 0)
		goto out;
	if (sample)
		printf("%s: serial %s, %s sample card of %s, %s, balance "
		    "%lld fen\n", out, smp.serial,
		    vct_state_name(vc_card_state(card)), smp.name, smp.ssn,
		    (long long)smp.balance);
	else
		printf("%s: serial %s, %s card%s\n", out, smp.serial,
		    vct_state_name(vc_card_state(card)),
		    pki != NULL ? " with SCP11 keys" : "");
	status = EXIT_SUCCESS;
out:
	vct_scp_free(&link);
	vcf_free(&factory);
	vc_card_free(&card);
	return status;
}

static void
usage_script(FILE *f)
{
	fprintf(f,
	    "usage: mic-vcard perso-script [--serial S] [--ssn N] [--name NAME]\n"
	    "\n"
	    "Print the bureau's personalization of the sample card as a script\n"
	    "for 'mic apdu -f': SELECT, GENERATE KEY, and STORE DATA of DGIs\n"
	    "0101-0105 and 8010 (the last block finalizes: the card becomes\n"
	    "personalized, with transport PIN 000000). EF.SOD and EF.CERT get\n"
	    "the sample's PLACEHOLDER. GENERATE KEY and STORE DATA need a secure\n"
	    "channel with the bureau role: SCP11a with a bureau terminal\n"
	    "certificate, on a card made with 'mic-vcard new --pki' or fed by\n"
	    "'mic-vcard hopper --pki'.\n"
	    "\n"
	    "  --serial S   serial whose digits go into the card identification\n"
	    "               code (default %s)\n"
	    "  --ssn N      social security number (default %s)\n"
	    "  --name NAME  holder name, UTF-8 (default \"%s\")\n",
	    DEFAULT_SERIAL, SAMPLE_SSN, SAMPLE_NAME);
}

int
cmd_perso_script(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "serial", required_argument, NULL, 's' },
		{ "ssn", required_argument, NULL, 'n' },
		{ "name", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vct_sample smp = { .serial = DEFAULT_SERIAL, .ssn = SAMPLE_SSN,
		.name = SAMPLE_NAME, .pin = SAMPLE_PIN };
	struct vct_step steps[VCT_PERSO_STEPS];
	char why[256];
	size_t n;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			smp.serial = optarg;
			break;
		case 'n':
			smp.ssn = optarg;
			break;
		case 'N':
			smp.name = optarg;
			break;
		case 'h':
			usage_script(stdout);
			return 0;
		case ':':
			fprintf(stderr, "mic-vcard perso-script: %s needs a "
			    "value\n", argv[optind - 1]);
			usage_script(stderr);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "mic-vcard perso-script: unknown option "
			    "'%s'\n", argv[optind - 1]);
			usage_script(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mic-vcard perso-script: unexpected argument "
		    "'%s'\n", argv[optind]);
		usage_script(stderr);
		return EXIT_USAGE;
	}
	smp.now = time(NULL);
	if ((n = vct_sample_perso(&smp, steps, MIC_ARRAY_LEN(steps), why,
	    sizeof(why))) == 0) {
		fprintf(stderr, "mic-vcard perso-script: %s\n", why);
		return EXIT_USAGE;
	}
	printf("# Sample personalization of card %s (mic-vcard perso-script)."
	    "\n# GENERATE KEY and STORE DATA need the bureau role.\n",
	    smp.serial);
	for (size_t i = 0; i < n; i++) {
		printf("# %s\n", steps[i].what);
		for (size_t k = 0; k < steps[i].len; k++)
			printf("%s%02X", k ? " " : "", steps[i].apdu[k]);
		printf("\n");
	}
	mici_wipe(steps, sizeof(steps));
	return 0;
}
