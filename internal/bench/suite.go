package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// LoadScenarios reads every path: a scenario file, or a directory whose
// *.yaml and *.yml files are read in name order. Errors wrap ErrUsage.
func LoadScenarios(paths []string) ([]*flinksim.Scenario, error) {
	var files []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUsage, err)
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUsage, err)
		}
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	var out []*flinksim.Scenario
	for _, f := range files {
		sc, err := flinksim.LoadScenario(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrUsage, f, err)
		}
		out = append(out, sc)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no scenario files in %s", ErrUsage, strings.Join(paths, ", "))
	}
	return out, nil
}

// Progress receives one line per finished run; it is called from one
// goroutine at a time.
type Progress func(r Result, took time.Duration, done, total int)

// RunAll runs every scenario under every policy on runtime.GOMAXPROCS(0)
// workers and returns the results in scenario order, then policies' order.
// It blocks until every run finished or one failed; the first error is
// returned.
func RunAll(ctx context.Context, scs []*flinksim.Scenario, policies []string, opt Options, progress Progress) ([]Result, error) {
	type job struct{ sc, pol int }
	jobs := make(chan job)
	results := make([]Result, len(scs)*len(policies))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for j := range jobs {
				start := time.Now()
				r, err := Run(ctx, scs[j.sc], policies[j.pol], opt)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s under %s: %w", scs[j.sc].Name, policies[j.pol], err)
					cancel()
				}
				results[j.sc*len(policies)+j.pol] = r
				done++
				if err == nil && progress != nil {
					progress(r, time.Since(start), done, len(results))
				}
				mu.Unlock()
			}
		})
	}
	// Longest scenarios first keeps the workers evenly busy.
	order := make([]job, 0, len(results))
	for s := range scs {
		for p := range policies {
			order = append(order, job{s, p})
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return scs[order[a].sc].Duration > scs[order[b].sc].Duration })
feed:
	for _, j := range order {
		select {
		case jobs <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return slices.Clip(results), nil
}
