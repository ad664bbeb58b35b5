package graph

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"os"
	"sort"

	"github.com/pkg/errors"
	"gorgonia.org/tensor"

	"github.com/adamant-ml/adamant/internal/atomicfile"
	"github.com/adamant-ml/adamant/layers"
)

// File format (version 1), little-endian throughout:
//
//	magic     "ADAMANT\x00"
//	version   uint32
//	sections  uint32, then per section:
//	            name uint16 length + bytes, data uint64 length + bytes
//	checksum  uint32 CRC-32 (Castagnoli) of every byte before it
//
// A weights file has one section, "weights": a uint32 count, then per
// parameter its name (uint16 length + bytes), dtype (1 float32, 2 float64),
// rank (uint8), dims (uint32 each) and the values. A "model" section (JSON,
// see Load) follows when the model's layers describe themselves. A training checkpoint
// (train.Fit's) adds its own sections after the weights: "solver", "loop"
// and one "callback/N/name" per stateful callback.
const (
	fileMagic       = "ADAMANT\x00"
	fileVersion     = 1
	sectionWeights  = "weights"
	maxSectionCount = 1 << 16
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// section is one named part of a file.
type section struct {
	name string
	data []byte
}

// writeSections atomically writes a versioned, checksummed file.
func writeSections(path string, sections []section) error {
	var buf bytes.Buffer
	buf.WriteString(fileMagic)
	le := binary.LittleEndian
	buf.Write(le.AppendUint32(nil, fileVersion))
	buf.Write(le.AppendUint32(nil, uint32(len(sections))))
	for _, s := range sections {
		buf.Write(le.AppendUint16(nil, uint16(len(s.name))))
		buf.WriteString(s.name)
		buf.Write(le.AppendUint64(nil, uint64(len(s.data))))
		buf.Write(s.data)
	}
	buf.Write(le.AppendUint32(nil, crc32.Checksum(buf.Bytes(), castagnoli)))
	return atomicfile.WriteBytes(path, buf.Bytes())
}

// readSections reads and verifies a file written by writeSections.
func readSections(path string) (map[string][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errors.Wrap(err, "graph")
	}
	if len(b) < len(fileMagic)+12 || string(b[:len(fileMagic)]) != fileMagic {
		return nil, errors.Errorf("graph: %s is not an adamant weights or checkpoint file (bad magic or too short: %d bytes)", path, len(b))
	}
	le := binary.LittleEndian
	body, sum := b[:len(b)-4], le.Uint32(b[len(b)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return nil, errors.Errorf("graph: %s is corrupted or truncated: checksum %08x, stored %08x", path, got, sum)
	}
	r := &reader{b: body[len(fileMagic):], path: path}
	if v := r.u32(); v != fileVersion {
		return nil, errors.Errorf("graph: %s has format version %d, this build reads version %d", path, v, fileVersion)
	}
	n := r.u32()
	if n > maxSectionCount {
		return nil, errors.Errorf("graph: %s claims %d sections", path, n)
	}
	out := make(map[string][]byte, n)
	for i := uint32(0); i < n && r.err == nil; i++ {
		name := string(r.bytes(int(r.u16())))
		out[name] = r.bytes(int(r.u64()))
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) != 0 {
		return nil, errors.Errorf("graph: %s has %d unexpected bytes after its sections", path, len(r.b))
	}
	return out, nil
}

// reader decodes little-endian fields and remembers the first error.
type reader struct {
	b    []byte
	path string
	err  error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errors.Errorf("graph: %s is truncated: a field needs %d bytes, %d remain", r.path, n, len(r.b))
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// encodeWeights serialises every parameter, sorted by name so the bytes do
// not depend on creation order.
func encodeWeights(params []*layers.Param) []byte {
	ps := append([]*layers.Param(nil), params...)
	sort.Slice(ps, func(i, j int) bool { return ps[i].Name < ps[j].Name })
	le := binary.LittleEndian
	out := le.AppendUint32(nil, uint32(len(ps)))
	for _, p := range ps {
		out = le.AppendUint16(out, uint16(len(p.Name)))
		out = append(out, p.Name...)
		shape := p.Value.Shape()
		switch data := p.Value.Data().(type) {
		case []float32:
			out = append(out, 1, byte(len(shape)))
			for _, d := range shape {
				out = le.AppendUint32(out, uint32(d))
			}
			for _, v := range data {
				out = le.AppendUint32(out, math.Float32bits(v))
			}
		case []float64:
			out = append(out, 2, byte(len(shape)))
			for _, d := range shape {
				out = le.AppendUint32(out, uint32(d))
			}
			for _, v := range data {
				out = le.AppendUint64(out, math.Float64bits(v))
			}
		}
	}
	return out
}

// decodeWeights checks every stored parameter against the model's and
// copies the values in place (so both programs see them). Nothing is
// changed unless the whole file matches.
func decodeWeights(path string, b []byte, params []*layers.Param) error {
	r := &reader{b: b, path: path}
	byName := map[string]*layers.Param{}
	for _, p := range params {
		byName[p.Name] = p
	}
	n := int(r.u32())
	type pending struct {
		p    *layers.Param
		f32  bool
		data []byte
	}
	var loads []pending
	seen := map[string]bool{}
	for i := 0; i < n && r.err == nil; i++ {
		name := string(r.bytes(int(r.u16())))
		dt := r.bytes(1)
		rank := r.bytes(1)
		if r.err != nil {
			break
		}
		shape := make(tensor.Shape, rank[0])
		size := 1
		for j := range shape {
			shape[j] = int(r.u32())
			size *= shape[j]
		}
		var width int
		switch dt[0] {
		case 1:
			width = 4
		case 2:
			width = 8
		default:
			return errors.Errorf("graph: %s: parameter %q has unknown dtype code %d", path, name, dt[0])
		}
		data := r.bytes(size * width)
		if r.err != nil {
			break
		}
		p := byName[name]
		if p == nil {
			return errors.Errorf("graph: %s has parameter %q, which the model does not have", path, name)
		}
		if !p.Value.Shape().Eq(shape) {
			return errors.Errorf("graph: %s: parameter %q has shape %v in the file but %v in the model", path, name, shape, p.Value.Shape())
		}
		seen[name] = true
		loads = append(loads, pending{p: p, f32: width == 4, data: data})
	}
	if r.err != nil {
		return r.err
	}
	for _, p := range params {
		if !seen[p.Name] {
			return errors.Errorf("graph: %s has no values for parameter %q%v", path, p.Name, p.Value.Shape())
		}
	}
	le := binary.LittleEndian
	for _, l := range loads {
		get := func(i int) float64 {
			if l.f32 {
				return float64(math.Float32frombits(le.Uint32(l.data[4*i:])))
			}
			return math.Float64frombits(le.Uint64(l.data[8*i:]))
		}
		switch dst := l.p.Value.Data().(type) {
		case []float32:
			for i := range dst {
				dst[i] = float32(get(i))
			}
		case []float64:
			for i := range dst {
				dst[i] = get(i)
			}
		}
	}
	return nil
}

// Section is one named part of a checkpoint file besides the weights, such
// as a training loop's or a solver's state.
type Section struct {
	Name string
	Data []byte
}

// SaveCheckpoint atomically writes the model's weights followed by the
// given sections, in order, in the weights file format: LoadWeights and
// Load read such a file, and ReadCheckpoint returns the sections. A section
// may not be named "weights" or "model" (the model's description).
func (m *Model) SaveCheckpoint(path string, sections ...Section) error {
	secs := m.fileSections(len(sections))
	seen := map[string]bool{sectionWeights: true, sectionModel: true}
	for _, s := range sections {
		if seen[s.Name] {
			return errors.Errorf("graph: checkpoint %s: section %q given twice (or named like the weights)", path, s.Name)
		}
		seen[s.Name] = true
		secs = append(secs, section{s.Name, s.Data})
	}
	return writeSections(path, secs)
}

// Checkpoint is a verified weights or checkpoint file read into memory.
type Checkpoint struct {
	// Path is the file it was read from, for messages.
	Path     string
	sections map[string][]byte
}

// ReadCheckpoint reads and verifies (magic, version, checksum) a file
// written by SaveWeights or SaveCheckpoint.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	secs, err := readSections(path)
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Path: path, sections: secs}, nil
}

// Section returns the data of the named section, and whether the file has
// it.
func (c *Checkpoint) Section(name string) ([]byte, bool) {
	b, ok := c.sections[name]
	return b, ok
}

// SectionNames returns the names of the file's sections, sorted.
func (c *Checkpoint) SectionNames() []string {
	names := make([]string, 0, len(c.sections))
	for n := range c.sections {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LoadWeightsFrom copies the checkpoint's weights into the model, with
// LoadWeights' checks.
func (m *Model) LoadWeightsFrom(c *Checkpoint) error {
	w, ok := c.sections[sectionWeights]
	if !ok {
		return errors.Errorf("graph: %s has no weights section", c.Path)
	}
	return decodeWeights(c.Path, w, m.params.List())
}

// SaveWeights atomically writes the model's weights to path in adamant's
// versioned, checksummed format (names, dtypes, shapes and values), with
// the model's description when its layers give one, so that Load rebuilds
// the model from the file alone.
func (m *Model) SaveWeights(path string) error {
	return writeSections(path, m.fileSections(0))
}

// fileSections starts every file the model writes: its weights, then its
// description when it has one (see Load).
func (m *Model) fileSections(extra int) []section {
	secs := make([]section, 0, extra+2)
	secs = append(secs, section{sectionWeights, encodeWeights(m.params.List())})
	if m.description != nil {
		secs = append(secs, section{sectionModel, m.description})
	}
	return secs
}

// LoadWeights reads weights saved by SaveWeights (or the weights of a
// training checkpoint) into the model. A parameter missing on either side or
// of another shape is an error naming it, and leaves the model unchanged.
// float32 weights load into a float64 model and back (rounded).
func (m *Model) LoadWeights(path string) error {
	c, err := ReadCheckpoint(path)
	if err != nil {
		return err
	}
	return m.LoadWeightsFrom(c)
}
