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

.PHONY: setup test unit emulator-test integration molecule sanity compat lint build demo demo-stop clean collection-copy

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	mkdir -p $(dir $(COLLECTION_LINK))
	ln -sfn ../../.. $(COLLECTION_LINK)
	touch $(STAMP)

# Every test layer; stops at the first failing one.
test: setup unit emulator-test integration molecule sanity compat lint build

unit: setup collection-copy
	$(BIN)/python -m pytest -q emulator/tests/test_units.py
	cd $(SANITY_DIR) && $(BIN)/ansible-test units --python 3.11 --color no --requirements

emulator-test: setup
	$(BIN)/python -m pytest -q -n 2 emulator/tests --deselect emulator/tests/test_units.py

integration: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15 tests/integration

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
SITE := lib/python3.11/site-packages
# $(call offline_get_pip,ansible-test's python_requirements.py): its get_pip script, from this repository.
define offline_get_pip
pip_version=$$(sed -n "s/.*pip='\([0-9.]*\)'.*/\1/p" $(1) | head -1); \
test -n "$$pip_version" || { echo "cannot read ansible-test's pip version from $(1)"; exit 1; }; \
mkdir -p $(GET_PIP_DIR) && cp tests/sanity/get_pip_offline.py $(GET_PIP_DIR)/get_pip_$$(echo $$pip_version | tr . _).py
endef
collection-copy: setup
	$(call offline_get_pip,$(VENV)/$(SITE)/ansible_test/_internal/python_requirements.py)
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_DIR)
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t $(SANITY_DIR)/

sanity: setup collection-copy
	cd $(SANITY_DIR) && $(BIN)/ansible-test sanity --python 3.11 --color no --requirements

# ansible-core 2.16 and 2.18 beside the 2.19 of .venv. What differs between them is ansible-core, so
# each gets a virtualenv with only its ansible-core (and the versions of ansible-core's own
# dependencies it asks for), reaching the rest of .venv (the Google libraries, pytest, the emulator's
# and the example app's) through a .pth file written after the install. Then what depends on
# ansible-core: the unit tests, the sanity tests that read documentation and argument specs, and a
# role deploy with its rerun and check mode (tests/compat).
COMPAT_VERSIONS := 2.16.19 2.18.19
COMPAT_SANITY := --test validate-modules --test ansible-doc --test import --test yamllint
compat: setup collection-copy
	set -e; for version in $(COMPAT_VERSIONS); do \
	  minor=$${version%.*}; venv=$(CURDIR)/.venv-$$minor; \
	  if ! test -f $$venv/.setup-done; then \
	    rm -rf $$venv && $(PYTHON) -m venv $$venv; \
	    $$venv/bin/python -m pip install --quiet "ansible-core==$$version"; \
	    echo "$(CURDIR)/$(VENV)/$(SITE)" > $$venv/$(SITE)/nadle-main-venv.pth; \
	    touch $$venv/.setup-done; \
	  fi; \
	  $(call offline_get_pip,$$venv/$(SITE)/ansible_test/_internal/python_requirements.py); \
	  echo "== ansible-core $$version: unit tests, a role deploy, sanity ($(COMPAT_SANITY))"; \
	  NADLE_COMPAT_ANSIBLE=$$minor $$venv/bin/python -m pytest -q tests/unit tests/compat; \
	  (cd $(SANITY_DIR) && $$venv/bin/ansible-test sanity $(COMPAT_SANITY) --python 3.11 --color no --requirements); \
	done

lint: setup
	$(BIN)/antsibull-changelog lint
	$(BIN)/ansible-lint --profile production

# The tarball Galaxy would get, checked by Galaxy's own importer (in a virtualenv of its own: it pins
# attrs and flake8 below what .venv has; it lints with .venv's ansible-lint). Any ERROR fails.
IMPORTER := $(CURDIR)/.venv-importer
build: setup
	mkdir -p $(BUILD)
	rm -f $(BUILD)/nadle-cloudrun-*.tar.gz
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD) .
	test -f $(IMPORTER)/.setup-done || { rm -rf $(IMPORTER) && $(PYTHON) -m venv $(IMPORTER) && \
	  $(IMPORTER)/bin/python -m pip install --quiet galaxy-importer==0.4.44 && touch $(IMPORTER)/.setup-done; }
	cd $(BUILD) && $(IMPORTER)/bin/python -m galaxy_importer.main $(BUILD)/nadle-cloudrun-*.tar.gz > $(BUILD)/importer.log 2>&1 || \
	  { cat $(BUILD)/importer.log; exit 1; }
	! grep -E "^(ERROR|WARNING)" $(BUILD)/importer.log || { echo "galaxy-importer found the problems above"; exit 1; }
	tail -1 $(BUILD)/importer.log

# The example backend from source to a healthy service on the emulator (started if needed, on
# port 8123, state in .emulator/). The play's last task prints the URL and the /health JSON.
demo: setup
	$(BIN)/ansible-playbook playbooks/deploy.yml -i inventories/local
	@echo "Run it again: nothing changes. Stop the emulator with: make demo-stop"

demo-stop: setup
	$(BIN)/python -m emulator.ensure --port 8123 --state-dir .emulator --stop

clean:
	rm -rf $(BUILD) .pytest_cache
