package wire

import (
	"fmt"
	"strings"
	"unicode"
)

// OneLine renders a reason for a terminal or a log on one line, with
// everything that could make it lie made visible instead of obeyed: a line
// break becomes "⏎" (so a reason cannot print a second, forged line such as
// "the shutdown is CANCELLED" under a warning), a tab a space, and
// bidirectional overrides, zero-width and other invisible format
// characters become <U+XXXX>. The journal keeps the text as it came.
func OneLine(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString("⏎")
		case r == '\r':
		case r == '\t':
			b.WriteByte(' ')
		case invisible(r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsEscape(s string) bool {
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' || invisible(r) {
			return true
		}
	}
	return false
}

// invisible reports format and control characters: the bidirectional
// embeddings, overrides and isolates (U+202A-202E, U+2066-2069), the marks
// (U+200E, U+200F, U+061C), zero-width characters (U+200B-200D, U+2060,
// U+FEFF), and the line and paragraph separators.
func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}
