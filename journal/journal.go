// Package journal is a host's append-only record of every command message
// it received and every decision and outcome, as JSON lines in one file
// (mode 0600). Each append is fsync'd before it returns, so a record
// written before the power command starts survives the power-off.
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
	"time"

	"github.com/stormguard/stormguard/wire"
)

// FileName is the journal's name inside the state directory.
const FileName = "journal.jsonl"

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
)

// Record is one line of the journal.
type Record struct {
	Seq  int64     `json:"seq"`
	At   time.Time `json:"at"`
	Kind Kind      `json:"kind"`
	// ID is the command id (derived from the text for plain-text commands).
	ID     string      `json:"id,omitempty"`
	Action wire.Action `json:"action,omitempty"`
	// Received fields: the message exactly as it came (Payload is the text;
	// bytes that are not UTF-8 are kept in PayloadRaw).
	Topic      string `json:"topic,omitempty"`
	Payload    string `json:"payload,omitempty"`
	PayloadRaw []byte `json:"payload_raw,omitempty"`
	Retained   bool   `json:"retained,omitempty"`
	Duplicate  bool   `json:"dup,omitempty"`
	// Decision and outcome fields.
	State    wire.AckState `json:"state,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Detail   string        `json:"detail,omitempty"`
	Deadline time.Time     `json:"deadline,omitzero"`
	// Ref is the Seq of the received record a decision is about.
	Ref int64 `json:"ref,omitempty"`
}

// Journal appends records to a file.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	path string
	seq  int64
}

// Open opens (or creates) the journal in dir and returns it with every
// record already in it. A last line cut short by a crash is skipped and
// reported in skipped; the file is never rewritten.
func Open(dir string) (j *Journal, records []Record, skipped int, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, 0, fmt.Errorf("open journal: %w", err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("open journal: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, nil, 0, fmt.Errorf("open journal: %w", err)
	}
	records, skipped, err = read(f)
	if err != nil {
		f.Close()
		return nil, nil, 0, fmt.Errorf("read journal %s: %w", path, err)
	}
	// A torn last line must not swallow the next record: end it first.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			if _, err := f.Write([]byte{'\n'}); err != nil {
				f.Close()
				return nil, nil, 0, fmt.Errorf("open journal: %w", err)
			}
		}
	}
	j = &Journal{f: f, path: path}
	for _, r := range records {
		j.seq = max(j.seq, r.Seq)
	}
	return j, records, skipped, nil
}

func read(r io.Reader) ([]Record, int, error) {
	var out []Record
	skipped := 0
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var rec Record
			if jerr := json.Unmarshal(line, &rec); jerr != nil {
				skipped++
			} else {
				out = append(out, rec)
			}
		}
		if errors.Is(err, io.EOF) {
			return out, skipped, nil
		}
		if err != nil {
			return nil, 0, err
		}
	}
}

// Path is the journal file's path.
func (j *Journal) Path() string { return j.path }

// Append writes the records in one write (setting each Seq, and At when
// zero), then fsyncs the file once: a received message and the decision
// about it reach the disk together.
func (j *Journal) Append(rs ...Record) ([]Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var buf []byte
	for i := range rs {
		j.seq++
		rs[i].Seq = j.seq
		if rs[i].At.IsZero() {
			rs[i].At = time.Now().UTC()
		}
		b, err := json.Marshal(rs[i])
		if err != nil {
			return rs, fmt.Errorf("journal append: %w", err)
		}
		buf = append(append(buf, b...), '\n')
	}
	if _, err := j.f.Write(buf); err != nil {
		return rs, fmt.Errorf("journal append: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return rs, fmt.Errorf("journal sync: %w", err)
	}
	return rs, nil
}

// NextSeq is the Seq the next appended record will get.
func (j *Journal) NextSeq() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seq + 1
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }
