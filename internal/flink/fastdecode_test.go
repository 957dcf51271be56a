package flink

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// fastDecodeSeeds are metric answers in the plain form and just outside it.
var fastDecodeSeeds = []string{
	`[]`, ` [ ] `, `[{}]`, `null`, `{}`, `[`, `[{"id":"a"},]`, `[{"id":"a",}]`, `[{"id":"a"}] x`,
	`[{"id":"busyTimeMsPerSecond"},{"id":"Source__bids.KafkaSourceReader.topic.bids.partition.0.currentOffset"}]`,
	`[{"avg":12.5,"id":"busyTimeMsPerSecond","max":873.4,"sum":1.2345E7}]`,
	`[{"id":"x","min":"NaN","max":"Infinity","avg":"-Infinity","sum":-0,"skew":"12.5"}]`,
	`[{"id":"x","min":null}]`, `[{"id":"x","min":1e400}]`, `[{"id":"x","min":"1e400"}]`, `[{"id":"x","min":01}]`,
	`[{"id":"x","min":1.}]`, `[{"id":"x","min":-}]`, `[{"id":"x","min":1e}]`, `[{"id":"x","min":"0x1p-2"}]`,
	`[{"id":"x","min":"inf"}]`, `[{"id":"x","min":true}]`, `[{"id":"x","min":[1]}]`, `[{"id":1}]`,
	`[{"ID":"x","MIN":1}]`, `[{"id":"a","id":"b","max":1,"max":2}]`, `[{"id":"\u0041"}]`, `[{"id":"é"}]`,
	`[{"id":"a\tb"}]`, `[{"id":"0.numRecordsIn","value":"12"}]`, `[{"id":"0.numRecordsIn","value":12}]`,
	`[{"id":"x","other":"y"}]`, "[{\"id\":\"x\"}]\n", `[{"id":"x"} {"id":"y"}]`,
	checkpointsBody, `{}`, `{"latest":null}`, `{"latest":{}}`, `{"latest":5}`, `{"Latest":{}}`, `{"l\u0061test":{}}`,
	`{"latest":{"completed":{"id":1}},"latest":{"failed":{"id":2}}}`, `{"history":[1,2,{"a":[true,false,null]}],"latest":{"completed":{"id":3}}}`,
	`{"history":"\u00e9\n\"","latest":{}}`, `{"history":"\x"}`, `{"history":[1,]}`, `{"history":tru}`, `{"latest":{}} x`,
	`{"summary":{"p99":"NaN","p50":-1.5e3},"latest":{"restored":{"id":9,"restore_timestamp":1}}}`, "{\"history\":\"\xff\"}",
}

// same reports whether fastDecode and json.Unmarshal agree on raw decoded
// into a new T: whenever the fast path decodes, encoding/json decodes the
// same value (floats compared by bits, so NaN equals NaN).
func same[T any](t *testing.T, raw []byte) {
	var fast, slow []T
	if !fastDecode(raw, &fast) {
		require.Nil(t, fast, "left untouched when not decoded")
		return
	}
	require.NoError(t, json.Unmarshal(raw, &slow), "%q", raw)
	require.Equal(t, bitsOf(slow), bitsOf(fast), "%q", raw)
}

// bitsOf prints v with every Float as its bits.
func bitsOf(v any) string {
	switch x := v.(type) {
	case []AggregatedMetric:
		out := ""
		for _, m := range x {
			out += fmt.Sprintf("{%q", m.ID)
			for _, f := range []*Float{m.Min, m.Max, m.Avg, m.Sum, m.Skew} {
				if f == nil {
					out += " nil"
				} else {
					out += fmt.Sprintf(" %x", math.Float64bits(float64(*f)))
				}
			}
			out += "}"
		}
		return fmt.Sprintf("%d:%s", len(x), out)
	}
	return fmt.Sprintf("%d:%#v", lenOf(v), v)
}

func lenOf(v any) int {
	switch x := v.(type) {
	case []MetricValue:
		return len(x)
	case []metricID:
		return len(x)
	}
	return -1
}

