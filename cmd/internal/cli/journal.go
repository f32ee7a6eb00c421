package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// Handler returns the log handler every program uses: key=value lines on w,
// or, when w is standard error connected to the systemd journal, the same
// lines with a syslog priority prefix (<4> for a warning) and no time stamp
// (the journal has its own), so journalctl -p warning finds the warnings.
func Handler(w io.Writer, level slog.Leveler) slog.Handler {
	if f, ok := w.(*os.File); ok && f == os.Stderr && journalStream(f) {
		return JournalHandler(w, level)
	}
	return slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})
}

// JournalHandler writes key=value lines with a priority prefix and no time.
func JournalHandler(w io.Writer, level slog.Leveler) slog.Handler {
	drop := func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	return &journalHandler{mu: new(sync.Mutex), w: w,
		h: slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: drop})}
}

type journalHandler struct {
	mu *sync.Mutex // one line at a time: the prefix and the record together
	w  io.Writer
	h  slog.Handler
}

func (j *journalHandler) Enabled(ctx context.Context, l slog.Level) bool { return j.h.Enabled(ctx, l) }

func (j *journalHandler) Handle(ctx context.Context, r slog.Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	fmt.Fprintf(j.w, "<%d>", priority(r.Level))
	return j.h.Handle(ctx, r)
}

func (j *journalHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &journalHandler{mu: j.mu, w: j.w, h: j.h.WithAttrs(as)}
}

func (j *journalHandler) WithGroup(name string) slog.Handler {
	return &journalHandler{mu: j.mu, w: j.w, h: j.h.WithGroup(name)}
}

// priority maps a level to syslog's: err 3, warning 4, info 6, debug 7.
func priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l >= slog.LevelInfo:
		return 6
	}
	return 7
}
