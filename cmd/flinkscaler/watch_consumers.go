package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// idleAfter is how long a function's consumer may take nothing while
// messages wait before watch says so.
const idleAfter = time.Minute

// consumerWatch tells, on change only, when decide or actuate is not
// consuming while events wait for it: a chain whose decide is missing
// otherwise looks healthy in watch, showing snapshots and never a decision.
type consumerWatch struct {
	js   jetstream.JetStream
	last map[string]string
	now  func() time.Time
}

// notes returns the lines to print now: a function's state when it
// changed since the last call ("" states are not printed).
func (w *consumerWatch) notes(ctx context.Context) []string {
	var out []string
	for _, fn := range []string{"decide", "actuate"} {
		state := w.state(ctx, fn)
		if state != w.last[fn] && state != "" {
			out = append(out, "! "+state)
		}
		if state != w.last[fn] && state == "" && w.last[fn] != "" {
			out = append(out, "! "+fn+" is consuming again")
		}
		w.last[fn] = state
	}
	return out
}

// state describes a function's durable consumer when something waits for
// it and it takes nothing; "" when all is well or nothing waits.
func (w *consumerWatch) state(ctx context.Context, fn string) string {
	c, err := w.js.Consumer(ctx, events.StreamName, fn)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		if w.waiting(ctx, fn) {
			return fmt.Sprintf("no %s has ever consumed: its events wait until `flinkscaler %s` runs", fn, fn)
		}
		return ""
	}
	if err != nil {
		return ""
	}
	info := c.CachedInfo()
	if info.NumPending == 0 {
		return ""
	}
	if last := info.Delivered.Last; last != nil && w.now().Sub(*last) < idleAfter {
		return ""
	}
	return fmt.Sprintf("%s is not consuming: %d events wait for it; is `flinkscaler %s` running?", fn, info.NumPending, fn)
}

// waiting reports whether the stream holds events fn would consume.
func (w *consumerWatch) waiting(ctx context.Context, fn string) bool {
	filter := map[string]string{"decide": events.SnapshotFilter, "actuate": events.DecisionFilter}[fn]
	s, err := w.js.Stream(ctx, events.StreamName)
	if err != nil {
		return false
	}
	_, err = s.GetLastMsgForSubject(ctx, filter)
	return err == nil
}
