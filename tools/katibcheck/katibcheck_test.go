package katibcheck

import (
	"bufio"
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	configv1beta1 "github.com/kubeflow/katib/pkg/apis/config/v1beta1"
	commonv1beta1 "github.com/kubeflow/katib/pkg/apis/controller/common/v1beta1"
	experimentsv1beta1 "github.com/kubeflow/katib/pkg/apis/controller/experiments/v1beta1"
	"github.com/kubeflow/katib/pkg/controller.v1beta1/consts"
	mccommon "github.com/kubeflow/katib/pkg/metricscollector/v1beta1/common"
	filemc "github.com/kubeflow/katib/pkg/metricscollector/v1beta1/file-metricscollector"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// repo is the adamant checkout this module sits in.
const repo = "../.."

// katibModule is the Katib module whose types, validator and collector
// code the tests use; its katib-config.yaml lists the algorithms and
// collectors of that release.
const katibModule = "github.com/kubeflow/katib"

// want is what each Experiment file must wire up: adamant's strategy
// mapped to Katib's algorithm, and the collector matching the trial's
// -metrics-format.
var want = map[string]struct {
	algorithm, earlyStopping string
	collector                commonv1beta1.CollectorKind
	metricsFormat            string
}{
	"katib-experiment.yaml":            {"random", "", commonv1beta1.StdOutCollector, "katib-text"},
	"katib-experiment-medianstop.yaml": {"tpe", "medianstop", commonv1beta1.FileCollector, "katib-json"},
}

func experimentFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repo, "docs", "katib-experiment*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(want) {
		t.Fatalf("docs has %d katib-experiment*.yaml files %v, the test knows %d: add the new one to want", len(files), files, len(want))
	}
	return files
}

var katibConfig = sync.OnceValues(func() (*configv1beta1.KatibConfig, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", katibModule).Output()
	if err != nil {
		return nil, err
	}
	return LoadKatibConfig(filepath.Join(strings.TrimSpace(string(out)), "manifests", "v1beta1", "installs", "katib-standalone", "katib-config.yaml"))
})

func loadValid(t *testing.T, path string) *experimentsv1beta1.Experiment {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := katibConfig()
	if err != nil {
		t.Fatalf("Katib's katib-config.yaml: %v", err)
	}
	e, err := DecodeExperiment(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := Validate(e, cfg); err != nil {
		t.Fatalf("%s: Katib's validator: %v", path, err)
	}
	if err := CheckSettings(e); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return e
}

func TestExperimentsAreValidKatibExperiments(t *testing.T) {
	for _, path := range experimentFiles(t) {
		loadValid(t, path)
	}
}

// TestStrictness: each mistake a hand-edited Experiment is likely to have
// is caught, by the decoder, Katib's validator or the settings check.
func TestStrictness(t *testing.T) {
	base, err := os.ReadFile(filepath.Join(repo, "docs", "katib-experiment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := katibConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, old, new, msg string }{
		{"misspelt Experiment field", "objectiveMetricName:", "objectiveMetric:", `unknown field "spec.objective.objectiveMetric"`},
		{"misspelt Job field", "backoffLimit: 0", "backofLimit: 0", `unknown field "spec.backofLimit"`},
		{"misspelt container field", "primaryContainerName: training-container\n", "primaryContainerName: training-container\n    retain: true\n    retain: false\n", `"retain" already set`},
		{"unknown algorithm", "algorithmName: random", "algorithmName: randomm", `algorithm randomm`},
		{"unknown setting", "random_state", "seed", `unknown setting "seed" for random`},
		{"bad setting value", `value: "1"`, `value: "-1"`, `random_state = "-1": want an integer ≥ 0`},
		{"parameter missing from the template", "-lr=${trialParameters.lr}", "-lr=0.001", "parameter name: lr in spec.trialParameters not found"},
		{"unknown trial parameter", "-seed=1", "-seed=${trialParameters.seed}", "not found in spec.trialParameters"},
		{"unknown distribution", "        distribution: logUniform", "        distribution: log", "distribution: log is not supported"},
		{"wrong kind", "kind: Experiment", "kind: Trial", `kind "Trial"`},
		{"two documents", "apiVersion: kubeflow.org/v1beta1\n", "apiVersion: v1\n---\napiVersion: kubeflow.org/v1beta1\n", "one YAML document"},
	} {
		if !bytes.Contains(base, []byte(tc.old)) {
			t.Fatalf("%s: the base Experiment has no %q", tc.name, tc.old)
		}
		bad := bytes.Replace(base, []byte(tc.old), []byte(tc.new), 1)
		e, err := DecodeExperiment(bad)
		if err == nil {
			if err = Validate(e, cfg); err == nil {
				err = CheckSettings(e)
			}
		}
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.msg)
		}
	}
}

