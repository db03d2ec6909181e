/*-------------------------------------------------------------------------
 *
 * cents.c
 *		Numerics as scaled 64-bit integers, and back (see cents.h).
 *
 * From a numeric: its text (numeric_out: [-]digits[.digits], never an
 * exponent) read digit by digit into an int64 with overflow checks.
 * numeric.h in PostgreSQL 15 exports no numeric -> int64 conversion that
 * reports overflow instead of raising it; multiplying by 10^scale in
 * numeric and calling numeric_int8 costs about twice as much, and
 * numeric_send's binary form no less (docs/benchmarks.md).  To a numeric:
 * int64_div_fast_to_numeric.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

#include "core/cents.h"

/*
 * num in units of 10^-scale (0 <= scale <= CENTS_MAX_SCALE) into *out.
 * CENTS_EXACT refuses non-zero digits past the scale (1.005 at scale 2);
 * CENTS_FLOOR drops them, rounding towards minus infinity.  Zeros past
 * the scale are not digits of the value (1.500 at scale 2 is 150).
 * *out is set only for CENTS_OK.  The text (and numeric_out's copy of a
 * short-header datum) stays in CurrentMemoryContext: per row, call it in
 * a context reset per row, as aggregates' and scans' per-tuple ones are
 * (freeing them costs a fifth of the call).
 */
CentsResult
cents_from_numeric(Datum num, int scale, CentsRounding rounding, int64 *out)
{
	const char *p = DatumGetCString(DirectFunctionCall1(numeric_out, num));
	bool		neg = *p == '-';
	bool		in_fraction = false;
	bool		dropped = false;
	int			decimals = 0;
	uint64		u = 0;
	CentsResult result = CENTS_OK;

	Assert(scale >= 0 && scale <= CENTS_MAX_SCALE);
	if (neg)
		p++;
	/* "NaN", "Infinity", "-Infinity": numeric_out's spellings of the others */
	if (*p < '0' || *p > '9')
		result = CENTS_NOT_FINITE;
	for (; result == CENTS_OK && *p; p++)
	{
		if (*p == '.')
		{
			in_fraction = true;
			continue;
		}
		if (in_fraction && decimals == scale)
		{
			dropped = dropped || *p != '0';
			continue;
		}
		decimals += in_fraction;
		if (pg_mul_u64_overflow(u, 10, &u) || pg_add_u64_overflow(u, (uint64) (*p - '0'), &u))
			result = CENTS_OUT_OF_RANGE;
	}
	for (; result == CENTS_OK && decimals < scale; decimals++)
		if (pg_mul_u64_overflow(u, 10, &u))
			result = CENTS_OUT_OF_RANGE;
	if (result == CENTS_OK && dropped && rounding == CENTS_EXACT)
		result = CENTS_INEXACT;
	/* the floor of a negative value with digits dropped: one unit further down */
	if (result == CENTS_OK && dropped && neg && pg_add_u64_overflow(u, 1, &u))
		result = CENTS_OUT_OF_RANGE;
	if (result == CENTS_OK)
	{
		if (neg && u <= (uint64) PG_INT64_MAX + 1)
			*out = u == (uint64) PG_INT64_MAX + 1 ? PG_INT64_MIN : -(int64) u;
		else if (!neg && u <= (uint64) PG_INT64_MAX)
			*out = (int64) u;
		else
			result = CENTS_OUT_OF_RANGE;
	}
	return result;
}

/*
 * value x 10^-from_scale in units of 10^-to_scale, exactly: CENTS_INEXACT
 * if it has non-zero digits past to_scale, CENTS_OUT_OF_RANGE if it does
 * not fit.  Both scales are 0 .. CENTS_MAX_SCALE.
 */
CentsResult
cents_rescale(int64 value, int from_scale, int to_scale, int64 *out)
{
	int			i;

	for (i = from_scale; i > to_scale; i--)
	{
		if (value % 10 != 0)
			return CENTS_INEXACT;
		value /= 10;
	}
	for (i = from_scale; i < to_scale; i++)
		if (pg_mul_s64_overflow(value, 10, &value))
			return CENTS_OUT_OF_RANGE;
	*out = value;
	return CENTS_OK;
}

/*
 * value x 10^-scale as a numeric Datum whose display scale is scale
 * (150 at scale 2 is 1.50), 0 <= scale <= NUMERIC_MAX_DISPLAY_SCALE.
 */
Datum
cents_to_numeric(int64 value, int scale)
{
	Assert(scale >= 0 && scale <= NUMERIC_MAX_DISPLAY_SCALE);
	return NumericGetDatum(int64_div_fast_to_numeric(value, scale));
}
