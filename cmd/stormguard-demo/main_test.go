package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stormguard/stormguard/cmd/internal/cli"
)

// The story itself is internal/demo's test; here, the command line.
func TestCommandLine(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-h"}, &out); cli.ExitCode(err) != 0 || !strings.HasPrefix(out.String(), "usage: stormguard-demo") {
		t.Errorf("-h: %v\n%s", err, out.String())
	}
	for _, args := range [][]string{{"-no-such-flag"}, {"extra"}} {
		if err := run(t.Context(), args, &bytes.Buffer{}); cli.ExitCode(err) != 2 {
			t.Errorf("%q: exit %d (%v), want 2", args, cli.ExitCode(err), err)
		}
	}
}