// flagValue returns the value of -name=value in args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func TestExperimentEssentials(t *testing.T) {
	img := parseRepoDockerfile(t)
	for _, path := range experimentFiles(t) {
		e := loadValid(t, path)
		w := want[filepath.Base(path)]
		s := e.Spec
		if s.Algorithm.AlgorithmName != w.algorithm {
			t.Errorf("%s: algorithm %q, want %q", path, s.Algorithm.AlgorithmName, w.algorithm)
		}
		if got := ""; s.EarlyStopping != nil || w.earlyStopping != "" {
			if s.EarlyStopping != nil {
				got = s.EarlyStopping.AlgorithmName
			}
			if got != w.earlyStopping {
				t.Errorf("%s: early stopping %q, want %q", path, got, w.earlyStopping)
			}
		}
		if s.Objective.ObjectiveMetricName != "val_loss" || s.Objective.Type != commonv1beta1.ObjectiveTypeMinimize {
			t.Errorf("%s: objective %s %s, want to minimise val_loss (mnist tune's default)", path, s.Objective.Type, s.Objective.ObjectiveMetricName)
		}
		if s.MetricsCollectorSpec.Collector.Kind != w.collector {
			t.Errorf("%s: collector %s, want %s", path, s.MetricsCollectorSpec.Collector.Kind, w.collector)
		}
		job, err := TrialJob(e)
		if err != nil {
			t.Fatal(err)
		}
		c := job.Spec.Template.Spec.Containers[0]
		if len(job.Spec.Template.Spec.Containers) != 1 || c.Name != s.TrialTemplate.PrimaryContainerName {
			t.Errorf("%s: want one container, the primary one", path)
		}
		// Katib's collector sidecar terminates the one child of the shell
		// it wraps the command in (cmd/metricscollector/v1beta1/
		// file-metricscollector: "Multiple children processes are not
		// supported"): the command must be the binary itself, not `go run`.
		if len(c.Command) < 2 || c.Command[0] != img.Entrypoint[0] || c.Command[1] != "train" {
			t.Errorf("%s: command %v, want %s train ... (the Dockerfile's binary)", path, c.Command, img.Entrypoint[0])
		}
		args := append(append([]string{}, c.Command...), c.Args...)
		if f, _ := flagValue(args, "metrics-format"); f != w.metricsFormat {
			t.Errorf("%s: -metrics-format=%q, want %q for the %s collector", path, f, w.metricsFormat, w.collector)
		}
		if w.collector == commonv1beta1.FileCollector {
			fsp := s.MetricsCollectorSpec.Source.FileSystemPath
			if f, _ := flagValue(args, "metrics-file"); f != fsp.Path || fsp.Format != commonv1beta1.JsonFormat {
				t.Errorf("%s: -metrics-file=%q, the collector reads %s as %s; want the same file, as JSON", path, f, fsp.Path, fsp.Format)
			}
		}
		// Every Experiment parameter is the mnist flag of the same name, so
		// that the space reads as `mnist tune -space` does.
		for _, p := range s.TrialTemplate.TrialParameters {
			if v, ok := flagValue(args, p.Reference); !ok || v != "${trialParameters."+p.Name+"}" {
				t.Errorf("%s: parameter %s: want the argument -%s=${trialParameters.%s}, found %q", path, p.Reference, p.Reference, p.Name, v)
			}
		}
		if s.EarlyStopping != nil {
			epochs, _ := flagValue(args, "epochs")
			for _, st := range s.EarlyStopping.AlgorithmSettings {
				// medianstop checks a trial once, at its start_step-th
				// report: that must come before the last epoch, or no
				// trial is ever stopped early.
				n, err1 := strconv.Atoi(epochs)
				step, err2 := strconv.Atoi(st.Value)
				if st.Name == "start_step" && (err1 != nil || err2 != nil || step >= n) {
					t.Errorf("%s: start_step %s with -epochs=%s: the rule would never stop a trial", path, st.Value, epochs)
				}
			}
		}
	}
}

