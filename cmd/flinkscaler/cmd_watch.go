package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/nats-io/nats.go"
)

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("watch", "watch [--subject S] [--json]", stderr)
	conn := natsFlags(fs, "watch")
	subject := fs.String("subject", events.SubjectAll, "NATS subject to follow (wildcards allowed)")
	asJSON := fs.Bool("json", false, "print each whole CloudEvent as one JSON line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	nc, js, err := events.Connect(*conn)
	if err != nil {
		return err
	}
	defer nc.Close()
	msgs := make(chan *nats.Msg, 1024)
	sub, err := nc.ChanSubscribe(*subject, msgs)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", *subject, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	fmt.Fprintf(stderr, "watching %s on %s (Ctrl-C to stop)\n", *subject, nc.ConnectedUrlRedacted())
	consumers := &consumerWatch{js: js, last: map[string]string{}, now: time.Now}
	check := time.NewTicker(15 * time.Second)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			fmt.Fprintln(stdout, watchLine(m, *asJSON))
		case <-check.C:
			for _, n := range consumers.notes(ctx) {
				fmt.Fprintln(stderr, n)
			}
		}
	}
}

// watchLine renders one message; a message that is not a CloudEvent is
// shown as such rather than dropped.
func watchLine(m *nats.Msg, asJSON bool) string {
	ev, err := events.Decode(m)
	if err != nil {
		if asJSON {
			b, _ := json.Marshal(map[string]any{"subject": m.Subject, "error": err.Error(), "bytes": len(m.Data)})
			return string(b)
		}
		return fmt.Sprintf("%s: not decodable (%v), %d bytes", m.Subject, err, len(m.Data))
	}
	if asJSON {
		b, err := json.Marshal(ev)
		if err != nil {
			return fmt.Sprintf(`{"subject":%q,"error":%q}`, m.Subject, err.Error())
		}
		return string(b)
	}
	return events.Summary(ev)
}
