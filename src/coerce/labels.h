/*-------------------------------------------------------------------------
 *
 * labels.h
 *		Label domains: the canonical labels of a small vocabulary and the
 *		spellings that map to them, kept in table indicina.label_map.
 *
 *-------------------------------------------------------------------------
 */
#ifndef INDICINA_LABELS_H
#define INDICINA_LABELS_H

#include "coerce/coerce.h"

typedef struct LabelEntry
{
	char	   *key;			/* label_key() of a spelling */
	text	   *label;			/* the canonical label */
} LabelEntry;

typedef struct LabelMap
{
	char	   *domain;
	int			nentries;
	LabelEntry *entries;		/* sorted by key */
	char	   *known;			/* "A, B, C": the canonical labels, for messages */
} LabelMap;

/* in labels.c */
extern LabelMap *label_map_load(const char *domain, MemoryContext mcxt);
extern text *label_map_lookup(const LabelMap *map, const char *s, int len, CoerceError *err);

#endif							/* INDICINA_LABELS_H */
