package train

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/pkg/errors"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/graph"
)

// Section names of a training checkpoint, after graph's "weights".
const (
	sectionSolver  = "solver"
	sectionLoop    = "loop"
	callbackPrefix = "callback/"
	sectionWeights = "weights"
)

// isLoopSection reports whether name is one of the sections Fit writes.
func isLoopSection(name string) bool {
	return name == sectionWeights || name == sectionSolver || name == sectionLoop || strings.HasPrefix(name, callbackPrefix)
}

// position is the "loop" section of a checkpoint: where the loop is, and
// the running sums of the epoch it is in, so that a resumed epoch reports
// the loss and accuracy of all its batches, not only of those after the
// restart. The sums are zero (and omitted) at an epoch boundary.
type position struct {
	Epoch     int    `json:"epoch"`      // 0-based epoch to run next
	Batch     int    `json:"batch"`      // batches of Epoch already done
	Step      int    `json:"step"`       // optimizer steps done
	ModelStep int64  `json:"model_step"` // training runs done (dropout stream)
	Seed      uint64 `json:"seed"`
	Batches   int    `json:"batches_per_epoch"`
	Callbacks int    `json:"callbacks"`
	sums
}

// sums are the running sums of the current epoch.
type sums struct {
	LossSum       float64 `json:"loss_sum,omitempty"` // Σ batch loss × rows
	Correct       int     `json:"correct,omitempty"`
	Rows          int     `json:"rows,omitempty"`
	DataWaitNanos int64   `json:"data_wait_ns,omitempty"`
	ElapsedNanos  int64   `json:"elapsed_ns,omitempty"`
}

// writeCheckpoint writes weights, solver, loop and callback state, then
// the caller's own sections.
func (l *loop) writeCheckpoint(path string) error {
	var secs []graph.Section
	if s, ok := l.solver.(StateMarshaler); ok {
		b, err := s.MarshalState()
		if err != nil {
			return errors.Wrap(err, "train: solver state")
		}
		secs = append(secs, graph.Section{Name: sectionSolver, Data: b})
	}
	pos := l.pos
	pos.ModelStep = l.m.Steps()
	if pos.Batch >= pos.Batches {
		pos.Epoch, pos.Batch, pos.sums = pos.Epoch+1, 0, sums{}
	}
	b, err := json.Marshal(pos)
	if err != nil {
		return err
	}
	secs = append(secs, graph.Section{Name: sectionLoop, Data: b})
	for i, cb := range l.cbs {
		s, ok := cb.(callbacks.Stateful)
		if !ok {
			continue
		}
		b, err := s.MarshalState()
		if err != nil {
			return errors.Wrapf(err, "train: state of callback %s", callbackName(cb))
		}
		secs = append(secs, graph.Section{Name: sectionName(i, cb), Data: b})
	}
	secs = append(secs, l.cfg.sections...)
	return l.m.SaveCheckpoint(path, secs...)
}

// ReadPosition returns how far a training checkpoint had trained: the
// epochs completed and the batches done of the next one. It fails for a
// weights file, which has no loop state.
func ReadPosition(c *graph.Checkpoint) (epochsDone, batchesDone int, err error) {
	pos, err := readPosition(c)
	return pos.Epoch, pos.Batch, err
}

func readPosition(c *graph.Checkpoint) (position, error) {
	var pos position
	b, ok := c.Section(sectionLoop)
	if !ok {
		return pos, errors.Errorf("train: %s is a weights file, not a training checkpoint (no loop state)", c.Path)
	}
	if err := json.Unmarshal(b, &pos); err != nil {
		return pos, errors.Wrapf(err, "train: %s: loop state", c.Path)
	}
	return pos, nil
}

// resume restores a checkpoint into the model, solver, loop and callbacks.
// Everything is checked against this run before anything is restored, and
// a restore that fails half-way puts the model and solver back, so a
// failed resume changes nothing.
func (l *loop) resume(path string) (err error) {
	c, err := graph.ReadCheckpoint(path)
	if err != nil {
		return err
	}
	pos, err := readPosition(c)
	if err != nil {
		return err
	}
	if pos.Batches != l.pos.Batches {
		return errors.Errorf("train: %s was written with %d batches per epoch, this run has %d (dataset or batch size differ)", path, pos.Batches, l.pos.Batches)
	}
	if pos.Seed != l.pos.Seed {
		return errors.Errorf("train: %s was written with data seed %d, this run uses %d", path, pos.Seed, l.pos.Seed)
	}
	if pos.Epoch >= l.cfg.epochs {
		return errors.Errorf("train: %s has %d epochs done and this run asks for %d in all: nothing to train (ask for more epochs)", path, pos.Epoch, l.cfg.epochs)
	}
	solverState, hasSolver := c.Section(sectionSolver)
	stateful, _ := l.solver.(StateMarshaler)
	if hasSolver && stateful == nil {
		return errors.Errorf("train: %s holds solver state but solver %T cannot restore it (it has no UnmarshalState)", path, l.solver)
	}
	type restore struct {
		s    callbacks.Stateful
		name string
		data []byte
	}
	var restores []restore
	for _, name := range c.SectionNames() {
		if !strings.HasPrefix(name, callbackPrefix) {
			continue
		}
		b, _ := c.Section(name)
		parts := strings.SplitN(name, "/", 3)
		i, err := strconv.Atoi(parts[1])
		if err != nil || i < 0 || i >= len(l.cbs) || len(parts) != 3 || callbackName(l.cbs[i]) != parts[2] {
			return errors.Errorf("train: %s holds state for callback #%s %q, which this run's callbacks do not match (give the same callbacks in the same order)", path, parts[1], parts[len(parts)-1])
		}
		s, ok := l.cbs[i].(callbacks.Stateful)
		if !ok {
			return errors.Errorf("train: callback %s cannot restore its state", parts[2])
		}
		restores = append(restores, restore{s, parts[2], b})
	}

	before := l.m.SnapshotWeights()
	var solverBefore []byte
	if stateful != nil {
		if solverBefore, err = stateful.MarshalState(); err != nil {
			return errors.Wrap(err, "train: solver state")
		}
	}
	defer func() {
		if err != nil {
			_ = l.m.RestoreWeights(before)
			if stateful != nil {
				_ = stateful.UnmarshalState(solverBefore)
			}
		}
	}()
	if err := l.m.LoadWeightsFrom(c); err != nil {
		return err
	}
	if hasSolver {
		if err := stateful.UnmarshalState(solverState); err != nil {
			return errors.Wrapf(err, "train: restoring solver state from %s", path)
		}
	}
	for _, r := range restores {
		if err := r.s.UnmarshalState(r.data); err != nil {
			return errors.Wrapf(err, "train: restoring callback %s from %s", r.name, path)
		}
	}
	l.m.SetSteps(pos.ModelStep)
	pos.Callbacks = len(l.cbs)
	l.pos = pos
	return nil
}
