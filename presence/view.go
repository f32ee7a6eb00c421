package presence

import (
	"cmp"
	"slices"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// Status is one resource in a View.
type Status struct {
	Resource string
	State    State
	// Since is when the registry saw State begin. For a state first learned
	// from a retained message (Retained set) it is when it was learned: the
	// resource may have been in that state for longer.
	Since    time.Time
	Retained bool
	// ByHeartbeat is set for a resource judged gone because its heartbeats
	// stopped (Expire), not by its will or its own word.
	ByHeartbeat bool
	// LastBeat is when its last heartbeat was heard and BeatEvery the
	// interval it announced; zero for a resource that does not beat.
	LastBeat  time.Time
	BeatEvery time.Duration
	// Topics are the data and command topics the resource has announced,
	// in the order they were first seen.
	Topics []Topic
}

// Topic is one announced data or command topic.
type Topic struct {
	Kind      wire.AvailabilityKind
	Name      string
	Available bool // last value seen or sent was True
	Retained  bool // it has been seen as a retained message
	// ByHeartbeat: marked False by Expire; a live beat sets it True again.
	ByHeartbeat bool
}

// Available returns the names of the topics of kind k that are True now.
func (s Status) Available(k wire.AvailabilityKind) []string {
	var out []string
	for _, t := range s.Topics {
		if t.Kind == k && t.Available {
			out = append(out, t.Name)
		}
	}
	return out
}

// View is a snapshot of the fleet, sorted by resource name. It shares
// nothing with the Registry and may be kept and read from any goroutine.
type View struct {
	all []Status
}

// View returns a snapshot of every resource.
func (r *Registry) View() View {
	r.mu.Lock()
	all := make([]Status, 0, len(r.res))
	for name, rs := range r.res {
		all = append(all, rs.status(name))
	}
	r.mu.Unlock()
	slices.SortFunc(all, func(a, b Status) int { return cmp.Compare(a.Resource, b.Resource) })
	return View{all: all}
}

// Status returns one resource's status.
func (r *Registry) Status(res string) (Status, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rs, ok := r.res[res]
	if !ok {
		return Status{}, false
	}
	return rs.status(res), true
}

// Len returns how many resources are tracked.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.res)
}

func (rs *resource) status(name string) Status {
	s := Status{Resource: name, State: rs.state, Retained: rs.retained, ByHeartbeat: rs.byBeat, BeatEvery: time.Duration(rs.every)}
	if rs.since != 0 {
		s.Since = time.Unix(0, rs.since)
	}
	if rs.heard != 0 {
		s.LastBeat = time.Unix(0, rs.heard)
	}
	s.Topics = make([]Topic, len(rs.items))
	for i, it := range rs.items {
		s.Topics[i] = Topic{Kind: it.kind(), Name: it.name.Value(), Available: it.has(bitAvailable), Retained: it.has(bitRetained), ByHeartbeat: it.has(bitByBeat)}
	}
	return s
}

// All returns every resource, sorted by name.
func (v View) All() []Status { return slices.Clone(v.all) }

// In returns the resources in state s, sorted by name.
func (v View) In(s State) []Status {
	var out []Status
	for _, st := range v.all {
		if st.State == s {
			out = append(out, st)
		}
	}
	return out
}

// Get returns the status of res.
func (v View) Get(res string) (Status, bool) {
	i, ok := slices.BinarySearchFunc(v.all, res, func(s Status, name string) int { return cmp.Compare(s.Resource, name) })
	if !ok {
		return Status{}, false
	}
	return v.all[i], true
}

// Count returns how many resources are in state s.
func (v View) Count(s State) int {
	n := 0
	for _, st := range v.all {
		if st.State == s {
			n++
		}
	}
	return n
}

// Len returns how many resources the view holds.
func (v View) Len() int { return len(v.all) }
