package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// readyTimeout bounds the wait for decide's and actuate's consumers.
const readyTimeout = 20 * time.Second

// awaitConsumers waits until decide and actuate have created their durable
// consumers, so no simulated time passes before the pipeline is complete.
// A function that fails meanwhile ends the wait with its error.
func (s *system) awaitConsumers(ctx context.Context, fnErr <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ready := true
		for _, durable := range []string{decider.Function, actuator.Function} {
			if _, err := s.js.Consumer(ctx, events.StreamName, durable); err != nil {
				ready = false
			}
		}
		if ready {
			return nil
		}
		select {
		case err := <-fnErr:
			return fmt.Errorf("%w: %w", ErrStart, err)
		case <-ctx.Done():
			return fmt.Errorf("%w: decide and actuate not consuming after %s: %w", ErrStart, readyTimeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// simulate runs the emulator at the configured speed until the duration
// has passed, ctx ends or a function fails (whose error it returns).
func (s *system) simulate(ctx context.Context, cfg Config, rec *recording, fnErr <-chan error) error {
	simCtx, stop := context.WithCancel(ctx)
	defer stop()
	failed := make(chan error, 1)
	go func() {
		select {
		case err := <-fnErr:
			failed <- err
			stop()
		case <-simCtx.Done():
			failed <- nil
		}
	}()
	end := cfg.duration()
	observe := func(gt flinksim.GroundTruth) {
		rec.observe(gt, false)
		if gt.Elapsed >= end {
			stop()
		}
	}
	var err error
	if s.cluster != nil {
		err = s.cluster.Run(simCtx, cfg.Speed, observe)
	} else {
		err = s.follow(simCtx, observe)
	}
	stop()
	return errors.Join(err, <-failed)
}

// externalEvery is how often an external cluster's ground truth is read.
const externalEvery = time.Second

// follow reads an external cluster's ground truth every second until ctx
// ends; a failed read is skipped (the next one may succeed), ten in a row
// end the run.
func (s *system) follow(ctx context.Context, observe func(flinksim.GroundTruth)) error {
	tick := time.NewTicker(externalEvery)
	defer tick.Stop()
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		gt, err := s.external.Truth(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			if failures++; failures >= 10 {
				return fmt.Errorf("the cluster's ground truth: %w", err)
			}
			continue
		}
		failures = 0
		observe(gt)
	}
}

// printHeader tells the user what runs where.
func printHeader(w io.Writer, cfg Config, ep Endpoints) {
	sc := cfg.Scenario
	d := cfg.duration()
	every := time.Duration(float64(cfg.ingestConfig("", "").Interval) * cfg.Speed).Round(time.Second)
	// An external cluster (real Flink) runs in real time on its own
	// TaskManagers; only the emulator is simulated.
	clock := fmt.Sprintf("%s simulated at %g× (about %s)", d, cfg.Speed, time.Duration(float64(d)/cfg.Speed).Round(time.Second))
	flinkAt, where, interval := "Flink REST API", "emulator TaskManagers", every.String()+" simulated"
	if cfg.External != nil {
		clock = fmt.Sprintf("%s in real time on a running cluster", d)
		flinkAt, where, interval = "cluster REST API", "the cluster's TaskManagers through its control endpoint", every.String()
	}
	fmt.Fprintf(w, "flinkscaler demo: scenario %q, job %q (%s scheduling), %s\n", sc.Name, sc.Job.Name, sc.Cluster.Scaling, clock)
	fmt.Fprintf(w, "  NATS JetStream   %s   follow the events: flinkscaler watch --nats %s\n", ep.NATS, ep.NATS)
	fmt.Fprintf(w, "  %-16s %s   job %s\n", flinkAt, ep.Flink, ep.JobID)
	if ep.KEDA != "" {
		fmt.Fprintf(w, "  KEDA scaler      %s   metadata cluster=%s job=%s\n", ep.KEDA, Cluster, sc.Job.Name)
	}
	fmt.Fprintf(w, "  functions        metrics-ingest (every %s) → decide (default policy; slots per TaskManager from the cluster) → actuate (%s), cluster %q\n", interval, where, Cluster)
}

// vertexNames lists the scenario's vertices in order.
func vertexNames(sc *flinksim.Scenario) []string {
	names := make([]string, len(sc.Job.Vertices))
	for i, v := range sc.Job.Vertices {
		names[i] = v.Name
	}
	return names
}
