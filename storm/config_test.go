package storm

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		field string // "" means valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"zero shutdown radius", func(c *Config) { c.ShutdownRadiusKM = 0 }, "ShutdownRadiusKM"},
		{"watch smaller than shutdown", func(c *Config) { c.WatchRadiusKM = 10 }, "WatchRadiusKM"},
		{"watch equal to shutdown", func(c *Config) { c.WatchRadiusKM = 16 }, ""},
		{"negative grace", func(c *Config) { c.Grace = -time.Second }, "Grace"},
		{"zero grace", func(c *Config) { c.Grace = 0 }, ""},
		{"zero all clear", func(c *Config) { c.AllClear = 0 }, "AllClear"},
		{"negative hold", func(c *Config) { c.HoldAfterCancel = -1 }, "HoldAfterCancel"},
		{"zero silence", func(c *Config) { c.SilentAfter = 0 }, "SilentAfter"},
		{"bad per-source silence", func(c *Config) {
			c.SilentAfterBySource = map[string]time.Duration{"tempest": 0}
		}, `SilentAfterBySource["tempest"]`},
		{"zero FailAfter", func(c *Config) { c.FailAfter = 0 }, "FailAfter"},
		{"unknown blind policy", func(c *Config) { c.BlindPolicy = "panic" }, "BlindPolicy"},
		{"empty context trigger", func(c *Config) { c.ContextTriggers = []string{"nws", ""} }, "ContextTriggers[1]"},
		{"empty cancel topic", func(c *Config) { c.CancelTopic = "" }, "CancelTopic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mod(&cfg)
			err := cfg.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.field) {
				t.Fatalf("Validate = %v, want an error naming %s", err, tc.field)
			}
			if _, err := NewEngine(cfg, at("19:00:00")); err == nil {
				t.Error("NewEngine accepted the bad config")
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := DefaultConfig()
	if c.ShutdownRadiusKM != 16 || c.WatchRadiusKM != 40 || c.Grace != 5*time.Minute ||
		c.AllClear != 30*time.Minute || c.HoldAfterCancel != 30*time.Minute ||
		c.BlindPolicy != BlindHold || len(c.ContextTriggers) != 0 {
		t.Errorf("defaults = %+v", c)
	}
}
