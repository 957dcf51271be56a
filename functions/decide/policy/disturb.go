package policy

import (
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// disturbance is the lag path of one unplanned restart (a failover) for a
// candidate whose headroom afterwards is h, and how many restarts of ours
// it takes. The job is down for the failover's outage (riddenOutage) and
// replays half a checkpoint interval (disturbanceReplay); then the cheaper
// of two answers:
//
//   - ride it out: drain at h;
//   - follow it up: drain at h for the reaction time, then a scale-up sized
//     to drain what is left within slo.recovery (its wait, outage and
//     replay first), released later: two restarts. Where the policy folds
//     that scale-up into the failover's own restart (ld.folds:
//     foldIntoFailover, adaptive and KEDA mode with every source's
//     capacity measured), the drain starts when the failover's restart
//     ends, with no reaction time, outage or replay of its own: one
//     restart, the release. Priced as two restarts there, the follow-up
//     left the standing headroom cheaper than it is and bought +150 % for
//     every hour of a run with 10-minute checkpoints that never failed
//     over (checkpoints-and-groups 2.46× oracle15; session 19). What the
//     fold's price trades: a failover that keeps its slots (a task's
//     exception: Flink rebuilds the graph at once and nothing is folded)
//     is answered after the reaction time by a second restart, priced here
//     as the fold (its reaction time's lag and a restart under-priced).
//
// The policy answers a failover's backlog with the second whenever that is
// cheaper, so a standing headroom is priced only for what it saves before
// that answer. With long checkpoint intervals (a replay of minutes) this
// is what keeps a budget of 0.2 failovers an hour from buying +150 %
// headroom for every hour of the run; it trades a failover's lag after the
// reaction time, which the follow-up restart drains instead, and the
// follow-up's slots while it drains (not priced: a few minutes of them).
func disturbance(rc *restartCost, ld *load, h float64, cfg *Config, slo, hz float64) (lagPath, float64) {
	ride := lagPath{slo: slo, end: hz}
	ride.run(rc.riddenOutage().Seconds(), 1)
	ride.jump(disturbanceReplay(*rc, *cfg).Seconds())
	follow := ride
	ride.run(hz, -h)
	recovery := cfg.SLO.Recovery.Seconds()
	if ride.over == 0 || !followsUp(*rc, *cfg) {
		return ride, 0
	}
	restarts := 1.0
	if !ld.folds {
		follow.run(ld.react.Seconds()+rc.wait.Seconds(), -h)
		follow.run(rc.outage.Seconds(), 1)
		follow.jump(rc.replay.Seconds())
		restarts = 2
	}
	follow.run(recovery, -maxF(follow.lag/recovery, fixHeadroom))
	follow.run(hz, -h)
	if follow.cost(slo)+restarts*rc.outage.Seconds() < ride.cost(slo) {
		return follow, restarts
	}
	return ride, 0
}

// foldsFailover reports whether the policy answers a failover that loses
// slots by folding the drain into the failover's own restart, as
// foldIntoFailover does: in adaptive and KEDA mode, when every source's
// capacity is measured (sourcesKnown).
func foldsFailover(cfg Config, view jobView) bool {
	return (cfg.Mode == events.ModeAdaptive || cfg.Mode == events.ModeKEDA) && sourcesKnown(view)
}

// riddenOutage is the outage of a failover the job rides: rc.ridden when
// set (a decision folded into a failover's restart was observed:
// restartFor), else the restart's own.
func (rc *restartCost) riddenOutage() time.Duration {
	if rc.ridden > 0 {
		return rc.ridden
	}
	return rc.outage
}

// followsUp reports whether a failover's replay alone (half a checkpoint
// interval) outlasts slo.recovery: then no standing headroom drains it in
// time and the policy answers it with a scale-up (disturbance).
func followsUp(rc restartCost, cfg Config) bool {
	return cfg.SLO.Recovery > 0 && disturbanceReplay(rc, cfg) >= cfg.SLO.Recovery
}

// cost is the path's seconds over the SLO and lag in the units price weighs
// them: time over, lag area and excess area each in seconds of the SLO.
func (p lagPath) cost(slo float64) float64 {
	return p.over + lagShare*p.area/slo + p.excess/slo
}
