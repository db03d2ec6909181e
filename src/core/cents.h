/*-------------------------------------------------------------------------
 *
 * cents.h
 *		Numerics as scaled 64-bit integers ("cents" at scale 2): value x
 *		10^-scale held in an int64, and the conversions both ways.
 *
 * The one place numeric meets int64 arithmetic: the CSV converter's
 * integer form of a numeric cell (ScaledValue), row rules' range bounds,
 * balance_continuity's amounts and tolerance, the customer-month
 * accumulator and the warehouse's aggregates.  Only numeric's public
 * interface is used (numeric_out, int64_div_fast_to_numeric, the
 * documented typmod of a numeric(p,s) column); every conversion checks
 * for overflow.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_CENTS_H
#define INDICINA_CENTS_H

#include "postgres.h"

/* the largest scale a value can have and still hold a unit (10^18 < 2^63) */
#define CENTS_MAX_SCALE 18

/*
 * A decimal as value / 10^scale, when it fits an int64: what a numeric
 * column's converter leaves beside the Numeric it built, so a consumer of
 * the scan reads integers instead of the numeric.  valid is false when the
 * last value converted had no such form (more than 18 digits) or was NULL.
 */
typedef struct ScaledValue
{
	bool		valid;
	int			scale;
	int64		value;
} ScaledValue;

/* what a conversion to units of 10^-scale gave */
typedef enum CentsResult
{
	CENTS_OK = 0,
	CENTS_NOT_FINITE,			/* NaN, Infinity or -Infinity */
	CENTS_INEXACT,				/* non-zero digits past the scale (CENTS_EXACT only) */
	CENTS_OUT_OF_RANGE			/* the units do not fit an int64 */
} CentsResult;

/* what to do with digits past the scale */
typedef enum CentsRounding
{
	CENTS_EXACT,				/* refuse them: CENTS_INEXACT */
	CENTS_FLOOR					/* round towards minus infinity */
} CentsRounding;

/*
 * The scale of a numeric(p,s) column's typmod (atttypmod: ((p << 16) | s)
 * + VARHDRSZ, s an 11-bit signed field since PostgreSQL 15), or -1 for an
 * unconstrained numeric.  A negative scale (numeric(3,-2)) is returned as
 * it is.
 */
static inline int
cents_typmod_scale(int32 typmod)
{
	if (typmod < (int32) VARHDRSZ)
		return -1;
	return (((typmod - VARHDRSZ) & 0x7ff) ^ 1024) - 1024;
}

/* the precision of a numeric(p,s) column's typmod, or -1 for none */
static inline int
cents_typmod_precision(int32 typmod)
{
	if (typmod < (int32) VARHDRSZ)
		return -1;
	return ((typmod - VARHDRSZ) >> 16) & 0xffff;
}

/* in cents.c */
extern CentsResult cents_from_numeric(Datum num, int scale, CentsRounding rounding, int64 *out);
extern CentsResult cents_rescale(int64 value, int from_scale, int to_scale, int64 *out);
extern Datum cents_to_numeric(int64 value, int scale);

/*
 * The converter's integer form of a value in units of 10^-scale, when it
 * has one that converts exactly: every consumer's fast path.  False sends
 * the caller to the numeric itself (cents_from_numeric).
 */
static inline bool
cents_from_scaled(const ScaledValue *sv, int scale, int64 *out)
{
	if (sv == NULL || !sv->valid)
		return false;
	if (likely(sv->scale == scale))
	{
		*out = sv->value;
		return true;
	}
	return sv->scale >= 0 && sv->scale <= CENTS_MAX_SCALE &&
		cents_rescale(sv->value, sv->scale, scale, out) == CENTS_OK;
}

#endif							/* INDICINA_CENTS_H */
