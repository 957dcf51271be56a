package policy

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// TestDeramped: the young samples of a run whose meters ramp are divided by
// the ramp (the staleness read from their growth), those of a run whose
// meters do not are kept, and a growth that fits neither is not used.
func TestDeramped(t *testing.T) {
	epoch := time.Unix(1_000_000, 0)
	sample := func(age time.Duration, in, pending float64) Sample {
		return Sample{At: epoch.Add(age), Epoch: epoch, Offered: in + 100,
			V: []VertexSample{{P: 2, In: in, Out: in, Pending: pending}, {P: 2, In: in, Out: 0, Pending: -1}}}
	}
	st := func(ss ...Sample) State { return State{Epoch: epoch, Window: ss} }
	dr := func(s State) ([]Sample, bool) { return deramped(s, 30*time.Second) }

	// ramping, read 10 s stale: 60 k rec/s read as 60 k × (age − 10) ÷ 60
	w, ok := dr(st(sample(20*time.Second, 10_000, 5), sample(30*time.Second, 20_000, 5), sample(40*time.Second, 30_000, 5)))
	require.True(t, ok)
	for _, s := range w {
		require.InDelta(t, 60_000, s.V[0].In, 1)
		require.InDelta(t, 60_000, s.V[1].In, 1)
		require.InDelta(t, 60_100, s.Offered, 1)
	}
	// a poll answered from the JobManager's previous fetch repeats the
	// rates of the sample before: read at that sample's age, not its own
	// (divided by its own age's ramp it read 40k, and the fit through it
	// read every other sample 9–14 % low)
	w, ok = dr(st(sample(20*time.Second, 10_000, 5), sample(30*time.Second, 20_000, 5), sample(40*time.Second, 30_000, 5), sample(50*time.Second, 30_000, 9)))
	require.True(t, ok)
	for _, s := range w {
		require.InDelta(t, 60_000, s.V[0].In, 1)
		require.InDelta(t, 60_000, s.V[1].In, 1)
	}
	// rates that hold are read as they are, a repeat or not
	same := st(sample(30*time.Second, 20_000, 5), sample(40*time.Second, 20_000, 5))
	w, ok = dr(same)
	require.True(t, ok)
	require.Equal(t, same.Window, w)
	// not ramping: kept as read
	flat := st(sample(20*time.Second, 59_000, 5), sample(40*time.Second, 61_000, 5))
	w, ok = dr(flat)
	require.True(t, ok)
	require.Equal(t, flat.Window, w)
	// falling, or one sample: not known
	_, ok = dr(st(sample(20*time.Second, 60_000, 5), sample(40*time.Second, 30_000, 5)))
	require.False(t, ok)
	_, ok = dr(st(sample(40*time.Second, 60_000, 5)))
	require.False(t, ok)
	// a sample of an earlier run is never counted as young
	old := sample(30*time.Second, 1, 5)
	old.Epoch = epoch.Add(-time.Hour)
	require.False(t, firstRun(st(old, sample(40*time.Second, 60_000, 5))))
}

// TestOursScalesUpAtTheStartOnRampingMeters runs the shipped
// constant-noise (a job 40 % short of its load from the start) on the
// emulator with Flink's metric timing and without it. Waiting for the
// meters to settle (70 s, then two samples and the scale-up delay) put
// the restart after the run's second checkpoint, with a 38 s lag; read
// de-ramped, the first decision is made inside the meters' first minute,
// the restart lands on the first checkpoint, and it carries the load
// (runEmulated) with the same targets whichever way the meters read.
func TestOursScalesUpAtTheStartOnRampingMeters(t *testing.T) {
	raw, err := os.ReadFile("../../../scenarios/constant-noise.yaml")
	require.NoError(t, err)
	first := map[bool][]int{}
	for _, ramp := range []bool{false, true} {
		y := string(raw)
		if ramp {
			y = strings.Replace(y, "  checkpointInterval: 60s\n", "  checkpointInterval: 60s\n  realMetricTiming: true\n", 1)
		}
		sc, err := flinksim.ParseScenario([]byte(y), ".")
		require.NoError(t, err)
		require.Equal(t, ramp, sc.Cluster.RealMetricTiming)
		sc.Duration = 10 * time.Minute
		cfg := Defaults()
		cfg.Slots.Sharing = sc.Cluster.SlotSharing
		cfg.MaxTaskManagers = sc.Cluster.MaxTaskManagers
		start := flinksim.New(sc, flinksim.Options{}).Now()
		decisions, _ := runEmulated(t, sc, cfg)
		require.NotEmpty(t, decisions)
		d := decisions[0]
		require.Less(t, d.DecidedAt.Sub(start), MeterSettle, "first decision %s into the run: %s", d.DecidedAt.Sub(start), d.Rationale)
		require.Contains(t, d.Rationale, map[bool]string{false: "rates as read", true: "rates read de-ramped"}[ramp])
		for _, v := range d.Vertices {
			require.GreaterOrEqual(t, v.Target, v.Current, d.Rationale)
			first[ramp] = append(first[ramp], v.Target)
		}
	}
	require.Equal(t, first[false], first[true])
}

