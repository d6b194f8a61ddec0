# mailgate — make run, make test, make bench.
.PHONY: run test bench build fuzz

build:
	go build -o mailgate ./cmd/mailgate

run:
	go run ./cmd/mailgate serve

test:
	./scripts/test.sh

fuzz:
	FUZZTIME=60s ./scripts/fuzz-short.sh

bench:
	./scripts/bench.sh
