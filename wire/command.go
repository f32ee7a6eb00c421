package wire

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Version is the JSON command and ack format this package writes.
const Version = 1

// Limits on what a command may carry. A payload over MaxPayload is refused
// before it is parsed.
const (
	MaxPayload = 64 << 10
	MaxReason  = 1024
	MaxID      = 128
	MaxTargets = 1024
)

// Errors a caller may branch on. Every decode error wraps ErrBadCommand.
var (
	ErrBadCommand = errors.New("bad command")
	ErrTooLarge   = fmt.Errorf("%w: payload larger than %d bytes", ErrBadCommand, MaxPayload)
	ErrEmpty      = fmt.Errorf("%w: empty payload on a shutdown or reboot topic", ErrBadCommand)
)

// Command is one request to the fleet. Plain-text payloads decode to a
// Command with Plain set, the text as Reason and an ID derived from the
// topic and text.
type Command struct {
	V        int       `json:"v"`
	ID       string    `json:"id"`
	Action   Action    `json:"action"`
	Reason   string    `json:"reason,omitempty"`
	Issuer   string    `json:"issuer,omitempty"`
	IssuedAt time.Time `json:"issued_at,omitzero"`
	// Deadline, when set, is when the command should take effect; hosts
	// count down to it themselves.
	Deadline time.Time `json:"deadline,omitzero"`
	// Expires, when set, is when an unexecuted command stops being valid.
	Expires time.Time `json:"expires,omitzero"`
	// Targets and Groups narrow a fleet-wide command to some hosts.
	Targets []string `json:"targets,omitempty"`
	Groups  []string `json:"groups,omitempty"`
	// Cancels names the command a cancel is for; empty cancels every pending one.
	Cancels string `json:"cancels,omitempty"`
	// Sig is the base64 Ed25519 signature over SigningBytes.
	Sig string `json:"sig,omitempty"`

	// Plain is true when the payload was plain text, not JSON.
	Plain bool `json:"-"`
}

// Decode parses a payload that arrived on a command topic for action a.
// It never panics, whatever the bytes.
func Decode(a Action, topic string, payload []byte) (Command, error) {
	if len(payload) > MaxPayload {
		return Command{}, ErrTooLarge
	}
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(payload), bom))
	if looksJSON(trimmed) {
		return decodeJSON(a, trimmed)
	}
	return decodePlain(a, topic, trimmed)
}

// bom is the UTF-8 byte order mark some editors and tools put in front.
var bom = []byte("\xef\xbb\xbf")

// looksJSON reports whether a payload (BOM and surrounding space removed)
// is meant as JSON: it opens an object, an array or a string, or it is a
// whole JSON value such as null, 0 or true. Such a payload is a valid JSON
// command or it is rejected; it is never taken for plain text, which would
// turn it into an immediate, fleet-wide command ignoring its targets and
// deadline.
func looksJSON(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	switch b[0] {
	case '{', '[', '"':
		return true
	}
	return json.Valid(b)
}

func decodePlain(a Action, topic string, text []byte) (Command, error) {
	if len(text) == 0 && a != Cancel {
		return Command{}, ErrEmpty
	}
	if !utf8.Valid(text) {
		return Command{}, fmt.Errorf("%w: plain text is not UTF-8", ErrBadCommand)
	}
	reason := string(text)
	if err := checkText("reason", reason, MaxReason); err != nil {
		return Command{}, err
	}
	sum := sha256.Sum256([]byte(topic + "\n" + reason))
	return Command{
		V:      Version,
		ID:     "txt-" + hex.EncodeToString(sum[:8]),
		Action: a,
		Reason: reason,
		Plain:  true,
	}, nil
}

func decodeJSON(a Action, data []byte) (Command, error) {
	if data[0] != '{' {
		return Command{}, fmt.Errorf("%w: JSON payload is not an object", ErrBadCommand)
	}
	if err := uniqueKeys(data); err != nil {
		return Command{}, err
	}
	var c Command
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Command{}, fmt.Errorf("%w: %s", ErrBadCommand, jsonProblem(err))
	}
	if dec.More() {
		return Command{}, fmt.Errorf("%w: data after the JSON object", ErrBadCommand)
	}
	if c.Action == "" {
		c.Action = a
	}
	if c.Action != a {
		return Command{}, fmt.Errorf("%w: action %q sent on the %s topic", ErrBadCommand, c.Action, a.word())
	}
	if err := c.Validate(); err != nil {
		return Command{}, err
	}
	return c, nil
}

