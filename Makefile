# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format bench clean wheel-check

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Azurite, Microsoft's storage emulator, for the blob-storage tests (with the machine's npm).
# Pinned: 3.33 runs on Node 20; later releases want Node 22 and bring a telemetry client.
AZURITE := .tools/node_modules/.bin/azurite-blob

$(AZURITE):
	npm install --prefix .tools --no-audit --no-fund --silent azurite@3.33.0

install: $(STAMP) $(AZURITE)

# Simulate 120 days of a healthy connector (with a backend outage, which must not count
# against it) and judge it from examples/contoso-tasks/ga.toml.
demo: $(STAMP)
	mkdir -p demo
	cp examples/contoso-tasks/ga.toml demo/ga.toml
	$(BIN)/connector-ga simulate --out demo/telemetry.parquet --days 120 --seed 7 \
		--incident backend-outage@2026-11-12T14:00Z/3h
	cd demo && ../$(BIN)/connector-ga check --json result.json --report report.html --markdown summary.md
	@echo "demo/result.json, demo/report.html and demo/summary.md written"

# Headless Chromium opens the HTML report in the tests (Debian's package; CI runs as root).
# apt runs its downloads as root: some sandboxes keep the _apt user from /dev/null.
CHROMIUM := /usr/bin/chromium
APT := apt-get -o APT::Sandbox::User=root

$(CHROMIUM):
	command -v chromium >/dev/null || ($(APT) update -qq && \
		DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq --no-install-recommends \
		chromium fonts-dejavu-core)

# A Java runtime for the Spark engine, on which the metric tests also run.
JAVA := /usr/bin/java

$(JAVA):
	command -v java >/dev/null || ($(APT) update -qq && \
		DEBIAN_FRONTEND=noninteractive $(APT) install -y -qq --no-install-recommends \
		default-jre-headless)

test: $(STAMP) $(CHROMIUM) $(JAVA) $(AZURITE)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_check.py

# The wheel as a user installs it (pipx install connector-ga): built, installed with every
# dependency into a fresh venv (about a minute), and run there away from the source tree.
# tests/test_wheel.py does the same in seconds, borrowing the test venv's dependencies.
WHEEL_CHECK := build/wheel-check

wheel-check: $(STAMP)
	rm -rf $(WHEEL_CHECK) && mkdir -p $(WHEEL_CHECK)
	$(BIN)/python -m pip wheel . --no-deps --no-build-isolation --quiet -w $(WHEEL_CHECK)
	$(PYTHON) -m venv $(WHEEL_CHECK)/venv
	$(WHEEL_CHECK)/venv/bin/python -m pip install --quiet $(WHEEL_CHECK)/connector_ga-*.whl
	cd $(WHEEL_CHECK) && venv/bin/connector-ga --version && \
		venv/bin/connector-ga schema result > result.schema.json && \
		venv/bin/connector-ga simulate --days 35 --requests-per-day 2000 --out t.parquet && \
		(venv/bin/connector-ga check -t t.parquet --json r.json --report r.html; test $$? -le 1)
	@echo "$(WHEEL_CHECK): the wheel installs and checks"

clean:
	rm -rf demo .pytest_cache .ruff_cache
