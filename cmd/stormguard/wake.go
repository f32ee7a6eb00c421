package main

import (
	"errors"
	"time"

	"github.com/stormguard/stormguard/internal/guard"
)

// loadWake reads the wake: section: whether, after the all clear, the
// hosts the storm powered down are woken with Wake-on-LAN, and how hard.
func loadWake(m map[string]any) (guard.WakeConfig, error) {
	raw := struct {
		Enabled   bool          `mapstructure:"enabled"`
		Every     time.Duration `mapstructure:"every"`
		StageWait time.Duration `mapstructure:"stage-wait"`
		Limit     time.Duration `mapstructure:"limit"`
		Port      int           `mapstructure:"port"`
	}{Every: 30 * time.Second, StageWait: 2 * time.Minute, Limit: 10 * time.Minute, Port: 9}
	if err := decodeStrict("wake", m, &raw); err != nil {
		return guard.WakeConfig{}, err
	}
	switch {
	case raw.Every <= 0:
		return guard.WakeConfig{}, errors.New("wake.every: must be positive")
	case raw.StageWait <= 0:
		return guard.WakeConfig{}, errors.New("wake.stage-wait: must be positive")
	case raw.Limit <= 0:
		return guard.WakeConfig{}, errors.New("wake.limit: must be positive")
	case raw.Port <= 0 || raw.Port > 65535:
		return guard.WakeConfig{}, errors.New("wake.port: not a UDP port")
	}
	return guard.WakeConfig{Enabled: raw.Enabled, Every: raw.Every, StageWait: raw.StageWait, Limit: raw.Limit, Port: raw.Port}, nil
}
