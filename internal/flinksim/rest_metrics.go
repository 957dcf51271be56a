package flinksim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// The JobManager's MetricStore (reference §3): a copy of the TaskManagers'
// views, refreshed lazily on a metric request at most every fetchInterval.
type metricStore struct {
	at       int64 // elapsed ms of the fetch
	subtasks [][]subtaskView
	// metrics caches subtaskMetrics of the fetched views, per vertex and
	// subtask, built on first use (the views do not change until the next
	// fetch).
	metrics [][][]metricValue
}

// fetched returns v's subtask views as last fetched, refreshing the store
// first when it is older than fetchInterval.
func (c *Cluster) fetched(v *vertex) []subtaskView {
	prev := c.store
	c.refreshStore()
	store := c.store
	if c.sc.Cluster.RealMetricTiming {
		// Flink's fetch completes after the request that triggered it.
		if store = prev; store == nil {
			return nil
		}
	}
	for i, x := range c.vertices {
		if x == v && i < len(store.subtasks) {
			return store.subtasks[i]
		}
	}
	return nil
}

func (c *Cluster) refreshStore() {
	nowMs := c.elapsed.Milliseconds()
	if c.store != nil && nowMs-c.store.at < fetchInterval.Milliseconds() {
		return
	}
	s := &metricStore{at: nowMs, subtasks: make([][]subtaskView, len(c.vertices)), metrics: make([][][]metricValue, len(c.vertices))}
	if c.sched.state == StateRunning {
		for i, v := range c.vertices {
			s.subtasks[i] = make([]subtaskView, len(v.subtasks))
			for k := range v.subtasks {
				s.subtasks[i][k] = v.subtasks[k].view
			}
		}
	}
	c.store = s
}

// fetchedMetrics returns the metrics of vertex i's fetched views, one list
// per subtask.
func (c *Cluster) fetchedMetrics(i int) [][]metricValue {
	c.refreshStore()
	if c.store.metrics[i] == nil {
		v := c.vertices[i]
		views := c.store.subtasks[i]
		ms := make([][]metricValue, len(views))
		for k, s := range views {
			ms[k] = subtaskMetrics(v, k, s)
		}
		c.store.metrics[i] = ms
	}
	return c.store.metrics[i]
}

// metricValue is one metric of one subtask: its string form, and its
// numeric value unless the metric is not numeric.
type metricValue struct {
	id      string
	text    string
	value   float64
	numeric bool
}

// filterName applies Flink's metric character filter to a name component
// (space . : , become _) after cutting operator names to 80 characters.
func filterName(s string) string {
	if len(s) > 80 {
		s = s[:80]
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', ':', ',':
			return '_'
		}
		return r
	}, s)
}

// subtaskMetrics lists a subtask's metrics in the subtask-scoped naming
// (reference §6): task metrics, then the operator's.
func subtaskMetrics(v *vertex, k int, s subtaskView) []metricValue {
	ids := v.metricIDs()
	taskIn, taskInRate := s.recordsIn, s.inPerSecond
	if v.spec.IsSource() {
		taskIn, taskInRate = 0, 0 // a FLIP-27 source task reads nothing
	}
	partitions := ids.partitionsOf(v, k)
	out := make([]metricValue, 0, 12+4*len(ids.ops)+len(partitions))
	out = append(out,
		counter("numRecordsIn", taskIn), counter("numRecordsOut", s.recordsOut),
		meter("numRecordsInPerSecond", taskInRate), meter("numRecordsOutPerSecond", s.outPerSecond),
		meter("busyTimeMsPerSecond", s.busyMs), counter("idleTimeMsPerSecond", s.idleMs),
		counter("backPressuredTimeMsPerSecond", s.bpMs),
		counter("accumulateBusyTimeMs", s.accBusyMs), counter("accumulateIdleTimeMs", s.accIdleMs),
		counter("accumulateBackPressuredTimeMs", s.accBpMs),
		metricValue{id: "isBackPressured", text: strconv.FormatBool(s.backPressured)},
	)
	// A chain: the head and every inner operator pass records through, the
	// last one emits the vertex's output; each has its own metrics.
	for j, op := range ids.ops {
		inN, inRate := s.recordsIn, s.inPerSecond
		if j == 0 && v.spec.legacySource() {
			inN, inRate = 0, 0 // a legacy source operator counts no records in
		}
		outN, outRate := s.recordsIn, s.inPerSecond
		if j == len(ids.ops)-1 {
			outN, outRate = s.recordsOut, s.outPerSecond
		}
		out = append(out, counter(op[0], inN), counter(op[1], outN),
			meter(op[2], inRate), meter(op[3], outRate))
	}
	if !v.spec.IsSource() {
		return out
	}
	if s.hasPending {
		out = append(out, counter(ids.pending, s.pending))
	}
	for _, id := range partitions { // partitions go round robin: subtask k reads k, k+p, …
		out = append(out, counter(id, s.recordsIn/float64(len(partitions))))
	}
	return out
}

