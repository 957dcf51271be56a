package actuator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/actuate/kedascaler"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// scenario is a two-vertex job at parallelism 2 on 2 one-slot TaskManagers,
// with short start-up and restart so the emulator settles in a few of its
// seconds.
const scenario = `
name: actuate-test
duration: 1h
seed: 11
cluster:
  scaling: %s
  slotsPerTaskManager: 1
  initialTaskManagers: 2
  maxTaskManagers: 8
  taskManagerStartup: 2s
  restart: 2s
job:
  name: orders
  vertices:
    - {name: "Source: orders", parallelism: 2, maxParallelism: 16, capacity: 50000, partitions: 16}
    - {name: enrich, inputs: ["Source: orders"], parallelism: 2, maxParallelism: 16, capacity: 20000}
load: {pattern: constant, rate: 1000}
`

// fault answers a request instead of the emulator when ok.
type fault func(r *http.Request) (status int, body string, ok bool)

// env is an emulated Flink cluster behind a fault-injecting proxy, a real
// JetStream server with the buckets, and an Actuator wired to both.
type env struct {
	sim     *flinksim.Cluster
	url     string
	jobID   string
	vertex  []string
	kv      map[string]jetstream.KeyValue
	act     *Actuator
	mu      sync.Mutex
	faults  []fault
	ts      *httptest.Server
	options Options
	deps    Deps
	paced   bool // the emulator runs on the wall clock (newPacedEnvOf)
}

// use rebuilds the Actuator with tm as its TaskManager backend.
func (e *env) use(tm TaskManagers) {
	e.deps.TaskManagers = tm
	e.act = New(e.deps, e.options)
}

func newEnv(t *testing.T, mode string, withTMs bool, opt Options) *env {
	t.Helper()
	return newEnvOf(t, fmt.Sprintf(scenario, mode), withTMs, opt)
}

// speed is how many times faster than the wall clock the emulator ran when
// these tests paced it by the wall clock, as the paced ones still do: the
// Options a test gives, and the waits it writes, are in those terms (a
// 20 ms poll is 400 ms of the emulator's time).
const speed = 20

// newEnvOf is newEnv on the scenario doc. The Actuator waits on the
// emulator's own clock (simClock): each of its sleeps advances the emulated
// cluster, and nothing else does, so every state it polls for is there for
// it to see however loaded the machine is. (Paced by the wall clock at 20×,
// a test process stalled for a second let the emulator jump 20 s past a
// state a wait had to see.) The Options' waits are scaled by speed onto
// that clock.
func newEnvOf(t *testing.T, doc string, withTMs bool, opt Options) *env {
	t.Helper()
	return newEnvAt(t, doc, withTMs, opt, false)
}

// newPacedEnvOf is newEnvOf with the emulator running speed times faster
// than the wall clock and the Actuator on the wall clock, for tests whose
// other parties (a kube-apiserver's Deployment, KEDA, the whole function's
// Run) act on the wall clock.
func newPacedEnvOf(t *testing.T, doc string, withTMs bool, opt Options) *env {
	t.Helper()
	return newEnvAt(t, doc, withTMs, opt, true)
}

func newEnvAt(t *testing.T, doc string, withTMs bool, opt Options, paced bool) *env {
	t.Helper()
	sc, err := flinksim.ParseScenario([]byte(doc), ".")
	require.NoError(t, err)
	simOpt := flinksim.Options{}
	if !paced {
		// The emulator's clock starts at the wall clock's now, which
		// decisions (DecidedAt) and deliveries (Stored) carry.
		simOpt.Start = time.Now()
	}
	e := &env{sim: flinksim.New(sc, simOpt), kv: map[string]jetstream.KeyValue{}, paced: paced}
	e.jobID, e.vertex = e.sim.JobID(), e.sim.VertexIDs()
	emu := e.sim.Handler()
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, body, ok := e.fault(r); ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body)) // test server; the client reads or not
			return
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(e.ts.Close)
	e.url = e.ts.URL
	if paced {
		ctx, cancel := context.WithCancel(context.Background())
		simDone := make(chan error, 1)
		go func() { simDone <- e.sim.Run(ctx, speed, nil) }()
		t.Cleanup(func() { cancel(); require.NoError(t, <-simDone) })
	}

	nats := eventstest.Start(t)
	for _, b := range []string{events.BucketActuations, events.BucketDesiredTMs, events.BucketPolicy} {
		e.kv[b] = nats.KV(t, b)
	}
	fc, err := flink.New(e.url, flink.Options{Timeout: 2 * time.Second})
	require.NoError(t, err)
	deps := Deps{Flink: map[string]Flink{"prod": fc},
		Actuations: e.kv[events.BucketActuations], Desired: e.kv[events.BucketDesiredTMs], Policy: e.kv[events.BucketPolicy]}
	if withTMs {
		deps.TaskManagers = taskmanagers.NewEmulator(map[string]string{"prod": e.url}, nil)
	}
	if opt.SlotWait == 0 {
		opt.SlotWait, opt.ParallelismWait, opt.Poll = 10*time.Second, 10*time.Second, 20*time.Millisecond
	}
	if !paced {
		deps.Clock = simClock{e.sim}
		if opt.CheckpointWait == 0 {
			opt.CheckpointWait = DefaultOptions().CheckpointWait
		}
		for _, w := range []*time.Duration{&opt.SlotWait, &opt.ParallelismWait, &opt.Poll, &opt.CheckpointWait, &opt.ReleaseWait} {
			*w *= speed
		}
	}
	e.options, e.deps = opt, deps
	e.act = New(deps, opt)
	return e
}

