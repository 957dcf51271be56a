package flinkautoscaler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBody bounds what the proxy buffers of one request or response.
const maxBody = 8 << 20

// forward relays one request to the JobManager, counting it and recording
// a resource-requirements PUT with the JobManager's answer.
func (p *Peer) forward(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	u := *p.target
	u.Path = strings.TrimSuffix(p.target.Path, "/") + r.URL.Path
	u.RawQuery = r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		p.count(r, http.StatusBadGateway)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		p.count(r, http.StatusBadGateway)
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.count(r, resp.StatusCode)
	if r.Method == http.MethodGet && resp.StatusCode == http.StatusOK && pathPattern(r.URL.Path) == "/jobs/:id" && p.cfg.OnCollect != nil {
		p.cfg.OnCollect(p.cfg.Now())
	}
	if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/resource-requirements") {
		p.record(r.URL.Path, body, resp.StatusCode, answer)
	}
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer) // the autoscaler went away; it will retry
}

// count tallies a request by method, path pattern (ids replaced) and status.
func (p *Peer) count(r *http.Request, status int) {
	key := fmt.Sprintf("%s %s %d", r.Method, pathPattern(r.URL.Path), status)
	p.mu.Lock()
	p.stats.Requests[key]++
	p.mu.Unlock()
}

// pathPattern replaces 32-hex ids with :id and drops the /v1 prefix.
func pathPattern(path string) string {
	seg := strings.Split(strings.Trim(strings.TrimPrefix(path, "/v1"), "/"), "/")
	for i, s := range seg {
		if len(s) == 32 && strings.Trim(s, "0123456789abcdef") == "" {
			seg[i] = ":id"
		}
	}
	return "/" + strings.Join(seg, "/")
}

func (p *Peer) record(path string, body []byte, status int, answer []byte) {
	rs := Rescale{At: p.cfg.Now(), Status: status, Targets: map[string]int{}}
	seg := strings.Split(strings.Trim(strings.TrimPrefix(path, "/v1"), "/"), "/")
	if len(seg) >= 2 {
		rs.JobID = seg[1]
	}
	var req map[string]struct {
		Parallelism struct {
			UpperBound int `json:"upperBound"`
		} `json:"parallelism"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		rs.Error = "unreadable request body: " + err.Error()
	}
	for id, v := range req {
		rs.Targets[id] = v.Parallelism.UpperBound
	}
	if status != http.StatusOK {
		var e struct{ Errors []string }
		if json.Unmarshal(answer, &e) == nil && len(e.Errors) > 0 {
			rs.Error = strings.Join(e.Errors, "; ")
		} else {
			rs.Error = string(answer)
		}
	}
	p.mu.Lock()
	p.rescale = append(p.rescale, rs)
	p.mu.Unlock()
	if p.cfg.OnRescale != nil {
		p.cfg.OnRescale(rs)
	}
}
