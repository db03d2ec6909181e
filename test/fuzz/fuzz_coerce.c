/*-------------------------------------------------------------------------
 *
 * fuzz_coerce.c
 *		libFuzzer target for the lenient parsers of src/coerce/coerce.c.
 *
 * The first input byte picks the parser (and its options), the rest is the
 * value.  Built with -DFUZZ_PARSER=N the target fuzzes one parser only (the
 * first byte then picks just its options): the Makefile builds one such
 * target per parser, fuzz_amount, fuzz_date, ..., and fuzz_coerce for all.  Besides crashes and out-of-bounds reads (built with ASan), it
 * checks that every accepted value round-trips: written back in canonical
 * form and parsed again, it gives the same value.
 *
 *   make fuzz && test/fuzz/fuzz_date -max_total_time=60 test/fuzz/corpus
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "coerce/coerce.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *input, int len)
{
	fprintf(stderr, "round trip failed (%s) for input \"%.*s\"\n", what, len, input);
	abort();
}

static bool
same_decimal(const ParsedDecimal *a, const ParsedDecimal *b)
{
	return (a->ndigits == 0 && b->ndigits == 0) ||
		(a->neg == b->neg && a->ndigits == b->ndigits && a->scale == b->scale &&
		 memcmp(a->digits, b->digits, a->ndigits) == 0);
}

static void
check_decimal_roundtrip(const ParsedDecimal *d, const char *in, int len)
{
	char		buf[DECIMAL_TEXT_LEN];
	int			n = decimal_to_text(d, buf);
	ParsedDecimal again;
	CoerceError err;

	if (!parse_number_plain(buf, n, &again, &err) || !same_decimal(d, &again))
		fail("decimal via parse_number_plain", in, len);
	if (!parse_amount_text(buf, n, '.', &again, &err) || !same_decimal(d, &again))
		fail("decimal via parse_amount", in, len);
}

static void
check_date_roundtrip(DateADT v, const char *in, int len)
{
	DateFormat	iso;
	char		buf[32],
				errbuf[64];
	int			j = v + 2451545,	/* POSTGRES_EPOCH_JDATE */
				y,
				m,
				d;
	DateADT		again;
	CoerceError err;
	long		a,
				b,
				c,
				e,
				f;

	/* Julian day back to a calendar date */
	a = j + 32044;
	b = (4 * a + 3) / 146097;
	c = a - 146097 * b / 4;
	e = (4 * c + 3) / 1461;
	f = c - 1461 * e / 4;
	m = (int) ((5 * f + 2) / 153);
	d = (int) (f - (153 * m + 2) / 5 + 1);
	y = (int) (100 * b + e - 4800 + m / 10);
	m = m + 3 - 12 * (m / 10);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
	date_format_compile("iso", &iso, errbuf, sizeof(errbuf));
	if (!parse_date_text(&iso, buf, (int) strlen(buf), &again, &err) || again != v)
		fail("date", in, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s;
	int			len;
	uint8_t		sel;
	CoerceError err;
	char		out[512];

	if (size < 1 || size > 300)
		return 0;
	sel = data[0];
	s = (const char *) data + 1;
	len = (int) size - 1;

#ifdef FUZZ_PARSER
	{
		/* the cases of each parser in the switch below: first case, count */
		static const int first[] = {0, 3, 4, 5, 6, 9, 10, 11};
		static const int count[] = {3, 1, 1, 1, 3, 1, 1, 1};

		sel = (uint8_t) ((sel & 0xF0) | (first[FUZZ_PARSER] + (sel & 0x0F) % count[FUZZ_PARSER]));
		if ((sel & 0x0F) >= 12)
			sel = (uint8_t) (sel & 0xF0);
	}
	switch ((sel & 0x0F) % 12)
#else
	switch (sel % 12)
#endif
	{
		case 0:
		case 1:
		case 2:
			{
				ParsedDecimal d;
				char		mark = sel % 3 == 0 ? 0 : (sel % 3 == 1 ? '.' : ',');

				if (parse_amount_text(s, len, mark, &d, &err))
				{
					check_decimal_roundtrip(&d, s, len);
					if (decimal_apply_typmod(&d, ((14 << 16) | 2) + 4, &err))
						check_decimal_roundtrip(&d, s, len);
				}
				break;
			}
		case 3:
			{
				ParsedDecimal d;

				if (parse_number_plain(s, len, &d, &err))
					check_decimal_roundtrip(&d, s, len);
				break;
			}
		case 4:
			{
				int64		v,
							again;

				if (parse_int_text(s, len, sel & 0x10, &v, &err))
				{
					int			n = snprintf(out, sizeof(out), "%lld", (long long) v);

					if (!parse_int_text(out, n, false, &again, &err) || again != v)
						fail("int", s, len);
				}
				break;
			}
		case 5:
			{
				bool		v,
							again;

				if (parse_bool_text(s, len, &v, &err))
				{
					if (!parse_bool_text(v ? "true" : "false", v ? 4 : 5, &again, &err) || again != v)
						fail("bool", s, len);
				}
				break;
			}
		case 6:
		case 7:
		case 8:
			{
				static const char *const specs[] = {"auto", "iso", "excel", "DD/MM/YYYY", "DD-Mon-YYYY HH24:MI",
				"YYYYMMDD", "MM/DD/YY", "Month DD, YYYY HH12:MI:SS.FF AM"};
				DateFormat	fmt;
				DateADT		v;
				Timestamp	ts;
				char		errbuf[256];

				if (!date_format_compile(specs[(sel >> 4) % 8], &fmt, errbuf, sizeof(errbuf)))
					abort();
				fmt.order = (DateFieldOrder) ((sel >> 2) % 3);
				fmt.pivot = (sel & 0x80) ? 50 : -1;
				if (sel % 12 == 8)
				{
					if (parse_timestamp_text(&fmt, s, len, &ts, &err) && !IS_VALID_TIMESTAMP(ts))
						fail("timestamp range", s, len);
				}
				else if (parse_date_text(&fmt, s, len, &v, &err))
					check_date_roundtrip(v, s, len);
				break;
			}
		case 9:
			{
				int			n;

				if (len > 200)
					break;
				n = normalize_id_text(s, len, out, &err);
				if (n >= 0)
				{
					char		again[512];

					if (normalize_id_text(out, n, again, &err) != n || memcmp(out, again, n) != 0)
						fail("id idempotent", s, len);
				}
				break;
			}
		case 10:
			{
				static const char *const countries[] = {"NG", "GH", "KE", "ZA", "GB", "US"};
				const char *c = countries[(sel >> 4) % 6];
				int			n = normalize_phone_text(s, len, c, out, &err);

				if (n >= 0)
				{
					char		again[32];

					if (normalize_phone_text(out, n, c, again, &err) != n || memcmp(out, again, n) != 0)
						fail("phone idempotent", s, len);
				}
				break;
			}
		default:
			{
				int			n = label_key(s, len, out, sizeof(out));
				char		again[512];

				if (label_key(out, n, again, sizeof(again)) != n || memcmp(out, again, n) != 0)
					fail("label key idempotent", s, len);
				(void) bvn_is_valid(s, len);
				break;
			}
	}
	return 0;
}
