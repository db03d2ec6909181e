/*-------------------------------------------------------------------------
 *
 * simple_regex.c
 *		A matcher for the regular expressions quality rules mostly use,
 *		shapes like ^TXN_[0-9]+$ or ^[A-Z]{3}-\d{4,6}$: anchors, literals,
 *		bracket classes, \d \w \s, '.', and the quantifiers * + ? {n,m}.
 *
 * PostgreSQL's regex engine costs about 330 ns a call on such a pattern
 * (it sets up its DFA per call); a row rule on every row of a 5M-row scan
 * pays that 5M times.  Without groups or alternation, "does the pattern
 * match" is a set question: which positions of the value can each token end
 * at.  That answers exactly as the engine does for ASCII input.  Anything
 * else (another construct, a non-ASCII byte in the pattern or in the value
 * -- the engine's \w takes é --, a value longer than SR_MAX_LEN) goes to
 * the engine.  sql/quality.sql checks both agree.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "coerce/simple_regex.h"

/* the class of one token: which bytes (0..127) it takes */
static void
class_set(SimpleToken *t, int c)
{
	t->cls[c >> 5] |= (uint32) 1 << (c & 31);
}

static bool
class_has(const SimpleToken *t, int c)
{
	return c < 128 && (t->cls[c >> 5] & ((uint32) 1 << (c & 31))) != 0;
}

static void
class_range(SimpleToken *t, int lo, int hi)
{
	int			c;

	for (c = lo; c <= hi; c++)
		class_set(t, c);
}

/* \d \w \s (and their negations) into t; false for another escape letter */
static bool
class_escape(SimpleToken *t, char e, bool *negated_class)
{
	SimpleToken tmp = {0};
	int			c;

	switch (e)
	{
		case 'd':
		case 'D':
			class_range(&tmp, '0', '9');
			break;
		case 'w':
		case 'W':
			class_range(&tmp, '0', '9');
			class_range(&tmp, 'a', 'z');
			class_range(&tmp, 'A', 'Z');
			class_set(&tmp, '_');
			break;
		case 's':
		case 'S':
			class_set(&tmp, ' ');
			class_range(&tmp, '\t', '\r');
			break;
		default:
			return false;
	}
	for (c = 0; c < 128; c++)
		if (class_has(&tmp, c) != (e >= 'A' && e <= 'Z'))
			class_set(t, c);
	if (e >= 'A' && e <= 'Z')
		*negated_class = true;
	return true;
}

/*
 * The automaton.  Each token {min,max} expands into units: min required
 * ones, then max-min optional ones or, unbounded, one starred unit.
 * Position p means "the first p units are matched"; a set of positions
 * fits a uint64, so patterns of up to 63 units qualify.  Subset
 * construction from the start set, over the 128 ASCII bytes.
 */
#define UNIT_REQUIRED 0
#define UNIT_OPTIONAL 1
#define UNIT_STAR 2
#define SR_DFA_MAX_UNITS 63

typedef struct DfaUnits
{
	int			n;
	const SimpleToken *token[SR_DFA_MAX_UNITS];
	int			type[SR_DFA_MAX_UNITS];
	bool		anchored_start;
} DfaUnits;

/* adds the positions reachable without a byte: past optional and starred units */
static uint64
dfa_closure(const DfaUnits *u, uint64 set)
{
	int			p;

	for (p = 0; p < u->n; p++)
		if ((set & ((uint64) 1 << p)) && u->type[p] != UNIT_REQUIRED)
			set |= (uint64) 1 << (p + 1);
	return set;
}

static uint64
dfa_step(const DfaUnits *u, uint64 set, int c)
{
	uint64		out = 0;
	int			p;

	for (p = 0; p <= u->n; p++)
	{
		if (!(set & ((uint64) 1 << p)))
			continue;
		if (p < u->n && class_has(u->token[p], c))
			out |= (uint64) 1 << (p + 1);
		/* a starred unit takes more of its class in place */
		if (p > 0 && u->type[p - 1] == UNIT_STAR && class_has(u->token[p - 1], c))
			out |= (uint64) 1 << p;
	}
	/* unanchored: a match can start at any byte */
	if (!u->anchored_start)
		out |= 1;
	return out == 0 ? 0 : dfa_closure(u, out);
}