// TestFailoverRun: a run a failover began counts at the parallelism the job
// ran at before it, not on the slots a lost TaskManager left, nor when the
// run is our decision's restart or a decision of ours is in flight.
func TestFailoverRun(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	epoch := t0.Add(5 * time.Minute)
	smp := func(at time.Duration, ep time.Time, p int) Sample {
		return Sample{At: t0.Add(at), Epoch: ep, V: []VertexSample{{P: p, Pending: 0}, {P: p, Pending: -1}}}
	}
	snap := func(p int) *events.Snapshot {
		return &events.Snapshot{Vertices: []events.VertexSnapshot{{ID: "a", Parallelism: p}, {ID: "b", Parallelism: p}}}
	}
	before := []Sample{smp(time.Minute, t0, 3), smp(2*time.Minute, t0, 3)}
	st := State{Epoch: epoch, Failovers: []time.Time{epoch}, Window: append(before, smp(5*time.Minute+20*time.Second, epoch, 3))}
	require.True(t, failoverRun(st, snap(3)))
	// on the slots left: lower than before
	require.False(t, failoverRun(st, snap(2)))
	// a restart of ours (no failover at this epoch)
	ours := st
	ours.Failovers = []time.Time{t0.Add(time.Minute)}
	require.False(t, failoverRun(ours, snap(3)))
	// a decision of ours in flight
	inFlight := st
	inFlight.Rescale = &Rescale{At: epoch.Add(10 * time.Second)}
	require.False(t, failoverRun(inFlight, snap(3)))
	// our scale-down applied before the failover: counted from it
	down := st
	down.Window = append([]Sample{smp(-30*time.Second, t0.Add(-time.Minute), 5)}, st.Window...)
	require.False(t, failoverRun(down, snap(3)))
	down.Rescale = &Rescale{At: t0.Add(-10 * time.Second), Applied: t0}
	require.True(t, failoverRun(down, snap(3)))
}

// TestBacklogStillGrows: a release's run answers a growing backlog early
// only while it still grows; a source's pending registering late (0, then
// the restart's whole backlog, then falling as the job works it off) reads
// as growth from the run's first sample (backlogGrows) but not as still
// growing (logs-dedupe-session-spikes 181005: a release raised back on a
// draining backlog, 6 decided flaps).
func TestBacklogStillGrows(t *testing.T) {
	epoch := time.Unix(1_000_000, 0)
	st := func(pending ...float64) State {
		s := State{Epoch: epoch}
		for i, p := range pending {
			s.Window = append(s.Window, Sample{At: epoch.Add(time.Duration(20+10*i) * time.Second), Epoch: epoch, Offered: 20_000,
				V: []VertexSample{{P: 2, In: 20_000, Pending: p}, {P: 2, In: 20_000, Pending: -1}}})
		}
		return s
	}
	slo := time.Minute
	rising := st(100_000, 300_000, 500_000)
	require.True(t, backlogGrows(rising, slo))
	require.True(t, backlogStillGrows(rising))
	late := st(0, 1_000_000, 900_000, 800_000)
	require.True(t, backlogGrows(late, slo))
	require.False(t, backlogStillGrows(late))
	require.False(t, backlogStillGrows(st(100_000, 300_000)), "two samples: one interval")
	// an earlier run's samples do not count
	old := st(0, 1, 2)
	for i := range old.Window {
		old.Window[i].Epoch = epoch.Add(-time.Hour)
	}
	old.Window = append(old.Window, rising.Window[2])
	require.False(t, backlogStillGrows(old))
}
