package flinksim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkSimDay runs a 24-hour scenario of a 5-vertex job in virtual time
// at 1 s steps, with one rescale an hour (docs/PERFORMANCE.md).
func BenchmarkSimDay(b *testing.B) { benchmarkDay(b, "testdata/day.yaml") }

// BenchmarkSimDayRealism is BenchmarkSimDay with every disturbance of the
// runtime, the load and the vertices on (testdata/day-realism.yaml).
func BenchmarkSimDayRealism(b *testing.B) { benchmarkDay(b, "testdata/day-realism.yaml") }

func benchmarkDay(b *testing.B, file string) {
	sc, err := LoadScenario(file)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		c := New(sc, Options{})
		ids := c.VertexIDs()
		for h := range 24 {
			p := 2 + h%6
			req := make(map[string]Bounds, len(ids))
			for _, id := range ids {
				req[id] = Bounds{Lower: 1, Upper: p}
			}
			require.NoError(b, c.PutRequirements(req))
			c.Advance(time.Hour)
		}
	}
}

func TestStepDoesNotAllocate(t *testing.T) {
	sc, err := LoadScenario("testdata/day.yaml")
	require.NoError(t, err)
	c := New(sc, Options{})
	c.Advance(2 * time.Minute)
	var gt GroundTruth
	c.ReadGroundTruth(&gt)
	allocs := testing.AllocsPerRun(1000, func() {
		c.Step()
		c.ReadGroundTruth(&gt)
	})
	require.Zero(t, allocs)
}
