// Package katibcheck proves that adamant's Kubeflow Katib files are what
// Katib accepts and that a trial built from them runs: it lives in its own
// module so that Katib's (large) dependencies never enter adamant's.
//
// Its tests, run by .ci/run with `(cd tools/katibcheck && go test ./...)`:
//
//   - decode every docs/katib-experiment*.yaml strictly (an unknown or
//     duplicated field is an error, also inside the trial's batch/v1 Job)
//     into Katib's own v1beta1 Experiment type, apply Katib's defaults and
//     run Katib's own admission validator on it, with the algorithm,
//     early-stopping and collector names answered by the katib-config.yaml
//     of the same Katib release;
//   - check the algorithm and early-stopping settings against the rules of
//     Katib's suggestion services, and the essentials of adamant's side:
//     the objective is a metric `mnist train` prints, every parameter is a
//     flag of `mnist train`, the command is the binary the Dockerfile
//     installs;
//   - build the trial image's contents by running the Dockerfile's build
//     commands on this machine, render trials with Katib's own manifest
//     generator, run them, and read their output with Katib's own metrics
//     collector code, timestamps included.
//
// The exported functions are those steps, usable on other Experiment files.
package katibcheck
