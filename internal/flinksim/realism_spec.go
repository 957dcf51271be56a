package flinksim

import (
	"fmt"
	"slices"
	"time"
)

// Runtime is the part of a cluster that real Flink does not run ideally
// (docs/scenarios.md "Disturbances"). The zero value is the ideal runtime:
// exact restarts and start-ups, instant checkpoints, no GC, no faults,
// exact busy time, Flink 1.18's scheduler.
type Runtime struct {
	// RestartJitter scales every restart's downtime by U(1−j, 1+j).
	RestartJitter float64
	// StateRestore is the extra downtime to restore the whole job's state:
	// a rescale pays it times the fraction of key groups that move to
	// another subtask, a failover in full.
	StateRestore time.Duration
	// TaskManagerStartupMax, if above taskManagerStartup, draws each new
	// TaskManager's start-up from U(taskManagerStartup, max);
	// TaskManagerNeverRegisters is the probability one never registers.
	TaskManagerStartupMax     time.Duration
	TaskManagerNeverRegisters float64
	// CheckpointDuration is the time from a checkpoint's trigger to its
	// completion; a restart replays from the trigger. A checkpoint
	// triggered while the job is backpressured takes CheckpointAlignment
	// more (aligned barriers wait until the in-flight data ahead of them is
	// processed), or 4× CheckpointDuration when CheckpointAlignment is 0.
	// CheckpointFailure is the probability a checkpoint fails.
	// CheckpointRandomStart fires the first checkpoint after a (re)start
	// at U(0, interval), as CheckpointCoordinator does, instead of one
	// interval after it.
	CheckpointDuration    time.Duration
	CheckpointAlignment   time.Duration
	CheckpointFailure     float64
	CheckpointRandomStart bool
	// GC, if set, pauses TaskManagers: stop-the-world time that freezes
	// their slots and counts as busy.
	GC *GCPauses
	// Faults injects failures.
	Faults Faults
	// BusyOverhead is busy time beyond record processing (timers,
	// watermarks, checkpoint sync phase) as a fraction of the step, added
	// while a subtask has input; BusyNoise the standard deviation of a
	// relative error of each subtask's busy time, drawn at each deploy.
	BusyOverhead, BusyNoise float64
	// FlinkVersion changes the adaptive scheduler's rescale timing and the
	// REST API: "1.18" (default) rescales at once; "1.19" waits until the
	// job has run ScalingIntervalMin; "1.20" also shows slotSharingGroupId;
	// "2.0" also waits for the next completed checkpoint.
	FlinkVersion string
	// Placement is where the adaptive scheduler puts the job's subtasks
	// among the registered slots: PlacementSpread (the default) one slot
	// per TaskManager in turn, over every TaskManager, as Flink does in a
	// session cluster, before 1.20.2 / 2.0.1, with local recovery, and on
	// 1.18/1.19; PlacementPacked onto the fewest TaskManagers, as
	// application mode with jobmanager.adaptive-scheduler.prefer-minimal-taskmanagers
	// (default true from 1.20.2 and 2.0.1) does. Measured on real Flink
	// 1.20.5 and 2.3.0 (test/realflink/placement, docs/FIDELITY.md). A
	// TaskManager removed or lost while it runs a subtask fails the job
	// over, whatever slots remain.
	Placement string
}

// Placements of the job's subtasks on TaskManagers (Runtime.Placement).
const (
	PlacementSpread = "spread"
	PlacementPacked = "packed"
)

// GCPauses are stop-the-world pauses: each TaskManager the job runs on
// pauses PerMinute times a minute on average, for Pause each.
type GCPauses struct {
	PerMinute float64
	Pause     time.Duration
}

// Faults are failures injected into the run.
type Faults struct {
	// LostTaskManagerPerHour is the rate of TaskManagers lost at random
	// (the pod dies; Kubernetes starts a replacement); LostTaskManagerAt
	// lists times at which one is lost.
	LostTaskManagerPerHour float64
	LostTaskManagerAt      []time.Duration
	// FailedRestore is the probability that a restore fails, which
	// restarts the job again.
	FailedRestore float64
	// LostDuringRestart is the probability that a TaskManager is lost
	// while the job restarts.
	LostDuringRestart float64
}

