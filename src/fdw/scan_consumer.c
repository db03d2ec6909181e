/*-------------------------------------------------------------------------
 *
 * scan_consumer.c
 *		The registry of scan consumer kinds (scan_consumer.h).  Kinds
 *		register from _PG_init, in the order the scan calls them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fdw/scan_consumer.h"

#define MAX_CONSUMER_KINDS 16

static const ScanConsumerKind *kinds[MAX_CONSUMER_KINDS];
static int	nkinds = 0;

void
scan_consumer_register(const ScanConsumerKind *kind)
{
	int			i;

	for (i = 0; i < nkinds; i++)
		if (kinds[i] == kind)
			return;
	if (nkinds == MAX_CONSUMER_KINDS)
		elog(ERROR, "too many indicina_csv scan consumer kinds");
	kinds[nkinds++] = kind;
}

int
scan_consumer_kinds(const ScanConsumerKind *const **out)
{
	*out = kinds;
	return nkinds;
}
