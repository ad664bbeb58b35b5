package callbacks

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/pkg/errors"
)

// CSVLogger writes one row per epoch to a CSV file: an "epoch" column and
// one column per log key, sorted by name. Epochs are numbered from 1, as
// progress lines, plots and checkpoint names number them (Keras' CSVLogger
// writes State.Epoch, from 0); a resumed run appends its rows after the
// saved ones, so the numbers go on without a gap or a repeat. The header is written once, with the first row. Each row is written
// in a single write and synced to disk before training goes on, so a crash
// loses at most the row being written.
//
// By default the file is truncated at train begin. WithAppend(true) appends
// instead: an existing file keeps its header and column order (a log key
// that is not one of its columns is an error, a column the logs lack is
// written as "NA", as Keras does), and a last line cut short by a crash is
// ended before the next row.
type CSVLogger struct {
	Base
	path    string
	sep     rune
	append  bool
	f       *os.File
	columns []string // log keys after "epoch"; nil until known
	header  bool     // the header must be written with the next row
	buf     bytes.Buffer
}

// NewCSVLogger returns a logger writing to path. Options: WithAppend,
// WithSeparator.
func NewCSVLogger(path string, opts ...CSVLoggerOption) (*CSVLogger, error) {
	const who = "CSVLogger"
	c := csvLoggerConfig{separator: ','}
	if err := applyAll(who, opts, func(o CSVLoggerOption) { o.applyCSVLogger(&c) }); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.Errorf("%s: path is empty", who)
	}
	if c.separator == '"' || c.separator == '\r' || c.separator == '\n' || c.separator == 0xFFFD || c.separator <= 0 {
		return nil, errors.Errorf("%s: separator %q, want a printable character other than '\"'", who, c.separator)
	}
	return &CSVLogger{path: path, sep: c.separator, append: c.appendFile}, nil
}

// Name implements Namer.
func (l *CSVLogger) Name() string { return "CSVLogger" }

// OnTrainBegin opens the file: truncated, or for appending after reading
// the existing header.
func (l *CSVLogger) OnTrainBegin(*State) error {
	l.columns, l.header = nil, true
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	if !l.append {
		f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return errors.Wrap(err, "CSVLogger")
		}
		l.f = f
		return nil
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return errors.Wrap(err, "CSVLogger")
	}
	l.f = f
	if err := l.readHeader(); err != nil {
		f.Close()
		l.f = nil
		return err
	}
	return nil
}

// readHeader takes the columns of a non-empty file and ends a torn last
// line.
func (l *CSVLogger) readHeader() error {
	info, err := l.f.Stat()
	if err != nil {
		return errors.Wrap(err, "CSVLogger")
	}
	if info.Size() == 0 {
		return nil
	}
	line, err := bufio.NewReader(io.NewSectionReader(l.f, 0, info.Size())).ReadString('\n')
	if err != nil && err != io.EOF {
		return errors.Wrapf(err, "CSVLogger: reading the header of %s", l.path)
	}
	r := csv.NewReader(strings.NewReader(line))
	r.Comma = l.sep
	cols, err := r.Read()
	if err != nil || len(cols) == 0 || cols[0] != "epoch" {
		return errors.Errorf("CSVLogger: %s does not start with a header whose first column is \"epoch\" (separator %q); cannot append to it", l.path, l.sep)
	}
	l.columns, l.header = cols[1:], false
	last := make([]byte, 1)
	if _, err := l.f.ReadAt(last, info.Size()-1); err != nil {
		return errors.Wrap(err, "CSVLogger")
	}
	if last[0] != '\n' {
		if _, err := l.f.Write([]byte{'\n'}); err != nil {
			return errors.Wrap(err, "CSVLogger")
		}
	}
	return nil
}

// OnEpochEnd writes the epoch's row (with the header the first time) and
// syncs the file.
func (l *CSVLogger) OnEpochEnd(s *State) error {
	if l.f == nil {
		return errors.New("CSVLogger: OnEpochEnd before OnTrainBegin")
	}
	if l.columns == nil {
		l.columns = make([]string, 0, len(s.Logs))
		for k := range s.Logs {
			l.columns = append(l.columns, k)
		}
		sort.Strings(l.columns)
	}
	var extra []string
	for k := range s.Logs {
		if !contains(l.columns, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return errors.Errorf("CSVLogger: log keys %s are not columns of %s (columns: epoch, %s)", strings.Join(extra, ", "), l.path, strings.Join(l.columns, ", "))
	}
	l.buf.Reset()
	w := csv.NewWriter(&l.buf)
	w.Comma = l.sep
	row := make([]string, 0, len(l.columns)+1)
	if l.header {
		row = append(row, "epoch")
		row = append(row, l.columns...)
		if err := w.Write(row); err != nil {
			return errors.Wrap(err, "CSVLogger")
		}
	}
	row = append(row[:0], strconv.Itoa(s.Epoch+1))
	for _, k := range l.columns {
		v, ok := s.Logs[k]
		if !ok {
			row = append(row, "NA")
			continue
		}
		row = append(row, strconv.FormatFloat(v, 'g', -1, 64))
	}
	if err := w.Write(row); err != nil {
		return errors.Wrap(err, "CSVLogger")
	}
	w.Flush()
	if _, err := l.f.Write(l.buf.Bytes()); err != nil {
		return errors.Wrapf(err, "CSVLogger: writing %s", l.path)
	}
	if err := l.f.Sync(); err != nil {
		return errors.Wrapf(err, "CSVLogger: syncing %s", l.path)
	}
	l.header = false
	return nil
}

// OnTrainEnd closes the file.
func (l *CSVLogger) OnTrainEnd(*State) error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return errors.Wrap(err, "CSVLogger")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
