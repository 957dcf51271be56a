package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
)

// The runtime validation of payloads. It enforces what schemas/*.json say
// (TestValidatorsAgreeWithSchemas keeps the two in step) without a generic
// schema engine on the hot path: a typed decode that refuses unknown
// fields, a presence check of required keys, and per-type rules.

// payload is a decoded event data value.
type payload interface {
	validate() error
	// owner returns the cluster and job the payload is about ("" when it
	// is about none).
	owner() (cluster, job string)
}

var required = map[string][]string{
	TypeSnapshot: {"cluster", "jobId", "jobName", "jobState", "observedAt", "taskManagers", "slotsTotal", "slotsFree", "vertices", "complete"},
	TypeMetric:   {"cluster", "job", "name", "value", "observedAt"},
	TypeDecision: {"decisionId", "snapshotId", "cluster", "jobId", "jobName", "mode", "vertices", "taskManagers", "slots", "policy", "dryRun", "rationale", "decidedAt"},
	TypeResult:   {"decisionId", "cluster", "jobId", "outcome", "steps", "finishedAt"},
	TypeRejected: {"function", "subject", "body", "bodySize", "bodyTruncated", "reason", "rejectedAt"},
}

func newPayload(typ string) payload {
	switch typ {
	case TypeSnapshot:
		return &Snapshot{}
	case TypeMetric:
		return &Metric{}
	case TypeDecision:
		return &Decision{}
	case TypeResult:
		return &Result{}
	case TypeRejected:
		return &Rejected{}
	}
	return nil
}

// decodePayload decodes and validates the data of an event of type typ.
// Errors wrap ErrInvalid.
func decodePayload(typ string, data []byte) (payload, error) {
	p := newPayload(typ)
	if p == nil {
		return nil, fmt.Errorf("%w: unknown event type %q", ErrInvalid, typ)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, fmt.Errorf("%w: %s data is not a JSON object: %v", ErrInvalid, typ, err)
	}
	known := fieldNames(p)
	for k := range keys {
		if !known[k] { // encoding/json would match other letter cases; the contract does not
			return nil, fmt.Errorf("%w: %s data: unknown property %q", ErrInvalid, typ, k)
		}
	}
	var missing []string
	for _, k := range required[typ] {
		if v, ok := keys[k]; !ok || string(v) == "null" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: %s data: missing properties %s", ErrInvalid, typ, strings.Join(missing, ", "))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("%w: %s data: %v", ErrInvalid, typ, err)
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s data: %v", ErrInvalid, typ, err)
	}
	return p, nil
}

var fieldNameCache sync.Map // reflect.Type → map[string]bool

// fieldNames returns the exact JSON property names of the struct p points
// to.
func fieldNames(p payload) map[string]bool {
	t := reflect.TypeOf(p).Elem()
	if v, ok := fieldNameCache.Load(t); ok {
		return v.(map[string]bool)
	}
	names := map[string]bool{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	fieldNameCache.Store(t, names)
	return names
}

// problems collects validation failures with their JSON paths.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "; "))
}

func (p *problems) token(path, v string) {
	if !ValidToken(v) {
		p.addf("%s: %q is not a NATS-safe token", path, v)
	}
}

func (p *problems) nonNegative(path string, v int) {
	if v < 0 {
		p.addf("%s: %d is negative", path, v)
	}
}

func (p *problems) finite(path string, v *float64) {
	if v != nil && (*v < 0 || math.IsInf(*v, 0) || math.IsNaN(*v)) {
		p.addf("%s: %v must be a finite number >= 0", path, *v)
	}
}

func (p *problems) avgMax(path string, v *AvgMax) {
	if v != nil {
		p.finite(path+"/avg", &v.Avg)
		p.finite(path+"/max", &v.Max)
	}
}

func (s *Snapshot) owner() (string, string) { return s.Cluster, s.JobID }

