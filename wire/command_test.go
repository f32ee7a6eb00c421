package wire

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var t0 = time.Date(2026, 7, 15, 19, 56, 0, 0, time.UTC)

// payloads is the one table of raw bytes that drives both directions: each
// valid row decodes to want, and want encodes back to the same bytes when
// canonical is set.
var payloads = []struct {
	name      string
	action    Action
	topic     string
	raw       string
	want      Command
	canonical bool   // want.Encode() must reproduce raw exactly
	wantErr   string // substring of the error; empty for a valid payload
}{
	{
		name: "plain text is the reason", action: Shutdown, topic: "SHUTDOWN",
		raw:  "storm coming, back at 21:00",
		want: Command{V: 1, ID: "txt-", Action: Shutdown, Reason: "storm coming, back at 21:00", Plain: true},
	},
	{
		name: "shell metacharacters stay text", action: Reboot, topic: "REBOOT/nas",
		raw:  "$(rm -rf /); `reboot` && echo pwned | sh",
		want: Command{V: 1, ID: "txt-", Action: Reboot, Reason: "$(rm -rf /); `reboot` && echo pwned | sh", Plain: true},
	},
	{
		name: "empty cancel cancels all", action: Cancel, topic: "CANCEL",
		raw:  "",
		want: Command{V: 1, ID: "txt-", Action: Cancel, Plain: true},
	},
	{
		name: "full JSON command", action: Shutdown, topic: "SHUTDOWN", canonical: true,
		raw: `{"v":1,"id":"c-1","action":"shutdown","reason":"lightning 9.2 km WNW","issuer":"stormguard@hub","issued_at":"2026-07-15T19:56:00Z","deadline":"2026-07-15T20:01:00Z","expires":"2026-07-15T20:11:00Z","targets":["nas","pi3"],"groups":["office"]}`,
		want: Command{V: 1, ID: "c-1", Action: Shutdown, Reason: "lightning 9.2 km WNW", Issuer: "stormguard@hub",
			IssuedAt: t0, Deadline: t0.Add(5 * time.Minute), Expires: t0.Add(15 * time.Minute),
			Targets: []string{"nas", "pi3"}, Groups: []string{"office"}},
	},
	{
		name: "JSON cancel naming a command", action: Cancel, topic: "CANCEL", canonical: true,
		raw:  `{"v":1,"id":"x-2","action":"cancel","reason":"false alarm","issued_at":"2026-07-15T19:56:00Z","cancels":"c-1"}`,
		want: Command{V: 1, ID: "x-2", Action: Cancel, Reason: "false alarm", IssuedAt: t0, Cancels: "c-1"},
	},
	{
		name: "action taken from the topic", action: Reboot, topic: "REBOOT",
		raw:  `{"v":1,"id":"r-1","issued_at":"2026-07-15T19:56:00Z"}`,
		want: Command{V: 1, ID: "r-1", Action: Reboot, IssuedAt: t0},
	},
	{name: "empty shutdown is refused", action: Shutdown, topic: "SHUTDOWN", raw: "", wantErr: "empty payload"},
	{name: "white space only is empty", action: Shutdown, topic: "SHUTDOWN", raw: " \n\t", wantErr: "empty payload"},
	{name: "garbage bytes", action: Shutdown, topic: "SHUTDOWN", raw: "\xff\xfe\x00\x01", wantErr: "not UTF-8"},
	{name: "control characters", action: Shutdown, topic: "SHUTDOWN", raw: "storm\x1b[2J", wantErr: "control character"},
	{name: "truncated JSON", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":1,"id":"c-1","act`, wantErr: "truncated JSON"},
	{name: "unknown field", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":1,"id":"c","issued_at":"2026-07-15T19:56:00Z","cmd":"rm"}`, wantErr: `unknown field "cmd"`},
	{name: "wrong type", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":1,"id":7,"issued_at":"2026-07-15T19:56:00Z"}`, wantErr: `field "id" has the wrong type`},
	{name: "wrong version", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":2,"id":"c","issued_at":"2026-07-15T19:56:00Z"}`, wantErr: "version 2"},
	{name: "missing id", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":1,"issued_at":"2026-07-15T19:56:00Z"}`, wantErr: "missing id"},
	{name: "missing issued_at", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":1,"id":"c"}`, wantErr: "missing issued_at"},
	{name: "action does not match topic", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":1,"id":"c","action":"reboot","issued_at":"2026-07-15T19:56:00Z"}`, wantErr: "sent on the SHUTDOWN topic"},
	{name: "unknown action", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":1,"id":"c","action":"format","issued_at":"2026-07-15T19:56:00Z"}`, wantErr: `sent on the SHUTDOWN topic`},
	{name: "deadline before issue", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":1,"id":"c","issued_at":"2026-07-15T19:56:00Z","deadline":"2026-07-15T19:00:00Z"}`, wantErr: "deadline before"},
	{name: "bad target name", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":1,"id":"c","issued_at":"2026-07-15T19:56:00Z","targets":["a/b"]}`, wantErr: "target"},
	{name: "trailing data", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":1,"id":"c","issued_at":"2026-07-15T19:56:00Z"} {}`, wantErr: "data after"},
	{name: "cancels with a space", action: Cancel, topic: "CANCEL", raw: `{"v":1,"id":"x","issued_at":"2026-07-15T19:56:00Z","cancels":"a b"}`, wantErr: "cancels has"},
	{name: "id with slash", action: Shutdown, topic: "SHUTDOWN", raw: `{"v":1,"id":"a/b","issued_at":"2026-07-15T19:56:00Z"}`, wantErr: "id has"},
	{name: "huge payload", action: Shutdown, topic: "SHUTDOWN", raw: strings.Repeat("x", MaxPayload+1), wantErr: "larger than"},
	{name: "long reason", action: Shutdown, topic: "SHUTDOWN", raw: strings.Repeat("x", MaxReason+1), wantErr: "reason longer"},
}

func TestDecodeTable(t *testing.T) {
	for _, tc := range payloads {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decode(tc.action, tc.topic, []byte(tc.raw))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Decode(%.40q) error = %v, want it to contain %q", tc.raw, err, tc.wantErr)
				}
				if !errors.Is(err, ErrBadCommand) {
					t.Errorf("error %v does not wrap ErrBadCommand", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode(%q): %v", tc.raw, err)
			}
			if tc.want.Plain {
				if !strings.HasPrefix(got.ID, "txt-") || len(got.ID) != 20 {
					t.Errorf("plain-text id = %q, want txt- and 16 hex digits", got.ID)
				}
				tc.want.ID = got.ID
			}
			if !equalCommand(got, tc.want) {
				t.Errorf("Decode = %+v\nwant     %+v", got, tc.want)
			}
			if tc.canonical {
				enc, err := tc.want.Encode()
				if err != nil {
					t.Fatal(err)
				}
				if string(enc) != tc.raw {
					t.Errorf("Encode = %s\nwant     %s", enc, tc.raw)
				}
			}
		})
	}
}

func equalCommand(a, b Command) bool {
	ea, _ := a.encodeAny()
	eb, _ := b.encodeAny()
	return bytes.Equal(ea, eb) && a.Plain == b.Plain
}

func TestPlainTextIDIsStablePerTopicAndText(t *testing.T) {
	a, _ := Decode(Shutdown, "SHUTDOWN", []byte("storm"))
	b, _ := Decode(Shutdown, "SHUTDOWN", []byte("storm\n"))
	c, _ := Decode(Shutdown, "SHUTDOWN/nas", []byte("storm"))
	d, _ := Decode(Shutdown, "SHUTDOWN", []byte("storm again"))
	if a.ID != b.ID {
		t.Errorf("the same text gave ids %q and %q; a redelivery must be recognised", a.ID, b.ID)
	}
	if a.ID == c.ID || a.ID == d.ID {
		t.Errorf("different topic or text gave the same id %q", a.ID)
	}
}

func TestGoldenEncode(t *testing.T) {
	cmd := Command{ID: "c-1", Action: Shutdown, Reason: "lightning 9.2 km WNW at 19:58Z (blitzortung)",
		Issuer: "stormguard@hub", IssuedAt: t0, Deadline: t0.Add(5 * time.Minute)}
	ack := Ack{ID: "c-1", Host: "nas", Action: Shutdown, State: Scheduled, At: t0.Add(40 * time.Millisecond),
		Deadline: t0.Add(5 * time.Minute), Detail: "powering off at 20:01:00Z"}
	state := HostState{Host: "nas", Groups: []string{"office"}, At: t0, Online: true,
		Pending: []Pending{{ID: "c-1", Action: Shutdown, Reason: "storm", Deadline: t0.Add(5 * time.Minute)}}}
	for name, enc := range map[string]func() ([]byte, error){
		"command.json": cmd.Encode, "ack.json": ack.Encode, "hoststate.json": state.Encode,
	} {
		got, err := enc()
		if err != nil {
			t.Fatal(err)
		}
		golden(t, name, got)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./wire -update)", err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Errorf("%s:\n got %s\nwant %s", name, got, want)
	}
}

func TestAckRoundTrip(t *testing.T) {
	a := Ack{ID: "c-1", Host: "pi3", Action: Reboot, State: Done, At: t0}
	b, err := a.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeAck(b)
	if err != nil {
		t.Fatal(err)
	}
	a.V = Version
	if got.ID != a.ID || got.Host != a.Host || got.State != a.State || !got.At.Equal(a.At) {
		t.Errorf("round trip = %+v, want %+v", got, a)
	}
	for _, bad := range []string{`{"id":"c","host":"h","state":"exploded"}`, `{"id":"c","host":"a/b","state":"done"}`, `{"id":`, `[]`} {
		if _, err := DecodeAck([]byte(bad)); err == nil {
			t.Errorf("DecodeAck(%s) accepted", bad)
		}
	}
}

func TestSignVerify(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	c := Command{V: 1, ID: "s-1", Action: Shutdown, Reason: "storm", IssuedAt: t0, Deadline: t0.Add(time.Minute)}
	c.Sign(priv)
	raw, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(Shutdown, "SHUTDOWN", raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Verify([]ed25519.PublicKey{otherPub, pub}); err != nil {
		t.Errorf("signed command: %v", err)
	}
	if err := got.Verify([]ed25519.PublicKey{otherPub}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong key: %v, want ErrBadSignature", err)
	}
	tampered := got
	tampered.Deadline = t0.Add(2 * time.Minute)
	if err := tampered.Verify([]ed25519.PublicKey{pub}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered deadline: %v, want ErrBadSignature", err)
	}
	tampered = got
	tampered.Reason = "storm\n"
	if err := tampered.Verify([]ed25519.PublicKey{pub}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered reason: %v, want ErrBadSignature", err)
	}
	plain, _ := Decode(Shutdown, "SHUTDOWN", []byte("storm"))
	if err := plain.Verify([]ed25519.PublicKey{pub}); !errors.Is(err, ErrUnsigned) {
		t.Errorf("plain text: %v, want ErrUnsigned", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, tc := range payloads {
		f.Add(string(tc.action), tc.raw)
	}
	f.Fuzz(func(t *testing.T, action, raw string) {
		a := Action(action)
		c, err := Decode(a, "SHUTDOWN", []byte(raw))
		if err != nil {
			if !errors.Is(err, ErrBadCommand) {
				t.Fatalf("error %v does not wrap ErrBadCommand", err)
			}
			return
		}
		if c.ID == "" || c.Action != a {
			t.Fatalf("accepted command without id or with action %q on %q", c.Action, a)
		}
		if !c.Plain {
			if _, err := c.Encode(); err != nil {
				t.Fatalf("decoded command does not encode: %v", err)
			}
		}
	})
}

func TestJSONShapedPayloadsAreNeverPlainText(t *testing.T) {
	for _, raw := range []string{
		"\xef\xbb\xbf" + `{"v":1,"id":"c-1","issued_at":"2026-07-15T19:56:00Z","deadline":"2026-07-15T20:01:00Z","targets":["nas"]}`,
		`[{"v":1,"id":"c-1","issued_at":"2026-07-15T19:56:00Z"}]`,
		"null", "0", "true", "false", `"text"`, " \t-1.5e3\n", "\xef\xbb\xbf null",
		`{"v":1,"id":"c-1","issued_at":"2026-07-15T19:56:00Z","deadline":"2026-07-15T20:01:00Z","deadline":"2026-07-15T19:56:00Z"}`,
		`{"v":1,"id":"c-1","ID":"c-2","issued_at":"2026-07-15T19:56:00Z"}`,
	} {
		c, err := Decode(Shutdown, "SHUTDOWN", []byte(raw))
		if strings.HasPrefix(raw, "\xef\xbb\xbf{") {
			// A BOM in front of a valid object is still that object.
			if err != nil || c.Plain || len(c.Targets) != 1 || c.Deadline.IsZero() {
				t.Errorf("BOM + object: got %+v, %v; want the JSON command with its target and deadline", c, err)
			}
			continue
		}
		if err == nil || c.Plain {
			t.Errorf("Decode(%q) = %+v, %v; want a rejection, never plain text", raw, c, err)
		}
	}
	// Words that merely start like a JSON literal stay plain text.
	for _, raw := range []string{"thunder near", "now", "5 minutes", "false alarm", "-3 C and storm"} {
		c, err := Decode(Shutdown, "SHUTDOWN", []byte(raw))
		if err != nil || !c.Plain || c.Reason != raw {
			t.Errorf("Decode(%q) = %+v, %v; want plain text", raw, c, err)
		}
	}
}

func TestOneLineMakesTricksVisible(t *testing.T) {
	for in, want := range map[string]string{
		"storm": "storm",
		"storm\nthe shutdown planned for 23:59 is CANCELLED": "storm⏎the shutdown planned for 23:59 is CANCELLED",
		"a\u202Eevil\u202C b":                                "a<U+202E>evil<U+202C> b",
		"zero\u200Bwidth\uFEFF":                              "zero<U+200B>width<U+FEFF>",
		"tab\there\r\n":                                      "tab here⏎",
		"isolate\u2066x\u2069":                               "isolate<U+2066>x<U+2069>",
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
