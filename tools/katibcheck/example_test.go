package katibcheck_test

import (
	"fmt"
	"strings"

	"github.com/adamant-ml/adamant/tools/katibcheck"
)

// A misspelt field is an error naming its path, where Kubernetes' lenient
// decoding would drop it silently.
func ExampleDecodeExperiment() {
	_, err := katibcheck.DecodeExperiment([]byte(`
apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata:
  name: typo
spec:
  objective:
    type: minimize
    objectiveMetricNam: val_loss
`))
	fmt.Println(err)
	// Output:
	// decoding the Experiment strictly: unknown field "spec.objective.objectiveMetricNam"
}

// What a two-stage Dockerfile puts into its final image.
func ExampleParseDockerfile() {
	img, err := katibcheck.ParseDockerfile(strings.NewReader(`
FROM golang:1.26.8 AS build
ARG OUT=/out
RUN CGO_ENABLED=0 go build -o "$OUT/mnist" ./cmd/mnist
FROM gcr.io/distroless/static-debian12:debug-nonroot
COPY --from=build /out/mnist /usr/local/bin/mnist
ENTRYPOINT ["/usr/local/bin/mnist"]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(img.BuildBase, "→", img.RunBase)
	fmt.Println(img.Entrypoint[0], "from", img.Copies[img.Entrypoint[0]])
	// Output:
	// golang:1.26.8 → gcr.io/distroless/static-debian12:debug-nonroot
	// /usr/local/bin/mnist from /out/mnist
}
