package notify

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestBridgeCancelsOnlyWithTheSecret(t *testing.T) {
	now := time.Now()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sg-cancel-x7/json" || r.Header.Get("Authorization") != "Bearer tk_sub" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		fl := w.(http.Flusher)
		fmt.Fprintf(w, `{"id":"o","time":%d,"event":"open","topic":"sg-cancel-x7"}`+"\n", now.Unix())
		fmt.Fprintf(w, `{"id":"a","time":%d,"event":"message","message":"guess"}`+"\n", now.Unix())
		fmt.Fprintf(w, `{"id":"b","time":%d,"event":"message","message":"s3cret"}`+"\n", now.Add(-time.Hour).Unix())
		fmt.Fprintf(w, `{"id":"c","time":%d,"event":"message","message":"s3cret\n"}`+"\n", now.Unix())
		fl.Flush()
		<-r.Context().Done()
	}))
	defer s.Close()
	cancels := make(chan string, 4)
	ctx, cancel := context.WithCancel(context.Background())
	b := &Bridge{Server: s.URL, Topic: "sg-cancel-x7", Token: "tk_sub", Secret: "s3cret",
		Cancel: func(_ context.Context, reason string) error { cancels <- reason; return nil }}
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	select {
	case r := <-cancels:
		if r != "cancelled from a phone (ntfy)" {
			t.Errorf("reason %q", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no cancel within 10s")
	}
	cancel()
	<-done
	if len(cancels) != 0 {
		t.Errorf("%d more cancels: a guess or an old message cancelled", len(cancels))
	}
}
