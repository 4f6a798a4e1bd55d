# Inferno — see README.md. Every target works on a fresh clone with Go 1.26.
GO      ?= go
MODEL   ?= ../shared/refdata/models/stories260K.gguf
PROMPT  ?= Once upon a time
BIN     := bin/inferno
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
FUZZTIME ?= 10m

.PHONY: all kernels build test test-race test-noasm test-sim-arm64 test-cpu-arm64 bench lint cross run fuzz dist clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/inferno

# The README's test command: everything, with the race detector off to fit 2 cores.
test:
	$(GO) test -count=1 ./...

# Sessions made, run and closed from several goroutines on one model (cpu, metal-sim
# and cuda-sim), the model's lifecycle, and the server's scheduler and handlers, under the race detector.
test-race:
	$(GO) test -race -count=1 -run 'TestConcurrentSessions|TestUseAfterClose|TestCancelPrompt' .
	$(GO) test -race -count=1 -run 'TestForwardCancel|TestReleaseAndClose' ./model/llama
	$(GO) test -race -count=1 ./server

# The same tests on the portable (pure Go) kernels.
test-noasm:
	$(GO) test -count=1 -tags noasm ./...

# The simulator's tests as linux/arm64 binaries under qemu-user (the arm64 fiber switch).
test-sim-arm64:
	GO=$(GO) ./scripts/test-sim-arm64.sh

# The CPU backend's tests, the codec vectors and the model's checks as linux/arm64 binaries under qemu-user (the
# NEON kernels, and the fallback without the dot-product extension).
test-cpu-arm64:
	GO=$(GO) ./scripts/test-cpu-arm64.sh

bench:
	$(GO) test -run '^$$' -bench . -benchtime 200ms ./...

lint:
	@unformatted=$$(gofmt -l . | grep -v '^vendor/'); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) vet ./...
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) vet ./...

# windows/amd64: the CPU and CUDA backends (nvcuda.dll); the kernel simulator is
# Linux and macOS only.
cross:
	GOOS=darwin  GOARCH=arm64 CGO_ENABLED=0 $(GO) build -o /dev/null ./...
	GOOS=linux   GOARCH=arm64 CGO_ENABLED=0 $(GO) build -o /dev/null ./...
	GOOS=linux   GOARCH=amd64 CGO_ENABLED=0 $(GO) build -o /dev/null ./...
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -o /dev/null ./...

dist:
	mkdir -p dist
	GOOS=darwin GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/inferno-darwin-arm64 ./cmd/inferno
	GOOS=linux  GOARCH=arm64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/inferno-linux-arm64 ./cmd/inferno
	GOOS=linux  GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/inferno-linux-amd64 ./cmd/inferno
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o dist/inferno-windows-amd64.exe ./cmd/inferno

# The main job on the default model.
run: build
	$(BIN) run --model $(MODEL) --prompt "$(PROMPT)" --tokens 64 --temp 0

# Fuzz the GGUF reader (not part of CI). FUZZTIME=30m make fuzz
fuzz:
	$(GO) test ./gguf -run '^$$' -fuzz FuzzRead -fuzztime $(FUZZTIME) -timeout 0 -parallel 1

clean:
	rm -rf bin dist

# The CUDA kernels' PTX (kernels/cuda/kernels.ptx) from their sources, by clang-19;
# kernels' TestPTXCurrent fails when the committed file is stale.
kernels:
	$(GO) run ./kernels/ptxgen
