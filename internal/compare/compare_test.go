package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

func TestCompressScenario(t *testing.T) {
	dir := t.TempDir()
	path, opts, err := compressScenario("../../scenarios/wordcount.yaml", dir, FastFactor)
	require.NoError(t, err)
	sc, err := flinksim.LoadScenario(path)
	require.NoError(t, err)
	require.Equal(t, 6*time.Minute, sc.Duration)
	require.Equal(t, []time.Duration{0, 72 * time.Second, 216 * time.Second},
		[]time.Duration{sc.Load.Steps[0].At, sc.Load.Steps[1].At, sc.Load.Steps[2].At})
	orig, err := flinksim.LoadScenario("../../scenarios/wordcount.yaml")
	require.NoError(t, err)
	require.Equal(t, orig.Cluster, sc.Cluster, "physical times are not compressed")
	require.Equal(t, orig.Seed, sc.Seed)
	require.Len(t, opts, 3) // duration and the two later steps (0s stays)
	require.Equal(t, "scenario duration", opts[0].Key)

	sine, _, err := compressScenario("../../scenarios/keyed-aggregation.yaml", dir, FastFactor)
	require.NoError(t, err)
	sc, err = flinksim.LoadScenario(sine)
	require.NoError(t, err)
	require.Equal(t, 24*time.Minute, sc.Load.Period)

	_, _, err = compressScenario("../../scenarios/nexmark-q1.yaml", dir, FastFactor)
	require.ErrorContains(t, err, `"randomwalk" load`)
	_, _, err = compressScenario(filepath.Join(dir, "missing.yaml"), dir, FastFactor)
	require.Error(t, err)
}

// TestCompressScenarioMovesFaults: a fast run loses its TaskManagers at
// the same points of its load as the scenario (faults.yaml loses one at
// 20m of 1h30m and about one an hour), not after its end.
func TestCompressScenarioMovesFaults(t *testing.T) {
	path, opts, err := compressScenario("../../scenarios/faults.yaml", t.TempDir(), FastFactor)
	require.NoError(t, err)
	sc, err := flinksim.LoadScenario(path)
	require.NoError(t, err)
	orig, err := flinksim.LoadScenario("../../scenarios/faults.yaml")
	require.NoError(t, err)
	require.Equal(t, []time.Duration{20 * time.Minute}, orig.Cluster.Faults.LostTaskManagerAt)
	require.Equal(t, []time.Duration{4 * time.Minute}, sc.Cluster.Faults.LostTaskManagerAt)
	require.InDelta(t, orig.Cluster.Faults.LostTaskManagerPerHour*FastFactor, sc.Cluster.Faults.LostTaskManagerPerHour, 1e-9)
	require.Equal(t, orig.Cluster.Faults.FailedRestore, sc.Cluster.Faults.FailedRestore)
	byKey := map[string]string{}
	for _, o := range opts {
		byKey[o.Key] = o.Value
	}
	require.Equal(t, "4m0s", byKey["scenario cluster.faults.lostTaskManagerAt[0]"])
	require.Equal(t, "5", byKey["scenario cluster.faults.lostTaskManagerPerHour"])
}

func TestTimingOptions(t *testing.T) {
	p, a, opts := tuneOurs(TimingDefault)
	require.Nil(t, p)
	require.Nil(t, a)
	require.Empty(t, opts)
	require.Len(t, peerOptions(TimingDefault), 1, "only job.autoscaler.enabled")

	p, a, opts = tuneOurs(TimingFast)
	byKey := map[string]string{}
	for _, o := range opts {
		byKey[o.Key] = o.Value
	}
	require.Equal(t, "2m0s", byKey["decide policy metricWindow"])
	require.NotContains(t, byKey, "decide policy rateWindow", "the pending records' growth is added to Flink's 60 s meters: the same span")
	tuned := policy.Defaults()
	p(&tuned)
	require.Equal(t, policy.Defaults().RateWindow, tuned.RateWindow)
	require.Equal(t, 2*time.Minute, tuned.MetricWindow)
	require.NotContains(t, byKey, "decide policy settle", "Flink's meter window does not shrink")
	require.Equal(t, "6s", byKey["actuate --min-interval"])
	require.NotNil(t, p)
	require.NotNil(t, a)
	peer := map[string]string{}
	for _, o := range peerOptions(TimingFast) {
		peer[o.Key] = o.Value
	}
	require.Equal(t, "180000ms", peer["job.autoscaler.metrics.window"])
	require.Equal(t, "60000ms", peer["job.autoscaler.stabilization.interval"])
}

