// Package wire is the contract between every stormguard program and the
// broker: the topic names, the command payload (plain text or versioned
// JSON), acknowledgements, presence and state. It is pure: no I/O, no clock.
// No other package writes a topic string by hand.
//
// A command arrives on SHUTDOWN, REBOOT or CANCEL, for the whole fleet, or
// on SHUTDOWN/<host> and SHUTDOWN/group/<group> for part of it. Its payload
// is either plain text, taken whole as the reason (the original two-script
// design: mosquitto_pub -t SHUTDOWN -m "storm"), or a JSON object:
//
//	{"v":1,"id":"c-5f2a","action":"shutdown","reason":"storm",
//	 "issuer":"alice@desk","issued_at":"2026-07-15T19:56:00Z",
//	 "deadline":"2026-07-15T20:01:00Z","expires":"2026-07-15T20:11:00Z",
//	 "targets":["nas"],"groups":["office"],"sig":"..."}
//
// Every agent answers on stormguard/ack/<host> with a JSON Ack naming the
// command id and a State.
package wire
