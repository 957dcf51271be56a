package policy

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzLoadMerge feeds arbitrary YAML or JSON to the policy file loader and
// to the per-job override merge: each returns a config or an error wrapping
// ErrConfig, never panics, and Validate of whatever they return never
// panics either. Seeds live in testdata/fuzz/FuzzLoadMerge.
func FuzzLoadMerge(f *testing.F) {
	f.Add([]byte("mode: reactive\nmaxTaskManagers: 8\n"))
	f.Add([]byte(`{"maxParallelism":8,"vertices":{"v1":{"min":1,"max":4}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load(bytes.NewReader(data), Defaults())
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Fatalf("Load error does not wrap ErrConfig: %v", err)
		}
		if err == nil {
			_ = cfg.Validate()
		}
		merged, err := Merge(Defaults(), data)
		if err != nil && !errors.Is(err, ErrConfig) {
			t.Fatalf("Merge error does not wrap ErrConfig: %v", err)
		}
		if err == nil {
			_ = merged.Validate()
		}
	})
}
