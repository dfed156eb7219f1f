/*
 * libmic: middleware for medical insurance cards.
 * The one header an application includes.
 */
#ifndef MIC_MIC_H
#define MIC_MIC_H

#include <mic/version.h>
#include <mic/err.h>
#include <mic/apdu.h>
#include <mic/tlv.h>
#include <mic/tx.h>
#include <mic/pcsc.h>
#include <mic/idnum.h>
#include <mic/profile.h>
#include <mic/card.h>
#include <mic/scp.h>
#include <mic/keyprov.h>
#include <mic/pki.h>
#include <mic/sod.h>
#include <mic/batch.h>
#include <mic/journal.h>
#include <mic/perso.h>
#include <mic/receipt.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The library's version string at run time, e.g. "0.1.0". */
const char *mic_version(void);

#ifdef __cplusplus
}
#endif
#endif
