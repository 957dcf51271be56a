package flinksim

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMetricEncoders: the hand-written encoders write exactly what
// encoding/json writes, for ids and values that need escaping too.
func TestMetricEncoders(t *testing.T) {
	strs := []string{"", "busyTimeMsPerSecond", "Source__bids.KafkaSourceReader.topic.bids.partition.7.currentOffset",
		`q"uote`, `back\slash`, "tab\tnew\nline", "<html>&", "ünïcode", "\u2028", "0.5", "1.2345E7", "NaN"}
	floats := []float64{0, math.Copysign(0, -1), 1, -1.5, 873.4, 1e21, 1e-7, 123456789.125, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() *jsonFloat {
		if rng.IntN(4) == 0 {
			return nil
		}
		f := jsonFloat(floats[rng.IntN(len(floats))])
		if rng.IntN(3) == 0 {
			f = jsonFloat(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(30)-10)))
		}
		return &f
	}
	check := func(want any, got []byte) {
		t.Helper()
		b, err := json.Marshal(want)
		require.NoError(t, err)
		require.Equal(t, string(b), string(got))
	}
	check([]metricIDValue(nil), encodeMetricIDs(nil))
	check([]aggregatedMetric(nil), encodeAggregated(nil))
	check([]metricIDValue{}, encodeMetricIDs([]metricIDValue{}))
	check([]aggregatedMetric{}, encodeAggregated([]aggregatedMetric{}))
	for range 2000 {
		ids := make([]metricIDValue, rng.IntN(5))
		aggs := make([]aggregatedMetric, rng.IntN(5))
		for i := range ids {
			ids[i] = metricIDValue{ID: strs[rng.IntN(len(strs))], Value: strs[rng.IntN(len(strs))]}
		}
		for i := range aggs {
			aggs[i] = aggregatedMetric{ID: strs[rng.IntN(len(strs))], Avg: pick(), Max: pick(), Min: pick(), Sum: pick()}
		}
		check(ids, encodeMetricIDs(ids))
		check(aggs, encodeAggregated(aggs))
	}
}

// TestMetricListingFollowsIDs: the subtask metric listing, served from the
// last answer while the ids do not change, always equals the listing built
// afresh (asked for every subtask by number, which is never kept), through
// a pendingRecords gauge that registers late, rescales up and down, and the
// faults of the realism day.
func TestMetricListingFollowsIDs(t *testing.T) {
	sc, err := LoadScenario("testdata/day-realism.yaml")
	require.NoError(t, err)
	c := New(sc, Options{})
	h := c.Handler()
	get := func(path string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusOK, rec.Code, path)
		return rec.Body.String()
	}
	changes := 0
	last := map[string]string{}
	for step := range 3 * 3600 / 10 {
		c.Advance(10 * time.Second)
		if step%60 == 30 {
			req := map[string]Bounds{}
			for i, id := range c.VertexIDs() {
				req[id] = Bounds{Lower: 1, Upper: 2 + (step/60+i)%4}
			}
			require.NoError(t, c.PutRequirements(req))
		}
		for i, id := range c.VertexIDs() {
			base := "/jobs/" + c.JobID() + "/vertices/" + id + "/subtasks/metrics"
			listing := get(base)
			p := c.vertices[i].p
			require.Equal(t, get(base+"?subtasks=0-"+strconv.Itoa(max(p, len(c.store.subtasks[i]))-1)), listing, "step %d vertex %d", step, i)
			if last[id] != listing {
				changes++
				last[id] = listing
			}
		}
	}
	require.Greater(t, changes, 10, "the ids changed along the way")
}
