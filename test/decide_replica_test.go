package test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
)

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// flinkscalerBinary builds cmd/flinkscaler once per test binary (the Go
// build cache makes later builds quick).
func flinkscalerBinary(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "flinkscaler-test-bin-")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "flinkscaler")
		out, err := exec.Command("go", "build", "-o", cliPath, "../cmd/flinkscaler").CombinedOutput()
		if err != nil {
			cliErr = &buildError{out: string(out), err: err}
		}
	})
	require.NoError(t, cliErr)
	return cliPath
}

type buildError struct {
	out string
	err error
}

func (b *buildError) Error() string {
	return "go build ./cmd/flinkscaler: " + b.err.Error() + "\n" + b.out
}

// decideProcess runs `flinkscaler decide` as a process until killed.
func decideProcess(t *testing.T, natsURL, logFile string) *exec.Cmd {
	t.Helper()
	f, err := os.Create(logFile)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	cmd := exec.Command(flinkscalerBinary(t), "decide", "--nats", natsURL, "--http-listen=")
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestDecideReplicaKilled runs two decide replicas as processes on one
// durable consumer, kills one with SIGKILL after the first decision while
// snapshots keep coming, and checks that the survivor carries on and the
// job's state in KV stays consistent: it has seen the newest snapshot, the
// decision in its outbox was published, and no decision was lost or applied
// twice.
func TestDecideReplicaKilled(t *testing.T) {
	srv, err := natsserver.Start(natsserver.Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	dir := t.TempDir()
	victim := decideProcess(t, srv.ClientURL(), filepath.Join(dir, "decide-1.log"))
	decideProcess(t, srv.ClientURL(), filepath.Join(dir, "decide-2.log"))
	e := startEmulator(t, stepScenario, 60, nil)
	startActuate(t, actuateConfig(t, e, srv.ClientURL()), testLog(t, "actuate"))
	ing := startIngest(t, e, ingestConfig(e, srv.ClientURL()), events.ConnOptions{URL: srv.ClientURL()}, testLog(t, "ingest"))

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := t.Context()
	count := func(filter string) uint64 {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		n, _ := countSubject(c, js, filter)
		return n
	}
	eventually(t, 90*time.Second, func() bool { return count(events.DecisionFilter) >= 1 }, "no decision from two replicas")
	require.NoError(t, victim.Process.Kill())
	_ = victim.Wait()
	killedAt := count(events.SnapshotFilter)

	// The survivor decides on; the victim's unacknowledged snapshot comes
	// back after the ack wait.
	eventually(t, 120*time.Second, func() bool { return count(events.ResultFilter) >= 3 }, "the surviving replica did not carry on")
	require.NoError(t, ing.stop())
	snaps := count(events.SnapshotFilter)
	eventually(t, 60*time.Second, func() bool {
		c, err := js.Consumer(ctx, events.StreamName, "decide")
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	}, "decide did not drain the snapshots")

	got := readStream(t, srv.ClientURL())
	for range 2 {
		if len(got.lost()) == 0 {
			break
		}
		eventually(t, 30*time.Second, func() bool { return count(events.ResultFilter) > uint64(len(got.results)) }, "decisions %v got no result", got.lost())
		got = readStream(t, srv.ClientURL())
	}
	kv, err := js.KeyValue(ctx, events.BucketState)
	require.NoError(t, err)
	entry, err := kv.Get(ctx, events.KVKey(cluster, e.sim.JobID()))
	require.NoError(t, err)
	var rec struct {
		State struct {
			LastObservedAt time.Time `json:"lastObservedAt"`
		} `json:"state"`
		Outbox *events.Decision `json:"outbox"`
	}
	require.NoError(t, json.Unmarshal(entry.Value(), &rec), "state record")
	var newest time.Time
	for _, s := range got.snapshotByID {
		if s.ObservedAt.After(newest) {
			newest = s.ObservedAt
		}
	}
	t.Logf("killed a replica after %d snapshots; %d snapshots, %d decisions, %d results in all; state revision %d, last observed %s (newest snapshot %s); lost %v, applied twice %v",
		killedAt, snaps, len(got.decisions), len(got.results), entry.Revision(), rec.State.LastObservedAt.Format(time.TimeOnly), newest.Format(time.TimeOnly), got.lost(), got.duplicates())
	require.True(t, rec.State.LastObservedAt.Equal(newest), "state has not seen the newest snapshot")
	if rec.Outbox != nil {
		require.Contains(t, got.decisions, rec.Outbox.DecisionID, "the outbox holds a decision never published")
	}
	require.Empty(t, got.lost())
	require.Empty(t, got.duplicates())
}
