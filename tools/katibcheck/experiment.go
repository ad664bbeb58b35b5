package katibcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	configv1beta1 "github.com/kubeflow/katib/pkg/apis/config/v1beta1"
	commonv1beta1 "github.com/kubeflow/katib/pkg/apis/controller/common/v1beta1"
	experimentsv1beta1 "github.com/kubeflow/katib/pkg/apis/controller/experiments/v1beta1"
	"github.com/kubeflow/katib/pkg/controller.v1beta1/experiment/manifest"
	"github.com/kubeflow/katib/pkg/webhook/v1beta1/experiment/validator"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// DecodeExperiment decodes one YAML document into Katib's Experiment type
// strictly: an unknown or duplicated field is an error naming it. The
// trial's spec is decoded strictly as well when it is a batch/v1 Job
// (Katib keeps it unstructured, so a misspelt Job field would otherwise
// pass until the cluster rejects the trial).
func DecodeExperiment(data []byte) (*experimentsv1beta1.Experiment, error) {
	if docs := bytes.Count(append([]byte("\n"), data...), []byte("\n---")); docs > 1 || (docs == 1 && !bytes.HasPrefix(bytes.TrimSpace(data), []byte("---"))) {
		return nil, fmt.Errorf("want one YAML document, found a '---' separator in the middle")
	}
	var e experimentsv1beta1.Experiment
	if err := decodeStrict(data, &e); err != nil {
		return nil, fmt.Errorf("decoding the Experiment strictly: %w", err)
	}
	if e.APIVersion != experimentsv1beta1.SchemeGroupVersion.String() || e.Kind != "Experiment" {
		return nil, fmt.Errorf("apiVersion %q, kind %q: want %s, Experiment", e.APIVersion, e.Kind, experimentsv1beta1.SchemeGroupVersion)
	}
	if _, err := TrialJob(&e); err != nil {
		return nil, err
	}
	return &e, nil
}

// TrialJob decodes the Experiment's inline trial spec strictly as a
// batch/v1 Job.
func TrialJob(e *experimentsv1beta1.Experiment) (*batchv1.Job, error) {
	t := e.Spec.TrialTemplate
	if t == nil || t.TrialSpec == nil {
		return nil, fmt.Errorf("spec.trialTemplate.trialSpec is missing")
	}
	if gvk := t.TrialSpec.GroupVersionKind(); gvk.GroupVersion() != batchv1.SchemeGroupVersion || gvk.Kind != "Job" {
		return nil, fmt.Errorf("spec.trialTemplate.trialSpec is %s, want a batch/v1 Job", gvk)
	}
	raw, err := t.TrialSpec.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("spec.trialTemplate.trialSpec: %w", err)
	}
	var job batchv1.Job
	if err := decodeStrict(raw, &job); err != nil {
		return nil, fmt.Errorf("decoding spec.trialTemplate.trialSpec strictly as a batch/v1 Job: %w", err)
	}
	return &job, nil
}

// decodeStrict decodes YAML (or JSON) into v as the Kubernetes API server
// does in strict mode: a duplicated key is an error, and so is every
// unknown field, each named by its path (spec.objective.objectiveMetric).
func decodeStrict(data []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strictErrs, err := kjson.UnmarshalStrict(js, v)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		return errors.Join(strictErrs...)
	}
	return nil
}

// LoadKatibConfig reads a katib-config.yaml (a KatibConfig, as in the
// katib-config ConfigMap) strictly.
func LoadKatibConfig(path string) (*configv1beta1.KatibConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cfg configv1beta1.KatibConfig
	if err := decodeStrict(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &cfg, nil
}

// configGenerator is Katib's manifest generator with the katib-config
// ConfigMap replaced by a KatibConfig in memory: trial templates are
// rendered by Katib's own code, and algorithm, early-stopping and collector
// names are looked up as pkg/util/v1beta1/katibconfig does (by name, with
// an image).
type configGenerator struct {
	manifest.Generator
	cfg *configv1beta1.KatibConfig
}

func (g configGenerator) GetSuggestionConfigData(name string) (configv1beta1.SuggestionConfig, error) {
	for _, s := range g.cfg.RuntimeConfig.SuggestionConfigs {
		if s.AlgorithmName == name && strings.TrimSpace(s.Image) != "" {
			return s, nil
		}
	}
	return configv1beta1.SuggestionConfig{}, fmt.Errorf("katib-config has no suggestion service for algorithm %q", name)
}

func (g configGenerator) GetEarlyStoppingConfigData(name string) (configv1beta1.EarlyStoppingConfig, error) {
	for _, s := range g.cfg.RuntimeConfig.EarlyStoppingConfigs {
		if s.AlgorithmName == name && strings.TrimSpace(s.Image) != "" {
			return s, nil
		}
	}
	return configv1beta1.EarlyStoppingConfig{}, fmt.Errorf("katib-config has no early-stopping service for algorithm %q", name)
}

func (g configGenerator) GetMetricsCollectorConfigData(kind commonv1beta1.CollectorKind) (configv1beta1.MetricsCollectorConfig, error) {
	for _, c := range g.cfg.RuntimeConfig.MetricsCollectorConfigs {
		if c.CollectorKind == string(kind) && strings.TrimSpace(c.Image) != "" {
			return c, nil
		}
	}
	return configv1beta1.MetricsCollectorConfig{}, fmt.Errorf("katib-config has no metrics collector of kind %q", kind)
}

// Validate applies Katib's defaults to e, as its mutating webhook does,
// and runs Katib's validating webhook on the result; cfg answers which
// algorithms and collectors the installation has.
func Validate(e *experimentsv1beta1.Experiment, cfg *configv1beta1.KatibConfig) error {
	e.SetDefault()
	v := validator.New(configGenerator{Generator: manifest.New(nil), cfg: cfg})
	if errs := v.ValidateExperiment(e, nil); len(errs) > 0 {
		return errs.ToAggregate()
	}
	return nil
}

// RenderTrial renders the trial Katib would run for the parameter
// assignments (parameter name → value), with Katib's own manifest
// generator, and returns its primary container.
func RenderTrial(e *experimentsv1beta1.Experiment, assignments map[string]string) (*corev1.Container, error) {
	var pa []commonv1beta1.ParameterAssignment
	for _, p := range e.Spec.Parameters {
		v, ok := assignments[p.Name]
		if !ok {
			return nil, fmt.Errorf("no value for parameter %q", p.Name)
		}
		pa = append(pa, commonv1beta1.ParameterAssignment{Name: p.Name, Value: v})
	}
	spec, err := manifest.New(nil).GetRunSpecWithHyperParameters(e, "trial-0", "kubeflow-user", pa)
	if err != nil {
		return nil, err
	}
	var job batchv1.Job
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec.Object, &job); err != nil {
		return nil, fmt.Errorf("the rendered trial is not a Job: %w", err)
	}
	for i, c := range job.Spec.Template.Spec.Containers {
		if c.Name == e.Spec.TrialTemplate.PrimaryContainerName {
			return &job.Spec.Template.Spec.Containers[i], nil
		}
	}
	return nil, fmt.Errorf("the trial has no container %q (primaryContainerName)", e.Spec.TrialTemplate.PrimaryContainerName)
}

