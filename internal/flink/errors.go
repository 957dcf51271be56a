package flink

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error the client returns wraps exactly one of them
// (or the caller's context error), so callers branch with errors.Is.
var (
	// ErrBadRequest is a 400: bad parameters or body, failed validation.
	ErrBadRequest = errors.New("flink: bad request")
	// ErrUnauthorized is a 401 or 403 from the JobManager or a proxy in front.
	ErrUnauthorized = errors.New("flink: unauthorized")
	// ErrNotFound is a 404: unknown route, or a job the JobManager no longer
	// knows (for example one that just ended).
	ErrNotFound = errors.New("flink: not found")
	// ErrConflict is a 409: another resource-requirements update is in flight.
	ErrConflict = errors.New("flink: conflict")
	// ErrServer is any 5xx, and any other unexpected status; retrying may help.
	ErrServer = errors.New("flink: server error")
	// ErrUnreachable is a transport failure: refused, reset, TLS, or the
	// per-request timeout expired.
	ErrUnreachable = errors.New("flink: unreachable")
	// ErrMalformed is a 2xx whose body is not the JSON the endpoint promises.
	ErrMalformed = errors.New("flink: malformed response")
	// ErrConfig is an unusable Options value or base URL, returned by New.
	ErrConfig = errors.New("flink: invalid client configuration")
)

// StatusError is an answer with a non-2xx status. It unwraps to the sentinel
// for its status. Errors holds Flink's {"errors":[...]} texts, which carry
// the Java exception and often its stack trace: match them with
// strings.Contains, never with equality.
type StatusError struct {
	Method string
	URL    string
	Status int
	Errors []string
	kind   error
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: status %d", e.Method, e.URL, e.Status)
	if len(e.Errors) > 0 {
		msg += ": " + firstLines(strings.Join(e.Errors, "; "), 3, 600)
	}
	return msg
}

func (e *StatusError) Unwrap() error { return e.kind }

// Contains reports whether any of Flink's error texts contains s.
func (e *StatusError) Contains(s string) bool {
	for _, m := range e.Errors {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// kindOf maps an HTTP status to its sentinel.
func kindOf(status int) error {
	switch {
	case status == 400:
		return ErrBadRequest
	case status == 401 || status == 403:
		return ErrUnauthorized
	case status == 404:
		return ErrNotFound
	case status == 409:
		return ErrConflict
	default:
		return ErrServer
	}
}

// Retryable reports whether err is worth retrying later: a server error,
// an unreachable JobManager, a conflicting update or a garbled answer.
func Retryable(err error) bool {
	return errors.Is(err, ErrServer) || errors.Is(err, ErrUnreachable) ||
		errors.Is(err, ErrConflict) || errors.Is(err, ErrMalformed)
}

// ErrorKind names the sentinel err wraps, for metrics labels and logs:
// bad_request, unauthorized, not_found, conflict, server, unreachable,
// malformed, canceled, or other.
func ErrorKind(err error) string {
	kinds := []struct {
		err  error
		name string
	}{
		{ErrBadRequest, "bad_request"}, {ErrUnauthorized, "unauthorized"},
		{ErrNotFound, "not_found"}, {ErrConflict, "conflict"}, {ErrServer, "server"},
		{ErrUnreachable, "unreachable"}, {ErrMalformed, "malformed"},
	}
	for _, k := range kinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "canceled"
	}
	return "other"
}

// firstLines keeps the first n lines of s, at most max bytes, so a Java
// stack trace does not flood a log line.
func firstLines(s string, n, max int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	out := strings.Join(lines, " ")
	if len(out) > max {
		out = out[:max] + "…"
	}
	return out
}
