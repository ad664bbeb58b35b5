package main

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/graph"
	"github.com/adamant-ml/adamant/train"
)

// runSection is the checkpoint section that holds the run's settings: the
// bytes of config.json, so that a checkpoint alone rebuilds its model and
// continues its run.
const runSection = "mnist/config"

// configVersion numbers the layout of config.json and of runSection. A
// reader refuses a newer version instead of misreading it.
const configVersion = 1

// resumeSafeFlags may differ from the saved run's settings when resuming:
// they change where and how a run reports, how long it goes on, or when it
// stops, never the trajectory of the weights up to then.
var resumeSafeFlags = map[string]bool{
	"epochs": true, "out": true, "progress": true, "plots": true, "threads": true,
	"data": true, "download": true, "test-limit": true, "early-stop-delta": true,
	"cpuprofile": true, "memprofile": true, "show-augment": true,
	"resume": true, "resume-force": true,
	"test-data": true, "tensorboard": true, "tensorboard-batches": true,
	"metrics-format": true, "metrics-file": true,
}

// resumeStateFlags are settings a checkpoint's optimizer state restores
// itself (Adam's state holds its hyperparameters): not even -resume-force
// can change them, so they are refused rather than silently ignored.
var resumeStateFlags = map[string]bool{
	"beta1": true, "beta2": true, "eps": true, "eps-convention": true, "weight-decay": true,
	"weight-decay-mode": true, "no-decay-biases": true, "amsgrad": true, "clip-norm": true, "clip-value": true,
}

// savedConfig returns the settings a checkpoint was written with: its own
// runSection, or, for a checkpoint of an older version without one, the
// config.json beside it. from says which.
func savedConfig(ck *graph.Checkpoint) (c config, from string, err error) {
	if b, ok := ck.Section(runSection); ok {
		c, err = decodeConfig(b, ck.Path)
		return c, ck.Path, err
	}
	path := filepath.Join(filepath.Dir(ck.Path), configFile)
	c, err = readConfig(path)
	if err != nil {
		return c, path, errors.Wrapf(err, "%s carries no run settings (written before checkpoints described their run) and", ck.Path)
	}
	return c, path, nil
}

// decodeConfig reads config.json's bytes over the defaults, so that a
// config written by an older version still fills every field.
func decodeConfig(b []byte, name string) (config, error) {
	c := defaultConfig()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, errors.Wrapf(err, "%s: run settings", name)
	}
	if c.Version > configVersion {
		return c, errors.Errorf("%s: run settings of version %d, this build reads up to version %d", name, c.Version, configVersion)
	}
	return c, nil
}

// resumeConfig makes a resumed run's settings: the checkpoint's, with the
// flags given on the command line (set) applied where that is safe. A flag
// that would change the trajectory and differs from the saved value is
// refused, naming it, unless -resume-force. Asking for no more epochs than
// the checkpoint has done is refused too.
func resumeConfig(given *config, set map[string]bool) (config, error) {
	ck, err := graph.ReadCheckpoint(given.Resume)
	if err != nil {
		return config{}, usagef("invalid value %q for flag -resume: %v", given.Resume, err)
	}
	done, _, err := train.ReadPosition(ck)
	if err != nil {
		return config{}, usagef("invalid value %q for flag -resume: %v", given.Resume, err)
	}
	saved, from, err := savedConfig(ck)
	if err != nil {
		if !given.ResumeForce {
			return config{}, usagef("%v; pass -resume-force with every flag of the original run", err)
		}
		saved = *given // the old way: the command line is the whole description
	}
	if saved.ScheduleEpochs == 0 {
		// A schedule whose horizon is the run's length (cosine without
		// -t-max, one-cycle) keeps the horizon it was saved with, as
		// PyTorch's restored schedulers keep T_max and total_steps: a
		// longer -epochs continues the run, it does not re-plan it.
		saved.ScheduleEpochs = saved.Epochs
	}
	givenFS, savedFS := newFlagSet("given", io.Discard), newFlagSet("saved", io.Discard)
	registerTrainFlags(givenFS, given)
	registerTrainFlags(savedFS, &saved)
	var refused, fixed []string
	names := make([]string, 0, len(set))
	for name := range set {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		givenFlag, savedFlag := givenFS.Lookup(name), savedFS.Lookup(name)
		if givenFlag == nil || savedFlag == nil {
			// Registered outside the run's settings (the metric-line
			// flags): nothing of the trajectory to compare.
			continue
		}
		want, had := givenFlag.Value.String(), savedFlag.Value.String()
		safe := resumeSafeFlags[name] || name == "early-stop" && saved.EarlyStop > 0 && given.EarlyStop > 0
		if want != had && resumeStateFlags[name] {
			fixed = append(fixed, "-"+name)
			continue
		}
		if want != had && !safe && !given.ResumeForce {
			refused = append(refused, "-"+name+" "+want+" (the run has "+had+")")
			continue
		}
		if name == "lr" && want != had {
			saved.forceLR = true
		}
		if err := savedFS.Set(name, want); err != nil {
			return config{}, usagef("flag -%s: %v", name, err)
		}
	}
	if len(fixed) > 0 {
		return config{}, usagef("resuming %s: %s cannot change on resume: the checkpoint's optimizer state restores it (settings from %s); drop the flag",
			given.Resume, strings.Join(fixed, ", "), from)
	}
	if len(refused) > 0 {
		return config{}, usagef("resuming %s: %s would change the run's trajectory (settings from %s); drop the flag, or pass -resume-force to continue with it anyway",
			given.Resume, strings.Join(refused, ", "), from)
	}
	saved.Resume, saved.ResumeForce = given.Resume, given.ResumeForce
	saved.Version = configVersion
	if !set["out"] {
		saved.Out = filepath.Dir(given.Resume)
	}
	if !set["threads"] {
		saved.Threads = defaultConfig().Threads
	}
	if saved.Epochs <= done {
		return config{}, usagef("invalid value %d for flag -epochs: %s has %d epochs done, so this run would train nothing (want -epochs %d or more)",
			saved.Epochs, given.Resume, done, done+1)
	}
	return saved, nil
}
