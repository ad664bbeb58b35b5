// Package golden runs the PyTorch reference trajectories in testdata/golden
// (format: testdata/golden/README.md) against this project's code. Each kind
// of file ("optimizer", "scheduler", "mlp", "cnn") has a checker registered by the
// file that implements it; cmd/goldencheck and the tests share this code.
package golden
