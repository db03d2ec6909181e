# indicina: PostgreSQL extension (PGXS build)
#
#   make                 build the extension and tools/indicina-gen
#   make install         install into the PostgreSQL named by PG_CONFIG
#   make installcheck    pg_regress against a running server (see tools/test.sh)
#
# The install script indicina--VERSION.sql is concatenated from src/sql/*.sql,
# one file per object group, in name order.

EXTENSION = indicina
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = indicina
# src/ by pipeline stage (docs/architecture.md): each folder includes only
# its own headers and those of the folders below it
OBJS = \
	src/indicina.o \
	src/core/append_log.o \
	src/core/cents.o \
	src/core/txn_state.o \
	src/coerce/coerce.o \
	src/coerce/coerce_sql.o \
	src/coerce/labels.o \
	src/coerce/simple_regex.o \
	src/location/sigv4.o \
	src/location/s3.o \
	src/fdw/options.o \
	src/fdw/reader.o \
	src/fdw/convert.o \
	src/fdw/rejects.o \
	src/fdw/fdw.o \
	src/fdw/parallel_files.o \
	src/fdw/scan_consumer.o \
	src/quality/rules.o \
	src/quality/rule_verdicts.o \
	src/quality/set_rules.o \
	src/quality/scan_stats.o \
	src/quality/journal.o \
	src/warehouse/ledger.o \
	src/warehouse/warehouse.o \
	src/warehouse/month_flows.o \
	src/warehouse/risk_features.o \
	src/warehouse/key_lookup.o \
	src/ship/destination.o \
	src/ship/destination_dir.o \
	src/ship/destination_s3.o \
	src/ship/part_writer.o \
	src/ship/csv_format.o \
	src/ship/unload.o \
	src/ship/unload_workers.o \
	src/ship/dashboard_template.o

SQL_PIECES = $(sort $(wildcard src/sql/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
# the dashboard's page template, read by indicina.dashboard() at call time
DATA = $(addprefix src/ship/dashboard/indicina_dashboard.,html css js)

REGRESS = extension coerce_amount coerce_date coerce_misc csv_fdw quality warehouse executor rule_privileges hostile_names csv_files log_raw_rows pipeline_steps scan_edge_cases reject_visibility transaction_state unload rule_semantics cents dashboard unload_incremental
REGRESS_OPTS = --inputdir=. --load-extension=plpgsql

# Warnings are errors in our own code.  -Wextra's unused-parameter and
# missing-field-initializers fire on the server's own idioms (fmgr macros,
# designated initialisers), so those two stay off.
WERROR ?= -Werror
PG_CFLAGS = -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-sign-compare $(WERROR)
PG_CPPFLAGS = -I$(srcdir)/src $(shell xml2-config --cflags)
SHLIB_LINK = -lcsv -lz -lzstd -lcurl -lxml2

GENERATOR = tools/indicina-gen
EXTRA_CLEAN = $(GENERATOR) results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies: every object depends on every header,
# so a changed struct never leaves a stale object behind.
$(OBJS): $(wildcard src/*.h src/*/*.h)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PIECES) $(EXTENSION).control
	cat $(SQL_PIECES) > $@

all: $(GENERATOR)

$(GENERATOR): tools/gen/indicina_gen.c
	$(CC) -O2 -g -Wall -Wextra $(WERROR) -o $@ $< -lz

# pg_regress reads sql/ and expected/ from here and sets PG_ABS_SRCDIR to it;
# tools/test.sh passes a world-readable copy, since the server reads test/data
ifdef REGRESS_INPUTDIR
REGRESS_OPTS += --inputdir=$(REGRESS_INPUTDIR)
endif

.PHONY: test demo
test:
	tools/test.sh

demo:
	tools/demo.sh

# libFuzzer targets (clang, ASan + UBSan); see "Fuzzing" in docs/architecture.md
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Wno-ignored-attributes \
	-I$(srcdir)/src -I$(shell $(PG_CONFIG) --includedir-server)
# one target per parser (FUZZ_PARSER indexes the groups in fuzz_coerce.c), and one for all
FUZZ_PARSERS = amount number int bool date id phone label
FUZZ_TARGETS = test/fuzz/fuzz_coerce $(addprefix test/fuzz/fuzz_,$(FUZZ_PARSERS)) test/fuzz/fuzz_reader
FUZZ_SOURCES = test/fuzz/fuzz_coerce.c test/fuzz/pg_stubs.c src/coerce/coerce.c

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS)

test/fuzz/fuzz_coerce: $(FUZZ_SOURCES) src/coerce/coerce.h
	clang $(FUZZ_CFLAGS) -o $@ $(FUZZ_SOURCES)

fuzz_index = $(words $(call fuzz_upto,$(1),$(FUZZ_PARSERS)))
fuzz_upto = $(if $(filter $(1),$(firstword $(2))),x,x $(call fuzz_upto,$(1),$(wordlist 2,99,$(2))))

$(addprefix test/fuzz/fuzz_,$(FUZZ_PARSERS)): test/fuzz/fuzz_%: $(FUZZ_SOURCES) src/coerce/coerce.h
	clang $(FUZZ_CFLAGS) -DFUZZ_PARSER=$$(($(call fuzz_index,$*) - 1)) -o $@ $(FUZZ_SOURCES)

# the reader, standalone: backend stand-ins in reader_stubs.c
test/fuzz/fuzz_reader: test/fuzz/fuzz_reader.c test/fuzz/reader_stubs.c test/fuzz/pg_stubs.c src/fdw/reader.c src/fdw/fdw.h
	clang $(FUZZ_CFLAGS) -o $@ test/fuzz/fuzz_reader.c test/fuzz/reader_stubs.c test/fuzz/pg_stubs.c src/fdw/reader.c -lcsv -lz
