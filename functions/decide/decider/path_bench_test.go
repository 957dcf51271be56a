package decider

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/cputime"
	"github.com/flinkscaler/flinkscaler/internal/events"
)

// BenchmarkSnapshotPath is decide's whole per-snapshot work without the
// network: the runner's decode of the NATS message (the CloudEvent binding
// and the contract check), the handler (the snapshot's data, the job's
// record read from and written back to an in-memory state bucket, the
// policy core, the gauges) and the decision's encoding into its NATS
// message. The job is the 10-vertex chain of BenchmarkDecideCore with a
// full 60-sample window; "hold" is a snapshot that changes nothing (most
// snapshots), "decision" one that scales up. Every iteration reads the same
// stored record, so each decides the same snapshot afresh.
func BenchmarkSnapshotPath(b *testing.B) {
	for _, name := range []string{"hold", "decision"} {
		b.Run(name, func(b *testing.B) {
			p := newPathBench(b, name == "decision")
			b.ReportAllocs()
			b.ResetTimer()
			cpu, n := cputime.Process(), 0
			for b.Loop() {
				p.once(b)
				n++
			}
			reportCPU(b, cputime.Process()-cpu, n)
		})
	}
}

// BenchmarkSnapshotPathStages times the stages of BenchmarkSnapshotPath's
// "decision" snapshot one by one, to show where its time goes.
func BenchmarkSnapshotPathStages(b *testing.B) {
	p := newPathBench(b, true)
	ev, err := events.Decode(p.msg)
	require.NoError(b, err)
	snap, err := events.Data[events.Snapshot](ev)
	require.NoError(b, err)
	rec := p.stored(b)
	out := policy.Decide(policy.Input{Snapshot: snap, SnapshotID: ev.ID(), State: rec.State, Config: testPolicy(), Now: snap.ObservedAt})
	require.NotNil(b, out.Decision)
	next := record{State: out.NewState, Outbox: out.Decision, JobName: snap.JobName, Sources: events.SourcesOf(snap)}
	stages := []struct {
		name string
		run  func() error
	}{
		{"decode-event", func() error { _, err := events.Decode(p.msg); return err }},
		{"check", func() error { return events.Check(p.msg.Subject, ev) }},
		{"data", func() error { _, err := events.Data[events.Snapshot](ev); return err }},
		{"load-state", func() error { var r record; return decodeRecord(p.kv.value, &r) }},
		{"decide", func() error {
			policy.Decide(policy.Input{Snapshot: snap, SnapshotID: ev.ID(), State: rec.State, Config: testPolicy(), Now: snap.ObservedAt})
			return nil
		}},
		{"store-state", func() error { _, err := encodeRecord(next); return err }},
		{"gauges", func() error { p.d.metrics.jobs.observe(snap); return nil }},
		{"emit", func() error {
			out, err := p.d.emit(p.d.log, out.Decision, false)
			if err != nil {
				return err
			}
			_, err = toMsg(out[0])
			return err
		}},
	}
	for _, s := range stages {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu, n := cputime.Process(), 0
			for b.Loop() {
				if err := s.run(); err != nil {
					b.Fatal(err)
				}
				n++
			}
			reportCPU(b, cputime.Process()-cpu, n)
		})
	}
}

// pathBench is one snapshot's message and the stored record it finds.
type pathBench struct {
	d   *Decider
	kv  *fixedKV
	msg *nats.Msg
}

func newPathBench(tb testing.TB, decision bool) *pathBench {
	cfg := testPolicy()
	var st policy.State
	for k := range 60 {
		s := chainSnapshot(80+10*k, 850)
		st = policy.Decide(policy.Input{Snapshot: s, State: st, Config: cfg, Now: s.ObservedAt}).NewState
	}
	require.Len(tb, st.Window, 60)
	last := chainSnapshot(80+590, 850)
	stored, err := json.Marshal(record{State: st, JobName: last.JobName, Sources: events.SourcesOf(last)})
	require.NoError(tb, err)
	busy := 850.0
	if decision {
		busy = 990
	}
	s := chainSnapshot(80+600, busy)
	ev, err := events.New(events.TypeSnapshot, "metrics-ingest", s.Cluster, s.JobID, s)
	require.NoError(tb, err)
	msg, err := toMsg(ev)
	require.NoError(tb, err)
	kv := &fixedKV{key: events.KVKey(s.Cluster, s.JobID), value: stored}
	d := New(kv, noOverrides{}, cfg, nil, slog.New(slog.DiscardHandler), NewMetrics(prometheus.NewRegistry()))
	p := &pathBench{d: d, kv: kv, msg: msg}
	p.once(tb)
	require.Equal(tb, decision, p.kv.writes > 0 && p.kv.decided, "the benchmark's snapshot must decide exactly when asked to")
	return p
}

// stored is the record the benchmark's snapshot finds, as json.Unmarshal
// reads it.
func (p *pathBench) stored(tb testing.TB) record {
	var r record
	require.NoError(tb, json.Unmarshal(p.kv.value, &r))
	return r
}

