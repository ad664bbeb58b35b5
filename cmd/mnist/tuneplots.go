package main

import (
	"fmt"
	"image/color"
	"io"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	gonumpalette "gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/adamant-ml/adamant/tuning"
)

// decadeTicks labels a log axis at the powers of ten it spans ("1e-05",
// "0.001", "1"), with minor ticks at 2…9 × each power; an axis spanning
// less than two decades also gets labels at 2× and 5×. plot.LogTicks
// computes its ticks through pow and prints the rounding
// ("9.99999999e-05") when the axis spans many decades.
type decadeTicks struct{}

// Ticks implements plot.Ticker.
func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi >= lo) {
		return nil
	}
	labelMinor := math.Log10(hi/lo) < 2
	var ticks []plot.Tick
	for e := int(math.Floor(math.Log10(lo))); e <= int(math.Ceil(math.Log10(hi))); e++ {
		base := math.Pow10(e)
		if base >= lo && base <= hi {
			ticks = append(ticks, plot.Tick{Value: base, Label: strconv.FormatFloat(base, 'g', -1, 64)})
		}
		for k := 2; k <= 9; k++ {
			if v := float64(k) * base; v >= lo && v <= hi {
				t := plot.Tick{Value: v}
				if labelMinor && (k == 2 || k == 5) {
					t.Label = strconv.FormatFloat(v, 'g', 1, 64)
				}
				ticks = append(ticks, t)
			}
		}
	}
	return ticks
}

// integerTicks labels an axis of counts (trials, epochs) at integers only.
type integerTicks struct{}

// Ticks implements plot.Ticker.
func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	step := math.Max(1, math.Ceil((hi-lo)/8))
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		if v == 0 {
			v = 0 // not −0, which ceil(−0.5) gives and prints as "-0"
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', 0, 64)})
	}
	return ticks
}

// legendRoom makes room for the legend above the data (or below, when
// larger is better, where the worst values are) and puts it there. Call
// it after adding the data: Add widens the axes.
func legendRoom(p *plot.Plot, minimize bool) {
	extra := 0.3 * (p.Y.Max - p.Y.Min)
	if minimize {
		p.Y.Max += extra
	} else {
		p.Y.Min -= extra
	}
	p.Legend.Top = minimize
}

// useLogAxis puts an axis on a log scale with decade ticks.
func useLogAxis(a *plot.Axis) {
	a.Scale = plot.LogScale{}
	a.Tick.Marker = decadeTicks{}
}

// Files `mnist tune` draws next to its leaderboard (-plots); one
// slicePrefix+NAME.png per parameter.
const (
	historyPNG    = "history.png"
	parallelPNG   = "parallel.png"
	importancePNG = "importance.png"
	curvesPNG     = "curves.png"
	slicePrefix   = "slice_"
)

// searchPoint is one trial as the pictures show it: its furthest run.
type searchPoint struct {
	id     int
	params tuning.Params
	value  float64
	pruned bool
	// curve is the metric after each epoch, over every run of the trial.
	curve plotter.XYs
}

// searchPoints returns, by trial ID, every trial with a finished run (ok
// or pruned, finite metric), at its furthest such run (highest rung).
func searchPoints(board *tuning.Leaderboard) []searchPoint {
	furthest := map[int]tuning.Result{}
	curves := map[int]map[int]float64{}
	for _, r := range board.Results {
		id := r.Trial.ID
		v, ok := r.Metrics[board.Metric]
		finished := ok && finite(v) && (r.Status == tuning.StatusOK || r.Status == tuning.StatusPruned)
		if f, seen := furthest[id]; finished && (!seen || r.Trial.Rung > f.Trial.Rung) {
			furthest[id] = r
		}
		for _, h := range r.History {
			if v, ok := h.Metrics[board.Metric]; ok && finite(v) {
				if curves[id] == nil {
					curves[id] = map[int]float64{}
				}
				curves[id][h.Epoch] = v
			}
		}
	}
	var pts []searchPoint
	for _, id := range slices.Sorted(maps.Keys(furthest)) {
		r := furthest[id]
		pt := searchPoint{id: id, params: r.Trial.Params, value: r.Metrics[board.Metric], pruned: r.Status == tuning.StatusPruned}
		for _, e := range slices.Sorted(maps.Keys(curves[id])) {
			pt.curve = append(pt.curve, plotter.XY{X: float64(e + 1), Y: curves[id][e]})
		}
		pts = append(pts, pt)
	}
	return pts
}

// prunedGrey draws what a search stopped early.
var prunedGrey = color.RGBA{170, 170, 170, 255}

