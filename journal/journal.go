// Package journal is a host's record of every command message it received
// and every decision and outcome, as JSON lines in one file (mode 0600).
//
// Durability is chosen per append: what must survive a power-off before an
// action (a countdown armed, a power command about to start) is fsync'd
// before Append returns; what merely documents (a rejected or duplicate
// message) is written without a sync and reaches the disk with the next
// synced append, so a flood of junk costs no fsync per message.
//
// The journal stays readable and bounded whatever the disk does: a write
// cut short is cut back off, records the disk refused are kept in memory
// and written when it takes them again (Pending, Retry), a small reserve
// file is given up to make room for the records that matter when the disk
// is full, and Rotate starts a new file from a snapshot once the current
// one passes its size limit, keeping one older generation for people.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// The files inside the state directory.
const (
	// FileName is the current journal.
	FileName = "journal.jsonl"
	// OldName is the generation before the last rotation, kept for people;
	// the agent never reads it.
	OldName = "journal.1.jsonl"
	// ReserveName is space held back for the records that matter on a full disk.
	ReserveName = "journal.reserve"
)

// ReserveSize is how much space the reserve file holds: room for a few
// hundred decision records.
const ReserveSize = 256 << 10

// Kind says what a record is.
type Kind string

// The record kinds.
const (
	// KindReceived is a message as it arrived, text kept.
	KindReceived Kind = "received"
	// KindDecision is what the host decided about a message (an ack state).
	KindDecision Kind = "decision"
	// KindStarted is written just before the power command starts: after
	// it, a restart never runs that command again.
	KindStarted Kind = "started"
	// KindOutcome is how running the power command ended.
	KindOutcome Kind = "outcome"
	// KindSnapshot opens a rotated journal: what the host remembered then
	// (one record per command id it still keeps, and its connection clock).
	KindSnapshot Kind = "snapshot"
	// KindConnected notes when the host was last connected to the broker,
	// so that after a long absence it can tell how stale its queue may be.
	KindConnected Kind = "connected"
)

