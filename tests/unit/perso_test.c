#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "perso_test.h"

static const char app_line[] =
    "{\"application_id\":\"2026-000017\",\"channel\":\"employer\","
    "\"employer_id\":\"91110000MA00000000\",\"name\":\"李四\","
    "\"gender\":\"2\",\"ssn\":\"32010219881108018X\","
    "\"birth_date\":\"19881108\",\"birthplace\":\"320102\","
    "\"ethnicity\":\"01\",\"scheme\":\"employee\","
    "\"pooling_region\":\"320100\",\"insured_since\":\"20100301\","
    "\"first_use_activation\":true}\n";

mic_application_t *
pt_app(void)
{
	FILE *fp = fmemopen((void *)(uintptr_t)app_line, strlen(app_line),
	    "r");
	mic_batch_t *b = NULL;
	mic_application_t *app = NULL;
	mic_batch_error err;

	assert_non_null(fp);
	assert_int_equal(mic_batch_open_fp(&b, fp), MIC_OK);
	assert_int_equal(mic_batch_next(b, &app, &err), MIC_OK);
	assert_non_null(app);
	mic_batch_free(&b);
	fclose(fp);
	return app;
}

vc_card *
pt_factory_card(vcf_factory *f, const char *serial)
{
	char why[256] = "";
	vc_card *card = NULL;

	assert_int_equal(vc_card_new(&card, serial, 0), MIC_OK);
	if (vcf_card(f, card, NULL, why, sizeof(why)) != 0)
		fail_msg("factory card %s: %s", serial, why);
	return card;
}
