# Two commands on a fresh Debian machine: `make run` and `make test`.
.PHONY: run test build bench clean

SPICE_HOST ?= 127.0.0.1
SPICE_PORT ?= 8080

build:
	scripts/install-deps.sh
	swift build -c release --product spice

run: build
	SPICE_HOST=$(SPICE_HOST) SPICE_PORT=$(SPICE_PORT) "$$(swift build -c release --show-bin-path)/spice" serve

test:
	scripts/test.sh

bench:
	scripts/install-deps.sh
	bench/gateway.sh

clean:
	rm -rf .build
