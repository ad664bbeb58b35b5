package solvers

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"path"
	"sort"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"
)

// stateMagic starts every MarshalState blob; stateVersion changes with
// the layout.
const (
	stateMagic   = "adamant/solvers.Adam\n"
	stateVersion = 1
)

// stateHeader is the JSON part of a state blob; the moments follow it as
// little-endian binary in the order of Params.
type stateHeader struct {
	Version int          `json:"version"`
	Config  config       `json:"config"`
	Steps   int64        `json:"steps"`
	Params  []paramEntry `json:"params"`
}

type paramEntry struct {
	Key     string `json:"key"`
	Dtype   string `json:"dtype"`
	Len     int    `json:"len"`
	Step    int64  `json:"step"`
	AMSGrad bool   `json:"amsgrad"`
}

// MarshalState returns everything a resumed run needs to continue exactly
// where this one stands: the hyperparameters (the current learning rate
// included, as a schedule left it), the step count, and every parameter's
// moments and step count, keyed by parameter name. The layout is a
// readable JSON header followed by the moments as little-endian binary, so
// float values round-trip bit for bit.
func (a *Adam) MarshalState() ([]byte, error) {
	keys := make([]string, 0, len(a.states))
	for k := range a.states {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := stateHeader{Version: stateVersion, Config: a.cfg, Steps: a.steps}
	size := 0
	for _, k := range keys {
		st := a.states[k]
		e := paramEntry{Key: k, Dtype: st.dtype.String(), Len: st.n, Step: st.step, AMSGrad: st.max32 != nil || st.max64 != nil}
		h.Params = append(h.Params, e)
		size += st.n * 3 * int(st.dtype.Size())
	}
	head, err := json.Marshal(h)
	if err != nil {
		return nil, errors.Wrap(err, "solvers: encoding the state header")
	}
	var buf bytes.Buffer
	buf.Grow(len(stateMagic) + 4 + len(head) + size)
	buf.WriteString(stateMagic)
	_ = binary.Write(&buf, binary.LittleEndian, uint32(len(head)))
	buf.Write(head)
	for _, k := range keys {
		st := a.states[k]
		if st.dtype == tensor.Float32 {
			for _, s := range [][]float32{st.m32, st.v32, st.max32} {
				_ = binary.Write(&buf, binary.LittleEndian, s)
			}
		} else {
			for _, s := range [][]float64{st.m64, st.v64, st.max64} {
				_ = binary.Write(&buf, binary.LittleEndian, s)
			}
		}
	}
	return buf.Bytes(), nil
}

// UnmarshalState replaces this solver's hyperparameters, step count and
// per-parameter state with those saved by MarshalState, so the next Step
// is the step the saved run would have taken. Only WithWorkers, which is a
// property of the machine and not of the run, is kept. The parameters are
// matched by name at the next Step; a saved parameter whose size or dtype
// differs from the model's is an error then. A malformed or truncated blob
// is an error and leaves the solver unchanged.
func (a *Adam) UnmarshalState(b []byte) error {
	if !bytes.HasPrefix(b, []byte(stateMagic)) {
		return errors.New("solvers: not an Adam state (bad magic)")
	}
	r := bytes.NewReader(b[len(stateMagic):])
	var n uint32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil || int64(n) > int64(r.Len()) {
		return errors.New("solvers: Adam state truncated in its header")
	}
	head := make([]byte, n)
	_, _ = r.Read(head)
	var h stateHeader
	if err := json.Unmarshal(head, &h); err != nil {
		return errors.Wrap(err, "solvers: Adam state header")
	}
	if h.Version != stateVersion {
		return errors.Errorf("solvers: Adam state version %d, this build reads version %d", h.Version, stateVersion)
	}
	c := h.Config
	c.LRMult = 1
	if c.Keras {
		c.set |= setEps // the saved epsilon is already the one in force
	}
	if c.ClipNorm != 0 {
		c.set |= setClipNorm
	}
	if c.ClipValue != 0 {
		c.set |= setClipValue
	}
	if err := c.validate(); err != nil {
		return errors.Wrap(err, "solvers: Adam state holds an invalid setting")
	}
	for _, o := range c.Overrides {
		if _, err := validOverride(o); err != nil {
			return err
		}
	}
	if h.Steps < 0 {
		return errors.Errorf("solvers: Adam state has %d steps", h.Steps)
	}
	states := make(map[string]*paramState, len(h.Params))
	for _, e := range h.Params {
		var dt tensor.Dtype
		switch e.Dtype {
		case tensor.Float32.String():
			dt = tensor.Float32
		case tensor.Float64.String():
			dt = tensor.Float64
		default:
			return errors.Errorf("solvers: Adam state for %s has dtype %q, want float32 or float64", e.Key, e.Dtype)
		}
		if e.Len < 0 || e.Step < 0 || states[e.Key] != nil {
			return errors.Errorf("solvers: Adam state for %s is malformed (len %d, step %d)", e.Key, e.Len, e.Step)
		}
		if int64(e.Len)*int64(dt.Size())*2 > int64(r.Len()) {
			return errors.Errorf("solvers: Adam state truncated in the moments of %s", e.Key)
		}
		st := newState(e.Key, dt, e.Len, e.AMSGrad)
		st.step = e.Step
		var err error
		if dt == tensor.Float32 {
			for _, s := range [][]float32{st.m32, st.v32, st.max32} {
				if err == nil && s != nil {
					err = binary.Read(r, binary.LittleEndian, s)
				}
			}
		} else {
			for _, s := range [][]float64{st.m64, st.v64, st.max64} {
				if err == nil && s != nil {
					err = binary.Read(r, binary.LittleEndian, s)
				}
			}
		}
		if err != nil {
			return errors.Errorf("solvers: Adam state truncated in the moments of %s", e.Key)
		}
		states[e.Key] = st
	}
	if r.Len() != 0 {
		return errors.Errorf("solvers: Adam state has %d trailing bytes", r.Len())
	}
	c.set = 0
	c.err = nil
	a.cfg = c
	a.steps = h.Steps
	a.states = states
	a.slots = nil // rebind by name at the next Step
	a.blocks = a.blocks[:0]
	return nil
}

// validOverride checks an override read from a state blob.
func validOverride(o override) (override, error) {
	if _, err := path.Match(o.Pattern, ""); err != nil {
		return o, errors.Errorf("solvers: Adam state: override pattern %q is not a valid glob", o.Pattern)
	}
	if o.HasWD && (math.IsNaN(o.WD) || math.IsInf(o.WD, 0) || o.WD < 0) {
		return o, errors.Errorf("solvers: Adam state: override %q has weight decay %v", o.Pattern, o.WD)
	}
	if o.HasLRMult && (math.IsNaN(o.LRMult) || math.IsInf(o.LRMult, 0) || o.LRMult < 0) {
		return o, errors.Errorf("solvers: Adam state: override %q has learning-rate multiplier %v", o.Pattern, o.LRMult)
	}
	return o, nil
}
