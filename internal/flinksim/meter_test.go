package flinksim

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const meterScenario = `
name: meter
duration: 10m
cluster: {initialTaskManagers: 1, restart: 0s%s}
job:
  name: m
  vertices:
    - {name: "Source: s", capacity: 10000, partitions: 1}
load: {pattern: constant, rate: 600}
`

func sourceRateAfter(t *testing.T, ramp bool, d time.Duration) float64 {
	t.Helper()
	extra := ""
	if ramp {
		extra = ", realMetricTiming: true"
	}
	sc, err := ParseScenario([]byte(strings.Replace(meterScenario, "%s", extra, 1)), ".")
	require.NoError(t, err)
	assert.Equal(t, ramp, sc.Cluster.RealMetricTiming)
	c := New(sc, Options{})
	c.Advance(d)
	return c.vertices[0].subtasks[0].view.inPerSecond
}

// TestRealMetricTiming: with meterRamp a young task's rate is its records over
// Flink's full 60 s window (half the rate 30 s after it started), without
// it the rate over its life so far; after a minute both are the rate.
func TestRealMetricTiming(t *testing.T) {
	assert.InDelta(t, 600, sourceRateAfter(t, false, 30*time.Second), 30)
	assert.InDelta(t, 300, sourceRateAfter(t, true, 30*time.Second), 30)
	assert.InDelta(t, 600, sourceRateAfter(t, true, 90*time.Second), 30)
}

// TestAsyncFetch: with realMetricTiming the request that triggers the
// JobManager's fetch is answered from the previous one.
func TestAsyncFetch(t *testing.T) {
	sc, err := ParseScenario([]byte(strings.Replace(meterScenario, "%s", ", realMetricTiming: true", 1)), ".")
	require.NoError(t, err)
	c := New(sc, Options{})
	c.Advance(30 * time.Second)
	assert.Nil(t, c.fetched(c.vertices[0]), "nothing before the first fetch")
	first := c.fetched(c.vertices[0])
	require.Len(t, first, 1)
	c.Advance(30 * time.Second)
	stale := c.fetched(c.vertices[0])
	assert.Equal(t, first[0].recordsIn, stale[0].recordsIn, "the triggering request sees the previous fetch")
	assert.Greater(t, c.fetched(c.vertices[0])[0].recordsIn, stale[0].recordsIn)
}
