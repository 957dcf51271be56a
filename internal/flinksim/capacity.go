package flinksim

import "math"

// scaled is the total records/s p subtasks of v process with an even load:
// Capacity·p^a, or Capacity·p/(1 + σ·(p − 1)) with a serial fraction σ.
func scaled(v *VertexSpec, p int) float64 {
	fp := float64(p)
	if v.SerialFraction > 0 {
		return v.Capacity * fp / (1 + v.SerialFraction*(fp-1))
	}
	if v.ScalingExponent == 1 {
		return v.Capacity * fp
	}
	return v.Capacity * math.Pow(fp, v.ScalingExponent)
}

// units is how v's input is split among its subtasks: key groups for a keyed
// vertex, partitions for a partitioned source, 0 for an even split.
func units(v *VertexSpec) int {
	switch {
	case v.Keyed:
		return v.MaxParallelism
	case v.IsSource():
		return v.Partitions
	}
	return 0
}

// maxShare is the fraction of v's input its busiest subtask gets at p: with
// u units split in contiguous ranges (key groups) or round robin
// (partitions) the busiest subtask holds ceil(u/p) of them.
func maxShare(v *VertexSpec, p int) float64 {
	u := units(v)
	if u == 0 {
		return 1 / float64(p)
	}
	most := float64((u+p-1)/p) / float64(u)
	if v.HotKey == 0 {
		return most
	}
	// Unit 0 is the hot one; subtask 0 holds it with its range (key
	// groups) or its round-robin share (partitions).
	first := (u + p - 1) / p
	if v.Keyed {
		first = (u-1)/p + 1
	}
	return max(v.HotKey+(1-v.HotKey)*float64(first)/float64(u), (1-v.HotKey)*most)
}

// vertexCapacity is the input rate v sustains at parallelism p: the rate at
// which its busiest subtask is fully busy.
func vertexCapacity(v *VertexSpec, p int) float64 {
	perSubtask := scaled(v, p) / float64(p)
	return perSubtask / maxShare(v, p)
}

// subtaskShares fills shares (length p) with each subtask's fraction of v's
// input. Key groups go to subtasks as Flink's
// KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex assigns them;
// partitions round robin, as the Kafka source's enumerator does.
func subtaskShares(v *VertexSpec, p int, shares []float64) {
	u := units(v)
	switch {
	case u == 0:
		for i := range shares {
			shares[i] = 1 / float64(p)
		}
	case v.Keyed:
		for i := range shares {
			start := (i*u + p - 1) / p
			end := ((i+1)*u - 1) / p
			shares[i] = float64(end-start+1) / float64(u)
		}
	default:
		for i := range shares {
			n := u / p
			if i < u%p {
				n++
			}
			shares[i] = float64(n) / float64(u)
		}
	}
	if h := v.HotKey; h > 0 && u > 0 {
		for i := range shares {
			shares[i] *= 1 - h
		}
		shares[0] += h // unit 0, the hot one, belongs to subtask 0
	}
}

// OptimalParallelism returns, per vertex in Job.Vertices order, the fewest
// subtasks that sustain an offered rate (records/s, split evenly among the
// sources): the oracle's answer, with the scaling curve and key-group or
// partition skew accounted for. A vertex that cannot sustain the rate even at
// its max parallelism gets its max parallelism.
func (sc *Scenario) OptimalParallelism(rate float64) []int {
	out := make([]int, len(sc.Job.Vertices))
	in := sc.inputRates(rate)
	for i := range sc.Job.Vertices {
		out[i] = fewestSubtasks(&sc.Job.Vertices[i], in[i])
	}
	return out
}

// inputRates is each vertex's input rate when the sources take rate in full.
func (sc *Scenario) inputRates(rate float64) []float64 {
	vs := sc.Job.Vertices
	idx := make(map[string]int, len(vs))
	in := make([]float64, len(vs))
	out := make([]float64, len(vs))
	sources := 0
	for _, v := range vs {
		if v.IsSource() {
			sources++
		}
	}
	for i, v := range vs {
		idx[v.Name] = i
		if v.IsSource() {
			in[i] = rate / float64(sources)
		}
		for _, u := range v.Inputs {
			in[i] += out[idx[u]]
		}
		out[i] = in[i] * v.Selectivity
	}
	return in
}

// sustainTolerance absorbs floating-point error when a capacity equals the
// load exactly (DS2's wordcount: 20 counters for exactly 20 counters' load).
const sustainTolerance = 1e-9

func fewestSubtasks(v *VertexSpec, rate float64) int {
	for p := 1; p <= v.MaxParallelism; p++ {
		if vertexCapacity(v, p) >= rate*(1-sustainTolerance) {
			return p
		}
	}
	return v.MaxParallelism
}
