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

.PHONY: run test build web generate lint test-go test-web test-e2e clean perf-ratios

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

clean:
	rm -rf bin frontend/dist/app frontend/src/gql
