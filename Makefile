# examgate: `make run` starts the demo, `make test` runs every test.
# Prerequisites: Go 1.26+, Node.js 20.19+ with npm, Python 3 (the partner
# guide's webhook example is run by the tests). Optional for `make test`:
# PostgreSQL (set TEST_DATABASE_URL) and Chromium at /usr/bin/chromium.

GO      ?= go
BIN     := bin/examgate
GOFILES := $(shell find . -name '*.go' -not -path './node_modules/*')
WEBSRC  := $(shell find frontend/src frontend/public frontend/index.html frontend/playground.html \
             -type f -not -path 'frontend/src/gql/*' 2>/dev/null) \
           graph/schema.graphqls package.json codegen.ts vite.config.ts tsconfig.json tsconfig.node.json

.PHONY: run test build web generate lint test-go test-web test-e2e lighthouse faults clean perf-ratios

run: build
	EXAMGATE_DEMO=1 ./$(BIN)

build: $(BIN)

$(BIN): $(GOFILES) frontend/dist/app/index.html go.mod go.sum
	$(GO) build -o $(BIN) ./cmd/examgate

web: frontend/dist/app/index.html

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

frontend/dist/app/index.html: node_modules/.package-lock.json $(WEBSRC)
	npm run build

generate:
	$(GO) tool gqlgen generate
	npm run codegen

lint:
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test: lint test-go test-web test-e2e
	@echo "make test: all suites passed"

test-go: build
	@if [ -z "$$TEST_DATABASE_URL" ]; then echo "NOTE: TEST_DATABASE_URL is not set: the PostgreSQL store tests are SKIPPED (SQLite runs always)."; fi
	$(GO) test -race -count=1 ./...

test-web: node_modules/.package-lock.json
	npm test

test-e2e: build
	EXAMGATE_BIN=$(BIN) npm run e2e

# examgate against the bare references of its hot paths (cmd/perfref), on
# SQLite and, with TEST_DATABASE_URL, PostgreSQL; docs/performance.md.
perf-ratios: web
	$(GO) run ./cmd/perfratio $(PERFRATIO_FLAGS)

# Lighthouse (mobile) on the learner pages of the demo; scores in e2e/out/lighthouse.json.
lighthouse: build
	EXAMGATE_BIN=$(BIN) npm run lighthouse

# The whole fault suite (docs/reliability.md), the slow faults included:
# the real binary under a held lock (PostgreSQL and SQLite), a database
# refusing connections, TI answering 429, down or slowly, SMTP down, and a
# failing and a slow webhook receiver. The PostgreSQL faults need
# TEST_DATABASE_URL. Each fault's figures are printed and written to
# faults-report.json; EXAMGATE_FAULT_LOCK=60s holds the locks longer
# (default 15s).
faults:
	@if [ -z "$$TEST_DATABASE_URL" ]; then echo "NOTE: TEST_DATABASE_URL is not set: the PostgreSQL faults are SKIPPED."; fi
	rm -f faults-report.json
	EXAMGATE_FAULTS=1 EXAMGATE_FAULT_REPORT=$(CURDIR)/faults-report.json $(GO) test -count=1 -timeout 20m -run 'TestFaults' -v ./cmd/examgate/
	@echo "figures: faults-report.json"

clean:
	rm -rf bin frontend/dist/app frontend/src/gql
