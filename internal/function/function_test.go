package function

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/flinkscaler/flinkscaler/internal/syncbuf"
	"github.com/flinkscaler/flinkscaler/internal/testport"
)

// The three functions' default HTTP addresses differ and are on loopback:
// run side by side with defaults, none fails to bind.
func TestDefaultHTTPAddressesAreDistinctLoopback(t *testing.T) {
	seen := map[string]bool{}
	for _, addr := range []string{HTTPIngest, HTTPDecide, HTTPActuate} {
		host, port, err := net.SplitHostPort(addr)
		require.NoError(t, err)
		require.Equal(t, "127.0.0.1", host)
		require.False(t, seen[port], "port %s used twice", port)
		seen[port] = true
	}
}

func testFlags(t *testing.T) (*flag.FlagSet, *Common, *time.Duration) {
	t.Helper()
	c := Defaults("test", HTTPDecide)
	fs := NewFlagSet("flinkscaler test", "flinkscaler test [flags]", "", io.Discard)
	c.Bind(fs)
	interval := fs.Duration("interval", 10*time.Second, "poll interval")
	return fs, &c, interval
}

// A flag error is one line saying what to write, not the usage.
func TestParseErrorsGiveAHint(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "duration without unit", args: []string{"--interval", "5"},
			want: `--interval "5": not a duration; write a number with a unit, e.g. 500ms, 10s, 2m, 1h`},
		{name: "misspelt flag", args: []string{"--htp-listen", ":1"},
			want: "unknown flag --htp-listen; did you mean --http-listen? (see 'flinkscaler test --help')"},
		{name: "positional", args: []string{"decide"}, want: `unexpected argument "decide"`},
		{name: "bad environment", env: map[string]string{"FLINKSCALER_STREAM_REPLICAS": "three"},
			want: `FLINKSCALER_STREAM_REPLICAS="three": not a whole number`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs, _, _ := testFlags(t)
			err := Parse(fs, tt.args, func(k string) string { return tt.env[k] })
			require.ErrorIs(t, err, ErrUsage)
			require.Contains(t, err.Error(), tt.want)
			require.NotContains(t, err.Error(), "\n")
		})
	}
}

// Every flag has an environment variable; the command line beats it.
func TestEnvironmentSetsFlagsNotGiven(t *testing.T) {
	fs, c, interval := testFlags(t)
	env := map[string]string{
		"FLINKSCALER_NATS_URL": "nats://env:4222", "FLINKSCALER_INTERVAL": "7s",
		"FLINKSCALER_HTTP_LISTEN": "127.0.0.1:1", "FLINKSCALER_LOG_FORMAT": "json",
	}
	require.NoError(t, Parse(fs, []string{"--interval", "2s"}, func(k string) string { return env[k] }))
	require.Equal(t, "nats://env:4222", c.NATS.URL)
	require.Equal(t, 2*time.Second, *interval, "flag beats env")
	require.Equal(t, "127.0.0.1:1", c.HTTPListen)
	require.Equal(t, FormatJSON, c.LogFormat)

	var help bytes.Buffer
	PrintUsage(&help, fs, "flinkscaler test [flags]", "", true)
	require.Contains(t, help.String(), "--nats string\n        NATS server URL (comma-separated for a cluster) (default nats://127.0.0.1:4222; env FLINKSCALER_NATS_URL)")
	require.Contains(t, help.String(), "  -v\n        verbose: debug logs\n")
}

func TestProblemsNameTheFlag(t *testing.T) {
	c := Defaults("test", "9102")
	c.NATS.URL, c.LogFormat, c.NATSWait = "", "yaml", -time.Second
	err := c.Validate()
	for _, want := range []string{"--nats: a NATS URL is required", `--http-listen: "9102" is not host:port`,
		`--log-format: "yaml" is not text or json`, "--nats-wait: -1s"} {
		require.ErrorContains(t, err, want)
	}
}

// A function started before NATS retries, logging each try, and connects
// once the server is up, as while a NATS StatefulSet starts.
func TestConnectWaitsForNATS(t *testing.T) {
	addr := testport.Addr(t) // NATS starts on it later; nothing else may take it

	c := Defaults("test", "")
	c.NATS.URL, c.NATSWait = "nats://"+addr, 30*time.Second
	var logs syncbuf.Buffer
	type result struct{ err error }
	done := make(chan result, 1)
	go func() {
		nc, _, err := c.Connect(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
		if err == nil {
			nc.Close()
		}
		done <- result{err}
	}()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "NATS not reachable yet; retrying") },
		10*time.Second, 10*time.Millisecond)
	srv, err := natsserver.Start(natsserver.Config{Listen: addr})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	select {
	case r := <-done:
		require.NoError(t, r.err)
	case <-time.After(15 * time.Second):
		t.Fatal("Connect did not return after NATS came up")
	}
	require.Contains(t, logs.String(), "connected to NATS")
}

