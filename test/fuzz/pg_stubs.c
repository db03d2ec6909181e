/*-------------------------------------------------------------------------
 *
 * pg_stubs.c
 *		Stand-ins for the few backend functions src/coerce/coerce.c calls, so the
 *		parsers can be fuzzed in a standalone libFuzzer binary.
 *
 * Written for the fuzzer only: date2j is the textbook Julian day formula,
 * day_tab the calendar's month lengths, numeric construction is never reached by the fuzz targets (they stop at
 * ParsedDecimal) and aborts if it is.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int			pg_vsnprintf(char *str, size_t count, const char *fmt, va_list args);
int			pg_snprintf(char *str, size_t count, const char *fmt,...);
int			pg_strcasecmp(const char *s1, const char *s2);
int			pg_strncasecmp(const char *s1, const char *s2, size_t n);
int			date2j(int y, int m, int d);
uintptr_t	cents_to_numeric(int64_t value, int scale);
void	   *palloc(size_t size);
uintptr_t	DirectFunctionCall3Coll(void *func, unsigned int collation, uintptr_t a1, uintptr_t a2, uintptr_t a3);
uintptr_t	numeric_in(void *fcinfo);
extern const int day_tab[2][13];

/* the days of each month, in a common year and in a leap year */
const int	day_tab[2][13] = {
	{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0},
	{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0}
};

int
pg_vsnprintf(char *str, size_t count, const char *fmt, va_list args)
{
	return vsnprintf(str, count, fmt, args);
}

int
pg_snprintf(char *str, size_t count, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(str, count, fmt, ap);
	va_end(ap);
	return n;
}

int
pg_strcasecmp(const char *s1, const char *s2)
{
	return strcasecmp(s1, s2);
}

int
pg_strncasecmp(const char *s1, const char *s2, size_t n)
{
	return strncasecmp(s1, s2, n);
}

/* Julian day number of a Gregorian date (Fliegel and Van Flandern) */
int
date2j(int y, int m, int d)
{
	long		a = (14 - m) / 12;
	long		yy = y + 4800 - a;
	long		mm = m + 12 * a - 3;

	return (int) (d + (153 * mm + 2) / 5 + 365 * yy + yy / 4 - yy / 100 + yy / 400 - 32045);
}

/* core/cents.c, which coerce.c's decimal_to_numeric calls */
uintptr_t
cents_to_numeric(int64_t value, int scale)
{
	abort();
}

/* weak: the reader's fuzzer links reader_stubs.c, whose palloc allocates */
__attribute__((weak)) void *
palloc(size_t size)
{
	abort();
}

uintptr_t
DirectFunctionCall3Coll(void *func, unsigned int collation, uintptr_t a1, uintptr_t a2, uintptr_t a3)
{
	abort();
}

uintptr_t
numeric_in(void *fcinfo)
{
	abort();
}

int			pg_fprintf(FILE *stream, const char *fmt,...);
void	   *pg_detoast_datum(void *datum);

int
pg_fprintf(FILE *stream, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vfprintf(stream, fmt, ap);
	va_end(ap);
	return n;
}

void *
pg_detoast_datum(void *datum)
{
	abort();
}
