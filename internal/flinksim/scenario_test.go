package flinksim

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const validScenario = `
name: t
duration: 1h
seed: 3
cluster:
  slotsPerTaskManager: 2
job:
  name: wc
  vertices:
    - name: "Source: s"
      parallelism: 2
      capacity: 1000
      partitions: 4
    - name: tokenizer
      inputs: ["Source: s"]
      capacity: 500
      selectivity: 4
    - name: counter
      inputs: [tokenizer]
      keyed: true
      maxParallelism: 128
      capacity: 2000
load:
  pattern: constant
  rate: 100
`

func TestShippedScenariosParse(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 7)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := LoadScenario(f)
			require.NoError(t, err)
			require.Equal(t, strings.TrimSuffix(filepath.Base(f), ".yaml"), sc.Name)
			require.LessOrEqual(t, sc.Duration, 6*time.Hour)
			require.Equal(t, 30*time.Second, sc.Cluster.Restart)
		})
	}
}

func TestParseScenarioDefaults(t *testing.T) {
	sc, err := ParseScenario([]byte(validScenario), ".")
	require.NoError(t, err)
	require.Equal(t, ScalingAdaptive, sc.Cluster.Scaling)
	require.Equal(t, SlotSharingShared, sc.Cluster.SlotSharing)
	require.Equal(t, 1, sc.Cluster.InitialTaskManagers) // 2 slots needed, 2 per TM
	require.Equal(t, 64, sc.Cluster.MaxTaskManagers)    // max parallelism 128 / 2
	require.Equal(t, 60*time.Second, sc.Cluster.CheckpointInterval)
	require.Equal(t, 60.0, sc.SLO.MaxLagSeconds)
	require.Len(t, sc.Job.Vertices, 3)
	tok := sc.Job.Vertices[1]
	require.Equal(t, "tokenizer", tok.Name)
	require.Equal(t, 1, tok.Parallelism)
	require.Equal(t, 128, tok.MaxParallelism) // Flink's default for p=1
	require.Equal(t, 1.0, tok.ScalingExponent)
	require.Equal(t, 4.0, tok.Selectivity)
}

func TestParseScenarioTopologicalOrder(t *testing.T) {
	doc := `
name: t
duration: 1h
job:
  name: wc
  vertices:
    - {name: counter, inputs: [tokenizer], capacity: 2}
    - {name: tokenizer, inputs: ["Source: s"], capacity: 1}
    - {name: "Source: s", capacity: 1}
load: {pattern: constant, rate: 1}
`
	sc, err := ParseScenario([]byte(doc), ".")
	require.NoError(t, err)
	names := []string{sc.Job.Vertices[0].Name, sc.Job.Vertices[1].Name, sc.Job.Vertices[2].Name}
	require.Equal(t, []string{"Source: s", "tokenizer", "counter"}, names)
}