// reportSearch prints the parameter importances after the leaderboard
// and, with plots on, draws the search's pictures into dir. Neither can
// fail the search: what cannot be computed or drawn is said on stderr.
func reportSearch(board *tuning.Leaderboard, space *tuning.Space, dir string, plots bool, stdout, stderr io.Writer) {
	imp, err := board.Importance()
	if err != nil {
		fmt.Fprintf(stderr, "no parameter importance: %v\n", err)
	} else {
		fmt.Fprintln(stdout, imp)
	}
	if !plots {
		return
	}
	if err := plotSearch(board, space, imp, dir); err != nil {
		fmt.Fprintf(stderr, "search plots: %v\n", err)
	}
}

// plotSearch writes the search's pictures: the optimization history, the
// parallel coordinates, a slice plot per parameter, the importances (imp
// may be nil) and, when trials reported several epochs, their learning
// curves.
func plotSearch(board *tuning.Leaderboard, space *tuning.Space, imp *tuning.Importance, dir string) error {
	pts := searchPoints(board)
	if len(pts) == 0 {
		return errors.New("no finished trial to draw")
	}
	var dims []tuning.Dimension
	for _, d := range space.Dimensions() {
		if sc := tuning.DimensionScale(d); sc.Choices == nil || len(sc.Choices) > 1 {
			dims = append(dims, d)
		}
	}
	if err := plotHistoryOfSearch(board, pts, filepath.Join(dir, historyPNG)); err != nil {
		return err
	}
	if len(dims) > 0 {
		if err := plotParallel(board, dims, pts, filepath.Join(dir, parallelPNG)); err != nil {
			return err
		}
	}
	for _, d := range dims {
		if err := plotSlice(board, d, pts, filepath.Join(dir, slicePrefix+d.Name()+".png")); err != nil {
			return err
		}
	}
	if imp != nil {
		if err := plotImportance(imp, filepath.Join(dir, importancePNG)); err != nil {
			return err
		}
	}
	for _, pt := range pts {
		if len(pt.curve) > 1 {
			return plotCurves(board, pts, filepath.Join(dir, curvesPNG))
		}
	}
	return nil
}

// gridPlot returns a plot with a title, axis labels and a grid.
func gridPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	p.Add(plotter.NewGrid())
	return p
}

// better reports whether metric value a beats b.
func better(board *tuning.Leaderboard, a, b float64) bool {
	if board.Minimize {
		return a < b
	}
	return a > b
}

// scatter returns round points of one colour.
func scatter(xys plotter.XYs, c color.Color, radius vg.Length) (*plotter.Scatter, error) {
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, err
	}
	s.Color, s.Shape, s.Radius = c, draw.CircleGlyph{}, radius
	return s, nil
}

// addPoints adds the finished and the pruned points with a legend entry
// each (none for an empty group).
func addPoints(p *plot.Plot, finished, pruned plotter.XYs) error {
	for _, g := range []struct {
		xys   plotter.XYs
		c     color.Color
		label string
	}{{pruned, prunedGrey, "pruned (at its last rung)"}, {finished, palette[0], "finished"}} {
		if len(g.xys) == 0 {
			continue
		}
		s, err := scatter(g.xys, g.c, vg.Points(3))
		if err != nil {
			return err
		}
		p.Add(s)
		p.Legend.Add(g.label, s)
	}
	return nil
}

// plotHistoryOfSearch is Optuna's optimization history: each trial's value
// by trial number, and the best value so far as a step line.
func plotHistoryOfSearch(board *tuning.Leaderboard, pts []searchPoint, path string) error {
	p := gridPlot("Optimization history", "trial", board.Metric)
	var finished, pruned, best plotter.XYs
	for _, pt := range pts {
		xy := plotter.XY{X: float64(pt.id), Y: pt.value}
		if pt.pruned {
			pruned = append(pruned, xy)
		} else {
			finished = append(finished, xy)
		}
		if len(best) == 0 || better(board, pt.value, best[len(best)-1].Y) {
			best = append(best, xy)
		} else {
			best = append(best, plotter.XY{X: xy.X, Y: best[len(best)-1].Y})
		}
	}
	line, err := plotter.NewLine(best)
	if err != nil {
		return err
	}
	line.StepStyle, line.Color, line.Width = plotter.PostStep, palette[1], vg.Points(2)
	p.Add(line)
	p.Legend.Add("best so far", line)
	if err := addPoints(p, finished, pruned); err != nil {
		return err
	}
	legendRoom(p, board.Minimize)
	p.X.Tick.Marker = integerTicks{}
	p.X.Min = math.Min(p.X.Min, -0.5)
	return savePNG(p, path)
}

// position maps a parameter value onto [0, 1] along its dimension's range,
// on the scale the search draws it on; a choice's values are evenly spaced
// in their order.
func position(sc tuning.Scale, p tuning.Params, name string) float64 {
	if sc.Choices != nil {
		i := slices.Index(sc.Choices, p.String(name))
		return float64(i) / float64(len(sc.Choices)-1)
	}
	v, lo, hi := p.Float(name), sc.Lo, sc.Hi
	if sc.Log {
		v, lo, hi = math.Log(v), math.Log(lo), math.Log(hi)
	}
	return math.Min(math.Max((v-lo)/(hi-lo), 0), 1)
}

