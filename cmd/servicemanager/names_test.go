package main

import (
	"strings"
	"testing"

	"github.com/stormguard/stormguard/internal/mqtttest"
)

// TestEveryName: every resource and topic name the Service Manager
// convention allows is tracked and marked: spaces, "$", more than 64
// bytes, empty levels, the resource name "group", deeper topics. nats-server
// refuses topics with a space, so those run on Mosquitto only.
func TestEveryName(t *testing.T) {
	long := strings.Repeat("x", 300)
	type res struct {
		name   string
		topics []string // below dataavailable/<name>/ and commandavailable/<name>/
		spaces bool
	}
	all := []res{
		{name: "$pi", topics: []string{"$temp"}},
		{name: "group", topics: []string{"shutdown"}},
		{name: long, topics: []string{long}},
		{name: "", topics: []string{"x", ""}},
		{name: "deep", topics: []string{"a/b", "a/b/c", "x//y"}},
		{name: "büro", topics: []string{"licht"}},
		{name: "living room", topics: []string{"lamp 1"}, spaces: true},
	}
	mqtttest.Each(t, func(t *testing.T, b *mqtttest.Broker) {
		w := watch(t, b.URL, nil, "#")
		startManager(t, w, managerArgs(t, b, "sm-names"))
		c := newClient(t, b.URL, nil, nil)
		startClient(t, c)
		for _, r := range all {
			if r.spaces && b.Name == "nats" {
				continue
			}
			t.Run(r.name, func(t *testing.T) {
				p := "resourceavailable/" + r.name + "/presence"
				publish(t, c, p, "True", false)
				var want []string
				for _, tp := range r.topics {
					for _, kind := range []string{"dataavailable/", "commandavailable/"} {
						topic := kind + r.name + "/" + tp
						publish(t, c, topic, "True", false)
						want = append(want, topic+" False")
					}
				}
				mark := w.mark()
				publish(t, c, p, "False", false)
				w.expect(t, mark, want...)
			})
		}
	})
}
