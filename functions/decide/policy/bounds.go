package policy

import (
	"fmt"
	"math"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// bounds returns a vertex's inclusive parallelism limits: the job's and the
// vertex's configured bounds, its max parallelism (key groups) and, for a
// source outside reactive mode, its partition count. The upper limit wins a
// conflict.
func (r *run) bounds(vp *vplan) (lo, hi int) {
	return boundsFor(r.cfg, vp.id, vp.name, vp.source, vp.parts, vp.maxPar)
}

// boundsFor is bounds for a vertex given by its fields.
func boundsFor(cfg Config, id, name string, source bool, parts, maxPar int) (lo, hi int) {
	lo, hi = 1, maxPar
	apply := func(b Bounds) {
		lo = max(lo, b.Min)
		if b.Max > 0 {
			hi = min(hi, b.Max)
		}
	}
	apply(cfg.Parallelism)
	if b, ok := cfg.Vertices[id]; ok {
		apply(b)
	} else if b, ok := cfg.Vertices[name]; ok {
		apply(b)
	}
	if source && parts > 0 && cfg.Mode != events.ModeReactive {
		hi = min(hi, parts)
	}
	return min(lo, hi), hi
}

func stepClamp(r *run) *hold {
	for i := range r.vs {
		vp := &r.vs[i]
		if p := min(max(vp.p, vp.lo), vp.hi); p != vp.p {
			vp.notes = append(vp.notes, fmt.Sprintf("bounded to [%d, %d]", vp.lo, vp.hi))
			vp.p = p
		}
	}
	return nil
}

func stepStepCap(r *run) *hold {
	f := r.cfg.MaxStepFactor
	if f <= 0 {
		return nil
	}
	for i := range r.vs {
		vp := &r.vs[i]
		up := int(math.Ceil(float64(vp.cur) * f))
		down := max(int(math.Floor(float64(vp.cur)/f)), 1)
		if p := min(max(vp.p, down), up); p != vp.p {
			vp.notes = append(vp.notes, fmt.Sprintf("step capped at ×%g", f))
			vp.p = p
		}
	}
	return nil
}

// stepAlign lowers a changing keyed vertex (or partitioned source) to the
// fewest subtasks whose busiest one gets the same number of key groups
// (partitions): ceil(K / ceil(K/p)). Capacity is the same, slots fewer.
func stepAlign(r *run) *hold {
	for i := range r.vs {
		vp := &r.vs[i]
		if vp.units <= 0 || vp.p == vp.cur || vp.p >= vp.units {
			continue
		}
		perSubtask := (vp.units + vp.p - 1) / vp.p
		if p := max((vp.units+perSubtask-1)/perSubtask, vp.lo); p != vp.p {
			vp.notes = append(vp.notes, fmt.Sprintf("aligned %d→%d (%d of %d key groups per subtask)", vp.p, p, perSubtask, vp.units))
			vp.p = p
		}
	}
	return nil
}

// stepReactive gives every vertex the largest target in reactive mode, as
// Flink's reactive mode runs every vertex on all slots (bounded by its max
// parallelism).
func stepReactive(r *run) *hold {
	if r.cfg.Mode != events.ModeReactive {
		return nil
	}
	all := 0
	for _, vp := range r.vs {
		all = max(all, vp.p)
	}
	for i := range r.vs {
		vp := &r.vs[i]
		if p := min(all, vp.maxPar); p != vp.p {
			vp.notes = append(vp.notes, fmt.Sprintf("reactive mode: %d like every vertex", p))
			vp.p = p
		}
	}
	return nil
}

// stepTMCap scales targets down until they fit MaxTaskManagers.
func stepTMCap(r *run) *hold {
	if r.cfg.MaxTaskManagers <= 0 || r.cfg.Mode == events.ModeSession {
		return nil
	}
	layout := r.layout()
	for range 1 << 16 {
		tms, err := layout.TaskManagers(r.targets())
		if err != nil || tms <= r.cfg.MaxTaskManagers {
			return nil
		}
		big := 0
		for i, vp := range r.vs {
			if vp.p > r.vs[big].p {
				big = i
			}
		}
		if r.vs[big].p <= 1 {
			return nil
		}
		vp := &r.vs[big]
		vp.p--
		if len(vp.notes) == 0 || vp.notes[len(vp.notes)-1] != "capped by maxTaskManagers" {
			vp.notes = append(vp.notes, "capped by maxTaskManagers")
		}
		if r.cfg.Mode == events.ModeReactive {
			for i := range r.vs {
				r.vs[i].p = min(r.vs[i].p, vp.p)
			}
		}
	}
	return nil
}

func (r *run) layout() slots.Layout { return layoutIn(r.cfg, r.snap, r.st) }

// layoutFor is the job's slot layout: slot-sharing groups as the snapshot
// reports them (Flink 1.20+), else as Slots.Groups declares them by vertex
// id or name; every vertex its own slots when the sharing is dedicated or
// a decision was seen not to fit (State.Unfit).
func layoutFor(cfg Config, snap *events.Snapshot, unfit bool) slots.Layout {
	groups := map[string]string{}
	for _, v := range snap.Vertices {
		switch {
		case v.SlotSharingGroup != "":
			groups[v.ID] = v.SlotSharingGroup
		case cfg.Slots.Groups[v.ID] != "":
			groups[v.ID] = cfg.Slots.Groups[v.ID]
		case cfg.Slots.Groups[v.Name] != "":
			groups[v.ID] = cfg.Slots.Groups[v.Name]
		}
	}
	return slots.Layout{
		PerTaskManager: slotsPerTaskManager(cfg, snap),
		Dedicated:      cfg.Slots.Sharing == events.SlotSharingDedicated || unfit,
		Groups:         groups,
		Standby:        cfg.Slots.Standby,
	}
}

// slotsPerTaskManager is the policy's slots.perTaskManager, or when that is
// 0 the cluster's: the snapshot's slotsPerTaskManager, else slotsTotal ÷
// taskManagers rounded, else 1.
func slotsPerTaskManager(cfg Config, s *events.Snapshot) int {
	switch {
	case cfg.Slots.PerTaskManager > 0:
		return cfg.Slots.PerTaskManager
	case s.SlotsPerTaskManager > 0:
		return s.SlotsPerTaskManager
	case s.TaskManagers > 0 && s.SlotsTotal > 0:
		return max((s.SlotsTotal+s.TaskManagers/2)/s.TaskManagers, 1)
	}
	return 1
}

func (r *run) targets() map[string]int {
	m := make(map[string]int, len(r.vs))
	for _, vp := range r.vs {
		m[vp.id] = vp.p
	}
	return m
}

func (r *run) currents() map[string]int {
	m := make(map[string]int, len(r.vs))
	for _, vp := range r.vs {
		m[vp.id] = vp.cur
	}
	return m
}
