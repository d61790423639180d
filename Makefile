# kubectl-ext: run `make help` for the targets.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --match 'v*' --dirty 2>/dev/null || echo v0.1.0-dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION_PKG := github.com/kubeext/kubectl-ext/internal/version
LDFLAGS   := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).gitCommit=$(COMMIT)

# The control plane tests and the demo run against, built from source into a cache
# outside the repository (see hack/envtest-assets.sh).
KUBE_VERSION ?= v1.37.1
ETCD_VERSION ?= v3.6.16
export KUBE_VERSION ETCD_VERSION

# Test knobs: TEST_FLAGS="-run TestX -v", TEST_PARALLEL=<packages at once>.
TEST_FLAGS    ?=
TEST_TIMEOUT  ?= 20m
TEST_PARALLEL ?= 2

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/kubectl-ext, bin/webhook, bin/extension-manager, and the demo's helpers
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/kubectl-ext ./cmd/kubectl-ext
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/webhook ./cmd/webhook
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/extension-manager ./cmd/extension-manager
	$(GO) build -o $(BIN)/localcluster ./hack/localcluster
	$(GO) build -o $(BIN)/democharts ./hack/democharts

.PHONY: generate
generate: ## Regenerate deepcopy code and CRDs (manifests/crd) with controller-gen
	$(GO) tool controller-gen object:headerFile=hack/boilerplate.go.txt paths=./internal/api/... \
		crd:crdVersions=v1 output:crd:artifacts:config=manifests/crd

.PHONY: verify-generate
verify-generate: ## Fail when the committed generated files are stale
	@hack/verify-generate.sh

.PHONY: envtest-assets
envtest-assets: ## Build kube-apiserver and etcd into the cache (skipped when present)
	@hack/envtest-assets.sh >/dev/null

.PHONY: cluster-assets
cluster-assets: ## Also build kube-controller-manager, kube-scheduler and kwok, for a cluster whose pods become Ready (skipped when present)
	@hack/envtest-assets.sh --ready >/dev/null

# Lint tools are pinned in a module of their own (hack/tools/go.mod), built on first use.
TOOL := $(GO) tool -modfile=hack/tools/go.mod

.PHONY: lint
lint: ## golangci-lint (.golangci.yml: vet, gofmt, staticcheck, ...), Regal and opa fmt on policies/, go mod tidy checks
	$(TOOL) golangci-lint run ./...
	$(TOOL) regal lint policies/
	@out="$$($(TOOL) opa fmt --list policies/)"; \
		if [[ -n "$$out" ]]; then echo "opa fmt needed on:"; echo "$$out"; exit 1; fi
	@hack/verify-tidy.sh

.PHONY: test-unit
test-unit: ## Run the unit tier: the tests that need no control plane (go test -short), in under a minute
	env -u KUBEBUILDER_ASSETS $(GO) test -short -p $(TEST_PARALLEL) $(TEST_FLAGS) ./...

.PHONY: test
test: envtest-assets lint verify-generate ## Run every test, never -short: unit, Rego, integration against a real kube-apiserver, end to end through kubectl
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh 2>/dev/null)" \
		$(GO) test -p $(TEST_PARALLEL) -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) ./...
	$(GO) test $(TEST_FLAGS) -tags failpoints ./internal/failpoint/

# The tests that need a cluster whose pods become Ready (build tag e2e), apart from
# make test so that it needs no more than kube-apiserver and etcd.
E2E_PKGS ?= ./internal/testenv/ ./internal/e2e/

.PHONY: test-e2e
test-e2e: cluster-assets ## Run the tests that need pods to become Ready, on kube-controller-manager, kube-scheduler and kwok's simulated nodes
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh --ready 2>/dev/null)" \
		$(GO) test -tags e2e -p $(TEST_PARALLEL) -timeout $(TEST_TIMEOUT) $(TEST_FLAGS) $(E2E_PKGS)

.PHONY: demo
demo: cluster-assets build ## Run the demo on a throwaway local cluster whose pods become Ready
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh --ready 2>/dev/null)" BIN=$(BIN) hack/demo.sh

.PHONY: clean
clean: ## Remove build output (the asset cache stays)
	rm -rf $(BIN) dist

IMAGE_REGISTRY ?= ghcr.io/kubeext
IMAGE_TAG      ?= $(VERSION)

.PHONY: image
image: ## Build the webhook, extension manager and plugin images (needs a container engine: docker or podman)
	docker build --target webhook --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE_REGISTRY)/kubeext-webhook:$(IMAGE_TAG) .
	docker build --target extension-manager --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE_REGISTRY)/kubeext-extension-manager:$(IMAGE_TAG) .
	docker build --target plugin --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE_REGISTRY)/kubeext-plugin:$(IMAGE_TAG) .

.PHONY: dist
dist: ## Build release archives for six platforms into dist/, their checksums, and krew.yaml
	VERSION='$(VERSION)' COMMIT='$(COMMIT)' GO='$(GO)' hack/dist.sh

BENCH_COUNT ?= 5

.PHONY: manager-load
manager-load: envtest-assets build ## The extension manager's memory and CPU at rest and while it installs and upgrades N=100 declared extensions
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh 2>/dev/null)" BIN=$(BIN) N=$${N:-100} hack/manager-load.sh

.PHONY: bench
bench: envtest-assets build ## Every speed goal of issue 13 beside its baseline (no-op webhook, OPA, kubectl, helm) from one run on a throwaway control plane: a table, also written to docs/benchmarks.md
	KUBEBUILDER_ASSETS="$$(hack/envtest-assets.sh 2>/dev/null)" BIN=$(BIN) GO=$(GO) BENCH_COUNT=$(BENCH_COUNT) hack/bench/bench.sh
