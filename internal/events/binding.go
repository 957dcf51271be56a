package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/format"
	"github.com/cloudevents/sdk-go/v2/binding/spec"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// The NATS protocol binding for CloudEvents: in binary content mode every
// attribute is a header "ce-<name>", and datacontenttype is the
// "content-type" header; in structured mode "content-type" is
// application/cloudevents+json and the whole event is the body.
const (
	headerPrefix      = "ce-"
	headerContentType = "content-type"
	// HeaderMsgID is JetStream's de-duplication header.
	HeaderMsgID = "Nats-Msg-Id"
)

// ErrNotCloudEvent is wrapped by Decode for a message that carries neither a
// binary-mode specversion header nor a structured-mode content type.
var ErrNotCloudEvent = errors.New("not a CloudEvent")

var binarySpecs = spec.WithPrefix(headerPrefix)

// ToMsg encodes ev in binary content mode for subject, with Nats-Msg-Id set
// to the event id. The event is validated first.
func ToMsg(subject string, ev cloudevents.Event) (*nats.Msg, error) {
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	w := &headerWriter{msg: nats.NewMsg(subject)}
	ctx := binding.WithForceBinary(context.Background())
	if _, err := binding.Write(ctx, binding.ToMessage(&ev), nil, w); err != nil {
		return nil, fmt.Errorf("encode event %s: %w", ev.ID(), err)
	}
	w.msg.Header.Set(HeaderMsgID, ev.ID())
	return w.msg, nil
}

// Decode reads a CloudEvent from a NATS message in binary or structured
// content mode and validates its required attributes and spec version.
// Every error wraps ErrInvalid.
func Decode(msg *nats.Msg) (cloudevents.Event, error) {
	m := newNATSMessage(msg)
	if m.specVersion != "" && m.version == nil {
		return cloudevents.Event{}, fmt.Errorf("%w: spec version %q, want %q", ErrInvalid, m.specVersion, SpecVersion)
	}
	if m.ReadEncoding() == binding.EncodingUnknown {
		return cloudevents.Event{}, fmt.Errorf("%w: %w: no %sspecversion header and content-type is not %s",
			ErrInvalid, ErrNotCloudEvent, headerPrefix, StructuredJSON)
	}
	ev, err := binding.ToEvent(context.Background(), m)
	if err != nil {
		return cloudevents.Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if ev.SpecVersion() != SpecVersion {
		return cloudevents.Event{}, fmt.Errorf("%w: spec version %q, want %q", ErrInvalid, ev.SpecVersion(), SpecVersion)
	}
	if err := ev.Validate(); err != nil {
		return cloudevents.Event{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return *ev, nil
}

// headerWriter is a binding.BinaryWriter that fills a NATS message.
type headerWriter struct{ msg *nats.Msg }

var _ binding.BinaryWriter = (*headerWriter)(nil)

func (w *headerWriter) Start(context.Context) error { return nil }
func (w *headerWriter) End(context.Context) error   { return nil }

func (w *headerWriter) SetAttribute(attr spec.Attribute, value any) error {
	if value == nil {
		return nil
	}
	s, err := attributeString(value)
	if err != nil {
		return err
	}
	if attr.Kind() == spec.DataContentType {
		w.msg.Header.Set(headerContentType, s)
		return nil
	}
	w.msg.Header.Set(headerPrefix+attr.Name(), s)
	return nil
}

func (w *headerWriter) SetExtension(name string, value any) error {
	if value == nil {
		return nil
	}
	s, err := attributeString(value)
	if err != nil {
		return err
	}
	w.msg.Header.Set(headerPrefix+name, s)
	return nil
}

func (w *headerWriter) SetData(r io.Reader) error {
	data, err := io.ReadAll(r)
	w.msg.Data = data
	return err
}

func attributeString(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case time.Time:
		return t.UTC().Format(time.RFC3339Nano), nil
	case fmt.Stringer:
		return t.String(), nil
	default:
		return fmt.Sprint(v), nil
	}
}

// natsMessage is a binding.Message over a received NATS message.
type natsMessage struct {
	headers map[string]string // lower-cased names, first value
	body    []byte
	format  format.Format
	version spec.Version
	// specVersion is the raw ce-specversion header, kept to name an
	// unknown version in the error.
	specVersion string
}

var (
	_ binding.Message               = (*natsMessage)(nil)
	_ binding.MessageMetadataReader = (*natsMessage)(nil)
)

func newNATSMessage(msg *nats.Msg) *natsMessage {
	m := &natsMessage{headers: map[string]string{}, body: msg.Data}
	for k, v := range msg.Header {
		if len(v) > 0 {
			m.headers[strings.ToLower(k)] = v[0]
		}
	}
	if sv, ok := m.headers[binarySpecs.PrefixedSpecVersionName()]; ok {
		m.specVersion = sv
		m.version = binarySpecs.Version(sv)
		return m
	}
	ct := m.headers[headerContentType]
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(mt) == StructuredJSON {
		m.format = format.JSON
	}
	return m
}

func (m *natsMessage) ReadEncoding() binding.Encoding {
	switch {
	case m.version != nil:
		return binding.EncodingBinary
	case m.format != nil:
		return binding.EncodingStructured
	default:
		return binding.EncodingUnknown
	}
}

func (m *natsMessage) ReadStructured(ctx context.Context, w binding.StructuredWriter) error {
	if m.format == nil {
		return binding.ErrNotStructured
	}
	return w.SetStructuredEvent(ctx, m.format, bytes.NewReader(m.body))
}

func (m *natsMessage) ReadBinary(_ context.Context, w binding.BinaryWriter) error {
	if m.version == nil {
		return binding.ErrNotBinary
	}
	for name, value := range m.headers {
		var err error
		switch {
		case name == headerContentType:
			err = w.SetAttribute(m.version.AttributeFromKind(spec.DataContentType), value)
		case !strings.HasPrefix(name, headerPrefix):
			continue
		case m.version.Attribute(name) != nil:
			err = w.SetAttribute(m.version.Attribute(name), value)
		default:
			err = w.SetExtension(strings.TrimPrefix(name, headerPrefix), value)
		}
		if err != nil {
			return err
		}
	}
	if len(m.body) > 0 {
		return w.SetData(bytes.NewReader(m.body))
	}
	return nil
}

func (m *natsMessage) GetAttribute(k spec.Kind) (spec.Attribute, any) {
	attr := m.version.AttributeFromKind(k)
	if attr == nil {
		return nil, nil
	}
	name := attr.PrefixedName()
	if k == spec.DataContentType {
		name = headerContentType
	}
	if v, ok := m.headers[name]; ok {
		return attr, v
	}
	return attr, nil
}

func (m *natsMessage) GetExtension(name string) any {
	if v, ok := m.headers[headerPrefix+strings.ToLower(name)]; ok {
		return v
	}
	return nil
}

func (m *natsMessage) Finish(error) error { return nil }
