package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/flinkscaler/flinkscaler/functions/actuate/kedascaler"
	"github.com/flinkscaler/flinkscaler/internal/demo"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/scenarios"
)

// stepScenario is wordcount with its load step at 1m (testdata/step.yaml).
func stepScenario(t *testing.T) *flinksim.Scenario {
	t.Helper()
	sc, err := flinksim.LoadScenario("testdata/step.yaml")
	require.NoError(t, err)
	return sc
}

// TestDemoScalesUpOnLoadStep: start the whole system on the step scenario
// at 100× → the load triples at 1m → expect a decision, its result applied,
// the job at a new parallelism, a consistent summary and a report with the
// plots.
func TestDemoScalesUpOnLoadStep(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var progress bytes.Buffer
	cfg := demo.Defaults(stepScenario(t))
	cfg.Speed, cfg.Progress = 100, &progress
	out, err := demo.Run(ctx, cfg)
	require.NoError(t, err)
	require.False(t, out.Interrupted, "the run ended by its duration")

	s := out.Summary("report.html")
	require.InDelta(t, 300, s.DurationSeconds, 1)
	require.NotEmpty(t, out.Decisions, "decide made decisions")
	require.Equal(t, len(out.Decisions), s.Decisions)
	require.Positive(t, s.Actuations[events.OutcomeApplied], "actuate applied a decision")
	total := 0
	for _, n := range s.Actuations {
		total += n
	}
	require.LessOrEqual(t, total, s.Decisions)
	require.Positive(t, s.Rescales, "the job restarted at a new parallelism")

	changed := false
	for _, v := range s.Vertices {
		require.LessOrEqual(t, v.Min, min(v.Initial, v.Final))
		require.GreaterOrEqual(t, v.Max, max(v.Initial, v.Final))
		changed = changed || v.Final != v.Initial
	}
	require.True(t, changed, "some vertex's parallelism changed: %+v", s.Vertices)
	require.Greater(t, s.TaskManagers.Max, s.TaskManagers.Initial, "TaskManagers were added")
	require.Equal(t, out.Final.TaskManagers, s.TaskManagers.Final)

	require.Positive(t, s.SlotSeconds)
	require.Positive(t, s.OracleSlotSeconds)
	require.InDelta(t, s.SlotSeconds/s.OracleSlotSeconds, s.CostVsOracle, 1e-9)
	require.GreaterOrEqual(t, s.MaxLagSeconds, 0.0)
	require.LessOrEqual(t, s.SLOViolationSeconds, s.DurationSeconds)
	if s.SLOViolationSeconds > 0 {
		require.Greater(t, s.MaxLagSeconds, s.SLOMaxLagSeconds)
	}

	p := progress.String()
	require.Contains(t, p, "▶ decision "+out.Decisions[0].ID[:8])
	require.Contains(t, p, "✔ applied")
	require.Regexp(t, `wait-slots \d+s`, p, "the applied line says how long the wait took (simulated)")
	require.Contains(t, p, "0:05:00", "the last instant is printed")

	var report bytes.Buffer
	require.NoError(t, demo.WriteReport(&report, out, s))
	html := report.String()
	require.Equal(t, 4, strings.Count(html, "<svg "), "load, parallelism, TaskManagers, lag")
	for _, title := range []string{"Offered load", "Parallelism per vertex", "TaskManagers", "Lag", "Source: sentences", "tokenizer", "counter"} {
		require.Contains(t, html, title)
	}
	require.Contains(t, html, `class="mark"`, "decisions are marked on the plots")
	for _, external := range []string{"<script", "<link", "<img", "src=", "@import", "url("} {
		require.NotContains(t, html, external, "the report is self-contained")
	}
}

// TestDemoWaitsForTheCheckpoint: the demo's own scenario (wordcount.yaml)
// for its first 10 minutes at 100× → the load triples at 6m, decide scales
// up ~20 s later, the TaskManagers start in 20 s, the latest checkpoint is
// ~40 s old and the next is due in ~20 s → actuate waits for it before the
// restart, as it does in the benchmark. (On a loaded machine the decision
// can come late enough that the latest checkpoint is fresh, or the next
// one too far: the restart is then rightly at once, and the test cannot
// tell the wirings apart.)
func TestDemoWaitsForTheCheckpoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc, err := flinksim.ParseScenario(scenarios.Wordcount, ".")
	require.NoError(t, err)
	cfg := demo.Defaults(sc)
	var progress bytes.Buffer
	cfg.Speed, cfg.Duration, cfg.Progress = 100, 10*time.Minute, &progress
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(progress.String())
		}
	})
	out, err := demo.Run(ctx, cfg)
	require.NoError(t, err)
	requireAlignedRestart(t, out.Decisions)
}

