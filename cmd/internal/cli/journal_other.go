//go:build !unix

package cli

import "os"

// journalStream is false where there is no systemd journal.
func journalStream(*os.File) bool { return false }
