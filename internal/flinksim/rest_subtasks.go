package flinksim

import (
	"math"
	"sort"
	"strconv"
)

// subtaskIO is one subtask's IOMetricsInfo from the fetched metrics.
func subtaskIO(v *vertex, fetched []subtaskView, k int) ioMetrics {
	m := ioMetrics{ReadBytesComplete: true, WriteBytesComplete: true, ReadRecordsComplete: true, WriteRecordsComplete: true}
	if k >= len(fetched) {
		m.ReadBytesComplete, m.WriteBytesComplete = false, false
		m.ReadRecordsComplete, m.WriteRecordsComplete = false, false
		m.AccumulatedBusyTime = jsonFloat(math.NaN())
		return m
	}
	s := fetched[k]
	if !v.spec.IsSource() {
		m.ReadRecords = int64(s.recordsIn)
	}
	m.WriteRecords = int64(s.recordsOut)
	m.AccumulatedBackpressuredTime = int64(s.accBpMs)
	m.AccumulatedIdleTime = int64(s.accIdleMs)
	m.AccumulatedBusyTime = jsonFloat(s.accBusyMs)
	return m
}

// subtaskTaskManagers returns the TaskManager id of each subtask of vertex
// i: the slots the running graph occupies (place: each TaskManager's
// tasks) are numbered round by round over the TaskManagers holding them,
// so the REST view agrees with what a removal fails over; with slot
// sharing subtask k of every vertex in a group takes the group's k-th slot,
// with dedicated slots every subtask takes its own.
func (c *Cluster) subtaskTaskManagers(i int) []string {
	offset := 0
	dedicated := c.sc.Cluster.SlotSharing == SlotSharingDedicated
	if dedicated {
		for _, v := range c.vertices[:i] {
			offset += v.p
		}
	} else {
		largest := make([]int, c.groups)
		for j, v := range c.vertices {
			largest[c.group[j]] = max(largest[c.group[j]], v.p)
		}
		for g := 0; g < c.group[i]; g++ {
			offset += largest[g]
		}
	}
	var slots []string
	for round := range c.sc.Cluster.SlotsPerTaskManager {
		for _, tm := range c.tms {
			if tm.registered && tm.tasks > round {
				slots = append(slots, tm.id)
			}
		}
	}
	out := make([]string, c.vertices[i].p)
	for k := range out {
		out[k] = "(unassigned)"
		if offset+k < len(slots) {
			out[k] = slots[offset+k]
		}
	}
	return out
}

// aggregate is the vertex details' "aggregated" block: min, max, avg, sum,
// median, p25, p75, p95 over subtasks, as longs (a NaN busy time counts -1).
func aggregate(subtasks []subtaskDetails) aggregatedDetails {
	metric := map[string]func(m ioMetrics) int64{
		"read-bytes":                     func(m ioMetrics) int64 { return m.ReadBytes },
		"write-bytes":                    func(m ioMetrics) int64 { return m.WriteBytes },
		"read-records":                   func(m ioMetrics) int64 { return m.ReadRecords },
		"write-records":                  func(m ioMetrics) int64 { return m.WriteRecords },
		"accumulated-backpressured-time": func(m ioMetrics) int64 { return m.AccumulatedBackpressuredTime },
		"accumulated-idle-time":          func(m ioMetrics) int64 { return m.AccumulatedIdleTime },
		"accumulated-busy-time": func(m ioMetrics) int64 {
			if math.IsNaN(float64(m.AccumulatedBusyTime)) {
				return -1
			}
			return int64(m.AccumulatedBusyTime)
		},
	}
	out := aggregatedDetails{Metrics: map[string]map[string]int64{}, StatusDuration: map[string]map[string]int64{}}
	for name, get := range metric {
		vals := make([]int64, len(subtasks))
		for i, s := range subtasks {
			vals[i] = get(s.Metrics)
		}
		out.Metrics[name] = stats(vals)
	}
	for _, state := range []string{"CREATED", "SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING"} {
		vals := make([]int64, len(subtasks))
		for i, s := range subtasks {
			vals[i] = s.StatusDuration[state]
		}
		out.StatusDuration[state] = stats(vals)
	}
	return out
}

func stats(vals []int64) map[string]int64 {
	out := map[string]int64{"min": 0, "max": 0, "avg": 0, "sum": 0, "median": 0, "p25": 0, "p75": 0, "p95": 0}
	if len(vals) == 0 {
		return out
	}
	sorted := append([]int64(nil), vals...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
	var sum int64
	for _, v := range sorted {
		sum += v
	}
	pct := func(p float64) int64 { return sorted[int(math.Ceil(p*float64(len(sorted))))-1] }
	out["min"], out["max"], out["sum"] = sorted[0], sorted[len(sorted)-1], sum
	out["avg"] = sum / int64(len(sorted))
	out["median"], out["p25"], out["p75"], out["p95"] = pct(0.5), pct(0.25), pct(0.75), pct(0.95)
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
