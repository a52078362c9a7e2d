# The two commands of the README are `make lab` and `make test`; the rest are their parts.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYINFRA := $(VENV)/bin/pyinfra

# Debian packages the lab and the tests need (installed only when missing; run as root); ruby checks the Vagrantfile.
APT_PACKAGES := python3-venv lxc uidmap mmdebstrap btrfs-progs iproute2 iptables nftables \
	openssh-client zstd apt-cacher-ng smbclient docker-registry ruby

.PHONY: deps system-packages lab lab-up lab-down lab-status test bench

deps: system-packages $(VENV)/.installed

system-packages:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

# Installs the pinned dependencies of pyproject.toml, not the repo itself: it runs from its root.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print("\n".join(p["dependencies"] + p["optional-dependencies"]["test"]))' > $(VENV)/requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check -r $(VENV)/requirements.txt
	touch $@

lab-up: deps
	$(PY) -m lab up

lab: lab-up
	$(PYINFRA) -y inventory/lab.py deploy.py
	$(PY) -m lab status

lab-status: deps
	$(PY) -m lab status

lab-down:
	@if [ -x $(PY) ]; then $(PY) -m lab down; else python3 -m lab down; fi

test: deps
	$(PY) -m pytest

# What converging costs in the lab (bench/__main__.py): bench/results.json, bench/results.md and the README's table.
bench: deps
	$(PY) -m bench
