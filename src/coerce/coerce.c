/*-------------------------------------------------------------------------
 *
 * coerce.c
 *		Lenient, non-throwing parsers for the spellings real lending drops
 *		use: amounts, numbers, integers, booleans, dates, timestamps,
 *		identifiers and phone numbers.
 *
 * The one copy of each parser: the SQL functions (coerce_sql.c) and the
 * foreign-data wrapper's per-column converters call these.  Nothing here
 * raises an error for bad input or allocates on success paths except the
 * final Datum; a failure fills a CoerceError with a stable code and a
 * sentence saying what is wrong.  See docs/coercion.md for every accepted
 * spelling and every refusal.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/int.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"

#include "coerce/coerce.h"

static const char *const code_names[] = {
	[COERCE_OK] = "OK",
	[COERCE_INVALID_NUMBER] = "INVALID_NUMBER",
	[COERCE_NUMBER_OUT_OF_RANGE] = "NUMBER_OUT_OF_RANGE",
	[COERCE_INVALID_INTEGER] = "INVALID_INTEGER",
	[COERCE_INVALID_DATE] = "INVALID_DATE",
	[COERCE_INVALID_TIMESTAMP] = "INVALID_TIMESTAMP",
	[COERCE_INVALID_BOOLEAN] = "INVALID_BOOLEAN",
	[COERCE_VALUE_TOO_LONG] = "VALUE_TOO_LONG",
	[COERCE_INVALID_LABEL] = "INVALID_LABEL",
	[COERCE_INVALID_PHONE] = "INVALID_PHONE",
	[COERCE_INVALID_ID] = "INVALID_ID",
	[COERCE_INVALID_VALUE] = "INVALID_VALUE"
};

const char *
coerce_code_name(CoerceCode code)
{
	return code_names[code];
}

/* Records a failure; the reason is one sentence. */
void
coerce_fail(CoerceError *err, CoerceCode code, const char *fmt,...)
{
	va_list		ap;

	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
}

static inline bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline unsigned char
to_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* trims ASCII white space and U+00A0 (no-break space, common in exports) */
static void
trim(const char **s, int *len)
{
	const unsigned char *p = (const unsigned char *) *s;
	int			n = *len;

	for (;;)
	{
		if (n > 0 && is_space(p[0]))
			p++, n--;
		else if (n > 1 && p[0] == 0xC2 && p[1] == 0xA0)
			p += 2, n -= 2;
		else
			break;
	}
	for (;;)
	{
		if (n > 0 && is_space(p[n - 1]))
			n--;
		else if (n > 1 && p[n - 2] == 0xC2 && p[n - 1] == 0xA0)
			n -= 2;
		else
			break;
	}
	*s = (const char *) p;
	*len = n;
}

/* case-insensitive comparison of s[0..len) with a NUL-terminated word */
static bool
equals_ci(const char *s, int len, const char *word)
{
	int			i;

	for (i = 0; i < len; i++)
		if (word[i] == '\0' || to_lower((unsigned char) s[i]) != to_lower((unsigned char) word[i]))
			return false;
	return word[len] == '\0';
}

/* a short, printable excerpt of the input for reasons */
static const char *
show_char(unsigned char c, char *buf)
{
	if (c >= 0x20 && c < 0x7f)
		snprintf(buf, 8, "\"%c\"", c);
	else
		snprintf(buf, 8, "0x%02X", c);
	return buf;
}

/* ---------------------------------------------------------------------
 * Decimal numbers
 * ---------------------------------------------------------------------
 */

/* appends a digit; false (with err) past the digit or scale limits */
static inline bool
decimal_push(ParsedDecimal *d, int digit, bool fraction, CoerceError *err)
{
	if (fraction && ++d->scale > DECIMAL_MAX_SCALE)
	{
		coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE,
					"It has more than %d digits after the decimal mark.", DECIMAL_MAX_SCALE);
		return false;
	}
	if (d->ndigits == 0 && digit == 0)
		return true;			/* a leading zero */
	if (d->ndigits >= DECIMAL_MAX_DIGITS)
	{
		coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE,
					"It has more than %d significant digits.", DECIMAL_MAX_DIGITS);
		return false;
	}
	d->digits[d->ndigits++] = (char) digit;
	return true;
}

/*
 * The syntax numeric_in accepts for finite values: [sign] digits [. digits]
 * [e [sign] digits], or a leading/trailing point, with surrounding spaces.
 * NaN and Infinity are refused: no lending amount is either.
 */
bool
parse_number_plain(const char *s, int len, ParsedDecimal *out, CoerceError *err)
{
	const char *end;
	bool		seen_digit = false,
				fraction = false;
	char		cbuf[8];

	trim(&s, &len);
	end = s + len;
	memset(out, 0, offsetof(ParsedDecimal, digits));
	if (s < end && (*s == '+' || *s == '-'))
		out->neg = (*s++ == '-');
	for (; s < end; s++)
	{
		if (is_digit((unsigned char) *s))
		{
			seen_digit = true;
			if (!decimal_push(out, *s - '0', fraction, err))
				return false;
		}
		else if (*s == '.' && !fraction)
			fraction = true;
		else
			break;
	}
	if (!seen_digit)
	{
		coerce_fail(err, COERCE_INVALID_NUMBER, "It has no digits.");
		return false;
	}
	if (s < end && (*s == 'e' || *s == 'E'))
	{
		int			exp = 0;
		bool		eneg = false;

		s++;
		if (s < end && (*s == '+' || *s == '-'))
			eneg = (*s++ == '-');
		if (s >= end || !is_digit((unsigned char) *s))
		{
			coerce_fail(err, COERCE_INVALID_NUMBER, "The exponent has no digits.");
			return false;
		}
		for (; s < end && is_digit((unsigned char) *s); s++)
		{
			exp = exp * 10 + (*s - '0');
			if (exp > 1000)
			{
				coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE, "The exponent is too large.");
				return false;
			}
		}
		out->scale += eneg ? exp : -exp;
		if (out->scale > DECIMAL_MAX_SCALE)
		{
			coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE,
						"It has more than %d digits after the decimal mark.", DECIMAL_MAX_SCALE);
			return false;
		}
		while (out->scale < 0)
		{
			/* scale below zero: multiply out, the digits get trailing zeros */
			if (out->ndigits > 0 && !decimal_push(out, 0, false, err))
				return false;
			out->scale++;
		}
	}
	if (s < end)
	{
		coerce_fail(err, COERCE_INVALID_NUMBER, "Unexpected character %s after the number.",
					show_char((unsigned char) *s, cbuf));
		return false;
	}
	return true;
}

/*
 * Length of a currency mark at s: ₦ € £ $, or the codes NGN USD GBP EUR (any
 * case) and N (upper case only).  As a prefix a code must not run into
 * letters ("NGNX" is no mark); as a suffix (prefix false) the mark must take
 * all len bytes.  Returns 0 if there is none.  A switch on the first byte,
 * since this runs for every amount.
 */
