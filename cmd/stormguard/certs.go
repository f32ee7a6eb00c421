package main

import (
	"context"
	"errors"
	"io"
)

// runCerts makes the certificates a fleet needs (stormguard certs).
func runCerts(ctx context.Context, args []string, out io.Writer) error {
	return errors.New("certs: not built yet")
}
