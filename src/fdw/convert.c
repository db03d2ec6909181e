/*-------------------------------------------------------------------------
 *
 * convert.c
 *		Per-column converters of indicina_csv: a field's text to a Datum of
 *		the column's type, through the parsers of coerce.c, never raising
 *		an error for bad input (a failure is a CoerceError the scan turns
 *		into a reject).
 *
 * text, varchar(n), int2/4/8, numeric(p,s), float4/8, date, timestamp and
 * boolean have built-in converters; a column's "format" option picks a
 * lenient one (amount, auto dates, a label domain, id, phone).  Any other
 * type goes through its input function, which can raise: see fdw.c for the
 * subtransaction that costs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "core/cents.h"
#include "fdw/fdw.h"
#include "coerce/coerce_sql.h"

static bool
format_is(const char *format, const char *name)
{
	return format && pg_strcasecmp(format, name) == 0;
}

/*
 * Checks a column's format against its type when the option is set, so a
 * wrong format fails at CREATE/ALTER FOREIGN TABLE time.
 */
void
converter_check_format(Oid typid, const char *format)
{
	char		errbuf[256];
	DateFormat	df;

	if (!format)
		return;
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
			if (!format_is(format, "amount") && !format_is(format, "plain"))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid format \"%s\" for a numeric column", format),
						 errhint("Numeric columns take format 'plain' (the default) or 'amount'.")));
			break;
		case DATEOID:
		case TIMESTAMPOID:
			if (!date_format_compile(format, &df, errbuf, sizeof(errbuf)))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("%s", errbuf),
						 errhint("A date format is 'auto', 'iso' (the default), 'excel' or a pattern such as 'DD/MM/YYYY'.")));
			break;
		case TEXTOID:
		case VARCHAROID:
			if (!format_is(format, "id") && pg_strncasecmp(format, "phone", 5) != 0 &&
				pg_strncasecmp(format, "label:", 6) != 0 && !format_is(format, "plain"))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid format \"%s\" for a text column", format),
						 errhint("Text columns take format 'plain', 'id', 'phone', 'phone:CC' or 'label:<domain>'.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
					 errmsg("columns of type %s take no format option", format_type_be(typid))));
	}
}

/* the column types with a converter of their own; any other takes CONV_GENERIC */
static const struct
{
	Oid			typid;
	ConvKind	kind;
}			builtin_converters[] = {
	{TEXTOID, CONV_TEXT}, {VARCHAROID, CONV_TEXT},
	{INT2OID, CONV_INT2}, {INT4OID, CONV_INT4}, {INT8OID, CONV_INT8},
	{NUMERICOID, CONV_NUMERIC}, {FLOAT4OID, CONV_FLOAT4}, {FLOAT8OID, CONV_FLOAT8},
	{DATEOID, CONV_DATE}, {TIMESTAMPOID, CONV_TIMESTAMP}, {BOOLOID, CONV_BOOL},
};

/* the converter a column of this type gets before its format is applied */
static ConvKind
builtin_kind(Oid typid)
{
	int			i;

	for (i = 0; i < lengthof(builtin_converters); i++)
		if (builtin_converters[i].typid == typid)
			return builtin_converters[i].kind;
	return CONV_GENERIC;
}

/* Sets up the converter of one column for a scan. */
void
converter_init(ColumnConverter *cv, Form_pg_attribute att, const CsvColumnOptions *copts, MemoryContext mcxt)
{
	const char *format = copts->format;
	char		errbuf[256];

	converter_check_format(att->atttypid, format);
	memset(cv, 0, sizeof(*cv));
	cv->attnum = att->attnum;
	cv->name = pstrdup(NameStr(att->attname));
	cv->typid = att->atttypid;
	cv->typmod = att->atttypmod;
	cv->lenient_number = format_is(format, "amount");
	cv->kind = builtin_kind(att->atttypid);

	switch (cv->kind)
	{
		case CONV_TEXT:
			if (format_is(format, "id"))
				cv->kind = CONV_ID;
			else if (format && pg_strncasecmp(format, "phone", 5) == 0)
			{
				cv->kind = CONV_PHONE;
				strlcpy(cv->country, format[5] == ':' ? format + 6 : "NG", sizeof(cv->country));
			}
			else if (format && pg_strncasecmp(format, "label:", 6) == 0)
			{
				cv->kind = CONV_LABEL;
				cv->labels = label_map_load(format + 6, mcxt);
			}
			break;
		case CONV_DATE:
		case CONV_TIMESTAMP:
			if (!date_format_compile(format ? format : "iso", &cv->datefmt, errbuf, sizeof(errbuf)))
				ereport(ERROR, (errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE), errmsg("%s", errbuf)));
			cv->datefmt.order = (DateFieldOrder) indicina_date_order;
			cv->datefmt.pivot = indicina_two_digit_year_pivot;
			break;
		case CONV_GENERIC:
			{
				Oid			infunc;

				getTypeInputInfo(att->atttypid, &infunc, &cv->ioparam);
				fmgr_info_cxt(infunc, &cv->infunc, mcxt);
				break;
			}
		default:
			break;
	}
}

/* Whether converter_init gives a column of this type the input-function path. */
bool
converter_is_generic(Oid typid)
{
	return builtin_kind(typid) == CONV_GENERIC;
}

/* a number through the plain or the lenient parser, checked against the type */
static bool
convert_decimal(ColumnConverter *cv, const char *s, int len, ParsedDecimal *d, CoerceError *err)
{
	if (cv->lenient_number)
		return parse_amount_text(s, len, 0, d, err);
	return parse_number_plain(s, len, d, err);
}

