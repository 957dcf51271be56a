package demo

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// TestSimClockSleepsSimulatedTime: an emulator running at 100× → a Sleep
// of 10 simulated seconds returns once the emulator's clock has passed
// them (about 0.1 s of wall time), and at once with ctx's error when ctx
// ends.
func TestSimClockSleepsSimulatedTime(t *testing.T) {
	sc, err := flinksim.LoadScenario("testdata/step.yaml")
	require.NoError(t, err)
	c := flinksim.New(sc, flinksim.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = c.Run(ctx, 100, nil) }()
	clk := simClock{now: c.Now, speed: 100}

	start, wall := clk.Now(), time.Now()
	require.NoError(t, clk.Sleep(ctx, 10*time.Second))
	require.GreaterOrEqual(t, clk.Now().Sub(start), 10*time.Second)
	require.Less(t, time.Since(wall), 5*time.Second, "10 simulated seconds at 100× take about 0.1 s")

	stopped, stop := context.WithCancel(ctx)
	stop()
	require.ErrorIs(t, clk.Sleep(stopped, time.Hour), context.Canceled)
}

// TestActuateWaitsAsInProduction: the demo's actuate keeps actuate's own
// waits, which pass on the emulator's clock (simClock), not waits divided
// by the speed: the checkpoint wait's bound is compared with the emulated
// JobManager's checkpoint ages, which are simulated time.
func TestActuateWaitsAsInProduction(t *testing.T) {
	sc, err := flinksim.LoadScenario("testdata/step.yaml")
	require.NoError(t, err)
	cfg := Defaults(sc)
	ac, err := cfg.actuateConfig("nats://127.0.0.1:4222", "http://127.0.0.1:8081")
	require.NoError(t, err)
	def := actuator.DefaultOptions()
	require.Equal(t, def.CheckpointWait, ac.Options.CheckpointWait)
	require.Equal(t, def.SlotWait, ac.Options.SlotWait)
	require.Equal(t, def.MinInterval, ac.Options.MinInterval)
}