func TestFollowerTracksRequirements(t *testing.T) {
	sc, err := flinksim.LoadScenario("../../scenarios/wordcount.yaml")
	require.NoError(t, err)
	f := newFollower(sc)
	// one slot per TaskManager: inUse TaskManagers run subtasks, the others idle
	gt := func(elapsed time.Duration, tms, inUse int, uppers ...int) flinksim.GroundTruth {
		g := flinksim.GroundTruth{Elapsed: elapsed, State: flinksim.StateRunning, TaskManagers: tms, RegisteredTaskManagers: tms,
			IdleTaskManagers: tms - inUse, SlotsInUse: inUse}
		for i, u := range uppers {
			g.Vertices = append(g.Vertices, flinksim.VertexTruth{Name: sc.Job.Vertices[i].Name, Requirement: flinksim.Bounds{Lower: 1, Upper: u}})
		}
		return g
	}
	_, change := f.step(gt(0, 2, 2, 2, 2, 2))
	require.False(t, change)
	n, change := f.step(gt(time.Second, 2, 2, 2, 8, 4))
	require.True(t, change)
	require.Equal(t, 8, n, "shared slots: the largest vertex, at once")
	n, _ = f.step(gt(2*time.Second, 8, 8, 2, 64, 4))
	require.Equal(t, 16, n, "capped at maxTaskManagers")
	// Fewer only once the surplus idled for 30 s.
	_, change = f.step(gt(10*time.Second, 8, 3, 2, 3, 3))
	require.False(t, change)
	_, change = f.step(gt(39*time.Second, 8, 3, 2, 3, 3))
	require.False(t, change)
	n, change = f.step(gt(40*time.Second, 8, 3, 2, 3, 3))
	require.True(t, change)
	require.Equal(t, 3, n)
}

// TestFollowerReleasesIdleTaskManagersOnly: as Flink's resource manager,
// the follower releases only TaskManagers that run none of the job's
// subtasks. A job spread one subtask per TaskManager over 3 TaskManagers
// of 2 slots, whose requirements fit 2 of them, keeps all 3 (releasing one
// by the slot count would fail the job over); with one of 4 idle, only
// that one goes; one still starting goes too.
func TestFollowerReleasesIdleTaskManagersOnly(t *testing.T) {
	sc, err := flinksim.LoadScenario("../../scenarios/wordcount-flatmap.yaml")
	require.NoError(t, err)
	require.Equal(t, 2, sc.Cluster.SlotsPerTaskManager)
	f := newFollower(sc)
	gt := func(elapsed time.Duration, tms, registered, idle int) flinksim.GroundTruth {
		g := flinksim.GroundTruth{Elapsed: elapsed, State: flinksim.StateRunning, TaskManagers: tms, RegisteredTaskManagers: registered,
			IdleTaskManagers: idle, SlotsInUse: 3}
		for _, v := range sc.Job.Vertices {
			g.Vertices = append(g.Vertices, flinksim.VertexTruth{Name: v.Name, Requirement: flinksim.Bounds{Lower: 1, Upper: 3}})
		}
		return g
	}
	for _, at := range []time.Duration{0, 30 * time.Second, 5 * time.Minute} {
		_, change := f.step(gt(at, 3, 3, 0))
		require.False(t, change, "at %s: every TaskManager runs a subtask", at)
	}
	_, change := f.step(gt(6*time.Minute, 4, 4, 1))
	require.False(t, change, "not before the idle one idled for 30 s")
	n, change := f.step(gt(6*time.Minute+30*time.Second, 4, 4, 1))
	require.True(t, change)
	require.Equal(t, 3, n, "only the idle one, though 2 would hold the requirements")
	_, change = f.step(gt(7*time.Minute, 5, 3, 1))
	require.False(t, change)
	n, change = f.step(gt(7*time.Minute+30*time.Second, 5, 3, 1))
	require.True(t, change)
	require.Equal(t, 2, n, "the starting ones and the idle one, down to the requirements")
}

