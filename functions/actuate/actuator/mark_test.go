package actuator

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// TestPodsMatchTaskManagers: a TaskManager runs in a pod when its resource
// id is the pod's name (native Kubernetes, or taskmanager.resource-id set
// to it), or its address is the pod's IP or hostname (standalone: id
// "<ip>:<port>-<suffix>", path "pekko.tcp://flink@<ip>:<port>/…").
func TestPodsMatchTaskManagers(t *testing.T) {
	pod := taskmanagers.Pod{Name: "flink-taskmanager-7d9f-x2x", IP: "10.244.1.7"}
	for _, tt := range []struct {
		name string
		tm   flink.TaskManager
		want bool
	}{
		{"id is the pod name", flink.TaskManager{ID: "flink-taskmanager-7d9f-x2x", Path: "pekko.tcp://flink@10.9.9.9:6122/user/rpc/taskmanager_0"}, true},
		{"standalone: address is the pod IP", flink.TaskManager{ID: "10.244.1.7:6122-a1b2c3", Path: "pekko.tcp://flink@10.244.1.7:6122/user/rpc/taskmanager_0"}, true},
		{"akka path before 1.18", flink.TaskManager{ID: "x", Path: "akka.tcp://flink@10.244.1.7:6122/user/rpc/taskmanager_0"}, true},
		{"id prefix only", flink.TaskManager{ID: "10.244.1.7:6122-a1b2c3"}, false},
		{"hostname address", flink.TaskManager{ID: "y", Path: "pekko.tcp://flink@flink-taskmanager-7d9f-x2x.tm.flink.svc:6122/user/rpc/taskmanager_0"}, true},
		{"another pod", flink.TaskManager{ID: "10.244.1.70:6122-a1b2c3", Path: "pekko.tcp://flink@10.244.1.70:6122/user/rpc/taskmanager_0"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, runsIn(tt.tm, pod)) })
	}
}

// TestPodCosts: a pod's cost is the subtasks its TaskManager runs; a pod
// whose TaskManager has not registered runs none (0).
func TestPodCosts(t *testing.T) {
	pods := []taskmanagers.Pod{{Name: "a", IP: "10.0.0.1"}, {Name: "b", IP: "10.0.0.2"}, {Name: "c", IP: "10.0.0.3"}, {Name: "d"}}
	tms := []flink.TaskManager{
		{ID: "10.0.0.1:6122-aa", Path: "pekko.tcp://flink@10.0.0.1:6122/user/rpc/taskmanager_0"},
		{ID: "10.0.0.2:6122-bb", Path: "pekko.tcp://flink@10.0.0.2:6122/user/rpc/taskmanager_0"},
		{ID: "10.0.0.3:6122-cc", Path: "pekko.tcp://flink@10.0.0.3:6122/user/rpc/taskmanager_0"},
	}
	costs, matched := podCosts(pods, tms, map[string]int{"10.0.0.1:6122-aa": 5, "10.0.0.3:6122-cc": 1})
	assert.Equal(t, []int{5, 0, 1, 0}, costs)
	assert.Equal(t, 3, matched)

	_, matched = podCosts([]taskmanagers.Pod{{Name: "e", IP: "10.1.0.1"}}, tms, nil)
	assert.Zero(t, matched, "no pod matches: the mark step then marks nothing")
}