// TestKatibDefaultFilterIsOursCopy: the copy of Katib's default metrics
// filter that adamant's own tests (tuning/katib_test.go) parse with is
// Katib's DefaultFilter, character for character.
func TestKatibDefaultFilterIsOursCopy(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repo, "tuning", "katib_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("katibFilter = regexp.MustCompile\\(`([^`]*)`\\)").FindSubmatch(src)
	if m == nil {
		t.Fatal("tuning/katib_test.go no longer defines katibFilter")
	}
	if string(m[1]) != mccommon.DefaultFilter {
		t.Errorf("tuning/katib_test.go's katibFilter is %s, Katib's DefaultFilter is %s", m[1], mccommon.DefaultFilter)
	}
}

func goModVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return string(m[1])
}

func parseRepoDockerfile(t *testing.T) *Image {
	t.Helper()
	f, err := os.Open(filepath.Join(repo, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := ParseDockerfile(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// shellImages are runtime images with the sh, head and test that Katib's
// wrapper around a trial's command needs, and no C library to depend on.
var shellImages = []string{"gcr.io/distroless/static-debian12:debug-nonroot", "gcr.io/distroless/static-debian12:debug"}

func TestDockerfile(t *testing.T) {
	img := parseRepoDockerfile(t)
	if wantBase := "golang:" + goModVersion(t); img.BuildBase != wantBase {
		t.Errorf("build stage FROM %s, want %s (go.mod's go version)", img.BuildBase, wantBase)
	}
	ok := false
	for _, s := range shellImages {
		ok = ok || img.RunBase == s
	}
	if !ok {
		t.Errorf("runtime FROM %s, want one of %v: Katib runs the trial through sh -c", img.RunBase, shellImages)
	}
	if len(img.Entrypoint) != 1 {
		t.Fatalf("ENTRYPOINT %v, want the binary alone", img.Entrypoint)
	}
	bin, ok := img.Copies[img.Entrypoint[0]]
	if !ok {
		t.Fatalf("ENTRYPOINT %s is not copied from the build stage (copies: %v)", img.Entrypoint[0], img.Copies)
	}
	built := false
	for _, run := range img.BuildRuns {
		if strings.Contains(run, "CGO_ENABLED=0 go build") && strings.Contains(run, "./cmd/mnist") {
			built = strings.Contains(run, `-o "$OUT/mnist"`) && bin == img.BuildArgs["OUT"]+"/mnist"
		}
	}
	if !built {
		t.Errorf("no build-stage RUN builds ./cmd/mnist with CGO_ENABLED=0 to %s (the ENTRYPOINT's source): %q", bin, img.BuildRuns)
	}
	dataDir, ok := img.Env["ADAMANT_MNIST_DIR"]
	if _, copied := img.Copies[dataDir]; !ok || !copied {
		t.Errorf("ADAMANT_MNIST_DIR=%q is not a directory copied from the build stage (copies: %v)", dataDir, img.Copies)
	}
}

// TestDockerignoreKeepsTheBuild: no file the build compiles is excluded
// from the build context.
func TestDockerignoreKeepsTheBuild(t *testing.T) {
	f, err := os.Open(filepath.Join(repo, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{if .Module}}{{if .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .SFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}{{end}}{{end}}`, "./cmd/mnist")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(repo)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		rel, err := filepath.Rel(root, sc.Text())
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	if len(files) < 20 {
		t.Fatalf("only %d files found for the build: %v", len(files), files)
	}
	for _, f := range files {
		if ignored, err := pm.MatchesOrParentMatches(f); err != nil || ignored {
			t.Errorf(".dockerignore excludes %s, which the build compiles (%v)", f, err)
		}
	}
}

