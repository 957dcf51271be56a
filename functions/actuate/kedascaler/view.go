// Package kedascaler serves the desired TaskManager count of Flink jobs to
// KEDA as an external scaler (gRPC, KEDA's externalscaler.proto). Answers come
// from an in-memory view: the desired-TM KV bucket kept current by a watch,
// and each job's live state kept current by a Poller. A job is answered from
// the first time either knows it; no RPC ever calls Flink or NATS.
package kedascaler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Sentinel errors of View.Lookup.
var (
	// ErrNotFound: the job is neither in the bucket nor seen in its cluster.
	ErrNotFound = errors.New("job not found")
	// ErrNotReady: the view has not loaded the bucket yet, or has not
	// read the job's cluster yet (Expect).
	ErrNotReady = errors.New("desired TaskManager view not loaded yet")
)

// Desired is the value of a job's entry in events.BucketDesiredTMs, keyed
// events.KVKey(cluster, jobID). actuate writes it; the scaler serves it.
type Desired struct {
	Cluster      string `json:"cluster"`
	JobID        string `json:"jobId"`
	JobName      string `json:"jobName"`
	TaskManagers int    `json:"taskManagers"`
	// Running is true when the job was RUNNING at the last actuation;
	// Lookup answers the live state instead once the job has been seen.
	Running bool `json:"running"`
	// Mode is the scaling mode of the decision that set the count.
	Mode      string    `json:"mode,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// View is an in-memory copy of the desired-TM bucket. It is safe for
// concurrent use; Watch fills it, Lookup and Changed read it.
type View struct {
	mu      sync.RWMutex
	byKey   map[string]Desired
	byName  map[nameKey]map[string]struct{} // cluster and job name → keys
	live    map[string]map[string]Observed  // cluster → job id → last seen
	polls   map[string]bool                 // clusters a Poller reads (Expect)
	changed chan struct{}                   // closed and replaced on every change
	ready   chan struct{}                   // closed once the initial values are loaded
	once    sync.Once
}

// NewView returns an empty view; run Watch to fill it.
func NewView() *View {
	return &View{byKey: map[string]Desired{}, byName: map[nameKey]map[string]struct{}{}, live: map[string]map[string]Observed{},
		polls: map[string]bool{}, changed: make(chan struct{}), ready: make(chan struct{})}
}

// Watch follows kv (the desired-TM bucket) until ctx ends or the watch
// fails. It blocks; it returns nil when ctx ends. Entries that do not decode
// are ignored.
func (v *View) Watch(ctx context.Context, kv jetstream.KeyValue) error {
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", events.BucketDesiredTMs, err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("watch %s: updates closed", events.BucketDesiredTMs)
			}
			if e == nil {
				v.once.Do(func() { close(v.ready) })
				continue
			}
			v.apply(e)
		}
	}
}

type nameKey struct{ cluster, name string }

// Ready is closed once Watch has loaded the bucket's current values.
func (v *View) Ready() <-chan struct{} { return v.ready }

func (v *View) apply(e jetstream.KeyValueEntry) {
	var d Desired
	del := e.Operation() != jetstream.KeyValuePut
	if !del && json.Unmarshal(e.Value(), &d) != nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if old, ok := v.byKey[e.Key()]; ok {
		n := nameKey{old.Cluster, old.JobName}
		delete(v.byName[n], e.Key())
		if len(v.byName[n]) == 0 {
			delete(v.byName, n)
		}
		delete(v.byKey, e.Key())
	}
	if !del {
		v.byKey[e.Key()] = d
		n := nameKey{d.Cluster, d.JobName}
		if v.byName[n] == nil {
			v.byName[n] = map[string]struct{}{}
		}
		v.byName[n][e.Key()] = struct{}{}
	}
	v.signal()
}

// signal wakes every Changed waiter; v.mu is held for writing.
func (v *View) signal() {
	close(v.changed)
	v.changed = make(chan struct{})
}

// Observe replaces what is known live of cluster's jobs with jobs. Waiters
// are woken when a job's activity or registered TaskManagers changed.
func (v *View) Observe(cluster string, jobs []Observed) {
	next := make(map[string]Observed, len(jobs))
	for _, j := range jobs {
		next[j.JobID] = j
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	prev := v.live[cluster]
	v.live[cluster] = next
	moved := len(prev) != len(next)
	for id, j := range next {
		if p, ok := prev[id]; !ok || p.Running != j.Running || p.TaskManagers != j.TaskManagers {
			moved = true
		}
	}
	if moved {
		v.signal()
	}
}

// Expect says that a Poller reads cluster: until its first read, a job
// of it that the bucket does not hold is not known yet (ErrNotReady), not
// absent (ErrNotFound).
func (v *View) Expect(cluster string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.polls[cluster] = true
}

// Changed returns a channel closed at the next change of any entry. Take it
// before reading, so no change is missed between the read and the wait.
func (v *View) Changed() <-chan struct{} {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.changed
}

// Lookup returns the desired count of job (a job id or a job name) in
// cluster: the declared count when the bucket has one, else the TaskManagers
// registered when the job was last seen; Running is the live state once its
// cluster has been seen (a job id it no longer lists does not run). A name
// held by several job ids answers the running, then most recently updated
// one; a declared run that is gone yields to a running one seen live.
// Errors: ErrNotReady, ErrNotFound.
func (v *View) Lookup(cluster, job string) (Desired, error) {
	select {
	case <-v.ready:
	default:
		return Desired{}, ErrNotReady
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	d, declared := v.declared(cluster, job)
	if declared {
		if running, known := v.running(cluster, d.JobID); known {
			d.Running = running
		}
	}
	o, seen := v.seen(cluster, job)
	switch {
	case declared && (!seen || o.JobID == d.JobID || d.Running || !o.Running):
		return d, nil
	case seen:
		// Not declared yet, or declared for an older run of the same name.
		return Desired{Cluster: cluster, JobID: o.JobID, JobName: o.JobName, TaskManagers: o.TaskManagers,
			Running: o.Running, UpdatedAt: o.At}, nil
	}
	if _, polled := v.live[cluster]; !polled && v.polls[cluster] {
		return Desired{}, fmt.Errorf("%w: cluster %q not read yet (job %q)", ErrNotReady, cluster, job)
	}
	return Desired{}, fmt.Errorf("%w: cluster %q job %q", ErrNotFound, cluster, job)
}

// declared is the bucket's entry for job (id, or name); v.mu is held.
func (v *View) declared(cluster, job string) (Desired, bool) {
	if d, ok := v.byKey[events.KVKey(cluster, job)]; ok {
		return d, true
	}
	var best Desired
	found := false
	for key := range v.byName[nameKey{cluster, job}] {
		d := v.byKey[key]
		if !found || better(d, best) {
			best, found = d, true
		}
	}
	return best, found
}

// running is whether job id runs in cluster now; known is false when the
// cluster has not been seen (v.mu is held). A job id the cluster no longer
// lists does not run.
func (v *View) running(cluster, jobID string) (running, known bool) {
	jobs, polled := v.live[cluster]
	if !polled {
		return false, false
	}
	return jobs[jobID].Running, true
}

// seen is the live state of job (id, or name: the running one first);
// v.mu is held.
func (v *View) seen(cluster, job string) (Observed, bool) {
	jobs := v.live[cluster]
	if o, ok := jobs[job]; ok {
		return o, true
	}
	var best Observed
	found := false
	for _, o := range jobs {
		if o.JobName == job && (!found || (o.Running && !best.Running)) {
			best, found = o, true
		}
	}
	return best, found
}

// better prefers a running job, then the most recent update.
func better(a, b Desired) bool {
	if a.Running != b.Running {
		return a.Running
	}
	return a.UpdatedAt.After(b.UpdatedAt)
}
