package flinksim

import "time"

// This file exposes the scenario's model to engines other than the emulator
// (the real-Flink sandbox), so one scenario file means the same load, the
// same per-subtask costs and the same flows everywhere.

// OfferedRates returns the records/s offered to all sources at t = 0, step,
// 2·step, … (n values), noise included: the exact sequence the emulator
// offers when it advances by step.
func (sc *Scenario) OfferedRates(step time.Duration, n int) []float64 {
	g := newLoadGen(&sc.Load, sc.Seed, 0)
	out := make([]float64, n)
	for i := range out {
		out[i], _ = g.rate(time.Duration(i) * step)
	}
	return out
}

// InputRates returns each vertex's input rate (Job.Vertices order) when the
// sources take an offered rate in full.
func (sc *Scenario) InputRates(rate float64) []float64 { return sc.inputRates(rate) }

// SubtaskCapacity is the records/s one of p subtasks of v processes with an
// even load (the scaling curve applied).
func (v *VertexSpec) SubtaskCapacity(p int) float64 { return scaled(v, p) / float64(p) }

// VertexCapacity is the input records/s v sustains at parallelism p, its
// key-group or partition skew included (the rate at which its busiest
// subtask is fully busy).
func (v *VertexSpec) VertexCapacity(p int) float64 { return vertexCapacity(v, p) }
