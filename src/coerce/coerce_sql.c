/*-------------------------------------------------------------------------
 *
 * coerce_sql.c
 *		The lenient parsers of coerce.c as SQL functions: indicina.parse_*,
 *		normalize_*, is_valid_bvn, each with a try_ variant that returns
 *		NULL instead of raising an error; and the GUCs they read.
 *
 * Errors are ERRCODE_INVALID_TEXT_REPRESENTATION, name the input (cut to 100
 * bytes) and say in the detail what is wrong and in the hint what was
 * expected.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "coerce/coerce.h"
#include "coerce/coerce_sql.h"
#include "coerce/labels.h"

/* GUCs */
int			indicina_date_order = DATE_ORDER_DMY;
int			indicina_two_digit_year_pivot = -1;

static const struct config_enum_entry date_order_options[] = {
	{"DMY", DATE_ORDER_DMY, false},
	{"MDY", DATE_ORDER_MDY, false},
	{"YMD", DATE_ORDER_YMD, false},
	{"dmy", DATE_ORDER_DMY, true},
	{"mdy", DATE_ORDER_MDY, true},
	{"ymd", DATE_ORDER_YMD, true},
	{NULL, 0, false}
};

void
coerce_init(void)
{
	DefineCustomEnumVariable("indicina.date_order",
							 "Order of day and month in numeric dates such as 05/01/2023.",
							 "DMY reads 05/01/2023 as 5 January (the default), MDY as May 1.",
							 &indicina_date_order, DATE_ORDER_DMY, date_order_options,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("indicina.two_digit_year_pivot",
							"Two-digit years below this are 20YY, others 19YY; -1 refuses two-digit years.",
							NULL, &indicina_two_digit_year_pivot, -1, -1, 100,
							PGC_USERSET, 0, NULL, NULL, NULL);
}

/* the input as shown in an error message: at most 100 bytes, whole characters */
static char *
shown(text *t)
{
	int			len = VARSIZE_ANY_EXHDR(t);

	if (len > 100)
		len = pg_mbcliplen(VARDATA_ANY(t), len, 100);
	return pnstrdup(VARDATA_ANY(t), len);
}

static void
report(const CoerceError *err, const char *what, text *input, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid %s: \"%s\"", what, shown(input)),
			 errdetail("%s", err->reason),
			 errhint("%s", expected)));
}

#define HINT_AMOUNT "Expected an amount such as 1234.50, -1,234.50, (1,234.50), 1,234.50 DR or NGN 1,234.50."
#define HINT_DATE "Expected a date such as 2023-01-05, 05/01/2023, 05-Jan-2023, 5th January 2023 or 20230105."
#define HINT_TIMESTAMP "Expected a timestamp such as 2023-01-05 14:30:00 or 05/01/2023 2:30 PM."
#define HINT_INT "Expected an integer such as 1234, -1234 or 1,234,567."
#define HINT_BOOL "Expected yes/no, y/n, true/false, t/f, 1/0 or on/off, in any case."
#define HINT_PHONE "Expected a phone number such as 08031234567, 2348031234567 or +234 803 123 4567."
#define HINT_ID "Expected a non-blank identifier."

/*
 * The two SQL functions of one parser: indicina_NAME raises the parser's
 * error on bad input, indicina_try_NAME returns NULL instead; COMMON does
 * the work for both (its last argument says which).
 */
#define SQL_PARSER(name, common) \
	PG_FUNCTION_INFO_V1(indicina_##name); \
	Datum \
	indicina_##name(PG_FUNCTION_ARGS) \
	{ \
		return common(fcinfo, false); \
	} \
	PG_FUNCTION_INFO_V1(indicina_try_##name); \
	Datum \
	indicina_try_##name(PG_FUNCTION_ARGS) \
	{ \
		return common(fcinfo, true); \
	}

/* ---- amounts ---- */

static char
decimal_mark_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *t;
	char	   *s;

	if (PG_NARGS() <= argno)
		return 0;
	t = PG_GETARG_TEXT_PP(argno);
	s = text_to_cstring(t);
	if (strcmp(s, ".") == 0 || strcmp(s, ",") == 0)
		return s[0];
	if (pg_strcasecmp(s, "auto") == 0)
		return 0;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid decimal mark: \"%s\"", s),
			 errhint("The decimal mark is \".\", \",\" or \"auto\".")));
	return 0;
}

