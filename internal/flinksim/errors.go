package flinksim

import "errors"

// Errors a caller of this package can branch on.
var (
	// ErrInvalidScenario is wrapped by every error LoadScenario and
	// ParseScenario return for a scenario that is malformed or inconsistent;
	// the error is then a *ValidationError listing every problem with its
	// field path.
	ErrInvalidScenario = errors.New("invalid scenario")
	// ErrInvalidRequirements is wrapped by PutRequirements for requirements
	// Flink rejects with 400; the message lists every violation, one a line,
	// in Flink's wording.
	ErrInvalidRequirements = errors.New("invalid resource requirements")
	// ErrReactiveMode is returned by PutRequirements in reactive mode, where
	// Flink answers 500 ("Cannot change the parallelism of a job running in
	// reactive mode.").
	ErrReactiveMode = errors.New("cannot change the parallelism of a job running in reactive mode")
	// ErrInvalidWorkload is wrapped by ParseWorkload for a reference that is
	// not [KIND/]NAMESPACE/NAME.
	ErrInvalidWorkload = errors.New("invalid TaskManager workload")
)