// TestNoSilentZeros: a run that did not run shows dashes and its reason,
// never zeros, and no verdict is drawn.
func TestNoSilentZeros(t *testing.T) {
	sc, err := flinksim.LoadScenario("../../scenarios/wordcount.yaml")
	require.NoError(t, err)
	card := scorecard.Summary{Decisions: 3, SLOViolationSeconds: 12}
	r := &Result{Scenario: "wordcount", Engine: EngineEmulator, Timing: TimingFast, sc: sc, Simulated: time.Minute, Runs: []Run{
		{Policy: PolicyOurs, Status: StatusOK, Card: &card},
		{Policy: PolicyPeer, Status: StatusNotRun, Error: "flink autoscaler version not found on Maven Central: 9.9.9"},
	}}
	var out bytes.Buffer
	r.Print(&out)
	text := out.String()
	require.Contains(t, text, "not run: flink autoscaler version not found")
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "SLO violation") {
			require.Contains(t, line, "—")
			require.NotContains(t, line, PolicyOurs, "no verdict against a run that did not run")
		}
	}
	var js bytes.Buffer
	require.NoError(t, r.WriteJSON(&js))
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	require.Len(t, lines, 2)
	var peer map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &peer))
	require.Equal(t, PolicyPeer, peer["policy"])
	require.Equal(t, StatusNotRun, peer["status"])
	require.NotContains(t, peer, "scorecard")
	var html bytes.Buffer
	require.NoError(t, r.WriteReport(&html))
	require.Contains(t, html.String(), "not run: flink autoscaler version not found")
}

func TestValidate(t *testing.T) {
	c := Config{Engine: "k8s", Timing: "slow", Duration: time.Second}
	err := c.Validate()
	require.ErrorIs(t, err, ErrConfig)
	for _, want := range []string{"--scenario", "--engine", "--timing", "--duration"} {
		require.ErrorContains(t, err, want)
	}
	c = Config{ScenarioPath: "x.yaml"}
	require.NoError(t, c.Validate())
	require.Equal(t, EngineEmulator, c.Engine)
	require.Equal(t, TimingDefault, c.Timing)
}

