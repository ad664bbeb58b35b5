// Command comparesearch summarises searches run by scripts/compare_search.sh:
// it reads each search's results.json, replays the search in the order its
// trials finished, and writes the best validation loss reached against the
// epochs spent as a PNG (mean over search seeds, one line per strategy)
// and as a Markdown table, which it prints and, with -doc, puts between the
// comparison markers of that file.
//
// Usage:
//
//	comparesearch -budget 66 -png docs/images/search-comparison.png -doc docs/tuning.md DIR...
//
// Each DIR is named STRATEGY-SEED (random-1, tpe-median-3); the runs of a
// strategy are averaged. Epochs spent by a run of a trial are its reports
// (a promoted trial reports only the epochs it adds, a pruned one those it
// trained), so every search is charged what it trained.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/pkg/errors"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/adamant-ml/adamant/internal/atomicfile"
)

const (
	beginMarker = "<!-- comparison:begin -->"
	endMarker   = "<!-- comparison:end -->"
)

// result is the part of a results.json entry the replay needs.
type result struct {
	ID       int                   `json:"id"`
	Status   string                `json:"status"`
	Finished time.Time             `json:"finished"`
	Metrics  map[string]any        `json:"metrics"`
	History  []struct{ Epoch int } `json:"history"`
}

// curve is one search: after spending epochs[i] epochs, the best value was
// best[i].
type curve struct {
	epochs []int
	best   []float64
	trials int
}

// at is the best value after spending e epochs, NaN before the first result.
func (c curve) at(e int) float64 {
	v := math.NaN()
	for i, spent := range c.epochs {
		if spent > e {
			break
		}
		v = c.best[i]
	}
	return v
}

// reach is the epochs spent when the best first got to target or better,
// -1 if it never did within budget.
func (c curve) reach(target float64, budget int) int {
	for i, v := range c.best {
		if c.epochs[i] > budget {
			break
		}
		if v <= target {
			return c.epochs[i]
		}
	}
	return -1
}

func load(dir, metric string) (curve, error) {
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return curve{}, err
	}
	var doc struct{ Results []result }
	if err := json.Unmarshal(data, &doc); err != nil {
		return curve{}, errors.Wrapf(err, "%s/results.json", dir)
	}
	rs := doc.Results
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Finished.Before(rs[j].Finished) })
	var c curve
	spent, best := 0, math.Inf(1)
	ids := map[int]bool{}
	for _, r := range rs {
		spent += len(r.History)
		ids[r.ID] = true
		if v, ok := r.Metrics[metric].(float64); ok && (r.Status == "ok" || r.Status == "pruned") && v < best {
			best = v
		}
		if !math.IsInf(best, 1) {
			c.epochs = append(c.epochs, spent)
			c.best = append(c.best, best)
		}
	}
	c.trials = len(ids)
	if len(c.epochs) == 0 {
		return c, errors.Errorf("%s: no finished trial with %s", dir, metric)
	}
	return c, nil
}

type group struct {
	name   string
	curves []curve
}

func (g group) mean(e int) float64 {
	sum := 0.0
	for _, c := range g.curves {
		v := c.at(e)
		if math.IsNaN(v) {
			return math.NaN()
		}
		sum += v
	}
	return sum / float64(len(g.curves))
}