// trialImage runs the Dockerfile's build-stage commands on this machine
// (its OUT argument pointing into a temporary directory) and returns the
// host paths of what the final image holds: the binary and the MNIST
// directory.
func trialImage(t *testing.T, img *Image) (binary, dataDir string) {
	t.Helper()
	out := t.TempDir()
	for _, run := range img.BuildRuns {
		cmd := exec.Command("sh", "-c", run)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "OUT="+out)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("RUN %s: %v\n%s", run, err, msg)
		}
	}
	host := func(imagePath string) string {
		src := img.Copies[imagePath]
		rest, ok := strings.CutPrefix(src, img.BuildArgs["OUT"]+"/")
		if !ok {
			t.Fatalf("COPY --from=%s %s %s: the source is not under $OUT", img.BuildStage, src, imagePath)
		}
		return filepath.Join(out, rest)
	}
	binary, dataDir = host(img.Entrypoint[0]), host(img.Env["ADAMANT_MNIST_DIR"])
	info, err := exec.Command("go", "version", "-m", binary).Output()
	if err != nil || !strings.Contains(string(info), "CGO_ENABLED=0") {
		t.Errorf("the binary is not built with CGO_ENABLED=0 (%v):\n%s", err, info)
	}
	for _, name := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		if st, err := os.Stat(filepath.Join(dataDir, name)); err != nil || st.Size() == 0 {
			t.Errorf("the image's MNIST directory lacks %s: %v", name, err)
		}
	}
	return binary, dataDir
}

// corners are two trials per Experiment: every parameter at its lowest
// value, then at its highest (a list's first and last entries).
func corners(e *experimentsv1beta1.Experiment) []map[string]string {
	lo, hi := map[string]string{}, map[string]string{}
	for _, p := range e.Spec.Parameters {
		if l := p.FeasibleSpace.List; len(l) > 0 {
			lo[p.Name], hi[p.Name] = l[0], l[len(l)-1]
		} else {
			lo[p.Name], hi[p.Name] = p.FeasibleSpace.Min, p.FeasibleSpace.Max
		}
	}
	return []map[string]string{lo, hi}
}

// TestTrialsRunAndKatibReadsTheirMetrics renders trials with Katib's
// generator, runs their command with the image's binary and MNIST (on a
// subset, and with no other way to find MNIST), captures the output the
// way Katib's collector does and parses it with Katib's own collector
// code: every epoch's objective and additional metrics must be there, in
// time order, with real timestamps.
func TestTrialsRunAndKatibReadsTheirMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the trial binary and trains")
	}
	img := parseRepoDockerfile(t)
	binary, dataDir := trialImage(t, img)
	for _, path := range experimentFiles(t) {
		e := loadValid(t, path)
		mc := e.Spec.MetricsCollectorSpec
		metricNames := append([]string{e.Spec.Objective.ObjectiveMetricName}, e.Spec.Objective.AdditionalMetricNames...)
		for i, assignment := range corners(e) {
			c, err := RenderTrial(e, assignment)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			dir := t.TempDir()
			args := append(append([]string{}, c.Command[1:]...), c.Args...)
			format, file := commonv1beta1.TextFormat, filepath.Join(dir, "metrics.log")
			if mc.Collector.Kind == commonv1beta1.FileCollector {
				format = mc.Source.FileSystemPath.Format
				for j, a := range args {
					args[j] = strings.ReplaceAll(a, mc.Source.FileSystemPath.Path, file)
				}
			}
			args = append(args, "-train-limit=1000", "-test-limit=200", "-out="+filepath.Join(dir, "run"))
			cmd := exec.Command(binary, args...)
			// The image's environment only: no Go toolchain, module cache
			// or user cache to find MNIST in.
			cmd.Env = []string{"ADAMANT_MNIST_DIR=" + dataDir, "HOME=" + dir, "PATH="}
			log, err := os.Create(filepath.Join(dir, "metrics.log"))
			if err != nil {
				t.Fatal(err)
			}
			if mc.Collector.Kind == commonv1beta1.StdOutCollector {
				cmd.Stdout, cmd.Stderr = log, log // Katib: "1>metrics.log 2>&1"
			} else {
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				defer func() {
					if t.Failed() {
						t.Logf("stderr:\n%s", stderr.String())
					}
				}()
			}
			start := time.Now()
			err = cmd.Run()
			log.Close()
			if err != nil {
				t.Fatalf("%s, trial %d (%v): %v", path, i, args, err)
			}
			var filters []string
			if mc.Source != nil && mc.Source.Filter != nil {
				filters = mc.Source.Filter.MetricsFormat
			}
			obs, err := filemc.CollectObservationLog(file, metricNames, filters, format)
			if err != nil {
				t.Fatalf("%s, trial %d: Katib's collector: %v", path, i, err)
			}
			if format == commonv1beta1.TextFormat {
				requireWatcherParses(t, file, metricNames, filters)
			}
			epochs, _ := flagValue(args, "epochs")
			for _, name := range metricNames {
				var times []time.Time
				for _, l := range obs.MetricLogs {
					if l.Metric.Name != name {
						continue
					}
					if l.Metric.Value == consts.UnavailableMetricValue {
						t.Fatalf("%s, trial %d: Katib finds no %s in the trial's output", path, i, name)
					}
					if v, err := strconv.ParseFloat(l.Metric.Value, 64); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
						t.Errorf("%s, trial %d: %s = %q", path, i, name, l.Metric.Value)
					}
					at, err := time.Parse(time.RFC3339Nano, l.TimeStamp)
					if err != nil || at.Before(start.Add(-time.Second)) {
						t.Errorf("%s, trial %d: %s at %q: want the time of the epoch (%v)", path, i, name, l.TimeStamp, err)
					}
					if len(times) > 0 && !at.After(times[len(times)-1]) {
						t.Errorf("%s, trial %d: %s at %v, not after the previous epoch's %v", path, i, name, at, times[len(times)-1])
					}
					times = append(times, at)
				}
				if strconv.Itoa(len(times)) != epochs {
					t.Errorf("%s, trial %d: Katib reads %s %d times, want once per epoch (-epochs=%s)", path, i, name, len(times), epochs)
				}
			}
		}
	}
}