// TestTargetsInEveryOutput: ours' run is checked against the benchmark's
// targets with the peer's run in place of the baselines, and the findings
// are in the text, the JSON (ours' line only) and the HTML report; a run
// of ours that did not end has none, and every output says so.
func TestTargetsInEveryOutput(t *testing.T) {
	sc, err := flinksim.LoadScenario("../../scenarios/wordcount.yaml")
	require.NoError(t, err)
	ours := scorecard.Summary{Decisions: 3, CostVsOracle: 1.1, CostVsOracle15: 1.3}
	ours.LagP99Seconds, ours.SteadySeconds, ours.SteadyLagP99Seconds = 12, 300, 5
	peer := scorecard.Summary{Decisions: 2, CostVsOracle: 1.2}
	peer.LagP99Seconds = 40
	r := &Result{Scenario: "wordcount", Engine: EngineEmulator, Timing: TimingFast, sc: sc, Simulated: time.Minute, Runs: []Run{
		{Policy: PolicyOurs, Status: StatusOK, Card: &ours, FailedActuations: 1, TimedOutActuations: 1,
			ActuationErrors: []string{"timed out after 2m0s waiting for 4 TaskManagers"}},
		{Policy: PolicyPeer, Status: StatusOK, Card: &peer},
	}}
	r.checkTargets(nil)
	fs := r.Runs[0].Targets
	require.Len(t, fs, len(bench.Targets))
	require.Nil(t, r.Runs[1].Targets)
	byTarget := map[string]bench.Finding{}
	for _, f := range fs {
		byTarget[f.Target] = f
	}
	require.True(t, byTarget[bench.TargetAhead].Met, byTarget[bench.TargetAhead].Detail)
	require.False(t, byTarget[bench.TargetCost].Met, "1.30× the 15 %-headroom oracle")
	require.False(t, byTarget[bench.TargetNoFailed].Met)
	require.Contains(t, byTarget[bench.TargetNoFailed].Detail, "waiting for 4 TaskManagers")
	require.Equal(t, "5.0 / 30 s", byTarget[bench.TargetSteadyLag].Figure, "half the scenario's 60 s SLO")

	var out bytes.Buffer
	r.Print(&out)
	text := out.String()
	require.Contains(t, text, "targets of flinkscaler")
	require.Regexp(t, `ok\s+ahead of the peer on p99 lag at equal or lower cost\s+1\.10× vs 1\.20×, 12 s vs 40 s`, text)
	require.Regexp(t, `MISS\s+cost ≤ 1\.25 × the 15 %-headroom oracle\s+1\.300×`, text)
	require.Contains(t, text, "met 6 of 8")

	var js bytes.Buffer
	require.NoError(t, r.WriteJSON(&js))
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	type line struct {
		Policy  string          `json:"policy"`
		Failed  int             `json:"failedActuations"`
		Targets []bench.Finding `json:"targets"`
	}
	var got []line
	for _, l := range lines {
		var x line
		require.NoError(t, json.Unmarshal([]byte(l), &x))
		got = append(got, x)
	}
	require.Equal(t, fs, got[0].Targets)
	require.Equal(t, 1, got[0].Failed)
	require.Empty(t, got[1].Targets)

	var html bytes.Buffer
	require.NoError(t, r.WriteReport(&html))
	require.Contains(t, html.String(), "Targets of flinkscaler")
	require.Contains(t, html.String(), "met 6 of 8")
	require.Contains(t, html.String(), "ahead of the peer on p99 lag at equal or lower cost")

	// Ours cut short: no targets, and the outputs say why.
	r.Runs[0].Status, r.Runs[0].Targets = StatusFailed, nil
	r.checkTargets(nil)
	require.Nil(t, r.Runs[0].Targets)
	out.Reset()
	r.Print(&out)
	require.Contains(t, out.String(), "targets: not checked, flinkscaler did not run to the end")
	html.Reset()
	require.NoError(t, r.WriteReport(&html))
	require.Contains(t, html.String(), "Not checked: flinkscaler did not run to the end.")

	// Peer cut short: ahead of it is not applicable.
	r.Runs[0].Status, r.Runs[1].Status = StatusOK, StatusFailed
	r.checkTargets(nil)
	require.True(t, r.Runs[0].Targets[0].NotApplicable)
	out.Reset()
	r.Print(&out)
	require.Contains(t, out.String(), "(1 n/a)")
}

// TestOnlyOneSideThenPeerFrom: a whole-length real run of a long scenario
// is two invocations (each policy under its own JVM hold): --only peer,
// then --only ours --peer-from the first's --json output, whose peer line
// ours' "ahead of the peer" is checked against; a peer of another
// scenario, engine or timing is refused, and so is --peer-from without
// --only ours or an --only that names no policy.
func TestOnlyOneSideThenPeerFrom(t *testing.T) {
	c := Config{ScenarioPath: "x.yaml", Only: "ours"}
	require.NoError(t, c.Validate())
	require.Equal(t, PolicyOurs, c.Only)
	c = Config{ScenarioPath: "x.yaml", Only: "peer"}
	require.NoError(t, c.Validate())
	require.Equal(t, PolicyPeer, c.Only)
	c = Config{ScenarioPath: "x.yaml", Only: "both"}
	require.ErrorContains(t, c.Validate(), "--only")
	c = Config{ScenarioPath: "x.yaml", PeerFrom: strings.NewReader("")}
	require.ErrorContains(t, c.Validate(), "--peer-from: only with --only ours")

	sc, err := flinksim.LoadScenario("../../scenarios/wordcount.yaml")
	require.NoError(t, err)
	peerCard := scorecard.Summary{Decisions: 2, CostVsOracle: 1.2}
	peerCard.LagP99Seconds = 40
	peerOnly := &Result{Scenario: "wordcount", Engine: EngineFlink, Timing: TimingFast, sc: sc,
		Runs: []Run{{Policy: PolicyPeer, Status: StatusOK, Card: &peerCard}}}
	var js bytes.Buffer
	require.NoError(t, peerOnly.WriteJSON(&js))
	peer, err := readPeerRun(bytes.NewReader(js.Bytes()), "wordcount", EngineFlink, TimingFast)
	require.NoError(t, err)
	require.Equal(t, 40.0, peer.Card.LagP99Seconds)
	_, err = readPeerRun(bytes.NewReader(js.Bytes()), "wordcount", EngineFlink, TimingDefault)
	require.ErrorContains(t, err, "not \"wordcount\" on flink at timing default")
	_, err = readPeerRun(strings.NewReader(""), "wordcount", EngineFlink, TimingFast)
	require.ErrorContains(t, err, "no flink-operator-autoscaler run")

	oursCard := scorecard.Summary{Decisions: 3, CostVsOracle: 1.1}
	oursCard.LagP99Seconds = 12
	oursOnly := &Result{Scenario: "wordcount", Engine: EngineFlink, Timing: TimingFast, sc: sc,
		Runs: []Run{{Policy: PolicyOurs, Status: StatusOK, Card: &oursCard}}}
	oursOnly.checkTargets(nil)
	require.True(t, oursOnly.Runs[0].Targets[0].NotApplicable, "no peer: ahead of it is not applicable")
	oursOnly.checkTargets(peer)
	ahead := oursOnly.Runs[0].Targets[0]
	require.Equal(t, bench.TargetAhead, ahead.Target)
	require.False(t, ahead.NotApplicable)
	require.True(t, ahead.Met, ahead.Detail)
	require.Equal(t, "1.10× vs 1.20×, 12 s vs 40 s", ahead.Figure)
}

