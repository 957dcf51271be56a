package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// runSim serves an emulated Flink JobManager driven by a scenario file.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", "sim --scenario FILE [--listen ADDR] [--speed N] [--kubeconfig FILE --taskmanager-workload [KIND/]NAMESPACE/NAME]", stderr)
	scenario := fs.String("scenario", envOr("FLINKSCALER_SCENARIO", "scenarios/wordcount.yaml"), "scenario YAML file (env FLINKSCALER_SCENARIO)")
	listen := fs.String("listen", envOr("FLINKSCALER_LISTEN", "127.0.0.1:8081"), "address of the Flink REST API (env FLINKSCALER_LISTEN)")
	speed := fs.Float64("speed", 1, "simulated seconds per real second (1 = real time)")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file; with --taskmanager-workload the TaskManager count follows that workload's spec.replicas")
	workload := fs.String("taskmanager-workload", "", "[KIND/]NAMESPACE/NAME whose spec.replicas sets the TaskManagers (KIND: deployments (default), statefulsets, replicasets)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !(*speed > 0) {
		fmt.Fprintf(stderr, "--speed must be positive, got %g\n", *speed)
		return errUsage
	}
	if (*kubeconfig == "") != (*workload == "") {
		fmt.Fprintln(stderr, "--kubeconfig and --taskmanager-workload go together")
		return errUsage
	}
	sc, err := flinksim.LoadScenario(*scenario)
	if err != nil {
		return err
	}
	c := flinksim.New(sc, flinksim.Options{Start: time.Now().Truncate(time.Millisecond)})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "flink emulator: scenario %s (%s, %s simulated, speed %gx)\n", sc.Name, sc.Cluster.Scaling, sc.Duration, *speed)
	fmt.Fprintf(stdout, "  REST API     %s  (also under %s/v1)\n", base, base)
	fmt.Fprintf(stdout, "  job          %s %q\n", c.JobID(), sc.Job.Name)
	fmt.Fprintf(stdout, "  TaskManagers %s%staskmanagers  (PUT {\"replicas\":N})\n", base, flinksim.ControlPrefix)
	if *workload != "" {
		if err := startWatcher(ctx, c, *kubeconfig, *workload, stdout, stderr); err != nil {
			_ = srv.Close() // the listener is ours; nothing else to report
			return err
		}
	}
	runErr := c.Run(ctx, *speed, minuteReporter(stdout, c.Scenario()))
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return runErr
}

func startWatcher(ctx context.Context, c *flinksim.Cluster, kubeconfig, workload string, stdout, stderr io.Writer) error {
	w, err := flinksim.ParseWorkload(workload)
	if err != nil {
		return err
	}
	ww, err := flinksim.NewWorkloadWatcher(kubeconfig, w, c, time.Second)
	if err != nil {
		return err
	}
	ww.OnError = func(err error) { fmt.Fprintf(stderr, "taskmanager workload: %v\n", err) }
	ww.OnChange = func(replicas, applied int) {
		fmt.Fprintf(stdout, "  %s spec.replicas=%d → %d TaskManagers\n", w, replicas, applied)
	}
	fmt.Fprintf(stdout, "  watching     %s for spec.replicas\n", w)
	go func() { _ = ww.Run(ctx) }() // returns nil when ctx is done
	return nil
}

// minuteReporter prints one line per simulated minute.
func minuteReporter(w io.Writer, sc *flinksim.Scenario) func(flinksim.GroundTruth) {
	next := time.Duration(0)
	return func(gt flinksim.GroundTruth) {
		if gt.Elapsed < next {
			return
		}
		next = gt.Elapsed.Truncate(time.Minute) + time.Minute
		var p strings.Builder
		for i, v := range gt.Vertices {
			if i > 0 {
				p.WriteString(" ")
			}
			fmt.Fprintf(&p, "%s=%d", v.Name, v.Parallelism)
		}
		note := ""
		if gt.Elapsed == sc.Duration {
			note = "  (scenario duration reached; the load holds its pattern)"
		}
		fmt.Fprintf(w, "%s  offered %9.0f/s  [%s]  TMs %d/%d  %-10s lag %6.1fs%s\n",
			fmtElapsed(gt.Elapsed), gt.OfferedRate, p.String(), gt.RegisteredTaskManagers, gt.TaskManagers, gt.State, gt.LagSeconds, note)
	}
}

func fmtElapsed(d time.Duration) string {
	s := int(d.Seconds())
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}
