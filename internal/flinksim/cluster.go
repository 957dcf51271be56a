package flinksim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"sync"
	"time"
)

// Options tune a Cluster beyond its scenario.
type Options struct {
	// Start is the simulated wall-clock time at elapsed 0; the zero value is
	// 2024-01-01T00:00:00Z, so virtual runs are reproducible. `sim` passes
	// the real current time.
	Start time.Time
	// Step is the simulated time one Step advances; default 1 s.
	Step time.Duration
}

// defaultStart is the simulated start of a run without Options.Start.
var defaultStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Cluster is one emulated Flink cluster running the scenario's job. All
// methods are safe for concurrent use; the REST handlers and the clock share
// one mutex.
type Cluster struct {
	mu   sync.Mutex
	sc   *Scenario
	opts Options

	elapsed time.Duration // simulated time since Start
	load    *loadGen
	offered float64 // records/s offered this step, noise included

	jobID    string
	vertices []*vertex // Job.Vertices order (topological)
	sources  []int     // indexes of source vertices
	gain     [][]float64
	reach    [][]bool // reach[u][d]: d is a strict descendant of u
	group    []int    // slot-sharing group per vertex
	groups   int
	scale    []float64 // scratch: per-source throttle factor

	sched scheduler
	ckpt  checkpoints
	tms   []*taskManager
	tmSeq int

	dist disturbances

	view  jobView      // REST view cache (reference §3: 3 s)
	store *metricStore // JobManager metric store, fetched lazily
}

// New builds the cluster of sc at elapsed 0: the initial TaskManagers are
// registered and the job is submitted at its initial parallelism.
func New(sc *Scenario, opts Options) *Cluster {
	if opts.Start.IsZero() {
		opts.Start = defaultStart
	}
	if opts.Step <= 0 {
		opts.Step = time.Second
	}
	c := &Cluster{sc: sc, opts: opts, load: newLoadGen(&sc.Load, sc.Seed, 0)}
	c.jobID = hexID(sc.Seed, "job", sc.Job.Name)
	c.buildTopology()
	for range sc.Cluster.InitialTaskManagers {
		c.addTaskManager(0)
	}
	c.submit()
	c.offered, _ = c.load.rate(0)
	return c
}

// hexID derives a deterministic 32-hex id (Flink's JobID and JobVertexID
// shape) from the seed and names.
func hexID(seed int64, parts ...string) string {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func (c *Cluster) buildTopology() {
	vs := c.sc.Job.Vertices
	idx := make(map[string]int, len(vs))
	for i := range vs {
		idx[vs[i].Name] = i
		c.vertices = append(c.vertices, newVertex(&vs[i], hexID(c.sc.Seed, "vertex", c.sc.Job.Name, vs[i].Name)))
		if vs[i].IsSource() {
			c.sources = append(c.sources, i)
		}
	}
	for i := range vs {
		for _, in := range vs[i].Inputs {
			c.vertices[i].inputs = append(c.vertices[i].inputs, idx[in])
		}
	}
	c.scale = make([]float64, len(c.sources))
	c.initDisturbances()
	c.buildGains()
	n := len(vs)
	c.reach = make([][]bool, n)
	for u := range n {
		c.reach[u] = make([]bool, n)
	}
	for u := n - 1; u >= 0; u-- { // descendants of u come after u
		for d := u + 1; d < n; d++ {
			if !slices.Contains(c.vertices[d].inputs, u) {
				continue
			}
			c.reach[u][d] = true
			for x := range n {
				c.reach[u][x] = c.reach[u][x] || c.reach[d][x]
			}
		}
	}
	c.group, c.groups = slotGroups(vs, c.sc.Cluster.SlotSharing == SlotSharingDedicated)
}

// buildGains sets gain[j][i], the records vertex i receives per record
// source j reads, from this step's selectivities.
func (c *Cluster) buildGains() {
	if c.gain == nil {
		c.gain = make([][]float64, len(c.sources))
		for j := range c.sources {
			c.gain[j] = make([]float64, len(c.vertices))
		}
	}
	for j, s := range c.sources {
		g := c.gain[j]
		clear(g)
		g[s] = 1
		for i, v := range c.vertices { // topological order: inputs come first
			for _, u := range v.inputs {
				g[i] += g[u] * c.selectivity(u)
			}
		}
	}
}

// JobID is the job's 32-hex id.
func (c *Cluster) JobID() string { return c.jobID }

// VertexIDs returns the 32-hex vertex ids in Job.Vertices order.
func (c *Cluster) VertexIDs() []string {
	ids := make([]string, len(c.vertices))
	for i, v := range c.vertices {
		ids[i] = v.id
	}
	return ids
}

// Scenario returns the scenario the cluster runs.
func (c *Cluster) Scenario() *Scenario { return c.sc }

// Now returns the simulated wall-clock time.
func (c *Cluster) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

func (c *Cluster) now() time.Time { return c.opts.Start.Add(c.elapsed) }

func (c *Cluster) nowMs() int64 { return c.now().UnixMilli() }

// Elapsed returns the simulated time since the start.
func (c *Cluster) Elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.elapsed
}

// Step advances simulated time by one Options.Step. It does not allocate in
// steady state (no rescale, no TaskManager change).
func (c *Cluster) Step() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.step()
}

// Advance steps until d of simulated time has passed.
func (c *Cluster) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	end := c.elapsed + d
	for c.elapsed < end {
		c.step()
	}
}

func (c *Cluster) step() {
	dt := c.opts.Step
	c.offered, _ = c.load.rate(c.elapsed)
	c.disturb(dt)
	c.registerTaskManagers()
	c.schedule()
	running := c.sched.state == StateRunning
	if running {
		c.flow(dt)
	} else {
		c.accumulateBacklog(dt)
	}
	c.elapsed += dt
	if running {
		c.account(dt)
		c.checkpoint()
	}
	c.schedule()
}
