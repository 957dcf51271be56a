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

// RunAll runs every scenario under every setting with opt.Seeds seeds on
// runtime.GOMAXPROCS(0) workers and returns the results in scenario order,
// then settings' order, then seed order. It blocks until every run
// finished or one failed; the first error is returned.
func RunAll(ctx context.Context, scs []*flinksim.Scenario, settings []Setting, opt Options, progress Progress) ([]Result, error) {
	seeds := max(opt.Seeds, 1)
	type job struct{ sc, set, seed int }
	jobs := make(chan job)
	results := make([]Result, len(scs)*len(settings)*seeds)
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
				sc := *scs[j.sc]
				if opt.FirstSeed > 0 {
					sc.Seed = opt.FirstSeed
				}
				sc.Seed += int64(j.seed)
				o := opt
				o.Series = opt.Series && j.seed == 0 && settings[j.set].Default()
				r, err := Run(ctx, &sc, settings[j.set], o)
				if !o.Series {
					r.Series.Samples, r.Series.Decisions = nil, nil
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("%s (seed %d) under %s: %w", sc.Name, sc.Seed, settings[j.set], err)
					cancel()
				}
				results[(j.sc*len(settings)+j.set)*seeds+j.seed] = r
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
		for p := range settings {
			for k := range seeds {
				order = append(order, job{s, p, k})
			}
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
