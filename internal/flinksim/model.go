package flinksim

import (
	"math"
	"time"
)

// The queueing model is fluid: every step, each source offers what arrived
// plus its backlog; vertex capacities bound the flow; a saturated vertex
// throttles every source that feeds it (backpressure) until no vertex takes
// in more than it can process. Records are conserved along every edge:
// a vertex emits in·selectivity and each consumer receives all of it.

// vertex is the state of one job vertex.
type vertex struct {
	spec   *VertexSpec
	id     string
	inputs []int

	p          int       // parallelism of the current execution graph
	capacity   float64   // input records/s sustainable at p
	perSubtask float64   // records/s one subtask processes at p
	shares     []float64 // per subtask fraction of the input
	subtasks   []subtask
	ids        *vertexMetricIDs // metric ids at p, built on first use
	// listing is the last subtask metric listing served: the ids it was
	// built from, in fetch order, and its answer.
	listing struct {
		ids  []string
		body []byte
	}

	in, out              float64 // records/s this step
	saturated, throttled bool

	// Sources only, in records.
	arrival      float64 // records/s offered this step
	avail        float64 // records/s readable this step (arrival + backlog)
	backlog      float64 // pending records
	position     float64 // records consumed, net of rewinds to checkpoints
	offeredTotal float64
	replayed     float64 // records re-read after rewinds
}

func newVertex(spec *VertexSpec, id string) *vertex {
	return &vertex{spec: spec, id: id}
}

// deploy sets a new parallelism: fresh subtasks with zeroed counters.
func (v *vertex) deploy(p int) {
	v.p = p
	v.capacity = vertexCapacity(v.spec, p)
	v.perSubtask = scaled(v.spec, p) / float64(p)
	v.shares = make([]float64, p)
	subtaskShares(v.spec, p, v.shares)
	v.subtasks = make([]subtask, p)
	v.in, v.out, v.saturated, v.throttled = 0, 0, false, false
}

// saturationTolerance treats a vertex within this relative distance of its
// capacity as saturated.
const saturationTolerance = 1e-9

// maxThrottleRounds bounds the backpressure fixpoint; one round suffices for
// a single source, a few for several sources merging.
const maxThrottleRounds = 64

func (c *Cluster) flow(dt time.Duration) {
	secs := dt.Seconds()
	perSource := c.offered / float64(len(c.sources))
	for j, s := range c.sources {
		v := c.vertices[s]
		v.arrival = perSource
		v.avail = v.backlog/secs + perSource
		c.scale[j] = 1
	}
	for range maxThrottleRounds {
		c.propagate()
		if !c.throttle() {
			break
		}
	}
	c.propagate()
	for _, v := range c.vertices {
		v.saturated = v.in >= v.capacity*c.dist.gcFactor*(1-saturationTolerance)
	}
	for u, v := range c.vertices {
		v.throttled = false
		for d, below := range c.reach[u] {
			if below && c.vertices[d].saturated {
				v.throttled = true
				break
			}
		}
	}
	for _, s := range c.sources {
		v := c.vertices[s]
		v.offeredTotal += v.arrival * secs
		v.position += v.in * secs
		v.backlog = max(0, v.backlog+(v.arrival-v.in)*secs)
	}
}

// propagate sets every vertex's in and out rates from the sources' scaled
// readable rates.
func (c *Cluster) propagate() {
	for i, v := range c.vertices {
		v.in = 0
		for j, s := range c.sources {
			v.in += c.scale[j] * c.vertices[s].avail * c.gain[j][i]
		}
		v.out = v.in * c.selectivity(i)
	}
}

// throttle scales down every source feeding a vertex over capacity by the
// worst overload it feeds; it reports whether anything changed.
func (c *Cluster) throttle() bool {
	changed := false
	for j := range c.sources {
		f := 1.0
		for i, v := range c.vertices {
			if capacity := v.capacity * c.dist.gcFactor; c.gain[j][i] > 0 && v.in > capacity {
				f = min(f, capacity/v.in)
			}
		}
		if f < 1-saturationTolerance {
			c.scale[j] *= f
			changed = true
		}
	}
	return changed
}

// accumulateBacklog is a step without processing (the job is not running):
// everything offered waits in the sources.
func (c *Cluster) accumulateBacklog(dt time.Duration) {
	secs := dt.Seconds()
	perSource := c.offered / float64(len(c.sources))
	for _, v := range c.vertices {
		v.in, v.out, v.saturated, v.throttled = 0, 0, false, false
	}
	for _, s := range c.sources {
		v := c.vertices[s]
		v.arrival = perSource
		v.offeredTotal += perSource * secs
		v.backlog += perSource * secs
	}
}

// account charges one step of processing to every subtask: records, and the
// split of the step into busy, idle and backpressured time.
func (c *Cluster) account(dt time.Duration) {
	secs := dt.Seconds()
	for vi, v := range c.vertices {
		sel := c.selectivity(vi)
		for i := range v.subtasks {
			st := &v.subtasks[i]
			load := v.in * v.shares[i]
			busy := 0.0
			if v.perSubtask > 0 {
				busy = c.measuredBusy(v, st, min(1, load/v.perSubtask), load)
			}
			st.busy, st.idle, st.bp = busy, 1-busy, 0
			if v.throttled && v.shares[i] > 0 {
				st.idle, st.bp = 0, 1-busy
			}
			st.recordsIn += load * secs
			st.recordsOut += load * sel * secs
			st.busyMs += st.busy * 1000 * secs
			st.idleMs += st.idle * 1000 * secs
			st.bpMs += st.bp * 1000 * secs
		}
	}
	c.tickMetrics()
}

// lagSeconds is pending records over the current offered rate; +Inf when
// records wait but nothing is offered.
func lagSeconds(pending, rate float64) float64 {
	switch {
	case pending <= 0:
		return 0
	case rate <= 0:
		return math.Inf(1)
	}
	return pending / rate
}
