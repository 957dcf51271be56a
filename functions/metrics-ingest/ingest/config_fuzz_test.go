package ingest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadFile feeds arbitrary YAML to the configuration file loader: it
// returns an error wrapping ErrConfig or a config whose Validate never
// panics. Seeds live in testdata/fuzz/FuzzLoadFile.
func FuzzLoadFile(f *testing.F) {
	f.Add([]byte("interval: 10s\ntargets:\n  - {cluster: prod, url: http://jm:8081, jobs: [orders]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "ingest.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		if err := LoadFile(path, &cfg); err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error does not wrap ErrConfig: %v", err)
			}
			return
		}
		_ = cfg.Validate()
	})
}