static bool
convert_integer(ColumnConverter *cv, const char *s, int len, int64 lo, int64 hi, const char *tname,
				int64 *v, CoerceError *err)
{
	if (cv->lenient_number)
	{
		ParsedDecimal d;

		if (!parse_amount_text(s, len, 0, &d, err) || !decimal_to_int64(&d, v, err))
		{
			if (err->code == COERCE_INVALID_INTEGER)
				err->code = COERCE_INVALID_NUMBER;
			return false;
		}
	}
	else if (!parse_int_text(s, len, false, v, err))
	{
		if (err->code == COERCE_INVALID_INTEGER)
			err->code = COERCE_INVALID_NUMBER;
		return false;
	}
	if (*v < lo || *v > hi)
	{
		coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE, "It is out of range for type %s.", tname);
		return false;
	}
	return true;
}

/*
 * Converts one field; false with err on bad input.  Generic types may raise
 * (their input function), which the caller handles.
 */
bool
converter_run(ColumnConverter *cv, const char *s, int len, Datum *out, CoerceError *err)
{
	switch (cv->kind)
	{
		case CONV_TEXT:
			if (cv->typid == VARCHAROID && cv->typmod >= (int32) VARHDRSZ)
			{
				int			maxlen = cv->typmod - VARHDRSZ;
				int			nchars = len <= maxlen ? len : pg_mbstrlen_with_len(s, len);

				if (nchars > maxlen)
				{
					coerce_fail(err, COERCE_VALUE_TOO_LONG,
								"It has %d characters and varchar(%d) allows %d.", nchars, maxlen, maxlen);
					return false;
				}
			}
			*out = PointerGetDatum(cstring_to_text_with_len(s, len));
			return true;
		case CONV_INT2:
		case CONV_INT4:
		case CONV_INT8:
			{
				int64		v;

				if (cv->kind == CONV_INT2)
				{
					if (!convert_integer(cv, s, len, PG_INT16_MIN, PG_INT16_MAX, "smallint", &v, err))
						return false;
					*out = Int16GetDatum((int16) v);
				}
				else if (cv->kind == CONV_INT4)
				{
					if (!convert_integer(cv, s, len, PG_INT32_MIN, PG_INT32_MAX, "integer", &v, err))
						return false;
					*out = Int32GetDatum((int32) v);
				}
				else
				{
					if (!convert_integer(cv, s, len, PG_INT64_MIN, PG_INT64_MAX, "bigint", &v, err))
						return false;
					*out = Int64GetDatum(v);
				}
				return true;
			}
		case CONV_NUMERIC:
			{
				ParsedDecimal d;

				cv->scaled.valid = false;
				if (!convert_decimal(cv, s, len, &d, err) || !decimal_apply_typmod(&d, cv->typmod, err))
					return false;
				/* the integer form once, for the Numeric and for range rules */
				if (decimal_to_scaled(&d, &cv->scaled))
					*out = cents_to_numeric(cv->scaled.value, cv->scaled.scale);
				else
					*out = NumericGetDatum(decimal_to_numeric(&d));
				return true;
			}
		case CONV_FLOAT4:
		case CONV_FLOAT8:
			{
				float8		v;

				if (cv->lenient_number)
				{
					ParsedDecimal d;
					char		buf[DECIMAL_TEXT_LEN];
					int			n;

					if (!parse_amount_text(s, len, 0, &d, err))
						return false;
					/* spelled canonically, then strtod: exact to the last bit */
					n = decimal_to_text(&d, buf);
					if (!parse_float8_text(buf, n, &v, err))
						return false;
				}
				else if (!parse_float8_text(s, len, &v, err))
					return false;
				if (cv->kind == CONV_FLOAT4)
				{
					float4		f = (float4) v;

					if (isinf(f) && !isinf(v))
					{
						coerce_fail(err, COERCE_NUMBER_OUT_OF_RANGE, "It is out of range for type real.");
						return false;
					}
					*out = Float4GetDatum(f);
				}
				else
					*out = Float8GetDatum(v);
				return true;
			}
		case CONV_DATE:
			{
				DateADT		v;

				if (!parse_date_text(&cv->datefmt, s, len, &v, err))
					return false;
				*out = DateADTGetDatum(v);
				return true;
			}
		case CONV_TIMESTAMP:
			{
				Timestamp	v;

				if (!parse_timestamp_text(&cv->datefmt, s, len, &v, err))
					return false;
				*out = TimestampGetDatum(v);
				return true;
			}
		case CONV_BOOL:
			{
				bool		v;

				if (!parse_bool_text(s, len, &v, err))
					return false;
				*out = BoolGetDatum(v);
				return true;
			}
		case CONV_LABEL:
			{
				text	   *label = label_map_lookup(cv->labels, s, len, err);

				if (!label)
					return false;
				*out = PointerGetDatum(label);
				return true;
			}
		case CONV_ID:
			{
				char	   *buf = palloc(len + 1);
				int			n = normalize_id_text(s, len, buf, err);

				if (n < 0)
					return false;
				*out = PointerGetDatum(cstring_to_text_with_len(buf, n));
				return true;
			}
		case CONV_PHONE:
			{
				char		buf[24];
				int			n = normalize_phone_text(s, len, cv->country, buf, err);

				if (n < 0)
					return false;
				*out = PointerGetDatum(cstring_to_text_with_len(buf, n));
				return true;
			}
		case CONV_GENERIC:
			{
				char	   *cstr = pnstrdup(s, len);

				*out = InputFunctionCall(&cv->infunc, cstr, cv->ioparam, cv->typmod);
				return true;
			}
	}
	return false;
}
