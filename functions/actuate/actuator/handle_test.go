package actuator

import (
	"context"
	"flag"
	"io"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
)

// TestDecisionsOverJetStream runs the handler behind the events runner on a
// real JetStream server: a decision event comes in, a result event goes
// out, and the same decision delivered again adds no second result.
func TestDecisionsOverJetStream(t *testing.T) {
	e := newEnv(t, "adaptive", true, Options{})
	js := eventstest.Start(t).JS
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runner, err := events.NewRunner(js, events.RunnerConfig{Function: Function, Durable: Function,
		FilterSubjects: []string{events.DecisionFilter}}, e.act.Handle)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	results, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.ResultFilter}})
	require.NoError(t, err)
	d := e.decision(events.ModeAdaptive, 3, 3)
	for range 2 { // two events (two ids) carrying the same decision
		ev, err := events.New(events.TypeDecision, "decide", d.Cluster, d.JobID, d)
		require.NoError(t, err)
		require.NoError(t, events.Publish(ctx, js, ev))
	}
	var outcomes []string
	for range 1 {
		msg, err := results.Next(jetstream.FetchMaxWait(20 * time.Second))
		require.NoError(t, err)
		ev, err := events.Decode(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
		require.NoError(t, err)
		r, err := events.Data[events.Result](ev)
		require.NoError(t, err)
		require.Equal(t, d.DecisionID, r.DecisionID)
		require.Equal(t, events.ResultSubject("prod", e.jobID), msg.Subject())
		outcomes = append(outcomes, r.Outcome)
	}
	require.Equal(t, []string{events.OutcomeApplied}, outcomes)
	require.Eventually(t, func() bool {
		c, err := js.Consumer(ctx, events.StreamName, Function)
		return err == nil && c.CachedInfo() != nil && func() bool {
			info, err := c.Info(ctx)
			return err == nil && info.NumPending == 0 && info.NumAckPending == 0
		}()
	}, 20*time.Second, 20*time.Millisecond, "both deliveries handled")
	_, err = results.Next(jetstream.FetchMaxWait(500 * time.Millisecond))
	require.Error(t, err, "no second result for the same decision")
	require.Equal(t, 3, e.replicas(t))
}

func TestHandleRejectsBadInput(t *testing.T) {
	e := newEnv(t, "adaptive", false, Options{})
	snap, err := events.New(events.TypeSnapshot, "ingest", "prod", e.jobID, events.Snapshot{Cluster: "prod"})
	require.NoError(t, err)
	noID, err := events.New(events.TypeDecision, "decide", "prod", e.jobID, events.Decision{Cluster: "prod", JobID: e.jobID})
	require.NoError(t, err)
	for name, ev := range map[string]cloudevents.Event{"not a decision": snap, "decision without id": noID} {
		t.Run(name, func(t *testing.T) {
			_, err := e.act.Handle(context.Background(), ev)
			require.ErrorIs(t, err, events.ErrInvalid)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error; none = valid
	}{
		{"minimal", []string{"--flink", "prod=http://jm:8081"}, nil},
		{"kubernetes with a workload", []string{"--flink", "prod=http://jm:8081", "--taskmanagers", "kubernetes",
			"--taskmanager-workload", "statefulsets/flink/tm"}, nil},
		{"KEDA owning replicas", []string{"--flink", "prod=http://jm:8081", "--taskmanagers", "keda", "--keda-listen", ":9090"}, nil},
		{"KEDA with an exact-tolerance HPA", []string{"--flink", "prod=http://jm:8081", "--taskmanagers", "keda", "--keda-listen", ":9090",
			"--hpa-tolerance", "0"}, nil},
		{"Flink's native ResourceManager owning them", []string{"--flink", "prod=http://jm:8081", "--taskmanagers", "flink"}, nil},
		{"a KEDA scaler nobody declares for (as shipped before)", []string{"--flink", "prod=http://jm:8081", "--keda-listen", ":9090"},
			[]string{"--keda-listen: with --taskmanagers none KEDA would be served the current TaskManager count and never scale; let KEDA own the TaskManagers (--taskmanagers keda)"}},
		{"keda without its scaler", []string{"--flink", "prod=http://jm:8081", "--taskmanagers", "keda"},
			[]string{"--taskmanagers keda: KEDA reads the desired count from actuate's external scaler; add --keda-listen ADDR"}},
		{"native mode with a workload", []string{"--flink", "prod=http://jm:8081", "--taskmanagers", "flink",
			"--taskmanager-workload", "flink/tm"}, []string{"--taskmanager-workload: with --taskmanagers flink Flink starts TaskManager pods"}},
		{"KEDA with the workload it scales (for Events)", []string{"--flink", "prod=http://jm:8081", "--taskmanagers", "keda",
			"--keda-listen", ":9090", "--taskmanager-workload", "flink/tm"}, nil},
		{"a FlinkDeployment as the workload", []string{"--flink", "prod=http://jm:8081", "--taskmanagers", "kubernetes",
			"--taskmanager-workload", "flinkdeployments.flink.apache.org/flink/wordcount"},
			[]string{"a FlinkDeployment is not a scale target", "--taskmanagers flink"}},
		{"tolerance out of range", []string{"--flink", "prod=http://jm:8081", "--taskmanagers", "keda", "--keda-listen", ":9090",
			"--hpa-tolerance", "1.5"}, []string{"--hpa-tolerance: 1.5: want a fraction in [0, 1)"}},
		{"every problem at once", []string{"--flink", "bad.name=ftp://x", "--taskmanagers", "k8s",
			"--taskmanager-workload", "tm", "--keda-tls-key", "k.pem", "--concurrency", "0", "--poll", "0s"},
			[]string{"--flink: cluster name", "--flink: cluster bad.name", "--taskmanagers", "--taskmanager-workload",
				"--keda-tls-cert", "--keda-tls-key", "--concurrency", "--poll"}},
		{"both actuate and KEDA owning replicas", []string{"--flink", "prod=http://jm:8081", "--taskmanagers", "kubernetes",
			"--keda-listen", ":9090"}, []string{"--keda-listen: with --taskmanagers kubernetes both actuate and KEDA"}},
		{"no cluster", nil, []string{"--flink: at least one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			fs := flag.NewFlagSet("actuate", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cfg.RegisterFlags(fs)
			require.NoError(t, fs.Parse(tt.args))
			before := cfg
			err := cfg.Validate()
			require.Equal(t, before, cfg)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestFlinkFlagRejectsDuplicates(t *testing.T) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("actuate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs)
	require.Error(t, fs.Parse([]string{"--flink", "a=http://x", "--flink", "a=http://y"}))
	require.Error(t, fs.Parse([]string{"--flink", "novalue"}))
}
