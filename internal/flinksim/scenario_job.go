package flinksim

import (
	"fmt"
	"math"
	"time"
)

// Defaults of the cluster block (docs/scenarios.md "cluster"; the restart
// is DS2's measured 30–50 s reconfiguration cost).
const (
	defaultSlotsPerTaskManager = 1
	defaultRestart             = 30 * time.Second
	defaultStabilization       = 10 * time.Second // Flink's resource-stabilization-timeout
	defaultCheckpointInterval  = 60 * time.Second
	maxKeyGroups               = 32768 // Flink's upper limit of max parallelism
)

func buildJob(raw *rawJob, ps *problems) JobSpec {
	if raw == nil {
		ps.add("job", "required")
		return JobSpec{}
	}
	job := JobSpec{Name: raw.Name}
	if raw.Name == "" {
		ps.add("job.name", "required")
	}
	if len(raw.Vertices) == 0 {
		ps.add("job.vertices", "at least one vertex is required")
		return job
	}
	index := map[string]int{}
	for i, rv := range raw.Vertices {
		path := fmt.Sprintf("job.vertices[%d]", i)
		switch _, dup := index[rv.Name]; {
		case rv.Name == "":
			ps.add(path+".name", "required")
		case dup:
			ps.add(path+".name", "duplicate vertex name %q", rv.Name)
		default:
			index[rv.Name] = i
		}
	}
	vertices := make([]VertexSpec, len(raw.Vertices))
	for i, rv := range raw.Vertices {
		vertices[i] = buildVertex(rv, fmt.Sprintf("job.vertices[%d]", i), index, ps)
	}
	order, ok := topoOrder(vertices, index, ps)
	if !ok {
		return JobSpec{Name: raw.Name, Vertices: vertices}
	}
	for _, i := range order {
		job.Vertices = append(job.Vertices, vertices[i])
	}
	return job
}

func buildVertex(rv rawVertex, path string, index map[string]int, ps *problems) VertexSpec {
	v := VertexSpec{
		Name: rv.Name, Inputs: rv.Inputs, Keyed: rv.Keyed,
		Parallelism: 1, ScalingExponent: 1, Selectivity: 1,
		SlotSharingGroup: rv.SlotSharingGroup,
	}
	for j, in := range rv.Inputs {
		p := fmt.Sprintf("%s.inputs[%d]", path, j)
		switch _, ok := index[in]; {
		case !ok:
			ps.add(p, "unknown vertex %q", in)
		case in == rv.Name:
			ps.add(p, "vertex %q cannot be its own input", in)
		}
		for _, prev := range rv.Inputs[:j] {
			if prev == in {
				ps.add(p, "duplicate input %q", in)
			}
		}
	}
	if rv.Parallelism != nil {
		v.Parallelism = *rv.Parallelism
		if v.Parallelism < 1 {
			ps.add(path+".parallelism", "must be at least 1, got %d", v.Parallelism)
		}
	}
	v.MaxParallelism = defaultMaxParallelism(v.Parallelism)
	if rv.MaxParallelism != nil {
		v.MaxParallelism = *rv.MaxParallelism
		switch {
		case v.MaxParallelism < 1:
			ps.add(path+".maxParallelism", "must be positive, got %d", v.MaxParallelism)
		case v.MaxParallelism > maxKeyGroups:
			ps.add(path+".maxParallelism", "must be at most %d, got %d", maxKeyGroups, v.MaxParallelism)
		case v.Parallelism > v.MaxParallelism:
			ps.add(path+".parallelism", "%d exceeds maxParallelism %d", v.Parallelism, v.MaxParallelism)
		}
	}
	buildVertexRates(rv, path, &v, ps)
	buildVertexRuntime(rv.rawVertexRuntime, path, &v, ps)
	return v
}

