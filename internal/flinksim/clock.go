package flinksim

import (
	"context"
	"fmt"
	"time"
)

// minTick bounds how often Run wakes up; at high speeds it steps several
// times per wake-up to keep up.
const minTick = 10 * time.Millisecond

// Run advances the cluster in real time sped up by speed (1 = real time)
// until ctx is done, then returns nil. After each step observe, if not nil,
// receives the ground truth (outside the cluster lock). Virtual-time callers
// use Step or Advance instead.
func (c *Cluster) Run(ctx context.Context, speed float64, observe func(GroundTruth)) error {
	if !(speed > 0) {
		return fmt.Errorf("speed must be positive, got %g", speed)
	}
	tick := max(time.Duration(float64(c.opts.Step)/speed), minTick)
	t := time.NewTicker(tick)
	defer t.Stop()
	start, base := time.Now(), c.Elapsed()
	var gt GroundTruth
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		target := base + time.Duration(float64(time.Since(start))*speed)
		for c.Elapsed()+c.opts.Step <= target && ctx.Err() == nil {
			c.Step()
			if observe != nil {
				c.ReadGroundTruth(&gt)
				observe(gt)
			}
		}
	}
}