// vertexMetricIDs are the metric ids of a vertex that depend only on its
// spec and parallelism, built once per parallelism rather than on every
// metric fetch.
type vertexMetricIDs struct {
	p   int
	ops [][4]string // per operator of the chain: numRecordsIn, numRecordsOut and their rates
	// Sources: the pendingRecords gauge, and per subtask the offset gauges
	// of the partitions it reads.
	pending    string
	partitions [][]string
}

// metricIDs returns v's ids at its current parallelism.
func (v *vertex) metricIDs() *vertexMetricIDs {
	p := len(v.shares)
	if v.ids != nil && v.ids.p == p {
		return v.ids
	}
	ids := &vertexMetricIDs{p: p}
	op := filterName(v.spec.Name)
	for _, name := range append([]string{op}, v.spec.Chain...) {
		name = filterName(name)
		ids.ops = append(ids.ops, [4]string{name + ".numRecordsIn", name + ".numRecordsOut",
			name + ".numRecordsInPerSecond", name + ".numRecordsOutPerSecond"})
	}
	if v.spec.IsSource() {
		ids.pending = op + ".pendingRecords"
		ids.partitions = make([][]string, p)
		for k := range p {
			ids.partitions[k] = partitionIDs(v, op, p, k)
		}
	}
	v.ids = ids
	return ids
}

// partitionsOf returns the offset gauges of the partitions subtask k reads
// (none unless v is a source).
func (ids *vertexMetricIDs) partitionsOf(v *vertex, k int) []string {
	if !v.spec.IsSource() {
		return nil
	}
	if k < len(ids.partitions) {
		return ids.partitions[k]
	}
	// A view fetched before a scale-down: subtask k no longer exists.
	return partitionIDs(v, filterName(v.spec.Name), ids.p, k)
}

func partitionIDs(v *vertex, op string, p, k int) []string {
	topic := strings.TrimPrefix(op, "Source__")
	var out []string
	for part := k; part < v.spec.Partitions; part += p {
		out = append(out, op+".KafkaSourceReader.topic."+topic+".partition."+strconv.Itoa(part)+".currentOffset")
	}
	return out
}

func counter(id string, v float64) metricValue {
	return metricValue{id: id, text: strconv.FormatInt(int64(v), 10), value: float64(int64(v)), numeric: true}
}

func meter(id string, v float64) metricValue {
	return metricValue{id: id, text: javaDouble(v), value: v, numeric: true}
}

type metricIDValue struct {
	ID    string `json:"id"`
	Value string `json:"value,omitempty"`
}

