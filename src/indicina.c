/*-------------------------------------------------------------------------
 *
 * indicina.c
 *		Module entry point: _PG_init and the extension-wide SQL functions.
 *
 * _PG_init reserves the GUC prefix, calls each module's init (so every
 * setting is defined next to the code that reads it) and registers the
 * scan consumers.  This file sits above the folders of src/: the only one
 * that includes a header of every stage.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "coerce/coerce_sql.h"
#include "core/txn_state.h"
#include "fdw/fdw.h"
#include "indicina.h"
#include "quality/rules.h"
#include "quality/scan_stats.h"
#include "quality/set_rules.h"
#include "warehouse/month_flows.h"
#include "ship/ship.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	txn_state_init();
	coerce_init();
	fdw_init();
	s3_module_init();
	reader_module_init();
	/* what rides on an indicina_csv scan, in the order it is called */
	scan_consumer_register(&file_stats_consumer);
	scan_consumer_register(&row_rules_consumer);
	scan_consumer_register(&set_rules_consumer);
	scan_consumer_register(&month_flows_consumer);
	ship_init();
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
