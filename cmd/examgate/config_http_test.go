package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/examgate/examgate"
)

func TestConfigRateLimitsAndCORS(t *testing.T) {
	demo := func(extra map[string]string) (*config, error) {
		m := map[string]string{"EXAMGATE_DEMO": "1"}
		for k, v := range extra {
			m[k] = v
		}
		return parseConfig(nil, env(m), io.Discard)
	}
	c, err := demo(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyRateLimit != 600 || c.KeyRateBurst != 60 || c.LearnerRateLimit != 1200 || c.LearnerRateBurst != 120 || c.CORSOrigins != nil {
		t.Fatalf("defaults: %+v", c)
	}

	c, err = demo(map[string]string{
		"EXAMGATE_KEY_RATE_LIMIT": "60", "EXAMGATE_KEY_RATE_BURST": "5", "EXAMGATE_LEARNER_RATE_LIMIT": "0",
		"EXAMGATE_CORS_ORIGINS": " https://LMS.example.com/ , http://localhost:5173,",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyRateLimit != 60 || c.KeyRateBurst != 5 || c.LearnerRateLimit != 0 ||
		!slices.Equal(c.CORSOrigins, []string{"https://lms.example.com", "http://localhost:5173"}) {
		t.Fatalf("set: %+v", c)
	}

	for _, bad := range []map[string]string{
		{"EXAMGATE_KEY_RATE_LIMIT": "-1"},
		{"EXAMGATE_LEARNER_RATE_BURST": "lots"},
		{"EXAMGATE_KEY_RATE_BURST": "0"},
		{"EXAMGATE_CORS_ORIGINS": "*"},
		{"EXAMGATE_CORS_ORIGINS": "https://*.example.com"},
		{"EXAMGATE_CORS_ORIGINS": "https://lms.example.com/graphql"},
		{"EXAMGATE_CORS_ORIGINS": "lms.example.com"},
	} {
		_, err := demo(bad)
		if err == nil {
			t.Errorf("%v accepted", bad)
			continue
		}
		for k := range bad {
			if !strings.Contains(err.Error(), strings.TrimSuffix(strings.TrimSuffix(k, "_LIMIT"), "_BURST")) {
				t.Errorf("%v: error does not name the variable: %v", bad, err)
			}
		}
	}
}

func TestConfigSessionIdle(t *testing.T) {
	parse := func(v string) (*config, error) {
		m := map[string]string{"EXAMGATE_DEMO": "1"}
		if v != "" {
			m["EXAMGATE_SESSION_IDLE"] = v
		}
		return parseConfig(nil, env(m), io.Discard)
	}
	if c, err := parse(""); err != nil || c.SessionIdle != examgate.DefaultSessionIdle {
		t.Fatalf("default: %v %v", c.SessionIdle, err)
	}
	if c, err := parse("30m"); err != nil || c.SessionIdle != 30*time.Minute {
		t.Fatalf("30m: %v %v", c.SessionIdle, err)
	}
	for _, bad := range []string{"soon", "1m", "13h", "-1h"} {
		if _, err := parse(bad); err == nil || !strings.Contains(err.Error(), "EXAMGATE_SESSION_IDLE") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