static Datum
amount_common(FunctionCallInfo fcinfo, bool try)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	char		mark = decimal_mark_arg(fcinfo, 1);
	ParsedDecimal d;
	CoerceError err;

	if (!parse_amount_text(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), mark, &d, &err))
	{
		if (try)
			PG_RETURN_NULL();
		report(&err, "amount", in, HINT_AMOUNT);
	}
	PG_RETURN_NUMERIC(decimal_to_numeric(&d));
}

SQL_PARSER(parse_amount, amount_common)

/* ---- integers ---- */

static Datum
int_common(FunctionCallInfo fcinfo, bool try)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	int64		v;
	CoerceError err;

	if (!parse_int_text(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), true, &v, &err))
	{
		if (try)
			PG_RETURN_NULL();
		report(&err, "integer", in, HINT_INT);
	}
	PG_RETURN_INT64(v);
}

SQL_PARSER(parse_int, int_common)

/* ---- booleans ---- */

static Datum
bool_common(FunctionCallInfo fcinfo, bool try)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	bool		v;
	CoerceError err;

	if (!parse_bool_text(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), &v, &err))
	{
		if (try)
			PG_RETURN_NULL();
		report(&err, "boolean", in, HINT_BOOL);
	}
	PG_RETURN_BOOL(v);
}

SQL_PARSER(parse_bool, bool_common)

/* ---- dates and timestamps ---- */

/* a compiled format cached for the life of the calling expression */
typedef struct CachedDateFormat
{
	char		spec[64];
	int			order;
	int			pivot;
	DateFormat	fmt;
} CachedDateFormat;

static const DateFormat *
date_format_arg(FunctionCallInfo fcinfo)
{
	CachedDateFormat *cache = (CachedDateFormat *) fcinfo->flinfo->fn_extra;
	char		spec[64] = "auto";
	int			order = indicina_date_order;
	char		errbuf[256];

	if (PG_NARGS() > 1)
		text_to_cstring_buffer(PG_GETARG_TEXT_PP(1), spec, sizeof(spec));
	if (PG_NARGS() > 2)
	{
		char	   *o = text_to_cstring(PG_GETARG_TEXT_PP(2));

		if (pg_strcasecmp(o, "DMY") == 0)
			order = DATE_ORDER_DMY;
		else if (pg_strcasecmp(o, "MDY") == 0)
			order = DATE_ORDER_MDY;
		else if (pg_strcasecmp(o, "YMD") == 0)
			order = DATE_ORDER_YMD;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid date order: \"%s\"", o),
					 errhint("The date order is DMY, MDY or YMD.")));
	}
	if (cache && strcmp(cache->spec, spec) == 0 && cache->order == order &&
		cache->pivot == indicina_two_digit_year_pivot)
		return &cache->fmt;

	if (!cache)
		cache = fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(CachedDateFormat));
	if (!date_format_compile(spec, &cache->fmt, errbuf, sizeof(errbuf)))
	{
		cache->spec[0] = '\0';
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s", errbuf),
				 errhint("A format is \"auto\", \"iso\", \"excel\" or a pattern such as DD/MM/YYYY.")));
	}
	strlcpy(cache->spec, spec, sizeof(cache->spec));
	cache->order = order;
	cache->pivot = indicina_two_digit_year_pivot;
	cache->fmt.order = order;
	cache->fmt.pivot = indicina_two_digit_year_pivot;
	return &cache->fmt;
}

