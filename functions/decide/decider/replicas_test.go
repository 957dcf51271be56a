package decider

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// runReplica runs a decide replica on the shared durable consumer until the
// test ends.
func runReplica(t testing.TB, e env) {
	t.Helper()
	d := New(e.state, KVPolicies{KV: e.pol}, testPolicy(), nil, slog.New(slog.DiscardHandler), NewMetrics(prometheus.NewRegistry()))
	r, err := events.NewRunner(e.js, events.RunnerConfig{Function: Function, Durable: Function,
		FilterSubjects: Subjects}, d.Handle)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool { // snapshots published next come after the durable's start
		_, err := e.js.Consumer(context.Background(), events.StreamName, Function)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)
}

func jobSnapshot(job string, sec int) events.Snapshot {
	s := busySnapshot(sec)
	s.JobID, s.JobName = job, "job-"+job
	return s
}

// TestTwoReplicasKeepStateConsistent runs two decide replicas on one
// durable consumer over 20 jobs × 12 snapshots each. Every job's stored
// state must end at its newest snapshot (no lost update), and no decision
// may be made twice.
func TestTwoReplicasKeepStateConsistent(t *testing.T) {
	e := startEnv(t)
	runReplica(t, e)
	runReplica(t, e)
	ctx := context.Background()
	const jobs, perJob = 20, 12
	for i := range perJob {
		for j := range jobs {
			s := jobSnapshot(fmt.Sprintf("job%02d", j), 80+10*i)
			ev, err := events.New(events.TypeSnapshot, "metrics-ingest", s.Cluster, s.JobID, s)
			require.NoError(t, err)
			require.NoError(t, events.Publish(ctx, e.js, ev))
		}
	}
	last := t0.Add(time.Duration(80+10*(perJob-1)) * time.Second)
	require.Eventually(t, func() bool {
		for j := range jobs {
			rec, err := load(ctx, e.state, events.KVKey("demo", fmt.Sprintf("job%02d", j)))
			if err != nil || !rec.State.LastObservedAt.Equal(last) {
				return false
			}
		}
		return true
	}, 20*time.Second, 20*time.Millisecond, "every job's state reaches its newest snapshot")

	decisions := readDecisions(t, e.js)
	seen := map[string]bool{}
	perJobCount := map[string]int{}
	for _, d := range decisions {
		require.False(t, seen[d.DecisionID], "decision %s made twice", d.DecisionID)
		seen[d.DecisionID] = true
		perJobCount[d.JobID]++
	}
	require.Len(t, perJobCount, jobs, "every job got its scale-up decision")
	t.Logf("checked %d snapshots in, %d decisions out, 0 duplicates, every job's state at its newest snapshot", jobs*perJob, len(decisions))
}

func readDecisions(t *testing.T, js jetstream.JetStream) []events.Decision {
	t.Helper()
	ctx := context.Background()
	c, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.DecisionFilter}})
	require.NoError(t, err)
	var out []events.Decision
	for {
		batch, err := c.Fetch(100, jetstream.FetchMaxWait(300*time.Millisecond))
		require.NoError(t, err)
		n := 0
		for m := range batch.Messages() {
			n++
			ev, err := events.Decode(natsMsg(m))
			require.NoError(t, err)
			d, err := events.Data[events.Decision](ev)
			require.NoError(t, err)
			out = append(out, d)
		}
		if n == 0 {
			return out
		}
	}
}