static int
currency_at(const char *s, int len, bool prefix)
{
	const unsigned char *u = (const unsigned char *) s;
	int			n = 0;

	if (len <= 0)
		return 0;
	switch (u[0])
	{
		case 0xE2:				/* ₦ U+20A6, € U+20AC */
			if (len >= 3 && u[1] == 0x82 && (u[2] == 0xA6 || u[2] == 0xAC))
				n = 3;
			break;
		case 0xC2:				/* £ U+00A3 */
			if (len >= 2 && u[1] == 0xA3)
				n = 2;
			break;
		case '$':
			n = 1;
			break;
		case 'N':
		case 'n':
		case 'U':
		case 'u':
		case 'G':
		case 'g':
		case 'E':
		case 'e':
			if (len >= 3 && (equals_ci(s, 3, "NGN") || equals_ci(s, 3, "USD") ||
							 equals_ci(s, 3, "GBP") || equals_ci(s, 3, "EUR")) &&
				(len == 3 || !is_alpha(u[3])))
				n = 3;
			else if (u[0] == 'N' && (len == 1 || !is_alpha(u[1])))
				n = 1;
			break;
		default:
			break;
	}
	if (!prefix && n != len)
		return 0;
	return n;
}

/*
 * An amount as banks and partners spell it: currency marks before or after,
 * thousands separators, parentheses or a trailing minus for negatives, a
 * CR/DR suffix, a plus sign.  decimal_mark is '.', ',' or 0 to infer it (see
 * docs/coercion.md for the rule).
 */
bool
parse_amount_text(const char *s, int len, char decimal_mark, ParsedDecimal *out, CoerceError *err)
{
	bool		neg = false,
				sign_seen = false,
				paren_seen = false,
				suffix_seen = false;
	const char *p,
			   *end;
	int			n,
				ndot = 0,
				ncomma = 0,
				last_dot = -1,
				last_comma = -1;
	char		dec,
				cbuf[8];
	int			group_len = 0,
				groups = 0;
	bool		in_fraction = false,
				seen_digit = false;
	char		sep_used = 0;

	trim(&s, &len);
	memset(out, 0, offsetof(ParsedDecimal, digits));
	if (len == 0)
	{
		coerce_fail(err, COERCE_INVALID_NUMBER, "It is empty.");
		return false;
	}

	/*
	 * Peel sign and currency marks off both ends, in whatever order they
	 * come: "(1,234.50)", "USD (1,234.50)", "1,234.50 DR", "-₦12", "₦-12",
	 * "300.00-", "5 USD".  At most one sign of any kind.
	 */
	for (;;)
	{
		int			cl;
		bool		parens = false;

		/* the usual case: nothing (more) to peel */
		if (len > 0 && is_digit((unsigned char) s[0]) && is_digit((unsigned char) s[len - 1]))
			break;
		if (len >= 2 && s[0] == '(' && s[len - 1] == ')')
		{
			parens = true;
			s++, len -= 2;
		}
		else if (len >= 2 && (equals_ci(s + len - 2, 2, "CR") || equals_ci(s + len - 2, 2, "DR")) &&
				 (len == 2 || !is_alpha((unsigned char) s[len - 3])))
		{
			if (sign_seen)
			{
				coerce_fail(err, COERCE_INVALID_NUMBER, paren_seen ?
							"It has both parentheses and a CR/DR suffix." : "It has more than one sign.");
				return false;
			}
			neg = to_lower((unsigned char) s[len - 2]) == 'd';
			sign_seen = suffix_seen = true;
			len -= 2;
		}
		else if (len >= 1 && (s[len - 1] == '-' || s[0] == '-' || s[0] == '+'))
		{
			if (sign_seen)
			{
				coerce_fail(err, COERCE_INVALID_NUMBER, "It has more than one sign.");
				return false;
			}
			if (s[len - 1] == '-')
				neg = true, len--;
			else
				neg = (s[0] == '-'), s++, len--;
			sign_seen = true;
		}
		else if ((cl = currency_at(s, len, true)) > 0)
			s += cl, len -= cl;
		else
		{
			for (cl = 1; cl <= 3 && cl <= len; cl++)
				if (currency_at(s + len - cl, cl, false) == cl &&
					(cl == len || !is_alpha((unsigned char) s[len - cl - 1])))
					break;
			if (cl > 3 || cl > len)
				break;
			len -= cl;
		}
		if (parens)
		{
			if (sign_seen)
			{
				coerce_fail(err, COERCE_INVALID_NUMBER, suffix_seen ?
							"It has both parentheses and a CR/DR suffix." : "It has more than one sign.");
				return false;
			}
			neg = sign_seen = paren_seen = true;
		}
		trim(&s, &len);
	}

	/* what is left: digits and separators only */
	end = s + len;
	for (p = s, n = 0; p < end; p++, n++)
	{
		if (*p == '.')
			ndot++, last_dot = n;
		else if (*p == ',')
			ncomma++, last_comma = n;
		else if (!is_digit((unsigned char) *p) && *p != ' ')
		{
			if (is_alpha((unsigned char) *p))
				coerce_fail(err, COERCE_INVALID_NUMBER,
							"It has a letter (%s) among the digits.", show_char((unsigned char) *p, cbuf));
			else
				coerce_fail(err, COERCE_INVALID_NUMBER,
							"It has an unexpected character %s.", show_char((unsigned char) *p, cbuf));
			return false;
		}
	}

	/* which mark is the decimal one */
	if (decimal_mark)
		dec = decimal_mark;
	else if (ndot && ncomma)
		dec = last_dot > last_comma ? '.' : ',';
	else if (ncomma == 1 && len - last_comma - 1 >= 1 && len - last_comma - 1 <= 2)
		dec = ',';				/* 12,50: a decimal comma */
	else
		dec = '.';

	if ((dec == '.' ? ndot : ncomma) > 1)
	{
		coerce_fail(err, COERCE_INVALID_NUMBER, "It has two decimal marks (\"%c\").", dec);
		return false;
	}

	/*
	 * Walk the digits; thousands separators (the other mark, or a space)
	 * must split the integer part into groups of three.
	 */
	for (p = s; p < end; p++)
	{
		unsigned char c = (unsigned char) *p;

		if (is_digit(c))
		{
			seen_digit = true;
			group_len++;
			if (!decimal_push(out, c - '0', in_fraction, err))
				return false;
		}
		else if (c == (unsigned char) dec)
		{
			if (groups > 0 && group_len != 3)
			{
				coerce_fail(err, COERCE_INVALID_NUMBER,
							"Its thousands separators do not split the digits in groups of three.");
				return false;
			}
			in_fraction = true;
			group_len = 0;
		}
		else
		{
			/* a thousands separator */
			if (in_fraction)
			{
				coerce_fail(err, COERCE_INVALID_NUMBER,
							"It has a thousands separator after the decimal mark.");
				return false;
			}
			if (sep_used && sep_used != (char) c)
			{
				coerce_fail(err, COERCE_INVALID_NUMBER, "It mixes thousands separators.");
				return false;
			}
			if (group_len == 0 || (groups == 0 && group_len > 3) || (groups > 0 && group_len != 3))
			{
				coerce_fail(err, COERCE_INVALID_NUMBER,
							"Its thousands separators do not split the digits in groups of three.");
				return false;
			}
			sep_used = (char) c;
			groups++;
			group_len = 0;
		}
	}
	if (!in_fraction && groups > 0 && group_len != 3)
	{
		coerce_fail(err, COERCE_INVALID_NUMBER,
					"Its thousands separators do not split the digits in groups of three.");
		return false;
	}
	if (!seen_digit)
	{
		coerce_fail(err, COERCE_INVALID_NUMBER, "It has no digits.");
		return false;
	}
	out->neg = neg;
	return true;
}

