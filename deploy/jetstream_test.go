package deploy_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite deploy/nats/jetstream/*.json from internal/events")

// clusterReplicas is the JetStream replication factor on the 3-node cluster.
const clusterReplicas = 3

// TestJetStreamDefinitionsMatchProvision keeps the published stream and KV
// definitions equal to what the functions create at start-up
// (events.Provision) on the 3-node cluster. Run with -update to regenerate.
func TestJetStreamDefinitionsMatchProvision(t *testing.T) {
	cfg := events.ProvisionConfig{Replicas: clusterReplicas}
	files := map[string]any{
		"stream-FLINKSCALER.json": cfg.StreamConfig(),
		"kv-buckets.json":         cfg.BucketConfigs(),
	}
	for name, def := range files {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false) // keep "flinkscaler.>" readable
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(def))
			want := buf.Bytes()
			path := filepath.Join("nats", "jetstream", name)
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, want, 0o644))
			}
			got, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./deploy -run %s -update", t.Name())
			require.JSONEq(t, string(want), string(got), "%s differs from events.Provision; run with -update", path)
		})
	}
}
