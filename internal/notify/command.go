package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/stormguard/stormguard/internal/watch"
)

// Command runs a program for every alert, like NUT's NOTIFYCMD: Argv is run
// directly, never through a shell, with the alert's JSON on standard input
// and STORMGUARD_EVENT, STORMGUARD_TITLE in the environment. Nothing from
// the alert is put into the arguments.
type Command struct {
	Argv []string
	// Env is added to the program's environment (KEY=value).
	Env []string
}

// Name is "command".
func (c *Command) Name() string { return "command" }

// Notify runs the command and waits for it, within ctx.
func (c *Command) Notify(ctx context.Context, a watch.Alert) error {
	if len(c.Argv) == 0 {
		return errors.New("command: empty argv")
	}
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Stdin = bytes.NewReader(append(b, '\n'))
	cmd.Env = append(cmd.Environ(), c.Env...)
	cmd.Env = append(cmd.Env, "STORMGUARD_EVENT="+string(a.Kind), "STORMGUARD_TITLE="+oneLine(a.Title))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// A child that keeps the output open past the timeout is not waited for.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", c.Argv[0], ctx.Err())
		}
		return fmt.Errorf("%s: %w: %s", c.Argv[0], err, oneLine(tail(out.String(), 200)))
	}
	return nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
