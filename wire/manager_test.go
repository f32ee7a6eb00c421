package wire

import (
	"testing"
	"time"
)

// TestManagerStateBytes pins the servicemanager's state payload: dashboards
// read these names.
func TestManagerStateBytes(t *testing.T) {
	s := ManagerState{Name: "servicemanager", At: time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC), Resources: 3,
		MaxResources: 1000000, MaxTopics: 2, LimitReached: true, TopicsRefused: 2, FullResources: 1, HeartbeatMisses: 3, GoneByHeartbeat: 1}
	b, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"v":1,"name":"servicemanager","at":"2026-12-01T16:00:00Z","resources":3,"max_resources":1000000,"max_topics":2,"limit_reached":true,"topics_refused":2,"full_resources":1,"heartbeat_misses":3,"gone_by_heartbeat":1}`
	if string(b) != want {
		t.Errorf("Encode = %s\nwant     %s", b, want)
	}
	back, err := DecodeManagerState([]byte(want))
	s.V = Version
	if err != nil || back != s {
		t.Errorf("DecodeManagerState = %+v, %v; want %+v", back, err, s)
	}
}
