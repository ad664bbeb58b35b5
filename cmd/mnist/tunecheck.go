package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/adamant-ml/adamant/internal/atomicfile"
	"github.com/adamant-ml/adamant/tuning"
)

// notTuneFlags are the training flags tune neither lists nor accepts: a
// search resumes by being run again with the same -out, and each trial
// resumes from its own checkpoint.
var notTuneFlags = []string{"resume", "resume-force"}

// registerTuneTrainFlags defines the training flags tune accepts: all but
// notTuneFlags.
func registerTuneTrainFlags(fs *flag.FlagSet, c *config) []flagGroup {
	all := flag.NewFlagSet("train", flag.ContinueOnError)
	groups := registerTrainFlags(all, c)
	all.VisitAll(func(f *flag.Flag) {
		if !slices.Contains(notTuneFlags, f.Name) {
			fs.Var(f.Value, f.Name, f.Usage)
		}
	})
	return groups
}

// refuseNotTuneFlags explains, before parsing, why a flag of notTuneFlags
// does not apply, instead of the parser's bare "flag provided but not
// defined".
func refuseNotTuneFlags(args []string) error {
	for _, name := range notTuneFlags {
		if slices.ContainsFunc(args, isFlag(name)) {
			return usagef("-%s does not apply to tune: rerun the same command with the same -out to resume a search", name)
		}
	}
	return nil
}

// isFlag returns a function that reports whether a command-line word sets
// the flag name (-name, --name, -name=X).
func isFlag(name string) func(arg string) bool {
	return func(arg string) bool {
		n, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-"), "=")
		return strings.HasPrefix(arg, "-") && n == name
	}
}

// withParams applies parameters to a copy of base through the same flag
// parsing a command line gets.
func withParams(base config, params tuning.Params) (config, error) {
	c := base
	c.Hidden = append([]int(nil), base.Hidden...)
	c.Milestones = append([]int(nil), base.Milestones...)
	fs := flag.NewFlagSet("trial", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	registerTrainFlags(fs, &c)
	for name, v := range params {
		if err := fs.Set(name, paramString(v)); err != nil {
			usage := ""
			if f := fs.Lookup(name); f != nil {
				_, usage = flag.UnquoteUsage(f)
			}
			return c, fmt.Errorf("invalid value %q for flag -%s: %v (-%s: %s)", paramString(v), name, err, name, usage)
		}
	}
	return c, nil
}

// checkSpaceValues validates, before any trial runs, every value the search
// can give a flag (each choice, both ends of each range) with the flag's own
// checks, and the memory of workers trials training at once.
func checkSpaceValues(base config, space *tuning.Space, workers int) error {
	err := space.CheckValues(func(name string, v any) error {
		c, err := withParams(base, tuning.Params{name: v})
		if err != nil {
			return err
		}
		if err := c.validate(); err != nil {
			return err
		}
		return checkMemory(&c, workers)
	})
	if err != nil {
		return usagef("invalid value for flag -space: %v", err)
	}
	return nil
}

// resumeCommand is the command line that resumes an interrupted search:
// the same arguments, with -out set to the directory the search used.
func resumeCommand(args []string, out string) string {
	words := []string{"mnist", "tune"}
	words = append(words, args...)
	if !slices.ContainsFunc(args, isFlag("out")) {
		words = append(words, "-out", out)
	}
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	return strings.Join(words, " ")
}

// shellQuote quotes a word for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,:/+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// noTrialSucceeded is the error of a search in which every trial failed or
// diverged: there is no best configuration, so the command must not exit 0.
func noTrialSucceeded(board *tuning.Leaderboard) error {
	if _, ok := board.Best(); ok || len(board.Results) == 0 {
		return nil
	}
	first := board.Results[0]
	for _, r := range board.Results {
		if r.Trial.ID < first.Trial.ID {
			first = r
		}
	}
	return fmt.Errorf("all %d trials failed; trial %d: %s: %s", len(board.Results), first.Trial.ID, first.Status, first.Err)
}

// removeStaleTemps deletes what writes killed mid-way (kill -9) left in a
// run directory and says so.
func removeStaleTemps(dir string, stderr io.Writer) error {
	removed, err := atomicfile.RemoveStale(dir)
	for _, name := range removed {
		fmt.Fprintf(stderr, "removed %s, left by an interrupted write\n", name)
	}
	return err
}