func main() {
	budget := flag.Int("budget", 66, "epochs every search may spend")
	metric := flag.String("metric", "val_loss", "metric to minimise")
	png := flag.String("png", "", "write the plot here")
	doc := flag.String("doc", "", "replace the table between the comparison markers of this Markdown file")
	caption := flag.String("caption", "", "line printed above the table")
	flag.Parse()
	if err := run(os.Stdout, flag.Args(), *budget, *metric, *png, *doc, *caption); err != nil {
		fmt.Fprintln(os.Stderr, "comparesearch:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, dirs []string, budget int, metric, png, doc, caption string) error {
	if len(dirs) == 0 {
		return errors.New("no search directories given")
	}
	var groups []*group
	byName := map[string]*group{}
	for _, d := range dirs {
		base := filepath.Base(d)
		cut := strings.LastIndex(base, "-")
		if cut < 1 {
			return errors.Errorf("%s: want a directory named STRATEGY-SEED", d)
		}
		name := base[:cut]
		c, err := load(d, metric)
		if err != nil {
			return err
		}
		g := byName[name]
		if g == nil {
			g = &group{name: name}
			byName[name] = g
			groups = append(groups, g)
		}
		g.curves = append(g.curves, c)
	}
	var table bytes.Buffer
	writeTable(&table, groups, budget, metric, caption)
	fmt.Fprint(w, table.String())
	if png != "" {
		if err := plotCurves(groups, budget, metric, png); err != nil {
			return err
		}
	}
	if doc != "" {
		return replaceSection(doc, table.String())
	}
	return nil
}

func writeTable(w io.Writer, groups []*group, budget int, metric, caption string) {
	var random *group
	for _, g := range groups {
		if g.name == "random" {
			random = g
		}
	}
	if caption != "" {
		fmt.Fprintf(w, "%s\n\n", caption)
	}
	q := []int{budget / 4, budget / 2, budget}
	fmt.Fprintf(w, "| search | runs | trials (mean) | best %s after %d epochs | after %d | after %d |", metric, q[0], q[1], q[2])
	if random != nil {
		fmt.Fprint(w, " epochs to reach random's final best (per seed) |")
	}
	fmt.Fprint(w, "\n|---|---|---|---|---|---|")
	if random != nil {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, g := range groups {
		trials := 0
		for _, c := range g.curves {
			trials += c.trials
		}
		fmt.Fprintf(w, "| %s | %d | %.1f |", g.name, len(g.curves), float64(trials)/float64(len(g.curves)))
		for _, e := range q {
			fmt.Fprintf(w, " %.4f |", g.mean(e))
		}
		if random != nil {
			var parts []string
			for i, c := range g.curves {
				if i >= len(random.curves) {
					break
				}
				target := random.curves[i].at(budget)
				if r := c.reach(target, budget); r >= 0 {
					parts = append(parts, fmt.Sprint(r))
				} else {
					parts = append(parts, "—")
				}
			}
			fmt.Fprintf(w, " %s |", strings.Join(parts, ", "))
		}
		fmt.Fprintln(w)
	}
}

// palette is colour-blind safe (Okabe–Ito), as cmd/mnist's plots.
var palette = []color.RGBA{
	{0, 114, 178, 255}, {213, 94, 0, 255}, {0, 158, 115, 255}, {204, 121, 167, 255},
	{230, 159, 0, 255}, {86, 180, 233, 255}, {0, 0, 0, 255},
}

func plotCurves(groups []*group, budget int, metric, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Best %s against epochs spent (mean over search seeds)", metric)
	p.X.Label.Text = "epochs spent by the search"
	p.Y.Label.Text = "best " + metric + " so far"
	p.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, g := range groups {
		var pts plotter.XYs
		for e := 1; e <= budget; e++ {
			if v := g.mean(e); !math.IsNaN(v) {
				pts = append(pts, plotter.XY{X: float64(e), Y: v})
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return errors.Wrap(err, g.name)
		}
		line.Color = palette[i%len(palette)]
		line.Width = vg.Points(2)
		line.StepStyle = plotter.PostStep
		if i >= 4 {
			line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
		}
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (%d seeds)", g.name, len(g.curves)), line)
	}
	// The first results of a search are far worse than the rest; cut the
	// axis so that the differences that matter are visible.
	p.Y.Min, p.Y.Max = lo-(hi-lo)*0.05, math.Min(hi, lo+4*(groups[0].mean(budget/4)-lo+1e-3))
	p.X.Min, p.X.Max = 0, float64(budget)
	p.Legend.Top = true
	p.Legend.Left = false
	return atomicfile.Write(path, func(w io.Writer) error {
		wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
		if err != nil {
			return err
		}
		_, err = wt.WriteTo(w)
		return err
	})
}

// replaceSection puts table between the markers of a Markdown file.
func replaceSection(path, table string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	a, b := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	if a < 0 || b < a {
		return errors.Errorf("%s has no %s ... %s section", path, beginMarker, endMarker)
	}
	out := s[:a+len(beginMarker)] + "\n" + table + s[b:]
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := io.WriteString(w, out)
		return err
	})
}
