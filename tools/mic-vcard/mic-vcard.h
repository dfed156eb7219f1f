/*
 * mic-vcard: shared declarations of the verbs (cmd_*.c) and their helpers.
 */
#ifndef MIC_VCARD_TOOL_H
#define MIC_VCARD_TOOL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <mic/err.h>

#include "vcard.h"

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 35963
#define DEFAULT_SERIAL "MIC0000000001"
/* vpcd comes up a little after pcscd: wait up to 50 x 200 ms for it. */
#define CONNECT_TRIES 50
#define RETRY_MS 200

/* Exit status of every verb. */
#define EXIT_USAGE 2
#define EXIT_TORN 3   /* a tear option cut the power, as asked */

#define PORT_STR_MAX 8

/* What the log and trace hooks of a running card need. */
struct vct_log {
	char prefix[48];
	int verbose;
	int store_chain;   /* the trace is inside a STORE DATA chain */
};

/* Signals: SIGTERM, SIGINT, SIGHUP stop; SIGUSR1 toggles removal. */
int vct_signals_install(void);
volatile sig_atomic_t *vct_stop_flag(void);
volatile sig_atomic_t *vct_removed_flag(void);

/* Hooks for vc_vpcd_cfg; @p arg is a struct vct_log. The trace masks
 * the data of VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER and
 * the PIN DGI of STORE DATA. */
void vct_log_line(void *arg, const char *msg);
void vct_trace(void *arg, int dir, const uint8_t *buf, size_t len);
void vct_say(const struct vct_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A vc_vpcd_cfg for the reader slot at @p host:@p port with the tool's
 * connection bounds, log and trace hooks and signal flags; @p arg (whose
 * first member is a struct vct_log) goes to every hook.
 */
void vct_vpcd_cfg(vc_vpcd_cfg *cfg, const char *host, const char *port,
    vc_event_fn *event, vc_apdu_fn *apdu, void *arg);

int vct_parse_port(const char *s, char *out, size_t cap);
int vct_parse_ulong(const char *s, unsigned long *out);
const char *vct_state_name(enum vc_state state);
/* A serial fit for a file name: 1-VC_SERIAL_MAX of [A-Za-z0-9._-]. */
int vct_serial_ok(const char *s);

/*
 * Send one command APDU to the card engine. Returns the status word, or 0
 * if the engine failed (the reason is in @p err).
 */
uint16_t vct_xmit(vc_card *card, const uint8_t *cmd, size_t len,
    uint8_t *rsp, size_t cap, size_t *rlen);

/* Synthetic holder data for a sample card; all strings borrowed. */
struct vct_sample {
	const char *serial;
	const char *ssn;       /* GB 11643: 17 digits and a check character */
	const char *name;      /* UTF-8, 1-60 bytes */
	const char *pin;       /* the holder's PIN, 6-12 digits */
	int64_t balance;       /* opening balance, fen; 0 = no CREDIT */
	time_t now;
	const char *pki;       /* a PKI of 'mic pki init' that issues EF.CERT
	                        * and signs EF.SOD; NULL: placeholders */
};

#define SAMPLE_SSN "110105198001010016"
#define SAMPLE_NAME "\xE5\xBC\xA0\xE4\xB8\x89"  /* Zhang San, "John Doe" */
#define SAMPLE_PIN "123456"
#define SAMPLE_BALANCE 100000

/* Check the sample's fields as the profile requires; 0 ok, else -1 and
 * a message in @p why. */
int vct_sample_check(const struct vct_sample *s, char *why, size_t cap);

/* One APDU of a personalization script: up to an extended STORE DATA of
 * a whole EF.SOD (2048 bytes) with its DGI header. */
#define VCT_STEP_MAX (7 + 5 + 2048 + 2)
/* One APDU of a personalization script. */
struct vct_step {
	const char *what;      /* comment */
	uint8_t apdu[VCT_STEP_MAX];
	size_t len;
	enum vc_role role;     /* the secure channel it needs */
};
#define VCT_PERSO_STEPS 8

/*
 * The bureau's part: SELECT, GENERATE KEY, STORE DATA of DGIs 0101-0105
 * and 8010, the last block finalizing. Fills @p steps and returns their
 * number, or 0 on a failure described in @p why.
 */
size_t vct_sample_perso(const struct vct_sample *s, struct vct_step *steps,
    size_t max, char *why, size_t cap);

struct vct_scp;
/*
 * Make @p card (blank) a personalized and activated sample card through
 * the real engine, through the SCP11a channels of @p link, or (NULL) with
 * the engine's test hook standing in for them: personalization, the holder's PIN, ACTIVATE FILE as the
 * bank, CREDIT of the opening balance as the agency. 0 ok, else -1 with a
 * message in @p why.
 */
int vct_sample_build(vc_card *card, const struct vct_sample *s,
    struct vct_scp *link, char *why, size_t cap);

/*
 * factory.c, with a PKI directory of 'mic pki init' (the chip factory
 * itself is chipfactory.h).
 *
 * A terminal link to @p card through libmic's host side: SELECT and the
 * card's verified CERT.SD.ECKA. vct_scp_xmit sends one APDU, opening an
 * SCP11a channel with DIR's terminal of @p role first if the open one is
 * another's (VC_ROLE_NONE: plain); returns the SW, 0 on failure (why).
 */
struct vct_scp;
int vct_scp_open(struct vct_scp **out, vc_card *card, const char *pki,
    char *why, size_t cap);
uint16_t vct_scp_xmit(struct vct_scp *l, enum vc_role role,
    const uint8_t *cmd, size_t len, char *why, size_t cap);
/* vct_scp_xmit, keeping the response data in @p rsp (@p *n bytes). */
uint16_t vct_scp_xmit_rsp(struct vct_scp *l, enum vc_role role,
    const uint8_t *cmd, size_t len, uint8_t *rsp, size_t rsp_cap, size_t *n,
    char *why, size_t cap);
void vct_scp_free(struct vct_scp **l);

int cmd_new(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_hopper(int argc, char **argv);
int cmd_perso_script(int argc, char **argv);

#endif
