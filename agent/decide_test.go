package agent

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/journal"
	"github.com/stormguard/stormguard/wire"
)

var now0 = time.Date(2026, 7, 15, 19, 56, 0, 0, time.UTC)

func jsonCmd(t *testing.T, c wire.Command) []byte {
	t.Helper()
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecide(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	p := Policy{Host: "nas", Groups: []string{"office"}, MaxAge: 5 * time.Minute}
	signed := wire.Command{V: 1, ID: "s-1", Action: wire.Shutdown, IssuedAt: now0}
	signed.Sign(priv)
	tests := []struct {
		name   string
		policy Policy
		in     Incoming
		state  wire.AckState
		run    bool
		armed  bool
		detail string
	}{
		{name: "plain text runs now", in: Incoming{Topic: "SHUTDOWN", Payload: []byte("storm")}, state: wire.Executing, run: true},
		{name: "retained is never obeyed", in: Incoming{Topic: "REBOOT", Payload: []byte("kernel"), Retained: true}, state: wire.Rejected, detail: "retained"},
		{name: "other host's topic ignored", in: Incoming{Topic: "SHUTDOWN/pi3", Payload: []byte("x")}, state: ""},
		{name: "my group", in: Incoming{Topic: "SHUTDOWN/group/office", Payload: []byte("x")}, state: wire.Executing, run: true},
		{name: "other group ignored", in: Incoming{Topic: "SHUTDOWN/group/lab", Payload: []byte("x")}, state: ""},
		{name: "targets exclude me", in: Incoming{Topic: "SHUTDOWN", Payload: jsonCmd(t, wire.Command{ID: "c", Action: wire.Shutdown, IssuedAt: now0, Targets: []string{"pi3"}})}, state: ""},
		{name: "deadline arms a countdown", in: Incoming{Topic: "SHUTDOWN", Payload: jsonCmd(t, wire.Command{ID: "c", Action: wire.Shutdown, IssuedAt: now0, Deadline: now0.Add(5 * time.Minute)})}, state: wire.Scheduled, armed: true},
		{name: "queued past max-age: too old is expired", in: Incoming{Topic: "SHUTDOWN", Queued: true, Away: time.Hour, Payload: jsonCmd(t, wire.Command{ID: "c", Action: wire.Shutdown, IssuedAt: now0.Add(-6 * time.Minute)})}, state: wire.Expired},
		{name: "queued past max-age: old issue but deadline recent runs", in: Incoming{Topic: "SHUTDOWN", Queued: true, Away: time.Hour, Payload: jsonCmd(t, wire.Command{ID: "c", Action: wire.Shutdown, IssuedAt: now0.Add(-8 * time.Minute), Deadline: now0.Add(-2 * time.Minute)})}, state: wire.Executing, run: true},
		{name: "queued past max-age: issued in the future cannot be aged", in: Incoming{Topic: "SHUTDOWN", Queued: true, Away: time.Hour, Payload: jsonCmd(t, wire.Command{ID: "c", Action: wire.Shutdown, IssuedAt: now0.Add(time.Hour)})}, state: wire.Expired, detail: "future"},
		{name: "queued briefly: old timestamps are the sender's clock", in: Incoming{Topic: "SHUTDOWN", Queued: true, Away: time.Minute, Payload: jsonCmd(t, wire.Command{ID: "c", Action: wire.Shutdown, IssuedAt: now0.Add(-time.Hour)})}, state: wire.Executing, run: true, detail: "clocks disagree"},
		{name: "past expires, clocks agree", in: Incoming{Topic: "SHUTDOWN", Payload: jsonCmd(t, wire.Command{ID: "c", Action: wire.Shutdown, IssuedAt: now0.Add(-20 * time.Second), Expires: now0.Add(-time.Second)})}, state: wire.Expired},
		{name: "live, host an hour ahead: grace counted from arrival", in: Incoming{Topic: "SHUTDOWN", Payload: jsonCmd(t, wire.Command{ID: "c", Action: wire.Shutdown, IssuedAt: now0.Add(-time.Hour), Deadline: now0.Add(-time.Hour + 5*time.Minute), Expires: now0.Add(-time.Hour + 15*time.Minute)})},
			state: wire.Scheduled, armed: true, detail: "this host is 1h0m0s ahead of the sender"},
		{name: "live, host an hour behind: grace counted from arrival", in: Incoming{Topic: "SHUTDOWN", Payload: jsonCmd(t, wire.Command{ID: "c", Action: wire.Shutdown, IssuedAt: now0.Add(time.Hour), Deadline: now0.Add(time.Hour + 5*time.Minute)})},
			state: wire.Scheduled, armed: true, detail: "this host is 1h0m0s behind the sender"},
		{name: "plain text queued past max-age expires", in: Incoming{Topic: "SHUTDOWN", Queued: true, Away: 3 * 24 * time.Hour, Payload: []byte("storm")}, state: wire.Expired, detail: "away 72h0m0s"},
		{name: "plain text queued for an unknown time expires", in: Incoming{Topic: "SHUTDOWN", Queued: true, Away: -1, Payload: []byte("storm")}, state: wire.Expired, detail: "unknown"},
		{name: "plain text queued briefly runs", in: Incoming{Topic: "SHUTDOWN", Queued: true, Away: 2 * time.Minute, Payload: []byte("storm")}, state: wire.Executing, run: true},
		{name: "JSON-shaped non-object rejected, not plain", in: Incoming{Topic: "SHUTDOWN", Payload: []byte("null")}, state: wire.Rejected, detail: "not an object"},
		{name: "garbage rejected", in: Incoming{Topic: "SHUTDOWN", Payload: []byte{0xff, 0x00}}, state: wire.Rejected},
		{name: "huge rejected", in: Incoming{Topic: "SHUTDOWN", Payload: []byte(strings.Repeat("a", 1<<20))}, state: wire.Rejected, detail: "larger"},
		{name: "unsigned rejected when required", policy: Policy{Host: "nas", MaxAge: time.Minute, Keys: []ed25519.PublicKey{pub}, RequireSigned: true},
			in: Incoming{Topic: "SHUTDOWN", Payload: []byte("storm")}, state: wire.Rejected, detail: "not signed"},
		{name: "signed accepted", policy: Policy{Host: "nas", MaxAge: time.Minute, Keys: []ed25519.PublicKey{pub}, RequireSigned: true},
			in: Incoming{Topic: "SHUTDOWN", Payload: jsonCmd(t, signed)}, state: wire.Executing, run: true},
		{name: "bad signature rejected even when not required", policy: Policy{Host: "nas", MaxAge: time.Minute, Keys: []ed25519.PublicKey{pub}},
			in: Incoming{Topic: "SHUTDOWN", Payload: []byte(strings.Replace(string(jsonCmd(t, signed)), `"s-1"`, `"s-2"`, 1))}, state: wire.Rejected, detail: "signature"},
		{name: "cancel with nothing pending", in: Incoming{Topic: "CANCEL", Payload: nil}, state: wire.Done, detail: "nothing pending"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol := p
			if tc.policy.Host != "" {
				pol = tc.policy
			}
			d := pol.Decide(NewBook(), tc.in, now0)
			if d.State != tc.state || d.Run != tc.run || (d.Arm != nil) != tc.armed {
				t.Fatalf("Decide = state %q run %v arm %v (%s); want %q run %v arm %v", d.State, d.Run, d.Arm != nil, d.Detail, tc.state, tc.run, tc.armed)
			}
			if d.Arm != nil && !d.Arm.Deadline.Equal(now0.Add(5*time.Minute)) {
				t.Errorf("countdown deadline %s, want arrival + 5m grace %s", d.Arm.Deadline, now0.Add(5*time.Minute))
			}
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail %q does not mention %q", d.Detail, tc.detail)
			}
		})
	}
}

