package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pkg/errors"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/adamant-ml/adamant/callbacks"
	"github.com/adamant-ml/adamant/internal/atomicfile"
	"github.com/adamant-ml/adamant/train"
)

// Files lr-find writes in -out.
const (
	lrFindPNG = "lr_find.png"
	lrFindCSV = "lr_find.csv"
)

// lrFindFlags are the range test's own settings.
type lrFindFlags struct {
	startLR, endLR float64
	steps          int
	smoothing      float64
	divergence     float64
}

// lrFindFlagNames groups them for -h.
var lrFindFlagNames = []string{"start-lr", "end-lr", "lr-steps", "smoothing", "divergence"}

// cmdLRFind is `mnist lr-find`: the learning-rate range test on the
// configured model from its initial weights.
func cmdLRFind(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := defaultConfig()
	fs := newFlagSet("lr-find", stderr)
	groups := registerTrainFlags(fs, &c)
	f := lrFindFlags{startLR: callbacks.DefaultLRFinderMinLR, endLR: callbacks.DefaultLRFinderMaxLR,
		steps: callbacks.DefaultLRFinderSteps, smoothing: callbacks.DefaultLRFinderSmoothing, divergence: callbacks.DefaultLRFinderDivergence}
	fs.Float64Var(&f.startLR, "start-lr", f.startLR, "learning rate of the first batch, > 0")
	fs.Float64Var(&f.endLR, "end-lr", f.endLR, "learning rate of the last batch, > -start-lr")
	fs.IntVar(&f.steps, "lr-steps", f.steps, "batches, each at a higher rate (geometric), ≥ 2")
	fs.Float64Var(&f.smoothing, "smoothing", f.smoothing, "β of the loss's moving average, in [0, 1)")
	fs.Float64Var(&f.divergence, "divergence", f.divergence, "stop when the smoothed loss exceeds this × its best, > 1 (0: never)")
	groups = append([]flagGroup{{"LR range test", lrFindFlagNames}}, groups...)
	fs.Usage = func() {
		printUsage(stderr, fs, "usage: mnist lr-find [flags]\n\nThe learning-rate range test (Smith 2017; fastai's lr_find): trains the model\nfrom its initial weights while the learning rate rises geometrically from\n-start-lr to -end-lr, one rate per batch, prints the rate where the smoothed\nloss falls fastest and writes lr_find.png and lr_find.csv to -out. -lr, the\nschedule, epoch, early-stopping and augmentation flags do not apply.", groups)
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	if c.Resume != "" {
		return usagef("-resume does not apply to lr-find: the test starts from the initial weights")
	}
	opts := []callbacks.LRFinderOption{
		callbacks.WithLRFinderRange(f.startLR, f.endLR), callbacks.WithLRFinderSteps(f.steps),
		callbacks.WithLRFinderSmoothing(f.smoothing), callbacks.WithLRFinderDivergence(f.divergence),
	}
	if _, err := callbacks.NewLRFinder(opts...); err != nil {
		return usagef("%v", err)
	}
	if c.Out == "" {
		c.Out = defaultOut("lr-find")
	}
	setThreads(&c, c.Threads)
	data, err := loadData(ctx, &c, stderr, false)
	if err != nil {
		return err
	}
	model, err := buildModel(&c)
	if err != nil {
		return errors.Wrap(err, "building the model")
	}
	defer model.Close()
	solver, err := buildSolver(&c)
	if err != nil {
		return errors.Wrap(err, "building the optimizer")
	}
	res, err := train.FindLR(ctx, model, solver, data.train, opts...)
	if err != nil {
		if ctx.Err() != nil {
			return errInterrupted
		}
		return err
	}
	if err := os.MkdirAll(c.Out, 0o755); err != nil {
		return errors.Wrap(err, "-out")
	}
	if err := atomicfile.Write(filepath.Join(c.Out, lrFindCSV), func(w io.Writer) error { return writeLRFindCSV(w, res) }); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d batches from lr %.3g; %s: %s\n", len(res.LRs), f.startLR, res.Stop, res.Reason)
	if res.SuggestionIndex < 0 {
		return errors.Errorf("no suggestion: %d batches are too few for the steepest-descent rule (raise -lr-steps or -divergence)", len(res.LRs))
	}
	fmt.Fprintf(stdout, "suggested_lr=%.3g (steepest descent of the smoothed loss over log lr, batch %d, smoothed loss %.4g)\n",
		res.Suggestion, res.SuggestionIndex+1, res.Smoothed[res.SuggestionIndex])
	if c.Plots {
		path := filepath.Join(c.Out, lrFindPNG)
		if err := plotLRFind(res, path); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", path)
	}
	return nil
}

// writeLRFindCSV writes one row per batch: lr, loss, smoothed_loss.
func writeLRFindCSV(w io.Writer, res callbacks.LRFinderResult) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"batch", "lr", "loss", "smoothed_loss"})
	for i := range res.LRs {
		_ = cw.Write([]string{strconv.Itoa(i + 1), formatExact(res.LRs[i]), formatExact(res.Losses[i]), formatExact(res.Smoothed[i])})
	}
	cw.Flush()
	return errors.Wrap(cw.Error(), lrFindCSV)
}

