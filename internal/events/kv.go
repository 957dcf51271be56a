package events

import (
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// IsRevisionConflict reports whether err from a KV Create or Update means
// the key moved since it was read (a compare-and-set conflict), which the
// caller resolves by reading again. nats.go reports it differently by
// bucket: ErrKeyExists for Create, and for Update a wrong-last-sequence
// API error on one server or ErrKeyRevisionMismatch on a replicated
// bucket.
func IsRevisionConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}
