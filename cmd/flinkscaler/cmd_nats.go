package main

import (
	"context"
	"errors"
	"io"
)

func runNATS(_ context.Context, _ []string, _, _ io.Writer) error {
	return errors.New("not built yet")
}