func buildVertexRates(rv rawVertex, path string, v *VertexSpec, ps *problems) {
	switch {
	case rv.Capacity == nil:
		ps.add(path+".capacity", "required (records/s one subtask can process)")
	case !(*rv.Capacity > 0) || math.IsInf(*rv.Capacity, 1):
		ps.add(path+".capacity", "must be a positive number, got %g", *rv.Capacity)
	default:
		v.Capacity = *rv.Capacity
	}
	if rv.ScalingExponent != nil {
		v.ScalingExponent = *rv.ScalingExponent
		if !(v.ScalingExponent > 0 && v.ScalingExponent <= 2) {
			ps.add(path+".scalingExponent", "must be in (0, 2], got %g", v.ScalingExponent)
		}
	}
	if rv.SerialFraction != nil {
		v.SerialFraction = *rv.SerialFraction
		switch {
		case !(v.SerialFraction >= 0 && v.SerialFraction < 1):
			ps.add(path+".serialFraction", "must be in [0, 1), got %g", v.SerialFraction)
		case rv.ScalingExponent != nil && v.ScalingExponent != 1:
			ps.add(path+".serialFraction", "cannot be combined with scalingExponent: pick one scaling curve")
		}
	}
	if rv.Selectivity != nil {
		v.Selectivity = *rv.Selectivity
		if !(v.Selectivity >= 0) || math.IsInf(v.Selectivity, 1) {
			ps.add(path+".selectivity", "must be a non-negative number, got %g", v.Selectivity)
		}
	}
	if rv.Partitions != nil {
		v.Partitions = *rv.Partitions
		switch {
		case len(rv.Inputs) > 0:
			ps.add(path+".partitions", "only sources (vertices without inputs) have partitions")
		case v.Partitions < 1:
			ps.add(path+".partitions", "must be at least 1, got %d", v.Partitions)
		}
	}
	if rv.Keyed && len(rv.Inputs) == 0 {
		ps.add(path+".keyed", "a source has no keyed input")
	}
}

// defaultMaxParallelism is Flink's max parallelism for an operator that does
// not set one: min(max(roundUpToPowerOfTwo(p + p/2), 128), 32768).
func defaultMaxParallelism(p int) int {
	n := 1
	for n < p+p/2 {
		n <<= 1
	}
	return min(max(n, 128), maxKeyGroups)
}

// topoOrder returns vertex indexes with every vertex after its inputs, or
// reports a cycle. Ties keep file order.
func topoOrder(vs []VertexSpec, index map[string]int, ps *problems) ([]int, bool) {
	const (
		unseen = iota
		active
		done
	)
	state := make([]int, len(vs))
	order := make([]int, 0, len(vs))
	var visit func(i int, stack []string) bool
	visit = func(i int, stack []string) bool {
		switch state[i] {
		case done:
			return true
		case active:
			ps.add(fmt.Sprintf("job.vertices[%d].inputs", i), "cycle: %s", cyclePath(stack, vs[i].Name))
			return false
		}
		state[i] = active
		for _, in := range vs[i].Inputs {
			j, ok := index[in]
			if !ok || j == i {
				continue // reported by buildVertex
			}
			if !visit(j, append(stack, vs[i].Name)) {
				return false
			}
		}
		state[i] = done
		order = append(order, i)
		return true
	}
	for i := range vs {
		if !visit(i, nil) {
			return nil, false
		}
	}
	return order, true
}

func cyclePath(stack []string, back string) string {
	s := ""
	start := 0
	for i, n := range stack {
		if n == back {
			start = i
		}
	}
	for _, n := range stack[start:] {
		s += fmt.Sprintf("%q ← ", n)
	}
	return s + fmt.Sprintf("%q", back)
}