// Flink versions the emulator's scheduler distinguishes.
const (
	Flink118 = "1.18"
	Flink119 = "1.19"
	Flink120 = "1.20"
	Flink20  = "2.0"
)

// ScalingIntervalMin is the adaptive scheduler's cool-down from 1.19 on
// (jobmanager.adaptive-scheduler.scaling-interval.min).
const ScalingIntervalMin = 30 * time.Second

// VertexRuntime is the part of a vertex that real jobs do not run ideally
// (docs/scenarios.md "Vertex disturbances"); the zero value is ideal.
type VertexRuntime struct {
	// HotKey is the fraction of the input on one key group (keyed
	// vertices) or one partition (sources): its subtask is the bottleneck.
	HotKey float64
	// BusyUnderRead (sources) is the fraction of busy time the task does
	// not report (fetcher-bound FLIP-27 sources); BusyNaN reports no busy
	// time at all (legacy sources disable it).
	BusyUnderRead float64
	BusyNaN       bool
	// PendingRecords (sources): "" registers the metric once a subtask
	// reads its first record; "absent" never; PendingRecordsAfter delays
	// it by that long after each (re)start.
	PendingRecords      string
	PendingRecordsAfter time.Duration
	// LagMetric, if set (sources), is the user's own exporter of this
	// source's backlog: the benchmark publishes it as a user metric event
	// (io.flinkscaler.metric.v1, name "lag") every LagMetric.Every.
	LagMetric *LagMetric
	// Chain names the operators chained after the vertex's head, each
	// with its own operator metrics; the last one carries the vertex's
	// selectivity, the others pass records through.
	Chain []string
	// Window, if set, makes the vertex emit its output in bursts.
	Window *Window
	// SelectivityDrift, if set, varies the selectivity over time.
	SelectivityDrift *Drift
}

// Window fires every Every and emits a period's output within Fire.
type Window struct {
	Every, Fire time.Duration
}

// Drift multiplies a value by 1 + Amplitude·sin(2π·t/Period).
type Drift struct {
	Amplitude float64
	Period    time.Duration
}

// LagMetric is a user's exporter of a source's backlog (a Kafka consumer
// group's lag, a Kinesis reader's millis behind latest), read from the
// source's position outside Flink: Unit is LagRecords (the records
// waiting), LagSeconds or LagMilliseconds (the backlog ÷ the source's
// offered rate); Every is how often it publishes.
type LagMetric struct {
	Unit  string
	Every time.Duration
}

// LagMetric units, as the user metric event names them.
const (
	LagRecords      = "records"
	LagSeconds      = "seconds"
	LagMilliseconds = "ms"
)

// DefaultLagMetricEvery is how often a LagMetric publishes unless set: a
// lag exporter's usual poll interval.
const DefaultLagMetricEvery = 30 * time.Second

// PendingRecordsAbsent is VertexRuntime.PendingRecords for a source without
// the metric.
const PendingRecordsAbsent = "absent"

type rawRuntime struct {
	RestartJitter             *float64       `yaml:"restartJitter"`
	StateRestore              *time.Duration `yaml:"stateRestore"`
	TaskManagerStartupMax     *time.Duration `yaml:"taskManagerStartupMax"`
	TaskManagerNeverRegisters *float64       `yaml:"taskManagerNeverRegisters"`
	CheckpointDuration        *time.Duration `yaml:"checkpointDuration"`
	CheckpointAlignment       *time.Duration `yaml:"checkpointAlignment"`
	CheckpointFailure         *float64       `yaml:"checkpointFailure"`
	CheckpointRandomStart     bool           `yaml:"checkpointRandomStart"`
	GCPauses                  *rawGC         `yaml:"gcPauses"`
	Faults                    *rawFaults     `yaml:"faults"`
	BusyOverhead              *float64       `yaml:"busyOverhead"`
	BusyNoise                 *float64       `yaml:"busyNoise"`
	FlinkVersion              *string        `yaml:"flinkVersion"`
	Placement                 *string        `yaml:"taskManagerPlacement"`
}

type rawGC struct {
	PerMinute *float64       `yaml:"perMinute"`
	Pause     *time.Duration `yaml:"pause"`
}

