package tuning

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// A one-dimensional mixture of products is the univariate estimator.
func TestJointLogPDFOfOneDimensionIsItsLogPDF(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,width=int:1:64,act=a|b|c")
	obs := []Params{{"lr": 1e-3, "width": 8, "act": "a"}, {"lr": 3e-2, "width": 60, "act": "c"}, {"lr": 2e-5, "width": 2, "act": "c"}}
	for _, d := range s.dims {
		p := newParzen(d, obs, 0)
		r := rand.New(rand.NewPCG(1, 2))
		for range 20 {
			x := p.sample(r)
			if a, b := jointLogPDF([]parzen{p}, []float64{x}), p.logPDF(x); math.Abs(a-b) > 1e-9 {
				t.Errorf("%s at %v: joint %v, univariate %v", d.Name(), x, a, b)
			}
		}
	}
}

// Multivariate TPE learns: at the same budget it beats random search on
// the synthetic objective in most seeds.
func TestTPEMultivariateBeatsRandom(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,x=uniform:-5:5,width=int:1:64,act=a|b|c|d")
	const budget, seeds = 40, 8
	wins := 0
	for seed := uint64(1); seed <= seeds; seed++ {
		rb, err := Run(context.Background(), s, Random(budget, seed), synthetic)
		if err != nil {
			t.Fatal(err)
		}
		jb, err := Run(context.Background(), s, TPE(budget, seed, TPEMultivariate(true)), synthetic)
		if err != nil {
			t.Fatal(err)
		}
		if bestValue(t, jb) < bestValue(t, rb) {
			wins++
		}
	}
	if wins < seeds*3/4 {
		t.Errorf("multivariate tpe beat random in %d of %d seeds, want ≥ %d", wins, seeds, seeds*3/4)
	}
}

func TestBOHBRunsHyperbandsTable(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99")
	hb, err := Run(context.Background(), s, Hyperband(4, 1, 3, 3, HyperbandRounds(4)), bowl)
	if err != nil {
		t.Fatal(err)
	}
	bo, err := Run(context.Background(), s, BOHB(4, 1, 3, 3, BOHBRounds(4)), bowl)
	if err != nil {
		t.Fatal(err)
	}
	shape := func(b *Leaderboard) map[[2]int]int {
		m := map[[2]int]int{}
		for _, r := range b.Results {
			m[[2]int{r.Trial.ID, r.Trial.Epochs}]++
		}
		return m
	}
	if a, b := shape(bo), shape(hb); len(a) != len(b) || len(bo.Results) != len(hb.Results) {
		t.Errorf("bohb ran %d (id, epochs) runs, hyperband %d: want the same table", len(a), len(b))
	}
}

// With the model on every draw, BOHB's later configurations beat
// Hyperband's random ones.
func TestBOHBModelImprovesOnHyperband(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1,beta1=uniform:0.8:0.99")
	const seeds = 6
	var hbSum, boSum float64
	for seed := uint64(1); seed <= seeds; seed++ {
		hb, err := Run(context.Background(), s, Hyperband(seed, 1, 3, 3, HyperbandRounds(6)), curves)
		if err != nil {
			t.Fatal(err)
		}
		bo, err := Run(context.Background(), s, BOHB(seed, 1, 3, 3, BOHBRounds(6)), curves)
		if err != nil {
			t.Fatal(err)
		}
		hbSum += bestValue(t, hb)
		boSum += bestValue(t, bo)
	}
	t.Logf("mean best over %d seeds: hyperband %.4f, bohb %.4f", seeds, hbSum/seeds, boSum/seeds)
	if boSum >= hbSum {
		t.Errorf("bohb mean best %.4f, hyperband %.4f: want bohb lower", boSum/seeds, hbSum/seeds)
	}
}

func TestBOHBObservesTheLargestBudgetWithEnoughResults(t *testing.T) {
	c := &config{metric: "val_loss", minimize: true}
	res := func(id, epochs int, v float64, status string) *Result {
		return &Result{Trial: Trial{ID: id, Epochs: epochs}, Metrics: map[string]float64{"val_loss": v}, Status: status}
	}
	s := &bohbScheduler{b: bohb{model: tpe{startup: 2}}, c: c, told: []*Result{
		res(0, 1, 0.5, StatusOK), res(1, 1, 0.4, StatusPruned), res(2, 1, 0.9, StatusOK),
		res(3, 3, 0.3, StatusOK), res(4, 9, 0.1, StatusOK), res(5, 3, math.NaN(), StatusNaN),
	}, pending: []Trial{{ID: 6, Epochs: 3}, {ID: 7, Epochs: 1}}}
	ranked, pending := s.observations()
	if len(ranked) != 1 || len(pending) != 0 {
		// budget 3 has one ok result (the NaN does not count): budget 1 is used.
		var ids []int
		for _, r := range ranked {
			ids = append(ids, r.Trial.ID)
		}
		if !reflect.DeepEqual(ids, []int{1, 0, 2}) || len(pending) != 1 || pending[0].ID != 7 {
			t.Errorf("observed %v, pending %v; want trials [1 0 2] at 1 epoch, pending [7]", ids, pending)
		}
	} else {
		t.Errorf("observed budget %d with one result; want budget 1", ranked[0].Trial.Epochs)
	}
	s.b.model.startup = 4
	if ranked, _ := s.observations(); ranked != nil {
		t.Errorf("with startup 4 no budget has enough results, got %d", len(ranked))
	}
}

func TestBOHBSettings(t *testing.T) {
	s := mustSpace(t, "lr=log:1e-5:1e-1")
	for _, st := range []Strategy{
		BOHB(1, 1, 3, 3, BOHBRandomFraction(1.5)),
		BOHB(1, 1, 3, 3, BOHBRandomFraction(math.NaN())),
		BOHB(1, 1, 3, 3, BOHBRounds(0)),
		BOHB(1, 0, 3, 3),
		BOHB(1, 1, 3, 3, BOHBModel(TPECandidates(0))),
	} {
		if _, err := Run(context.Background(), s, st, bowl); err == nil {
			t.Errorf("%s: no error", st)
		}
	}
}