func TestOnceAndCancel(t *testing.T) {
	p := Policy{Host: "nas", MaxAge: 5 * time.Minute}
	b := NewBook()
	step := func(in Incoming, at time.Time) Decision {
		d := p.Decide(b, in, at)
		b.Apply(d, at)
		return d
	}
	storm := Incoming{Topic: "SHUTDOWN", Payload: []byte("storm")}
	if d := step(storm, now0); !d.Run {
		t.Fatalf("first storm: %+v", d)
	}
	if d := step(Incoming{Topic: "SHUTDOWN", Payload: []byte("storm"), Duplicate: true}, now0.Add(time.Second)); d.State != wire.Duplicate {
		t.Errorf("QoS redelivery: state %q, want duplicate", d.State)
	}
	if d := step(storm, now0.Add(10*time.Minute)); !d.Run {
		t.Errorf("same text after max-age: %q, want it obeyed again", d.State)
	}

	cmd := wire.Command{ID: "c-9", Action: wire.Reboot, IssuedAt: now0, Deadline: now0.Add(time.Minute)}
	in := Incoming{Topic: "REBOOT", Payload: jsonCmd(t, cmd)}
	if d := step(in, now0); d.State != wire.Scheduled {
		t.Fatalf("countdown: %q", d.State)
	}
	if d := step(in, now0.Add(time.Second)); d.State != wire.Duplicate {
		t.Errorf("replayed JSON command: %q, want duplicate", d.State)
	}
	cancel := wire.Command{ID: "x-1", Action: wire.Cancel, IssuedAt: now0, Cancels: "c-9"}
	d := step(Incoming{Topic: "CANCEL", Payload: jsonCmd(t, cancel)}, now0.Add(2*time.Second))
	if d.State != wire.Cancelled || len(d.Disarmed) != 1 || d.Disarmed[0].ID != "c-9" {
		t.Fatalf("cancel: %+v", d)
	}
	if len(b.Pending()) != 0 {
		t.Errorf("pending after cancel: %v", b.Pending())
	}
	if d := step(in, now0.Add(3*time.Second)); d.State != wire.Duplicate {
		t.Errorf("cancelled command replayed: %q, want duplicate (a replay must not re-arm it)", d.State)
	}
}