func formatExact(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// plotLRFind draws the range test: the batch losses as faint points, the
// smoothed loss as a line, both against the learning rate on a log axis,
// and the suggestion as a marked point with a dashed vertical line.
func plotLRFind(res callbacks.LRFinderResult, path string) error {
	var raw, smooth plotter.XYs
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, lr := range res.LRs {
		if !finite(res.Losses[i]) || !finite(res.Smoothed[i]) {
			continue
		}
		raw = append(raw, plotter.XY{X: lr, Y: res.Losses[i]})
		smooth = append(smooth, plotter.XY{X: lr, Y: res.Smoothed[i]})
		lo, hi = min(lo, res.Smoothed[i], res.Losses[i]), max(hi, res.Smoothed[i])
	}
	if len(smooth) < 2 {
		return errors.Errorf("drawing %s: fewer than two finite losses", path)
	}
	p := gridPlot("Learning-rate range test", "learning rate (log scale)", "training loss")
	useLogAxis(&p.X)
	// The divergent end would squash the curve: the y axis stops at twice
	// the first smoothed loss. Set after Add, which widens the axes to
	// the data.
	yMin, yMax := lo-0.05*(hi-lo), min(hi, 2*res.Smoothed[0])
	top := yMax // the data's top; above it, room for the legend
	yMax += 0.3 * (yMax - yMin)
	points, err := plotter.NewScatter(clipY(raw, top))
	if err != nil {
		return err
	}
	points.Color = color.RGBA{150, 150, 150, 255}
	points.Shape = draw.CircleGlyph{}
	points.Radius = vg.Points(1.5)
	line, err := plotter.NewLine(smooth)
	if err != nil {
		return err
	}
	line.Color, line.Width = palette[0], vg.Points(2)
	p.Add(points, line)
	p.Legend.Add("batch loss", points)
	p.Legend.Add("smoothed loss", line)
	if i := res.SuggestionIndex; i >= 0 {
		s := plotter.XY{X: res.LRs[i], Y: res.Smoothed[i]}
		mark, err := plotter.NewScatter(plotter.XYs{s})
		if err != nil {
			return err
		}
		mark.Color, mark.Shape, mark.Radius = palette[1], draw.CircleGlyph{}, vg.Points(5)
		vline, err := plotter.NewLine(plotter.XYs{{X: s.X, Y: yMin}, {X: s.X, Y: top}})
		if err != nil {
			return err
		}
		vline.Color, vline.Dashes = palette[1], []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(vline, mark)
		p.Legend.Add(fmt.Sprintf("suggestion %.2g (steepest descent)", s.X), mark)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Y.Min, p.Y.Max = yMin, yMax
	return savePNG(p, path)
}

// clipY drops the points above top, which the axis would not show.
func clipY(pts plotter.XYs, top float64) plotter.XYs {
	out := make(plotter.XYs, 0, len(pts))
	for _, pt := range pts {
		if pt.Y <= top {
			out = append(out, pt)
		}
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
