package demo

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// TestHeaderNamesTheCluster: the progress header says where the job runs:
// the emulator, simulated at the demo's speed, or an external cluster
// (real Flink) in real time on its own TaskManagers.
func TestHeaderNamesTheCluster(t *testing.T) {
	sc := &flinksim.Scenario{Name: "s", Duration: 30 * time.Minute}
	ep := Endpoints{NATS: "nats://127.0.0.1:1", Flink: "http://127.0.0.1:2", JobID: "j"}

	var emu bytes.Buffer
	printHeader(&emu, Defaults(sc), ep)
	require.Contains(t, emu.String(), "30m0s simulated at 30× (about 1m0s)")
	require.Contains(t, emu.String(), "Flink REST API   http://127.0.0.1:2")
	require.Contains(t, emu.String(), "(emulator TaskManagers)")
	require.Contains(t, emu.String(), "every 10s simulated")

	var ext bytes.Buffer
	cfg := Config{Scenario: sc, Speed: 1, External: &External{URL: ep.Flink, JobID: "j"}}
	printHeader(&ext, cfg, ep)
	require.NotContains(t, ext.String(), "emulator")
	require.NotContains(t, ext.String(), "simulated")
	require.Contains(t, ext.String(), "30m0s in real time on a running cluster")
	require.Contains(t, ext.String(), "cluster REST API http://127.0.0.1:2")
	require.Contains(t, ext.String(), "(the cluster's TaskManagers through its control endpoint)")
	require.Contains(t, ext.String(), "every 10s)")
}
