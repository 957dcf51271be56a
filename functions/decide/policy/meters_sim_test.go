package policy

import (
	"context"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/scenarios"
)

// TestRestartedMetersDoNotScaleDown runs the shipped wordcount on the
// emulator with Flink's own metric timing (cluster.realMetricTiming: rate
// meters ramp from 0 over the minute after every restart, and the
// JobManager answers from its previous fetch) and restarts as quick as
// real Flink's adaptive scheduler (2 s): a decision made from the ramping
// rates sees the job offer a fraction of its load and scales it down
// below it. Every decision must carry the load offered when it is made,
// and the lag stay within twice the SLO; at the shipped timing and at
// compare's fast one (the scenario's timeline and the policy's pacing
// divided by 5, not below 20 s). A scale-down must come from an offered
// rate read within 20 % of the true one.
func TestRestartedMetersDoNotScaleDown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		factor int
	}{{"shipped timing", 1}, {"fast timing", 5}} {
		t.Run(tc.name, func(t *testing.T) {
			sc := realTimingWordcount(t, tc.factor)
			cfg := Defaults()
			cfg.Slots.Sharing = sc.Cluster.SlotSharing
			cfg.MaxTaskManagers = sc.Cluster.MaxTaskManagers
			for _, d := range []*time.Duration{&cfg.Settle, &cfg.RateWindow, &cfg.MetricWindow,
				&cfg.ScaleDownWindow, &cfg.MinInterval, &cfg.RestartDowntime} {
				*d = max(*d/time.Duration(tc.factor), min(*d, 20*time.Second))
			}
			decisions, maxLag := runEmulated(t, sc, cfg)
			require.NotEmpty(t, decisions)
			require.Less(t, maxLag, 2*sc.SLO.MaxLagSeconds, "lag")
		})
	}
}

// realTimingWordcount is scenarios/wordcount.yaml with Flink's metric
// timing, 2 s restarts and 1 s TaskManager start-up, its timeline divided
// by factor.
func realTimingWordcount(t *testing.T, factor int) *flinksim.Scenario {
	t.Helper()
	y := strings.NewReplacer("  restart: 30s\n", "  restart: 2s\n  realMetricTiming: true\n",
		"taskManagerStartup: 20s", "taskManagerStartup: 1s").Replace(string(scenarios.Wordcount))
	sc, err := flinksim.ParseScenario([]byte(y), ".")
	require.NoError(t, err)
	require.True(t, sc.Cluster.RealMetricTiming)
	f := time.Duration(factor)
	sc.Duration /= f
	for i := range sc.Load.Steps {
		sc.Load.Steps[i].At /= f
	}
	return sc
}

// runEmulated drives Decide against the emulator through its REST API,
// polled as metrics-ingest polls it every 10 s, and applies each decision
// as actuate does: after the next checkpoint (at most 90 s), TaskManagers
// then requirements. It fails the test
// when a decision leaves a vertex short of the load offered then, and
// returns the decisions and the largest lag (s).
func runEmulated(t *testing.T, sc *flinksim.Scenario, cfg Config) ([]*events.Decision, float64) {
	t.Helper()
	c := flinksim.New(sc, flinksim.Options{})
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	client, err := flink.New(srv.URL, flink.Options{})
	require.NoError(t, err)
	var st State
	var out []*events.Decision
	var due *events.Decision // decided, waiting for a checkpoint
	var dueAt time.Duration
	maxLag := 0.0
	for c.Elapsed() < sc.Duration {
		for range 10 {
			c.Step()
			maxLag = max(maxLag, c.GroundTruth().LagSeconds)
			if ckpt, ok := c.LatestCheckpoint(); due != nil && (ok && ckpt > dueAt || c.Elapsed()-dueAt > 90*time.Second) {
				apply(t, c, due)
				due = nil
			}
		}
		snap, err := ingest.PollJob(context.Background(), client, "c", c.JobID(), c.Now())
		require.NoError(t, err)
		o := Decide(Input{Snapshot: snap, State: st, Config: cfg, Now: snap.ObservedAt})
		st = o.NewState
		d := o.Decision
		if d == nil {
			continue
		}
		t.Logf("%s: %s", c.Elapsed(), d.Rationale)
		offered := c.GroundTruth().OfferedRate
		if lowers(d) {
			seen := st.Window[len(st.Window)-1].Offered
			require.GreaterOrEqual(t, seen, 0.8*offered, "%s: a scale-down from an offered rate of %.0f records/s read while %.0f were offered: %s",
				c.Elapsed(), seen, offered, d.Rationale)
		}
		for i, v := range d.Vertices {
			spec := sc.Job.Vertices[i]
			capacity := spec.Capacity * math.Pow(float64(v.Target), spec.ScalingExponent)
			require.GreaterOrEqual(t, capacity, 0.9*offered*gain(sc, i),
				"%s: %s %d→%d cannot carry %.0f records/s: %s", c.Elapsed(), spec.Name, v.Current, v.Target, offered, d.Rationale)
		}
		due, dueAt = d, c.Elapsed()
		out = append(out, d)
	}
	return out, maxLag
}

func lowers(d *events.Decision) bool {
	for _, v := range d.Vertices {
		if v.Target < v.Current {
			return true
		}
	}
	return false
}

func apply(t *testing.T, c *flinksim.Cluster, d *events.Decision) {
	t.Helper()
	req := map[string]flinksim.Bounds{}
	for _, v := range d.Vertices {
		req[v.ID] = flinksim.Bounds{Lower: 1, Upper: v.Target}
	}
	c.SetTaskManagers(d.TaskManagers.Target)
	require.NoError(t, c.PutRequirements(req))
}

// gain is vertex i's input records per record offered to the sources.
func gain(sc *flinksim.Scenario, i int) float64 {
	v := sc.Job.Vertices[i]
	if v.IsSource() {
		return 1
	}
	g := 0.0
	for _, in := range v.Inputs {
		for k, u := range sc.Job.Vertices {
			if u.Name == in {
				g += gain(sc, k) * u.Selectivity
			}
		}
	}
	return g
}
