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

/*
 * The tokens as a deterministic automaton over ASCII bytes, built when the
 * pattern expands to at most 63 positions and SR_DFA_MAX_STATES states: a
 * match is then one table lookup per byte.  State 0 is dead; a byte of 128
 * or more leads to SR_DFA_UNSURE (the engine's to judge).
 */
#define SR_DFA_MAX_STATES 128
#define SR_DFA_UNSURE 255

typedef struct SimpleDfa
{
	int			nstates;
	uint8		start;
	bool		accept[SR_DFA_MAX_STATES];
	uint8		next[SR_DFA_MAX_STATES][256];
} SimpleDfa;

typedef struct SimpleRegex
{
	bool		anchored_start;
	bool		anchored_end;
	int			ntokens;
	SimpleToken tokens[SR_MAX_TOKENS];
	SimpleDfa  *dfa;			/* NULL: match with the position sets */
	/*
	 * The shape of most identifier rules, ^PREFIX[class]{m,n}$ with every
	 * token but the last taken a fixed number of times: byte i is checked
	 * against the class of position i, each byte on its own (no chain of
	 * state lookups).  fixed_len positions, then the last token.
	 */
	bool		fixed_then_run;
	int			fixed_len;
	uint8		pos_token[64];
	/*
	 * For that shape, each token's class as a byte table (SR_BYTE_*), so a
	 * byte costs one load and one compare.
	 */
	uint8		byte_verdict[SR_MAX_TOKENS][256];
} SimpleRegex;

#define SR_BYTE_OUT 0			/* not in the class */
#define SR_BYTE_IN 1			/* in the class */
#define SR_BYTE_UNSURE 2		/* not ASCII: the engine's to judge */

extern bool simple_regex_compile(const char *pattern, SimpleRegex *re);
extern int	simple_regex_match(const SimpleRegex *re, const char *s, int len);

/*
 * The match for the ^PREFIX[class]{m,n}$ shape (fixed_then_run), inline so
 * a row rule's hot loop pays no call for it: byte by byte up to the first
 * byte out of its class or not ASCII.  A decision before a non-ASCII byte
 * stands, as with the automaton.
 */
static inline int
simple_regex_match_fixed(const SimpleRegex *re, const char *s, int len)
{
	const SimpleToken *last = &re->tokens[re->ntokens - 1];
	const uint8 *run = re->byte_verdict[re->ntokens - 1];
	uint8		v;
	int			i;

	/* a string has at most as many characters as bytes */
	if (len < re->fixed_len + last->min)
		return SR_NO_MATCH;
	for (i = 0; i < re->fixed_len; i++)
		if ((v = re->byte_verdict[re->pos_token[i]][(unsigned char) s[i]]) != SR_BYTE_IN)
			return v == SR_BYTE_OUT ? SR_NO_MATCH : SR_UNSURE;
	for (; i < len; i++)
		if ((v = run[(unsigned char) s[i]]) != SR_BYTE_IN)
			return v == SR_BYTE_OUT ? SR_NO_MATCH : SR_UNSURE;
	/* all ASCII: bytes are characters */
	if (last->max != SR_UNBOUNDED && len > re->fixed_len + last->max)
		return SR_NO_MATCH;
	return SR_MATCH;
}

/* simple_regex_match, with the common shape inline */
static inline int
simple_regex_match_inline(const SimpleRegex *re, const char *s, int len)
{
	return re->fixed_then_run ? simple_regex_match_fixed(re, s, len) : simple_regex_match(re, s, len);
}

#endif							/* INDICINA_SIMPLE_REGEX_H */
