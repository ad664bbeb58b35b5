package main

import (
	"image/color"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"sort"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/internal/atomicfile"
	"github.com/adamant-ml/adamant/tuning"
)

// palette colours series and groups; it is colour-blind safe (Okabe–Ito).
var palette = []color.RGBA{
	{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{230, 159, 0, 255}, {86, 180, 233, 255}, {240, 228, 66, 255}, {0, 0, 0, 255},
}

// plotHistory writes loss.png, accuracy.png and lr.png: one point per epoch,
// training and validation together.
func plotHistory(h *callbacks.History, dir string) error {
	figures := []struct {
		file, title, ylabel string
		keys                []string
		logY                bool
	}{
		{"loss.png", "Loss", "cross-entropy", []string{callbacks.KeyLoss, callbacks.KeyValLoss}, false},
		{"accuracy.png", "Accuracy", "accuracy", []string{callbacks.KeyAccuracy, callbacks.KeyValAccuracy}, false},
		{"lr.png", "Learning rate", "learning rate", []string{callbacks.KeyLR}, true},
	}
	for _, f := range figures {
		p := plot.New()
		p.Title.Text = f.title
		p.X.Label.Text = "epoch"
		p.Y.Label.Text = f.ylabel
		p.Add(plotter.NewGrid())
		if f.logY {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		}
		drawn := 0
		lo, hi := math.Inf(1), math.Inf(-1)
		for i, key := range f.keys {
			vs := h.History[key]
			pts := make(plotter.XYs, 0, len(vs))
			for j, v := range vs {
				if math.IsNaN(v) || (f.logY && v <= 0) {
					continue
				}
				pts = append(pts, plotter.XY{X: float64(h.Epoch[j] + 1), Y: v})
				lo, hi = min(lo, v), max(hi, v)
			}
			if len(pts) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return errors.Wrap(err, f.file)
			}
			line.Color, points.Color = palette[i], palette[i]
			p.Add(line, points)
			p.Legend.Add(key, line, points)
			drawn++
		}
		if drawn == 0 {
			continue
		}
		if f.logY {
			// A constant learning rate gives an empty range, which the
			// log axis would pad below zero.
			p.Y.Min, p.Y.Max = lo/2, hi*2
		}
		p.Legend.Top = f.file != "accuracy.png"
		if err := savePNG(p, filepath.Join(dir, f.file)); err != nil {
			return err
		}
	}
	return nil
}

// plotTuning scatters every finished trial: the learning rate (log scale)
// against the ranking metric, coloured by beta1 when the search varied it.
// Without an lr dimension the first numeric parameter is the x axis.
func plotTuning(board *tuning.Leaderboard, metric, path string) error {
	var ok []tuning.Result
	for _, r := range board.Results {
		if _, has := r.Metrics[metric]; has && r.Err == "" {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return errors.New("no finished trial to plot")
	}
	xName := ""
	if _, has := ok[0].Trial.Params["lr"]; has {
		xName = "lr"
	} else {
		var names []string
		for k := range ok[0].Trial.Params {
			if !math.IsNaN(ok[0].Trial.Params.Float(k)) {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			return errors.New("the search has no numeric parameter to plot")
		}
		xName = names[0]
	}
	groups := map[string]plotter.XYs{}
	for _, r := range ok {
		x := r.Trial.Params.Float(xName)
		key := "all trials"
		if b, has := r.Trial.Params["beta1"]; has {
			key = "beta1=" + paramString(b)
		}
		groups[key] = append(groups[key], plotter.XY{X: x, Y: r.Metrics[metric]})
	}
	p := plot.New()
	p.Title.Text = "Search: " + metric + " by " + xName
	p.X.Label.Text = xName
	p.Y.Label.Text = metric
	p.Add(plotter.NewGrid())
	if xName == "lr" || xName == "eps" {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	for i, k := range slices.Sorted(maps.Keys(groups)) {
		s, err := plotter.NewScatter(groups[k])
		if err != nil {
			return err
		}
		s.Color = palette[i%len(palette)]
		s.Shape = draw.CircleGlyph{}
		s.Radius = vg.Points(4)
		p.Add(s)
		p.Legend.Add(k, s)
	}
	p.Legend.Top = true
	return savePNG(p, path)
}

// savePNG renders p at 16×10 cm and writes it atomically.
func savePNG(p *plot.Plot, path string) error { return saveDrawing(path, p.Draw) }

// saveDrawing renders draw onto a 16×10 cm canvas and writes it
// atomically. gonum/plot panics on data it cannot draw; that becomes an
// error naming the file.
func saveDrawing(path string, drawTo func(draw.Canvas)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Errorf("drawing %s: %v", path, r)
		}
	}()
	c := vgimg.PngCanvas{Canvas: vgimg.New(16*vg.Centimeter, 10*vg.Centimeter)}
	drawTo(draw.New(c))
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	})
}