static SimpleDfa *
build_dfa(const SimpleRegex *re)
{
	DfaUnits	u;
	uint64		sets[SR_DFA_MAX_STATES];
	SimpleDfa  *dfa;
	int			t,
				i,
				s,
				c;

	u.n = 0;
	u.anchored_start = re->anchored_start;
	for (t = 0; t < re->ntokens; t++)
	{
		const SimpleToken *tok = &re->tokens[t];
		int			extra = tok->max == SR_UNBOUNDED ? 1 : tok->max - tok->min;

		if (u.n + tok->min + extra > SR_DFA_MAX_UNITS)
			return NULL;
		for (i = 0; i < tok->min + extra; i++)
		{
			u.token[u.n] = tok;
			u.type[u.n] = i < tok->min ? UNIT_REQUIRED : tok->max == SR_UNBOUNDED ? UNIT_STAR : UNIT_OPTIONAL;
			u.n++;
		}
	}

	dfa = palloc0(sizeof(SimpleDfa));
	sets[0] = 0;				/* dead */
	sets[1] = dfa_closure(&u, 1);
	dfa->start = 1;
	dfa->nstates = 2;
	for (s = 1; s < dfa->nstates; s++)
	{
		dfa->accept[s] = (sets[s] & ((uint64) 1 << u.n)) != 0;
		for (c = 0; c < 128; c++)
		{
			uint64		next = dfa_step(&u, sets[s], c);
			int			k;

			for (k = 0; k < dfa->nstates && sets[k] != next; k++)
				;
			if (k == dfa->nstates)
			{
				if (k == SR_DFA_MAX_STATES)
				{
					pfree(dfa);
					return NULL;
				}
				sets[dfa->nstates++] = next;
			}
			dfa->next[s][c] = (uint8) k;
		}
		for (c = 128; c < 256; c++)
			dfa->next[s][c] = SR_DFA_UNSURE;
	}
	return dfa;
}

/*
 * Compiles pattern into re; false when it uses anything outside the
 * subset (the caller then uses PostgreSQL's engine).
 */
/* ^ tokens taken a fixed number of times, then any last token, $ */
static void
find_fixed_then_run(SimpleRegex *re)
{
	int			i,
				k,
				n = 0;

	if (!re->anchored_start || !re->anchored_end || re->ntokens == 0)
		return;
	for (i = 0; i < re->ntokens - 1; i++)
	{
		if (re->tokens[i].min != re->tokens[i].max || n + re->tokens[i].min > (int) sizeof(re->pos_token))
			return;
		for (k = 0; k < re->tokens[i].min; k++)
			re->pos_token[n++] = (uint8) i;
	}
	re->fixed_len = n;
	re->fixed_then_run = true;
	for (i = 0; i < re->ntokens; i++)
		for (k = 0; k < 256; k++)
			re->byte_verdict[i][k] = k >= 128 ? SR_BYTE_UNSURE :
				class_has(&re->tokens[i], k) ? SR_BYTE_IN : SR_BYTE_OUT;
}

bool
simple_regex_compile(const char *pattern, SimpleRegex *re)
{
	const char *p = pattern;

	memset(re, 0, sizeof(*re));
	if (*p == '^')
	{
		re->anchored_start = true;
		p++;
	}
	while (*p)
	{
		SimpleToken *t;

		if ((unsigned char) *p >= 128)
			return false;
		if (*p == '$' && p[1] == '\0')
		{
			re->anchored_end = true;
			break;
		}
		if (re->ntokens >= SR_MAX_TOKENS)
			return false;
		t = &re->tokens[re->ntokens++];
		memset(t, 0, sizeof(*t));
		switch (*p)
		{
			case '.':
				class_range(t, 1, 127);	/* ARE's '.' takes newlines too */
				p++;
				break;
			case '[':
				{
					bool		negate = false;
					SimpleToken set = {0};
					int			c;

					p++;
					if (*p == '^')
					{
						negate = true;
						p++;
					}
					if (*p == ']')	/* a leading ']' is a literal */
						class_set(&set, *p++);
					while (*p && *p != ']')
					{
						int			lo = (unsigned char) *p;

						if (lo >= 128 || *p == '[')
							return false;	/* [[:alpha:]], [[.x.]]: the engine's */
						if (*p == '\\')
						{
							bool		neg = false;

							if (!p[1] || !class_escape(&set, p[1], &neg) || neg)
								return false;
							p += 2;
							continue;
						}
						if (p[1] == '-' && p[2] && p[2] != ']')
						{
							int			hi = (unsigned char) p[2];

							if (hi >= 128 || hi < lo)
								return false;
							class_range(&set, lo, hi);
							p += 3;
						}
						else
						{
							class_set(&set, lo);
							p++;
						}
					}
					if (*p != ']')
						return false;
					p++;
					for (c = 0; c < 128; c++)
						if (class_has(&set, c) != negate)
							class_set(t, c);
					break;
				}
			case '\\':
				{
					bool		neg = false;

					if (!p[1])
						return false;
					if (!class_escape(t, p[1], &neg))
					{
						/* an escaped punctuation mark is itself */
						if (!strchr(".[](){}*+?|^$\\-/", p[1]))
							return false;
						class_set(t, p[1]);
					}
					p += 2;
					break;
				}
			case '(':
			case ')':
			case '|':
			case '{':
			case '}':
			case '*':
			case '+':
			case '?':
			case '^':
			case '$':
				return false;
			default:
				class_set(t, *p);
				p++;
				break;
		}
		/* a quantifier */
		t->min = t->max = 1;
		if (*p == '*' || *p == '+' || *p == '?')
		{
			t->min = *p == '+' ? 1 : 0;
			t->max = *p == '?' ? 1 : SR_UNBOUNDED;
			p++;
		}
		else if (*p == '{')
		{
			char	   *end;
			long		lo = strtol(p + 1, &end, 10),
						hi = lo;

			if (end == p + 1 || lo > 255)
				return false;
			if (*end == ',')
			{
				if (end[1] == '}')
				{
					hi = SR_UNBOUNDED;
					end++;
				}
				else
				{
					char	   *end2;

					hi = strtol(end + 1, &end2, 10);
					if (end2 == end + 1 || hi > 255 || hi < lo)
						return false;
					end = end2;
				}
			}
			if (*end != '}')
				return false;
			t->min = (int) lo;
			t->max = (int) hi;
			p = end + 1;
		}
		if (*p == '?' || *p == '*' || *p == '+' || *p == '{')
			return false;		/* lazy or stacked quantifiers: the engine's */
	}
	re->dfa = build_dfa(re);
	find_fixed_then_run(re);
	return true;
}

