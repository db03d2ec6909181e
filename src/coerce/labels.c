/*-------------------------------------------------------------------------
 *
 * labels.c
 *		Loads a label domain from indicina.label_map into memory and maps a
 *		spelling to its canonical label.
 *
 * A map is read once per query (SQL function) or per scan (FDW column) and
 * searched with bsearch, so per-row lookups never touch SPI.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "coerce/labels.h"

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const LabelEntry *) a)->key, ((const LabelEntry *) b)->key);
}

/*
 * Reads every spelling of a domain into mcxt.  An unknown domain (no rows)
 * is an error: a typo in a column format or a function call must not turn
 * every row into a reject.
 */
LabelMap *
label_map_load(const char *domain, MemoryContext mcxt)
{
	LabelMap   *map;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	uint64		i;
	StringInfoData known;
	MemoryContext old;

	args[0] = CStringGetTextDatum(domain);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT key, label, spelling = label AS canonical"
							  "  FROM indicina.label_map WHERE domain = $1 ORDER BY label, key",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "reading indicina.label_map failed");
	if (SPI_processed == 0)
	{
		SPI_finish();
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("label domain \"%s\" does not exist", domain),
				 errhint("The domains are the distinct values of indicina.label_map.domain.")));
	}

	old = MemoryContextSwitchTo(mcxt);
	map = palloc0(sizeof(LabelMap));
	map->domain = pstrdup(domain);
	map->nentries = (int) SPI_processed;
	map->entries = palloc(sizeof(LabelEntry) * map->nentries);
	initStringInfo(&known);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *label = SPI_getvalue(tup, desc, 2);

		map->entries[i].key = pstrdup(SPI_getvalue(tup, desc, 1));
		map->entries[i].label = cstring_to_text(label);
		if (strcmp(SPI_getvalue(tup, desc, 3), "t") == 0)
			appendStringInfo(&known, "%s%s", known.len ? ", " : "", label);
	}
	map->known = known.data;
	qsort(map->entries, map->nentries, sizeof(LabelEntry), entry_cmp);
	MemoryContextSwitchTo(old);
	SPI_finish();
	return map;
}

/* The canonical label of a spelling, or NULL with err. */
text *
label_map_lookup(const LabelMap *map, const char *s, int len, CoerceError *err)
{
	char		keybuf[256];
	LabelEntry	probe,
			   *hit;

	label_key(s, len, keybuf, sizeof(keybuf));
	probe.key = keybuf;
	hit = bsearch(&probe, map->entries, map->nentries, sizeof(LabelEntry), entry_cmp);
	if (hit)
		return hit->label;
	coerce_fail(err, COERCE_INVALID_LABEL, "It is not a known %s label; known labels: %s.",
				map->domain, map->known);
	return NULL;
}
