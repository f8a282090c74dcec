# The two commands of the README: `make demo` runs the service on a built-in demo, `make test` runs the suite.
SHELL := /bin/bash
IMAGE ?= assisted-image-service:latest
CONTAINER_ENGINE ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)

.PHONY: demo test build-js typecheck bench deps-test deps-demo build run

demo: deps-demo build-js
	npx tsx scripts/demo.ts

# Static checks first (seconds), then the unit specs (src/, under a minute), then everything that runs the service.
test: deps-test
	npm run typecheck
	npm run lint
	npm run format:check
	npm run deps:check
	npm run knip
	npm test
	npm run test:e2e

bench: deps-test build-js
	npm run bench

deps-test:
	scripts/ensure-deps.sh test

deps-demo:
	scripts/ensure-deps.sh demo

build-js:
	npm run build

typecheck:
	npm run typecheck

# Container image (podman, or docker when podman is absent). `make build run` as in the original README:
# serves on port 8080 with ./data and ./certs mounted.
build:
	$(CONTAINER_ENGINE) build -t $(IMAGE) .

run:
	$(CONTAINER_ENGINE) run --rm -p 8080:8080 \
		-v $(CURDIR)/data:/data:Z -v $(CURDIR)/certs:/certs:Z \
		$(if $(RHCOS_VERSIONS),-e RHCOS_VERSIONS='$(RHCOS_VERSIONS)') \
		$(if $(ASSISTED_SERVICE_URL),-e ASSISTED_SERVICE_URL=$(ASSISTED_SERVICE_URL)) \
		$(IMAGE)
