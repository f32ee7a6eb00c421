package journal

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stormguard/stormguard/wire"
)

func open(t *testing.T, dir string) (*Journal, []Record, int) {
	t.Helper()
	var recs []Record
	j, skipped, err := Open(dir, func(r Record) { recs = append(recs, r) })
	if err != nil {
		t.Fatal(err)
	}
	return j, recs, skipped
}

func TestAppendReopen(t *testing.T) {
	dir := t.TempDir()
	j, recs, _ := open(t, dir)
	if len(recs) != 0 {
		t.Fatalf("new journal has %d records", len(recs))
	}
	if _, err := j.Append(false, Record{Kind: KindReceived, Topic: "SHUTDOWN", Payload: "storm $(reboot)"}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(true, Record{Kind: KindDecision, ID: "txt-1", State: wire.Executing, Ref: 1}); err != nil {
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
	j, recs, skipped := open(t, dir)
	defer j.Close()
	if len(recs) != 2 || skipped != 0 {
		t.Fatalf("reopened: %d records, %d skipped; want 2, 0", len(recs), skipped)
	}
	if recs[0].Payload != "storm $(reboot)" || recs[1].State != wire.Executing {
		t.Errorf("records = %+v", recs)
	}
	r, _ := j.Append(true, Record{Kind: KindOutcome})
	if r[0].Seq != 3 {
		t.Errorf("seq after reopen = %d, want 3", r[0].Seq)
	}
}

func TestTornLastLineIsSkippedNotFatal(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := open(t, dir)
	j.Append(true, Record{Kind: KindReceived, Payload: "one"})
	j.Close()
	f, _ := os.OpenFile(filepath.Join(dir, FileName), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":2,"kind":"recei`)
	f.Close()
	j, recs, skipped := open(t, dir)
	if len(recs) != 1 || skipped != 1 {
		t.Errorf("got %d records, %d skipped; want 1, 1", len(recs), skipped)
	}
	j.Append(true, Record{Kind: KindReceived, Payload: "after the tear"})
	j.Close()
	recs, _ = ReadAll(dir)
	if len(recs) != 2 || recs[1].Payload != "after the tear" {
		t.Errorf("record appended after a torn line was lost: %+v", recs)
	}
}

func TestRotateStartsFromTheSnapshot(t *testing.T) {
	dir := t.TempDir()
	j, _, _ := open(t, dir)
	for i := range 100 {
		j.Append(false, Record{Kind: KindReceived, Payload: fmt.Sprintf("junk %d", i)})
	}
	before := j.Size()
	if err := j.Rotate([]Record{{Kind: KindSnapshot, ID: "c-1", State: wire.Done}}); err != nil {
		t.Fatal(err)
	}
	j.Append(true, Record{Kind: KindReceived, Payload: "after"})
	j.Close()
	recs, _ := ReadAll(dir)
	if len(recs) != 2 || recs[0].ID != "c-1" || recs[1].Payload != "after" {
		t.Errorf("after rotation: %+v, want the snapshot then the new record", recs)
	}
	if recs[1].Seq <= 101 {
		t.Errorf("seq went back after rotation: %d", recs[1].Seq)
	}
	old, err := os.Stat(filepath.Join(dir, OldName))
	if err != nil || old.Size() != before {
		t.Errorf("old generation: %v, size %v, want %d", err, old, before)
	}
}

// A tmpfs of a few pages fills up: appends fail without leaving a
// fragment, the reserve gives room for what must be written, the refused
// records wait in memory and reach the file once there is space again.
func TestFullDisk(t *testing.T) {
	dir := smallTmpfs(t, "1m")
	j, _, _ := open(t, filepath.Join(dir, "state"))
	defer j.Close()
	if _, err := os.Stat(filepath.Join(dir, "state", ReserveName)); err != nil {
		t.Fatalf("no reserve: %v", err)
	}
	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	// The first refused write gives up the reserve and goes through.
	if _, err := j.Append(true, Record{Kind: KindStarted, ID: "c-1", Detail: "shutdown -h now"}); err != nil {
		t.Fatalf("append with the reserve to give up: %v", err)
	}
	fill(t, filler+"2")
	big := strings.Repeat("x", 8192)
	var refused int
	for i := range 50 {
		if _, err := j.Append(true, Record{Kind: KindReceived, Payload: fmt.Sprintf("%d %s", i, big)}); err != nil {
			if !errors.Is(err, ErrNotDurable) {
				t.Fatalf("error %v does not wrap ErrNotDurable", err)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("a full disk refused nothing")
	}
	if n, err := j.Pending(); n == 0 || err == nil {
		t.Errorf("Pending = %d, %v; want refused records held in memory and the error", n, err)
	}
	// Every line in the file is whole.
	if _, skipped, err := readFile(j.Path()); err != nil || skipped != 0 {
		t.Errorf("journal after ENOSPC: %d unreadable lines, %v", skipped, err)
	}
	os.Remove(filler)
	os.Remove(filler + "2")
	if err := j.Retry(); err != nil {
		t.Fatalf("retry with space back: %v", err)
	}
	recs, skipped, _ := readFile(j.Path())
	if skipped != 0 || len(recs) != 51 || recs[0].ID != "c-1" || !strings.HasPrefix(recs[50].Payload, "49 ") {
		t.Errorf("after retry: %d records, %d skipped; want all 51 in order", len(recs), skipped)
	}
}

func TestReadOnlyDirectoryStillOpens(t *testing.T) {
	dir := smallTmpfs(t, "1m")
	state := filepath.Join(dir, "state")
	j, _, _ := open(t, state)
	j.Append(true, Record{Kind: KindDecision, ID: "c-1", State: wire.Scheduled})
	j.Close()
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Skipf("remount read-only: %v %s", err, out)
	}
	j, recs, _ := open(t, state)
	defer j.Close()
	if len(recs) != 1 {
		t.Fatalf("read-only journal: %d records, want 1", len(recs))
	}
	if _, err := j.Append(true, Record{Kind: KindStarted, ID: "c-1"}); !errors.Is(err, ErrNotDurable) {
		t.Errorf("append on a read-only disk: %v, want ErrNotDurable", err)
	}
	exec.Command("mount", "-o", "remount,rw", dir).Run()
	if err := j.Retry(); err != nil {
		t.Fatalf("retry after remount rw: %v", err)
	}
	if recs, _ := ReadAll(state); len(recs) != 2 || recs[1].Kind != KindStarted {
		t.Errorf("after the disk came back: %+v", recs)
	}
}

func readFile(path string) ([]Record, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	var out []Record
	skipped, err := readEach(f, func(r Record) { out = append(out, r) })
	return out, skipped, err
}

// smallTmpfs mounts a tmpfs of size for the test (root only; skipped
// elsewhere unless STORMGUARD_REQUIRE_TMPFS is set).
func smallTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("STORMGUARD_REQUIRE_TMPFS") != "" {
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Skipf("mount tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	if f == nil {
		return
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}
