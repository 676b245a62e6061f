# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

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

test: $(STAMP) $(CHROMIUM) $(JAVA)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python bench/bench_check.py

clean:
	rm -rf demo .pytest_cache .ruff_cache
