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
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinkautoscaler"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// errNoSandbox: this build has no real-Flink sandbox to run on.
var errNoSandbox = errors.New("--engine flink needs the real-Flink sandbox (package internal/sandbox), which this build does not have yet")

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
}

// startCluster starts a fresh cluster for the scenario, in real time.
func (r *runner) startCluster(ctx context.Context) (*cluster, error) {
	if r.cfg.Engine == EngineFlink {
		return nil, errNoSandbox
	}
	c := flinksim.New(r.sc, flinksim.Options{Start: time.Now().UTC().Truncate(time.Millisecond)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }() // ends with Close
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var runErr error
	go func() {
		runErr = c.Run(runCtx, 1, nil)
		close(done)
	}()
	return &cluster{
		url: "http://" + ln.Addr().String(), jobID: c.JobID(), done: done,
		stop: func() { cancel(); <-done; _ = srv.Close() },
		err: func() error {
			if errors.Is(runErr, context.Canceled) {
				return nil
			}
			return runErr
		},
	}, nil
}

// peer runs the operator's autoscaler against a fresh cluster.
func (r *runner) peer(ctx context.Context) Run {
	run := Run{Policy: PolicyPeer}
	opts := peerOptions(r.cfg.Timing)
	for _, o := range opts {
		run.Options = append(run.Options, Option{Policy: PolicyPeer, Key: o.Key, Value: o.Value, Default: o.Default, Why: o.Why})
	}
	pp := &prefixed{w: r.progress, prefix: "[operator]    "}
	began := time.Now()
	defer func() { run.WallSeconds = time.Since(began).Seconds() }()
	art, err := flinkautoscaler.Resolve(ctx, r.cfg.PeerVersion, pp)
	if err != nil {
		run.Status, run.Error, run.What = StatusNotRun, err.Error(), "flink-autoscaler "+r.cfg.PeerVersion
		fmt.Fprintf(pp, "not run: %v\n", err)
		return run
	}
	run.What = art.Describe
	cl, err := r.startCluster(ctx)
	if err != nil {
		run.Status, run.Error = StatusNotRun, err.Error()
		fmt.Fprintf(pp, "not run: %v\n", err)
		return run
	}
	defer cl.stop()

	rec := scorecard.New(r.sc)
	var mu sync.Mutex
	var pending []flinkautoscaler.Rescale
	p, err := flinkautoscaler.Start(ctx, flinkautoscaler.Config{
		Artifact: art, JobManager: cl.url, Options: flinkautoscaler.Map(opts),
		Log:       &prefixed{w: r.log, prefix: "[operator] "},
		OnRescale: func(rs flinkautoscaler.Rescale) { mu.Lock(); pending = append(pending, rs); mu.Unlock() },
	})
	if err != nil {
		run.Status, run.Error = StatusNotRun, err.Error()
		return run
	}
	defer p.Stop()
	fmt.Fprintf(pp, "%s against %s (job %s)\n", art.Describe, cl.url, cl.jobID)

	f := newFollower(r.sc)
	tick := time.NewTicker(observeEvery)
	defer tick.Stop()
	var failure error
	nextLine := time.Duration(0)
	applied := 0
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
		}
		gt, err := groundTruth(ctx, cl.url)
		if err != nil {
			fmt.Fprintf(pp, "reading ground truth: %v\n", err)
			continue
		}
		rec.Observe(gt)
		mu.Lock()
		seen := pending
		pending = nil
		mu.Unlock()
		for _, rs := range seen {
			rec.Decision(rs.At, decisionOf(rs, gt))
			if rs.Status == http.StatusOK {
				applied++
			}
			fmt.Fprintf(pp, "%8s  rescale → %s (JobManager: %s)\n", fmtElapsed(gt.Elapsed), targets(rs, gt), answer(rs))
		}
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
	fmt.Fprintf(pp, "run %s after %s\n", run.Status, time.Since(began).Round(time.Second))
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
// once, fewer once the surplus has idled for idleRelease. In reactive mode
// the requirements are the maximum parallelism and say nothing: no change.
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
	case want < gt.TaskManagers && gt.State == flinksim.StateRunning && gt.SlotsInUse <= want*f.layout.PerTaskManager:
		if f.idleFrom < 0 {
			f.idleFrom = gt.Elapsed
		}
		if gt.Elapsed-f.idleFrom >= idleRelease {
			f.idleFrom = -1
			return want, true
		}
	default:
		f.idleFrom = -1
	}
	return 0, false
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

// truthDoc is the control endpoint's ground truth.
type truthDoc struct {
	Time                   time.Time       `json:"time"`
	ElapsedSeconds         float64         `json:"elapsedSeconds"`
	State                  string          `json:"state"`
	OfferedRate            float64         `json:"offeredRate"`
	TaskManagers           int             `json:"taskManagers"`
	RegisteredTaskManagers int             `json:"registeredTaskManagers"`
	SlotsTotal             int             `json:"slotsTotal"`
	SlotsInUse             int             `json:"slotsInUse"`
	Backlog                float64         `json:"backlog"`
	LagSeconds             json.RawMessage `json:"lagSeconds"`
	Restarts               int             `json:"restarts"`
	DowntimeSeconds        float64         `json:"downtimeSeconds"`
	Vertices               []struct {
		ID          string          `json:"id"`
		Name        string          `json:"name"`
		Parallelism int             `json:"parallelism"`
		Requirement flinksim.Bounds `json:"requirement"`
		Backlog     float64         `json:"backlog"`
	} `json:"vertices"`
}

func groundTruth(ctx context.Context, base string) (flinksim.GroundTruth, error) {
	var gt flinksim.GroundTruth
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+truthPath, nil)
	if err != nil {
		return gt, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return gt, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return gt, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var d truthDoc
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return gt, err
	}
	gt = flinksim.GroundTruth{
		Time: d.Time, Elapsed: time.Duration(d.ElapsedSeconds * float64(time.Second)), State: d.State,
		OfferedRate: d.OfferedRate, TaskManagers: d.TaskManagers, RegisteredTaskManagers: d.RegisteredTaskManagers,
		SlotsTotal: d.SlotsTotal, SlotsInUse: d.SlotsInUse, Backlog: d.Backlog, Restarts: d.Restarts,
		Downtime: time.Duration(d.DowntimeSeconds * float64(time.Second)),
	}
	switch s := strings.Trim(string(d.LagSeconds), `"`); s {
	case "Infinity":
		gt.LagSeconds = math.Inf(1)
	default:
		if err := json.Unmarshal([]byte(s), &gt.LagSeconds); err != nil {
			return gt, fmt.Errorf("lagSeconds %s: %w", d.LagSeconds, err)
		}
	}
	for _, v := range d.Vertices {
		gt.Vertices = append(gt.Vertices, flinksim.VertexTruth{ID: v.ID, Name: v.Name, Parallelism: v.Parallelism, Requirement: v.Requirement, Backlog: v.Backlog})
	}
	return gt, nil
}
