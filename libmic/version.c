#include <mic/mic.h>

const char *
mic_version(void)
{
	return MIC_VERSION;
}
