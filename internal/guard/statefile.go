package guard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/stormguard/stormguard/internal/atomicfile"
	"github.com/stormguard/stormguard/storm"
	"github.com/stormguard/stormguard/wire"
)

// StateFile is the name of the saved state under the state directory.
const StateFile = "stormguard-state.json"

func statePath(dir string) string { return filepath.Join(dir, StateFile) }

// Saved is the state file: the engine's state and the SHUTDOWN commands
// saved but not yet accepted by the broker.
type Saved struct {
	V       int            `json:"v"`
	SavedAt time.Time      `json:"saved_at"`
	Engine  storm.State    `json:"engine"`
	Outbox  []wire.Command `json:"outbox,omitempty"`
}

// stateFile writes the state atomically: a temporary file in the same
// directory, fsync'd, renamed over the old one, and the directory fsync'd,
// so a crash leaves either the old state or the new, never half of one.
type stateFile struct {
	path string
}

func (f *stateFile) save(st storm.State, outbox []wire.Command, now time.Time) error {
	b, err := json.MarshalIndent(Saved{V: 1, SavedAt: now.UTC(), Engine: st, Outbox: outbox}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return atomicfile.Write(f.path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// load reads the saved state; ok is false when there is none yet.
func (f *stateFile) load() (Saved, bool, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return Saved{}, false, nil
	}
	if err != nil {
		return Saved{}, false, fmt.Errorf("read state: %w", err)
	}
	var s Saved
	if err := json.Unmarshal(b, &s); err != nil {
		return Saved{}, false, fmt.Errorf("decode state %s: %w", f.path, err)
	}
	if s.V != 1 {
		return Saved{}, false, fmt.Errorf("decode state %s: version %d unknown", f.path, s.V)
	}
	return s, true, nil
}

// LoadSaved reads the state file under dir, for tools and tests.
func LoadSaved(dir string) (Saved, bool, error) {
	return (&stateFile{path: statePath(dir)}).load()
}
