package taskmanagers

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Event types.
const (
	EventNormal  = corev1.EventTypeNormal
	EventWarning = corev1.EventTypeWarning
)

// eventSource names flinkscaler's actuate as the reporter of its Events.
const eventSource = "flinkscaler-actuate"

// maxEventMessage is Kubernetes' limit on an Event's message.
const maxEventMessage = 1024

// Events records Kubernetes Events on TaskManager workloads, so
// `kubectl describe` shows what flinkscaler decided and did. It needs only
// create on events in the workload's namespace, and reads the workload's UID
// through the scale subresource actuate may already read.
type Events struct {
	k        *Kubernetes
	client   kubernetes.Interface
	instance string
	now      func() time.Time
}

// NewEvents returns an Event recorder for the API server of cfg, resolving
// workloads with k.
func NewEvents(cfg *rest.Config, k *Kubernetes) (*Events, error) {
	c, err := kubernetes.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	host, _ := os.Hostname() // only labels the reporting instance
	return &Events{k: k, client: c, instance: host, now: time.Now}, nil
}

// Record creates an Event of type (EventNormal or EventWarning) with reason
// and message on workload. Errors wrap ErrWorkload, ErrRejected or
// ErrUnreachable.
func (e *Events) Record(ctx context.Context, workload, eventType, reason, message string) error {
	w, err := e.k.resolve(workload)
	if err != nil {
		return err
	}
	s, err := e.k.scales.Scales(w.Namespace).Get(ctx, w.Resource, w.Name, metav1.GetOptions{})
	if err != nil {
		return classify("get scale of "+w.String(), err)
	}
	gvr, err := e.k.mapper.ResourceFor(w.Resource.WithVersion(""))
	if err != nil {
		return fmt.Errorf("%w: discover %s: %w", ErrUnreachable, w.Resource, err)
	}
	kind, err := e.k.mapper.KindFor(gvr)
	if err != nil {
		return fmt.Errorf("%w: kind of %s: %w", ErrUnreachable, w.Resource, err)
	}
	if len(message) > maxEventMessage {
		message = message[:maxEventMessage-3] + "..."
	}
	now := metav1.NewTime(e.now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: w.Name + ".", Namespace: w.Namespace},
		InvolvedObject: corev1.ObjectReference{Kind: kind.Kind, APIVersion: kind.GroupVersion().String(),
			Name: w.Name, Namespace: w.Namespace, UID: s.UID},
		Reason: reason, Message: strings.TrimSpace(message), Type: eventType,
		Source:         corev1.EventSource{Component: eventSource},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
		ReportingController: "flinkscaler.io/actuate", ReportingInstance: e.instance,
	}
	if _, err := e.client.CoreV1().Events(w.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return classify("create event on "+w.String(), err)
	}
	return nil
}