// once runs the snapshot through decide as the runner does.
func (p *pathBench) once(tb testing.TB) {
	ev, err := events.Decode(p.msg)
	ctx := context.Background()
	if err == nil {
		ctx, err = events.WithChecked(ctx, p.msg.Subject, ev)
	}
	if err != nil {
		tb.Fatal(err)
	}
	out, err := p.d.Handle(ctx, ev)
	if err != nil {
		tb.Fatal(err)
	}
	p.kv.decided = len(out) > 0
	for _, o := range out {
		if _, err := toMsg(o); err != nil {
			tb.Fatal(err)
		}
	}
}

// toMsg is what events.Publish sends for ev.
func toMsg(ev cloudevents.Event) (*nats.Msg, error) {
	subject, err := events.SubjectOf(ev)
	if err != nil {
		return nil, err
	}
	return events.ToMsg(subject, ev)
}

// chainSnapshot is a 10-vertex chain at parallelism 4, every vertex but the
// source busy about busy ms/s, read sec seconds into its run. Its figures
// vary a little from one snapshot to the next, as measured rates do, so
// they are written with all their digits, as real ones are.
func chainSnapshot(sec int, busy float64) events.Snapshot {
	run := t0
	jitter := func(x float64, i int) float64 { return x * (1 + 0.01*math.Sin(1.7*float64(sec)+float64(i))) }
	vs := make([]events.VertexSnapshot, 10)
	for i := range vs {
		id := fmt.Sprintf("%032x", i+1)
		b := min(jitter(busy, i), 1000)
		vs[i] = events.VertexSnapshot{ID: id, Name: fmt.Sprintf("op-%d", i), Parallelism: 4, MaxParallelism: 128,
			BusyMsPerSecond: &events.AvgMax{Avg: b, Max: min(b*1.05, 1000)}, IdleMsPerSecond: &events.AvgMax{Avg: 1000 - b, Max: 1000 - b},
			BackPressuredMsPerSecond: &events.AvgMax{}, RecordsInPerSecond: f(jitter(40000, i)), RecordsOutPerSecond: f(jitter(40000, i+1))}
		if i == 0 {
			vs[i].IsSource, vs[i].PendingRecords = true, f(jitter(1000, i))
			vs[i].BusyMsPerSecond = &events.AvgMax{Avg: jitter(800, i), Max: jitter(820, i)}
			vs[i].SourcePartitions = new(int)
			*vs[i].SourcePartitions = 16
		} else {
			vs[i].Inputs = []events.Input{{ID: vs[i-1].ID, ShipStrategy: "REBALANCE"}}
		}
	}
	at := t0.Add(time.Duration(sec)*time.Second + time.Duration(sec)*1234567)
	cp := at.Add(-5 * time.Second)
	return events.Snapshot{Cluster: "demo", JobID: jobID, JobName: "chain", JobState: "RUNNING", RunningSince: &run,
		ObservedAt: at, TaskManagers: 4, SlotsTotal: 4, SlotsPerTaskManager: 1,
		LastCheckpointAt: &cp, LastCheckpointDurationMs: 800, CheckpointIntervalMs: 30000, FlinkVersion: "1.20.1",
		Vertices: vs, Complete: true}
}

func reportCPU(b *testing.B, cpu time.Duration, n int) {
	if cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/op")
	}
}

// noOverrides is a policy bucket with no job's overrides.
type noOverrides struct{}

func (noOverrides) Overrides(context.Context, string, string, string) ([]byte, error) {
	return nil, nil
}

// fixedKV is a state bucket whose record under key never changes: every
// read finds value at revision 1, every write is counted and dropped.
type fixedKV struct {
	key     string
	value   []byte
	writes  int
	decided bool
}

func (k *fixedKV) Get(_ context.Context, key string) (jetstream.KeyValueEntry, error) {
	if key != k.key {
		return nil, jetstream.ErrKeyNotFound
	}
	return fixedEntry{k}, nil
}

func (k *fixedKV) Create(context.Context, string, []byte, ...jetstream.KVCreateOpt) (uint64, error) {
	k.writes++
	return 1, nil
}

func (k *fixedKV) Update(context.Context, string, []byte, uint64) (uint64, error) {
	k.writes++
	return 2, nil
}

func (k *fixedKV) Put(context.Context, string, []byte) (uint64, error) { return 1, nil }

// fixedEntry is fixedKV's record as a KV entry.
type fixedEntry struct{ kv *fixedKV }

func (e fixedEntry) Bucket() string                  { return events.BucketState }
func (e fixedEntry) Key() string                     { return e.kv.key }
func (e fixedEntry) Value() []byte                   { return e.kv.value }
func (e fixedEntry) Revision() uint64                { return 1 }
func (e fixedEntry) Created() time.Time              { return t0 }
func (e fixedEntry) Delta() uint64                   { return 0 }
func (e fixedEntry) Operation() jetstream.KeyValueOp { return jetstream.KeyValuePut }
