package kedascaler

import (
	"context"
	"log/slog"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/discovery"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// Observed is a job as last seen in its cluster: the scaler answers a job
// it has seen from then on, with the registered TaskManagers until a
// decision declares a count, and its activity from the live state.
type Observed struct {
	Cluster      string
	JobID        string
	JobName      string
	Running      bool
	TaskManagers int // registered with the cluster's JobManager
	At           time.Time
}

// Source is the part of a JobManager's REST API the poller reads.
type Source interface {
	Overview(ctx context.Context) (flink.Overview, error)
	JobsOverview(ctx context.Context) ([]flink.JobOverview, error)
}

// Poller keeps a View's live state current by polling every cluster's
// JobManager. It never runs inside an RPC.
type Poller struct {
	View     *View
	Clusters map[string]Source
	// Discovered, when set, adds the clusters found in Kubernetes (those
	// not in Clusters); NewSource makes their clients.
	Discovered interface{ Targets() []discovery.Target }
	NewSource  func(url string) (Source, error)
	Interval   time.Duration
	Timeout    time.Duration // per poll of one cluster
	Log        *slog.Logger
	Now        func() time.Time

	sources map[string]Source // discovered clusters' clients, by URL
}

// Run polls at once and then every Interval until ctx ends. It blocks and
// returns nil. A cluster that cannot be read keeps what was last seen of it
// (logged at Warn once per failure streak).
func (p *Poller) Run(ctx context.Context) error {
	failing := map[string]bool{}
	tick := time.NewTicker(p.Interval)
	defer tick.Stop()
	for {
		for name, src := range p.all() {
			p.View.Expect(name)
			err := p.pollOne(ctx, name, src)
			switch {
			case err != nil && !failing[name] && ctx.Err() == nil:
				p.Log.Warn("keda scaler cannot read the cluster; answering from what was last seen", "cluster", name, "reason", err.Error())
				failing[name] = true
			case err == nil && failing[name]:
				p.Log.Info("keda scaler reads the cluster again", "cluster", name)
				failing[name] = false
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (p *Poller) pollOne(ctx context.Context, cluster string, src Source) error {
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	jobs, err := src.JobsOverview(ctx)
	if err != nil {
		return err
	}
	ov, err := src.Overview(ctx)
	if err != nil {
		return err
	}
	now := p.Now().UTC()
	seen := make([]Observed, 0, len(jobs))
	for _, j := range jobs {
		seen = append(seen, Observed{Cluster: cluster, JobID: j.ID, JobName: j.Name,
			Running: j.State == flink.StateRunning, TaskManagers: ov.TaskManagers, At: now})
	}
	p.View.Observe(cluster, seen)
	return nil
}

// all is the configured clusters and the discovered ones.
func (p *Poller) all() map[string]Source {
	if p.Discovered == nil {
		return p.Clusters
	}
	all := make(map[string]Source, len(p.Clusters))
	for name, src := range p.Clusters {
		all[name] = src
	}
	if p.sources == nil {
		p.sources = map[string]Source{}
	}
	for _, t := range p.Discovered.Targets() {
		if _, ok := all[t.Cluster]; ok {
			continue
		}
		src, ok := p.sources[t.URL]
		if !ok {
			var err error
			if src, err = p.NewSource(t.URL); err != nil {
				p.Log.Warn("keda scaler cannot reach a discovered cluster", "cluster", t.Cluster, "reason", err.Error())
				continue
			}
			p.sources[t.URL] = src
		}
		all[t.Cluster] = src
	}
	return all
}
