# The two commands a newcomer needs: `make demo` and `make test`.
# Everything runs from .venv, which `make setup` builds with the machine's python3.

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.setup-done
COLLECTION_LINK := .collections/ansible_collections/nadle/cloudrun
BUILD := $(CURDIR)/build
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONPATH := $(CURDIR)/.collections:$(CURDIR)

.PHONY: setup test unit emulator-test integration molecule sanity lint build demo demo-stop clean collection-copy

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn ../../.. $(COLLECTION_LINK)
	touch $(STAMP)

# Every test layer; stops at the first failing one.
test: setup unit emulator-test integration molecule sanity lint build

unit: setup collection-copy
	$(BIN)/python -m pytest -q emulator/tests/test_units.py
	cd $(SANITY_DIR) && $(BIN)/ansible-test units --python 3.11 --color no --requirements

emulator-test: setup
	$(BIN)/python -m pytest -q emulator/tests --deselect emulator/tests/test_units.py

integration: setup
	$(BIN)/python -m pytest -q tests/integration

# extensions/molecule/default: converge, idempotence, verify against an emulator of its own
# (a free port and a fresh state folder, so it runs beside `make demo`).
MOLECULE_STATE := $(or $(TMPDIR),/tmp)/nadle-cloudrun-molecule
molecule: setup
	rm -rf $(MOLECULE_STATE)
	NADLE_EMULATOR_STATE_DIR=$(MOLECULE_STATE) \
	NADLE_EMULATOR_PORT=$$($(BIN)/python -c 'from emulator.runtime import free_port; print(free_port())') \
	$(BIN)/molecule test

# ansible-test wants the collection under ansible_collections/NS/NAME, outside any
# other git checkout (it lists files with git), so run it on a copy of the tracked files.
SANITY_ROOT := $(or $(TMPDIR),/tmp)/nadle-cloudrun-sanity
SANITY_DIR := $(SANITY_ROOT)/ansible_collections/nadle/cloudrun
# ansible-test looks for get_pip_<its pip version>.py in its cache. The version is read in the recipe,
# not when make parses this file: on a fresh clone .venv does not exist yet at that moment.
GET_PIP_DIR := $(HOME)/.ansible/test/cache
ANSIBLE_TEST_REQUIREMENTS := $(VENV)/lib/python3.11/site-packages/ansible_test/_internal/python_requirements.py
collection-copy: setup
	version=$$(sed -n "s/.*pip='\([0-9.]*\)'.*/\1/p" $(ANSIBLE_TEST_REQUIREMENTS)); \
	test -n "$$version" || { echo "cannot read ansible-test's pip version from $(ANSIBLE_TEST_REQUIREMENTS)"; exit 1; }; \
	mkdir -p $(GET_PIP_DIR) && cp tests/sanity/get_pip_offline.py $(GET_PIP_DIR)/get_pip_$$(echo $$version | tr . _).py
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_DIR)
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t $(SANITY_DIR)/

sanity: setup collection-copy
	cd $(SANITY_DIR) && $(BIN)/ansible-test sanity --python 3.11 --color no --requirements

lint: setup
	$(BIN)/antsibull-changelog lint
	$(BIN)/ansible-lint --profile production

build: setup
	mkdir -p $(BUILD)
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD) .

# The example backend from source to a healthy service on the emulator (started if needed, on
# port 8123, state in .emulator/). The play's last task prints the URL and the /health JSON.
demo: setup
	$(BIN)/ansible-playbook playbooks/deploy.yml -i inventories/local
	@echo "Run it again: nothing changes. Stop the emulator with: make demo-stop"

demo-stop: setup
	$(BIN)/python -m emulator.ensure --port 8123 --state-dir .emulator --stop

clean:
	rm -rf $(BUILD) .pytest_cache