// The retry is bounded: after --nats-wait the last error comes back.
func TestConnectGivesUpAfterTheWait(t *testing.T) {
	c := Defaults("test", "")
	c.NATS.URL, c.NATSWait = "nats://127.0.0.1:1", 600*time.Millisecond
	start := time.Now()
	_, _, err := c.Connect(context.Background(), slog.New(slog.DiscardHandler))
	require.ErrorIs(t, err, events.ErrConnect)
	require.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond)
	require.Less(t, time.Since(start), 30*time.Second, "the wait, not the default minute")

	c.NATSWait = 0
	start = time.Now()
	_, _, err = c.Connect(context.Background(), slog.New(slog.DiscardHandler))
	require.ErrorIs(t, err, events.ErrConnect)
	require.Less(t, time.Since(start), 30*time.Second, "0: one try, not the default minute")
}

// /healthz (and /readyz, /livez) follow the NATS connection; /metrics serves the registry;
// the server stops with its context.
func TestServerHealthFollowsNATS(t *testing.T) {
	e := eventstest.Start(t)
	srv, err := Listen("127.0.0.1:0", NewRegistry(), Checks{Health: NATSHealth(e.NC)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	get := func(path string) int {
		resp, err := http.Get("http://" + srv.Addr() + path)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, get("/healthz"))
	require.Equal(t, http.StatusOK, get("/readyz"))
	require.Equal(t, http.StatusOK, get("/livez"))
	require.Equal(t, http.StatusOK, get("/metrics"))
	e.NC.Close()
	require.Equal(t, http.StatusServiceUnavailable, get("/healthz"))
	require.Equal(t, http.StatusServiceUnavailable, get("/readyz"), "readiness is health when not told otherwise")
	require.Equal(t, http.StatusServiceUnavailable, get("/livez"), "liveness is health when not told otherwise")
	cancel()
	require.NoError(t, <-done)

	again, err := Listen(srv.Addr(), NewRegistry(), Checks{Health: NATSHealth(e.NC)})
	require.NoError(t, err, "the port is free again after Run returned")
	require.NoError(t, again.ln.Close())
	none, err := Listen("", NewRegistry(), Checks{})
	require.NoError(t, err)
	require.Nil(t, none, `"" serves nothing`)
}

func TestRunAllStopsTheRestOnAnError(t *testing.T) {
	boom := errors.New("boom")
	err := RunAll(context.Background(),
		func(ctx context.Context) error { <-ctx.Done(); return nil },
		func(context.Context) error { return boom })
	require.ErrorIs(t, err, boom)
}

// A function whose NATS answers before its JetStream is ready (a server
// starting, a meta leader being elected) waits for JetStream, saying so,
// and provisions once it is, instead of exiting; the wait is bounded by
// --nats-wait like the connection's.
func TestStartWaitsForJetStream(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true})
	require.NoError(t, err)
	go srv.Start()
	require.True(t, srv.ReadyForConnections(10*time.Second))
	t.Cleanup(srv.Shutdown)

	c := Defaults("test", "")
	c.NATS.URL, c.NATSWait = srv.ClientURL(), 600*time.Millisecond
	start := time.Now()
	_, _, err = c.Start(context.Background(), slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "provision")
	require.GreaterOrEqual(t, time.Since(start), 500*time.Millisecond, "tried again within --nats-wait")
	require.Less(t, time.Since(start), 30*time.Second, "the wait, not the default minute")

	c.NATSWait = 30 * time.Second
	var logs syncbuf.Buffer
	done := make(chan error, 1)
	go func() {
		nc, js, err := c.Start(context.Background(), slog.New(slog.NewTextHandler(&logs, nil)))
		if err == nil {
			_, err = c.OpenKV(context.Background(), slog.New(slog.DiscardHandler), js, events.BucketState)
			nc.Close()
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "JetStream not ready; retrying") },
		10*time.Second, 10*time.Millisecond)
	require.Contains(t, logs.String(), "call=provision")
	require.NoError(t, srv.EnableJetStream(&server.JetStreamConfig{StoreDir: t.TempDir()}))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("Start did not return after JetStream came up")
	}
	require.Contains(t, logs.String(), "JetStream answered")
}
