package flinksim

import "time"

// webRefreshInterval is how long the JobManager caches job views
// (web.refresh-interval, reference §3).
const webRefreshInterval = 3 * time.Second

// jobView caches rendered job views (job details, vertices, plan,
// checkpoints) for webRefreshInterval of simulated time, like Flink's
// ExecutionGraphCache.
type jobView struct {
	entries map[string]cachedView
}

type cachedView struct {
	until  time.Duration
	status int
	body   []byte
}

// cached returns the body cached under key, or renders and caches it.
func (c *Cluster) cached(key string, render func() (int, []byte)) (int, []byte) {
	if e, ok := c.view.entries[key]; ok && c.elapsed < e.until {
		return e.status, e.body
	}
	status, body := render()
	if c.view.entries == nil {
		c.view.entries = map[string]cachedView{}
	}
	c.view.entries[key] = cachedView{until: c.elapsed + webRefreshInterval, status: status, body: body}
	return status, body
}
