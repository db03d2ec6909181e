/*-------------------------------------------------------------------------
 *
 * simple_regex.h
 *		A fast matcher for simple regular expressions (simple_regex.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_SIMPLE_REGEX_H
#define INDICINA_SIMPLE_REGEX_H

#define SR_MAX_TOKENS 32
#define SR_MAX_LEN 256
#define SR_UNBOUNDED (-1)

#define SR_NO_MATCH 0
#define SR_MATCH 1
#define SR_UNSURE 2

typedef struct SimpleToken
{
	uint32		cls[4];			/* bytes 0..127 the token takes */
	int			min;
	int			max;			/* SR_UNBOUNDED: no limit */
} SimpleToken;

typedef struct SimpleRegex
{
	bool		anchored_start;
	bool		anchored_end;
	int			ntokens;
	SimpleToken tokens[SR_MAX_TOKENS];
} SimpleRegex;

extern bool simple_regex_compile(const char *pattern, SimpleRegex *re);
extern int	simple_regex_match(const SimpleRegex *re, const char *s, int len);

#endif							/* INDICINA_SIMPLE_REGEX_H */
