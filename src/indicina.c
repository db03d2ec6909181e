/*-------------------------------------------------------------------------
 *
 * indicina.c
 *		Module entry point: _PG_init and the extension-wide SQL functions.
 *
 * _PG_init only reserves the GUC prefix and calls each module's init, so
 * every setting is defined next to the code that reads it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "fdw/fdw.h"
#include "indicina.h"

PG_MODULE_MAGIC;

void
_PG_init(void)
{
	coerce_init();
	fdw_init();
	s3_module_init();
	reader_module_init();
	MarkGUCPrefixReserved("indicina");
}

/*
 * indicina.version() returns the version of the loaded shared library, which
 * can differ from pg_extension.extversion until ALTER EXTENSION ... UPDATE.
 */
PG_FUNCTION_INFO_V1(indicina_version);
Datum
indicina_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(INDICINA_VERSION));
}
