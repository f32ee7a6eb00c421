package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stormguard/stormguard/cmd/internal/cli"
)

// TestScoreCommand: the command prints the score table for the seeds it is
// given, the same rows as the committed one, and refuses bad arguments.
func TestScoreCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"-seeds", "2"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"14 storms (2 of each of 7 kinds, seeds 1 to 2), each under 2 rules:",
		"| | reactive | tracking |",
		"| hosts down before the first true strike inside |",
		"| missed storms |",
		"| formed overhead: storms, missed |",
		"countdowns, never inside:",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(t.Context(), []string{"-h"}, &out); cli.ExitCode(err) != 0 || !strings.HasPrefix(out.String(), "usage: stormguard-score") {
		t.Errorf("-h: %v\n%s", err, out.String())
	}
	for _, args := range [][]string{{"-no-such-flag"}, {"extra"}, {"-seeds", "0"}} {
		if err := run(t.Context(), args, &bytes.Buffer{}); cli.ExitCode(err) != 2 {
			t.Errorf("%q: exit %d (%v), want 2", args, cli.ExitCode(err), err)
		}
	}
}