/*
 * Rounds to the typmod's scale (half away from zero, as numeric does) and
 * checks its precision.  typmod -1 leaves the number as parsed.
 */
bool
decimal_apply_typmod(ParsedDecimal *d, int32 typmod, CoerceError *err)
{
	int			precision,
				scale,
				intdigits;

	if (typmod < (int32) VARHDRSZ)
		return true;
	precision = cents_typmod_precision(typmod);
	scale = cents_typmod_scale(typmod);
	if (scale < 0)
		scale = 0;				/* negative scales (PG15) are rare; round to units */

	if (d->scale > scale)
	{
		int			drop = d->scale - scale;
		bool		round_up;

		if (drop > d->ndigits)
		{
			/* every digit is below the target scale: 0, or 1 unit if >= half */
			round_up = false;
			d->ndigits = 0;
		}
		else
		{
			round_up = d->digits[d->ndigits - drop] >= 5;
			d->ndigits -= drop;
		}
		d->scale = scale;
		if (round_up)
		{
			int			i = d->ndigits - 1;

			while (i >= 0 && d->digits[i] == 9)
				d->digits[i--] = 0;
			if (i >= 0)
				d->digits[i]++;
			else
			{
				/* all nines (or nothing): a new leading 1 */
				if (d->ndigits >= DECIMAL_MAX_DIGITS)
				{
					coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE, "It has too many digits.");
					return false;
				}
				memmove(d->digits + 1, d->digits, d->ndigits);
				d->digits[0] = 1;
				d->ndigits++;
			}
		}
	}
	/* pad to the target scale */
	while (d->scale < scale)
	{
		if (d->ndigits > 0)
		{
			if (d->ndigits >= DECIMAL_MAX_DIGITS)
			{
				coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE, "It has too many digits.");
				return false;
			}
			d->digits[d->ndigits++] = 0;
		}
		d->scale++;
	}
	intdigits = d->ndigits - d->scale;
	if (intdigits > precision - scale)
	{
		coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE,
					"It needs %d digits before the decimal point and numeric(%d,%d) allows %d.",
					intdigits, precision, scale, precision - scale);
		return false;
	}
	if (d->ndigits == 0)
		d->neg = false;			/* no negative zero */
	return true;
}

/*
 * A parsed decimal as value / 10^scale (the converter's ScaledValue), when
 * its digits fit an int64 (18 of them always do); false if not.
 */
bool
decimal_to_scaled(const ParsedDecimal *d, ScaledValue *out)
{
	int64		v = 0;
	int			i;

	out->valid = d->ndigits <= 18;
	if (!out->valid)
		return false;
	for (i = 0; i < d->ndigits; i++)
		v = v * 10 + d->digits[i];
	out->value = d->neg ? -v : v;
	out->scale = d->scale;
	return true;
}

/* The numeric of a parsed decimal; its display scale is d->scale. */
Numeric
decimal_to_numeric(const ParsedDecimal *d)
{
	ScaledValue sv;

	if (decimal_to_scaled(d, &sv))
		return (Numeric) DatumGetPointer(cents_to_numeric(sv.value, sv.scale));
	else
	{
		/* too long for int64: spell it out and let numeric_in build it */
		char		buf[DECIMAL_TEXT_LEN];

		decimal_to_text(d, buf);
		return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(buf),
												   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	}
}

/*
 * The canonical spelling of a parsed decimal, [-]digits[.digits], into buf
 * (DECIMAL_TEXT_LEN bytes); returns its length.  Exact: no rounding.
 */
int
decimal_to_text(const ParsedDecimal *d, char *buf)
{
	int			n = 0,
				i,
				intdigits = d->ndigits - d->scale;

	if (d->neg && d->ndigits > 0)
		buf[n++] = '-';
	if (intdigits <= 0)
		buf[n++] = '0';
	for (i = 0; i < intdigits; i++)
		buf[n++] = (char) ('0' + d->digits[i]);
	if (d->scale > 0)
	{
		buf[n++] = '.';
		for (i = intdigits; i < d->ndigits; i++)
			buf[n++] = (char) ('0' + (i < 0 ? 0 : d->digits[i]));
	}
	buf[n] = '\0';
	return n;
}

/* The integer value of a parsed decimal that has no fraction. */
bool
decimal_to_int64(const ParsedDecimal *d, int64 *out, CoerceError *err)
{
	int			i,
				intdigits = d->ndigits - d->scale;
	uint64		v = 0;

	for (i = Max(intdigits, 0); i < d->ndigits; i++)
		if (d->digits[i] != 0)
		{
			coerce_fail(err, COERCE_INVALID_INTEGER, "It has a fractional part.");
			return false;
		}
	for (i = 0; i < intdigits; i++)
	{
		if (v > (PG_UINT64_MAX - 9) / 10)
		{
			coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE, "It is out of range for a bigint.");
			return false;
		}
		v = v * 10 + d->digits[i];
	}
	if ((!d->neg && v > (uint64) PG_INT64_MAX) || (d->neg && v > (uint64) PG_INT64_MAX + 1))
	{
		coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE, "It is out of range for a bigint.");
		return false;
	}
	*out = d->neg ? (int64) (0 - v) : (int64) v;
	return true;
}

/*
 * An integer: [sign] digits, with surrounding spaces; with allow_separators
 * also thousands separators (1,234,567 / 1 234 567 / 1.234.567).
 */