// Record is one line of the journal.
type Record struct {
	Seq  int64     `json:"seq"`
	At   time.Time `json:"at"`
	Kind Kind      `json:"kind"`
	// ID is the command id (derived from the text for plain-text commands).
	ID     string      `json:"id,omitempty"`
	Action wire.Action `json:"action,omitempty"`
	// Received fields: the message as it came. Payload is the text when it
	// is UTF-8 without control characters; other bytes are kept in
	// PayloadRaw (base64 in the file, a third larger, where JSON escapes
	// would make control bytes six times their size).
	Topic      string `json:"topic,omitempty"`
	Payload    string `json:"payload,omitempty"`
	PayloadRaw []byte `json:"payload_raw,omitempty"`
	Retained   bool   `json:"retained,omitempty"`
	Duplicate  bool   `json:"dup,omitempty"`
	// Queued is set when the message may have waited in the broker's
	// session queue while the host was away.
	Queued bool `json:"queued,omitempty"`
	// Decision and outcome fields.
	State    wire.AckState `json:"state,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Detail   string        `json:"detail,omitempty"`
	Deadline time.Time     `json:"deadline,omitzero"`
	// Plain marks a snapshot record of a plain-text command.
	Plain bool `json:"plain,omitempty"`
	// Signer names the key that signed the command a decision is about,
	// and SignerClock is its issued_at by the sender's clock.
	Signer      string    `json:"signer,omitempty"`
	SignerClock time.Time `json:"signer_clock,omitzero"`
	// Ref is the Seq of the received record a decision is about.
	Ref int64 `json:"ref,omitempty"`
}

// ErrNotDurable wraps every error of an append that did not reach the
// disk; the records are kept in memory and written by a later append or
// Retry.
var ErrNotDurable = errors.New("journal not written")

// Journal appends records to a file.
type Journal struct {
	mu   sync.Mutex
	dir  string
	path string
	f    *os.File // nil while the file cannot be opened for writing
	seq  int64
	size int64
	// backlog holds encoded records the disk refused, oldest first.
	backlog  []byte
	unsynced bool
	lastErr  error
}

// Open opens (or creates) the journal in dir and hands every record in it,
// in order, to each, without holding them all in memory. Lines that cannot
// be read (a torn write) are skipped and counted. A journal that cannot be
// opened for writing (a read-only disk) is still read; the Journal then
// keeps new records in memory until Retry can write them.
func Open(dir string, each func(Record)) (j *Journal, skipped int, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, 0, fmt.Errorf("open journal: %w", err)
	}
	j = &Journal{dir: dir, path: filepath.Join(dir, FileName)}
	r, err := os.Open(j.path)
	switch {
	case err == nil:
		skipped, err = readEach(r, func(rec Record) {
			j.seq = max(j.seq, rec.Seq)
			each(rec)
		})
		r.Close()
		if err != nil {
			return nil, 0, fmt.Errorf("read journal %s: %w", j.path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, 0, fmt.Errorf("open journal: %w", err)
	}
	if err := j.openWrite(); err != nil {
		j.lastErr = err
	}
	return j, skipped, nil
}

// openWrite opens the file for appending, ends a torn last line so it
// cannot swallow the next record, and sets aside the reserve.
func (j *Journal) openWrite() error {
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("open journal: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open journal: %w", err)
	}
	j.f, j.size = f, fi.Size()
	if j.size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, j.size-1); err == nil && last[0] != '\n' {
			j.backlog = append([]byte{'\n'}, j.backlog...)
		}
	}
	j.ensureReserve()
	return nil
}

// ensureReserve writes the reserve file when it is missing. Its blocks are
// written, not just allocated, so deleting it really frees space.
func (j *Journal) ensureReserve() {
	p := filepath.Join(j.dir, ReserveName)
	if fi, err := os.Stat(p); err == nil && fi.Size() == ReserveSize {
		return
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return
	}
	_, werr := f.Write(make([]byte, ReserveSize))
	serr := f.Sync()
	f.Close()
	if werr != nil || serr != nil {
		os.Remove(p) // a half reserve only takes space
	}
}

// releaseReserve frees the reserve; it reports whether there was one.
func (j *Journal) releaseReserve() bool {
	return os.Remove(filepath.Join(j.dir, ReserveName)) == nil
}

func readEach(r io.Reader, each func(Record)) (int, error) {
	skipped := 0
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var rec Record
			if jerr := json.Unmarshal(line, &rec); jerr != nil || rec.Kind == "" {
				skipped++
			} else {
				each(rec)
			}
		}
		if errors.Is(err, io.EOF) {
			return skipped, nil
		}
		if err != nil {
			return skipped, err
		}
	}
}

// ReadAll returns the records of the journal in dir without opening it
// for writing: for tests and tools that read beside a running agent.
func ReadAll(dir string) ([]Record, error) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	_, err = readEach(f, func(r Record) { out = append(out, r) })
	return out, err
}

// Path is the journal file's path.
func (j *Journal) Path() string { return j.path }

// Size is the current file's size in bytes.
func (j *Journal) Size() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size
}

// Pending reports how many bytes of records wait in memory for the disk,
// and the last write error (nil once everything is written).
func (j *Journal) Pending() (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.backlog), j.lastErr
}

// Append writes the records in one write (setting each Seq, and At when
// zero) and, with sync, fsyncs the file before it returns. A received
// message and the decision about it reach the disk together. On an error
// (wrapping ErrNotDurable) the file is left as it was and the records are
// kept in memory, in order, for a later append or Retry; Seq and At are
// set either way.
func (j *Journal) Append(sync bool, rs ...Record) ([]Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	b, err := j.encode(j.backlog, rs)
	if err != nil {
		return rs, fmt.Errorf("journal append: %w", err)
	}
	j.backlog = b
	return rs, j.flush(sync)
}

// encode numbers the records (and stamps those without a time) and
// appends them to buf as lines.
func (j *Journal) encode(buf []byte, rs []Record) ([]byte, error) {
	for i := range rs {
		j.seq++
		rs[i].Seq = j.seq
		if rs[i].At.IsZero() {
			rs[i].At = time.Now().UTC()
		}
		b, err := json.Marshal(rs[i])
		if err != nil {
			return nil, err
		}
		buf = append(append(buf, b...), '\n')
	}
	return buf, nil
}

// Retry writes (and syncs) whatever the disk refused before; it reopens a
// journal that could not be opened for writing.
func (j *Journal) Retry() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.backlog) == 0 && j.f != nil && !j.unsynced {
		return nil
	}
	return j.flush(true)
}

// flush writes the backlog. A short write is cut back off the file so the
// next record starts on a clean line; on a full disk the reserve is given
// up once to make room.
func (j *Journal) flush(sync bool) error {
	if j.f == nil {
		if err := j.openWrite(); err != nil {
			j.lastErr = err
			return fmt.Errorf("%w: %w", ErrNotDurable, err)
		}
	}
	if len(j.backlog) > 0 {
		err := j.write()
		if err != nil && errors.Is(err, syscall.ENOSPC) && j.releaseReserve() {
			err = j.write()
		}
		if err != nil {
			j.lastErr = err
			return fmt.Errorf("%w: %w", ErrNotDurable, err)
		}
		j.unsynced = true
	}
	if sync && j.unsynced {
		if err := j.f.Sync(); err != nil {
			j.lastErr = err
			return fmt.Errorf("%w: sync: %w", ErrNotDurable, err)
		}
		j.unsynced = false
	}
	if j.lastErr != nil {
		j.lastErr = nil
		j.ensureReserve()
	}
	return nil
}

func (j *Journal) write() error {
	n, err := j.f.Write(j.backlog)
	if err == nil {
		j.size += int64(n)
		j.backlog = j.backlog[:0]
		return nil
	}
	if n > 0 {
		// Cut the fragment off: glued to the next record it would make
		// that record unreadable.
		if terr := j.f.Truncate(j.size); terr != nil {
			j.size += int64(n)
			j.backlog = append([]byte{'\n'}, j.backlog...)
		}
	}
	return err
}

// NextSeq is the Seq the next appended record will get.
func (j *Journal) NextSeq() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq + 1
}

// Rotate starts a new journal whose first records are snapshot: the
// current file becomes OldName (replacing the one before) and the new file
// is written, synced and renamed into place before this returns. Records
// waiting in memory follow the snapshot.
func (j *Journal) Rotate(snapshot []Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	buf, err := j.encode(nil, snapshot)
	if err != nil {
		return fmt.Errorf("journal rotate: %w", err)
	}
	tmp := j.path + ".new"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("journal rotate: %w", err)
	}
	_, werr := f.Write(buf)
	if werr == nil {
		werr = f.Sync()
	}
	if werr != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("journal rotate: %w", werr)
	}
	// The old file keeps a second name, then the new one replaces it in
	// one rename: at every moment journal.jsonl is one whole journal.
	old := filepath.Join(j.dir, OldName)
	os.Remove(old)
	os.Link(j.path, old)
	if err := os.Rename(tmp, j.path); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("journal rotate: %w", err)
	}
	if d, err := os.Open(j.dir); err == nil {
		d.Sync()
		d.Close()
	}
	if j.f != nil {
		j.f.Close()
	}
	f.Close()
	j.f = nil
	if err := j.openWrite(); err != nil {
		j.lastErr = err
		return fmt.Errorf("journal rotate: %w", err)
	}
	return j.flush(true)
}

// Close writes what it can and closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return j.lastErr
	}
	ferr := j.flush(true)
	if err := j.f.Close(); err != nil {
		return err
	}
	return ferr
}
