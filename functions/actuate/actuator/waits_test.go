package actuator

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// A wait cut short by shutdown says so, not "timed out after" its bound.
func TestWaitStoppedByShutdownIsNotATimeout(t *testing.T) {
	x := &execution{a: New(Deps{}, Options{Poll: 10 * time.Millisecond})}
	notYet := func() (bool, string, error) { return false, "1 of 3 slots registered", nil }

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := x.poll(ctx, 2*time.Minute, notYet)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, ErrTimeout)
	require.Contains(t, err.Error(), "stopped after")
	require.Contains(t, err.Error(), "1 of 3 slots registered")

	_, err = x.poll(context.Background(), 50*time.Millisecond, notYet)
	require.ErrorIs(t, err, ErrTimeout)
	require.Contains(t, err.Error(), "timed out after 50ms: 1 of 3 slots registered")
}

// stepClock is virtual time: a Sleep moves it on at once.
type stepClock struct {
	now    time.Time
	sleeps []time.Duration
}

func (c *stepClock) Now() time.Time { return c.now }

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

// Waits run on the Actuator's clock: its polls are Poll apart and its bound
// is measured in the clock's time, not the wall clock's.
func TestWaitsRunOnTheInjectedClock(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	x := &execution{a: New(Deps{Clock: clock}, Options{Poll: 10 * time.Second})}
	checks := 0
	start := time.Now()
	_, err := x.poll(context.Background(), 95*time.Second, func() (bool, string, error) {
		checks++
		return false, "job RESTARTING", nil
	})
	require.ErrorIs(t, err, ErrTimeout)
	require.Contains(t, err.Error(), "timed out after 1m35s: job RESTARTING")
	// A wall-clock wait would take the bound, 95 s; the margin is for a
	// loaded machine under the race detector.
	require.Less(t, time.Since(start), 30*time.Second, "no wall-clock wait")
	require.Equal(t, 11, checks, "at 0, 10 s, …, 90 s and at the bound")
	require.Equal(t, 5*time.Second, clock.sleeps[len(clock.sleeps)-1], "the last sleep ends at the bound")
	require.Equal(t, 95*time.Second, clock.now.Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))

	checks = 0
	state, err := x.poll(context.Background(), time.Minute, func() (bool, string, error) {
		checks++
		return checks == 3, "job RUNNING", nil
	})
	require.NoError(t, err)
	require.Equal(t, "job RUNNING", state)
}

// slotsFlink answers Overview with 1-slot TaskManagers registering on the
// clock: base at start, one more at each of at (since start).
type slotsFlink struct {
	Flink
	clock *stepClock
	start time.Time
	base  int
	at    []time.Duration
}

func (f *slotsFlink) Overview(context.Context) (flink.Overview, error) {
	n := f.base
	for _, d := range f.at {
		if f.clock.now.Sub(f.start) >= d {
			n++
		}
	}
	return flink.Overview{TaskManagers: n, SlotsTotal: n}, nil
}

// runSlotWait runs one slot wait of a job with 3 slots registered, whose
// slowest wait so far took took, for want slots, while TaskManagers
// register at the offsets at (SlotWait 2 min, polled every second). It
// returns how long the wait took, the job's slowest wait after it, and its
// error.
func runSlotWait(took time.Duration, want int, at ...time.Duration) (time.Duration, time.Duration, error) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := &stepClock{now: t0}
	fl := &slotsFlink{clock: clock, start: t0, base: 3, at: at}
	x := &execution{a: New(Deps{Clock: clock}, Options{Poll: time.Second, SlotWait: 2 * time.Minute}), fl: fl, slotsTook: &took}
	_, err := x.waitSlots(context.Background(), want)
	return clock.now.Sub(t0), took, err
}

// The slot wait goes on past SlotWait while TaskManagers keep registering
// (pricing-flink2-dedicated-lag-seconds: TaskManagers start in 40 s to
// 3 min, and every scale-up's wait ran out at 2 min), until half of
// SlotWait passes with none registering, at most twice SlotWait; the
// slowest wait that saw its slots bounds the job's next waits (a quarter
// more, up to twice SlotWait), so a scale-up of one slow TaskManager, which
// shows no progress, is waited for too.
func TestSlotWaitFollowsTaskManagersStillRegistering(t *testing.T) {
	waited, took, err := runSlotWait(0, 7, 40*time.Second, 100*time.Second, 150*time.Second, 170*time.Second)
	require.NoError(t, err, "registering until 2m50s: waited for")
	require.Equal(t, 170*time.Second, waited)
	require.Equal(t, 170*time.Second, took, "the slowest wait is kept")

	waited, _, err = runSlotWait(0, 7, 40*time.Second, 100*time.Second, 110*time.Second)
	require.ErrorIs(t, err, ErrTimeout, "one never registers")
	require.Equal(t, 170*time.Second, waited, "a minute after the latest registration")
	require.Contains(t, err.Error(), "6 of 7 slots registered on 6 TaskManagers (still registering: the latest 1m0s ago)")

	waited, _, err = runSlotWait(0, 7, 40*time.Second, 50*time.Second, 60*time.Second)
	require.ErrorIs(t, err, ErrTimeout)
	require.Equal(t, 2*time.Minute, waited, "none registered in the bound's last minute: SlotWait")

	_, _, err = runSlotWait(0, 4, 200*time.Second)
	require.ErrorIs(t, err, ErrTimeout, "one TaskManager, nothing learned: SlotWait")
	waited, _, err = runSlotWait(170*time.Second, 4, 200*time.Second)
	require.NoError(t, err, "one TaskManager on a job whose TaskManagers took 2m50s")
	require.Equal(t, 200*time.Second, waited)
	waited, _, err = runSlotWait(10*time.Minute, 4)
	require.ErrorIs(t, err, ErrTimeout)
	require.Equal(t, 4*time.Minute, waited, "at most twice SlotWait")
}

// A slot wait that runs out with no TaskManager registered in it at all
// counts as taken twice SlotWait, so the job's next wait is not cut at the
// same bound and rolled back again (fraud-inference-big-taskmanagers:
// 8-slot TaskManagers start in 60 s to 4 min; every scale-up's wait ran out
// at 2 min with none registered, was rolled back and asked again from
// zero, 3.4 failed actuations a run).
func TestSlotWaitLearnsFromAWaitThatRanOut(t *testing.T) {
	_, took, err := runSlotWait(0, 5, 200*time.Second, 210*time.Second)
	require.ErrorIs(t, err, ErrTimeout, "none registered in 2 min")
	require.Equal(t, 4*time.Minute, took, "none registered: the longest wait next time")
	waited, _, err := runSlotWait(took, 5, 200*time.Second, 210*time.Second)
	require.NoError(t, err, "the next wait of the same job sees them")
	require.Equal(t, 210*time.Second, waited)

	_, took, err = runSlotWait(0, 5, 40*time.Second)
	require.ErrorIs(t, err, ErrTimeout, "one registered, one never does")
	require.Zero(t, took, "its peer started in the time: the other is taken as never coming, not as slow")
	_, took, err = runSlotWait(time.Minute, 4, 30*time.Second)
	require.NoError(t, err)
	require.Equal(t, time.Minute, took, "a wait that saw its slots sooner than the slowest keeps the slowest")
}