bool
parse_int_text(const char *s, int len, bool allow_separators, int64 *out, CoerceError *err)
{
	const char *end;
	bool		neg = false,
				seen = false;
	uint64		v = 0;
	char		cbuf[8];

	trim(&s, &len);
	end = s + len;
	if (s < end && (*s == '+' || *s == '-'))
		neg = (*s++ == '-');
	if (allow_separators)
	{
		int			group_len = 0,
					groups = 0;
		char		sep = 0;
		const char *p;

		for (p = s; p < end; p++)
		{
			if (is_digit((unsigned char) *p))
				group_len++;
			else if ((*p == ',' || *p == '.' || *p == ' ') && (!sep || sep == *p))
			{
				if (group_len == 0 || (groups == 0 && group_len > 3) || (groups > 0 && group_len != 3))
					break;
				sep = *p;
				groups++;
				group_len = 0;
			}
			else
				break;
		}
		if (p < end || (groups > 0 && group_len != 3))
		{
			/* "12.5" and "1,234.5" read as a fraction, not as bad grouping */
			if ((p < end && *p == '.' && sep != '.') ||
				(p == end && sep == '.' && groups == 1))
				coerce_fail(err, COERCE_INVALID_INTEGER, "It has a fractional part.");
			else if (p < end && !is_digit((unsigned char) *p) && *p != ',' && *p != '.' && *p != ' ')
				coerce_fail(err, COERCE_INVALID_INTEGER, "Unexpected character %s.",
							show_char((unsigned char) *p, cbuf));
			else
				coerce_fail(err, COERCE_INVALID_INTEGER,
							"Its thousands separators do not split the digits in groups of three.");
			return false;
		}
	}
	for (; s < end; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (is_digit(c))
		{
			seen = true;
			if (v > (PG_UINT64_MAX - 9) / 10)
			{
				coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE, "It is out of range for a bigint.");
				return false;
			}
			v = v * 10 + (c - '0');
		}
		else if (allow_separators && (c == ',' || c == '.' || c == ' '))
			continue;			/* validated above */
		else
		{
			if (c == '.')
				coerce_fail(err, COERCE_INVALID_INTEGER, "It has a fractional part.");
			else
				coerce_fail(err, COERCE_INVALID_INTEGER, "Unexpected character %s.", show_char(c, cbuf));
			return false;
		}
	}
	if (!seen)
	{
		coerce_fail(err, COERCE_INVALID_INTEGER, "It has no digits.");
		return false;
	}
	if ((!neg && v > (uint64) PG_INT64_MAX) || (neg && v > (uint64) PG_INT64_MAX + 1))
	{
		coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE, "It is out of range for a bigint.");
		return false;
	}
	*out = neg ? (int64) (0 - v) : (int64) v;
	return true;
}

/* A float8 in the syntax strtod accepts (C locale), including NaN and Infinity. */
bool
parse_float8_text(const char *s, int len, float8 *out, CoerceError *err)
{
	char		buf[128];
	char	   *endp;
	double		v;

	trim(&s, &len);
	if (len == 0)
	{
		coerce_fail(err, COERCE_INVALID_NUMBER, "It is empty.");
		return false;
	}
	if (len >= (int) sizeof(buf))
	{
		coerce_fail(err, COERCE_INVALID_NUMBER, "It is longer than %d characters.", (int) sizeof(buf) - 1);
		return false;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtod(buf, &endp);
	if (endp == buf || *endp != '\0')
	{
		coerce_fail(err, COERCE_INVALID_NUMBER, "It is not a number.");
		return false;
	}
	if (errno == ERANGE && (v == 0.0 || isinf(v)))
	{
		coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE, "It is out of range for double precision.");
		return false;
	}
	*out = v;
	return true;
}

/* ---------------------------------------------------------------------
 * Booleans
 * ---------------------------------------------------------------------
 */
bool
parse_bool_text(const char *s, int len, bool *out, CoerceError *err)
{
	static const struct
	{
		const char *word;
		bool		value;
	}			words[] = {
		{"true", true}, {"t", true}, {"yes", true}, {"y", true}, {"on", true}, {"1", true},
		{"false", false}, {"f", false}, {"no", false}, {"n", false}, {"off", false}, {"0", false}
	};
	int			i;

	trim(&s, &len);
	for (i = 0; i < lengthof(words); i++)
		if (equals_ci(s, len, words[i].word))
		{
			*out = words[i].value;
			return true;
		}
	coerce_fail(err, COERCE_INVALID_BOOLEAN,
				"Expected yes/no, y/n, true/false, t/f, 1/0 or on/off.");
	return false;
}

/* ---------------------------------------------------------------------
 * Dates and timestamps
 * ---------------------------------------------------------------------
 */

static const char *const month_names[] = {
	"january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"
};
static const char *const weekday_names[] = {
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
};

/* month number of an English month name or its 3-letter (or "Sept") abbreviation, or 0 */
static int
month_from_word(const char *s, int len)
{
	int			m;

	for (m = 0; m < 12; m++)
	{
		if (equals_ci(s, len, month_names[m]))
			return m + 1;
		if (len == 3 && strncasecmp(s, month_names[m], 3) == 0)
			return m + 1;
	}
	if (equals_ci(s, len, "sept"))
		return 9;
	return 0;
}

static bool
is_weekday_word(const char *s, int len)
{
	int			i;

	for (i = 0; i < 7; i++)
		if (equals_ci(s, len, weekday_names[i]) ||
			(len == 3 && strncasecmp(s, weekday_names[i], 3) == 0))
			return true;
	return false;
}

/* the days of month m (1-12) of year y, from the server's own calendar table */
static int
days_in_month(int y, int m)
{
	return day_tab[isleap(y)][m - 1];
}

/* checks a calendar date and turns it into a DateADT */
static bool
calendar_date(int y, int m, int d, DateADT *out, CoerceCode code, CoerceError *err)
{
	if (y < 1 || y > 9999)
	{
		coerce_fail(err, code, "Year %d is outside 1 to 9999.", y);
		return false;
	}
	if (m < 1 || m > 12)
	{
		coerce_fail(err, code, "Month %d does not exist.", m);
		return false;
	}
	if (d < 1 || d > days_in_month(y, m))
	{
		coerce_fail(err, code, "Day %d does not exist in %c%s %d.", d,
					month_names[m - 1][0] - 32, month_names[m - 1] + 1, y);
		return false;
	}
	*out = date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
	return true;
}

/* a year written with two digits, through the pivot */
static bool
expand_two_digit_year(const DateFormat *fmt, int yy, int *year, CoerceCode code, CoerceError *err)
{
	if (fmt->pivot < 0)
	{
		coerce_fail(err, code,
					"It has a two-digit year; set indicina.two_digit_year_pivot to accept those.");
		return false;
	}
	*year = yy < fmt->pivot ? 2000 + yy : 1900 + yy;
	return true;
}