// requireAlignedRestart: the first actuation that reached its
// wait-checkpoint step (the scale-up) waited for the checkpoint due within
// actuate's 30-second bound before it restarted the job. Its wait-checkpoint step may restart at once only when the latest
// checkpoint is fresh or the next is due later than the bound: either way
// the latest is less than 30 s old (interval 60 s). The demo's actuate
// once compared the emulated JobManager's checkpoint ages (simulated time)
// with its bound divided by the speed (wall time): "restart now: latest
// checkpoint completed 39s ago", and the restart replayed 39 s of input
// (the demo's wordcount peaked at 66–81 s of lag for its 60 s SLO).
func requireAlignedRestart(t *testing.T, ds []demo.Decision) {
	t.Helper()
	for _, d := range ds {
		for _, s := range d.Steps {
			if s.Name != "wait-checkpoint" {
				continue
			}
			t.Logf("%s at %s: wait-checkpoint: %s", d.Changes, d.Elapsed, s.Detail)
			var age time.Duration
			if m := regexp.MustCompile(`^restart now: latest checkpoint completed (\S+) ago`).FindStringSubmatch(s.Detail); m != nil {
				var err error
				age, err = time.ParseDuration(m[1])
				require.NoError(t, err)
			}
			require.Less(t, age, 30*time.Second, "the restart did not wait for the checkpoint due within 30 s: %q", s.Detail)
			return
		}
	}
	t.Fatalf("no actuation reached its wait-checkpoint step: %+v", ds)
}

// TestDemoServesKEDAAndNATS: start the demo with --keda-listen and
// --nats-listen → a NATS client sees its events → once a decision is
// applied, KEDA's own client gets the job's desired TaskManagers (cluster
// demo, job by name) → cancelling (Ctrl-C) still ends with an outcome.
func TestDemoServesKEDAAndNATS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := demo.Defaults(stepScenario(t))
	cfg.Speed, cfg.KEDAListen, cfg.NATSListen, cfg.Duration = 100, "127.0.0.1:0", "127.0.0.1:0", time.Hour
	started := make(chan demo.Endpoints, 1)
	cfg.OnStart = func(ep demo.Endpoints) { started <- ep }
	runCtx, interrupt := context.WithCancel(ctx)
	defer interrupt()
	type result struct {
		out *demo.Outcome
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := demo.Run(runCtx, cfg)
		done <- result{out, err}
	}()
	var ep demo.Endpoints
	select {
	case ep = <-started:
	case r := <-done:
		t.Fatalf("demo ended before starting: %v", r.err)
	}
	require.NotEqual(t, "127.0.0.1:0", ep.KEDA, "a port was chosen")
	requireSnapshotOn(t, ep.NATS)

	cc, err := grpc.NewClient(ep.KEDA, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer cc.Close()
	client := externalscaler.NewExternalScalerClient(cc)
	ref := &externalscaler.ScaledObjectRef{Name: "taskmanagers", Namespace: "flink",
		ScalerMetadata: map[string]string{kedascaler.KeyCluster: demo.Cluster, kedascaler.KeyJob: cfg.Scenario.Job.Name}}

	// The desired count exists after the first actuation; it equals the
	// emulator's requested TaskManagers once no actuation is in flight.
	var desired, emulated int64
	require.Eventually(t, func() bool {
		m, err := client.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: ref, MetricName: kedascaler.MetricName})
		if err != nil || len(m.MetricValues) != 1 {
			return false
		}
		desired, emulated = int64(m.MetricValues[0].GetMetricValueFloat()), emulatedTaskManagers(ep.Flink)
		return desired > 2 && desired == emulated
	}, 20*time.Second, 50*time.Millisecond, "KEDA's desired count (last %d) never matched the emulator's TaskManagers (last %d) after a scale-up", desired, emulated)
	active, err := client.IsActive(ctx, ref)
	require.NoError(t, err)
	require.True(t, active.Result)

	interrupt()
	r := <-done
	require.NoError(t, r.err)
	require.True(t, r.out.Interrupted)
	require.Less(t, r.out.Simulated, time.Hour)
	require.Positive(t, r.out.Summary("").Decisions)
}