// TestCompressScenarioSpikesAndBursts: a fast run has the scenario's
// spikes and bursts at the same points of its compressed timeline: 5×
// as often and a fifth as long (left alone, realistic-load's 3-minute
// bursts at 2 an hour were real-time bursts in an 18-minute run), and its
// correlated noise wanders 5× faster, the default correlation time
// included.
func TestCompressScenarioSpikesAndBursts(t *testing.T) {
	dir := t.TempDir()
	load := func(path string) (flinksim.Load, map[string]string) {
		t.Helper()
		out, opts, err := compressScenario(path, dir, FastFactor)
		require.NoError(t, err)
		sc, err := flinksim.LoadScenario(out)
		require.NoError(t, err)
		byKey := map[string]string{}
		for _, o := range opts {
			byKey[o.Key] = o.Value
		}
		return sc.Load, byKey
	}

	spikes, opts := load("../../scenarios/spikes-dedicated.yaml")
	require.Equal(t, 48*time.Second, spikes.SpikeDuration)
	require.InDelta(t, 0.15, spikes.ProbabilityPerMinute, 1e-9)
	require.InDelta(t, 2.5, spikes.Magnitude, 1e-9, "a spike's height stays")
	require.InDelta(t, 60000, spikes.Base.Rate, 1e-9)
	require.InDelta(t, 0.05, spikes.Base.Noise, 1e-9)
	require.Equal(t, "48s", opts["scenario load.spikeDuration"])
	require.Equal(t, "0.15", opts["scenario load.probabilityPerMinute"])

	bursty, opts := load("../../scenarios/realistic-load.yaml")
	orig, err := flinksim.LoadScenario("../../scenarios/realistic-load.yaml")
	require.NoError(t, err)
	require.Equal(t, orig.Load.Bursts.Duration/FastFactor, bursty.Bursts.Duration)
	require.InDelta(t, orig.Load.Bursts.PerHour*FastFactor, bursty.Bursts.PerHour, 1e-9)
	require.InDelta(t, orig.Load.Bursts.Magnitude, bursty.Bursts.Magnitude, 1e-9)
	require.Equal(t, orig.Load.NoiseCorrelation/FastFactor, bursty.NoiseCorrelation)
	require.Equal(t, "36s", opts["scenario load.bursts.duration"])
	require.Equal(t, "10", opts["scenario load.bursts.perHour"])

	wander, opts := load("../../scenarios/chains-windows.yaml") // correlatedNoise, default correlation time
	require.Equal(t, time.Minute, wander.NoiseCorrelation)
	require.Equal(t, "1m0s", opts["scenario load.noiseCorrelation"])

	often := filepath.Join(dir, "often.yaml")
	require.NoError(t, os.WriteFile(often, []byte(`name: often
duration: 1h
job: {name: j, vertices: [{name: "Source: s", capacity: 1000}]}
load: {pattern: spikes, base: {pattern: constant, rate: 100}, probabilityPerMinute: 0.3, magnitude: 2, spikeDuration: 2m}
`), 0o600))
	_, _, err = compressScenario(often, dir, FastFactor)
	require.ErrorContains(t, err, "probabilityPerMinute × 5 is 1.5, above 1")
}

