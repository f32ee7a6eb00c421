package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/stormguard/stormguard/internal/atomicfile"
	"github.com/stormguard/stormguard/presence"
)

// saveEvery bounds how often the state file is rewritten while messages
// keep coming.
const saveEvery = 2 * time.Second

// stateFile keeps the registry on disk so that a restarted manager still
// knows topics that were announced without the retain flag.
type stateFile struct {
	path  string
	reg   *presence.Registry
	log   *slog.Logger
	dirty atomic.Bool
}

// load reads the file; a missing file is a first start, not an error.
func (s *stateFile) load() error {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load state: %w", err)
	}
	defer f.Close()
	if err := s.reg.Load(f); err != nil {
		return fmt.Errorf("load state %s: %w", s.path, err)
	}
	s.log.Info("state loaded", "file", s.path, "resources", s.reg.Len())
	return nil
}

func (s *stateFile) touch() { s.dirty.Store(true) }

// loop saves when something changed, at most every saveEvery, and once
// more when ctx ends.
func (s *stateFile) loop(ctx context.Context) {
	t := time.NewTicker(saveEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			s.saveIfDirty()
			return
		}
		s.saveIfDirty()
	}
}

func (s *stateFile) saveIfDirty() {
	if !s.dirty.Swap(false) {
		return
	}
	if err := s.save(); err != nil {
		s.dirty.Store(true)
		s.log.Error("state not saved", "err", err)
	}
}

// save replaces the file atomically, so a crash leaves either the old
// picture or the new one.
func (s *stateFile) save() error {
	return atomicfile.Write(s.path, s.reg.Save)
}
