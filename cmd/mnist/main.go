// Command mnist trains, evaluates and tunes models on MNIST with adamant.
//
//	mnist [train] [flags]          train (the default), print one line per epoch
//	mnist eval -checkpoint FILE    test loss, accuracy and confusion matrix
//	mnist tune [flags]             grid, random or successive-halving search
//	mnist lr-find [flags]          learning-rate range test, suggestion and lr_find.png
//
// Every command takes -h. Bad flag values exit with status 2 before any work;
// an interrupted run (Ctrl-C) exits with status 130 after saving a checkpoint.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// commandList is the synopsis of every command, printed by `mnist help`
// and at the end of `mnist -h`.
const commandList = `Commands:
  mnist [train] [flags]          train (the default command), print one line per epoch
  mnist eval -checkpoint FILE    test loss, accuracy and confusion matrix of a checkpoint
  mnist tune [flags]             grid, random, TPE, Hyperband or ASHA search over the training flags
  mnist lr-find [flags]          learning-rate range test: suggested learning rate and lr_find.png

mnist COMMAND -h lists a command's flags.
`

// errInterrupted is returned when Ctrl-C stopped the work.
var errInterrupted = errors.New("interrupted")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches a command line and maps its error to an exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd, rest := "train", args
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, rest = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "train":
		err = cmdTrain(ctx, rest, stdout, stderr)
	case "eval":
		err = cmdEval(ctx, rest, stdout, stderr)
	case "tune":
		err = cmdTune(ctx, rest, stdout, stderr)
	case "lr-find":
		err = cmdLRFind(ctx, rest, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, commandList)
		return 0
	default:
		fmt.Fprintf(stderr, "mnist: unknown command %q (want train, eval, tune or lr-find)\n", cmd)
		return 2
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "mnist %s: %v\n", cmd, err)
		return 2
	case errors.Is(err, errInterrupted):
		return 130
	default:
		fmt.Fprintf(stderr, "mnist %s: %v\n", cmd, err)
		return 1
	}
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mnist "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args; a malformed flag is a usage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	return nil
}