// settingRule checks one setting's value; nil accepts any.
type settingRule func(value string) error

func intAtLeast(lo int) settingRule {
	return func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo {
			return fmt.Errorf("want an integer ≥ %d", lo)
		}
		return nil
	}
}

func floatIn(lo, hi float64, loOpen bool) settingRule {
	return func(v string) error {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x > hi || x < lo || (loOpen && x == lo) {
			return fmt.Errorf("want a number in %s%v, %v]", map[bool]string{true: "(", false: "["}[loOpen], lo, hi)
		}
		return nil
	}
}

// algorithmSettings are the settings Katib v0.19.0's services accept for
// the algorithms adamant maps to, with their ranges: anything else makes
// the service reject the Experiment at run time ("unknown setting"),
// after the webhook has accepted it. Sources:
// pkg/suggestion/v1beta1/hyperopt/service.py (random, tpe),
// pkg/suggestion/v1beta1/optuna/service.py (grid),
// pkg/suggestion/v1beta1/hyperband/service.py (hyperband) and
// pkg/earlystopping/v1beta1/medianstop/service.py (medianstop).
var algorithmSettings = map[string]map[string]settingRule{
	"random": {"random_state": intAtLeast(0)},
	"tpe": {"random_state": intAtLeast(0), "gamma": floatIn(0, 1, true), "prior_weight": floatIn(0, 1e308, true),
		"n_EI_candidates": intAtLeast(1)},
	"grid":       {"random_state": intAtLeast(0)},
	"hyperband":  {"resource_name": nil, "r_l": floatIn(0, 1e308, true), "eta": intAtLeast(1)},
	"medianstop": {"min_trials_required": intAtLeast(1), "start_step": intAtLeast(1)},
}

// CheckSettings checks the algorithm's and the early stopping's settings
// against the rules of Katib's services (algorithmSettings), which Katib
// applies only when the Experiment starts.
func CheckSettings(e *experimentsv1beta1.Experiment) error {
	type named struct{ name, value string }
	check := func(field, algorithm string, settings []named) error {
		rules, ok := algorithmSettings[algorithm]
		if !ok {
			return fmt.Errorf("%s: algorithm %q is none of those adamant maps to", field, algorithm)
		}
		for _, s := range settings {
			rule, ok := rules[s.name]
			if !ok {
				return fmt.Errorf("%s: unknown setting %q for %s", field, s.name, algorithm)
			}
			if rule != nil {
				if err := rule(s.value); err != nil {
					return fmt.Errorf("%s: setting %s = %q: %w", field, s.name, s.value, err)
				}
			}
		}
		return nil
	}
	if e.Spec.Algorithm == nil {
		return fmt.Errorf("spec.algorithm is missing")
	}
	var settings []named
	for _, s := range e.Spec.Algorithm.AlgorithmSettings {
		settings = append(settings, named{s.Name, s.Value})
	}
	if err := check("spec.algorithm", e.Spec.Algorithm.AlgorithmName, settings); err != nil {
		return err
	}
	if es := e.Spec.EarlyStopping; es != nil {
		settings = settings[:0]
		for _, s := range es.AlgorithmSettings {
			settings = append(settings, named{s.Name, s.Value})
		}
		return check("spec.earlyStopping", es.AlgorithmName, settings)
	}
	return nil
}

// overlaySpec replaces top-level keys of an Experiment's spec with those
// of overlay (a YAML mapping) and returns the Experiment as JSON.
func overlaySpec(experiment, overlay []byte) ([]byte, error) {
	var e map[string]any
	if err := yaml.Unmarshal(experiment, &e); err != nil {
		return nil, err
	}
	var o map[string]any
	if err := yaml.Unmarshal(overlay, &o); err != nil {
		return nil, err
	}
	spec, ok := e["spec"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the Experiment has no spec")
	}
	for k, v := range o {
		spec[k] = v
	}
	return json.Marshal(e)
}
