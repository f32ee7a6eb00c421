package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stormguard/stormguard/internal/mqtttest"
)

func TestMetricsFlag(t *testing.T) {
	b := mqtttest.NATS(t)
	host, port, _ := net.SplitHostPort(b.Addr)
	addr := fmt.Sprintf("127.0.0.1:%d", mqtttest.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"-host", host, "-port", port, "-name", "nas", "-state-dir", t.TempDir(),
			"-dry-run", "-warn-cmd", "", "-metrics", addr})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	want := `stormguard_agent_ready{host="nas"} 1`
	var last string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = string(body)
		if strings.Contains(last, want) {
			if !strings.Contains(last, `stormguard_agent_loop_alive{host="nas"} 1`) {
				t.Errorf("a running agent's loop is not alive:\n%s", last)
			}
			return
		}
	}
	t.Fatalf("no %s within 10s:\n%s", want, last)
}
