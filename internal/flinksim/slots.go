package flinksim

import "sort"

// slotGroups returns, per vertex, the index of its slot-sharing group and
// the number of groups: one group per vertex with dedicated slots, otherwise
// one per distinct SlotSharingGroup name ("" is Flink's "default").
func slotGroups(vs []VertexSpec, dedicated bool) ([]int, int) {
	group := make([]int, len(vs))
	if dedicated {
		for i := range vs {
			group[i] = i
		}
		return group, len(vs)
	}
	names := map[string]int{}
	for i, v := range vs {
		g, ok := names[v.SlotSharingGroup]
		if !ok {
			g = len(names)
			names[v.SlotSharingGroup] = g
		}
		group[i] = g
	}
	return group, len(names)
}

// SlotsNeeded is the slots the scenario's job needs at parallelism p (one
// entry per vertex, in scenario order; missing entries count 0): the
// emulator's own slot arithmetic, for anyone pricing a parallelism.
func (s *Scenario) SlotsNeeded(p []int) int {
	full := make([]int, len(s.Job.Vertices))
	copy(full, p)
	return slotsNeeded(s.Job.Vertices, full, s.Cluster.SlotSharing == SlotSharingDedicated)
}

// slotsNeeded is Σ over slot-sharing groups of the largest parallelism in
// the group (docs/scenarios.md "cluster"; with dedicated slots, Σ p).
func slotsNeeded(vs []VertexSpec, p []int, dedicated bool) int {
	group, n := slotGroups(vs, dedicated)
	largest := make([]int, n)
	for i, g := range group {
		largest[g] = max(largest[g], p[i])
	}
	total := 0
	for _, m := range largest {
		total += m
	}
	return total
}

// Bounds is a vertex's resource requirement: the parallelism range the
// adaptive scheduler may run it at.
type Bounds struct {
	Lower int `json:"lowerBound"`
	Upper int `json:"upperBound"`
}

// determineParallelism is Flink's SlotSharingSlotAllocator.determineParallelism
// (reference flink-rest.md §7.3): the per-vertex parallelism the adaptive
// scheduler runs with n free slots, or ok=false when n cannot meet every
// group's largest lower bound. out receives the parallelisms.
func determineParallelism(group []int, groups int, req []Bounds, n int, out []int) bool {
	maxLower := make([]int, groups)
	maxUpper := make([]int, groups)
	for i, g := range group {
		maxLower[g] = max(maxLower[g], req[i].Lower)
		maxUpper[g] = max(maxUpper[g], req[i].Upper)
	}
	minimum := 0
	for _, l := range maxLower {
		minimum += l
	}
	if n < minimum {
		return false
	}
	order := make([]int, groups)
	for g := range order {
		order[g] = g
	}
	sort.SliceStable(order, func(a, b int) bool {
		return maxUpper[order[a]]-maxLower[order[a]] < maxUpper[order[b]]-maxLower[order[b]]
	})
	groupSlots := make([]int, groups)
	remaining, minRemaining := n, minimum
	for k, g := range order {
		extra := (remaining - minRemaining) / (groups - k)
		groupSlots[g] = maxLower[g] + min(maxUpper[g]-maxLower[g], extra)
		remaining -= groupSlots[g]
		minRemaining -= maxLower[g]
	}
	for i, g := range group {
		out[i] = min(req[i].Upper, groupSlots[g])
	}
	return true
}
