package flink

import (
	"reflect"
	"strconv"
	"strings"
)

// A fast path for GET /jobs/:jobid, which metrics-ingest reads on every
// poll and actuate while it waits for a rescale: the job details in their
// plain form (strings without escapes or non-ASCII bytes, integers where
// the types have integers, no null, no key twice in an object, no unknown
// key that matches a known one ignoring case). Anything else is left to
// encoding/json; FuzzFastDecode checks that both give the same JobDetails.

// jsonKeys are the JSON names of a struct type's fields.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	return keys
}

var (
	jobDetailsKeys = jsonKeys(reflect.TypeFor[JobDetails]())
	jobVertexKeys  = jsonKeys(reflect.TypeFor[JobVertex]())
	ioMetricsKeys  = jsonKeys(reflect.TypeFor[IOMetrics]())
	planKeys       = jsonKeys(reflect.TypeFor[Plan]())
	planNodeKeys   = jsonKeys(reflect.TypeFor[PlanNode]())
	planInputKeys  = jsonKeys(reflect.TypeFor[PlanInput]())
)

func decodeJobDetails(raw []byte, out *JobDetails) bool {
	s := scanner{b: raw}
	var d JobDetails
	ok := s.fields(jobDetailsKeys, func(key string) bool {
		switch key {
		case "jid":
			return s.plain(&d.ID)
		case "name":
			return s.plain(&d.Name)
		case "isStoppable":
			return s.boolean(&d.IsStoppable)
		case "state":
			return s.plain(&d.State)
		case "start-time":
			return s.int64(&d.StartTime)
		case "end-time":
			return s.int64(&d.EndTime)
		case "duration":
			return s.int64(&d.Duration)
		case "maxParallelism":
			return s.int(&d.MaxParallelism)
		case "now":
			return s.int64(&d.Now)
		case "timestamps":
			d.Timestamps = map[string]int64{}
			return s.fields(nil, func(k string) bool { var v int64; ok := s.int64(&v); d.Timestamps[k] = v; return ok })
		case "vertices":
			d.Vertices = []JobVertex{}
			return s.elements(func() bool { var v JobVertex; ok := s.jobVertex(&v); d.Vertices = append(d.Vertices, v); return ok })
		case "status-counts":
			d.StatusCounts = map[string]int{}
			return s.fields(nil, func(k string) bool { var v int; ok := s.int(&v); d.StatusCounts[k] = v; return ok })
		case "plan":
			return s.plan(&d.Plan)
		case "job-type":
			return s.plain(&d.JobType)
		case "pending-operators":
			d.PendingOperators = new(int)
			return s.int(d.PendingOperators)
		case "schedulerType":
			return s.plain(&d.SchedulerType)
		case "application-id":
			return s.plain(&d.ApplicationID)
		}
		return s.skip(0)
	})
	s.space()
	if !ok || s.i != len(s.b) {
		return false
	}
	*out = d
	return true
}

func (s *scanner) jobVertex(v *JobVertex) bool {
	return s.fields(jobVertexKeys, func(key string) bool {
		switch key {
		case "id":
			return s.plain(&v.ID)
		case "name":
			return s.plain(&v.Name)
		case "maxParallelism":
			return s.int(&v.MaxParallelism)
		case "parallelism":
			return s.int(&v.Parallelism)
		case "status":
			return s.plain(&v.Status)
		case "start-time":
			return s.int64(&v.StartTime)
		case "end-time":
			return s.int64(&v.EndTime)
		case "duration":
			return s.int64(&v.Duration)
		case "tasks":
			v.Tasks = map[string]int{}
			return s.fields(nil, func(k string) bool { var n int; ok := s.int(&n); v.Tasks[k] = n; return ok })
		case "metrics":
			return s.ioMetrics(&v.Metrics)
		case "slotSharingGroupId":
			return s.plain(&v.SlotSharingGroupID)
		case "slotSharingGroupName":
			return s.plain(&v.SlotSharingGroupName)
		}
		return s.skip(0)
	})
}

