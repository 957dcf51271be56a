package flinksim

import (
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestReplicaSetVictims: the emulated ReplicaSet deletes pods not Ready
// first, then those with the lowest pod-deletion-cost (unset or not an
// integer: 0), then the newest.
func TestReplicaSetVictims(t *testing.T) {
	pod := func(cost string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{}}}
		if cost != "" {
			p.Annotations[deletionCost] = cost
		}
		return p
	}
	tms := []TaskManagerStatus{
		{ID: "tm1", Registered: true, Seq: 1}, {ID: "tm2", Registered: true, Seq: 2},
		{ID: "tm3", Registered: true, Seq: 3}, {ID: "tm4", Registered: false, Seq: 4}, {ID: "tm5", Registered: true, Seq: 5},
	}
	r := &ReplicaSetPods{}
	unmarked := map[string]*corev1.Pod{"tm1": pod(""), "tm2": pod(""), "tm3": pod(""), "tm4": pod(""), "tm5": pod("")}
	assert.Equal(t, []string{"tm4", "tm5", "tm3"}, r.victims(unmarked, tms, 3), "not ready, then newest")

	marked := map[string]*corev1.Pod{"tm1": pod("0"), "tm2": pod("4"), "tm3": pod("2"), "tm4": pod("9"), "tm5": pod("4")}
	assert.Equal(t, []string{"tm4", "tm1", "tm3", "tm5"}, r.victims(marked, tms, 4), "not ready, then cheapest, then newest")

	odd := map[string]*corev1.Pod{"tm1": pod("x"), "tm2": pod("1"), "tm3": pod("1"), "tm5": pod("1")}
	assert.Equal(t, []string{"tm4", "tm1"}, r.victims(odd, tms, 2), "a cost that is not an integer counts as 0, as does a pod without one")
}
