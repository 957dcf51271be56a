// Package realflink holds the tests that run flinkscaler against a real
// Apache Flink (a MiniCluster in one JVM, internal/sandbox), and the helpers
// they share: a sandbox per test, the three functions over an embedded
// nats-server, the wire check. The first run builds the sandbox jar with
// Maven (downloading Flink from Maven Central); -short skips these tests.
package realflink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/function"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
)

// Cluster is the cluster name in every event.
const Cluster = "real"

// JarBuildTimeout allows the first build's download.
const JarBuildTimeout = 15 * time.Minute

// StartSandbox runs scenario (YAML) on real Flink (flinkLine "1.20" or "2")
// until the test ends. A JVM that dies during the test fails it with the
// JVM's last output.
func StartSandbox(t *testing.T, scenario, flinkLine string) *sandbox.Sandbox {
	t.Helper()
	return StartSandboxConfig(t, scenario, sandbox.Config{Flink: flinkLine})
}

// StartSandboxConfig is StartSandbox with more of the sandbox's settings
// (cfg.Flink is the Flink line; cfg.Scenario and cfg.Log are set here).
func StartSandboxConfig(t *testing.T, scenario string, cfg sandbox.Config) *sandbox.Sandbox {
	t.Helper()
	flinkLine := cfg.Flink
	if testing.Short() {
		t.Skip("real Flink: skipped with -short")
	}
	if err := sandbox.CheckTools(); err != nil {
		t.Skipf("real Flink: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), JarBuildTimeout)
	defer cancel()
	start := time.Now()
	if _, err := sandbox.BuildJar(ctx, flinkLine, nil); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("building the Flink %s sandbox jar took over %s (the first build downloads Flink from Maven Central): %v", flinkLine, JarBuildTimeout, err)
		}
		t.Fatalf("building the Flink %s sandbox jar: %v", flinkLine, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Logf("built the Flink %s sandbox jar in %s", flinkLine, d.Round(time.Second))
	}
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	require.NoError(t, os.WriteFile(path, []byte(scenario), 0o600))
	var log io.Writer
	if os.Getenv("FLINKSCALER_SANDBOX_LOG") == "1" {
		log = os.Stderr
	}
	cfg.Scenario, cfg.Log = path, log
	sb, err := sandbox.Start(ctx, cfg)
	require.NoError(t, err)
	t.Logf("real Flink %s: %s job %s", sb.FlinkVersion(), sb.URL(), sb.JobID())
	var mu sync.Mutex
	stopped := false
	t.Cleanup(func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		stop, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, sb.Stop(stop))
	})
	go func() {
		<-sb.Done()
		mu.Lock()
		defer mu.Unlock()
		if err := sb.Err(); err != nil && !stopped {
			t.Errorf("the sandbox died: %v", err)
		}
	}()
	return sb
}

// Pipeline is ingest, decide and actuate over an embedded nats-server
// against one sandbox; actuate owns the TaskManagers through the control
// endpoint, as with the emulator.
type Pipeline struct {
	NATS string

	mu        sync.Mutex
	decisions []events.Decision
	results   []events.Result
}

// Decisions and Results seen so far.
func (p *Pipeline) Decisions() []events.Decision {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]events.Decision(nil), p.decisions...)
}

// Results seen so far.
func (p *Pipeline) Results() []events.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]events.Result(nil), p.results...)
}

