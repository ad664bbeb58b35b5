package main

import (
	"math"
	"strconv"

	"gonum.org/v1/plot"
)

// decadeTicks labels a log axis at the powers of ten it spans ("1e-05",
// "0.001", "1"), with unlabelled minor ticks at 2…9 × each power.
// plot.LogTicks computes its ticks through pow and prints the rounding
// ("9.99999999e-05") when the axis spans many decades.
type decadeTicks struct{}

// Ticks implements plot.Ticker.
func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi >= lo) {
		return nil
	}
	var ticks []plot.Tick
	for e := int(math.Floor(math.Log10(lo))); e <= int(math.Ceil(math.Log10(hi))); e++ {
		base := math.Pow10(e)
		if base >= lo && base <= hi {
			ticks = append(ticks, plot.Tick{Value: base, Label: strconv.FormatFloat(base, 'g', -1, 64)})
		}
		for k := 2; k <= 9; k++ {
			if v := float64(k) * base; v >= lo && v <= hi {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
	}
	return ticks
}

// useLogAxis puts an axis on a log scale with decade ticks.
func useLogAxis(a *plot.Axis) {
	a.Scale = plot.LogScale{}
	a.Tick.Marker = decadeTicks{}
}