func checkFastDecode(t *testing.T, raw []byte) {
	same[AggregatedMetric](t, raw)
	same[MetricValue](t, raw)
	same[metricID](t, raw)
	var fast, slow latestOnly
	if fastDecode(raw, &fast) {
		require.NoError(t, json.Unmarshal(raw, &slow), "%q", raw)
		require.Equal(t, slow, fast, "%q", raw)
	} else {
		require.Equal(t, latestOnly{}, fast, "left untouched when not decoded")
	}
	var fastJob, slowJob JobDetails
	if !fastDecode(raw, &fastJob) {
		require.Equal(t, JobDetails{}, fastJob, "left untouched when not decoded")
		return
	}
	require.NoError(t, json.Unmarshal(raw, &slowJob), "%q", raw)
	// Compared as JSON: Floats may be NaN, and nil differs from empty.
	a, err := json.Marshal(slowJob)
	require.NoError(t, err)
	b, err := json.Marshal(fastJob)
	require.NoError(t, err)
	require.Equal(t, string(a), string(b), "%q", raw)
	require.Equal(t, slowJob.Vertices == nil, fastJob.Vertices == nil)
}

// jobSeeds are GET /jobs/:jobid answers recorded from real Flink, and
// variations just outside the fast path's plain form.
func jobSeeds(t testing.TB) []string {
	seeds := []string{`{}`, `{"vertices":[]}`, `{"vertices":null}`, `{"jid":"a","JID":"b"}`, `{"jid":"a","jid":"b"}`,
		`{"now":1.5}`, `{"now":1e3}`, `{"now":99999999999999999999}`, `{"maxParallelism":-1}`, `{"pending-operators":0}`,
		`{"pending-operators":null}`, `{"timestamps":{"RUNNING":1,"RUNNING":2}}`, `{"timestamps":{}}`, `{"extra":{"a":[1,"x"]}}`,
		`{"vertices":[{"metrics":{"accumulated-busy-time":"NaN","accumulated-idle-time":12.5,"read-bytes-complete":true}}]}`,
		`{"vertices":[{"tasks":{"RUNNING":2},"metrics":{"accumulated-busy-time":1e400}}]}`, `{"plan":{"nodes":[{"inputs":[{"num":0,"id":"x"}]}]}}`,
		`{"name":"caf\u00e9"}`, `{"isStoppable":tru}`, `[]`}
	for _, f := range []string{"job-1.18.json", "job-1.20.json", "job-2.3.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		require.NoError(t, err)
		seeds = append(seeds, string(b))
	}
	return seeds
}

func TestFastDecodeJobDetails(t *testing.T) {
	for _, s := range jobSeeds(t) {
		checkFastDecode(t, []byte(s))
	}
	var d JobDetails
	for _, f := range []string{"job-1.18.json", "job-1.20.json", "job-2.3.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		require.NoError(t, err)
		require.True(t, fastDecode(b, &d), "%s takes the fast path", f)
		require.NotEmpty(t, d.Vertices)
	}
}

func TestFastDecode(t *testing.T) {
	for _, s := range fastDecodeSeeds {
		checkFastDecode(t, []byte(s))
	}
	var got []AggregatedMetric
	require.True(t, fastDecode([]byte(`[{"avg":12.5,"id":"busy","max":"NaN"}]`), &got))
	require.Equal(t, "busy", got[0].ID)
	require.Equal(t, Float(12.5), *got[0].Avg)
	require.True(t, math.IsNaN(float64(*got[0].Max)))
	require.Nil(t, got[0].Sum)
	var names []metricID
	require.True(t, fastDecode([]byte(`[{"id":"a"},{"id":"b"}]`), &names))
	require.Equal(t, []metricID{{"a"}, {"b"}}, names)
	require.False(t, fastDecode([]byte(`[{"id":"a\u0022"}]`), &names), "escapes go to encoding/json")
	var other []JobVertex
	require.False(t, fastDecode([]byte(`[]`), &other), "only metric lists")
}

// FuzzFastDecode: on any body, the fast path either declines or decodes
// exactly what encoding/json decodes.
func FuzzFastDecode(f *testing.F) {
	for _, s := range append(fastDecodeSeeds, jobSeeds(f)...) {
		f.Add([]byte(s))
	}
	f.Fuzz(checkFastDecode)
}
