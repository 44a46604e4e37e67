# projector — developer entry points. `make demo` and `make test` set up what they need.
SHELL := /bin/bash
GO ?= go
SERVICES := scripts/services.sh
# The servers' URLs, or a stop when they cannot be brought up (a process
# substitution's failure would be lost, and the tests run without servers).
ENV = env="$$($(SERVICES) up)" && eval "$$env"
BIN ?= bin/projector
IMAGE ?= projector:dev
# What `projector version` prints: the nearest tag (v1.2.3, or v1.2.3-4-gabc1234 past it),
# else the commit; "-dirty" with uncommitted changes; "dev" outside a git checkout.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/projectorhq/projector/internal/cli.Version=$(VERSION)

.PHONY: all build image demo test test-short test-es bench services-up services-down fmt vet compose-check clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/projector

## image: the container image, stamped with VERSION (the build context has no .git to describe).
image:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE) .

## demo: embedded Kafka + local PostgreSQL and Redis, the example shop, what a reader sees.
demo: build
	$(ENV) && $(BIN) demo -c examples/shop/projector.yaml

## test: services up, then every test with the race detector. A package's
## bound is 60m: on a loaded machine the two largest (projector,
## internal/rebuild) took about 25m each, close to go test's 30m.
test:
	$(ENV) && $(GO) test -race -count=1 -timeout 60m ./...

test-short:
	$(ENV) && $(GO) test -short -count=1 ./...

## test-es: the Elasticsearch sink suite against a real cluster at ELASTICSEARCH_URL.
test-es:
	@test -n "$$ELASTICSEARCH_URL" || { echo "set ELASTICSEARCH_URL (docker compose up elasticsearch)"; exit 2; }
	$(ENV) && $(GO) test -count=1 ./sinks/elasticsearch/...

## bench: Go benchmarks against the local services.
bench:
	$(ENV) && $(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 60m ./...

services-up:
	$(SERVICES) up

services-down:
	$(SERVICES) down

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

compose-check:
	docker-compose -f docker-compose.yml config -q

clean:
	rm -rf bin
