// Package presence keeps the Service Manager's picture of the network: which
// resources exist, whether each is present, and the data and command topics
// each has announced. It is pure: it reads messages and says what to
// publish, and it never touches the network or the clock on its own.
//
// A client may register only one last will, so a resource registers
// resourceavailable/<res>/presence False as its will and publishes True
// there when it starts, along with dataavailable/<res>/<x> True and
// commandavailable/<res>/<y> True. When the presence turns False, the
// Registry returns one False for every topic of that resource still
// announced True, with the retain flag that topic was learned with.
//
// A data or command False never causes a publish, so the manager's own
// False coming back from the broker is recorded and nothing more: it cannot
// loop. A True causes one only for a resource known to be absent: at once
// when it is a retained leftover, and through Sweep, after a grace, when it
// is a live announcement that the departure overtook.
//
// View gives the read-only fleet picture (who is present, since when) that
// shutdownall -status and stormguard can use: feed a Registry with the
// presence messages and ignore what Observe returns.
package presence
