package golden

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCNNCheckerRejects edits a real cnn file and checks that the checker
// either reports the edited field by name or, for a changed trajectory,
// fails the comparison: it compares against the file, not against itself.
func TestCNNCheckerRejects(t *testing.T) {
	src := filepath.Join(Dir(), "cnn-relu-adam.json")
	tests := []struct {
		name    string
		edit    func(m map[string]any)
		wantErr string // empty: the check runs and must fail the tolerance
	}{
		{"unknown layer type", func(m map[string]any) {
			m["layers"].([]any)[1].(map[string]any)["type"] = "softplus"
		}, `layers[1]: layer type "softplus"`},
		{"input shape of rank 2", func(m map[string]any) { m["input_shape"] = []any{8.0, 8.0} }, "input_shape"},
		{"x too short", func(m map[string]any) { m["labels"] = append(m["labels"].([]any), 0.0) }, "x has"},
		{"init and final differ", func(m map[string]any) { m["final"] = m["final"].([]any)[1:] }, "init tensors"},
		{"unknown optimizer option", func(m map[string]any) {
			m["options"].(map[string]any)["nesterov"] = true
		}, "nesterov"},
		{"changed loss", func(m map[string]any) { m["losses"].([]any)[3] = m["losses"].([]any)[3].(float64) * (1 + 1e-6) }, ""},
		{"changed final weight", func(m map[string]any) {
			w := m["final"].([]any)[0].(map[string]any)["values"].([]any)
			w[0] = w[0].(float64) + 1e-5
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			tt.edit(m)
			path := filepath.Join(t.TempDir(), "edited.json")
			if b, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			results, err := Check(f)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Check error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if r.OK() {
					t.Errorf("%s: max rel err %.3g passes after the edit", r.Variant, r.MaxRelErr)
				}
			}
		})
	}
}
