package actuator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/plan"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// poll calls check every Poll until it reports done, fails for good, or
// limit passes on the Actuator's clock. check's transient errors
// (ErrTransient) are retried; the last state it described is returned with
// ErrTimeout.
func (x *execution) poll(ctx context.Context, limit time.Duration, check func() (done bool, state string, err error)) (string, error) {
	return x.pollUntil(ctx, func() time.Duration { return limit }, check)
}

// pollUntil is poll with a bound that check may move: limit is read after
// every check.
func (x *execution) pollUntil(ctx context.Context, limit func() time.Duration, check func() (done bool, state string, err error)) (string, error) {
	clock := x.a.deps.Clock
	start := clock.Now()
	state := "nothing read yet"
	for {
		done, s, err := check()
		if err != nil && !errors.Is(err, ErrTransient) {
			return "", err
		}
		if err != nil {
			s = err.Error()
		}
		if done {
			return s, nil
		}
		state = s
		waited, bound := clock.Now().Sub(start), limit()
		if waited >= bound {
			return "", fmt.Errorf("%w after %s: %s", ErrTimeout, bound, state)
		}
		if err := clock.Sleep(ctx, min(x.a.opt.Poll, bound-waited)); err != nil { // stopped (shutdown), not the wait's bound
			return "", fmt.Errorf("stopped after %s of waiting: %s: %w", clock.Now().Sub(start).Round(time.Millisecond), state, err)
		}
	}
}

// waitSlots waits until the cluster has at least n slots registered. Its
// bound is SlotWait, extended while TaskManagers are still registering:
// when it runs out and a TaskManager registered during the wait within
// the last half of SlotWait, the wait goes on until half of SlotWait
// passes with none registering, at most twice SlotWait in all. A wait in
// which TaskManagers keep registering is a cluster whose TaskManagers
// start slower than the bound (pricing-flink2-dedicated-lag-seconds: 40 s
// to 3 min), not TaskManagers that never come: cut at SlotWait, the slow
// ones were replaced (their start-up begun again) or dropped and the
// decision counted failed, 3.5 times a run. The bound also starts from
// the slowest wait the job's TaskManagers took before (record.SlotsTook)
// and a quarter more, up to twice SlotWait: a scale-up of one TaskManager
// shows no progress to extend on. A wait that runs out with no
// TaskManager registered in it at all counts as taken twice SlotWait, the
// longest (fraud-inference-big-taskmanagers: 8-slot TaskManagers start in
// 60 s to 4 min, two thirds after the 2-minute bound; every scale-up's
// wait ran out with none registered, was rolled back, and was asked again
// 5 min later from zero, 3.4 failed actuations a run). One that runs out
// with some registered is not: its peers started in the time, so the
// others are taken as never coming (replaceUnregistered), and a longer
// wait would only wait longer for them (clearing-failover-storm, 8 % never
// register: counting such waits as taken lengthened its later waits to
// 3–4 min, lag back p95 1,792 → 1,966 s). Not in reactive mode,
// whose job takes every slot as it registers. What it trades: a
// TaskManager that never registers is replaced (or the decision given up)
// up to SlotWait later on a cluster whose TaskManagers start slowly, or
// once a wait with none registered ran out (a scale-up of one TaskManager
// that never registered reads as a slow cluster).
func (x *execution) waitSlots(ctx context.Context, n int) (string, error) {
	clock := x.a.deps.Clock
	start, bound := clock.Now(), x.a.opt.SlotWait
	// a reactive job takes every slot as it registers: a longer wait buys
	// the decision's outcome, not the job's capacity, so its bound stays
	extend := x.d.Mode != events.ModeReactive
	if extend && x.slotsTook != nil {
		// a job whose TaskManagers were seen to take longer than the
		// bound is given that, and a quarter more, up to twice the bound
		bound = max(bound, min(*x.slotsTook+*x.slotsTook/4, 2*x.a.opt.SlotWait))
	}
	seen := -1
	var last time.Time // the latest registration seen during the wait
	limit := func() time.Duration {
		if last.IsZero() {
			return bound
		}
		return min(max(bound, last.Add(x.a.opt.SlotWait/2).Sub(start)), 2*x.a.opt.SlotWait)
	}
	state, err := x.pollUntil(ctx, limit, func() (bool, string, error) {
		ov, err := x.fl.Overview(ctx)
		if err != nil {
			return false, "", classifyFlink("read cluster overview", err)
		}
		x.registered, x.slots = ov.TaskManagers, ov.SlotsTotal
		if extend && seen >= 0 && ov.TaskManagers > seen {
			last = clock.Now()
		}
		seen = max(seen, ov.TaskManagers)
		state := fmt.Sprintf("%d of %d slots registered on %d TaskManagers", ov.SlotsTotal, n, ov.TaskManagers)
		if !last.IsZero() && clock.Now().Sub(start) >= bound {
			state += fmt.Sprintf(" (still registering: the latest %s ago)", clock.Now().Sub(last).Round(time.Second))
		}
		done := ov.SlotsTotal >= n
		if done && extend && x.slotsTook != nil {
			*x.slotsTook = max(*x.slotsTook, clock.Now().Sub(start))
		}
		return done, state, nil
	})
	if errors.Is(err, ErrTimeout) && extend && x.slotsTook != nil && last.IsZero() {
		// no TaskManager registered in the whole wait: they start slower
		// than it, and the job's next wait is the longest (twice SlotWait)
		*x.slotsTook = max(*x.slotsTook, 2*x.a.opt.SlotWait)
	}
	return state, err
}