func TestDueAfterSleep(t *testing.T) {
	p := Policy{Host: "nas", MaxAge: time.Minute}
	pend := wire.Pending{ID: "c", Action: wire.Shutdown, Deadline: now0}
	if d := p.Due(pend, now0.Add(30*time.Second)); !d.Run {
		t.Errorf("30s after deadline: %q, want run", d.State)
	}
	if d := p.Due(pend, now0.Add(2*time.Minute)); d.Run || d.State != wire.Expired {
		t.Errorf("2m after deadline with max-age 1m: %q run=%v, want expired", d.State, d.Run)
	}
}

func TestReplayRebuildsBook(t *testing.T) {
	recs := []journal.Record{
		{Seq: 1, Kind: journal.KindReceived, Topic: "SHUTDOWN", Payload: "x"},
		{Seq: 2, Kind: journal.KindDecision, Ref: 1, ID: "c-1", Action: wire.Shutdown, State: wire.Scheduled, Deadline: now0, Reason: "storm", At: now0.Add(-time.Minute)},
		{Seq: 3, Kind: journal.KindReceived, Topic: "REBOOT", Payload: "y"},
		{Seq: 4, Kind: journal.KindDecision, Ref: 3, ID: "c-2", Action: wire.Reboot, State: wire.Scheduled, Deadline: now0},
		{Seq: 5, Kind: journal.KindDecision, Ref: 3, ID: "c-2", Action: wire.Reboot, State: wire.Cancelled},
		{Seq: 6, Kind: journal.KindReceived, Topic: "SHUTDOWN", Payload: "never decided"},
	}
	b, undecided, _ := Replay(recs)
	pend := b.Pending()
	if len(pend) != 1 || pend[0].ID != "c-1" || pend[0].Reason != "storm" || !pend[0].Deadline.Equal(now0) {
		t.Errorf("pending after replay = %+v, want c-1 only", pend)
	}
	if len(undecided) != 1 || undecided[0].Payload != "never decided" {
		t.Errorf("undecided = %+v", undecided)
	}
}