// uniqueKeys refuses an object that names a field twice. encoding/json
// would keep the last one silently (and matches names without regard to
// case), so {"deadline":A,"deadline":B} could mean different things to
// different readers.
func uniqueKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil { // the opening brace
		return fmt.Errorf("%w: %s", ErrBadCommand, jsonProblem(err))
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %s", ErrBadCommand, jsonProblem(err))
		}
		key, _ := tok.(string)
		folded := strings.ToLower(key)
		if seen[folded] {
			return fmt.Errorf("%w: field %q appears more than once", ErrBadCommand, key)
		}
		seen[folded] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return fmt.Errorf("%w: %s", ErrBadCommand, jsonProblem(err))
		}
	}
	return nil
}

// jsonProblem turns a decoder error into a short text without echoing the payload.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("field %q has the wrong type (want %s)", te.Field, te.Type)
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return err.Error()
}

// Validate reports the first thing wrong with a JSON command.
func (c Command) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadCommand}, args...)...)
	}
	switch {
	case c.V != Version:
		return bad("version %d, this agent reads version %d", c.V, Version)
	case !c.Action.Valid():
		return bad("unknown action %q", c.Action)
	case c.ID == "":
		return bad("missing id")
	case len(c.ID) > MaxID:
		return bad("id longer than %d bytes", MaxID)
	case c.IssuedAt.IsZero() && !c.Plain:
		return bad("missing issued_at")
	case !c.Deadline.IsZero() && c.Deadline.Before(c.IssuedAt):
		return bad("deadline before issued_at")
	case !c.Expires.IsZero() && c.Expires.Before(c.IssuedAt):
		return bad("expires before issued_at")
	case len(c.Targets)+len(c.Groups) > MaxTargets:
		return bad("more than %d targets and groups", MaxTargets)
	case c.Cancels != "" && c.Action != Cancel:
		return bad("cancels set on a %s command", c.Action)
	}
	for field, id := range map[string]string{"id": c.ID, "cancels": c.Cancels} {
		if len(id) > MaxID {
			return bad("%s longer than %d bytes", field, MaxID)
		}
		for _, r := range id {
			if r <= ' ' || r == 0x7f || r == '/' || r == '+' || r == '#' {
				return bad("%s has %q", field, r)
			}
		}
	}
	if err := checkText("reason", c.Reason, MaxReason); err != nil {
		return err
	}
	if err := checkText("issuer", c.Issuer, 256); err != nil {
		return err
	}
	for _, n := range append(append([]string{}, c.Targets...), c.Groups...) {
		if err := ValidName(n); err != nil {
			return bad("target: %v", err)
		}
	}
	return nil
}

// checkText refuses over-long text and control characters other than tab
// and newline: the reason is shown on terminals and written to journals.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrBadCommand, field, max)
	}
	for _, r := range s {
		if r == utf8.RuneError || (unicode.IsControl(r) && r != '\t' && r != '\n') {
			return fmt.Errorf("%w: %s has control character %U", ErrBadCommand, field, r)
		}
	}
	return nil
}

// Encode returns the JSON payload of c, with V set.
func (c Command) Encode() ([]byte, error) {
	c.V = Version
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return json.Marshal(c)
}

// For reports whether the command applies to host in groups. A command
// with neither Targets nor Groups applies to every host that received it.
func (c Command) For(host string, groups []string) bool {
	if len(c.Targets) == 0 && len(c.Groups) == 0 {
		return true
	}
	for _, t := range c.Targets {
		if t == host {
			return true
		}
	}
	for _, g := range c.Groups {
		for _, mine := range groups {
			if g == mine {
				return true
			}
		}
	}
	return false
}

// encodeAny encodes c without validation (for comparisons in tests and logs).
func (c Command) encodeAny() ([]byte, error) { return json.Marshal(c) }