func (s *scanner) ioMetrics(m *IOMetrics) bool {
	return s.fields(ioMetricsKeys, func(key string) bool {
		switch key {
		case "read-bytes":
			return s.int64(&m.ReadBytes)
		case "read-bytes-complete":
			return s.boolean(&m.ReadBytesComplete)
		case "write-bytes":
			return s.int64(&m.WriteBytes)
		case "write-bytes-complete":
			return s.boolean(&m.WriteBytesComplete)
		case "read-records":
			return s.int64(&m.ReadRecords)
		case "read-records-complete":
			return s.boolean(&m.ReadRecordsComplete)
		case "write-records":
			return s.int64(&m.WriteRecords)
		case "write-records-complete":
			return s.boolean(&m.WriteRecordsComplete)
		case "accumulated-backpressured-time":
			return s.float(&m.AccumulatedBackpressuredTime)
		case "accumulated-idle-time":
			return s.float(&m.AccumulatedIdleTime)
		case "accumulated-busy-time":
			return s.float(&m.AccumulatedBusyTime)
		}
		return s.skip(0)
	})
}

func (s *scanner) plan(p *Plan) bool {
	return s.fields(planKeys, func(key string) bool {
		switch key {
		case "jid":
			return s.plain(&p.JobID)
		case "name":
			return s.plain(&p.Name)
		case "type":
			return s.plain(&p.Type)
		case "nodes":
			p.Nodes = []PlanNode{}
			return s.elements(func() bool { var n PlanNode; ok := s.planNode(&n); p.Nodes = append(p.Nodes, n); return ok })
		}
		return s.skip(0)
	})
}

func (s *scanner) planNode(n *PlanNode) bool {
	return s.fields(planNodeKeys, func(key string) bool {
		switch key {
		case "id":
			return s.plain(&n.ID)
		case "parallelism":
			return s.int(&n.Parallelism)
		case "operator":
			return s.plain(&n.Operator)
		case "operator_strategy":
			return s.plain(&n.OperatorStrategy)
		case "description":
			return s.plain(&n.Description)
		case "inputs":
			n.Inputs = []PlanInput{}
			return s.elements(func() bool { var in PlanInput; ok := s.planInput(&in); n.Inputs = append(n.Inputs, in); return ok })
		}
		return s.skip(0)
	})
}

func (s *scanner) planInput(in *PlanInput) bool {
	return s.fields(planInputKeys, func(key string) bool {
		switch key {
		case "num":
			return s.int(&in.Num)
		case "id":
			return s.plain(&in.ID)
		case "ship_strategy":
			return s.plain(&in.ShipStrategy)
		case "exchange":
			return s.plain(&in.Exchange)
		case "local_strategy":
			return s.plain(&in.LocalStrategy)
		case "caching":
			return s.plain(&in.Caching)
		}
		return s.skip(0)
	})
}

// fields reads an object, handing each key to field, which reads its
// value. With known (a struct's keys) it declines a key that is not one of
// them but matches one ignoring case, and any key twice; with known nil (a
// map) any key twice as well.
func (s *scanner) fields(known []string, field func(key string) bool) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	var seen []string
	for {
		key, ok := s.str()
		if !ok || !s.byte(':') {
			return false
		}
		for _, k := range seen {
			if k == key {
				return false
			}
		}
		seen = append(seen, key)
		for _, k := range known {
			if k != key && foldsTo(key, k) {
				return false
			}
		}
		if !field(key) {
			return false
		}
		if s.byte('}') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

// elements reads an array, element reading each.
func (s *scanner) elements(element func() bool) bool {
	if !s.byte('[') {
		return false
	}
	if s.byte(']') {
		return true
	}
	for {
		if !element() {
			return false
		}
		if s.byte(']') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

func (s *scanner) plain(dst *string) bool {
	v, ok := s.str()
	*dst = v
	return ok
}

func (s *scanner) boolean(dst *bool) bool {
	s.space()
	switch {
	case s.literal("true"):
		*dst = true
	case s.literal("false"):
		*dst = false
	default:
		return false
	}
	return true
}

// integer reads an integer literal (no fraction or exponent, which
// encoding/json refuses for integer types) that fits bits.
func (s *scanner) integer(bits int) (int64, bool) {
	s.space()
	start := s.i
	s.optional('-')
	switch {
	case s.optional('0'):
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return 0, false
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, bits)
	return n, err == nil
}

func (s *scanner) int64(dst *int64) bool {
	n, ok := s.integer(64)
	*dst = n
	return ok
}

func (s *scanner) int(dst *int) bool {
	n, ok := s.integer(strconv.IntSize)
	*dst = int(n)
	return ok
}

// float reads a Float as Float.UnmarshalJSON does, numbers and plain
// strings ("NaN", "12.5").
func (s *scanner) float(dst *Float) bool {
	v, ok := s.scalar()
	if !ok {
		return false
	}
	f, err := ParseFloat(v.text)
	if err != nil || (!v.str && !Float(f).Finite()) {
		return false
	}
	*dst = Float(f)
	return true
}