// The peer's emulator lists no job until begin, so the autoscaler's JVM
// start-up is not taken from the run: its first request closes asked,
// and begin submits the job, its clock starting then (TestCompareOnEmulator
// under load: the JVM took most of the one-minute run to start and the
// peer never scaled).
func TestPeerEmulatorStartsTheJobAtBegin(t *testing.T) {
	sc, err := flinksim.ParseScenario([]byte(overloaded), "")
	require.NoError(t, err)
	r := runner{cfg: Config{Engine: EngineEmulator}, sc: sc}
	cl, err := r.startCluster(context.Background(), "")
	require.NoError(t, err)
	defer cl.stop()
	get := func(path string) (int, string) {
		resp, err := http.Get(cl.url + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	select {
	case <-cl.asked:
		t.Fatal("asked before any request")
	default:
	}
	code, body := get("/jobs/overview")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"jobs":[]}`, body, "no job before begin")
	<-cl.asked
	code, _ = get("/jobs/" + cl.jobID)
	require.Equal(t, http.StatusServiceUnavailable, code)

	cl.begin()
	code, body = get("/jobs/overview")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, cl.jobID, "the job once begun")
	_, err = cl.truth(context.Background())
	require.NoError(t, err)
}

// TestDecisionsInJSON: --json carries each run's decisions as the report's
// table shows them (job time, the parallelism per vertex named, ours'
// TaskManagers, the rationale), so the trade behind a run's figures can be
// read without the HTML report; a run without decisions has none.
func TestDecisionsInJSON(t *testing.T) {
	vertices := []string{"Source: sentences", "tokenizer", "counter"}
	trade := "keeping: 0.0 restarts, ~3406 s over the SLO, lag ~798 s; 6 slots (+20% headroom): 1.2 restarts, ~3 s over the SLO"
	card := scorecard.Summary{Decisions: 1}
	r := &Result{Scenario: "wordcount", Engine: EngineEmulator, Timing: TimingFast, Runs: []Run{
		{Policy: PolicyOurs, Status: StatusOK, Card: &card, Series: scorecard.Series{Vertices: vertices, Decisions: []scorecard.Mark{{
			Elapsed: 116 * time.Second, Targets: []int{6, 0, 4}, TaskManagers: events.Count{Current: 2, Target: 6}, Rationale: trade,
		}}}},
		{Policy: PolicyPeer, Status: StatusNeverScaled, Card: &card, Series: scorecard.Series{Vertices: vertices}},
	}}
	var js bytes.Buffer
	require.NoError(t, r.WriteJSON(&js))
	lines := strings.Split(strings.TrimSpace(js.String()), "\n")
	require.Len(t, lines, 2)
	type line struct {
		Policy    string         `json:"policy"`
		Decisions []jsonDecision `json:"decisions"`
	}
	var ours, peer line
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &ours))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &peer))
	require.Equal(t, []jsonDecision{{AtSeconds: 116, Targets: map[string]int{"Source: sentences": 6, "counter": 4}, TaskManagers: 6, Rationale: trade}}, ours.Decisions)
	require.Empty(t, peer.Decisions)
	var top map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &top))
	require.NotContains(t, top, "decisions", "a run without decisions has no list")
}

// A Flink 2 scenario runs on the sandbox's Flink 2 line, whose rescales
// wait for a completed checkpoint; every 1.x one on 1.20.
func TestSandboxLine(t *testing.T) {
	for version, want := range map[string]string{flinksim.Flink20: "2", flinksim.Flink120: "1.20", flinksim.Flink119: "1.20", flinksim.Flink118: "1.20"} {
		sc := &flinksim.Scenario{}
		sc.Cluster.FlinkVersion = version
		require.Equal(t, want, sandboxLine(sc), version)
	}
	require.Equal(t, "1.20", sandboxLine(nil))
}
