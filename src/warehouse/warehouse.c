/*-------------------------------------------------------------------------
 *
 * warehouse.c
 *		What the pipeline run computes per row of the warehouse, in C:
 *		date keys, month starts, and the customer-month aggregate.
 *
 * agg_customer_month needs per customer and month: inflow, outflow, net,
 * count, minimum balance, the closing balance (the balance of the last
 * transaction by date, file and line) and whether a salary-like credit
 * came in.  In SQL that is four numeric aggregates and an
 * array_agg(... ORDER BY ...), which PostgreSQL 15 sorts group by group
 * (docs/benchmarks.md).  indicina.month_flow() is one
 * aggregate with one small state per group, summing 64-bit cents (amounts
 * are numeric(14,2) in the warehouse, converted by core/cents.c; a sum
 * past 64 bits is an error, no numeric(16,2) holds it), so a
 * hash aggregate does it in one pass.  The totals (FlowTotals) are the
 * same the transactions scan accumulates (month_flows.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"

#include "core/cents.h"
#include "warehouse/warehouse.h"

#ifndef HAVE_INT128
#error "indicina needs a compiler with 128-bit integers"
#endif

/* ---------------------------------------------------------------------
 * Date keys
 * ---------------------------------------------------------------------
 */

/* indicina.date_key(date) -> yyyymmdd, the key of dim_date */
PG_FUNCTION_INFO_V1(indicina_date_key);
Datum
indicina_date_key(PG_FUNCTION_ARGS)
{
	DateADT		d = PG_GETARG_DATEADT(0);
	int			y,
				m,
				day;

	if (DATE_NOT_FINITE(d))
		PG_RETURN_NULL();
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	PG_RETURN_INT32(y * 10000 + m * 100 + day);
}

/* the first day of d's month (an infinity stays as it is) */
DateADT
month_of(DateADT d)
{
	int			y,
				m,
				day;

	if (DATE_NOT_FINITE(d))
		return d;
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	return date2j(y, m, 1) - POSTGRES_EPOCH_JDATE;
}

/* indicina.month_start(date) -> the first day of its month */
PG_FUNCTION_INFO_V1(indicina_month_start);
Datum
indicina_month_start(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(month_of(PG_GETARG_DATEADT(0)));
}

/* ---------------------------------------------------------------------
 * Amounts in cents (core/cents.c)
 * ---------------------------------------------------------------------
 */

/* a numeric amount in cents; a clear error for anything else */
int64
cents_of(Datum d, const char *what)
{
	int64		v;

	switch (cents_from_numeric(d, FLOW_SCALE, CENTS_EXACT, &v))
	{
		case CENTS_OK:
			break;
		case CENTS_OUT_OF_RANGE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("indicina: %s %s is out of range for an amount in cents", what,
							DatumGetCString(DirectFunctionCall1(numeric_out, d))),
					 errdetail("Amounts in cents are 64-bit integers: from -92233720368547758.08 to 92233720368547758.07."),
					 errhint("The warehouse's aggregates sum amounts and balances in cents, as its numeric columns with 2 decimals hold them.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("indicina: %s %s is not an amount with at most %d decimals", what,
							DatumGetCString(DirectFunctionCall1(numeric_out, d)), FLOW_SCALE),
					 errhint("The warehouse's aggregates sum amounts and balances in cents, as its numeric columns with 2 decimals hold them.")));
	}
	return v;
}

static Datum
cents_numeric(int64 v)
{
	return cents_to_numeric(v, FLOW_SCALE);
}

/* ---------------------------------------------------------------------
 * One customer-month's totals (month_flow and the scan's accumulator)
 * ---------------------------------------------------------------------
 */

static void
sum_out_of_range(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("indicina: a monthly sum is out of range (beyond ±92,233,720,368,547,758.07)")));
}

/* one transaction: amount and balance in cents, NULL for none */
void
flow_totals_add(FlowTotals *t, const int64 *amount, bool salary_like, const int64 *balance)
{
	t->count++;
	if (amount && *amount > 0)
	{
		if (pg_add_s64_overflow(t->inflow, *amount, &t->inflow))
			sum_out_of_range();
		if (salary_like)
			t->salary = true;
	}
	else if (amount && pg_sub_s64_overflow(t->outflow, *amount, &t->outflow))
		sum_out_of_range();
	if (balance && (!t->has_min || *balance < t->min_balance))
		t->min_balance = *balance;
	t->has_min = t->has_min || balance;
}

/* the transaction dated date is, so far, the month's last: its balance closes it */
void
flow_totals_close(FlowTotals *t, DateADT date, const int64 *balance)
{
	t->has_last = true;
	t->last_date = date;
	t->last_balance_null = balance == NULL;
	if (balance)
		t->last_balance = *balance;
}

