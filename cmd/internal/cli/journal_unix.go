//go:build unix

package cli

import (
	"fmt"
	"os"
	"syscall"
)

// journalStream reports whether f is the stream systemd connected to the
// journal: JOURNAL_STREAM holds its device and inode (systemd.exec(5)).
func journalStream(f *os.File) bool {
	want := os.Getenv("JOURNAL_STREAM")
	if want == "" {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fmt.Sprintf("%d:%d", st.Dev, st.Ino) == want
}
