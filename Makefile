# dossier-intake: the two commands of the README are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO := examples/demo.toml

.PHONY: demo test lint bench bench-quick fuzz examples digest-png clean web-screenshot

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || PY=$(PY) sh tools/make-venv.sh $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

# Bytecode for our own packages: an editable install writes none, and where
# PYTHONDONTWRITEBYTECODE is set every start compiled them again (~0.2 s of each command, and
# of the fork server). Stale files are recompiled in memory, so this is only ever a saving.
BYTECODE := $(BIN)/python -m compileall -q -j 0 bot parsers rules outbox

# The main job once, on the bundled sample input, with no mail server: SQLite under var/demo/,
# a drop folder as input, a file outbox (.eml files) as output, then the 汇总表.
demo: $(STAMP)
	@command -v ffprobe >/dev/null 2>&1 || $(BIN)/pip install -q -e '.[ffmpeg]'
	@sh tools/install-system-deps.sh fonts  # a Chinese font for the digest chart and 汇总表.pdf
	@test -d examples/sample-input || $(BIN)/python examples/make_examples.py examples/sample-input
	@rm -rf var/demo/dropbox && mkdir -p var/demo/dropbox && cp -R examples/sample-input/. var/demo/dropbox/
	@$(BYTECODE) >/dev/null
	$(BIN)/intake --config $(DEMO) run --once
	$(BIN)/intake --config $(DEMO) summary --out var/demo/汇总表.xlsx
	$(BIN)/intake --config $(DEMO) digest --out var/demo/digest.html
	$(BIN)/intake --config $(DEMO) packet build --out var/demo/packets
	@echo "replies (.eml): var/demo/outbox/  summary table: var/demo/汇总表.xlsx  digest: var/demo/digest.html  packet: var/demo/packets/  store: var/demo/store/"
	@echo "web desk: $(BIN)/intake --config $(DEMO) web  (then http://127.0.0.1:8470/, login demo / demo-desk-2023)"

# The whole test suite; installs the system packages the tests need when run as root (CI).
test: $(STAMP)
	sh tools/install-system-deps.sh
	@$(BYTECODE) >/dev/null
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check bot parsers rules outbox tests bench examples
	$(BIN)/lint-imports

examples: $(STAMP)
	$(BIN)/python examples/make_examples.py examples/sample-input

# examples/digest.png: the demo's digest as an officer's mail client shows it. Run after any change
# to the digest (outbox/documents/digest.py, its templates, bot/digest/), and commit the PNG.
digest-png: demo
	chromium --headless --no-sandbox --hide-scrollbars --window-size=900,1640 \
	  --screenshot=$(CURDIR)/examples/digest.png file://$(CURDIR)/var/demo/digest.html

# examples/web-desk.png: the demo's dossier list in the web desk, taken with Debian's Chromium.
web-screenshot: demo
	sh tools/install-system-deps.sh
	$(BIN)/python examples/make_web_screenshot.py

clean:
	rm -rf var .pytest_cache

# Benchmarks (never part of `make test`): results go to BENCHMARKS.md.
bench: $(STAMP)
	sh tools/install-system-deps.sh
	@$(BYTECODE) >/dev/null
	$(BIN)/python bench/run.py --full

bench-quick: $(STAMP)
	sh tools/install-system-deps.sh
	@$(BYTECODE) >/dev/null
	$(BIN)/python bench/run.py --quick

# Longer fuzzing of the MIME, archive and table entry points.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q -m fuzz tests
