package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinkautoscaler"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// peerOverrides are extra options for the peer (tests shorten its windows
// for a one-minute run).
var peerOverrides map[string]string

// observeEvery is how often the peer run reads the cluster's ground truth
// and steps its TaskManagers.
const observeEvery = time.Second

// idleRelease is Flink's resourcemanager.taskmanager-timeout default: how
// long a TaskManager idles before the resource manager releases it.
const idleRelease = 30 * time.Second

// cluster is a fresh Flink cluster (emulated or real) running the scenario.
type cluster struct {
	url   string
	jobID string
	stop  func()
	done  <-chan struct{}
	err   func() error
	// truth reads the ground truth, rates in scenario records; only once
	// the job runs (begin).
	truth func(context.Context) (flinksim.GroundTruth, error)
	// asked is closed at the cluster's first REST request; begin submits
	// the job and starts its clock. Real Flink runs the job from its
	// start: asked is closed and begin does nothing.
	asked <-chan struct{}
	begin func()
}

// peerStartup bounds the wait for the peer's first REST request: past
// it, the job starts anyway (and the run says the peer never scaled).
const peerStartup = 5 * time.Minute

// startCluster starts a fresh cluster for the scenario, in real time. On
// the emulator the job is submitted (its clock starts) at begin; until
// then the cluster lists no job (GET /jobs/overview) and answers 503 to
// everything else.
func (r *runner) startCluster(ctx context.Context, prefix string) (*cluster, error) {
	if r.cfg.Engine == EngineFlink {
		return r.startSandbox(ctx, prefix)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var live atomic.Pointer[http.Handler]
	asked := make(chan struct{})
	var firstRequest sync.Once
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		firstRequest.Do(func() { close(asked) })
		if h := live.Load(); h != nil {
			(*h).ServeHTTP(w, req)
			return
		}
		if req.Method == http.MethodGet && req.URL.Path == "/jobs/overview" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"jobs":[]}`) // the client went away
			return
		}
		http.Error(w, "no job submitted yet", http.StatusServiceUnavailable)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }() // ends with Close
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var c *flinksim.Cluster
	var runErr error
	var once sync.Once
	begin := func() {
		once.Do(func() {
			c = flinksim.New(r.sc, flinksim.Options{Start: time.Now().UTC().Truncate(time.Millisecond)})
			h := c.Handler()
			live.Store(&h)
			go func() {
				runErr = c.Run(runCtx, 1, nil)
				close(done)
			}()
		})
	}
	return &cluster{
		url: "http://" + ln.Addr().String(), jobID: flinksim.New(r.sc, flinksim.Options{}).JobID(), done: done,
		stop: func() {
			cancel()
			begin() // a run that never began ends at once
			<-done
			_ = srv.Close()
		},
		err: func() error {
			if errors.Is(runErr, context.Canceled) {
				return nil
			}
			return runErr
		},
		truth: func(context.Context) (flinksim.GroundTruth, error) { return c.GroundTruth(), nil },
		asked: asked, begin: begin,
	}, nil
}

// sandboxStop bounds a sandbox's shutdown.
const sandboxStop = 30 * time.Second

// startSandbox starts the real-Flink sandbox on the scenario.
func (r *runner) startSandbox(ctx context.Context, prefix string) (*cluster, error) {
	fmt.Fprintf(r.progress, "%sstarting the real-Flink sandbox (first use builds its jar)\n", prefix)
	s, err := sandbox.Start(ctx, sandbox.Config{
		Scenario: r.path, Flink: sandboxLine(r.sc), Log: &prefixed{w: r.log, prefix: prefix}, Progress: &prefixed{w: r.log, prefix: prefix},
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(r.progress, "%sFlink %s at %s, job %s (one sandbox record stands for %g scenario records)\n", prefix, s.FlinkVersion(), s.URL(), s.JobID(), s.Scale())
	asked := make(chan struct{})
	close(asked)
	return &cluster{
		url: s.URL(), jobID: s.JobID(), done: s.Done(), err: s.Err, asked: asked, begin: func() {},
		stop: func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), sandboxStop)
			defer cancel()
			_ = s.Stop(stopCtx) // the run is over; a slow shutdown changes no result
		},
		truth: s.ScenarioTruth,
	}, nil
}

// sandboxLine is the sandbox's Flink line for scenario sc: 2 (2.3.0) for
// a Flink 2 scenario, whose rescales wait for a completed checkpoint, and
// 1.20 (1.20.5) for every 1.x one (the sandbox runs no 1.18 or 1.19).
func sandboxLine(sc *flinksim.Scenario) string {
	if sc != nil && sc.Cluster.FlinkVersion == flinksim.Flink20 {
		return "2"
	}
	return "1.20"
}

// peer runs the operator's autoscaler against a fresh cluster.
func (r *runner) peer(ctx context.Context) (run Run) {
	run.Policy = PolicyPeer
	opts := peerOptions(r.cfg.Timing)
	for _, o := range opts {
		run.Options = append(run.Options, Option{Policy: PolicyPeer, Key: o.Key, Value: o.Value, Default: o.Default, Why: o.Why})
	}
	pp := &prefixed{w: r.progress, prefix: "[operator]    "}
	began := time.Now()
	defer func() { run.WallSeconds = time.Since(began).Seconds() }()
	art, err := r.peerArtifact, r.peerErr
	if err != nil {
		run.Status, run.Error, run.What = StatusNotRun, err.Error(), "flink-autoscaler "+r.cfg.PeerVersion
		fmt.Fprintf(pp, "not run: %v\n", err)
		return run
	}
	run.What = art.Describe
	cl, err := r.startCluster(ctx, "[operator]    ")
	if err != nil {
		run.Status, run.Error = StatusNotRun, err.Error()
		fmt.Fprintf(pp, "not run: %v\n", err)
		return run
	}
	defer cl.stop()

	rec := scorecard.New(r.sc)
	var mu sync.Mutex
	var pending []flinkautoscaler.Rescale
	var reports []report
	// collected is signalled when the original starts a metric collection:
	// the shadow reads its snapshot then, in the original's phase.
	collected := make(chan struct{}, 1)
	options := flinkautoscaler.Map(opts)
	for k, v := range peerOverrides {
		options[k] = v
	}
	p, err := flinkautoscaler.Start(ctx, flinkautoscaler.Config{
		Artifact: art, JobManager: cl.url, Options: options,
		Log:       &prefixed{w: r.log, prefix: "[operator] "},
		OnRescale: func(rs flinkautoscaler.Rescale) { mu.Lock(); pending = append(pending, rs); mu.Unlock() },
		OnCollect: func(time.Time) {
			select {
			case collected <- struct{}{}:
			default:
			}
		},
		OnReport: func(at time.Time, line string) {
			mu.Lock()
			reports = append(reports, report{at, line})
			mu.Unlock()
		},
	})
	if err != nil {
		run.Status, run.Error = StatusNotRun, err.Error()
		return run
	}
	defer p.Stop()
	fmt.Fprintf(pp, "%s against %s (job %s)\n", art.Describe, cl.url, cl.jobID)
	// On the emulator the job starts once the autoscaler has asked for
	// the jobs (its JVM is up), as the operator runs before the jobs it
	// scales: the JVM's start-up, seconds at idle and a minute on a loaded
	// machine, is not taken from the peer's run (a one-minute run under
	// load never scaled).
	select {
	case <-cl.asked:
	case <-p.Done():
	case <-ctx.Done():
	case <-time.After(peerStartup):
	}
	cl.begin()

	f := newFollower(r.sc)
	var sh *shadow
	var lastSnapshot time.Time
	tick := time.NewTicker(observeEvery)
	defer tick.Stop()
	var failure error
	nextLine := time.Duration(0)
	applied := 0
	collect := false
loop:
	for {
		select {
		case <-ctx.Done():
			failure = errors.New("interrupted before the end")
			break loop
		case <-p.Done():
			failure = p.Err()
			break loop
		case <-cl.done:
			failure = fmt.Errorf("the cluster stopped: %v", cl.err())
			break loop
		case <-tick.C:
		case <-collected:
			collect = true
		}
		gt, err := cl.truth(ctx)
		if err != nil {
			fmt.Fprintf(pp, "reading ground truth: %v\n", err)
			continue
		}
		rec.Observe(gt)
		if sh == nil {
			hdr := recordLine{Scenario: r.sc.Name, Engine: r.cfg.Engine, Timing: r.cfg.Timing}
			if sh, err = newShadow(r.sc, options, cl.url, cl.jobID, time.Now().Add(-gt.Elapsed).UTC(), r.cfg.Record, hdr); err != nil {
				failure = fmt.Errorf("the baseline shadow: %w", err)
				break loop
			}
		}
		mu.Lock()
		seen, logged := pending, reports
		pending, reports = nil, nil
		mu.Unlock()
		for _, rp := range logged {
			if err := sh.report(rp.at, rp.line); err != nil {
				failure = err
				break loop
			}
		}
		for _, rs := range seen {
			if err := sh.rescale(rs); err != nil {
				failure = err
				break loop
			}
			rec.Decision(rs.At, decisionOf(rs, gt))
			if rs.Status == http.StatusOK {
				applied++
			}
			fmt.Fprintf(pp, "%8s  rescale → %s (JobManager: %s)\n", fmtElapsed(gt.Elapsed), targets(rs, gt), answer(rs))
		}
		// After the rescales seen so far, so the stream keeps their order;
		// when the original collects (at most every half interval), else
		// every two intervals without one.
		if since := time.Since(lastSnapshot); collect && since >= shadowEvery/2 || since >= 2*shadowEvery {
			lastSnapshot = time.Now()
			if err := sh.poll(ctx, lastSnapshot.UTC()); err != nil {
				sh.check.Errors++
				sh.check.LastError = err.Error()
			}
		}
		collect = false
		if n, change := f.step(gt); change {
			if err := setTaskManagers(ctx, cl.url, n); err != nil {
				fmt.Fprintf(pp, "setting TaskManagers to %d: %v\n", n, err)
			}
		}
		if gt.Elapsed >= nextLine {
			fmt.Fprintf(pp, "%8s  %s\n", fmtElapsed(gt.Elapsed), stateLine(gt))
			nextLine += 30 * time.Second
		}
		if gt.Elapsed >= r.duration {
			break
		}
	}
	if sh != nil {
		run.Baseline = sh.result()
	}
	st := p.Stats()
	run.Requests, run.Reports, run.Errors = st.Requests, st.Reports, st.Errors
	card := rec.Summary()
	run.Card, run.Series = &card, rec.Series()
	switch {
	case failure != nil:
		run.Status, run.Error = StatusFailed, failure.Error()
	case applied == 0:
		run.Status = StatusNeverScaled
		run.Error = fmt.Sprintf("no rescale accepted in %d rescale requests; %d scaling reports, %d errors logged", len(rec.Series().Decisions), st.Reports, st.Errors)
		if st.LastError != "" {
			run.Error += "; last: " + st.LastError
		}
	default:
		run.Status = StatusOK
	}
	finished(pp, "", run, time.Since(began))
	return run
}

// decisionOf is a rescale as a decision event for the scorecard.
func decisionOf(rs flinkautoscaler.Rescale, gt flinksim.GroundTruth) events.Decision {
	d := events.Decision{Policy: PolicyPeer, JobID: rs.JobID, DecidedAt: rs.At, Rationale: "PUT /jobs/:jobid/resource-requirements: " + answer(rs)}
	for _, v := range gt.Vertices {
		if t, ok := rs.Targets[v.ID]; ok {
			d.Vertices = append(d.Vertices, events.VertexDecision{ID: v.ID, Name: v.Name, Current: v.Parallelism, Target: t})
		}
	}
	return d
}

func answer(rs flinkautoscaler.Rescale) string {
	if rs.Status == http.StatusOK {
		return "accepted"
	}
	return fmt.Sprintf("HTTP %d %s", rs.Status, rs.Error)
}

// targets lists a rescale's targets by vertex name, in job order.
func targets(rs flinkautoscaler.Rescale, gt flinksim.GroundTruth) string {
	var parts []string
	for _, v := range gt.Vertices {
		if t, ok := rs.Targets[v.ID]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", v.Name, t))
		}
	}
	return strings.Join(parts, ", ")
}

func stateLine(gt flinksim.GroundTruth) string {
	p := make([]string, len(gt.Vertices))
	for i, v := range gt.Vertices {
		p[i] = fmt.Sprint(v.Parallelism)
	}
	lag := "∞"
	if !math.IsInf(gt.LagSeconds, 0) {
		lag = fmt.Sprintf("%.1fs", gt.LagSeconds)
	}
	return fmt.Sprintf("load %8.0f/s  parallelism [%s]  TaskManagers %d  lag %s  %s",
		gt.OfferedRate, strings.Join(p, " "), gt.TaskManagers, lag, gt.State)
}

func fmtElapsed(d time.Duration) string { return d.Round(time.Second).String() }

// follower makes TaskManagers follow the peer's resource requirements, as
// Flink's resource manager does for an active (Kubernetes) deployment.
type follower struct {
	layout   slots.Layout
	max      int
	reactive bool
	idleFrom time.Duration // -1 while not idle
}

func newFollower(sc *flinksim.Scenario) *follower {
	groups := map[string]string{}
	for _, v := range sc.Job.Vertices {
		groups[v.Name] = v.SlotSharingGroup
	}
	return &follower{
		layout: slots.Layout{
			PerTaskManager: sc.Cluster.SlotsPerTaskManager, Dedicated: sc.Cluster.SlotSharing == flinksim.SlotSharingDedicated,
			Groups: groups, Standby: sc.Cluster.StandbyTaskManagers,
		},
		max: sc.Cluster.MaxTaskManagers, reactive: sc.Cluster.Scaling == flinksim.ScalingReactive, idleFrom: -1,
	}
}

// step returns the TaskManager count to set, if it is to change: more at
// once, fewer once the surplus has idled for idleRelease. As Flink's
// resource manager, it releases only TaskManagers that run none of the
// job's subtasks (registered idle ones, or ones still starting), never
// one whose slots the job uses, however few of its slots are in use: a
// job spread over more TaskManagers than its requirements need keeps
// them. The emulator and the sandbox remove starting TaskManagers first,
// then idle ones, so a count lowered by at most those removes only them.
// In reactive mode the requirements are the maximum parallelism and say
// nothing: no change.
func (f *follower) step(gt flinksim.GroundTruth) (int, bool) {
	if f.reactive {
		return 0, false
	}
	req := make(map[string]int, len(gt.Vertices))
	for _, v := range gt.Vertices {
		req[v.Name] = max(v.Requirement.Upper, 1)
	}
	want, err := f.layout.TaskManagers(req)
	if err != nil {
		return 0, false
	}
	if f.max > 0 {
		want = min(want, f.max)
	}
	switch {
	case want > gt.TaskManagers:
		f.idleFrom = -1
		return want, true
	case want < gt.TaskManagers && gt.State == flinksim.StateRunning && free(gt) > 0:
		if f.idleFrom < 0 {
			f.idleFrom = gt.Elapsed
		}
		if gt.Elapsed-f.idleFrom >= idleRelease {
			f.idleFrom = -1
			return gt.TaskManagers - min(gt.TaskManagers-want, free(gt)), true
		}
	default:
		f.idleFrom = -1
	}
	return 0, false
}

// free is the TaskManagers that run none of the job's subtasks: the idle
// registered ones and those still starting.
func free(gt flinksim.GroundTruth) int {
	return gt.TaskManagers - gt.RegisteredTaskManagers + gt.IdleTaskManagers
}

// The emulator's control endpoints (served under the same paths by the
// real-Flink sandbox).
const (
	truthPath        = flinksim.ControlPrefix + "groundtruth"
	taskManagersPath = flinksim.ControlPrefix + "taskmanagers"
)

var httpClient = &http.Client{Timeout: 5 * time.Second}

func setTaskManagers(ctx context.Context, base string, n int) error {
	body, _ := json.Marshal(map[string]int{"replicas": n}) // a map of ints always marshals
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+taskManagersPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
	}
	return nil
}