// overlayMarker starts a YAML block of docs/tuning.md that replaces keys of
// an Experiment file's spec to run another algorithm.
var overlayMarker = regexp.MustCompile("(?s)```yaml\n# katibcheck: spec overlay for (\\S+) \\((\\S+)\\)\n(.*?)```")

// TestDocOverlays: the algorithm variants docs/tuning.md shows, applied to
// their Experiment, are valid Experiments for that algorithm.
func TestDocOverlays(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repo, "docs", "tuning.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := overlayMarker.FindAllSubmatch(doc, -1)
	if len(blocks) != 2 {
		t.Fatalf("docs/tuning.md has %d overlays, want the grid and hyperband ones", len(blocks))
	}
	cfg, err := katibConfig()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		file, algorithm, overlay := string(b[1]), string(b[2]), b[3]
		var spec experimentsv1beta1.ExperimentSpec
		if err := decodeStrict(overlay, &spec); err != nil {
			t.Fatalf("%s overlay: %v", algorithm, err)
		}
		base, err := os.ReadFile(filepath.Join(repo, file))
		if err != nil {
			t.Fatal(err)
		}
		merged, err := overlaySpec(base, overlay)
		if err != nil {
			t.Fatalf("%s overlay: %v", algorithm, err)
		}
		e, err := DecodeExperiment(merged)
		if err == nil {
			if err = Validate(e, cfg); err == nil {
				err = CheckSettings(e)
			}
		}
		if err != nil {
			t.Fatalf("%s overlay on %s: %v", algorithm, file, err)
		}
		if e.Spec.Algorithm.AlgorithmName != algorithm {
			t.Errorf("overlay marked %s sets algorithm %s", algorithm, e.Spec.Algorithm.AlgorithmName)
		}
		switch algorithm {
		case "grid":
			// Optuna's grid service: maxTrialCount ≤ the combinations.
			n := 1
			for _, p := range e.Spec.Parameters {
				if len(p.FeasibleSpace.List) == 0 {
					t.Errorf("grid: parameter %s is a range; write the grid's points as a discrete list", p.Name)
				}
				n *= len(p.FeasibleSpace.List)
			}
			if int(*e.Spec.MaxTrialCount) > n {
				t.Errorf("grid: maxTrialCount %d > %d combinations: Katib rejects the Experiment", *e.Spec.MaxTrialCount, n)
			}
		case "hyperband":
			settings := map[string]string{}
			for _, s := range e.Spec.Algorithm.AlgorithmSettings {
				settings[s.Name] = s.Value
			}
			var resource *experimentsv1beta1.ParameterSpec
			for i, p := range e.Spec.Parameters {
				if p.Name == settings["resource_name"] {
					resource = &e.Spec.Parameters[i]
				}
			}
			if resource == nil || resource.Name != "epochs" || resource.ParameterType != experimentsv1beta1.ParameterTypeInt || resource.FeasibleSpace.Max != settings["r_l"] {
				t.Errorf("hyperband: resource_name %q must be the int parameter epochs, with r_l (%s) its max", settings["resource_name"], settings["r_l"])
			}
			// pkg/suggestion/v1beta1/hyperband/service.py: s_max =
			// int(log(r_l)/log(eta)), parallelTrialCount ≥ eta^s_max.
			rl, _ := strconv.ParseFloat(settings["r_l"], 64)
			eta, _ := strconv.ParseFloat(settings["eta"], 64)
			if need := math.Pow(eta, math.Floor(math.Log(rl)/math.Log(eta)+1e-9)); float64(*e.Spec.ParallelTrialCount) < need {
				t.Errorf("hyperband: parallelTrialCount %d < %v, which Katib's service requires", *e.Spec.ParallelTrialCount, need)
			}
		default:
			t.Errorf("no checks for overlay algorithm %s", algorithm)
		}
	}
}

