# projector — developer entry points. `make demo` and `make test` set up what they need.
SHELL := /bin/bash
GO ?= go
SERVICES := scripts/services.sh
ENV = source <($(SERVICES) up)

.PHONY: all build demo test test-short test-es bench services-up services-down fmt vet compose-check clean

all: build

build:
	$(GO) build -o bin/projector ./cmd/projector

## demo: embedded Kafka + local PostgreSQL and Redis, the example shop, what a reader sees.
demo: build
	$(ENV) && ./bin/projector demo -c examples/shop/projector.yaml

## test: services up, then every test with the race detector.
test:
	$(ENV) && $(GO) test -race -count=1 -timeout 30m ./...

test-short:
	$(ENV) && $(GO) test -short -count=1 ./...

## test-es: the Elasticsearch sink suite against a real cluster at ELASTICSEARCH_URL.
test-es:
	@test -n "$$ELASTICSEARCH_URL" || { echo "set ELASTICSEARCH_URL (docker compose up elasticsearch)"; exit 2; }
	$(ENV) && $(GO) test -count=1 -run Elasticsearch ./sinks/...

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