type rawFaults struct {
	LostTaskManagerPerHour *float64        `yaml:"lostTaskManagerPerHour"`
	LostTaskManagerAt      []time.Duration `yaml:"lostTaskManagerAt"`
	FailedRestore          *float64        `yaml:"failedRestore"`
	LostDuringRestart      *float64        `yaml:"lostDuringRestart"`
}

type rawVertexRuntime struct {
	HotKey              *float64       `yaml:"hotKey"`
	BusyUnderRead       *float64       `yaml:"busyUnderRead"`
	BusyNaN             bool           `yaml:"busyNaN"`
	PendingRecords      *string        `yaml:"pendingRecords"`
	PendingRecordsAfter *time.Duration `yaml:"pendingRecordsAfter"`
	LagMetric           *rawLagMetric  `yaml:"lagMetric"`
	Chain               []string       `yaml:"chain"`
	Window              *rawWindow     `yaml:"window"`
	SelectivityDrift    *rawDrift      `yaml:"selectivityDrift"`
}

type rawLagMetric struct {
	Unit  *string        `yaml:"unit"`
	Every *time.Duration `yaml:"every"`
}

type rawWindow struct {
	Every *time.Duration `yaml:"every"`
	Fire  *time.Duration `yaml:"fire"`
}

type rawDrift struct {
	Amplitude *float64       `yaml:"amplitude"`
	Period    *time.Duration `yaml:"period"`
}

// fraction checks a value in [0, hi).
func fraction(dst *float64, src *float64, path string, hi float64, ps *problems) {
	if src == nil {
		return
	}
	if !(*src >= 0 && *src < hi) {
		ps.add(path, "must be in [0, %g), got %g", hi, *src)
		return
	}
	*dst = *src
}

func buildRuntime(raw rawRuntime, c *ClusterSpec, ps *problems) {
	r := &c.Runtime
	fraction(&r.RestartJitter, raw.RestartJitter, "cluster.restartJitter", 1, ps)
	setDuration(&r.StateRestore, raw.StateRestore, "cluster.stateRestore", false, ps)
	setDuration(&r.TaskManagerStartupMax, raw.TaskManagerStartupMax, "cluster.taskManagerStartupMax", false, ps)
	if raw.TaskManagerStartupMax != nil && r.TaskManagerStartupMax < c.TaskManagerStartup {
		ps.add("cluster.taskManagerStartupMax", "%s is below taskManagerStartup %s", r.TaskManagerStartupMax, c.TaskManagerStartup)
	}
	fraction(&r.TaskManagerNeverRegisters, raw.TaskManagerNeverRegisters, "cluster.taskManagerNeverRegisters", 1, ps)
	setDuration(&r.CheckpointDuration, raw.CheckpointDuration, "cluster.checkpointDuration", false, ps)
	setDuration(&r.CheckpointAlignment, raw.CheckpointAlignment, "cluster.checkpointAlignment", false, ps)
	fraction(&r.CheckpointFailure, raw.CheckpointFailure, "cluster.checkpointFailure", 1, ps)
	r.CheckpointRandomStart = raw.CheckpointRandomStart
	if g := raw.GCPauses; g != nil {
		r.GC = &GCPauses{}
		if g.PerMinute == nil || !(*g.PerMinute > 0 && *g.PerMinute <= 600) {
			ps.add("cluster.gcPauses.perMinute", "required, pauses per TaskManager per minute in (0, 600]")
		} else {
			r.GC.PerMinute = *g.PerMinute
		}
		if g.Pause == nil || *g.Pause <= 0 || *g.Pause > time.Minute {
			ps.add("cluster.gcPauses.pause", "required, a positive duration of at most 1m")
		} else {
			r.GC.Pause = *g.Pause
		}
	}
	if f := raw.Faults; f != nil {
		if f.LostTaskManagerPerHour != nil {
			if !(*f.LostTaskManagerPerHour >= 0 && *f.LostTaskManagerPerHour <= 3600) {
				ps.add("cluster.faults.lostTaskManagerPerHour", "must be in [0, 3600], got %g", *f.LostTaskManagerPerHour)
			} else {
				r.Faults.LostTaskManagerPerHour = *f.LostTaskManagerPerHour
			}
		}
		for i, at := range f.LostTaskManagerAt {
			if at < 0 || i > 0 && at <= f.LostTaskManagerAt[i-1] {
				ps.add(fmt.Sprintf("cluster.faults.lostTaskManagerAt[%d]", i), "times must be non-negative and ascending, got %s", at)
			}
		}
		r.Faults.LostTaskManagerAt = slices.Clone(f.LostTaskManagerAt)
		fraction(&r.Faults.FailedRestore, f.FailedRestore, "cluster.faults.failedRestore", 1, ps)
		fraction(&r.Faults.LostDuringRestart, f.LostDuringRestart, "cluster.faults.lostDuringRestart", 1, ps)
	}
	fraction(&r.BusyOverhead, raw.BusyOverhead, "cluster.busyOverhead", 1, ps)
	fraction(&r.BusyNoise, raw.BusyNoise, "cluster.busyNoise", 1, ps)
	r.FlinkVersion = Flink118
	setString(&r.FlinkVersion, raw.FlinkVersion, "cluster.flinkVersion", ps, Flink118, Flink119, Flink120, Flink20)
	r.Placement = PlacementSpread
	setString(&r.Placement, raw.Placement, "cluster.taskManagerPlacement", ps, PlacementSpread, PlacementPacked)
}