func (s *Snapshot) validate() error {
	var p problems
	p.token("/cluster", s.Cluster)
	p.token("/jobId", s.JobID)
	p.nonNegative("/taskManagers", s.TaskManagers)
	p.nonNegative("/slotsTotal", s.SlotsTotal)
	p.nonNegative("/slotsFree", s.SlotsFree)
	for i, v := range s.Vertices {
		path := fmt.Sprintf("/vertices/%d", i)
		if v.ID == "" {
			p.addf("%s/id: missing", path)
		}
		p.nonNegative(path+"/parallelism", v.Parallelism)
		p.nonNegative(path+"/maxParallelism", v.MaxParallelism)
		for j, in := range v.Inputs {
			if in.ID == "" {
				p.addf("%s/inputs/%d/id: missing", path, j)
			}
		}
		p.avgMax(path+"/busyMsPerSecond", v.BusyMsPerSecond)
		p.avgMax(path+"/idleMsPerSecond", v.IdleMsPerSecond)
		p.avgMax(path+"/backPressuredMsPerSecond", v.BackPressuredMsPerSecond)
		p.finite(path+"/recordsInPerSecond", v.RecordsInPerSecond)
		p.finite(path+"/recordsOutPerSecond", v.RecordsOutPerSecond)
		p.finite(path+"/pendingRecords", v.PendingRecords)
		if v.SourcePartitions != nil {
			p.nonNegative(path+"/sourcePartitions", *v.SourcePartitions)
		}
	}
	return p.err()
}

func (m *Metric) owner() (string, string) { return m.Cluster, m.Job }

func (m *Metric) validate() error {
	var p problems
	p.token("/cluster", m.Cluster)
	p.token("/job", m.Job)
	if m.Name == "" || len(m.Name) > 256 {
		p.addf("/name: must be 1-256 characters")
	}
	return p.err()
}

func (d *Decision) owner() (string, string) { return d.Cluster, d.JobID }

func (d *Decision) validate() error {
	var p problems
	if d.DecisionID == "" {
		p.addf("/decisionId: empty")
	}
	p.token("/cluster", d.Cluster)
	p.token("/jobId", d.JobID)
	switch d.Mode {
	case ModeReactive, ModeAdaptive, ModeSession, ModeKEDA:
	default:
		p.addf("/mode: %q is not one of reactive, adaptive, session, keda", d.Mode)
	}
	for i, v := range d.Vertices {
		path := fmt.Sprintf("/vertices/%d", i)
		if v.ID == "" {
			p.addf("%s/id: missing", path)
		}
		p.nonNegative(path+"/current", v.Current)
		p.nonNegative(path+"/target", v.Target)
		p.nonNegative(path+"/lower", v.Lower)
		p.nonNegative(path+"/upper", v.Upper)
	}
	p.nonNegative("/taskManagers/current", d.TaskManagers.Current)
	p.nonNegative("/taskManagers/target", d.TaskManagers.Target)
	if d.Slots.PerTaskManager < 1 {
		p.addf("/slots/perTaskManager: %d is less than 1", d.Slots.PerTaskManager)
	}
	if d.Slots.Sharing != SlotSharingShared && d.Slots.Sharing != SlotSharingDedicated {
		p.addf("/slots/sharing: %q is not shared or dedicated", d.Slots.Sharing)
	}
	p.nonNegative("/slots/standby", d.Slots.Standby)
	return p.err()
}

func (r *Result) owner() (string, string) { return r.Cluster, r.JobID }

func (r *Result) validate() error {
	var p problems
	if r.DecisionID == "" {
		p.addf("/decisionId: empty")
	}
	p.token("/cluster", r.Cluster)
	p.token("/jobId", r.JobID)
	switch r.Outcome {
	case OutcomeApplied, OutcomeSkipped, OutcomeFailed, OutcomePartial:
	default:
		p.addf("/outcome: %q is not one of applied, skipped, failed, partial", r.Outcome)
	}
	for i, s := range r.Steps {
		if s.Name == "" || s.Status == "" {
			p.addf("/steps/%d: name and status are required", i)
		}
		p.nonNegative(fmt.Sprintf("/steps/%d/durationMs", i), int(s.DurationMs))
	}
	return p.err()
}

func (r *Rejected) owner() (string, string) { return "", "" }

func (r *Rejected) validate() error {
	var p problems
	p.nonNegative("/bodySize", r.BodySize)
	return p.err()
}
