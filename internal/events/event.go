package events

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
)

// ErrInvalid marks input that can never be processed: not a CloudEvent, an
// unknown type, a payload that fails its schema, a subject that disagrees
// with the payload. The runner terminates such a message (no redelivery) and
// republishes it as io.flinkscaler.event.rejected.v1.
var ErrInvalid = errors.New("invalid event")

// ExtCluster is the CloudEvents extension attribute carrying the cluster name.
const ExtCluster = "cluster"

// kindOf maps an event type to its subject kind.
var kindOf = map[string]string{
	TypeSnapshot: kindSnapshot,
	TypeMetric:   kindMetric,
	TypeDecision: kindDecision,
	TypeResult:   kindResult,
	TypeRejected: kindRejected,
}

// KnownType reports whether typ is one of flinkscaler's event types.
func KnownType(typ string) bool { _, ok := kindOf[typ]; return ok }

// New builds an event of typ from function about job of cluster with data
// encoded as JSON. It gets a fresh id and the current time.
func New(typ, function, cluster, job string, data any) (cloudevents.Event, error) {
	if !KnownType(typ) {
		return cloudevents.Event{}, fmt.Errorf("%w: unknown type %q", ErrInvalid, typ)
	}
	ev := cloudevents.New(SpecVersion)
	ev.SetID(uuid.NewString())
	ev.SetType(typ)
	ev.SetTime(time.Now().UTC())
	if typ == TypeRejected {
		ev.SetSource(SourcePrefix + function)
		ev.SetSubject(function)
	} else {
		ev.SetSource(Source(function, cluster))
		ev.SetSubject(job)
		ev.SetExtension(ExtCluster, cluster)
	}
	if err := ev.SetData(DataJSON, data); err != nil {
		return cloudevents.Event{}, fmt.Errorf("encode %s data: %w", typ, err)
	}
	return ev, nil
}

// SubjectOf returns the NATS subject an event is published on: per-job
// subjects from the cluster extension and the CloudEvents subject (the job),
// flinkscaler.rejected.<function> for rejected events.
func SubjectOf(ev cloudevents.Event) (string, error) {
	kind, ok := kindOf[ev.Type()]
	if !ok {
		return "", fmt.Errorf("%w: unknown type %q", ErrInvalid, ev.Type())
	}
	if kind == kindRejected {
		fn := ev.Subject()
		if !ValidToken(fn) {
			return "", fmt.Errorf("%w: rejected event subject %q is not a function name", ErrInvalid, fn)
		}
		return RejectedSubject(fn), nil
	}
	cluster, _ := ev.Extensions()[ExtCluster].(string)
	if !ValidToken(cluster) || !ValidToken(ev.Subject()) {
		return "", fmt.Errorf("%w: cluster %q and job %q must be NATS-safe tokens", ErrInvalid, cluster, ev.Subject())
	}
	return jobSubject(kind, cluster, ev.Subject()), nil
}

// Data decodes the JSON data of ev into T. Errors wrap ErrInvalid.
func Data[T any](ev cloudevents.Event) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(ev.Data()))
	if err := dec.Decode(&v); err != nil {
		return v, fmt.Errorf("%w: %s data: %v", ErrInvalid, ev.Type(), err)
	}
	return v, nil
}

// Check validates an event received on subject: a known type, data that
// satisfies the type's schema, and a subject whose kind, cluster and job
// agree with the event and its data. Every error wraps ErrInvalid.
func Check(subject string, ev cloudevents.Event) error {
	_, err := check(subject, ev)
	return err
}

// check is Check, returning the event's data as it decoded it.
func check(subject string, ev cloudevents.Event) (payload, error) {
	kind, ok := kindOf[ev.Type()]
	if !ok {
		return nil, fmt.Errorf("%w: unknown event type %q", ErrInvalid, ev.Type())
	}
	p, err := decodePayload(ev.Type(), ev.Data())
	if err != nil {
		return nil, err
	}
	if kind == kindRejected {
		return p, nil
	}
	gotKind, cluster, job, ok := SplitJobSubject(subject)
	if !ok || gotKind != kind {
		return nil, fmt.Errorf("%w: %s event on subject %q, want %s", ErrInvalid, ev.Type(), subject, jobSubject(kind, "<cluster>", "<job>"))
	}
	if dc, dj := p.owner(); dc != cluster || dj != job {
		return nil, fmt.Errorf("%w: subject names cluster %q job %q but data names cluster %q job %q",
			ErrInvalid, cluster, job, dc, dj)
	}
	return p, nil
}

// checkedKey is the context key of the data a Runner's contract check
// decoded for the event it hands its handler.
type checkedKey struct{}

// checked is an event's data as the contract check decoded it.
type checked struct {
	id, typ string
	data    payload
}

// WithChecked checks ev as Check does and returns ctx carrying the data
// the check decoded, which DataOf then hands a handler instead of decoding
// it again (a Runner calls its handler with such a context).
func WithChecked(ctx context.Context, subject string, ev cloudevents.Event) (context.Context, error) {
	p, err := check(subject, ev)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, checkedKey{}, checked{id: ev.ID(), typ: ev.Type(), data: p}), nil
}

// DataOf is Data for a Runner's handler: when ctx is the context the
// runner passed with ev (WithChecked), it returns the data the contract
// check decoded (the same value Data decodes; each call gets its own copy of
// the top-level struct, sharing its slices and pointers), so a snapshot is
// not decoded twice; otherwise (a direct call, a test) it decodes as Data
// does.
func DataOf[T any](ctx context.Context, ev cloudevents.Event) (T, error) {
	if c, ok := ctx.Value(checkedKey{}).(checked); ok && c.id == ev.ID() && c.typ == ev.Type() {
		if p, ok := any(c.data).(*T); ok {
			return *p, nil
		}
	}
	return Data[T](ev)
}

//go:embed schemas/*.json
var schemaFS embed.FS

// schemaFiles maps an event type to its data schema in schemas/.
var schemaFiles = map[string]string{
	TypeSnapshot: "snapshot.json",
	TypeMetric:   "metric.json",
	TypeDecision: "decision.json",
	TypeResult:   "result.json",
	TypeRejected: "rejected.json",
}

// SchemaFS holds the data schemas of the event types (the published
// contract, schemas/*.json); SchemaFile names each type's file in it. Check
// enforces the same rules at run time; internal/events/schemacheck
// validates against the schemas themselves.
func SchemaFS() fs.FS { return schemaFS }

// SchemaFile is the path in SchemaFS of the data schema of event type typ.
func SchemaFile(typ string) (string, bool) {
	f, ok := schemaFiles[typ]
	return "schemas/" + f, ok
}
