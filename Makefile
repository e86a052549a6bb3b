# The two commands: `make run` (the whole app locally) and `make test` (the whole suite).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
PORT   ?= 8000
USER   ?= alice
STAGE  ?= dev
# When this make began: `make run`'s "ready in N s" counts the virtualenv check and the database too.
RUN_STARTED := $(shell date +%s.%N 2>/dev/null)
# Where USER came from, said by `make token` (your login name if the environment sets USER).
USER_SOURCE := $(if $(filter command line,$(origin USER)),USER=$(USER),$(if $(filter environment,$(origin USER)),USER from your environment,the default))

.PHONY: venv run test lint token fire deliveries retry logs metrics migrate reembed vendors-import outbox bench clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "pip>=23,<26.3"
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

run: venv ## chalice local on :$(PORT) plus the local runtime (ARGS=--no-autoreload, --host, --workers)
	@MAKE_RUN_STARTED=$(RUN_STARTED) $(PY) -m localdev.serve --port $(PORT) $(ARGS)

test: venv ## the whole suite
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .

token: venv ## make token USER=alice -> a bearer token for the local server (whom for: on stderr)
	@STAGE=local $(PY) -m chalicelib.auth "$(USER)" --source "$(USER_SOURCE)"

fire: venv ## make fire JOB=pattern_detector -> run a schedule now in `make run`, print its result
	@STAGE=local $(PY) -m localdev.cli fire $(JOB) $(if $(TIMEOUT),--timeout $(TIMEOUT),)

deliveries: venv ## the local runtime's deliveries, newest first (STATUS=failed, PAGE=2, LIMIT=50)
	@STAGE=local $(PY) -m localdev.cli deliveries $(if $(STATUS),--status $(STATUS),) \
		$(if $(PAGE),--page $(PAGE),) $(if $(LIMIT),--limit $(LIMIT),)

retry: venv ## make retry ID=<delivery id, as `make deliveries` shows it> -> requeue a failed delivery
	@STAGE=local $(PY) -m localdev.cli retry $(ID)

logs: venv ## follow `make run`'s log (.local/app.log; LINES=200 to start further back)
	@STAGE=local $(PY) -m localdev.cli logs $(if $(LINES),--lines $(LINES),)

metrics: venv ## the local metrics summed (SINCE=<minutes> to narrow)
	@STAGE=local $(PY) -m localdev.metrics $(if $(SINCE),--since $(SINCE),)

migrate: venv ## apply Alembic migrations to the configured database(s)
	$(PY) -m chalicelib.migrate_cli

reembed: venv ## re-embed analyses whose embedding is not of the configured model (resumable)
	$(PY) -m chalicelib.collections.reembed_cli $(if $(BATCH),--batch-size $(BATCH),)

vendors-import: venv ## make vendors-import FILE=vendors.csv [SOURCE=name] -> validate and upsert vendors
	@test -n "$(FILE)" || { echo "usage: make vendors-import FILE=vendors.csv [SOURCE=name]" >&2; exit 2; }
	$(PY) -m chalicelib.vendors.import_cli $(FILE) $(if $(SOURCE),--source $(SOURCE),)

outbox: venv ## the quote-request e-mails `make run` sent (files in .local/outbox/)
	@STAGE=local $(PY) -m localdev.outbox

bench: venv ## every benchmark, each printing ours against its baseline
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf .local .pytest_cache

# --- deploy (docs/deploy.md) -------------------------------------------------------------------

.PHONY: deploy destroy package-size policies

deploy: venv ## make deploy STAGE=dev -> infra stack, SSM checks, slim package, chalice deploy
	PY=$(PY) ./deploy/deploy.sh $(STAGE)

destroy: venv ## make destroy STAGE=dev -> chalice delete, empty bucket, delete stack and parameters
	PY=$(PY) ./deploy/destroy.sh $(STAGE)

package-size: venv ## the deployment package against Lambda's limits (SLIM=1: after slimming; PLAIN=1: a fresh checkout's)
	$(PY) deploy/package_size.py --stage $(STAGE) $(if $(SLIM),--slim,) $(if $(PLAIN),--plain,)

policies: venv ## regenerate .chalice/config.json stages and policy files from deploy/stack.py
	$(PY) deploy/policies.py
