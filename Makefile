# gohttp-smol: everyday targets. Every build goes through smol, so a laptop,
# a teammate and CI produce the same bytes.
#
#   make build    build dist/gohttp-smol_<os>_<arch> with smol (pinned container)
#   make run      build, then serve the embedded default site on :8080
#   make test     the whole test suite (unit, real sockets, real containers)
#   make verify   rebuild from a clean copy and prove the bytes are identical
#   make clean    remove dist/ and bin/
#   make bench    server benchmark against nginx, Caddy, lighttpd (BENCHMARKS.md)
#   make bench-build  build-time benchmark; make proof: reproducibility matrix
#
# Where the host has Go, smol is built with it; where it has only Docker,
# smol is built by a plain `docker run` of the pinned golang image and then
# takes over. Override the engine with SMOL_ENGINE=podman|native.

SHELL       := /bin/bash
GO_VERSION  := $(shell sed -n 's/^toolchain go//p' go.mod)
HOST_OS     := $(shell uname -s | tr A-Z a-z)
HOST_ARCH   := $(shell uname -m | sed 's/x86_64/amd64/;s/aarch64/arm64/')
SMOL        := bin/smol
SMOL_FLAGS  ?=
PLATFORMS   ?=
SERVER      := dist/gohttp-smol_$(HOST_OS)_$(HOST_ARCH)
ADDR        ?= :8080
SMOL_SRC    := go.mod $(wildcard go.sum) $(shell find cmd/smol internal -name '*.go' ! -name '*_test.go' 2>/dev/null)

.PHONY: build run test verify clean smol

build: $(SMOL)
	$(SMOL) build $(SMOL_FLAGS) $(if $(PLATFORMS),--platform $(PLATFORMS)) ./cmd/gohttp-smol

run: build
	$(SERVER) --addr $(ADDR)

# CI points TMPDIR at a directory the Docker daemon can see (.gitlab-ci.yml),
# which a fresh job has yet to create, and the go command stops when TMPDIR
# does not exist.
test:
	@if [ -n "$$TMPDIR" ]; then mkdir -p "$$TMPDIR"; fi
	go test -count=1 -timeout 75m ./...

verify: $(SMOL)
	$(SMOL) verify $(SMOL_FLAGS)

clean:
	rm -rf dist bin

smol: $(SMOL)

$(SMOL): $(SMOL_SRC)
	@mkdir -p bin
	@if command -v go >/dev/null 2>&1; then \
		echo "go build -o $@ ./cmd/smol"; \
		CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -o $@ ./cmd/smol; \
	else \
		img=golang:$(GO_VERSION); \
		docker image inspect smol/go:$(GO_VERSION) >/dev/null 2>&1 && img=smol/go:$(GO_VERSION); \
		echo "no go on PATH: building smol in $$img"; \
		docker run --rm --user $$(id -u):$$(id -g) -v "$(CURDIR)":/src -w /src \
			-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
			-e HOME=/tmp -e GOCACHE=/tmp/go-build -e GOMODCACHE=/tmp/mod \
			-e CGO_ENABLED=0 -e GOFLAGS=-mod=readonly \
			$$img go build -trimpath -o $@ ./cmd/smol; \
	fi

# --- bench: server benchmark (bench/) -----------------------------------------
# gohttp-smol as smol builds it (the build target) against nginx-light, Caddy,
# lighttpd and the seed's http.FileServer, in one run: rewrites the server
# section of BENCHMARKS.md and bench/server.svg; raw JSON in bench/results/.
# Needs `apt-get install -y nginx-light caddy lighttpd lighttpd-mod-deflate wrk`; takes ~10 minutes
# (wrk at saturation, then server CPU per request at fixed rates, -fixed-rates).
# BENCH_FLAGS="-also OLD_BINARY" runs another build alongside, to measure a change in one run.
# BENCH_FLAGS passes flags through, e.g. BENCH_FLAGS="-skip-missing -rounds 5".
BENCH_FLAGS ?=
BENCH_SEED  := bench/results/bin/seedserver

.PHONY: bench
bench: build
	@mkdir -p $(dir $(BENCH_SEED))
	CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w -buildid=" -o $(BENCH_SEED) ./bench/seedserver
	go run ./bench -gohttp-smol $(SERVER) -seed $(BENCH_SEED) $(BENCH_FLAGS)
# --- end bench ------------------------------------------------------------------

# --- deploy: packages and job files made from dist/ ----------------------------
#   make deb         dist/gohttp-smol_<version>_<arch>.deb, byte-reproducible (cmd/mkdeb)
#   make deb-check   rebuild the .deb in memory and compare with the one in dist/
#   make nomad-job   dist/gohttp-smol.nomad.hcl with version and sha256 filled in
#                    (cmd/mknomad; NOMAD_ARCH=arm64 for arm64 clients)
#   make test-deps   apt-get install the tools the tests drive (CI jobs, as root)
#   make docker-cli  apt-get install the docker CLI (CI jobs with a docker:dind service)
NOMAD_ARCH ?= amd64
TEST_DEBS  := ca-certificates curl git make nghttp2-client systemd dpkg podman debootstrap qemu-user-static \
              nginx-light caddy lighttpd lighttpd-mod-deflate wrk

.PHONY: deb deb-check nomad-job test-deps docker-cli

deb: build
	go run ./cmd/mkdeb -arch $(HOST_ARCH)

deb-check:
	go run ./cmd/mkdeb -arch $(HOST_ARCH) -check

nomad-job: build
	go run ./cmd/mknomad -arch $(NOMAD_ARCH)

# docker-cli: the docker command alone, for CI jobs whose daemon is a
# service (docker:dind); Debian packages it with the daemon, which stays off.
docker-cli:
	command -v docker >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io; }

test-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		$(TEST_DEBS) $(if $(shell command -v docker),,docker.io)
# --- end deploy ----------------------------------------------------------------

# --- proof: reproducibility matrix on this server and third-party code ---
# proof/ builds ./cmd/gohttp-smol, gojq and age with smol five ways
# (cold, warm, another path as uid 12345, smol verify --native) for
# linux/amd64 and linux/arm64 and rewrites the bench:repro section of
# BENCHMARKS.md. ~15 minutes on 2 shared cores; not run by .ci/run (make test
# runs its gojq slice). PROOF_FLAGS passes flags, e.g. PROOF_FLAGS="-only gojq".
PROOF_FLAGS ?=

.PHONY: proof
proof: $(SMOL)
	go run ./proof -smol $(SMOL) $(PROOF_FLAGS)
# --- end proof ------------------------------------------------------------------

# --- bench-build: smol's build times against GoReleaser (bench/buildbench) ---
# In one run, from a scratch clone (the tree is never touched): cold builds of
# ./cmd/gohttp-smol for linux/amd64 + linux/arm64, then warm rebuilds after a
# one-line change, with no change, and with no change for the host platform,
# each with smol and with GoReleaser v2.15.1 (same flags) in the same rounds,
# order alternating. GoReleaser is installed into bench/results/bin the first
# time. Rewrites the bench:build section of BENCHMARKS.md; raw JSON and a log
# of every command in bench/results/. Not run by .ci/run.
# BENCH_BUILD_FLAGS passes flags, e.g. BENCH_BUILD_FLAGS="-runs 7 -keep".
BENCH_BUILD_FLAGS ?=

.PHONY: bench-build
bench-build:
	go run ./bench/buildbench $(BENCH_BUILD_FLAGS)
# --- end bench-build ------------------------------------------------------------
