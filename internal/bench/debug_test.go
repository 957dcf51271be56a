package bench

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

func TestDebugSeries(t *testing.T) {
	f, p := os.Getenv("SC"), os.Getenv("POL")
	if f == "" {
		t.Skip()
	}
	sc, _ := flinksim.LoadScenario("../../scenarios/" + f + ".yaml")
	r, err := Run(context.Background(), sc, p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range r.Series.Samples {
		if i%30 == 0 {
			fmt.Printf("%5.0f %-10s rate=%8.0f p=%v tms=%d slots=%d oracle=%v/%d lag=%.1f\n", s.Elapsed.Seconds(), s.State, s.OfferedRate, s.Parallelism, s.TaskManagers, s.Slots, s.OracleParallelism, s.OracleSlots, s.LagSeconds)
		}
	}
	for _, d := range r.Series.Decisions {
		fmt.Printf("decision at %v: %v tms %v: %s\n", d.Elapsed, d.Targets, d.TaskManagers, d.Rationale)
	}
	fmt.Println(r.Errors)
}
