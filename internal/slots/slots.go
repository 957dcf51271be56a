// Package slots holds Flink's slot arithmetic (docs/scaling-modes.md "Slots
// and TaskManagers"): how many slots a set of per-vertex parallelisms needs,
// and how many TaskManagers provide them.
package slots

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// ErrInvalid is returned for a layout that cannot be computed (non-positive
// slots per TaskManager, negative parallelism or standby count).
var ErrInvalid = errors.New("invalid slot layout")

// Layout describes how a job's subtasks occupy slots.
type Layout struct {
	// PerTaskManager is taskmanager.numberOfTaskSlots.
	PerTaskManager int
	// Dedicated puts every subtask in a slot of its own (no slot sharing).
	Dedicated bool
	// Groups maps a vertex to its slot-sharing group; vertices not listed
	// share the default group. Ignored when Dedicated.
	Groups map[string]string
	// Alternatives are other groupings the job may have (each as Groups):
	// a count that knows the job only by the slots it held
	// (functions/decide's learned groups) takes the most any of them
	// needs. Ignored when Dedicated.
	Alternatives []map[string]string
	// Standby is the number of extra TaskManagers kept ready.
	Standby int
}

// Needed returns the slots that parallelisms (vertex → p) need: with slot
// sharing, the sum over groups of the largest p in each group; with
// dedicated slots, the sum of all p.
func (l Layout) Needed(parallelism map[string]int) (int, error) {
	if err := l.validate(parallelism); err != nil {
		return 0, err
	}
	if l.Dedicated {
		total := 0
		for _, p := range parallelism {
			total += p
		}
		return total, nil
	}
	total := sharedNeed(l.Groups, parallelism)
	for _, g := range l.Alternatives {
		total = max(total, sharedNeed(g, parallelism))
	}
	return total, nil
}

// sharedNeed is the slots parallelism needs with slot sharing by groups:
// the sum over groups of the largest p in each.
func sharedNeed(groups map[string]string, parallelism map[string]int) int {
	maxByGroup := map[string]int{}
	for v, p := range parallelism {
		g := groups[v]
		if p > maxByGroup[g] {
			maxByGroup[g] = p
		}
	}
	total := 0
	for _, m := range maxByGroup {
		total += m
	}
	return total
}

// Most is l with its grouping (Groups or one of Alternatives) that needs
// the most slots at parallelism as Groups and no Alternatives: the one
// layout that counts parallelism as l does (Groups first on a tie).
func (l Layout) Most(parallelism map[string]int) Layout {
	if l.Dedicated || len(l.Alternatives) == 0 {
		return l
	}
	best, most := l.Groups, sharedNeed(l.Groups, parallelism)
	for _, g := range l.Alternatives {
		if n := sharedNeed(g, parallelism); n > most {
			best, most = g, n
		}
	}
	l.Groups, l.Alternatives = best, nil
	return l
}

// TaskManagers returns the TaskManagers that parallelisms need:
// ceil(slots / PerTaskManager) + Standby.
func (l Layout) TaskManagers(parallelism map[string]int) (int, error) {
	n, err := l.Needed(parallelism)
	if err != nil {
		return 0, err
	}
	return ForSlots(n, l.PerTaskManager) + l.Standby, nil
}

// Fit lowers parallelisms (vertex → p, not changed) until they need at
// most avail slots: the largest one at a time, and of equals the one
// lowered least so far relative to where it started, which keeps their
// proportions. It wraps ErrInvalid when even 1 for every vertex needs more.
func (l Layout) Fit(parallelism map[string]int, avail int) (map[string]int, error) {
	out := maps.Clone(parallelism)
	ids := slices.Sorted(maps.Keys(out))
	for {
		n, err := l.Needed(out)
		if err != nil {
			return nil, err
		}
		if n <= avail {
			return out, nil
		}
		top := ""
		for _, id := range ids {
			if top == "" || out[id] > out[top] ||
				out[id] == out[top] && out[id]*parallelism[top] > out[top]*parallelism[id] {
				top = id
			}
		}
		if top == "" || out[top] <= 1 {
			return nil, fmt.Errorf("%w: %d slots do not fit parallelism 1 for every vertex", ErrInvalid, avail)
		}
		out[top]--
	}
}

// ForSlots returns ceil(slots / perTaskManager); perTaskManager must be > 0.
func ForSlots(slots, perTaskManager int) int {
	if slots <= 0 {
		return 0
	}
	return (slots + perTaskManager - 1) / perTaskManager
}

func (l Layout) validate(parallelism map[string]int) error {
	if l.PerTaskManager <= 0 {
		return fmt.Errorf("%w: %d slots per TaskManager", ErrInvalid, l.PerTaskManager)
	}
	if l.Standby < 0 {
		return fmt.Errorf("%w: %d standby TaskManagers", ErrInvalid, l.Standby)
	}
	for v, p := range parallelism {
		if p < 0 {
			return fmt.Errorf("%w: vertex %s parallelism %d", ErrInvalid, v, p)
		}
	}
	return nil
}