func TestParseScenarioRejects(t *testing.T) {
	cases := []struct {
		name string
		old  string // replaced in validScenario
		new  string
		want []string // "path: message fragment"
	}{
		{"unknown input", `inputs: [tokenizer]`, `inputs: [tokenizr]`,
			[]string{`job.vertices[2].inputs[0]: unknown vertex "tokenizr"`}},
		{"unknown field", "capacity: 500\n", "capacity: 500\n      capasity: 3\n",
			[]string{"job.vertices[1].capasity: unknown field"}},
		{"unknown top-level field", "seed: 3\n", "seed: 3\nsed: 4\n", []string{"sed: unknown field"}},
		{"cycle", `inputs: ["Source: s"]`, `inputs: ["Source: s", counter]`,
			[]string{"job.vertices[1].inputs: cycle"}},
		{"self input", `inputs: [tokenizer]`, `inputs: [counter]`,
			[]string{`job.vertices[2].inputs[0]: vertex "counter" cannot be its own input`}},
		{"zero capacity", "capacity: 2000", "capacity: 0",
			[]string{"job.vertices[2].capacity: must be a positive number"}},
		{"negative capacity", "capacity: 500", "capacity: -5",
			[]string{"job.vertices[1].capacity: must be a positive number"}},
		{"missing capacity", "      capacity: 2000\n", "",
			[]string{"job.vertices[2].capacity: required"}},
		{"zero max parallelism", "maxParallelism: 128", "maxParallelism: 0",
			[]string{"job.vertices[2].maxParallelism: must be positive"}},
		{"parallelism above max", "maxParallelism: 128", "maxParallelism: 128\n      parallelism: 200",
			[]string{"job.vertices[2].parallelism: 200 exceeds maxParallelism 128"}},
		{"unknown pattern", "pattern: constant", "pattern: sawtooth",
			[]string{`load.pattern: unknown pattern "sawtooth"`}},
		{"field of another pattern", "rate: 100", "rate: 100\n  amplitude: 5",
			[]string{"load.amplitude: not a field of pattern constant"}},
		{"missing rate", "  rate: 100\n", "", []string{"load.rate: required for pattern constant"}},
		{"bad duration", "duration: 1h", "duration: 1 hour",
			[]string{"duration: cannot unmarshal !!str `1 hour` into a duration"}},
		{"partitions on a non-source", "selectivity: 4", "selectivity: 4\n      partitions: 3",
			[]string{"job.vertices[1].partitions: only sources"}},
		{"keyed source", "partitions: 4", "partitions: 4\n      keyed: true",
			[]string{"job.vertices[0].keyed: a source has no keyed input"}},
		{"duplicate name", "name: counter", "name: tokenizer",
			[]string{`job.vertices[2].name: duplicate vertex name "tokenizer"`}},
		{"unknown scaling", "slotsPerTaskManager: 2", "slotsPerTaskManager: 2\n  scaling: elastic",
			[]string{`cluster.scaling: unknown value "elastic"`}},
		{"zero slots", "slotsPerTaskManager: 2", "slotsPerTaskManager: 0",
			[]string{"cluster.slotsPerTaskManager: must be at least 1"}},
		{"both curves", "selectivity: 4", "selectivity: 4\n      scalingExponent: 0.8\n      serialFraction: 0.1",
			[]string{"job.vertices[1].serialFraction: cannot be combined"}},
		{"every problem at once", "capacity: 500", "capacity: 0\n      foo: 1",
			[]string{"job.vertices[1].foo: unknown field", "job.vertices[1].capacity: must be a positive"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(validScenario, tc.old, tc.new, 1)
			require.NotEqual(t, validScenario, doc, "case does not change the scenario")
			_, err := ParseScenario([]byte(doc), ".")
			require.ErrorIs(t, err, ErrInvalidScenario)
			var ve *ValidationError
			require.True(t, errors.As(err, &ve))
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseLoadPatterns(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "trace.csv"), []byte("seconds,rate\n0,10\n60,70\n"), 0o600))
	cases := []struct {
		name string
		load string
		want []string // empty = valid
	}{
		{"constant", "pattern: constant\n  rate: 5", nil},
		{"step", "pattern: step\n  steps: [{at: 0s, rate: 1}, {at: 1m, rate: 2}]", nil},
		{"step not ascending", "pattern: step\n  steps: [{at: 0s, rate: 1}, {at: 0s, rate: 2}]",
			[]string{"load.steps[1].at: 0s is not after"}},
		{"step late start", "pattern: step\n  steps: [{at: 1m, rate: 1}]", []string{"load.steps[0].at: the first step"}},
		{"step negative rate", "pattern: step\n  steps: [{at: 0s, rate: -1}]", []string{"load.steps[0].rate: must be a non-negative"}},
		{"sine", "pattern: sine\n  mean: 10\n  amplitude: 5\n  period: 1h\n  phase: 1.5", nil},
		{"cosine without period", "pattern: cosine\n  mean: 10\n  amplitude: 5", []string{"load.period: required"}},
		{"randomwalk", "pattern: randomwalk\n  start: 10\n  maxStep: 2\n  min: 1\n  max: 20", nil},
		{"randomwalk max below min", "pattern: randomwalk\n  start: 10\n  maxStep: 2\n  min: 5\n  max: 4",
			[]string{"load.max: 4 is below min 5"}},
		{"spikes", "pattern: spikes\n  base: {pattern: constant, rate: 3}\n  probabilityPerMinute: 0.1\n  magnitude: 2\n  spikeDuration: 2m", nil},
		{"spikes bad base", "pattern: spikes\n  base: {pattern: constant}\n  probabilityPerMinute: 2\n  magnitude: 2\n  spikeDuration: 2m",
			[]string{"load.base.rate: required", "load.probabilityPerMinute: required, a probability"}},
		{"spikes unknown field in base", "pattern: spikes\n  base: {pattern: constant, rate: 1, rat: 2}\n  probabilityPerMinute: 0.1\n  magnitude: 2\n  spikeDuration: 2m",
			[]string{"load.base.rat: unknown field"}},
		{"trace", "pattern: trace\n  file: trace.csv", nil},
		{"trace missing file", "pattern: trace\n  file: nope.csv", []string{"load.file: open"}},
		{"noise too big", "pattern: constant\n  rate: 5\n  noise: 1.5", []string{"load.noise: must be in [0, 1)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(validScenario, "pattern: constant\n  rate: 100", tc.load, 1)
			sc, err := ParseScenario([]byte(doc), dir)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				require.NotEmpty(t, sc.Load.Pattern)
				return
			}
			require.ErrorIs(t, err, ErrInvalidScenario)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}
