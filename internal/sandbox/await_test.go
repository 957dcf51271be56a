package sandbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A sandbox stopped (Ctrl-C) while its job is starting says so: before, it
// reported the job "not RUNNING in time", as if the start had timed out.
// A start that does time out still says that.
func TestAwaitRunningTellsAStopFromATimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"state":"RUNNING","status-counts":{"INITIALIZING":2}}`))
	}))
	t.Cleanup(srv.Close)
	s := &Sandbox{url: srv.URL, jobID: "j1", done: make(chan struct{})}

	stopped, stop := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, stop)
	err := s.awaitRunning(stopped)
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "stopped while job j1 was starting (last: job RUNNING)")

	timedOut, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = s.awaitRunning(timedOut)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "job j1 not RUNNING in time (last: job RUNNING)")
}
