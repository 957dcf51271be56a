package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/syncbuf"
)

// startWithoutJetStream runs a real nats-server whose JetStream is off
// until the test enables it (server.EnableJetStream), as a server is
// while it starts or elects a meta leader.
func startWithoutJetStream(t *testing.T) (*server.Server, jetstream.JetStream) {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true})
	require.NoError(t, err)
	go srv.Start()
	require.True(t, srv.ReadyForConnections(10*time.Second))
	t.Cleanup(srv.Shutdown)
	_, js := dialJS(t, srv.ClientURL())
	return srv, js
}

// A runner started before JetStream is ready waits for it, saying so,
// and consumes once it is, instead of ending its function.
func TestRunnerWaitsForJetStream(t *testing.T) {
	srv, js := startWithoutJetStream(t)
	var logs syncbuf.Buffer
	var s seen
	r, err := NewRunner(js, RunnerConfig{Function: "decide", Durable: "decide", FilterSubjects: []string{SnapshotFilter},
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, s.handle)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	require.Eventually(t, func() bool { return logs.String() != "" }, 10*time.Second, 10*time.Millisecond)
	require.Contains(t, logs.String(), "JetStream not ready; retrying")
	require.NoError(t, srv.EnableJetStream(&server.JetStreamConfig{StoreDir: t.TempDir()}))
	pctx, pcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer pcancel()
	require.NoError(t, Provision(pctx, js, ProvisionConfig{Storage: jetstream.MemoryStorage}))
	at := publishSnapshots(t, js, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 1)
	require.Eventually(t, func() bool { return len(s.list()) == 1 }, 20*time.Second, 10*time.Millisecond,
		"the runner consumed nothing after JetStream came up: %s", logs.String())
	require.Equal(t, at, s.list()[0])
	require.Contains(t, logs.String(), "JetStream answered")
	select {
	case err := <-done:
		t.Fatalf("the runner ended: %v", err)
	default:
	}
}

// The wait is bounded: a JetStream that never comes ends the runner with
// the last error after SetupWait, and a refusal ends it at once.
func TestRunnerSetupWaitIsBounded(t *testing.T) {
	_, js := startWithoutJetStream(t)
	r, err := NewRunner(js, RunnerConfig{Function: "decide", Durable: "decide", FilterSubjects: []string{SnapshotFilter},
		SetupWait: 700 * time.Millisecond}, func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) { return nil, nil })
	require.NoError(t, err)
	start := time.Now()
	err = r.Run(context.Background())
	require.ErrorContains(t, err, "consumer decide")
	require.GreaterOrEqual(t, time.Since(start), 600*time.Millisecond)
	require.Less(t, time.Since(start), 30*time.Second)
}

// Transient sorts a JetStream call's failures: not answering, nobody to
// answer and "unavailable for now" are worth another try; a refusal and
// anything after the caller's own context ended are not.
func TestTransient(t *testing.T) {
	ctx := context.Background()
	for _, err := range []error{context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders, jetstream.ErrJetStreamNotEnabled,
		fmt.Errorf("provision stream X: %w", &jetstream.APIError{Code: 503, Description: "JetStream system temporarily unavailable"})} {
		require.True(t, Transient(ctx, err), "%v", err)
	}
	for _, err := range []error{nil, errors.New("bad"), nats.ErrPermissionViolation,
		&jetstream.APIError{Code: 400, ErrorCode: jetstream.JSErrCodeStreamNameInUse, Description: "stream name already in use"}} {
		require.False(t, Transient(ctx, err), "%v", err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	require.False(t, Transient(ended, context.DeadlineExceeded), "the caller's own end is no reason to try again")
}
