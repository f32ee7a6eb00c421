package presence

import "fmt"

// Limits says how close the registry is to its caps and what they have
// cost. A manager publishes it in its state, so a cap that is reached is
// seen, not just logged.
type Limits struct {
	MaxResources int `json:"max_resources"`
	MaxTopics    int `json:"max_topics"`
	// Resources is how many are tracked now.
	Resources int `json:"resources"`
	// ResourcesRefused counts messages refused because MaxResources was
	// reached; a new resource is tracked again once one is forgotten.
	ResourcesRefused uint64 `json:"resources_refused"`
	// TopicsRefused counts topics refused because their resource had
	// MaxTopics; FullResources is how many resources that happened to.
	TopicsRefused uint64 `json:"topics_refused"`
	FullResources int    `json:"full_resources"`
}

// Reached reports whether any cap has refused anything.
func (l Limits) Reached() bool { return l.ResourcesRefused > 0 || l.TopicsRefused > 0 }

// FullError is the ErrFull Observe returns: which limit, and whether it is
// the first refusal of that limit (for the whole registry, or for this
// resource's topics), which a caller logs loudest.
type FullError struct {
	Limit    string // "max-resources" or "max-topics", the flag that raises it
	Max      int
	Resource string
	Topic    string // for max-topics
	First    bool
}

func (e *FullError) Error() string {
	if e.Limit == "max-topics" {
		return fmt.Sprintf("%v: resource %s has %d topics (-max-topics), %s not tracked", ErrFull, quote(e.Resource), e.Max, quote(e.Topic))
	}
	return fmt.Sprintf("%v: %d resources tracked (-max-resources), %s not tracked", ErrFull, e.Max, quote(e.Resource))
}

// Unwrap makes errors.Is(err, ErrFull) true.
func (e *FullError) Unwrap() error { return ErrFull }

// Limits returns the caps and what they have refused so far.
func (r *Registry) Limits() Limits {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.limits
	l.Resources = len(r.res)
	return l
}
