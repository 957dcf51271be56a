// Package kedascaler serves the desired TaskManager count of Flink jobs to
// KEDA as an external scaler (gRPC, KEDA's externalscaler.proto). Answers come
// from an in-memory view of the desired-TM KV bucket kept current by a watch;
// no RPC ever calls Flink or NATS.
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
	// ErrNotFound: no desired count is known for the cluster and job.
	ErrNotFound = errors.New("job not found")
	// ErrNotReady: the view has not loaded the bucket yet.
	ErrNotReady = errors.New("desired TaskManager view not loaded yet")
)

// Desired is the value of a job's entry in events.BucketDesiredTMs, keyed
// events.KVKey(cluster, jobID). actuate writes it; the scaler serves it.
type Desired struct {
	Cluster      string `json:"cluster"`
	JobID        string `json:"jobId"`
	JobName      string `json:"jobName"`
	TaskManagers int    `json:"taskManagers"`
	// Running is true when the job was RUNNING at the last actuation.
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
	changed chan struct{}                   // closed and replaced on every change
	ready   chan struct{}                   // closed once the initial values are loaded
	once    sync.Once
}

// NewView returns an empty view; run Watch to fill it.
func NewView() *View {
	return &View{byKey: map[string]Desired{}, byName: map[nameKey]map[string]struct{}{}, changed: make(chan struct{}), ready: make(chan struct{})}
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
	close(v.changed)
	v.changed = make(chan struct{})
}

// Changed returns a channel closed at the next change of any entry. Take it
// before reading, so no change is missed between the read and the wait.
func (v *View) Changed() <-chan struct{} {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.changed
}

// Lookup returns the desired count of job (a job id or a job name) in
// cluster. A name held by several job ids answers the most recently updated
// running one. Errors: ErrNotReady, ErrNotFound.
func (v *View) Lookup(cluster, job string) (Desired, error) {
	select {
	case <-v.ready:
	default:
		return Desired{}, ErrNotReady
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	if d, ok := v.byKey[events.KVKey(cluster, job)]; ok {
		return d, nil
	}
	var best Desired
	found := false
	for key := range v.byName[nameKey{cluster, job}] {
		d := v.byKey[key]
		if !found || better(d, best) {
			best, found = d, true
		}
	}
	if !found {
		return Desired{}, fmt.Errorf("%w: cluster %q job %q", ErrNotFound, cluster, job)
	}
	return best, nil
}

// better prefers a running job, then the most recent update.
func better(a, b Desired) bool {
	if a.Running != b.Running {
		return a.Running
	}
	return a.UpdatedAt.After(b.UpdatedAt)
}
