// Package taskmanagers sets the TaskManager replica count of a Flink
// cluster: through the scale subresource of a Kubernetes workload, or
// through the Flink emulator's TaskManager control endpoint.
package taskmanagers

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Sentinel errors of every backend.
var (
	// ErrWorkload: the workload reference is malformed, or names a resource
	// that has no scale subresource or does not exist.
	ErrWorkload = errors.New("taskmanager workload")
	// ErrRejected: the backend refused the request for good (forbidden by
	// RBAC, invalid); retrying will not help.
	ErrRejected = errors.New("taskmanager scaling rejected")
	// ErrUnreachable: the backend could not be reached or answered with a
	// transient error; retry later.
	ErrUnreachable = errors.New("taskmanager backend unreachable")
)

// DefaultResource is the resource of a workload reference without a KIND.
var DefaultResource = schema.GroupResource{Group: "apps", Resource: "deployments"}

// Workload names a scalable Kubernetes resource.
type Workload struct {
	Resource  schema.GroupResource
	Namespace string
	Name      string
}

func (w Workload) String() string {
	return w.Resource.String() + "/" + w.Namespace + "/" + w.Name
}

// FlinkDeployments is the Flink Kubernetes operator's custom resource. Its
// scale subresource writes spec.taskManager.replicas, a spec change the
// operator answers by redeploying the whole job, so it is never a scale
// target.
var FlinkDeployments = schema.GroupResource{Group: "flink.apache.org", Resource: "flinkdeployments"}

// ParseWorkload parses [KIND/]NAMESPACE/NAME, where KIND is a resource
// (deployments, statefulsets) or a group-qualified resource.group (a custom
// resource with a scale subresource). Without KIND it is a Deployment.
// deployments and statefulsets without a group mean the apps group. A
// FlinkDeployment is refused with the fix. Errors wrap ErrWorkload.
func ParseWorkload(s string) (Workload, error) {
	parts := strings.Split(s, "/")
	var w Workload
	switch len(parts) {
	case 2:
		w = Workload{Resource: DefaultResource, Namespace: parts[0], Name: parts[1]}
	case 3:
		w = Workload{Resource: schema.ParseGroupResource(strings.ToLower(parts[0])), Namespace: parts[1], Name: parts[2]}
		if w.Resource.Group == "" && (w.Resource.Resource == "deployments" || w.Resource.Resource == "statefulsets") {
			w.Resource.Group = "apps"
		}
	default:
		return Workload{}, fmt.Errorf("%w %q: want [KIND/]NAMESPACE/NAME", ErrWorkload, s)
	}
	if w.Resource.Resource == "" {
		return Workload{}, fmt.Errorf("%w %q: empty KIND", ErrWorkload, s)
	}
	if w.Resource.Resource == FlinkDeployments.Resource || w.Resource.Resource == "flinkdeployment" {
		return Workload{}, fmt.Errorf("%w %q: a FlinkDeployment is not a scale target: scaling it changes "+
			"spec.taskManager.replicas and the Flink operator redeploys the whole job; for a native-mode "+
			"FlinkDeployment use --taskmanagers flink (Flink starts the TaskManagers the declared requirements need), "+
			"for standalone mode name the operator's TaskManager Deployment only if the FlinkDeployment leaves "+
			"spec.taskManager.replicas unset", ErrWorkload, s)
	}
	if errs := validation.IsDNS1123Label(w.Namespace); len(errs) > 0 {
		return Workload{}, fmt.Errorf("%w %q: namespace: %s", ErrWorkload, s, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(w.Name); len(errs) > 0 {
		return Workload{}, fmt.Errorf("%w %q: name: %s", ErrWorkload, s, strings.Join(errs, "; "))
	}
	return w, nil
}
