package taskmanagers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// EmulatorPath is the emulator's TaskManager control endpoint, under the
// cluster's JobManager URL (flinksim.ControlPrefix + "taskmanagers").
const EmulatorPath = "/flinksim/v1/taskmanagers"

// Emulator drives the Flink emulator's TaskManager control endpoint of each
// cluster; the workload argument is ignored.
type Emulator struct {
	urls map[string]string // cluster → JobManager base URL
	http *http.Client
}

// NewEmulator returns a backend for the emulators at urls (cluster → base
// URL), reached through client (nil: a client with a 10 s timeout).
func NewEmulator(urls map[string]string, client *http.Client) *Emulator {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Emulator{urls: urls, http: client}
}

// tmCount is the control endpoint's body: {"replicas": N} in a PUT, the
// requested replicas (registered or starting) in every answer.
type tmCount struct {
	Replicas        int `json:"replicas"`
	MaxTaskManagers int `json:"maxTaskManagers,omitempty"`
}

// Replicas returns the emulator's requested TaskManager count.
func (e *Emulator) Replicas(ctx context.Context, cluster, _ string) (int, error) {
	var c tmCount
	if err := e.do(ctx, cluster, http.MethodGet, nil, &c); err != nil {
		return 0, err
	}
	return c.Replicas, nil
}

// Scale sets the emulator's TaskManager count to n. A count above the
// emulator's maxTaskManagers is refused (ErrRejected) without a change.
func (e *Emulator) Scale(ctx context.Context, cluster, _ string, n int) error {
	var now tmCount
	if err := e.do(ctx, cluster, http.MethodGet, nil, &now); err != nil {
		return err
	}
	if now.MaxTaskManagers > 0 && n > now.MaxTaskManagers {
		return fmt.Errorf("%w: %d TaskManagers exceed the emulator's maxTaskManagers %d (cluster %s)", ErrRejected, n, now.MaxTaskManagers, cluster)
	}
	body, err := json.Marshal(map[string]int{"replicas": n})
	if err != nil {
		return fmt.Errorf("encode TaskManager count: %w", err)
	}
	var c tmCount
	if err := e.do(ctx, cluster, http.MethodPut, body, &c); err != nil {
		return err
	}
	if c.Replicas != n {
		return fmt.Errorf("%w: emulator of cluster %s applied %d TaskManagers, not %d (its maxTaskManagers)", ErrRejected, cluster, c.Replicas, n)
	}
	return nil
}

// ReplaceUnregistered replaces n TaskManagers that have not registered:
// it lowers the emulator's count by n and raises it back. The emulator
// removes TaskManagers not yet registered first (flinksim's
// SetTaskManagers), so with at least n of them exactly those go, and n new
// ones start (each drawing its start-up anew). A failure of the raise
// leaves the lower count and says so.
func (e *Emulator) ReplaceUnregistered(ctx context.Context, cluster, workload string, n int) (string, error) {
	cur, err := e.Replicas(ctx, cluster, workload)
	if err != nil {
		return "", err
	}
	if n <= 0 || n > cur {
		return "", fmt.Errorf("%w: replace %d of %d TaskManagers (cluster %s)", ErrRejected, n, cur, cluster)
	}
	if err := e.Scale(ctx, cluster, workload, cur-n); err != nil {
		return "", err
	}
	if err := e.Scale(ctx, cluster, workload, cur); err != nil {
		return "", fmt.Errorf("TaskManagers left at %d of %d: %w", cur-n, cur, err)
	}
	return fmt.Sprintf("emulator TaskManagers %d → %d → %d, the ones not registered removed first", cur, cur-n, cur), nil
}

func (e *Emulator) do(ctx context.Context, cluster, method string, body []byte, out any) error {
	base, ok := e.urls[cluster]
	if !ok {
		return fmt.Errorf("%w: no emulator URL for cluster %q", ErrWorkload, cluster)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(base, "/")+EmulatorPath, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWorkload, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrUnreachable, method, req.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%w: %s %s: read body: %w", ErrUnreachable, method, req.URL, err)
	}
	switch {
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w: %s %s: status %d: %s", ErrUnreachable, method, req.URL, resp.StatusCode, raw)
	case resp.StatusCode >= 300:
		return fmt.Errorf("%w: %s %s: status %d: %s", ErrRejected, method, req.URL, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: %s %s: decode %q: %w", ErrUnreachable, method, req.URL, raw, err)
	}
	return nil
}