func TestReplayRunsAnExecutingCommandThatNeverStarted(t *testing.T) {
	recs := []journal.Record{
		{Seq: 1, Kind: journal.KindReceived, Topic: "SHUTDOWN", Payload: "a"},
		{Seq: 2, Kind: journal.KindDecision, Ref: 1, ID: "c-a", Action: wire.Shutdown, State: wire.Executing, At: now0},
		{Seq: 3, Kind: journal.KindReceived, Topic: "REBOOT", Payload: "b"},
		{Seq: 4, Kind: journal.KindDecision, Ref: 3, ID: "c-b", Action: wire.Reboot, State: wire.Executing, At: now0},
		{Seq: 5, Kind: journal.KindStarted, ID: "c-b", Action: wire.Reboot, At: now0},
	}
	b, _, interrupted := Replay(recs)
	pend := b.Pending()
	if len(pend) != 1 || pend[0].ID != "c-a" || !pend[0].Deadline.Equal(now0) {
		t.Fatalf("pending = %+v; want c-a (decided, never started) and not c-b (started)", pend)
	}
	if len(interrupted) != 1 || interrupted[0].ID != "c-b" {
		t.Errorf("interrupted = %+v, want c-b (started, no outcome)", interrupted)
	}
	p := Policy{Host: "nas", MaxAge: time.Minute}
	if d := p.Due(pend[0], now0.Add(30*time.Second)); !d.Run {
		t.Errorf("within max-age: %q, want run", d.State)
	}
	if d := p.Due(pend[0], now0.Add(2*time.Minute)); d.State != wire.Expired {
		t.Errorf("past max-age: %q, want expired", d.State)
	}
}

// A cancel is never a duplicate: a double-click on a dashboard's cancel
// button must not disable the next cancel.
func TestEveryCancelApplies(t *testing.T) {
	p := Policy{Host: "nas", MaxAge: 5 * time.Minute}
	b := NewBook()
	step := func(in Incoming, at time.Time) Decision {
		d := p.Decide(b, in, at)
		b.Apply(d, at)
		return d
	}
	for _, words := range []string{"false alarm", ""} {
		cancel := Incoming{Topic: "CANCEL", Payload: []byte(words)}
		if d := step(cancel, now0); d.State != wire.Done {
			t.Fatalf("cancel %q with nothing pending: %q", words, d.State)
		}
		if d := step(cancel, now0.Add(time.Second)); d.State != wire.Done {
			t.Errorf("second cancel %q: %q, want done (nothing pending), never duplicate", words, d.State)
		}
		arm := wire.Command{ID: fmt.Sprintf("c-%d", len(words)), Action: wire.Shutdown, IssuedAt: now0.Add(2 * time.Second), Deadline: now0.Add(5 * time.Minute)}
		if d := step(Incoming{Topic: "SHUTDOWN", Payload: jsonCmd(t, arm)}, now0.Add(2*time.Second)); d.State != wire.Scheduled {
			t.Fatalf("countdown: %q", d.State)
		}
		if d := step(cancel, now0.Add(3*time.Second)); d.State != wire.Cancelled || len(d.Disarmed) != 1 {
			t.Errorf("third cancel %q during a countdown: %q, disarmed %d; want it called off", words, d.State, len(d.Disarmed))
		}
	}
}

// A captured signed command replayed later is refused by the sender's own
// clock (the newest issue time seen from its key), whatever this host's
// clock says.
func TestSignedReplayJudgedBySendersClock(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	p := Policy{Host: "nas", MaxAge: 5 * time.Minute, Keys: []ed25519.PublicKey{pub}, RequireSigned: true}
	b := NewBook()
	sign := func(id string, issued time.Time) Incoming {
		c := wire.Command{V: 1, ID: id, Action: wire.Shutdown, IssuedAt: issued, Deadline: issued.Add(5 * time.Minute)}
		c.Sign(priv)
		return Incoming{Topic: "SHUTDOWN", Payload: jsonCmd(t, c)}
	}
	// The sender's clock is a day behind this host's: still obeyed.
	d := p.Decide(b, sign("s-new", now0.Add(-24*time.Hour)), now0)
	b.Apply(d, now0)
	if d.State != wire.Scheduled {
		t.Fatalf("live signed command from a sender a day behind: %q (%s)", d.State, d.Detail)
	}
	old := p.Decide(b, sign("s-captured", now0.Add(-24*time.Hour-time.Hour)), now0.Add(time.Minute))
	if old.State != wire.Expired || !strings.Contains(old.Detail, "replay") {
		t.Errorf("signed command an hour older than the newest from its key: %q (%s), want expired as a replay", old.State, old.Detail)
	}
}