// StartPipeline runs the three functions until the test ends; tune adjusts
// decide's policy before it starts.
func StartPipeline(t *testing.T, sb *sandbox.Sandbox, tune func(*policy.Config)) *Pipeline {
	t.Helper()
	ns, err := natsserver.Start(natsserver.Config{ServerName: "realflink"})
	require.NoError(t, err)
	t.Cleanup(ns.Shutdown)
	url := ns.ClientURL()
	nc, js, err := events.Connect(events.ConnOptions{URL: url, Name: "realflink-test"})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, events.Provision(ctx, js, events.ProvisionConfig{}))
	p := &Pipeline{NATS: url}
	for _, subj := range []string{events.DecisionFilter, events.ResultFilter} {
		_, err := nc.Subscribe(subj, p.observe)
		require.NoError(t, err)
	}

	pol := policy.Defaults()
	pol.Mode = events.ModeAdaptive
	pol.MaxTaskManagers = sb.Scenario().Cluster.MaxTaskManagers
	if tune != nil {
		tune(&pol)
	}
	require.NoError(t, pol.Validate())
	dc := decider.Config{Common: function.Common{NATS: events.ConnOptions{URL: url, Name: decider.Function}}, Policy: pol}
	run(t, "decide", func(ctx context.Context) error { return decider.Run(ctx, dc, quiet()) })

	ac := actuator.DefaultConfig()
	ac.NATS.URL, ac.HTTPListen = url, ""
	ac.Flink = map[string]string{Cluster: sb.URL()}
	ac.TaskManagers = actuator.BackendEmulator
	require.NoError(t, ac.Validate())
	run(t, "actuate", func(ctx context.Context) error { return actuator.Run(ctx, ac, quiet()) })

	ic := ingest.DefaultConfig()
	ic.Interval, ic.RequestTimeout = 5*time.Second, 5*time.Second
	ic.NATS.URL, ic.HTTPListen, ic.Replica = url, "", "realflink"
	ic.Targets = []ingest.Target{{Cluster: Cluster, URL: sb.URL()}}
	require.NoError(t, ic.Validate())
	run(t, "ingest", func(ctx context.Context) error {
		nc, js, err := events.Connect(events.ConnOptions{URL: url, Name: "ingest"})
		if err != nil {
			return err
		}
		defer nc.Close()
		svc, err := ingest.NewService(ic, ingest.Deps{
			Publisher: ingest.JetStreamPublisher{JS: js, Attempts: ic.Attempts},
			Members:   ingest.StaticMembers{ic.Replica}, Logger: quiet(),
		})
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
	return p
}

func (p *Pipeline) observe(msg *nats.Msg) {
	ev, err := events.Decode(msg)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Type() {
	case events.TypeDecision:
		if d, err := events.Data[events.Decision](ev); err == nil {
			p.decisions = append(p.decisions, d)
		}
	case events.TypeResult:
		if r, err := events.Data[events.Result](ev); err == nil {
			p.results = append(p.results, r)
		}
	}
}

// run runs f until the test ends; an error it returns before then fails
// the test.
func run(t *testing.T, name string, f func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop within 30 s", name)
		}
	})
}

func quiet() *slog.Logger {
	if os.Getenv("FLINKSCALER_SANDBOX_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

// Eventually polls cond every 250 ms until it holds or within passes.
func Eventually(t *testing.T, within time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", fmt.Sprintf(msg, args...), within)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// SetTaskManagers PUTs the control endpoint, as actuate's emulator driver
// does.
func SetTaskManagers(t *testing.T, sb *sandbox.Sandbox, n int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, sb.URL()+"/flinksim/v1/taskmanagers", strings.NewReader(fmt.Sprintf(`{"replicas":%d}`, n)))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// GetJSON GETs u into v.
func GetJSON(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// MissingFields lists the fields typ expects (json tags without omitempty)
// that raw, decoded JSON, lacks, by path.
func MissingFields(typ reflect.Type, raw any, at string) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if raw == nil {
		return nil
	}
	var out []string
	switch typ.Kind() {
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %T", at, raw)}
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			v, present := obj[name]
			if !present {
				if !strings.Contains(opts, "omitempty") {
					out = append(out, at+"."+name)
				}
				continue
			}
			out = append(out, MissingFields(f.Type, v, at+"."+name)...)
		}
	case reflect.Slice:
		if typ.Elem().Kind() == reflect.Uint8 {
			return nil
		}
		arr, _ := raw.([]any)
		for i, v := range arr {
			out = append(out, MissingFields(typ.Elem(), v, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case reflect.Map:
		obj, _ := raw.(map[string]any)
		for k, v := range obj {
			out = append(out, MissingFields(typ.Elem(), v, at+"."+k)...)
		}
	}
	return out
}