func buildCluster(raw *rawCluster, job JobSpec, ps *problems) ClusterSpec {
	c := ClusterSpec{
		Scaling: ScalingAdaptive, SlotsPerTaskManager: defaultSlotsPerTaskManager,
		SlotSharing: SlotSharingShared, Restart: defaultRestart,
		CheckpointInterval:    defaultCheckpointInterval,
		ResourceStabilization: defaultStabilization, MinParallelismIncrease: 1,
	}
	if raw == nil {
		raw = &rawCluster{}
	}
	setString(&c.Scaling, raw.Scaling, "cluster.scaling", ps, ScalingAdaptive, ScalingReactive, ScalingSession)
	if c.Scaling == ScalingReactive {
		c.ResourceStabilization = 0 // reactive mode's default
	}
	setDuration(&c.ResourceStabilization, raw.Stabilization, "cluster.resourceStabilizationTimeout", false, ps)
	setInt(&c.MinParallelismIncrease, raw.MinIncrease, "cluster.minParallelismIncrease", 1, ps)
	setString(&c.SlotSharing, raw.SlotSharing, "cluster.slotSharing", ps, SlotSharingShared, SlotSharingDedicated)
	setInt(&c.SlotsPerTaskManager, raw.SlotsPerTaskManager, "cluster.slotsPerTaskManager", 1, ps)
	setInt(&c.StandbyTaskManagers, raw.StandbyTaskManagers, "cluster.standbyTaskManagers", 0, ps)
	setDuration(&c.TaskManagerStartup, raw.TaskManagerStartup, "cluster.taskManagerStartup", false, ps)
	setDuration(&c.Restart, raw.Restart, "cluster.restart", false, ps)
	setDuration(&c.CheckpointInterval, raw.CheckpointInterval, "cluster.checkpointInterval", true, ps)
	if raw.RealMetricTiming != nil {
		c.RealMetricTiming = *raw.RealMetricTiming
	}
	initial := initialSlots(job, c.SlotSharing)
	c.InitialTaskManagers = ceilDiv(initial, c.SlotsPerTaskManager) + c.StandbyTaskManagers
	setInt(&c.InitialTaskManagers, raw.InitialTaskManagers, "cluster.initialTaskManagers", 0, ps)
	c.MaxTaskManagers = ceilDiv(maxSlots(job, c.SlotSharing), c.SlotsPerTaskManager) + c.StandbyTaskManagers
	setInt(&c.MaxTaskManagers, raw.MaxTaskManagers, "cluster.maxTaskManagers", 1, ps)
	if c.InitialTaskManagers > c.MaxTaskManagers {
		ps.add("cluster.initialTaskManagers", "%d exceeds maxTaskManagers %d", c.InitialTaskManagers, c.MaxTaskManagers)
	}
	buildRuntime(raw.rawRuntime, &c, ps)
	return c
}

// initialSlots and maxSlots are the slots the initial parallelism and the
// max parallelism need (slot-sharing groups honoured).
func initialSlots(job JobSpec, sharing string) int {
	p := make([]int, len(job.Vertices))
	for i, v := range job.Vertices {
		p[i] = v.Parallelism
	}
	return slotsNeeded(job.Vertices, p, sharing == SlotSharingDedicated)
}

func maxSlots(job JobSpec, sharing string) int {
	p := make([]int, len(job.Vertices))
	for i, v := range job.Vertices {
		p[i] = v.MaxParallelism
	}
	return slotsNeeded(job.Vertices, p, sharing == SlotSharingDedicated)
}

func ceilDiv(a, b int) int {
	if a <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

func setString(dst *string, src *string, path string, ps *problems, allowed ...string) {
	if src == nil {
		return
	}
	for _, a := range allowed {
		if *src == a {
			*dst = a
			return
		}
	}
	ps.add(path, "unknown value %q (one of %v)", *src, allowed)
}

func setInt(dst *int, src *int, path string, minimum int, ps *problems) {
	if src == nil {
		return
	}
	if *src < minimum {
		ps.add(path, "must be at least %d, got %d", minimum, *src)
		return
	}
	*dst = *src
}

func setDuration(dst *time.Duration, src *time.Duration, path string, positive bool, ps *problems) {
	switch {
	case src == nil:
	case positive && *src <= 0:
		ps.add(path, "must be a positive duration, got %s", *src)
	case *src < 0:
		ps.add(path, "must not be negative, got %s", *src)
	default:
		*dst = *src
	}
}
