package flinksim

import (
	"errors"
	"testing"
	"time"
)

// FuzzParseScenario feeds arbitrary YAML to the scenario parser: it returns
// a scenario or an error wrapping ErrInvalidScenario, never panics, and a
// scenario it accepts runs (a simulated minute, step by step) without
// panicking. Trace files resolve against an empty directory. Seeds live in
// testdata/fuzz/FuzzParseScenario.
func FuzzParseScenario(f *testing.F) {
	f.Add([]byte("name: x\nduration: 1m\nseed: 1\ncluster: {scaling: adaptive, slotsPerTaskManager: 1, initialTaskManagers: 1, maxTaskManagers: 4}\njob:\n  name: j\n  vertices:\n    - {name: s, parallelism: 1, maxParallelism: 8, capacity: 100, partitions: 2}\nload: {pattern: constant, rate: 50}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ParseScenario(data, dir)
		if err != nil {
			if !errors.Is(err, ErrInvalidScenario) {
				t.Fatalf("error does not wrap ErrInvalidScenario: %v", err)
			}
			return
		}
		c := New(sc, Options{})
		for c.Elapsed() < time.Minute {
			c.Step()
		}
		_ = c.GroundTruth()
	})
}
