package events

import (
	"bytes"
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
	kind, ok := kindOf[ev.Type()]
	if !ok {
		return fmt.Errorf("%w: unknown event type %q", ErrInvalid, ev.Type())
	}
	p, err := decodePayload(ev.Type(), ev.Data())
	if err != nil {
		return err
	}
	if kind == kindRejected {
		return nil
	}
	gotKind, cluster, job, ok := SplitJobSubject(subject)
	if !ok || gotKind != kind {
		return fmt.Errorf("%w: %s event on subject %q, want %s", ErrInvalid, ev.Type(), subject, jobSubject(kind, "<cluster>", "<job>"))
	}
	if dc, dj := p.owner(); dc != cluster || dj != job {
		return fmt.Errorf("%w: subject names cluster %q job %q but data names cluster %q job %q",
			ErrInvalid, cluster, job, dc, dj)
	}
	return nil
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