// vertexMetrics serves /jobs/:jobid/vertices/:vertexid/metrics: ids with a
// "<subtask>." prefix, values as strings; unknown jobs, vertices and ids give
// an empty list or are skipped (reference §5.6).
func (c *Cluster) vertexMetrics(r *http.Request, known bool, vertexID string) []metricIDValue {
	out := []metricIDValue{}
	i := c.vertexByID(vertexID)
	if !known || i < 0 {
		return out
	}
	get := splitList(r.URL.Query().Get("get"))
	want := map[string]bool{}
	for _, g := range get {
		want[g] = true
	}
	for k, ms := range c.fetchedMetrics(i) {
		for _, m := range ms {
			id := strconv.Itoa(k) + "." + m.id
			switch {
			case len(get) == 0:
				out = append(out, metricIDValue{ID: id})
			case want[id]:
				out = append(out, metricIDValue{ID: id, Value: m.text})
			}
		}
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// aggregatedMetrics serves /jobs/:jobid/vertices/:vertexid/subtasks/metrics
// (reference §5.7): without get the union of ids; with get one object per
// id holding the requested aggregates, or [] when any requested metric has no
// value in any selected subtask.
func (c *Cluster) aggregatedMetrics(r *http.Request, known bool, vertexID string) (int, []byte) {
	q := r.URL.Query()
	aggs, err := parseAggs(q.Get("agg"))
	if err != "" {
		return restError(http.StatusBadRequest, err)
	}
	i := c.vertexByID(vertexID)
	if !known || i < 0 {
		return ok([]any{})
	}
	selected, bad := parseSubtasks(q.Get("subtasks"))
	if bad != "" {
		return restError(http.StatusBadRequest, bad)
	}
	get := splitList(q.Get("get"))
	var want map[string]bool
	if len(get) > 0 {
		want = make(map[string]bool, len(get))
		for _, g := range get {
			want[g] = true
		}
	}
	if len(get) == 0 {
		return http.StatusOK, c.metricListing(i, selected)
	}
	values := make(map[string][]float64, len(get))
	for k, ms := range c.fetchedMetrics(i) {
		if selected != nil && !selected[k] {
			continue
		}
		for _, m := range ms {
			if !want[m.id] {
				continue
			}
			vals, seen := values[m.id]
			if !seen {
				vals = make([]float64, 0, len(ms))
			}
			if m.numeric {
				vals = append(vals, m.value)
			}
			values[m.id] = vals
		}
	}
	return http.StatusOK, encodeAggregated(aggregateMetrics(get, values, aggs))
}

// metricListing is the answer listing vertex i's subtask metric ids: the
// union over the selected subtasks (all when selected is nil), sorted. The
// answer for all subtasks is kept with the ids it was built from, in the
// order the fetched metrics list them, and served again while they do not
// change (most fetches change values, not ids).
func (c *Cluster) metricListing(i int, selected map[int]bool) []byte {
	v := c.vertices[i]
	fetched := c.fetchedMetrics(i)
	if selected == nil && v.listing.body != nil && sameIDs(fetched, v.listing.ids) {
		return v.listing.body
	}
	seen := map[string]bool{}
	var ids, walk []string
	for k, ms := range fetched {
		if selected != nil && !selected[k] {
			continue
		}
		for _, m := range ms {
			walk = append(walk, m.id)
			if !seen[m.id] {
				seen[m.id] = true
				ids = append(ids, m.id)
			}
		}
	}
	sort.Strings(ids)
	out := make([]metricIDValue, len(ids))
	for j, id := range ids {
		out[j] = metricIDValue{ID: id}
	}
	body := encodeMetricIDs(out)
	if selected == nil {
		v.listing.ids, v.listing.body = walk, body
	}
	return body
}

// sameIDs reports whether the fetched metrics list exactly ids, in order.
func sameIDs(fetched [][]metricValue, ids []string) bool {
	n := 0
	for _, ms := range fetched {
		for _, m := range ms {
			if n >= len(ids) || ids[n] != m.id {
				return false
			}
			n++
		}
	}
	return n == len(ids)
}

// aggregatedMetric is one entry of the aggregated metrics answer; its
// fields are in the order encoding/json gives a map's keys, as Flink's.
type aggregatedMetric struct {
	Avg *jsonFloat `json:"avg,omitempty"`
	ID  string     `json:"id"`
	Max *jsonFloat `json:"max,omitempty"`
	Min *jsonFloat `json:"min,omitempty"`
	Sum *jsonFloat `json:"sum,omitempty"`
}

func aggregateMetrics(get []string, values map[string][]float64, aggs []string) []aggregatedMetric {
	out := []aggregatedMetric{}
	for _, id := range get {
		vals, present := values[id]
		if !present {
			return []aggregatedMetric{} // all or nothing, like Flink
		}
		if len(vals) == 0 {
			continue // not numeric: dropped silently
		}
		sum, lo, hi := 0.0, vals[0], vals[0]
		for _, x := range vals {
			sum += x
			lo, hi = min(lo, x), max(hi, x)
		}
		entry := aggregatedMetric{ID: id}
		for _, a := range aggs {
			switch a {
			case "min":
				entry.Min = ptrFloat(lo)
			case "max":
				entry.Max = ptrFloat(hi)
			case "sum":
				entry.Sum = ptrFloat(sum)
			case "avg":
				entry.Avg = ptrFloat(sum / float64(len(vals)))
			}
		}
		out = append(out, entry)
	}
	return out
}

func ptrFloat(v float64) *jsonFloat {
	f := jsonFloat(v)
	return &f
}

// parseAggs reads agg (case-insensitive min, max, avg, sum; all when
// absent). Flink 1.18 has no skew.
func parseAggs(s string) ([]string, string) {
	list := splitList(s)
	if len(list) == 0 {
		return []string{"min", "max", "avg", "sum"}, ""
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		a = strings.ToLower(a)
		switch a {
		case "min", "max", "avg", "sum":
			out = append(out, a)
		default:
			return nil, "org.apache.flink.runtime.rest.handler.RestHandlerException: Bad request, could not parse parameters: Cannot resolve query parameter (agg) from value \"" + s + "\"."
		}
	}
	return out, ""
}

// parseSubtasks reads a subtask selection such as "1,3,5-9"; nil selects all.
func parseSubtasks(s string) (map[int]bool, string) {
	list := splitList(s)
	if len(list) == 0 {
		return nil, ""
	}
	sel := map[int]bool{}
	for _, part := range list {
		lo, hi, isRange := strings.Cut(part, "-")
		a, errA := strconv.Atoi(lo)
		b := a
		var errB error
		if isRange {
			b, errB = strconv.Atoi(hi)
		}
		if errA != nil || errB != nil || a < 0 || b < a {
			return nil, "org.apache.flink.runtime.rest.handler.RestHandlerException: Bad request, could not parse parameters: Cannot resolve query parameter (subtasks) from value \"" + s + "\"."
		}
		for k := a; k <= b; k++ {
			sel[k] = true
		}
	}
	return sel, ""
}