// waitParallelism waits until the job is RUNNING with every vertex at its
// wanted parallelism. The bound (ParallelismWait) runs from the latest
// restart the job began during the wait, not from the wait's start: a
// restore that fails, or a TaskManager lost, restarts the job again
// (Flink's restart strategy at work, not requirements that cannot be met),
// and each restart takes its full downtime once more. In all the wait lasts
// at most twice the bound, plus the checkpoint gate below (the lease
// counts it); the state says how many restarts it saw.
//
// Until the job restarts, the bound also allows the wait for the checkpoint
// that lands the change (checkpointGate): Flink 2's adaptive scheduler
// rescales on the next completed checkpoint, so with 6-minute checkpoints
// a declaration that fits shows only minutes after the PUT, and an
// interval later again when that checkpoint fails (measured on real Flink
// 2.x; the emulator's "2.0" does the same). It is the wait decide allows
// too (events.CheckpointGate). Without it, every such rescale was reported
// timed out although the job ran at its targets later. What it trades:
// requirements that never fit are given up that much later.
func (x *execution) waitParallelism(ctx context.Context, want map[string]int) (string, error) {
	bound := x.a.opt.ParallelismWait
	extra := x.checkpointGate(ctx)
	var first, latest int64 // Flink's clock (ms): the wait's first read, the job's latest restart since
	restarts := map[int64]bool{}
	limit := func() time.Duration {
		if latest <= first {
			return bound + extra
		}
		return min(time.Duration(latest-first)*time.Millisecond+bound, 2*bound+extra)
	}
	return x.pollUntil(ctx, limit, func() (bool, string, error) {
		j, err := x.fl.JobDetails(ctx, x.d.JobID)
		if err != nil {
			return false, "", classifyFlink("read job", err)
		}
		if first == 0 {
			first = j.Now
		}
		if r := j.Timestamps[flink.StateRestarting]; r > first {
			latest = max(latest, r)
			restarts[r] = true
		}
		x.running = j.State == flink.StateRunning
		got := map[string]int{}
		for _, v := range j.Vertices {
			if _, ok := want[v.ID]; ok {
				got[v.ID] = v.Parallelism
			}
		}
		state := fmt.Sprintf("job %s at parallelism %v, want %v", j.State, shortKeys(got), shortKeys(want))
		if len(restarts) > 0 {
			state += fmt.Sprintf(" (%d restarts began during the wait; its bound runs from the latest)", len(restarts))
		}
		return x.running && maps.Equal(got, want), state, nil
	})
}

// put declares req, retrying a 409 (another update in flight) a bounded
// number of times.
func (x *execution) put(ctx context.Context, req map[string]plan.Bounds) (string, error) {
	var err error
	for attempt := 0; attempt <= x.a.opt.ConflictRetries; attempt++ {
		if attempt > 0 {
			if werr := x.a.deps.Clock.Sleep(ctx, time.Duration(attempt)*x.a.opt.Poll); werr != nil {
				break
			}
		}
		err = x.fl.PutResourceRequirements(ctx, x.d.JobID, toFlink(req))
		if err == nil {
			if attempt > 0 {
				return fmt.Sprintf("declared %s after %d conflicts (409)", describe(req), attempt), nil
			}
			return "declared " + describe(req), nil
		}
		if !errors.Is(err, flink.ErrConflict) {
			break
		}
	}
	return "", classifyFlink("PUT resource requirements", err)
}

// verify reads the requirements back and compares them with req.
func (x *execution) verify(ctx context.Context, req map[string]plan.Bounds) (string, error) {
	got, err := x.fl.GetResourceRequirements(ctx, x.d.JobID)
	if err != nil {
		return "", classifyFlink("read back resource requirements", err)
	}
	if back := fromFlink(got); !maps.Equal(back, req) {
		return "", fmt.Errorf("%w: sent %s, Flink holds %s", ErrMismatch, describe(req), describe(back))
	}
	return "Flink holds " + describe(req), nil
}

// TimedOut reports whether r failed because one of its bounded waits ran
// out (ErrTimeout): its error is the wait's "timed out after …".
func TimedOut(r events.Result) bool {
	return r.Outcome != events.OutcomeApplied && strings.HasPrefix(r.Error, ErrTimeout.Error()+" after ")
}