// plotParallel draws the parallel coordinates: one vertical axis per
// parameter and one for the metric, each trial a line through its values,
// coloured by its metric (colour bar on the right, blue the better end);
// pruned trials grey, underneath.
func plotParallel(board *tuning.Leaderboard, dims []tuning.Dimension, pts []searchPoint, path string) error {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, pt := range pts {
		lo, hi = min(lo, pt.value), max(hi, pt.value)
	}
	if hi == lo {
		lo, hi = lo-0.5, hi+0.5
	}
	// Blue is better: low values for a minimised metric, high ones for a
	// maximised one.
	var cmap gonumpalette.ColorMap = moreland.SmoothBlueRed()
	if !board.Minimize {
		cmap = gonumpalette.Reverse(cmap)
	}
	cmap.SetMin(lo)
	cmap.SetMax(hi)
	p := plot.New()
	p.Title.Text = "Parallel coordinates, coloured by " + board.Metric
	p.HideY()
	p.X.Tick.Marker = nil
	names := make([]string, 0, len(dims)+1)
	for _, d := range dims {
		names = append(names, d.Name())
	}
	names = append(names, board.Metric)
	p.NominalX(names...)
	p.X.Label.Text = "pruned trials grey; each axis spans the searched range (log for log-scaled)"
	p.X.Label.TextStyle.Font.Size = vg.Points(8)
	// Worst first, so that the best lines are drawn on top.
	order := slices.Clone(pts)
	sort.SliceStable(order, func(i, j int) bool {
		if order[i].pruned != order[j].pruned {
			return order[i].pruned
		}
		return better(board, order[j].value, order[i].value)
	})
	scales := make([]tuning.Scale, len(dims))
	for k, d := range dims {
		scales[k] = tuning.DimensionScale(d)
	}
	for _, pt := range order {
		xys := make(plotter.XYs, len(names))
		for k, d := range dims {
			xys[k] = plotter.XY{X: float64(k), Y: position(scales[k], pt.params, d.Name())}
		}
		xys[len(dims)] = plotter.XY{X: float64(len(dims)), Y: (pt.value - lo) / (hi - lo)}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		line.Width = vg.Points(1.2)
		if pt.pruned {
			line.Color = prunedGrey
		} else if line.Color, err = cmap.At(pt.value); err != nil {
			return err
		}
		p.Add(line)
	}
	// The axes with their range's ends (or every choice) written at them.
	var labels plotter.XYLabels
	for k := range names {
		axis, err := plotter.NewLine(plotter.XYs{{X: float64(k), Y: 0}, {X: float64(k), Y: 1}})
		if err != nil {
			return err
		}
		axis.Color, axis.Width = color.Black, vg.Points(1)
		p.Add(axis)
		switch {
		case k == len(dims):
			labels.XYs = append(labels.XYs, plotter.XY{X: float64(k), Y: 0}, plotter.XY{X: float64(k), Y: 1})
			labels.Labels = append(labels.Labels, strconv.FormatFloat(lo, 'g', 4, 64), strconv.FormatFloat(hi, 'g', 4, 64))
		case scales[k].Choices != nil:
			for i, ch := range scales[k].Choices {
				labels.XYs = append(labels.XYs, plotter.XY{X: float64(k), Y: float64(i) / float64(len(scales[k].Choices)-1)})
				labels.Labels = append(labels.Labels, ch)
			}
		default:
			labels.XYs = append(labels.XYs, plotter.XY{X: float64(k), Y: 0}, plotter.XY{X: float64(k), Y: 1})
			labels.Labels = append(labels.Labels, strconv.FormatFloat(scales[k].Lo, 'g', 4, 64), strconv.FormatFloat(scales[k].Hi, 'g', 4, 64))
		}
	}
	text, err := plotter.NewLabels(labels)
	if err != nil {
		return err
	}
	for i := range text.TextStyle {
		text.TextStyle[i].Font.Size = vg.Points(8)
		text.TextStyle[i].XAlign = draw.XLeft
		text.TextStyle[i].YAlign = draw.YCenter
	}
	text.Offset = vg.Point{X: vg.Points(3)}
	p.Add(text)
	p.X.Min, p.X.Max = -0.2, float64(len(dims))+0.45
	p.Y.Min, p.Y.Max = -0.04, 1.04

	bar := plot.New()
	bar.HideX()
	bar.Y.Label.Text = board.Metric
	bar.Y.Padding = p.Y.Padding
	bar.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true})
	return saveDrawing(path, func(c draw.Canvas) {
		w := c.Max.X - c.Min.X
		p.Draw(draw.Crop(c, 0, -0.15*w, 0, 0))
		// The bar lines up with the axes: the same room for title above
		// and tick labels below.
		bar.Draw(draw.Crop(c, 0.87*w, -0.03*w, p.X.Tick.Label.Height("0")+vg.Points(20), -vg.Points(28)))
	})
}