// requireSnapshotOn waits for a snapshot event of the demo's cluster on the
// NATS server at url, as `flinkscaler watch --nats URL` would see it.
func requireSnapshotOn(t *testing.T, url string) {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	defer nc.Close()
	sub, err := nc.SubscribeSync(events.SnapshotFilter)
	require.NoError(t, err)
	msg, err := sub.NextMsg(10 * time.Second)
	require.NoError(t, err)
	ev, err := events.Decode(msg)
	require.NoError(t, err)
	require.Equal(t, events.TypeSnapshot, ev.Type())
	require.Equal(t, demo.Cluster, ev.Extensions()[events.ExtCluster])
}

// emulatedTaskManagers reads the emulator's requested TaskManagers from its
// control endpoint.
func emulatedTaskManagers(flinkURL string) int64 {
	resp, err := http.Get(flinkURL + flinksim.ControlPrefix + "taskmanagers")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var body struct {
		Replicas int64 `json:"replicas"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil {
		return -1
	}
	return body.Replicas
}

func TestConfigValidate(t *testing.T) {
	sc := &flinksim.Scenario{Name: "x", Duration: time.Minute}
	tests := []struct {
		name string
		edit func(*demo.Config)
		want []string // each a substring of the error; none: valid
	}{
		{name: "defaults", edit: func(*demo.Config) {}},
		{name: "no scenario", edit: func(c *demo.Config) { c.Scenario = nil }, want: []string{"--scenario: required"}},
		{name: "zero speed", edit: func(c *demo.Config) { c.Speed = 0 }, want: []string{"--speed: 0:"}},
		{name: "too fast", edit: func(c *demo.Config) { c.Speed = 5000 }, want: []string{"--speed: 5000"}},
		{name: "negative duration", edit: func(c *demo.Config) { c.Duration = -time.Second }, want: []string{"--duration: -1s"}},
		{name: "tiny duration", edit: func(c *demo.Config) { c.Duration = time.Second }, want: []string{"--duration: 1s: want at least 10s"}},
		{name: "bad addresses", edit: func(c *demo.Config) { c.NATSListen, c.KEDAListen = "4222", "localhost" },
			want: []string{"--nats-listen: \"4222\"", "--keda-listen: \"localhost\""}},
		{name: "every problem at once", edit: func(c *demo.Config) { c.Speed, c.FlinkListen = -1, "x" },
			want: []string{"--speed", "--flink-listen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := demo.Defaults(sc)
			tt.edit(&cfg)
			err := cfg.Validate()
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, demo.ErrConfig)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

// TestActuations counts failed and partial actuations, the timed-out ones
// among them and their first messages; applied, skipped and unanswered
// decisions are not failures.
func TestActuations(t *testing.T) {
	o := &demo.Outcome{Decisions: []demo.Decision{
		{Outcome: events.OutcomeApplied},
		{Outcome: events.OutcomeSkipped, Detail: "in cooldown"},
		{Outcome: events.OutcomeFailed, Detail: "PUT refused"},
		{Outcome: events.OutcomePartial, Detail: "timed out after 2m0s: 3 of 4 TaskManagers", TimedOut: true},
		{},
	}}
	failed, timedOut, errs := o.Actuations()
	require.Equal(t, 2, failed)
	require.Equal(t, 1, timedOut)
	require.Equal(t, []string{"PUT refused", "timed out after 2m0s: 3 of 4 TaskManagers"}, errs)
}

// TestActuationCutShortByTheEndIsNotAFailure: a scale-up still waiting for
// the job to rescale (Flink 2.0 rescales at the next checkpoint, 10 min
// away) when the run ends → stopping the functions cancels actuate's wait,
// which reports the actuation failed ("context canceled") → that report
// comes after the run: the decision is left without a result (not counted,
// as any decision unanswered at the end), not a failed actuation.
func TestActuationCutShortByTheEndIsNotAFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sc, err := flinksim.LoadScenario("testdata/end-in-flight.yaml")
	require.NoError(t, err)
	var progress bytes.Buffer
	cfg := demo.Defaults(sc)
	cfg.Speed, cfg.Progress = 100, &progress
	out, err := demo.Run(ctx, cfg)
	require.NoError(t, err)
	require.False(t, out.Interrupted)
	require.NotEmpty(t, out.Decisions, "decide scaled up after the step")
	last := out.Decisions[len(out.Decisions)-1]
	require.Empty(t, last.Outcome, "the last decision was still being actuated at the end: %+v", last)
	failed, _, errs := out.Actuations()
	require.Zero(t, failed, "failures: %v", errs)
	require.NotContains(t, progress.String(), "context canceled")
}