func buildVertexRuntime(raw rawVertexRuntime, path string, v *VertexSpec, ps *problems) {
	r := &v.VertexRuntime
	if raw.HotKey != nil {
		fraction(&r.HotKey, raw.HotKey, path+".hotKey", 1, ps)
		if !v.Keyed && v.Partitions == 0 {
			ps.add(path+".hotKey", "only a keyed vertex or a partitioned source has a hot key")
		}
	}
	source := len(v.Inputs) == 0
	onlySource := func(field string) {
		if !source {
			ps.add(path+"."+field, "only sources (vertices without inputs) have it")
		}
	}
	if raw.BusyUnderRead != nil {
		onlySource("busyUnderRead")
		fraction(&r.BusyUnderRead, raw.BusyUnderRead, path+".busyUnderRead", 1, ps)
	}
	if raw.BusyNaN {
		onlySource("busyNaN")
		r.BusyNaN = true
	}
	if raw.PendingRecords != nil {
		onlySource("pendingRecords")
		setString(&r.PendingRecords, raw.PendingRecords, path+".pendingRecords", ps, PendingRecordsAbsent)
	}
	if raw.PendingRecordsAfter != nil {
		onlySource("pendingRecordsAfter")
		setDuration(&r.PendingRecordsAfter, raw.PendingRecordsAfter, path+".pendingRecordsAfter", false, ps)
	}
	if m := raw.LagMetric; m != nil {
		onlySource("lagMetric")
		r.LagMetric = &LagMetric{Unit: LagRecords, Every: DefaultLagMetricEvery}
		setString(&r.LagMetric.Unit, m.Unit, path+".lagMetric.unit", ps, LagRecords, LagSeconds, LagMilliseconds)
		setDuration(&r.LagMetric.Every, m.Every, path+".lagMetric.every", true, ps)
	}
	for i, name := range raw.Chain {
		if name == "" || name == v.Name || slices.Contains(raw.Chain[:i], name) {
			ps.add(fmt.Sprintf("%s.chain[%d]", path, i), "operator names must be non-empty, distinct and not the vertex's, got %q", name)
		}
	}
	r.Chain = raw.Chain
	if w := raw.Window; w != nil {
		r.Window = &Window{}
		switch {
		case w.Every == nil || *w.Every <= 0:
			ps.add(path+".window.every", "required, a positive duration")
		case w.Fire == nil || *w.Fire <= 0 || *w.Fire > *w.Every:
			ps.add(path+".window.fire", "required, a positive duration of at most every")
		default:
			r.Window.Every, r.Window.Fire = *w.Every, *w.Fire
		}
	}
	if d := raw.SelectivityDrift; d != nil {
		r.SelectivityDrift = &Drift{}
		switch {
		case d.Amplitude == nil || !(*d.Amplitude >= 0 && *d.Amplitude < 1):
			ps.add(path+".selectivityDrift.amplitude", "required, in [0, 1)")
		case d.Period == nil || *d.Period <= 0:
			ps.add(path+".selectivityDrift.period", "required, a positive duration")
		default:
			r.SelectivityDrift.Amplitude, r.SelectivityDrift.Period = *d.Amplitude, *d.Period
		}
	}
}