/*
 * A date, or with "timestamp" a timestamp, read in the format of the
 * arguments: the value, NULL for a try_ function, or the error, whose hint
 * names the pattern when the format is one.
 */
static Datum
datetime_common(FunctionCallInfo fcinfo, bool try, bool timestamp)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	const DateFormat *fmt = date_format_arg(fcinfo);
	const char *what = timestamp ? "timestamp" : "date";
	DateADT		d = 0;
	Timestamp	t = 0;
	CoerceError err;
	bool		ok;

	if (timestamp)
		ok = parse_timestamp_text(fmt, VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), &t, &err);
	else
		ok = parse_date_text(fmt, VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), &d, &err);
	if (!ok)
	{
		if (try)
			PG_RETURN_NULL();
		report(&err, what, in, fmt->mode == DATE_PATTERN ?
			   psprintf("Expected a %s in the format \"%s\".", what, fmt->text) :
			   timestamp ? HINT_TIMESTAMP : HINT_DATE);
	}
	return timestamp ? TimestampGetDatum(t) : DateADTGetDatum(d);
}

static Datum
date_common(FunctionCallInfo fcinfo, bool try)
{
	return datetime_common(fcinfo, try, false);
}

static Datum
timestamp_common(FunctionCallInfo fcinfo, bool try)
{
	return datetime_common(fcinfo, try, true);
}

SQL_PARSER(parse_date, date_common)
SQL_PARSER(parse_timestamp, timestamp_common)

/* ---- labels ---- */

static Datum
label_common(FunctionCallInfo fcinfo, bool try)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	char	   *domain = text_to_cstring(PG_GETARG_TEXT_PP(1));
	LabelMap   *map = (LabelMap *) fcinfo->flinfo->fn_extra;
	text	   *label;
	CoerceError err;

	if (!map || strcmp(map->domain, domain) != 0)
		fcinfo->flinfo->fn_extra = map = label_map_load(domain, fcinfo->flinfo->fn_mcxt);
	label = label_map_lookup(map, VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), &err);
	if (!label)
	{
		if (try)
			PG_RETURN_NULL();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid %s label: \"%s\"", domain, shown(in)),
				 errdetail("Known labels: %s.", map->known),
				 errhint("Add the spelling to indicina.label_map if it means one of them.")));
	}
	PG_RETURN_TEXT_P(label);
}

SQL_PARSER(normalize_label, label_common)

PG_FUNCTION_INFO_V1(indicina_label_key_sql);
Datum
indicina_label_key_sql(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(in);
	char	   *buf = palloc(len + 1);

	len = label_key(VARDATA_ANY(in), len, buf, len + 1);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf, len));
}

/* ---- identifiers ---- */

static Datum
id_common(FunctionCallInfo fcinfo, bool try)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(in);
	char	   *buf = palloc(len + 1);
	CoerceError err;

	len = normalize_id_text(VARDATA_ANY(in), len, buf, &err);
	if (len < 0)
	{
		if (try)
			PG_RETURN_NULL();
		report(&err, "identifier", in, HINT_ID);
	}
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf, len));
}

SQL_PARSER(normalize_id, id_common)

static Datum
phone_common(FunctionCallInfo fcinfo, bool try)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	char	   *country = PG_NARGS() > 1 ? text_to_cstring(PG_GETARG_TEXT_PP(1)) : "NG";
	char		buf[24];
	int			len;
	CoerceError err;

	len = normalize_phone_text(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in), country, buf, &err);
	if (len < 0)
	{
		if (try)
			PG_RETURN_NULL();
		report(&err, "phone number", in, HINT_PHONE);
	}
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf, len));
}

SQL_PARSER(normalize_phone, phone_common)

PG_FUNCTION_INFO_V1(indicina_is_valid_bvn);
Datum
indicina_is_valid_bvn(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(bvn_is_valid(VARDATA_ANY(in), VARSIZE_ANY_EXHDR(in)));
}
