/*-------------------------------------------------------------------------
 *
 * indicina.h
 *		Declarations shared by the modules of the indicina extension.
 *
 * One heading per source file, in the order the data flows: the module
 * that defines a symbol is named above it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_H
#define INDICINA_H

#include "postgres.h"

#define INDICINA_VERSION "0.1.0"

/* in indicina.c */
extern void _PG_init(void);

/* in fdw.c */
extern int	indicina_max_row_size_kb;
extern bool indicina_dry_run;
extern bool indicina_survey;

/* in rejects.c: whether messages about rows may quote their values */
extern bool indicina_log_raw_rows;

/* in coerce_sql.c */
extern int	indicina_date_order;
extern int	indicina_two_digit_year_pivot;
extern void coerce_init(void);

/* in reader.c */
extern void reader_module_init(void);

#endif							/* INDICINA_H */