func TestParseDockerfileRejects(t *testing.T) {
	const good = "FROM golang:1.26.8 AS build\nRUN go build ./cmd/mnist\nFROM gcr.io/distroless/static-debian12:debug-nonroot\nCOPY --from=build /out/mnist /usr/local/bin/mnist\nENTRYPOINT [\"/usr/local/bin/mnist\"]\n"
	if _, err := ParseDockerfile(strings.NewReader(good)); err != nil {
		t.Fatalf("the good Dockerfile: %v", err)
	}
	for _, tc := range []struct{ name, old, new, msg string }{
		{"one stage", "FROM golang:1.26.8 AS build\nRUN go build ./cmd/mnist\n", "", "1 stages, want 2"},
		{"unnamed build stage", " AS build", "", "has no name"},
		{"copy from elsewhere", "--from=build", "--from=busybox", `copies from "busybox"`},
		{"copy from the context", "COPY --from=build", "COPY", `copies from ""`},
		{"exec-form RUN", "RUN go build ./cmd/mnist", `RUN ["go", "build"]`, "want the shell form"},
		{"shell-form ENTRYPOINT", `ENTRYPOINT ["/usr/local/bin/mnist"]`, "ENTRYPOINT /usr/local/bin/mnist", "want the exec form"},
		{"RUN in the runtime image", "ENTRYPOINT", "RUN true\nENTRYPOINT", "only COPY --from"},
		{"unknown instruction", "RUN go", "RUNN go", "unknown instruction"},
	} {
		_, err := ParseDockerfile(strings.NewReader(strings.Replace(good, tc.old, tc.new, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.msg)
		}
	}
}

// requireWatcherParses applies the rule of the collector's early-stopping
// watcher (watchMetricsFile in cmd/metricscollector/v1beta1/
// file-metricscollector): on every line naming a metric, every match of
// the filters must parse as a number, or the collector exits (klog.Fatalf)
// and takes the trial down. stderr is in the file too.
func requireWatcherParses(t *testing.T, file string, metricNames, filters []string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		named := false
		for _, m := range metricNames {
			named = named || strings.Contains(line, m)
		}
		if !named {
			continue
		}
		for _, re := range filemc.GetFilterRegexpList(filters) {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				if _, err := strconv.ParseFloat(strings.TrimSpace(m[2]), 64); err != nil {
					t.Errorf("Katib's early-stopping watcher would exit on %q in %q", m[0], line)
				}
			}
		}
	}
}