/*
 * Does re match s?  Returns SR_MATCH, SR_NO_MATCH or SR_UNSURE (the caller
 * asks the engine).  reach[k] says the tokens so far can end at byte k.
 */
int
simple_regex_match(const SimpleRegex *re, const char *s, int len)
{
	bool		reach[SR_MAX_LEN + 1];
	bool		next[SR_MAX_LEN + 1];
	int			i,
				k,
				t;

	if (re->fixed_then_run)
		return simple_regex_match_fixed(re, s, len);
	if (re->dfa)
	{
		const SimpleDfa *dfa = re->dfa;
		int			st = dfa->start;

		/*
		 * A decision before a non-ASCII byte stands: it rests on the ASCII
		 * prefix alone, where both engines agree.
		 */
		if (re->anchored_end)
		{
			for (i = 0; i < len; i++)
			{
				st = dfa->next[st][(unsigned char) s[i]];
				if (st == 0 || st == SR_DFA_UNSURE)
					return st == 0 ? SR_NO_MATCH : SR_UNSURE;
			}
		}
		else
		{
			for (i = 0; i < len; i++)
			{
				if (dfa->accept[st])
					return SR_MATCH;
				st = dfa->next[st][(unsigned char) s[i]];
				if (st == 0 || st == SR_DFA_UNSURE)
					return st == 0 ? SR_NO_MATCH : SR_UNSURE;
			}
		}
		return dfa->accept[st] ? SR_MATCH : SR_NO_MATCH;
	}
	if (len > SR_MAX_LEN)
		return SR_UNSURE;
	/* the engine's classes know Unicode (\w takes é): non-ASCII values are its */
	for (i = 0; i < len; i++)
		if ((unsigned char) s[i] >= 128)
			return SR_UNSURE;
	for (k = 0; k <= len; k++)
		reach[k] = re->anchored_start ? k == 0 : true;
	for (t = 0; t < re->ntokens; t++)
	{
		const SimpleToken *tok = &re->tokens[t];
		bool		any = false;

		memset(next, 0, sizeof(bool) * (len + 1));
		for (k = 0; k <= len; k++)
		{
			int			n;

			if (!reach[k])
				continue;
			/* n characters of the class from k */
			for (n = 0; n <= tok->max || tok->max == SR_UNBOUNDED; n++)
			{
				if (n >= tok->min)
				{
					next[k + n] = true;
					any = true;
				}
				if (k + n >= len || !class_has(tok, (unsigned char) s[k + n]))
					break;
			}
		}
		if (!any)
			return SR_NO_MATCH;
		memcpy(reach, next, sizeof(bool) * (len + 1));
	}
	if (re->anchored_end)
		return reach[len] ? SR_MATCH : SR_NO_MATCH;
	for (k = 0; k <= len; k++)
		if (reach[k])
			return SR_MATCH;
	return SR_NO_MATCH;
}

/*
 * indicina.simple_regex_match(value, pattern): the matcher from SQL, NULL
 * when it would defer to the engine; for the tests that compare it to ~.
 */
PG_FUNCTION_INFO_V1(indicina_simple_regex_match);
Datum
indicina_simple_regex_match(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	char	   *pattern = text_to_cstring(PG_GETARG_TEXT_PP(1));
	SimpleRegex re;
	int			r;

	if (!simple_regex_compile(pattern, &re))
		PG_RETURN_NULL();
	r = simple_regex_match(&re, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
	if (r == SR_UNSURE)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(r == SR_MATCH);
}
