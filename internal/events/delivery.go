package events

import (
	"context"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Delivery is what JetStream says about the message a handler is handling.
type Delivery struct {
	// Stored is when the stream stored the message (the server's clock).
	Stored time.Time
	// Attempt counts deliveries of the message, 1 for the first.
	Attempt uint64
}

type deliveryKey struct{}

func withDelivery(ctx context.Context, md *jetstream.MsgMetadata) context.Context {
	if md == nil {
		return ctx
	}
	return WithDelivery(ctx, Delivery{Stored: md.Timestamp, Attempt: md.NumDelivered})
}

// WithDelivery returns ctx carrying d, as a Runner passes it to a handler.
func WithDelivery(ctx context.Context, d Delivery) context.Context {
	return context.WithValue(ctx, deliveryKey{}, d)
}

// DeliveryOf returns the delivery of the message a Runner's handler was
// called for; ok is false outside a runner (a direct call, a test).
func DeliveryOf(ctx context.Context) (d Delivery, ok bool) {
	d, ok = ctx.Value(deliveryKey{}).(Delivery)
	return d, ok
}

// superseded reports whether m is on a LatestOnly subject and a newer
// message is stored on its subject. It looks the subject up only when the
// consumer has messages pending (a backlog); a failed lookup handles m.
func (r *Runner) superseded(ctx context.Context, m jetstream.Msg, md *jetstream.MsgMetadata) bool {
	if r.stream == nil || md == nil || md.NumPending == 0 || !matchesAny(r.cfg.LatestOnly, m.Subject()) {
		return false
	}
	last, err := r.stream.GetLastMsgForSubject(ctx, m.Subject())
	return err == nil && last.Sequence > md.Sequence.Stream
}

// matchesAny reports whether subject matches one of the filters (NATS
// wildcards: * one token, > the rest).
func matchesAny(filters []string, subject string) bool {
	for _, f := range filters {
		if subjectMatches(f, subject) {
			return true
		}
	}
	return false
}

func subjectMatches(filter, subject string) bool {
	ft, st := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, t := range ft {
		switch {
		case t == ">":
			return len(st) > i
		case i >= len(st):
			return false
		case t != "*" && t != st[i]:
			return false
		}
	}
	return len(ft) == len(st)
}
