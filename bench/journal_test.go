package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkStartLargeJournal starts the agent on a journal of
// BENCH_JOURNAL_MB (default 185) of rejected junk, as an old, unbounded
// journal would be, and reports the agent's peak resident memory once it
// has started (peak-MB) and the journal's size after it (journal-MB): the
// journal is read as a stream and rotated at once.
func BenchmarkStartLargeJournal(b *testing.B) {
	mb := 185
	if s := os.Getenv("BENCH_JOURNAL_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	bin := buildAgent(b)
	for b.Loop() {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "state")
		writeJunkJournal(b, dir, int64(mb)<<20)
		b.StartTimer()
		cmd := exec.Command(bin, "-host", "127.0.0.1", "-port", "1", "-name", "mem", "-state-dir", dir, "-dry-run")
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		for sc.Scan() && !strings.Contains(sc.Text(), "agent started") {
		}
		b.StopTimer()
		b.ReportMetric(vmField(b, cmd.Process.Pid, "VmHWM:"), "peak-MB")
		cmd.Process.Kill()
		cmd.Wait()
		fi, _ := os.Stat(filepath.Join(dir, "journal.jsonl"))
		b.ReportMetric(float64(fi.Size())/(1<<20), "journal-MB")
		b.StartTimer()
	}
}

func writeJunkJournal(b *testing.B, dir string, size int64) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	junk := strings.Repeat("x", 300)
	var written int64
	for seq := 1; written < size; seq += 2 {
		n, _ := fmt.Fprintf(w, `{"seq":%d,"at":"2026-11-01T00:00:00Z","kind":"received","topic":"SHUTDOWN","payload":%q}`+"\n", seq, junk)
		m, _ := fmt.Fprintf(w, `{"seq":%d,"at":"2026-11-01T00:00:00Z","kind":"decision","state":"rejected","detail":"bad command","ref":%d}`+"\n", seq+1, seq)
		written += int64(n + m)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// vmField reads a memory figure (VmRSS:, VmHWM:) of a process, in MiB.
func vmField(b testing.TB, pid int, field string) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	b.Fatalf("no %s", field)
	return 0
}
