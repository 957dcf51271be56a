package demo

import (
	"context"
	"time"
)

// simClock is the emulator's simulated time, the time actuate reads and
// waits on in the demo (actuator.WithClock), as it does in the benchmark.
// The emulated JobManager reports checkpoint ages and how long the job has
// run on this clock, and actuate's checkpoint wait compares them with its
// own bound: a bound in wall time divided by the speed (as the demo's
// waits once were) let a checkpoint due in 20 simulated seconds look 20
// wall seconds away, past a 1-second bound, and every scale-up restarted
// unaligned, replaying up to a minute of input (wordcount's max lag 70–81
// s for its 60-second SLO; the benchmark's, on this clock, 56–59 s).
type simClock struct {
	now   func() time.Time
	speed float64
}

// minSleep is the shortest wall-clock wait of one Sleep round.
const minSleep = time.Millisecond

// Now is the emulator's time.
func (c simClock) Now() time.Time { return c.now() }

// Sleep returns once d of simulated time has passed (about d/speed of wall
// time; longer when a busy machine holds the emulator back), or with ctx's
// error as soon as ctx ends.
func (c simClock) Sleep(ctx context.Context, d time.Duration) error {
	until := c.now().Add(d)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		left := until.Sub(c.now())
		if left <= 0 {
			return nil
		}
		t := time.NewTimer(max(time.Duration(float64(left)/c.speed), minSleep))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