// await lets the emulator run until cond holds, checking it after each of
// the emulator's steps, for at most within of wall-clock time at speed (the
// bound a paced test gives require.Eventually).
func (e *env) await(t *testing.T, cond func() bool, within time.Duration, msg string) {
	t.Helper()
	if e.paced {
		require.Eventually(t, cond, within, 10*time.Millisecond, msg)
		return
	}
	for end := e.sim.Elapsed() + within*speed; !cond(); e.sim.Advance(time.Second) {
		if e.sim.Elapsed() >= end {
			require.FailNow(t, "condition not met within "+(within*speed).String()+" of the emulator's time", msg)
		}
	}
}

// settle lets d of wall-clock time at speed pass on the emulator.
func (e *env) settle(d time.Duration) {
	if e.paced {
		time.Sleep(d)
		return
	}
	e.sim.Advance(d * speed)
}

func (e *env) inject(f ...fault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = append(e.faults, f...)
}

// fault pops the first injected fault that matches r.
func (e *env) fault(r *http.Request) (int, string, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, f := range e.faults {
		if status, body, ok := f(r); ok {
			e.faults = append(e.faults[:i], e.faults[i+1:]...)
			return status, body, true
		}
	}
	return 0, "", false
}

func onPut(status int, body string) fault {
	return func(r *http.Request) (int, string, bool) {
		return status, body, r.Method == http.MethodPut && r.URL.Path != taskmanagers.EmulatorPath
	}
}

var decisionSeq int

func (e *env) decision(mode string, targets ...int) events.Decision {
	decisionSeq++
	d := events.Decision{
		DecisionID: fmt.Sprintf("d-%d", decisionSeq), Cluster: "prod", JobID: e.jobID, JobName: "orders", Mode: mode,
		Slots: events.Slots{PerTaskManager: 1, Sharing: events.SlotSharingShared}, Policy: "test",
		DecidedAt: time.Now().UTC(),
	}
	for i, t := range targets {
		d.Vertices = append(d.Vertices, events.VertexDecision{ID: e.vertex[i], Target: t, Reason: "test"})
	}
	return d
}

func (e *env) replicas(t *testing.T) int {
	t.Helper()
	n, err := taskmanagers.NewEmulator(map[string]string{"prod": e.url}, nil).Replicas(context.Background(), "prod", "")
	require.NoError(t, err)
	return n
}

func (e *env) parallelism(t *testing.T) []int {
	t.Helper()
	fc, err := flink.New(e.url, flink.Options{})
	require.NoError(t, err)
	j, err := fc.JobDetails(context.Background(), e.jobID)
	require.NoError(t, err)
	var p []int
	for _, v := range j.Vertices {
		p = append(p, v.Parallelism)
	}
	return p
}

func (e *env) desired(t *testing.T) kedascaler.Desired {
	t.Helper()
	entry, err := e.kv[events.BucketDesiredTMs].Get(context.Background(), events.KVKey("prod", e.jobID))
	require.NoError(t, err)
	var d kedascaler.Desired
	require.NoError(t, json.Unmarshal(entry.Value(), &d))
	return d
}

func stepNames(r events.Result) []string {
	var names []string
	for _, s := range r.Steps {
		names = append(names, s.Name+":"+s.Status)
	}
	return names
}

// An env's emulator moves only when something waits on its clock (the
// Actuator's polls, await, settle): wall-clock time alone, such as a
// stalled test process's, moves nothing, so no state a wait polls for can
// pass unseen.
func TestEnvEmulatorMovesOnlyOnItsClock(t *testing.T) {
	e := newEnv(t, events.ModeAdaptive, true, Options{})
	before := e.sim.Elapsed()
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, before, e.sim.Elapsed(), "wall-clock time moved the emulator")
	require.NoError(t, e.act.deps.Clock.Sleep(context.Background(), 3*time.Second))
	require.GreaterOrEqual(t, e.sim.Elapsed()-before, 3*time.Second, "a wait on its clock moves it")
}
