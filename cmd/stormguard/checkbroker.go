package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/stormguard/stormguard/internal/guard"
	"github.com/stormguard/stormguard/mqtt"
	"github.com/stormguard/stormguard/wire"
)

// checkBroker connects to the fleet broker as stormguard does (same
// broker, user, password or certificate; its own client id, so a running
// stormguard keeps its session) and says, one line per thing, whether it
// may subscribe to CANCEL and publish commands. It reports false when
// anything stormguard needs is refused.
func checkBroker(ctx context.Context, c config) ([]string, bool) {
	m, err := c.s.Conn.MQTT("stormguard-" + c.s.Name + "-check")
	if err != nil {
		return []string{"fleet broker: " + err.Error()}, false
	}
	m.CleanSession = true
	m.FailFast = true
	who := "anonymous"
	switch {
	case m.TLS != nil && len(m.TLS.Certificates) > 0:
		who = "the certificate in " + c.s.Cert
	case m.Username != "":
		who = "user " + m.Username
	}
	lines := []string{}
	say := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }

	var nonce [4]byte
	rand.Read(nonce[:])
	group := fmt.Sprintf("stormguard-check-%x", nonce)
	probeTopic := c.topics.GroupCommand(wire.Shutdown, group)
	echo := make(chan struct{}, 1)
	client, err := mqtt.New(m)
	if err != nil {
		return []string{"fleet broker: " + err.Error()}, false
	}
	client.Handle(probeTopic, 1, func(mqtt.Message) {
		select {
		case echo <- struct{}{}:
		default:
		}
	})
	client.Start()
	defer client.Close(250 * time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := client.WaitReady(cctx); err != nil {
		say("fleet broker: cannot connect as %s: %v", who, err)
		return lines, false
	}
	say("fleet broker: connected to %s as %s", strings.Join(m.Brokers, ", "), who)
	ok := true

	// Reads: a refusal shows as a refused SUBACK (nats-server, mochi);
	// Mosquitto grants every SUBSCRIBE and silently withholds messages, so
	// for it only the round trip below tells.
	reads := []string{c.topics.Command(wire.Cancel), c.topics.Presence("+"), c.topics.AckFilter(), c.topics.StateFilter()}
	for _, f := range reads {
		if err := client.Subscribe(cctx, f, 1, func(string, []byte, bool) {}); err != nil {
			say("subscribe %s: REFUSED: %v", f, err)
			ok = false
			continue
		}
		say("subscribe %s: granted", f)
	}
	say("(a granted subscription proves little on Mosquitto, which grants every one and withholds what its ACL denies; the round trip below is a real test)")

	// Writes: a command that reaches nobody (a group no host is in, a
	// target no host has, void a second after it is issued), published
	// where a SHUTDOWN goes and read back.
	now := time.Now().UTC()
	probe := wire.Command{V: wire.Version, ID: "check-" + group, Action: wire.Shutdown,
		Reason: "stormguard check: a permission probe, not a command", Issuer: "stormguard@" + c.s.Name,
		IssuedAt: now, Expires: now.Add(time.Second), Targets: []string{group}, Groups: []string{group}}
	payload, err := probe.Encode()
	if err == nil {
		err = client.Publish(cctx, probeTopic, 1, false, payload)
	}
	if err == nil && !client.Connected() {
		err = fmt.Errorf("the broker closed the connection")
	}
	if err == nil {
		select {
		case <-echo:
		case <-time.After(5 * time.Second):
			err = fmt.Errorf("not delivered back within 5s: the ACL must let this identity write %s/# and read %s",
				c.topics.Command(wire.Shutdown), c.topics.GroupCommand(wire.Shutdown, "+"))
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		say("publish %s (a probe to a group no host is in): REFUSED: %v", probeTopic, err)
		ok = false
	} else {
		say("publish %s (a probe to a group no host is in): ok, so SHUTDOWN may be published", probeTopic)
	}
	say("not probed (a probe would overwrite them): %s, %s, %s",
		c.topics.Presence(guard.Name), c.topics.State(guard.Name), c.topics.Event(guard.Name))
	return lines, ok
}
