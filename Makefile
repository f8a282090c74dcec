# The two commands of the README: `make demo` runs the service on a built-in demo, `make test` runs the suite.
SHELL := /bin/bash
IMAGE ?= assisted-image-service:latest
CONTAINER_ENGINE ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo docker)

.PHONY: demo test build-js typecheck bench deps-test deps-demo build run

demo: deps-demo build-js
	npx tsx scripts/demo.ts

test: deps-test
	npm run typecheck
	npm run build
	npx vitest run

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