/* (inflow, outflow, net, txn_count, closing_balance, min_balance, salary_credit) */
void
flow_totals_values(const FlowTotals *t, Datum *values, bool *nulls)
{
	values[0] = cents_numeric(t->inflow);
	values[1] = cents_numeric(t->outflow);
	values[2] = cents_numeric(t->inflow - t->outflow);	/* both >= 0: no overflow */
	values[3] = Int32GetDatum((int32) t->count);
	nulls[0] = nulls[1] = nulls[2] = nulls[3] = false;
	nulls[4] = !t->has_last || t->last_balance_null;
	values[4] = nulls[4] ? (Datum) 0 : cents_numeric(t->last_balance);
	nulls[5] = !t->has_min;
	values[5] = nulls[5] ? (Datum) 0 : cents_numeric(t->min_balance);
	values[6] = BoolGetDatum(t->salary);
	nulls[6] = false;
}

/* ---------------------------------------------------------------------
 * indicina.month_flow(amount, balance, date, file, line, salary_like)
 * ---------------------------------------------------------------------
 */

typedef struct MonthFlow
{
	FlowTotals	t;
	/* the month's last transaction so far is at t.last_date, in this file (bytes) and line */
	int64		last_line;
	char	   *last_file;
	int			last_file_len;
} MonthFlow;

/* is (date, file, line) after the state's last transaction? */
static bool
is_later(MonthFlow *s, DateADT date, const char *file, int file_len, int64 line)
{
	int			c;

	if (!s->t.has_last || date != s->t.last_date)
		return !s->t.has_last || date > s->t.last_date;
	c = memcmp(file, s->last_file, Min(file_len, s->last_file_len));
	if (c == 0)
		c = file_len - s->last_file_len;
	if (c != 0)
		return c > 0;
	return line > s->last_line;
}

PG_FUNCTION_INFO_V1(indicina_month_flow_step);
Datum
indicina_month_flow_step(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	MonthFlow  *s;
	int64		amount = 0;
	int64		balance = 0;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "indicina.month_flow called outside an aggregate");
	s = PG_ARGISNULL(0) ? (MonthFlow *) MemoryContextAllocZero(aggcxt, sizeof(MonthFlow)) :
		(MonthFlow *) PG_GETARG_POINTER(0);
	if (!PG_ARGISNULL(1))
		amount = cents_of(PG_GETARG_DATUM(1), "amount");
	if (!PG_ARGISNULL(2))
		balance = cents_of(PG_GETARG_DATUM(2), "balance");
	flow_totals_add(&s->t, PG_ARGISNULL(1) ? NULL : &amount, !PG_ARGISNULL(6) && PG_GETARG_BOOL(6),
					PG_ARGISNULL(2) ? NULL : &balance);
	/* the closing balance: ordered by date, then file, then line; no date, no order */
	if (!PG_ARGISNULL(3) && !PG_ARGISNULL(4) && !PG_ARGISNULL(5))
	{
		DateADT		date = PG_GETARG_DATEADT(3);
		text	   *file = PG_GETARG_TEXT_PP(4);
		int			file_len = VARSIZE_ANY_EXHDR(file);
		int64		line = PG_GETARG_INT64(5);

		if (is_later(s, date, VARDATA_ANY(file), file_len, line))
		{
			if (!s->t.has_last || file_len != s->last_file_len ||
				memcmp(VARDATA_ANY(file), s->last_file, file_len) != 0)
			{
				if (s->last_file)
					pfree(s->last_file);
				s->last_file = MemoryContextAlloc(aggcxt, Max(file_len, 1));
				memcpy(s->last_file, VARDATA_ANY(file), file_len);
				s->last_file_len = file_len;
			}
			s->last_line = line;
			flow_totals_close(&s->t, date, PG_ARGISNULL(2) ? NULL : &balance);
		}
	}
	PG_RETURN_POINTER(s);
}

/*
 * (inflow, outflow, net, txn_count, closing_balance, min_balance,
 * salary_credit), as type indicina.month_flow_result.
 */
PG_FUNCTION_INFO_V1(indicina_month_flow_final);
Datum
indicina_month_flow_final(PG_FUNCTION_ARGS)
{
	MonthFlow  *s = PG_ARGISNULL(0) ? NULL : (MonthFlow *) PG_GETARG_POINTER(0);
	TupleDesc	desc;
	Datum		values[7];
	bool		nulls[7];

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "indicina.month_flow must return a composite type");
	if (s == NULL)
		PG_RETURN_NULL();
	desc = BlessTupleDesc(desc);
	flow_totals_values(&s->t, values, nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
