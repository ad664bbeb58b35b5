package graph

import (
	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/layers"
)

// Snapshot is a deep copy of a model's weights, taken by SnapshotWeights:
// EarlyStopping keeps the best epoch's weights in one.
type Snapshot struct {
	values []*tensor.Dense
}

// SnapshotWeights returns a deep copy of every weight.
func (m *Model) SnapshotWeights() *Snapshot {
	s := &Snapshot{}
	for _, p := range m.params.List() {
		s.values = append(s.values, p.Value.Clone().(*tensor.Dense))
	}
	return s
}

// RestoreWeights copies a snapshot of this model back into it, bit for bit.
func (m *Model) RestoreWeights(s *Snapshot) error {
	views, err := m.snapshotParams(s)
	if err != nil {
		return err
	}
	for i, p := range m.params.List() {
		if err := tensor.Copy(p.Value, views[i].Value); err != nil {
			return errors.Wrapf(err, "graph: restoring %s", p.Name)
		}
	}
	return nil
}

// MarshalSnapshot encodes a snapshot of this model in the weights file's
// encoding, for a checkpoint section.
func (m *Model) MarshalSnapshot(s *Snapshot) ([]byte, error) {
	views, err := m.snapshotParams(s)
	if err != nil {
		return nil, err
	}
	return encodeWeights(views), nil
}

// UnmarshalSnapshot decodes what MarshalSnapshot wrote into a new
// snapshot, checking every parameter's name and shape against the model.
func (m *Model) UnmarshalSnapshot(b []byte) (*Snapshot, error) {
	s := m.SnapshotWeights()
	views, err := m.snapshotParams(s)
	if err != nil {
		return nil, err
	}
	if err := decodeWeights("snapshot", b, views); err != nil {
		return nil, err
	}
	return s, nil
}

// snapshotParams presents a snapshot as parameters (the model's names, the
// snapshot's tensors), the form the weights codec reads and writes. It
// fails for a snapshot of another model.
func (m *Model) snapshotParams(s *Snapshot) ([]*layers.Param, error) {
	params := m.params.List()
	if s == nil || len(s.values) != len(params) {
		return nil, errors.New("graph: the snapshot was not taken from this model")
	}
	views := make([]*layers.Param, len(params))
	for i, p := range params {
		if !s.values[i].Shape().Eq(p.Value.Shape()) {
			return nil, errors.Errorf("graph: the snapshot was not taken from this model (%s has shape %v, the snapshot %v)", p.Name, p.Value.Shape(), s.values[i].Shape())
		}
		views[i] = &layers.Param{Name: p.Name, Value: s.values[i]}
	}
	return views, nil
}
