package presence_test

import (
	"fmt"

	"github.com/stormguard/stormguard/presence"
	"github.com/stormguard/stormguard/wire"
)

// A program that only wants to know who is online (shutdownall -status,
// stormguard) feeds the registry and reads the view; it does not publish.
func ExampleRegistry_View() {
	reg, _ := presence.New(presence.Config{})
	tp := wire.Topics{}
	for _, m := range []struct{ topic, payload string }{
		{tp.Presence("nas"), "True"},
		{tp.CommandAvailable("nas", "shutdown"), "True"},
		{tp.Presence("pi3"), "True"},
		{tp.Presence("pi3"), "False"},
	} {
		reg.Observe(m.topic, []byte(m.payload), true)
	}
	v := reg.View()
	for _, s := range v.All() {
		fmt.Println(s.Resource, s.State, s.Available(wire.CommandKind))
	}
	fmt.Println("online:", v.Count(presence.Present))
	// Output:
	// nas present [shutdown]
	// pi3 absent []
	// online: 1
}