/* reads 1..maxdigits digits at *p; returns the count read (0 if none) */
static int
read_digits(const char **p, const char *end, int maxdigits, int *value)
{
	int			n = 0,
				v = 0;

	while (*p < end && n < maxdigits && is_digit((unsigned char) **p))
	{
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*value = v;
	return n;
}

/*
 * The digits of a fraction of a second at *p (after its point), read past:
 * *frac gets the microseconds of the first six (later ones are dropped).
 * Returns how many digits there were.
 */
static int
read_fraction(const char **p, const char *end, int64 *frac)
{
	int			n = 0;

	*frac = 0;
	while (*p < end && is_digit((unsigned char) **p))
	{
		if (n < 6)
			*frac = *frac * 10 + (**p - '0');
		n++;
		(*p)++;
	}
	for (int i = n; i < 6; i++)
		*frac *= 10;
	return n;
}

/*
 * The time of day after a date: HH:MI[:SS[.ffffff]] [AM|PM].  Returns
 * microseconds since midnight.
 */
static bool
parse_time_part(const char *s, int len, int64 *usec, CoerceCode code, CoerceError *err)
{
	const char *p = s,
			   *end = s + len;
	int			h,
				mi,
				sec = 0;
	int64		frac = 0;

	trim(&p, &len);
	end = p + len;
	if (read_digits(&p, end, 2, &h) == 0 || p >= end || *p != ':')
	{
		coerce_fail(err, code, "The time is not HH:MI[:SS].");
		return false;
	}
	p++;
	if (read_digits(&p, end, 2, &mi) != 2)
	{
		coerce_fail(err, code, "The time is not HH:MI[:SS].");
		return false;
	}
	if (p < end && *p == ':')
	{
		p++;
		if (read_digits(&p, end, 2, &sec) != 2)
		{
			coerce_fail(err, code, "The seconds are not two digits.");
			return false;
		}
		if (p < end && *p == '.')
		{
			p++;
			if (read_fraction(&p, end, &frac) == 0)
			{
				coerce_fail(err, code, "The fraction of a second has no digits.");
				return false;
			}
		}
	}
	while (p < end && *p == ' ')
		p++;
	if (end - p == 2 && (equals_ci(p, 2, "am") || equals_ci(p, 2, "pm")))
	{
		if (h < 1 || h > 12)
		{
			coerce_fail(err, code, "Hour %d does not exist on a 12-hour clock.", h);
			return false;
		}
		h = h % 12 + (to_lower((unsigned char) *p) == 'p' ? 12 : 0);
		p += 2;
	}
	if (p < end)
	{
		if (*p == 'Z' || *p == '+' || *p == '-')
			coerce_fail(err, code, "It has a time zone; use timestamptz for such values.");
		else
			coerce_fail(err, code, "Unexpected text after the time.");
		return false;
	}
	if (h > 23 || mi > 59 || sec > 59)
	{
		coerce_fail(err, code, "Time %02d:%02d:%02d does not exist.", h, mi, sec);
		return false;
	}
	*usec = ((int64) h * 3600 + mi * 60 + sec) * USECS_PER_SEC + frac;
	return true;
}

typedef struct DateToken
{
	bool		is_num;
	const char *s;
	int			len;			/* digits or letters, without an ordinal suffix */
	int			value;
} DateToken;

/*
 * The dates "auto" recognises: ISO and other year-first numeric dates,
 * YYYYMMDD, day-first (or month-first, per fmt->order) numeric dates, and
 * dates with an English month name in any common order, with or without
 * ordinal suffixes and a weekday.
 */
static bool
parse_date_auto(const DateFormat *fmt, const char *s, int len, DateADT *out, CoerceCode code,
				CoerceError *err)
{
	DateToken	tok[6];
	int			ntok = 0,
				nnum = 0,
				month_tok = -1;
	const char *p = s,
			   *end = s + len;
	int			y,
				m,
				d,
				i;

	/* YYYYMMDD */
	if (len == 8)
	{
		for (i = 0; i < 8 && is_digit((unsigned char) s[i]); i++)
			;
		if (i == 8)
			return calendar_date((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0'),
							 (s[4] - '0') * 10 + (s[5] - '0'), (s[6] - '0') * 10 + (s[7] - '0'),
							 out, code, err);
	}

	while (p < end)
	{
		if (*p == '-' || *p == '/' || *p == '.' || *p == ',' || *p == ' ')
		{
			p++;
			continue;
		}
		if (ntok == lengthof(tok))
		{
			coerce_fail(err, code, "It has too many parts for a date.");
			return false;
		}
		tok[ntok].s = p;
		if (is_digit((unsigned char) *p))
		{
			int			v = 0;

			while (p < end && is_digit((unsigned char) *p))
			{
				if (p - tok[ntok].s < 9)
					v = v * 10 + (*p - '0');
				p++;
			}
			tok[ntok].is_num = true;
			tok[ntok].len = (int) (p - tok[ntok].s);
			tok[ntok].value = v;
			/* 1st, 2nd, 3rd, 4th */
			if (end - p >= 2 && (equals_ci(p, 2, "st") || equals_ci(p, 2, "nd") ||
								 equals_ci(p, 2, "rd") || equals_ci(p, 2, "th")) &&
				(end - p == 2 || !is_alpha((unsigned char) p[2])))
				p += 2;
			nnum++;
		}
		else if (is_alpha((unsigned char) *p))
		{
			while (p < end && is_alpha((unsigned char) *p))
				p++;
			tok[ntok].is_num = false;
			tok[ntok].len = (int) (p - tok[ntok].s);
			if (is_weekday_word(tok[ntok].s, tok[ntok].len) || equals_ci(tok[ntok].s, tok[ntok].len, "of"))
				continue;		/* "Thursday, 5th of January 2023" */
			if (month_from_word(tok[ntok].s, tok[ntok].len) == 0 || month_tok >= 0)
			{
				coerce_fail(err, code, "\"%.*s\" is not a month name.", Min(tok[ntok].len, 20), tok[ntok].s);
				return false;
			}
			month_tok = ntok;
		}
		else
		{
			char		cbuf[8];

			coerce_fail(err, code, "Unexpected character %s.", show_char((unsigned char) *p, cbuf));
			return false;
		}
		ntok++;
	}

	if (month_tok >= 0 && ntok == 3 && nnum == 2)
	{
		/* a month name: the four-digit number is the year, the other the day */
		DateToken  *a = NULL,
				   *b = NULL;

		for (i = 0; i < 3; i++)
			if (i != month_tok)
			{
				if (!a)
					a = &tok[i];
				else
					b = &tok[i];
			}
		m = month_from_word(tok[month_tok].s, tok[month_tok].len);
		if (a->len == 4 && b->len <= 2)
			y = a->value, d = b->value;
		else if (b->len == 4 && a->len <= 2)
			y = b->value, d = a->value;
		else if (a->len <= 2 && b->len <= 2)
		{
			/* 5 Jan 23 / Jan 5, 23: the last number is the year */
			if (!expand_two_digit_year(fmt, b->value, &y, code, err))
				return false;
			d = a->value;
		}
		else
		{
			coerce_fail(err, code, "It has no four-digit year.");
			return false;
		}
		return calendar_date(y, m, d, out, code, err);
	}
	if (month_tok < 0 && ntok == 3)
	{
		int			a = tok[0].value,
					b = tok[1].value,
					c = tok[2].value;

		if (tok[0].len == 4 && tok[1].len <= 2 && tok[2].len <= 2)
			return calendar_date(a, b, c, out, code, err);	/* year first */
		if (fmt->order == DATE_ORDER_YMD && tok[0].len == 2 && tok[1].len <= 2 && tok[2].len <= 2)
		{
			/* 23/01/05 read year first */
			if (!expand_two_digit_year(fmt, a, &y, code, err))
				return false;
			return calendar_date(y, b, c, out, code, err);
		}
		if (tok[0].len > 2 || tok[1].len > 2 || (tok[2].len != 4 && tok[2].len != 2))
		{
			coerce_fail(err, code, "It is not a date this parser recognises.");
			return false;
		}
		if (tok[2].len == 2)
		{
			if (!expand_two_digit_year(fmt, c, &y, code, err))
				return false;
		}
		else
			y = c;
		if (fmt->order == DATE_ORDER_MDY)
			m = a, d = b;
		else
			d = a, m = b;
		if (m > 12 || d > days_in_month(y, m >= 1 && m <= 12 ? m : 1))
		{
			/* impossible in the stated order: say whether the other would do */
			int			m2 = (fmt->order == DATE_ORDER_MDY) ? b : a;
			int			d2 = (fmt->order == DATE_ORDER_MDY) ? a : b;

			if (m2 >= 1 && m2 <= 12 && d2 >= 1 && d2 <= days_in_month(y, m2))
			{
				coerce_fail(err, code, "It is not a valid %s date (it would be one as %s: set the date order).",
							fmt->order == DATE_ORDER_MDY ? "month-first" : "day-first",
							fmt->order == DATE_ORDER_MDY ? "day-first" : "month-first");
				return false;
			}
		}
		return calendar_date(y, m, d, out, code, err);
	}
	coerce_fail(err, code, "It is not a date this parser recognises.");
	return false;
}

/* an Excel serial day number (1 = 1900-01-01, keeping Excel's 1900-02-29) */
static bool
parse_date_excel(const char *s, int len, DateADT *out, int64 *usec, CoerceCode code, CoerceError *err)
{
	ParsedDecimal d;
	int64		serial = 0;
	int			i,
				intdigits;
	double		frac = 0,
				scale = 0.1;

	if (!parse_number_plain(s, len, &d, err) || d.neg)
	{
		coerce_fail(err, code, "It is not an Excel serial day number.");
		return false;
	}
	intdigits = d.ndigits - d.scale;
	for (i = 0; i < intdigits; i++)
	{
		serial = serial * 10 + d.digits[i];
		if (serial > 2958465)
			break;
	}
	for (i = intdigits; i < d.ndigits; i++, scale /= 10)
		frac += (i < 0 ? 0 : d.digits[i]) * scale;
	if (serial < 1 || serial > 2958465)
	{
		coerce_fail(err, code, "Excel serial %lld is outside 1 (1900-01-01) to 2958465 (9999-12-31).",
					(long long) serial);
		return false;
	}
	if (serial == 60)
	{
		coerce_fail(err, code, "Excel serial 60 is 1900-02-29, a day that does not exist.");
		return false;
	}
	/* serials after the phantom leap day count from 1899-12-30, earlier ones from 1899-12-31 */
	*out = date2j(1899, 12, serial > 60 ? 30 : 31) - POSTGRES_EPOCH_JDATE + (DateADT) serial;
	if (usec)
		*usec = (int64) (frac * USECS_PER_DAY + 0.5);
	return true;
}

/*
 * Compiles "auto", "excel", "iso" or a pattern such as "DD/MM/YYYY",
 * "DD-Mon-YYYY", "YYYYMMDD", "YYYY-MM-DD HH24:MI:SS".  date order and pivot
 * are left for the caller.
 */
bool
date_format_compile(const char *spec, DateFormat *fmt, char *errbuf, int errlen)
{
	static const struct
	{
		const char *name;
		DateTokenKind kind;
	}			names[] = {
		{"YYYY", DTOK_YYYY}, {"Month", DTOK_MONTH}, {"MONTH", DTOK_MONTH}, {"HH24", DTOK_HH24},
		{"HH12", DTOK_HH12}, {"Mon", DTOK_MON}, {"MON", DTOK_MON}, {"YY", DTOK_YY},
		{"MM", DTOK_MM}, {"DD", DTOK_DD}, {"HH", DTOK_HH12}, {"MI", DTOK_MI},
		{"SS", DTOK_SS}, {"FF", DTOK_FF}, {"AM", DTOK_AMPM}, {"PM", DTOK_AMPM}
	};
	const char *p = spec;

	memset(fmt, 0, sizeof(*fmt));
	fmt->order = DATE_ORDER_DMY;
	fmt->pivot = -1;
	snprintf(fmt->text, sizeof(fmt->text), "%s", spec);
	if (pg_strcasecmp(spec, "auto") == 0)
	{
		fmt->mode = DATE_AUTO;
		return true;
	}
	if (pg_strcasecmp(spec, "excel") == 0)
	{
		fmt->mode = DATE_EXCEL;
		return true;
	}
	if (pg_strcasecmp(spec, "iso") == 0)
	{
		fmt->mode = DATE_ISO;
		return true;
	}
	fmt->mode = DATE_PATTERN;
	while (*p)
	{
		int			i;
		bool		matched = false;

		if (fmt->ntokens >= DATE_PATTERN_MAX_TOKENS)
		{
			snprintf(errbuf, errlen, "date format \"%s\" is too long", spec);
			return false;
		}
		for (i = 0; i < lengthof(names); i++)
		{
			int			nl = (int) strlen(names[i].name);

			if (strncmp(p, names[i].name, nl) == 0)
			{
				fmt->tokens[fmt->ntokens++].kind = names[i].kind;
				p += nl;
				matched = true;
				break;
			}
		}
		if (matched)
			continue;
		if (is_alpha((unsigned char) *p) || is_digit((unsigned char) *p))
		{
			snprintf(errbuf, errlen,
					 "date format \"%s\" has \"%c\" where YYYY, YY, MM, DD, Mon, Month, HH24, HH12, MI, SS, FF, AM or a separator was expected",
					 spec, *p);
			return false;
		}
		fmt->tokens[fmt->ntokens].kind = DTOK_LITERAL;
		fmt->tokens[fmt->ntokens++].literal = *p++;
	}
	for (int i = 0; i < fmt->ntokens; i++)
		if (fmt->tokens[i].kind == DTOK_YYYY || fmt->tokens[i].kind == DTOK_YY)
			return true;
	snprintf(errbuf, errlen, "date format \"%s\" has no year (YYYY or YY)", spec);
	return false;
}

static bool
is_digit_token(const DateFormat *fmt, int i)
{
	DateTokenKind k;

	if (i < 0 || i >= fmt->ntokens)
		return false;
	k = fmt->tokens[i].kind;
	return k != DTOK_LITERAL && k != DTOK_MON && k != DTOK_MONTH && k != DTOK_AMPM;
}

/* packed against another digit field (YYYYMMDD): then read at full width */
static bool
packed_field(const DateFormat *fmt, int i)
{
	return is_digit_token(fmt, i - 1) || is_digit_token(fmt, i + 1);
}

static bool
parse_with_pattern(const DateFormat *fmt, const char *s, int len, DateADT *date, int64 *usec,
				   CoerceCode code, CoerceError *err)
{
	const char *p = s,
			   *end = s + len;
	int			y = -1,
				m = -1,
				d = -1,
				h = 0,
				mi = 0,
				sec = 0,
				i,
				v,
				n;
	int64		frac = 0;
	int			ampm = -1;
	bool		h12 = false;

	for (i = 0; i < fmt->ntokens; i++)
	{
		DateTokenKind k = fmt->tokens[i].kind;
		int			width = 2;

		switch (k)
		{
			case DTOK_LITERAL:
				if (fmt->tokens[i].literal == ' ')
				{
					if (p >= end || *p != ' ')
						goto mismatch;
					while (p < end && *p == ' ')
						p++;
				}
				else
				{
					if (p >= end || *p != fmt->tokens[i].literal)
						goto mismatch;
					p++;
				}
				break;
			case DTOK_YYYY:
				if (read_digits(&p, end, 4, &y) != 4)
					goto mismatch;
				break;
			case DTOK_YY:
				if (read_digits(&p, end, 2, &v) != 2)
					goto mismatch;
				if (!expand_two_digit_year(fmt, v, &y, code, err))
					return false;
				break;
			case DTOK_MON:
			case DTOK_MONTH:
				{
					const char *w = p;

					while (p < end && is_alpha((unsigned char) *p))
						p++;
					m = month_from_word(w, (int) (p - w));
					if (m == 0)
						goto mismatch;
					break;
				}
			case DTOK_AMPM:
				if (end - p < 2 || !(equals_ci(p, 2, "am") || equals_ci(p, 2, "pm")))
					goto mismatch;
				ampm = to_lower((unsigned char) *p) == 'p';
				p += 2;
				break;
			case DTOK_FF:
				if (read_fraction(&p, end, &frac) == 0)
					goto mismatch;
				break;
			default:
				/* two-digit fields: one or two digits unless packed against another */
				n = read_digits(&p, end, width, &v);
				if (n == 0 || (n == 1 && packed_field(fmt, i)))
					goto mismatch;
				if (k == DTOK_MM)
					m = v;
				else if (k == DTOK_DD)
					d = v;
				else if (k == DTOK_HH24)
					h = v;
				else if (k == DTOK_HH12)
					h = v, h12 = true;
				else if (k == DTOK_MI)
					mi = v;
				else
					sec = v;
				break;
		}
	}
	if (p < end)
		goto mismatch;
	if (m < 0)
		m = 1;
	if (d < 0)
		d = 1;
	if (!calendar_date(y, m, d, date, code, err))
		return false;
	if (h12 || ampm >= 0)
	{
		if (h < 1 || h > 12)
		{
			coerce_fail(err, code, "Hour %d does not exist on a 12-hour clock.", h);
			return false;
		}
		h = h % 12 + (ampm == 1 ? 12 : 0);
	}
	if (h > 23 || mi > 59 || sec > 59)
	{
		coerce_fail(err, code, "Time %02d:%02d:%02d does not exist.", h, mi, sec);
		return false;
	}
	if (usec)
		*usec = ((int64) h * 3600 + mi * 60 + sec) * USECS_PER_SEC + frac;
	return true;

mismatch:
	coerce_fail(err, code, "It does not match the format \"%s\".", fmt->text);
	return false;
}

/* splits "date[T| ]time" at the space or T before HH:MI; time_len 0 if none */
static void
split_date_time(const char *s, int len, int *date_len, const char **time_s, int *time_len)
{
	int			colon,
				i;

	for (colon = 0; colon < len && s[colon] != ':'; colon++)
		;
	*date_len = len;
	*time_len = 0;
	if (colon == len)
		return;
	/* back over the hour digits to the separator */
	for (i = colon - 1; i >= 0 && is_digit((unsigned char) s[i]); i--)
		;
	if (i <= 0 || !(s[i] == ' ' || s[i] == 'T' || s[i] == 't'))
		return;
	*date_len = i;
	*time_s = s + i + 1;
	*time_len = len - i - 1;
}

static bool
parse_date_iso(const char *s, int len, DateADT *out, CoerceCode code, CoerceError *err)
{
	if (len == 10 && s[4] == '-' && s[7] == '-' &&
		is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) &&
		is_digit(s[5]) && is_digit(s[6]) && is_digit(s[8]) && is_digit(s[9]))
		return calendar_date((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0'),
						 (s[5] - '0') * 10 + (s[6] - '0'), (s[8] - '0') * 10 + (s[9] - '0'),
						 out, code, err);
	coerce_fail(err, code, "It is not an ISO date (YYYY-MM-DD).");
	return false;
}

/*
 * A date in the given format.  In "auto" and "iso" a trailing time of day
 * is allowed (and must be valid) but dropped, so a timestamp column's
 * export still reads as a date.
 */
bool
parse_date_text(const DateFormat *fmt, const char *s, int len, DateADT *out, CoerceError *err)
{
	const char *ts;
	int			dl,
				tl;
	int64		usec;

	trim(&s, &len);
	if (len == 0)
	{
		coerce_fail(err, COERCE_INVALID_DATE, "It is empty.");
		return false;
	}
	switch (fmt->mode)
	{
		case DATE_PATTERN:
			return parse_with_pattern(fmt, s, len, out, NULL, COERCE_INVALID_DATE, err);
		case DATE_EXCEL:
			return parse_date_excel(s, len, out, NULL, COERCE_INVALID_DATE, err);
		default:
			break;
	}
	split_date_time(s, len, &dl, &ts, &tl);
	if (tl > 0 && !parse_time_part(ts, tl, &usec, COERCE_INVALID_DATE, err))
		return false;
	if (fmt->mode == DATE_ISO)
		return parse_date_iso(s, dl, out, COERCE_INVALID_DATE, err);
	return parse_date_auto(fmt, s, dl, out, COERCE_INVALID_DATE, err);
}

/* A timestamp without time zone: a date as above, then an optional time of day. */
bool
parse_timestamp_text(const DateFormat *fmt, const char *s, int len, Timestamp *out, CoerceError *err)
{
	const char *ts;
	int			dl,
				tl;
	int64		usec = 0;
	DateADT		date;
	bool		ok;

	trim(&s, &len);
	if (len == 0)
	{
		coerce_fail(err, COERCE_INVALID_TIMESTAMP, "It is empty.");
		return false;
	}
	if (fmt->mode == DATE_PATTERN)
		ok = parse_with_pattern(fmt, s, len, &date, &usec, COERCE_INVALID_TIMESTAMP, err);
	else if (fmt->mode == DATE_EXCEL)
		ok = parse_date_excel(s, len, &date, &usec, COERCE_INVALID_TIMESTAMP, err);
	else
	{
		split_date_time(s, len, &dl, &ts, &tl);
		if (tl > 0 && !parse_time_part(ts, tl, &usec, COERCE_INVALID_TIMESTAMP, err))
			return false;
		if (fmt->mode == DATE_ISO)
			ok = parse_date_iso(s, dl, &date, COERCE_INVALID_TIMESTAMP, err);
		else
			ok = parse_date_auto(fmt, s, dl, &date, COERCE_INVALID_TIMESTAMP, err);
	}
	if (!ok)
		return false;
	*out = (Timestamp) date * USECS_PER_DAY + usec;
	if (!IS_VALID_TIMESTAMP(*out))
	{
		coerce_fail(err, COERCE_INVALID_TIMESTAMP, "It is out of range for a timestamp.");
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * Identifiers
 * ---------------------------------------------------------------------
 */

/*
 * Trims, upper-cases ASCII letters and collapses inner runs of white space
 * to one space: "cust_0001 " -> "CUST_0001".  out needs len + 1 bytes.
 * Returns the length, or -1 (with err) for a blank identifier.
 */
int
normalize_id_text(const char *s, int len, char *out, CoerceError *err)
{
	int			n = 0,
				i;
	bool		space = false;

	trim(&s, &len);
	if (len == 0)
	{
		coerce_fail(err, COERCE_INVALID_ID, "The identifier is blank.");
		return -1;
	}
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (is_space(c))
		{
			space = true;
			continue;
		}
		if (space)
			out[n++] = ' ';
		space = false;
		out[n++] = (c >= 'a' && c <= 'z') ? c - ('a' - 'A') : (char) c;
	}
	out[n] = '\0';
	return n;
}

/* national numbering plans the phone normaliser knows */
static const struct
{
	const char *country;
	const char *code;			/* country calling code */
	int			national_len;	/* digits after the code */
	const char *first_digits;	/* allowed first national digits (mobile and fixed) */
	bool		trunk_zero;		/* written nationally with a leading 0 */
}			phone_plans[] = {
	{"NG", "234", 10, "789", true},
	{"GH", "233", 9, "235", true},
	{"KE", "254", 9, "17", true},
	{"ZA", "27", 9, "12345678", true},
	{"GB", "44", 10, "1237", true},
	{"US", "1", 10, "23456789", false},
};

/*
 * A phone number in E.164 (+<code><national number>) for the country's
 * plan: "08031234567", "2348031234567", "+234 803 123 4567", "00234...".
 * out needs 20 bytes.  Returns the length or -1 with err.
 */
int
normalize_phone_text(const char *s, int len, const char *country, char *out, CoerceError *err)
{
	char		digits[32];
	int			nd = 0,
				i,
				plan = -1,
				cl;
	bool		plus = false;
	const char *national;
	int			nlen;

	for (i = 0; i < lengthof(phone_plans); i++)
		if (pg_strcasecmp(country, phone_plans[i].country) == 0)
			plan = i;
	if (plan < 0)
	{
		coerce_fail(err, COERCE_INVALID_PHONE,
					"Country \"%s\" is not one of NG, GH, KE, ZA, GB, US.", country);
		return -1;
	}
	trim(&s, &len);
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (is_digit(c))
		{
			if (nd >= (int) sizeof(digits) - 1)
			{
				coerce_fail(err, COERCE_INVALID_PHONE, "It has too many digits for a phone number.");
				return -1;
			}
			digits[nd++] = (char) c;
		}
		else if (c == '+' && nd == 0 && !plus)
			plus = true;
		else if (c == ' ' || c == '-' || c == '(' || c == ')' || c == '.')
			continue;
		else
		{
			char		cbuf[8];

			coerce_fail(err, COERCE_INVALID_PHONE, "It has an unexpected character %s.", show_char(c, cbuf));
			return -1;
		}
	}
	digits[nd] = '\0';
	cl = (int) strlen(phone_plans[plan].code);
	national = digits;
	nlen = nd;
	if (plus || (nd > 2 && digits[0] == '0' && digits[1] == '0'))
	{
		/* international form: +CC... or 00CC... */
		const char *d = plus ? digits : digits + 2;
		int			dl = plus ? nd : nd - 2;

		if (dl < cl || strncmp(d, phone_plans[plan].code, cl) != 0)
		{
			coerce_fail(err, COERCE_INVALID_PHONE, "It does not start with country code +%s (%s).",
						phone_plans[plan].code, phone_plans[plan].country);
			return -1;
		}
		national = d + cl;
		nlen = dl - cl;
	}
	else if (nd == cl + phone_plans[plan].national_len && strncmp(digits, phone_plans[plan].code, cl) == 0)
	{
		national = digits + cl;
		nlen = nd - cl;
	}
	else if (phone_plans[plan].trunk_zero && nd > 0 && digits[0] == '0')
	{
		national = digits + 1;
		nlen = nd - 1;
	}
	else if (!phone_plans[plan].trunk_zero && nd == phone_plans[plan].national_len + 1 && digits[0] == '1')
	{
		national = digits + 1;
		nlen = nd - 1;
	}
	else if (phone_plans[plan].trunk_zero)
	{
		coerce_fail(err, COERCE_INVALID_PHONE,
					"A national number must start with 0 and an international one with +%s.",
					phone_plans[plan].code);
		return -1;
	}
	if (nlen != phone_plans[plan].national_len)
	{
		coerce_fail(err, COERCE_INVALID_PHONE, "It has %d digits after the country code; %s numbers have %d.",
					nlen, phone_plans[plan].country, phone_plans[plan].national_len);
		return -1;
	}
	if (!strchr(phone_plans[plan].first_digits, national[0]))
	{
		coerce_fail(err, COERCE_INVALID_PHONE, "%s numbers do not start with %c after the country code.",
					phone_plans[plan].country, national[0]);
		return -1;
	}
	return snprintf(out, 20, "+%s%.*s", phone_plans[plan].code, nlen, national);
}

/* A Bank Verification Number: exactly 11 digits (no published check digit). */
bool
bvn_is_valid(const char *s, int len)
{
	int			i;

	if (len != 11)
		return false;
	for (i = 0; i < 11; i++)
		if (!is_digit((unsigned char) s[i]))
			return false;
	return true;
}

/*
 * The lookup key of a label: its ASCII letters and digits, lower-cased
 * ("Self-Employed", " SELF employed " -> "selfemployed").  Other bytes
 * (accents, multibyte characters) are kept as they are.  Returns the length.
 */
int
label_key(const char *s, int len, char *out, int outlen)
{
	int			n = 0,
				i;

	for (i = 0; i < len && n < outlen - 1; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (is_digit(c) || is_alpha(c))
			out[n++] = (char) to_lower(c);
		else if (c >= 0x80)
			out[n++] = (char) c;
	}
	out[n] = '\0';
	return n;
}
