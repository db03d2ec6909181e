/*-------------------------------------------------------------------------
 *
 * indicina_gen.c
 *		Sample-data generator: writes a landing directory of loan-application
 *		and bank-statement CSV files shaped like the original credit-risk
 *		assessment data, optionally with injected defects.
 *
 * Deterministic for a given --seed.  Every injected defect is recorded in
 * DIR/defects.csv (kind, file, physical line, detail) and summarised in
 * DIR/defects.json, so tests can assert that each one is caught and counted.
 *
 * Defects that make a statement row unloadable are written as *extra* rows
 * with amount 0.00 and the running balance, so the balance chain of the
 * clean rows holds whether the extra row is loaded or rejected; only
 * balance_break and duplicate_row touch continuity, on purpose.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAX_FIELDS		8
#define FIELD_BUF		128
#define OUT_BUF_SIZE	(1 << 20)

/* ---------- deterministic random numbers (splitmix64 + xoshiro256**) ---------- */

static uint64_t rng_s[4];

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t	z = (*x += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t
rng_next(void)
{
	uint64_t	result = rotl(rng_s[1] * 5, 7) * 9;
	uint64_t	t = rng_s[1] << 17;

	rng_s[2] ^= rng_s[0];
	rng_s[3] ^= rng_s[1];
	rng_s[1] ^= rng_s[2];
	rng_s[0] ^= rng_s[3];
	rng_s[2] ^= t;
	rng_s[3] = rotl(rng_s[3], 45);
	return result;
}

/* uniform integer in [lo, hi] */
static int64_t
rng_range(int64_t lo, int64_t hi)
{
	return lo + (int64_t) (rng_next() % (uint64_t) (hi - lo + 1));
}

/* uniform double in [0, 1) */
static double
rng_unit(void)
{
	return (rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

/* ---------- calendar (days since 1970-01-01, proleptic Gregorian) ---------- */

static int64_t
days_from_civil(int y, int m, int d)
{
	int			era;
	unsigned	yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned) (y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (int64_t) era * 146097 + (int64_t) doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t		era;
	unsigned	doe,
				yoe,
				doy,
				mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned) (z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

static int
days_in_month(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

static const char *const month_abbr[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* ---------- fast formatting ---------- */

/* writes a non-negative integer zero-padded to width; returns length */
static int
fmt_uint(char *dst, uint64_t v, int width)
{
	char		tmp[24];
	int			n = 0,
				i;

	do
	{
		tmp[n++] = (char) ('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width)
		tmp[n++] = '0';
	for (i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

/* cents as "1234.50" / "-1234.50" */
static int
fmt_cents(char *dst, int64_t cents)
{
	int			n = 0;
	uint64_t	a;

	if (cents < 0)
	{
		dst[n++] = '-';
		a = (uint64_t) (-cents);
	}
	else
		a = (uint64_t) cents;
	n += fmt_uint(dst + n, a / 100, 1);
	dst[n++] = '.';
	n += fmt_uint(dst + n, a % 100, 2);
	return n;
}

/* cents as "12,500.00" (absolute value, thousands separators) */
static int
fmt_cents_grouped(char *dst, int64_t cents)
{
	char		plain[32];
	uint64_t	a = (uint64_t) (cents < 0 ? -cents : cents);
	int			len = fmt_uint(plain, a / 100, 1);
	int			n = 0,
				i;

	for (i = 0; i < len; i++)
	{
		if (i > 0 && (len - i) % 3 == 0)
			dst[n++] = ',';
		dst[n++] = plain[i];
	}
	dst[n++] = '.';
	n += fmt_uint(dst + n, a % 100, 2);
	return n;
}

static int
fmt_iso_date(char *dst, int64_t day)
{
	int			y,
				m,
				d,
				n;

	civil_from_days(day, &y, &m, &d);
	n = fmt_uint(dst, (uint64_t) y, 4);
	dst[n++] = '-';
	n += fmt_uint(dst + n, (uint64_t) m, 2);
	dst[n++] = '-';
	n += fmt_uint(dst + n, (uint64_t) d, 2);
	return n;
}

/* ---------- output files ---------- */

typedef struct OutFile
{
	char		relpath[256];	/* relative to the landing directory */
	const char *source;			/* "loans" or "statements" */
	FILE	   *fp;
	gzFile		gz;
	bool		crlf;
	char	   *buf;
	size_t		used;
	int64_t		lines;			/* physical lines written so far */
	int64_t		rows;			/* data records written so far */
	int			order[MAX_FIELDS];	/* output position -> logical field */
	int			nfields;
} OutFile;

static const char *out_dir;

/* what every closed file held, for defects.json */
typedef struct FileSummary
{
	char		relpath[256];
	const char *source;
	int64_t		rows;
	int64_t		lines;
} FileSummary;

static FileSummary *summaries;
static int	nsummaries;

static void
die(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	fprintf(stderr, "indicina-gen: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void
out_flush(OutFile *f)
{
	if (f->used == 0)
		return;
	if (f->gz)
	{
		if (gzwrite(f->gz, f->buf, (unsigned) f->used) != (int) f->used)
			die("write failed: %s", f->relpath);
	}
	else if (fwrite(f->buf, 1, f->used, f->fp) != f->used)
		die("write failed: %s: %s", f->relpath, strerror(errno));
	f->used = 0;
}

static void
out_bytes(OutFile *f, const char *p, size_t len)
{
	if (f->used + len > OUT_BUF_SIZE)
		out_flush(f);
	memcpy(f->buf + f->used, p, len);
	f->used += len;
}

static void
out_open(OutFile *f, const char *relpath, const char *source, bool gzip)
{
	char		path[1024];

	snprintf(f->relpath, sizeof(f->relpath), "%s", relpath);
	snprintf(path, sizeof(path), "%s/%s", out_dir, relpath);
	f->source = source;
	f->buf = malloc(OUT_BUF_SIZE);
	if (!f->buf)
		die("out of memory");
	if (gzip)
	{
		f->gz = gzopen(path, "wb1");
		if (!f->gz)
			die("cannot create %s", path);
	}
	else
	{
		f->fp = fopen(path, "wb");
		if (!f->fp)
			die("cannot create %s: %s", path, strerror(errno));
	}
}

static void
out_close(OutFile *f)
{
	out_flush(f);
	if (f->gz)
	{
		if (gzclose(f->gz) != Z_OK)
			die("cannot close %s", f->relpath);
	}
	else if (fclose(f->fp) != 0)
		die("cannot close %s: %s", f->relpath, strerror(errno));
	free(f->buf);

	summaries = realloc(summaries, sizeof(FileSummary) * (nsummaries + 1));
	if (!summaries)
		die("out of memory");
	memcpy(summaries[nsummaries].relpath, f->relpath, sizeof(f->relpath));
	summaries[nsummaries].source = f->source;
	summaries[nsummaries].rows = f->rows;
	summaries[nsummaries].lines = f->lines;
	nsummaries++;
}

/*
 * A record under construction: logical fields, later written in the file's
 * column order.  nfields may differ from the file's (ragged rows).
 */
typedef struct Record
{
	char		field[MAX_FIELDS + 1][FIELD_BUF];
	int			len[MAX_FIELDS + 1];
	int			nfields;
} Record;

static void
rec_set(Record *r, int i, const char *s, int len)
{
	if (len < 0)
		len = (int) strlen(s);
	if (len >= FIELD_BUF)
		len = FIELD_BUF - 1;
	memcpy(r->field[i], s, len);
	r->len[i] = len;
}

static bool
needs_quotes(const char *s, int len)
{
	int			i;

	for (i = 0; i < len; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
			return true;
	return false;
}

static void
out_field(OutFile *f, const char *s, int len)
{
	int			i;

	if (!needs_quotes(s, len))
	{
		out_bytes(f, s, len);
		return;
	}
	out_bytes(f, "\"", 1);
	for (i = 0; i < len; i++)
	{
		if (s[i] == '"')
			out_bytes(f, "\"", 1);
		out_bytes(f, s + i, 1);
	}
	out_bytes(f, "\"", 1);
}

static void
out_eol(OutFile *f)
{
	if (f->crlf)
		out_bytes(f, "\r\n", 2);
	else
		out_bytes(f, "\n", 1);
	f->lines++;
}

/*
 * Writes one record in the file's column order and returns its physical
 * line number.  Fields beyond the file's width (extra fields) go last.
 */
static int64_t
out_record(OutFile *f, const Record *r)
{
	int			pos,
				written = 0;

	for (pos = 0; pos < f->nfields; pos++)
	{
		int			fi = f->order[pos];

		if (fi >= r->nfields)
			continue;			/* a missing field: the row comes out short */
		if (written++)
			out_bytes(f, ",", 1);
		out_field(f, r->field[fi], r->len[fi]);
	}
	for (pos = f->nfields; pos < r->nfields; pos++)
	{
		out_bytes(f, ",", 1);
		out_field(f, r->field[pos], r->len[pos]);
	}
	out_eol(f);
	f->rows++;
	return f->lines;
}

static void
out_header(OutFile *f, const char *const *names, bool bom)
{
	int			pos;

	if (bom)
		out_bytes(f, "\xEF\xBB\xBF", 3);
	for (pos = 0; pos < f->nfields; pos++)
	{
		if (pos)
			out_bytes(f, ",", 1);
		out_field(f, names[f->order[pos]], (int) strlen(names[f->order[pos]]));
	}
	out_eol(f);
}

/* ---------- defect bookkeeping ---------- */

typedef enum DefectKind
{
	D_AMOUNT_FORMAT,
	D_DATE_FORMAT,
	D_STATUS_SPELLING,
	D_BLANK_ID,
	D_IMPOSSIBLE_DATE,
	D_DUPLICATE_ROW,
	D_MISSING_FIELDS,
	D_EXTRA_FIELDS,
	D_INVALID_UTF8,
	D_SCORE_OUT_OF_RANGE,
	D_NEGATIVE_LOAN,
	D_BALANCE_BREAK,
	D_FUTURE_DATE,
	D_UNKNOWN_CUSTOMER,
	D_BOM,
	D_CRLF,
	D_HEADER_VARIANT,
	D_COLUMN_ORDER,
	D_GZIP,
	D_NKINDS
} DefectKind;

static const char *const defect_name[D_NKINDS] = {
	"amount_format", "date_format", "status_spelling", "blank_id",
	"impossible_date", "duplicate_row", "missing_fields", "extra_fields",
	"invalid_utf8", "score_out_of_range", "negative_loan", "balance_break",
	"future_date", "unknown_customer", "bom", "crlf", "header_variant",
	"column_order", "gzip"
};

/* row-level defects each source can get, chosen uniformly */
static const DefectKind loan_row_defects[] = {
	D_AMOUNT_FORMAT, D_DATE_FORMAT, D_STATUS_SPELLING, D_BLANK_ID,
	D_IMPOSSIBLE_DATE, D_DUPLICATE_ROW, D_MISSING_FIELDS, D_EXTRA_FIELDS,
	D_SCORE_OUT_OF_RANGE, D_NEGATIVE_LOAN, D_FUTURE_DATE
};
static const DefectKind stmt_row_defects[] = {
	D_AMOUNT_FORMAT, D_DATE_FORMAT, D_BLANK_ID, D_IMPOSSIBLE_DATE,
	D_DUPLICATE_ROW, D_MISSING_FIELDS, D_EXTRA_FIELDS, D_INVALID_UTF8,
	D_BALANCE_BREAK, D_FUTURE_DATE, D_UNKNOWN_CUSTOMER
};

#define LENGTHOF(a) ((int) (sizeof(a) / sizeof((a)[0])))

static FILE *defects_csv;
static int64_t defect_count[2][D_NKINDS];	/* [0] loans, [1] statements */

static void
record_defect(const OutFile *f, DefectKind kind, int64_t line, const char *detail)
{
	int			src = strcmp(f->source, "loans") == 0 ? 0 : 1;
	const char *p;

	defect_count[src][kind]++;
	fprintf(defects_csv, "%s,%s,%s,", f->source, defect_name[kind], f->relpath);
	if (line > 0)
		fprintf(defects_csv, "%lld", (long long) line);
	fputs(",\"", defects_csv);
	for (p = detail ? detail : ""; *p; p++)
	{
		if (*p == '"')
			fputc('"', defects_csv);
		fputc(*p, defects_csv);
	}
	fputs("\"\n", defects_csv);
}

/* ---------- spellings a dirty drop uses ---------- */

/* a coercible spelling of an amount; same value as fmt_cents */
static int
dirty_amount(char *dst, int64_t cents)
{
	char		g[40];
	int			gl = fmt_cents_grouped(g, cents);
	bool		neg = cents < 0;

	switch (rng_range(0, 5))
	{
		case 0:					/* naira sign */
			return sprintf(dst, "%s\xE2\x82\xA6%.*s", neg ? "-" : "", gl, g);
		case 1:					/* currency code before */
			return sprintf(dst, "NGN %s%.*s", neg ? "-" : "", gl, g);
		case 2:					/* parentheses or a plus sign */
			return neg ? sprintf(dst, "(%.*s)", gl, g) : sprintf(dst, "+%.*s", gl, g);
		case 3:					/* DR/CR suffix */
			return sprintf(dst, "%.*s %s", gl, g, neg ? "DR" : "CR");
		case 4:					/* trailing minus */
			return sprintf(dst, "%.*s%s", gl, g, neg ? "-" : "");
		default:				/* dollar sign and surrounding spaces */
			return sprintf(dst, " %s$%.*s ", neg ? "-" : "", gl, g);
	}
}

/* a coercible, day-first-or-unambiguous spelling of a date */
static int
dirty_date(char *dst, int64_t day)
{
	int			y,
				m,
				d;

	civil_from_days(day, &y, &m, &d);
	switch (rng_range(0, 3))
	{
		case 0:
			return sprintf(dst, "%02d/%02d/%04d", d, m, y);
		case 1:
			return sprintf(dst, "%02d-%s-%04d", d, month_abbr[m - 1], y);
		case 2:
			return sprintf(dst, "%04d%02d%02d", y, m, d);
		default:
			return sprintf(dst, "%s %d, %04d", month_abbr[m - 1], d, y);
	}
}

static const char *const impossible_dates[] = {
	"2023-02-30", "N/A", "2023-13-01", "31/04/2023", "2022-00-10", "not a date"
};

/* a date at least 60 years ahead: in the future whenever the tests run */
static int64_t
future_day(void)
{
	return days_from_civil(2090, 1, 1) + rng_range(0, 3650);
}

/* ---------- domain ---------- */

static const char *const status_name[] = {"Employed", "Self-Employed", "Unemployed"};
static const char *const status_variants[3][5] = {
	{"employed", "EMPLOYED", " Employed ", "employed ", "Employed."},
	{"self employed", "SELF-EMPLOYED", "Self Employed", " self-employed ", "Self-employed"},
	{"unemployed", "UNEMPLOYED", " Unemployed", "Un-employed", "unemployed "}
};

enum
{
	N_MONTHLY_INCOME, N_FUEL, N_RESTAURANT, N_TRANSFER, N_POS, N_GROCERY,
	N_ATM, N_BILL, N_NARRATIONS
};
static const char *const narration_name[N_NARRATIONS] = {
	"Monthly Income", "Fuel Purchase", "Restaurant Bill", "Online Transfer",
	"POS Purchase", "Grocery Shopping", "ATM Withdrawal", "Bill Payment"
};

/* share of a month's income one debit of this kind typically takes */
static const double narration_share_lo[N_NARRATIONS] = {0, .01, .01, .02, .005, .02, .02, .03};
static const double narration_share_hi[N_NARRATIONS] = {0, .05, .04, .15, .04, .08, .08, .12};

static const char *const loan_header[] = {
	"Application_ID", "Customer_ID", "Loan_Amount", "Loan_Application_Date",
	"Credit_Score", "Employment_Status", "Annual_Income"
};
static const char *const loan_header_variant[] = {
	"Application ID", "customer id", "LOAN-AMOUNT", "Loan Application Date",
	"credit_score", "Employment Status", "annual income"
};
static const char *const stmt_header[] = {
	"Transaction_ID", "Customer_ID", "Transaction_Date", "Transaction_Amount",
	"Narration", "Balance"
};
static const char *const stmt_header_variant[] = {
	"Transaction ID", "CUSTOMER-ID", "transaction date", "Transaction Amount",
	"NARRATION", "Balance "
};

enum
{
	L_APP_ID, L_CUST_ID, L_AMOUNT, L_DATE, L_SCORE, L_STATUS, L_INCOME, L_NFIELDS
};
enum
{
	S_TXN_ID, S_CUST_ID, S_DATE, S_AMOUNT, S_NARRATION, S_BALANCE, S_NFIELDS
};

/* ---------- options ---------- */

typedef struct Options
{
	const char *out;
	long		customers;
	int			months;
	int			start_year;
	int			start_month;
	int			files;
	uint64_t	seed;
	double		dirty;
	double		debits_per_month;
} Options;

static void
usage(FILE *to)
{
	fputs(
		  "indicina-gen: write a landing directory of loan-application and bank-statement\n"
		  "CSV files shaped like the original credit-risk assessment data.\n"
		  "\n"
		  "Usage: indicina-gen --out DIR [OPTION]...\n"
		  "\n"
		  "  --out DIR            landing directory to write (created if missing; the files\n"
		  "                       it writes are replaced)\n"
		  "  --customers N        customers, one loan application each (default 1000)\n"
		  "  --months N           months of bank statement per customer (default 12)\n"
		  "  --start YYYY-MM      first statement month (default 2023-01)\n"
		  "  --files N            split the statements over N files by date range, like\n"
		  "                       daily drops (default 1)\n"
		  "  --debits-per-month X average debits per customer and month, besides the\n"
		  "                       monthly income credit (default 3.2)\n"
		  "  --seed N             random seed; the same seed gives the same bytes (default 42)\n"
		  "  --dirty RATE         fraction of rows, 0 to 1, that get a defect (default 0)\n"
		  "  --help               show this help and exit\n"
		  "\n"
		  "Output:\n"
		  "  DIR/loans/loan_applications.csv\n"
		  "  DIR/statements/bank_statements_NNN.csv   (the last one .csv.gz when dirty)\n"
		  "  DIR/defects.csv   source,kind,file,line,detail: one line per injected defect\n"
		  "  DIR/defects.json  counts per source and kind, and rows/lines per file\n"
		  "\n"
		  "Row defects (each dirty row gets one, chosen uniformly among its source's):\n"
		  "  loans:      amount_format date_format status_spelling blank_id impossible_date\n"
		  "              duplicate_row missing_fields extra_fields score_out_of_range\n"
		  "              negative_loan future_date\n"
		  "  statements: amount_format date_format blank_id impossible_date duplicate_row\n"
		  "              missing_fields extra_fields invalid_utf8 balance_break future_date\n"
		  "              unknown_customer\n"
		  "File defects (when RATE > 0): bom, crlf, header_variant, column_order, gzip.\n"
		  "amount_format, date_format and status_spelling are coercible: the value is the\n"
		  "clean one spelled differently.  Unloadable rows are extra rows (amount 0.00,\n"
		  "balance unchanged) so the balance chain of the clean rows stays consistent.\n",
		  to);
}

static long
parse_long(const char *opt, const char *s, long lo, long hi)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		die("invalid value for %s: \"%s\" (expected an integer from %ld to %ld)", opt, s, lo, hi);
	return v;
}

/* a number from lo to hi, or a clear refusal saying what was expected */
static double
parse_double(const char *opt, const char *s, double lo, double hi, const char *expected)
{
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || v < lo || v > hi)
		die("invalid value for %s: \"%s\" (expected %s)", opt, s, expected);
	return v;
}

static void
parse_options(int argc, char **argv, Options *o)
{
	static const struct option longopts[] = {
		{"out", required_argument, NULL, 'o'},
		{"customers", required_argument, NULL, 'c'},
		{"months", required_argument, NULL, 'm'},
		{"start", required_argument, NULL, 's'},
		{"files", required_argument, NULL, 'f'},
		{"seed", required_argument, NULL, 'S'},
		{"dirty", required_argument, NULL, 'd'},
		{"debits-per-month", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	int			c;

	o->out = NULL;
	o->customers = 1000;
	o->months = 12;
	o->start_year = 2023;
	o->start_month = 1;
	o->files = 1;
	o->seed = 42;
	o->dirty = 0;
	o->debits_per_month = 3.2;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'o':
				o->out = optarg;
				break;
			case 'c':
				o->customers = parse_long("--customers", optarg, 1, 100000000);
				break;
			case 'm':
				o->months = (int) parse_long("--months", optarg, 1, 600);
				break;
			case 's':
				if (sscanf(optarg, "%4d-%2d", &o->start_year, &o->start_month) != 2 ||
					o->start_year < 1900 || o->start_year > 2080 ||
					o->start_month < 1 || o->start_month > 12)
					die("invalid value for --start: \"%s\" (expected YYYY-MM)", optarg);
				break;
			case 'f':
				o->files = (int) parse_long("--files", optarg, 1, 999);
				break;
			case 'S':
				o->seed = (uint64_t) parse_long("--seed", optarg, 0, 0x7fffffffL);
				break;
			case 'd':
				o->dirty = parse_double("--dirty", optarg, 0, 1, "a fraction from 0 to 1");
				break;
			case 'b':
				o->debits_per_month = parse_double("--debits-per-month", optarg, 0, 100, "0 to 100");
				break;
			case 'h':
				usage(stdout);
				exit(0);
			default:
				usage(stderr);
				exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument \"%s\" (see --help)", argv[optind]);
	if (!o->out)
		die("--out DIR is required (see --help)");
}

static void
make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		die("cannot create directory %s: %s", path, strerror(errno));
}

/* ---------- generation ---------- */

typedef struct Customer
{
	int			status;			/* index into status_name */
	int64_t		income;			/* annual, whole units */
} Customer;

typedef struct Txn
{
	int64_t		day;
	int			narration;
	int64_t		cents;			/* signed */
} Txn;

static int
txn_cmp(const void *a, const void *b)
{
	const Txn  *x = a,
			   *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	/* income before spending on the same day, a stable and readable order */
	return x->narration - y->narration;
}

static int	id_width;

static int
fmt_id(char *dst, const char *prefix, int64_t n)
{
	int			pl = (int) strlen(prefix);

	memcpy(dst, prefix, pl);
	return pl + fmt_uint(dst + pl, (uint64_t) n, id_width);
}

static void
set_identity_order(OutFile *f, int nfields)
{
	int			i;

	f->nfields = nfields;
	for (i = 0; i < nfields; i++)
		f->order[i] = i;
}

/* a reordered header: the same columns, rotated, with the first two swapped */
static void
set_shuffled_order(OutFile *f, int nfields)
{
	int			i;

	f->nfields = nfields;
	for (i = 0; i < nfields; i++)
		f->order[i] = (i + 2) % nfields;
	f->order[0] ^= f->order[1];
	f->order[1] ^= f->order[0];
	f->order[0] ^= f->order[1];
}

/* turns a fully built record into a ragged one of the given defect */
static void
make_ragged(Record *r, DefectKind kind, int nfields, char *detail)
{
	if (kind == D_MISSING_FIELDS)
	{
		int			drop = (int) rng_range(1, 2);

		r->nfields = nfields - drop;
		sprintf(detail, "%d of %d fields", r->nfields, nfields);
	}
	else
	{
		rec_set(r, nfields, "unexpected", -1);
		r->nfields = nfields + 1;
		sprintf(detail, "%d of %d fields", r->nfields, nfields);
	}
}

/*
 * The defects an extra row of either file may carry: a blank identifier
 * (ID_A or ID_B, at random), an impossible date in DATE_FIELD, fields
 * missing or extra.  Done to a fully built record, with the detail written;
 * false when KIND is none of them.
 */
static bool
shared_row_defect(Record *r, DefectKind kind, int id_a, int id_b, int date_field, int nfields,
				  char *detail, size_t detail_size)
{
	switch (kind)
	{
		case D_BLANK_ID:
			rec_set(r, rng_range(0, 1) ? id_a : id_b, "", 0);
			strcpy(detail, "blank identifier");
			return true;
		case D_IMPOSSIBLE_DATE:
			rec_set(r, date_field, impossible_dates[rng_range(0, LENGTHOF(impossible_dates) - 1)], -1);
			snprintf(detail, detail_size, "%.*s", r->len[date_field], r->field[date_field]);
			return true;
		case D_MISSING_FIELDS:
		case D_EXTRA_FIELDS:
			make_ragged(r, kind, nfields, detail);
			return true;
		default:
			return false;
	}
}

/*
 * Writes the loan applications; extra applications (for customers with no
 * statement) carry the defects that make a row unloadable.
 */
static void
write_loans(const Options *o, Customer *cust, int64_t period_start, int64_t period_end)
{
	OutFile		f = {0};
	bool		dirty = o->dirty > 0;
	int64_t		extra_id = o->customers;
	long		i;

	out_open(&f, "loans/loan_applications.csv", "loans", false);
	f.crlf = dirty;
	set_identity_order(&f, L_NFIELDS);
	out_header(&f, dirty ? loan_header_variant : loan_header, dirty);
	if (dirty)
	{
		record_defect(&f, D_BOM, 1, "UTF-8 byte order mark before the header");
		record_defect(&f, D_HEADER_VARIANT, 1, "header names spelled with spaces, hyphens and other case");
		record_defect(&f, D_CRLF, 0, "every line ends in CRLF");
	}

	for (i = 0; i < o->customers; i++)
	{
		Customer   *c = &cust[i];
		Record		r;
		char		buf[64];
		int			len;
		int64_t		loan = rng_range(5000, 49999);
		int			score = (int) rng_range(300, 850);
		int64_t		appday = rng_range(period_start - 365, period_end);
		double		u = rng_unit();
		DefectKind	kind = D_NKINDS;
		int64_t		line;
		char		detail[160] = "";

		c->status = u < 0.69 ? 0 : (u < 0.90 ? 1 : 2);
		c->income = c->status == 0 ? rng_range(30000, 79999) :
			c->status == 1 ? rng_range(20000, 99999) : rng_range(500, 29999);

		r.nfields = L_NFIELDS;
		rec_set(&r, L_APP_ID, buf, fmt_id(buf, "APP_", i + 1));
		rec_set(&r, L_CUST_ID, buf, fmt_id(buf, "CUST_", i + 1));
		rec_set(&r, L_AMOUNT, buf, fmt_uint(buf, (uint64_t) loan, 1));
		rec_set(&r, L_DATE, buf, fmt_iso_date(buf, appday));
		rec_set(&r, L_SCORE, buf, fmt_uint(buf, (uint64_t) score, 1));
		rec_set(&r, L_STATUS, status_name[c->status], -1);
		rec_set(&r, L_INCOME, buf, fmt_uint(buf, (uint64_t) c->income, 1));

		if (dirty && rng_unit() < o->dirty)
			kind = loan_row_defects[rng_range(0, LENGTHOF(loan_row_defects) - 1)];

		/* coercible defects rewrite this row in place */
		if (kind == D_AMOUNT_FORMAT)
		{
			int			which = rng_range(0, 1) ? L_AMOUNT : L_INCOME;
			int64_t		v = which == L_AMOUNT ? loan : c->income;

			len = dirty_amount(buf, v * 100);
			rec_set(&r, which, buf, len);
			snprintf(detail, sizeof(detail), "%s=%.*s", loan_header[which], len, buf);
		}
		else if (kind == D_DATE_FORMAT)
		{
			len = dirty_date(buf, appday);
			rec_set(&r, L_DATE, buf, len);
			snprintf(detail, sizeof(detail), "%.*s", len, buf);
		}
		else if (kind == D_STATUS_SPELLING)
		{
			const char *v = status_variants[c->status][rng_range(0, 4)];

			rec_set(&r, L_STATUS, v, -1);
			snprintf(detail, sizeof(detail), "%s", v);
		}

		line = out_record(&f, &r);
		if (kind == D_AMOUNT_FORMAT || kind == D_DATE_FORMAT || kind == D_STATUS_SPELLING)
			record_defect(&f, kind, line, detail);
		else if (kind == D_DUPLICATE_ROW)
		{
			line = out_record(&f, &r);
			record_defect(&f, kind, line, "exact copy of the line before");
		}
		else if (kind != D_NKINDS)
		{
			/* an extra application, for a customer who has no statement */
			extra_id++;
			rec_set(&r, L_APP_ID, buf, fmt_id(buf, "APP_", extra_id));
			rec_set(&r, L_CUST_ID, buf, fmt_id(buf, "CUST_", extra_id));
			switch (kind)
			{
				case D_SCORE_OUT_OF_RANGE:
					score = rng_range(0, 1) ? (int) rng_range(0, 299) : (int) rng_range(851, 999);
					rec_set(&r, L_SCORE, buf, fmt_uint(buf, (uint64_t) score, 1));
					snprintf(detail, sizeof(detail), "%d", score);
					break;
				case D_NEGATIVE_LOAN:
					len = fmt_cents(buf, -loan * 100);
					rec_set(&r, L_AMOUNT, buf, len - 3);	/* whole units */
					snprintf(detail, sizeof(detail), "%.*s", len - 3, buf);
					break;
				case D_FUTURE_DATE:
					rec_set(&r, L_DATE, buf, fmt_iso_date(buf, future_day()));
					snprintf(detail, sizeof(detail), "%.*s", r.len[L_DATE], r.field[L_DATE]);
					break;
				default:
					if (!shared_row_defect(&r, kind, L_APP_ID, L_CUST_ID, L_DATE, L_NFIELDS, detail, sizeof(detail)))
						die("unhandled loan defect %d", kind);
			}
			line = out_record(&f, &r);
			record_defect(&f, kind, line, detail);
		}
	}
	out_close(&f);
}

typedef struct StmtState
{
	OutFile    *files;
	int			nfiles;
	int64_t		period_start;
	int64_t		period_days;
	int64_t		next_txn;
	int64_t		next_unknown;
	const Options *o;
} StmtState;

static OutFile *
file_for_day(StmtState *st, int64_t day)
{
	int64_t		k = (day - st->period_start) * st->nfiles / st->period_days;

	if (k < 0)
		k = 0;
	if (k >= st->nfiles)
		k = st->nfiles - 1;
	return &st->files[k];
}

static void
build_txn_record(StmtState *st, Record *r, const char *cust_id, int cust_len,
				 int64_t day, int narration, int64_t cents, int64_t balance)
{
	char		buf[64];

	r->nfields = S_NFIELDS;
	rec_set(r, S_TXN_ID, buf, fmt_id(buf, "TXN_", ++st->next_txn));
	rec_set(r, S_CUST_ID, cust_id, cust_len);
	rec_set(r, S_DATE, buf, fmt_iso_date(buf, day));
	rec_set(r, S_AMOUNT, buf, fmt_cents(buf, cents));
	rec_set(r, S_NARRATION, narration_name[narration], -1);
	rec_set(r, S_BALANCE, buf, fmt_cents(buf, balance));
}

/*
 * An unloadable extra row after the current one: amount 0.00 and the
 * running balance, so the chain of clean rows holds either way.
 */
static void
write_extra_txn(StmtState *st, OutFile *f, DefectKind kind, const char *cust_id,
				int cust_len, int64_t day, int64_t balance)
{
	Record		r;
	char		detail[160] = "";
	int64_t		line;

	build_txn_record(st, &r, cust_id, cust_len, day, (int) rng_range(1, N_NARRATIONS - 1), 0, balance);
	switch (kind)
	{
		case D_INVALID_UTF8:
			{
				static const char *const bad[] = {"\xFF", "\xC3", "\xE2\x82", "\x80", "\xC0\xAF"};
				char		text[64];
				int			len = snprintf(text, sizeof(text), "%.*s%s",
										   r.len[S_NARRATION], r.field[S_NARRATION],
										   bad[rng_range(0, LENGTHOF(bad) - 1)]);

				rec_set(&r, S_NARRATION, text, len);
				strcpy(detail, "narration ends in an invalid UTF-8 sequence");
				break;
			}
		default:
			if (!shared_row_defect(&r, kind, S_TXN_ID, S_CUST_ID, S_DATE, S_NFIELDS, detail, sizeof(detail)))
				die("unhandled statement defect %d", kind);
	}
	line = out_record(f, &r);
	record_defect(f, kind, line, detail);
}

/* a customer the applications never mention: one to three consistent rows */
static void
write_unknown_customer(StmtState *st, OutFile *f, int64_t day)
{
	char		cust[32];
	int			cl = snprintf(cust, sizeof(cust), "CUST_U%06lld", (long long) ++st->next_unknown);
	int64_t		balance = rng_range(0, 200000);
	int			n = (int) rng_range(1, 3),
				i;

	for (i = 0; i < n; i++)
	{
		Record		r;
		int			narr = (int) rng_range(1, N_NARRATIONS - 1);
		int64_t		cents = -rng_range(100, 20000);

		balance += cents;
		build_txn_record(st, &r, cust, cl, day, narr, cents, balance);
		record_defect(f, D_UNKNOWN_CUSTOMER, out_record(f, &r), cust);
	}
}

static void
write_statements(const Options *o, const Customer *cust, int64_t period_start, int64_t period_days)
{
	StmtState	st = {0};
	bool		dirty = o->dirty > 0;
	int			cap = 64;
	Txn		   *txns = malloc(sizeof(Txn) * cap);
	int			k;
	long		i;

	if (!txns)
		die("out of memory");
	st.o = o;
	st.nfiles = o->files;
	st.period_start = period_start;
	st.period_days = period_days;
	st.files = calloc(o->files, sizeof(OutFile));
	if (!st.files)
		die("out of memory");

	for (k = 0; k < o->files; k++)
	{
		OutFile    *f = &st.files[k];
		char		rel[128];
		bool		gz = dirty && k == o->files - 1;
		bool		variant = dirty && k == 2 % o->files;
		bool		shuffled = dirty && k == 3 % o->files;
		bool		bom = dirty && k == 0;

		snprintf(rel, sizeof(rel), "statements/bank_statements_%03d.csv%s", k + 1, gz ? ".gz" : "");
		out_open(f, rel, "statements", gz);
		f->crlf = dirty && k == 1 % o->files;
		if (shuffled)
			set_shuffled_order(f, S_NFIELDS);
		else
			set_identity_order(f, S_NFIELDS);
		out_header(f, variant ? stmt_header_variant : stmt_header, bom);
		if (bom)
			record_defect(f, D_BOM, 1, "UTF-8 byte order mark before the header");
		if (variant)
			record_defect(f, D_HEADER_VARIANT, 1, "header names spelled with spaces, hyphens and other case");
		if (shuffled)
			record_defect(f, D_COLUMN_ORDER, 1, "columns in another order than the other files");
		if (f->crlf)
			record_defect(f, D_CRLF, 0, "every line ends in CRLF");
		if (gz)
			record_defect(f, D_GZIP, 0, "gzip-compressed");
	}

	for (i = 0; i < o->customers; i++)
	{
		const Customer *c = &cust[i];
		char		cust_id[32];
		int			cl = fmt_id(cust_id, "CUST_", i + 1);
		int64_t		monthly = c->income * 100 / 12;	/* cents */
		int64_t		spend_base = monthly > 30000 ? monthly : 30000;
		int64_t		balance = rng_range(10000, 500000);
		OutFile    *last_file = &st.files[0];
		int			n = 0,
					m,
					t;

		for (m = 0; m < o->months; m++)
		{
			int			y = o->start_year + (o->start_month - 1 + m) / 12;
			int			mo = (o->start_month - 1 + m) % 12 + 1;
			int64_t		first = days_from_civil(y, mo, 1);
			int			dim = days_in_month(y, mo);
			double		income_p = c->status == 0 ? 1.0 : (c->status == 1 ? 0.85 : 0.4);
			int			debits = (int) o->debits_per_month;

			if (rng_unit() < o->debits_per_month - debits)
				debits++;
			/* spread the count a little: -1, 0 or +1 around the mean */
			if (debits > 0)
				debits += (int) rng_range(-1, 1);
			if (n + debits + 2 > cap)
			{
				cap = (n + debits + 2) * 2;
				txns = realloc(txns, sizeof(Txn) * cap);
				if (!txns)
					die("out of memory");
			}
			if (rng_unit() < income_p)
			{
				double		scale = c->status == 0 ? 1.0 : 0.5 + rng_unit();

				txns[n].day = first + (dim >= 28 ? rng_range(23, 27) : 0);
				txns[n].narration = N_MONTHLY_INCOME;
				txns[n].cents = (int64_t) (monthly * scale);
				if (txns[n].cents < 100)
					txns[n].cents = 100;
				n++;
			}
			for (t = 0; t < debits; t++)
			{
				int			narr = (int) rng_range(1, N_NARRATIONS - 1);
				double		share = narration_share_lo[narr] +
					rng_unit() * (narration_share_hi[narr] - narration_share_lo[narr]);
				int64_t		cents = (int64_t) (spend_base * share);

				if (narr == N_ATM)
					cents = (cents / 1000 + 1) * 1000;	/* whole tens */
				if (cents < 100)
					cents = 100;
				/* a quarter of online transfers come in */
				txns[n].cents = (narr == N_TRANSFER && rng_unit() < 0.25) ? cents : -cents;
				txns[n].narration = narr;
				txns[n].day = first + rng_range(0, dim - 1);
				n++;
			}
		}
		qsort(txns, n, sizeof(Txn), txn_cmp);

		for (t = 0; t < n; t++)
		{
			Txn		   *x = &txns[t];
			OutFile    *f = file_for_day(&st, x->day);
			Record		r;
			DefectKind	kind = D_NKINDS;
			char		buf[64],
						detail[160] = "";
			int			len;
			int64_t		line;

			/* keep the account from sinking without end: spending adapts */
			if (x->cents < 0 && balance + x->cents < -50000)
				x->cents = -(x->cents / -4 > 100 ? -x->cents / 4 : 100);

			if (dirty && rng_unit() < o->dirty)
				kind = stmt_row_defects[rng_range(0, LENGTHOF(stmt_row_defects) - 1)];
			/* a break needs a row before it to be a break */
			if (kind == D_BALANCE_BREAK && t == 0)
				kind = D_NKINDS;

			balance += x->cents;
			if (kind == D_BALANCE_BREAK)
			{
				int64_t		gap = rng_range(100, 50000) * (rng_range(0, 1) ? 1 : -1);

				balance += gap;
				len = fmt_cents(buf, gap);
				snprintf(detail, sizeof(detail), "gap=%.*s", len, buf);
			}
			build_txn_record(&st, &r, cust_id, cl, x->day, x->narration, x->cents, balance);

			if (kind == D_AMOUNT_FORMAT)
			{
				int			which = rng_range(0, 2) ? S_AMOUNT : S_BALANCE;

				len = dirty_amount(buf, which == S_AMOUNT ? x->cents : balance);
				rec_set(&r, which, buf, len);
				snprintf(detail, sizeof(detail), "%s=%.*s", stmt_header[which], len, buf);
			}
			else if (kind == D_DATE_FORMAT)
			{
				len = dirty_date(buf, x->day);
				rec_set(&r, S_DATE, buf, len);
				snprintf(detail, sizeof(detail), "%.*s", len, buf);
			}

			line = out_record(f, &r);
			last_file = f;
			switch (kind)
			{
				case D_NKINDS:
					break;
				case D_AMOUNT_FORMAT:
				case D_DATE_FORMAT:
				case D_BALANCE_BREAK:
					record_defect(f, kind, line, detail);
					break;
				case D_DUPLICATE_ROW:
					record_defect(f, kind, out_record(f, &r), "exact copy of the line before");
					break;
				case D_UNKNOWN_CUSTOMER:
					write_unknown_customer(&st, f, x->day);
					break;
				case D_FUTURE_DATE:
					/* written after the customer's last row, see below */
					break;
				default:
					write_extra_txn(&st, f, kind, cust_id, cl, x->day, balance);
					break;
			}
			if (kind == D_FUTURE_DATE)
			{
				/*
				 * Remembered as a count: each one becomes a zero-amount row
				 * at the end of this customer's chain, dated decades ahead.
				 */
				x->narration = -1;
			}
		}
		for (t = 0; t < n; t++)
		{
			if (txns[t].narration == -1)
			{
				Record		r;
				int64_t		fday = future_day();
				int64_t		line;
				char		detail[32];

				build_txn_record(&st, &r, cust_id, cl, fday,
								 (int) rng_range(1, N_NARRATIONS - 1), 0, balance);
				line = out_record(last_file, &r);
				fmt_iso_date(detail, fday);
				detail[10] = '\0';
				record_defect(last_file, D_FUTURE_DATE, line, detail);
			}
		}
		n = 0;
	}
	free(txns);

	for (k = 0; k < o->files; k++)
		out_close(&st.files[k]);
}

static void
write_summary(const Options *o)
{
	char		path[1024];
	FILE	   *fp;
	int			s,
				k,
				i;
	static const char *const src_name[] = {"loans", "statements"};

	snprintf(path, sizeof(path), "%s/defects.json", out_dir);
	fp = fopen(path, "w");
	if (!fp)
		die("cannot create %s: %s", path, strerror(errno));
	fprintf(fp, "{\n  \"generator\": \"indicina-gen\",\n  \"seed\": %llu,\n"
			"  \"customers\": %ld,\n  \"months\": %d,\n  \"start\": \"%04d-%02d\",\n"
			"  \"files\": %d,\n  \"dirty\": %g,\n",
			(unsigned long long) o->seed, o->customers, o->months,
			o->start_year, o->start_month, o->files, o->dirty);
	fprintf(fp, "  \"outputs\": [\n");
	for (k = 0; k < nsummaries; k++)
		fprintf(fp, "    {\"source\": \"%s\", \"file\": \"%s\", \"rows\": %lld, \"lines\": %lld}%s\n",
				summaries[k].source, summaries[k].relpath, (long long) summaries[k].rows,
				(long long) summaries[k].lines, k + 1 < nsummaries ? "," : "");
	fprintf(fp, "  ],\n  \"defects\": {\n");
	for (s = 0; s < 2; s++)
	{
		bool		first = true;

		fprintf(fp, "    \"%s\": {", src_name[s]);
		for (i = 0; i < D_NKINDS; i++)
		{
			if (!defect_count[s][i])
				continue;
			fprintf(fp, "%s\n      \"%s\": %lld", first ? "" : ",", defect_name[i],
					(long long) defect_count[s][i]);
			first = false;
		}
		fprintf(fp, "%s}%s\n", first ? "" : "\n    ", s == 0 ? "," : "");
	}
	fprintf(fp, "  }\n}\n");
	if (fclose(fp) != 0)
		die("cannot write %s: %s", path, strerror(errno));
}

int
main(int argc, char **argv)
{
	Options		o;
	Customer   *cust;
	char		path[1024];
	int64_t		period_start,
				period_end;
	int			end_y,
				end_m;
	uint64_t	sm;
	int			k;

	parse_options(argc, argv, &o);
	out_dir = o.out;
	sm = o.seed;
	for (k = 0; k < 4; k++)
		rng_s[k] = splitmix64(&sm);

	id_width = 4;
	for (long n = o.customers * 2; n >= 10000; n /= 10)
		id_width++;

	make_dir(out_dir);
	snprintf(path, sizeof(path), "%s/loans", out_dir);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/statements", out_dir);
	make_dir(path);
	snprintf(path, sizeof(path), "%s/defects.csv", out_dir);
	defects_csv = fopen(path, "w");
	if (!defects_csv)
		die("cannot create %s: %s", path, strerror(errno));
	fputs("source,kind,file,line,detail\n", defects_csv);

	period_start = days_from_civil(o.start_year, o.start_month, 1);
	end_y = o.start_year + (o.start_month - 1 + o.months) / 12;
	end_m = (o.start_month - 1 + o.months) % 12 + 1;
	period_end = days_from_civil(end_y, end_m, 1) - 1;

	cust = calloc(o.customers, sizeof(Customer));
	if (!cust)
		die("out of memory");
	write_loans(&o, cust, period_start, period_end);
	write_statements(&o, cust, period_start, period_end - period_start + 1);
	free(cust);

	if (fclose(defects_csv) != 0)
		die("cannot write defects.csv: %s", strerror(errno));
	write_summary(&o);
	return 0;
}
