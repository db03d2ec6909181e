/*-------------------------------------------------------------------------
 *
 * risk_features.c
 *		indicina.risk_features(): a customer's credit-risk features from
 *		their months of agg_customer_month, in one aggregate.
 *
 * In SQL the features are count(*), round(avg(inflow), 2),
 * round(avg(outflow), 2), round(avg(salary_credit as 0 or 1), 4) and
 * round(stddev_pop(closing_balance), 2): four numeric aggregate states per
 * customer, about 1.4 kB each, and a hash aggregate of 150 MB for 100k
 * customers.  The months' amounts are numeric(16,2) and their balances
 * numeric(14,2), whole cents, so this keeps 64- and 128-bit sums of cents
 * instead (about 70 bytes) and rounds once, at the end, exactly as the
 * SQL rounds: an average half away from zero; the volatility is the
 * correctly rounded square root of n * sum(x^2) - sum(x)^2, divided by n.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/numeric.h"

#include "core/cents.h"
#include "warehouse/warehouse.h"

typedef struct RiskFeatures
{
	int64		months;			/* rows */
	int64		n_inflow;		/* rows with an inflow */
	int64		n_outflow;
	int64		inflow;			/* sums in cents */
	int64		outflow;
	int64		salary;			/* months with a salary-like credit */
	int64		n_balance;		/* rows with a closing balance */
	int128		balance;		/* sum, cents */
	int128		balance_sq;		/* sum of squares, cents^2 */
} RiskFeatures;

static void
features_out_of_range(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("indicina: the %s of a customer's months is out of range for risk_features", what)));
}

PG_FUNCTION_INFO_V1(indicina_risk_features_step);
Datum
indicina_risk_features_step(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	RiskFeatures *s;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "indicina.risk_features called outside an aggregate");
	s = PG_ARGISNULL(0) ? (RiskFeatures *) MemoryContextAllocZero(aggcxt, sizeof(RiskFeatures)) :
		(RiskFeatures *) PG_GETARG_POINTER(0);
	s->months++;
	if (!PG_ARGISNULL(1))
	{
		if (__builtin_add_overflow(s->inflow, cents_of(PG_GETARG_DATUM(1), "inflow"), &s->inflow))
			features_out_of_range("inflow");
		s->n_inflow++;
	}
	if (!PG_ARGISNULL(2))
	{
		if (__builtin_add_overflow(s->outflow, cents_of(PG_GETARG_DATUM(2), "outflow"), &s->outflow))
			features_out_of_range("outflow");
		s->n_outflow++;
	}
	if (!PG_ARGISNULL(3) && PG_GETARG_BOOL(3))
		s->salary++;
	if (!PG_ARGISNULL(4))
	{
		int128		x = cents_of(PG_GETARG_DATUM(4), "closing balance");

		if (__builtin_add_overflow(s->balance, x, &s->balance) ||
			__builtin_add_overflow(s->balance_sq, x * x, &s->balance_sq))
			features_out_of_range("closing balance");
		s->n_balance++;
	}
	PG_RETURN_POINTER(s);
}

/* sum / n rounded half away from zero, as round(avg(...), k) rounds */
static int64
rounded_quotient(int64 sum, int64 n)
{
	int64		q = sum / n;
	int64		r = sum % n;

	if (r < 0)
		r = -r;
	if (r >= n - r)
		q += sum < 0 ? -1 : 1;
	return q;
}

/* floor(sqrt(v)) of v >= 0 */
static uint128
isqrt(uint128 v)
{
	uint128		s = (uint128) sqrtl((long double) v);

	/* the estimate is off by at most a few units: correct it */
	while (s > 0 && s * s > v)
		s--;
	while ((s + 1) * (s + 1) <= v)
		s++;
	return s;
}

/*
 * The population standard deviation of the balances, in cents, rounded
 * half up: c is the largest integer with c - 1/2 <= sqrt(d) / n, that is
 * ((2c - 1) n)^2 <= 4d, where d = n * sum(x^2) - sum(x)^2.
 */
static int64
volatility_cents(const RiskFeatures *s)
{
	int128		n = s->n_balance;
	int128		a,
				b,
				d;
	uint128		c,
				t;

	if (__builtin_mul_overflow(n, s->balance_sq, &a) || __builtin_mul_overflow(s->balance, s->balance, &b) ||
		__builtin_sub_overflow(a, b, &d) || d >= ((int128) 1 << 124))
		features_out_of_range("closing balance");
	if (d <= 0)
		return 0;
	c = isqrt((uint128) d) / (uint128) n;
	t = (2 * c + 1) * (uint128) n;
	if (t * t <= 4 * (uint128) d)
		c++;
	if (c > (uint128) PG_INT64_MAX)
		features_out_of_range("closing balance");
	return (int64) c;
}

/*
 * (months, avg_monthly_inflow, avg_monthly_outflow, income_regularity,
 * balance_volatility), as type indicina.risk_features_result.
 */
PG_FUNCTION_INFO_V1(indicina_risk_features_final);
Datum
indicina_risk_features_final(PG_FUNCTION_ARGS)
{
	RiskFeatures *s = PG_ARGISNULL(0) ? NULL : (RiskFeatures *) PG_GETARG_POINTER(0);
	TupleDesc	desc;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "indicina.risk_features must return a composite type");
	if (s == NULL)
		PG_RETURN_NULL();
	desc = BlessTupleDesc(desc);
	if (s->months > PG_INT32_MAX)
		features_out_of_range("number");
	values[0] = Int32GetDatum((int32) s->months);
	nulls[1] = s->n_inflow == 0;
	if (!nulls[1])
		values[1] = cents_to_numeric(rounded_quotient(s->inflow, s->n_inflow), FLOW_SCALE);
	nulls[2] = s->n_outflow == 0;
	if (!nulls[2])
		values[2] = cents_to_numeric(rounded_quotient(s->outflow, s->n_outflow), FLOW_SCALE);
	/* the share of months with a salary, to four decimals */
	values[3] = cents_to_numeric(rounded_quotient(s->salary * 10000, s->months), 4);
	nulls[4] = s->n_balance == 0;
	if (!nulls[4])
		values[4] = cents_to_numeric(volatility_cents(s), FLOW_SCALE);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
