package callbacks

import (
	"encoding/json"
	"math"
	"sort"
)

// History records every epoch's logs, like Keras' History callback. Its
// zero value is ready to use. Each key's slice is as long as Epoch: an epoch
// whose logs lack a key records NaN for it, so the slices stay aligned.
// It implements Stateful, so a resumed run's History also holds the epochs
// trained before the checkpoint.
type History struct {
	Base
	// Epoch lists the 0-based epochs recorded, in order.
	Epoch []int
	// History maps each log key to its value at every recorded epoch
	// (Keras' history.history).
	History map[string][]float64

	resumed bool
}

// Name implements Namer.
func (h *History) Name() string { return "History" }

// OnTrainBegin clears the record, unless it was restored from a checkpoint.
func (h *History) OnTrainBegin(*State) error {
	if h.resumed {
		h.resumed = false
		return nil
	}
	h.Epoch, h.History = nil, map[string][]float64{}
	return nil
}

// OnEpochEnd appends the epoch's logs.
func (h *History) OnEpochEnd(s *State) error {
	if h.History == nil {
		h.History = map[string][]float64{}
	}
	n := len(h.Epoch)
	h.Epoch = append(h.Epoch, s.Epoch)
	for k, v := range s.Logs {
		col, ok := h.History[k]
		if !ok {
			col = make([]float64, n, n+1)
			for i := range col {
				col[i] = math.NaN()
			}
		}
		h.History[k] = append(col, v)
	}
	for k, col := range h.History {
		if len(col) == n {
			h.History[k] = append(col, math.NaN())
		}
	}
	return nil
}

// Keys returns the recorded log keys, sorted.
func (h *History) Keys() []string {
	keys := make([]string, 0, len(h.History))
	for k := range h.History {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type historyState struct {
	Kind    string           `json:"kind"`
	Epoch   []int            `json:"epoch"`
	History map[string][]num `json:"history"`
}

// MarshalState implements Stateful.
func (h *History) MarshalState() ([]byte, error) {
	st := historyState{Kind: "History", Epoch: h.Epoch, History: map[string][]num{}}
	for k, col := range h.History {
		c := make([]num, len(col))
		for i, v := range col {
			c[i] = num(v)
		}
		st.History[k] = c
	}
	return json.Marshal(st)
}

// UnmarshalState implements Stateful; the next OnTrainBegin then keeps the
// restored epochs.
func (h *History) UnmarshalState(b []byte) error {
	st := historyState{Kind: "History"}
	if err := unmarshalState(h.Name(), b, &st.Kind, &st); err != nil {
		return err
	}
	h.Epoch, h.History = st.Epoch, map[string][]float64{}
	for k, c := range st.History {
		col := make([]float64, len(c))
		for i, v := range c {
			col[i] = float64(v)
		}
		h.History[k] = col
	}
	h.resumed = true
	return nil
}
