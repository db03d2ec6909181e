/*-------------------------------------------------------------------------
 *
 * coerce.h
 *		The lenient parsers shared by the SQL functions (coerce_sql.c) and the
 *		foreign-data wrapper's scan.
 *
 * Every parser here is non-throwing: it returns true and the value, or
 * false with a stable code and a one-sentence reason in a CoerceError, so a
 * scan can turn a failure into a reject record without a subtransaction.
 * Inputs are (pointer, length) pairs and need not be NUL-terminated.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_COERCE_H
#define INDICINA_COERCE_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/date.h"
#include "utils/numeric.h"

#include "core/cents.h"

/* stable codes, as they appear in reject records (see coerce_code_name) */
typedef enum CoerceCode
{
	COERCE_OK = 0,
	COERCE_INVALID_NUMBER,
	COERCE_NUMBER_OUT_OF_RANGE,
	COERCE_INVALID_INTEGER,
	COERCE_INVALID_DATE,
	COERCE_INVALID_TIMESTAMP,
	COERCE_INVALID_BOOLEAN,
	COERCE_VALUE_TOO_LONG,
	COERCE_INVALID_LABEL,
	COERCE_INVALID_PHONE,
	COERCE_INVALID_ID,
	COERCE_INVALID_VALUE		/* a type's own input function refused it */
} CoerceCode;

#define COERCE_REASON_LEN 200

typedef struct CoerceError
{
	CoerceCode	code;
	char		reason[COERCE_REASON_LEN];	/* a sentence, ends with a period */
} CoerceError;

/*
 * A decimal number as parsed: value = digits * 10^-scale.  Leading zeros are
 * not kept, so ndigits may be smaller than scale (0.05: "5", scale 2).
 */
#define DECIMAL_MAX_DIGITS 60
#define DECIMAL_MAX_SCALE 100
/* room for the canonical text of any ParsedDecimal: sign, digits, point, zeros */
#define DECIMAL_TEXT_LEN (DECIMAL_MAX_DIGITS + DECIMAL_MAX_SCALE + 8)
typedef struct ParsedDecimal
{
	bool		neg;
	int			ndigits;
	int			scale;
	char		digits[DECIMAL_MAX_DIGITS];	/* values 0..9, most significant first */
} ParsedDecimal;

/* how dates are spelled: a strict ISO date, a pattern, anything known, or Excel serials */
typedef enum DateMode
{
	DATE_ISO,
	DATE_PATTERN,
	DATE_AUTO,
	DATE_EXCEL
} DateMode;

typedef enum DateFieldOrder
{
	DATE_ORDER_DMY,
	DATE_ORDER_MDY,
	DATE_ORDER_YMD
} DateFieldOrder;

typedef enum DateTokenKind
{
	DTOK_LITERAL,
	DTOK_YYYY,
	DTOK_YY,
	DTOK_MM,
	DTOK_DD,
	DTOK_MON,
	DTOK_MONTH,
	DTOK_HH24,
	DTOK_HH12,
	DTOK_MI,
	DTOK_SS,
	DTOK_FF,
	DTOK_AMPM
} DateTokenKind;

#define DATE_PATTERN_MAX_TOKENS 32
typedef struct DateFormat
{
	DateMode	mode;
	DateFieldOrder	order;			/* numeric dates in DATE_AUTO */
	int			pivot;			/* two-digit years: YY < pivot is 20YY, else 19YY; -1 refuses them */
	int			ntokens;
	struct
	{
		DateTokenKind kind;
		char		literal;
	}			tokens[DATE_PATTERN_MAX_TOKENS];
	char		text[64];		/* the pattern as written, for messages */
} DateFormat;

/* in coerce.c */
extern const char *coerce_code_name(CoerceCode code);
extern void coerce_fail(CoerceError *err, CoerceCode code, const char *fmt,...) pg_attribute_printf(3, 4);

extern bool parse_number_plain(const char *s, int len, ParsedDecimal *out, CoerceError *err);
extern bool parse_amount_text(const char *s, int len, char decimal_mark, ParsedDecimal *out, CoerceError *err);
extern bool decimal_apply_typmod(ParsedDecimal *d, int32 typmod, CoerceError *err);
extern bool decimal_to_scaled(const ParsedDecimal *d, ScaledValue *out);
extern Numeric decimal_to_numeric(const ParsedDecimal *d);
extern int	decimal_to_text(const ParsedDecimal *d, char *buf);
extern bool decimal_to_int64(const ParsedDecimal *d, int64 *out, CoerceError *err);
extern bool parse_int_text(const char *s, int len, bool allow_separators, int64 *out, CoerceError *err);
extern bool parse_float8_text(const char *s, int len, float8 *out, CoerceError *err);
extern bool parse_bool_text(const char *s, int len, bool *out, CoerceError *err);

extern bool date_format_compile(const char *spec, DateFormat *fmt, char *errbuf, int errlen);
extern bool parse_date_text(const DateFormat *fmt, const char *s, int len, DateADT *out, CoerceError *err);
extern bool parse_timestamp_text(const DateFormat *fmt, const char *s, int len, Timestamp *out, CoerceError *err);

extern int	normalize_id_text(const char *s, int len, char *out, CoerceError *err);
extern int	normalize_phone_text(const char *s, int len, const char *country, char *out, CoerceError *err);
extern bool bvn_is_valid(const char *s, int len);
extern int	label_key(const char *s, int len, char *out, int outlen);

#endif							/* INDICINA_COERCE_H */
