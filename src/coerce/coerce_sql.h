/*-------------------------------------------------------------------------
 *
 * coerce_sql.h
 *		The lenient parsers' settings and their SQL functions
 *		(coerce_sql.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_COERCE_SQL_H
#define INDICINA_COERCE_SQL_H

#include "postgres.h"

/* indicina.date_order and indicina.two_digit_year_pivot */
extern int	indicina_date_order;
extern int	indicina_two_digit_year_pivot;

extern void coerce_init(void);

#endif							/* INDICINA_COERCE_SQL_H */
