package presence

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/stormguard/stormguard/wire"
)

// snapshotVersion is the format Save writes.
const snapshotVersion = 1

type snapshot struct {
	V         int            `json:"v"`
	Resources []snapResource `json:"resources"`
}

type snapResource struct {
	Name     string      `json:"name"`
	State    string      `json:"state"`
	Since    time.Time   `json:"since,omitzero"`
	Retained bool        `json:"retained,omitempty"`
	ByBeat   bool        `json:"by_heartbeat,omitempty"`
	Topics   []snapTopic `json:"topics,omitempty"`
}

type snapTopic struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Available bool   `json:"available,omitempty"`
	Retained  bool   `json:"retained,omitempty"`
	ByBeat    bool   `json:"by_heartbeat,omitempty"`
}

// Save writes the whole picture to w as JSON, so a restarted manager can
// remember topics that were announced without the retain flag.
func (r *Registry) Save(w io.Writer) error {
	v := r.View()
	s := snapshot{V: snapshotVersion, Resources: make([]snapResource, 0, v.Len())}
	for _, st := range v.all {
		sr := snapResource{Name: st.Resource, State: st.State.String(), Since: st.Since, Retained: st.Retained, ByBeat: st.ByHeartbeat}
		for _, t := range st.Topics {
			sr.Topics = append(sr.Topics, snapTopic{Kind: t.Kind.String(), Name: t.Name, Available: t.Available, Retained: t.Retained, ByBeat: t.ByHeartbeat})
		}
		s.Resources = append(s.Resources, sr)
	}
	if err := json.NewEncoder(w).Encode(s); err != nil {
		return fmt.Errorf("save registry: %w", err)
	}
	return nil
}

// Load replaces the picture with one written by Save. On error the
// Registry is unchanged.
func (r *Registry) Load(rd io.Reader) error {
	var s snapshot
	if err := json.NewDecoder(rd).Decode(&s); err != nil {
		return fmt.Errorf("load registry: %w", err)
	}
	if s.V != snapshotVersion {
		return fmt.Errorf("load registry: version %d, want %d", s.V, snapshotVersion)
	}
	fresh, err := New(r.cfg)
	if err != nil {
		return err
	}
	for _, sr := range s.Resources {
		if err := wire.ValidLevel(sr.Name); err != nil {
			return fmt.Errorf("load registry: resource: %w", err)
		}
		rs, err := fresh.resource(sr.Name)
		if err != nil {
			return fmt.Errorf("load registry: %w", err)
		}
		switch sr.State {
		case "present":
			rs.state = Present
		case "absent":
			rs.state = Absent
		case "unknown":
		default:
			return fmt.Errorf("load registry: resource %s: unknown state %q", quote(sr.Name), sr.State)
		}
		if !sr.Since.IsZero() {
			rs.since = sr.Since.UnixNano()
		}
		rs.retained = sr.Retained
		rs.byBeat = sr.ByBeat && rs.state == Absent
		for _, st := range sr.Topics {
			a := wire.Availability{Kind: wire.DataKind, Resource: sr.Name, Name: st.Name}
			switch st.Kind {
			case "data":
			case "command":
				a.Kind = wire.CommandKind
			default:
				return fmt.Errorf("load registry: resource %s: unknown topic kind %q", quote(sr.Name), st.Kind)
			}
			for _, level := range strings.Split(st.Name, "/") {
				if err := wire.ValidLevel(level); err != nil {
					return fmt.Errorf("load registry: resource %s: topic: %w", quote(sr.Name), err)
				}
			}
			it, err := fresh.item(rs, a)
			if err != nil {
				return fmt.Errorf("load registry: %w", err)
			}
			it.set(bitAvailable, st.Available)
			it.set(bitRetained, st.Retained)
			it.set(bitByBeat, st.ByBeat && rs.byBeat)
		}
	}
	r.mu.Lock()
	r.res = fresh.res
	r.orphans = fresh.orphans
	r.beating = fresh.beating
	r.mu.Unlock()
	return nil
}
