/*-------------------------------------------------------------------------
 *
 * csv_format.c
 *		The CSV format of unload parts: a dialect that Redshift's COPY ...
 *		CSV and PostgreSQL's COPY ... (FORMAT csv) read back to the same
 *		values (docs/unload.md, The CSV dialect).
 *
 * Comma, double quote, quotes doubled inside a quoted field, no header,
 * LF after each row, UTF-8.  NULL is the unquoted text \N (Redshift's
 * default NULL AS, given to PostgreSQL as NULL '\N'); the empty string is
 * "" (quoted), which neither reads as NULL without EMPTYASNULL.  A text
 * value is quoted when empty or when it holds a comma, quote, CR or LF, or
 * begins or ends with a space or tab.  The text \N itself is refused: a
 * quoted "\N" is text to PostgreSQL, and Redshift's documentation does not
 * say what it is there.
 *
 * Values Redshift cannot hold are refused, naming table, column and row
 * key: text over 65,535 bytes, numbers of more than 38 digits, NaN and
 * infinite numbers, dates before year 1.  -infinity and infinity dates and
 * timestamps become the sentinels 0001-01-01 and 9999-12-31.  Dates and
 * timestamps are written as the session's DateStyle gives them; unload()
 * runs with DateStyle ISO and TimeZone UTC.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "ship/ship.h"

static void csv_add_row(PartWriter *w, Datum *values, bool *nulls);

const PartFormat csv_format = {
	.name = "csv",
	.extension = ".csv",
	.add_row = csv_add_row,
	.end_part = NULL,
};

static void
refuse(PartWriter *w, ShipColumn *c, const char *what, const char *hint)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("%s in column \"%s\" of table \"%s\" cannot be unloaded to Redshift", what, c->name, w->table),
			 errdetail("Row key %s.", ship_row_key(w)),
			 errhint("%s", hint)));
}

static void
emit_text(PartWriter *w, ShipColumn *c, const char *s, int len)
{
	bool		quote = len == 0 || s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t';
	int			i;

	if (len > SHIP_MAX_VARCHAR)
		refuse(w, c, psprintf("a value of %d bytes", len),
			   "Redshift's VARCHAR holds at most 65535 bytes: shorten the value in the warehouse, or leave the column out.");
	if (len == 2 && s[0] == '\\' && s[1] == 'N')
		refuse(w, c, "the text \\N",
			   "\\N stands for NULL in the parts; change the value in the warehouse.");
	if (len > c->max_bytes)
		c->max_bytes = len;
	for (i = 0; i < len && !quote; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			quote = true;
	if (!quote)
	{
		part_writer_emit(w, s, len);
		return;
	}
	part_writer_emit(w, "\"", 1);
	for (;;)
	{
		const char *q = memchr(s, '"', len);
		int			n = q ? q - s + 1 : len;

		part_writer_emit(w, s, n);
		if (q == NULL)
			break;
		part_writer_emit(w, "\"", 1);	/* the quote doubled */
		s += n;
		len -= n;
	}
	part_writer_emit(w, "\"", 1);
}

/* numeric's text, checked against DECIMAL(38): digits before and after the point */
static void
emit_numeric(PartWriter *w, ShipColumn *c, Datum value)
{
	char	   *s = OutputFunctionCall(&c->out, value);
	const char *p = s;
	int			digits = 0;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		refuse(w, c, psprintf("the number %s", s), "Redshift's DECIMAL has no NaN or infinity.");
	for (; *p; p++)
		if (*p >= '0' && *p <= '9')
			digits++;
	/* a leading 0 of a fraction is no digit of precision */
	if (s[s[0] == '-'] == '0' && s[(s[0] == '-') + 1] == '.')
		digits--;
	if (digits > SHIP_MAX_DIGITS)
		refuse(w, c, psprintf("a number of %d digits", digits),
			   "Redshift's DECIMAL holds at most 38 digits: round the value, or give the column a numeric(p,s) type with p <= 38.");
	part_writer_emit(w, s, strlen(s));
}

static void
emit_date(PartWriter *w, ShipColumn *c, Datum value)
{
	DateADT		d = DatumGetDateADT(value);
	char	   *s;

	if (DATE_IS_NOBEGIN(d))
		s = SHIP_SENTINEL_PAST;
	else if (DATE_IS_NOEND(d))
		s = SHIP_SENTINEL_FUTURE;
	else if (d < date2j(1, 1, 1) - POSTGRES_EPOCH_JDATE)
		refuse(w, c, "a date before year 1", "Dates before 0001-01-01 have no form both loaders read.");
	else
		s = OutputFunctionCall(&c->out, value);
	part_writer_emit(w, s, strlen(s));
}

static void
emit_timestamp(PartWriter *w, ShipColumn *c, Datum value)
{
	Timestamp	t = DatumGetTimestamp(value);
	char	   *s;

	if (TIMESTAMP_IS_NOBEGIN(t))
		s = SHIP_SENTINEL_PAST " 00:00:00+00";
	else if (TIMESTAMP_IS_NOEND(t))
		s = SHIP_SENTINEL_FUTURE " 00:00:00+00";
	else
	{
		s = OutputFunctionCall(&c->out, value);
		if (strstr(s, " BC") != NULL)
			refuse(w, c, "a timestamp before year 1", "Timestamps before 0001-01-01 have no form both loaders read.");
	}
	part_writer_emit(w, s, strlen(s));
}

static void
csv_add_row(PartWriter *w, Datum *values, bool *nulls)
{
	int			i;

	for (i = 0; i < w->ncolumns; i++)
	{
		ShipColumn *c = &w->columns[i];

		if (i > 0)
			part_writer_emit(w, ",", 1);
		if (nulls[i])
		{
			part_writer_emit(w, SHIP_NULL, 2);
			continue;
		}
		switch (c->kind)
		{
			case SHIP_TEXT:
				{
					text	   *t = DatumGetTextPP(values[i]);

					emit_text(w, c, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
					break;
				}
			case SHIP_NUMERIC:
				emit_numeric(w, c, values[i]);
				break;
			case SHIP_DATE:
				emit_date(w, c, values[i]);
				break;
			case SHIP_TIMESTAMP:
				emit_timestamp(w, c, values[i]);
				break;
			case SHIP_BOOL:
			case SHIP_PLAIN:
				{
					char	   *s = OutputFunctionCall(&c->out, values[i]);

					part_writer_emit(w, s, strlen(s));
					break;
				}
		}
	}
	part_writer_emit(w, "\n", 1);
}
