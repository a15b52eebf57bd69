# Herald: `make run` starts the demo on http://127.0.0.1:5000; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
AXE := tests/e2e/node_modules/axe-core/axe.min.js
# Message catalogues (README, "Languages"): the .po files are kept in git, the .mo are built.
I18N := publisher/translations
PO := $(wildcard $(I18N)/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: run test lint format install install-dev bench clean messages translations

run: $(VENV)/.installed $(MO)
	$(FLASK) db upgrade
	$(FLASK) herald demo --if-empty
	$(FLASK) herald serve

test: $(VENV)/.installed-dev $(AXE) $(MO)
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

# axe-core for the accessibility tests (tests/e2e), from npm when npm is there.
$(AXE): tests/e2e/package.json tests/e2e/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/e2e --no-audit --no-fund --silent; \
	else echo "npm not found: the accessibility tests will be skipped"; fi

# Compile each catalogue the app reads (run by `make run` and `make test`).
translations: $(MO)

$(I18N)/%/LC_MESSAGES/messages.mo: $(I18N)/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -D messages -d $(I18N) -l $*

# After changing text in code or templates: re-extract messages.pot and merge it into each
# catalogue; then translate what is new or fuzzy and check with pytest tests/i18n.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F $(I18N)/babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		--no-location --sort-output --width 100 --project Herald -o $(I18N)/messages.pot .
	$(BIN)/pybabel update -D messages -i $(I18N)/messages.pot -d $(I18N) \
		--ignore-obsolete --width 100

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
