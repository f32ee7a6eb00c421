package journal

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stormguard/stormguard/wire"
)

func TestAppendReopen(t *testing.T) {
	dir := t.TempDir()
	j, recs, _, err := Open(dir)
	if err != nil || len(recs) != 0 {
		t.Fatalf("Open new = %v, %d records", err, len(recs))
	}
	if _, err := j.Append(Record{Kind: KindReceived, Topic: "SHUTDOWN", Payload: "storm $(reboot)"}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(Record{Kind: KindDecision, ID: "txt-1", State: wire.Executing, Ref: 1}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("journal mode = %v, want 0600", fi.Mode().Perm())
	}
	j, recs, skipped, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if len(recs) != 2 || skipped != 0 {
		t.Fatalf("reopened: %d records, %d skipped; want 2, 0", len(recs), skipped)
	}
	if recs[0].Payload != "storm $(reboot)" || recs[1].State != wire.Executing {
		t.Errorf("records = %+v", recs)
	}
	r, _ := j.Append(Record{Kind: KindOutcome})
	if r[0].Seq != 3 {
		t.Errorf("seq after reopen = %d, want 3", r[0].Seq)
	}
}

func TestTornLastLineIsSkippedNotFatal(t *testing.T) {
	dir := t.TempDir()
	j, _, _, _ := Open(dir)
	j.Append(Record{Kind: KindReceived, Payload: "one"})
	j.Close()
	f, _ := os.OpenFile(filepath.Join(dir, FileName), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":2,"kind":"recei`)
	f.Close()
	j, recs, skipped, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if len(recs) != 1 || skipped != 1 {
		t.Errorf("got %d records, %d skipped; want 1, 1", len(recs), skipped)
	}
	j.Append(Record{Kind: KindReceived, Payload: "after the tear"})
	j.Close()
	j, recs, _, _ = Open(dir)
	defer j.Close()
	if len(recs) != 2 || recs[1].Payload != "after the tear" {
		t.Errorf("record appended after a torn line was lost: %+v", recs)
	}
}
