package events

import (
	"context"
	"fmt"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Publisher is the part of jetstream.JetStream that publishing needs.
type Publisher interface {
	PublishMsg(ctx context.Context, msg *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error)
}

var _ Publisher = jetstream.JetStream(nil)

// Publish sends ev in binary content mode on its subject (SubjectOf) and
// waits for JetStream's acknowledgement. Nats-Msg-Id is the event id, so a
// retried publish is stored once.
func Publish(ctx context.Context, js Publisher, ev cloudevents.Event) error {
	subject, err := SubjectOf(ev)
	if err != nil {
		return err
	}
	msg, err := ToMsg(subject, ev)
	if err != nil {
		return err
	}
	if _, err := js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("publish %s to %s: %w", ev.Type(), subject, err)
	}
	return nil
}
