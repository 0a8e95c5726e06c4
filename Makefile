# Two commands set up everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BOFAN := $(VENV)/bin/bofan
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean samples

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,notebooks,dask]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BOFAN) summary data/samples
	$(BOFAN) convert data/samples -o build/demo_dataset
	$(BOFAN) report build/demo_dataset -o reports/demo.html --geofences data/samples/geofences.geojson --speed-limit 90
	@echo "report written to reports/demo.html"

# The decoder, capture reader, part writer and analytics kernels once more as plain Python
# (NUMBA_DISABLE_JIT=1): a kernel bug then shows a Python traceback, and coverage sees
# kernel code. Left out (NOJIT_SKIP) are the three decoder tests that decode tens of
# megabytes, together some 100 s as plain Python: the property tests over checkpoint
# splits and over chunkings of a compressed stream, and the 100 MB tracker-server line;
# they run compiled below.
NOJIT_TESTS := tests/decode tests/io/test_formats.py tests/hostile/test_decode_hostile.py \
	tests/hostile/test_hostile_pcap.py \
	tests/analytics/test_kernels.py tests/analytics/test_trips.py \
	tests/analytics/test_overspeed.py tests/analytics/test_geofences.py \
	tests/analytics/test_battery_alarms_clean.py tests/dataset/test_parquet.py
NOJIT_SKIP := \
	--deselect tests/decode/test_checkpoint.py::test_resuming_from_a_checkpoint_gives_the_rows_of_one_run \
	--deselect tests/decode/test_compressed.py::test_generated_compressed_stream_round_trips_and_any_chunking_agrees \
	--deselect tests/hostile/test_decode_hostile.py::test_traccar_log_of_100_mb_without_a_newline

# The kernels' own tests once more compiled with numba's bounds checks (the package runs
# without them): an index past an array then fails the test instead of reading or writing
# another device's rows. These kernels are cached apart, under build/.
BOUNDS_TESTS := tests/decode tests/io tests/analytics tests/dataset/test_parquet.py

test: $(STAMP)
	$(PY) -m ruff check bofan_analytics tests benchmarks scripts
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -p no:cacheprovider $(NOJIT_TESTS) $(NOJIT_SKIP)
	NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=build/numba-boundscheck \
		$(PY) -m pytest -q -p no:cacheprovider $(BOUNDS_TESTS)
	$(PY) -m pytest -q

samples: $(STAMP)
	$(PY) scripts/make_samples.py data/samples

bench: $(STAMP)
	$(PY) benchmarks/bench_decode.py
	$(PY) benchmarks/bench_analytics.py
	$(PY) benchmarks/bench_geometry.py
	$(PY) benchmarks/bench_listen.py
	$(PY) benchmarks/bench_first_run.py
	$(PY) benchmarks/bench_convert.py
	$(PY) benchmarks/bench_small_files.py

clean:
	rm -rf build reports .pytest_cache