// plotSlice is Optuna's slice plot: the metric against one parameter,
// on the parameter's search scale (log for log-scaled, one column per
// choice).
func plotSlice(board *tuning.Leaderboard, d tuning.Dimension, pts []searchPoint, path string) error {
	sc := tuning.DimensionScale(d)
	p := gridPlot(board.Metric+" by "+d.Name(), d.Name(), board.Metric)
	var finished, pruned plotter.XYs
	for _, pt := range pts {
		x := pt.params.Float(d.Name())
		if sc.Choices != nil {
			x = float64(slices.Index(sc.Choices, pt.params.String(d.Name())))
		}
		xy := plotter.XY{X: x, Y: pt.value}
		if pt.pruned {
			pruned = append(pruned, xy)
		} else {
			finished = append(finished, xy)
		}
	}
	if err := addPoints(p, finished, pruned); err != nil {
		return err
	}
	switch {
	case sc.Choices != nil:
		p.NominalX(sc.Choices...)
		p.X.Min, p.X.Max = -0.5, float64(len(sc.Choices))-0.5
	case sc.Log:
		useLogAxis(&p.X)
		p.X.Label.Text += " (log scale)"
		p.X.Min, p.X.Max = sc.Lo, sc.Hi
	default:
		p.X.Min, p.X.Max = sc.Lo, sc.Hi
	}
	legendRoom(p, board.Minimize)
	return savePNG(p, path)
}

// plotImportance draws the importances as horizontal bars, the most
// important on top, each with its value.
func plotImportance(imp *tuning.Importance, path string) error {
	n := len(imp.Params)
	values := make(plotter.Values, n)
	names := make([]string, n)
	var labels plotter.XYLabels
	for i, pi := range imp.Params {
		row := n - 1 - i
		values[row], names[row] = pi.Importance, pi.Name
		labels.XYs = append(labels.XYs, plotter.XY{X: pi.Importance, Y: float64(row)})
		labels.Labels = append(labels.Labels, strconv.FormatFloat(pi.Importance, 'f', 3, 64))
	}
	p := plot.New()
	p.Title.Text = "Parameter importance for " + imp.Describe()
	p.X.Label.Text = "share of the variance the parameters explain"
	bars, err := plotter.NewBarChart(values, vg.Points(math.Min(36, 150/float64(n))))
	if err != nil {
		return err
	}
	bars.Horizontal, bars.Color, bars.LineStyle.Width = true, palette[0], 0
	p.Add(bars)
	text, err := plotter.NewLabels(labels)
	if err != nil {
		return err
	}
	for i := range text.TextStyle {
		text.TextStyle[i].YAlign = draw.YCenter
	}
	text.Offset = vg.Point{X: vg.Points(4)}
	p.Add(text)
	p.NominalY(names...)
	p.X.Min, p.X.Max = 0, 1.12
	p.Y.Min, p.Y.Max = -0.7, float64(n)-0.3
	return savePNG(p, path)
}

// plotCurves draws every trial's metric after each epoch: pruned trials
// grey, finished ones blue, the best trial orange and on top.
func plotCurves(board *tuning.Leaderboard, pts []searchPoint, path string) error {
	p := gridPlot("Learning curves of the trials", "epoch", board.Metric)
	bestID := -1
	if best, ok := board.Best(); ok {
		bestID = best.Trial.ID
	}
	legend := map[string]bool{}
	for pass := 0; pass < 3; pass++ { // pruned, finished, best: later passes on top
		for _, pt := range pts {
			kind := 1
			if pt.pruned {
				kind = 0
			} else if pt.id == bestID {
				kind = 2
			}
			if kind != pass || len(pt.curve) == 0 {
				continue
			}
			line, points, err := plotter.NewLinePoints(pt.curve)
			if err != nil {
				return err
			}
			label := []string{"pruned", "finished", fmt.Sprintf("best (trial %d)", pt.id)}[kind]
			c := []color.Color{prunedGrey, palette[0], palette[1]}[kind]
			line.Color, points.Color, points.Shape, points.Radius = c, c, draw.CircleGlyph{}, vg.Points(1.5)
			if kind == 2 {
				line.Width = vg.Points(2.5)
			}
			p.Add(line, points)
			if !legend[label] {
				legend[label] = true
				p.Legend.Add(label, line)
			}
		}
	}
	legendRoom(p, board.Minimize)
	p.X.Tick.Marker = integerTicks{}
	p.X.Min = math.Min(p.X.Min, 1)
	return savePNG(p, path)
}
