package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLTIPlatformsFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "platforms.yaml")
	os.WriteFile(good, []byte(`platforms:
  - name: SkillsTown Inspire
    issuer: https://account.onlineacademy.nl
    clientId: 71bafed5-5db8-483a-bc91-0531e651e57d
    deploymentIds: [f800ca6c-a62f-4248-bfaf-fe327381169a]
    authUrl: https://account.onlineacademy.nl/connect/authorize
    tokenUrl: https://account.onlineacademy.nl/connect/token
    jwksUrl: https://account.onlineacademy.nl/.well-known/openid-configuration/jwks
    courseIdSource: id
`), 0o600)
	regs, err := loadLTIPlatforms(good)
	if err != nil || len(regs) != 1 || regs[0].ClientID != "71bafed5-5db8-483a-bc91-0531e651e57d" || regs[0].CourseIDSource != "id" {
		t.Fatalf("%+v %v", regs, err)
	}
	badSource := filepath.Join(dir, "source.yaml")
	os.WriteFile(badSource, []byte(`platforms:
  - issuer: https://p.example.com
    clientId: c
    deploymentIds: [d]
    authUrl: https://p.example.com/a
    tokenUrl: https://p.example.com/t
    jwksUrl: https://p.example.com/j
    courseIdSource: context
`), 0o600)
	if _, err := loadLTIPlatforms(badSource); err == nil || !strings.Contains(err.Error(), "courseIdSource") {
		t.Errorf("unknown courseIdSource: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"platforms":[{"issuer":"https://p.example.com","clientId":"c","deploymentIds":["d"],"authUrl":"http://p.example.com/a","tokenUrl":"https://p.example.com/t","jwksUrl":"https://p.example.com/j"}]}`), 0o600)
	if _, err := loadLTIPlatforms(bad); err == nil || !strings.Contains(err.Error(), "authUrl") {
		t.Errorf("plain http auth URL: %v", err)
	}
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte("platforms:\n  - issuer: https://p.example.com\n    clientID: c\n"), 0o600)
	if _, err := loadLTIPlatforms(typo); err == nil || !strings.Contains(err.Error(), "clientID") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestLTICommands(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "examgate.db")
	getenv := env(map[string]string{"EXAMGATE_DATABASE_URL": dbPath, "EXAMGATE_BASE_URL": "https://exams.example.com"})
	migrated(t, getenv)
	var out bytes.Buffer
	err := run(ctx, []string{"lti", "add-platform", "--name", "Inspire", "--issuer", "https://p.example.com", "--client-id", "c1",
		"--deployment", "d1", "--deployment", "d2", "--auth-url", "https://p.example.com/auth",
		"--token-url", "https://p.example.com/token", "--jwks-url", "https://p.example.com/jwks",
		"--course-id-source", "target_link_uri"}, getenv, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"lti", "list-platforms"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "https://p.example.com") || !strings.Contains(out.String(), "d1,d2") || !strings.Contains(out.String(), "target_link_uri") {
		t.Errorf("list:\n%s", out.String())
	}
	err = run(ctx, []string{"lti", "add-platform", "--issuer", "https://p.example.com", "--client-id", "c1", "--deployment", "d1",
		"--auth-url", "https://p.example.com/auth", "--token-url", "https://p.example.com/token", "--jwks-url", "https://p.example.com/jwks",
		"--course-id-source", "context_id"}, getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "courseIdSource") {
		t.Errorf("unknown --course-id-source: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"lti", "tool-urls", "--exam", "DEMO-101"}, getenv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"https://exams.example.com/lti/login", "https://exams.example.com/lti/launch", "https://exams.example.com/lti/jwks", "https://exams.example.com/lti/exams/DEMO-101"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("tool-urls lacks %s:\n%s", want, out.String())
		}
	}
	err = run(ctx, []string{"lti", "add-platform", "--issuer", "https://p.example.com"}, getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "client id") {
		t.Errorf("incomplete add-platform: %v", err)
	}
}

func TestConfigLTIOnly(t *testing.T) {
	c, err := parseConfig(nil, env(map[string]string{"EXAMGATE_EXAMS": "x.yaml", "EXAMGATE_LTI_PLATFORMS": "p.yaml"}), io.Discard)
	if err != nil || !c.TIOff {
		t.Fatalf("LTI only: %+v %v", c, err)
	}
	// A partial TI configuration is still an error.
	_, err = parseConfig(nil, env(map[string]string{"EXAMGATE_EXAMS": "x.yaml", "EXAMGATE_LTI_PLATFORMS": "p.yaml", "EXAMGATE_TI_API_KEY": "k"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "EXAMGATE_TI_SECRETS") {
		t.Fatalf("partial TI: %v", err)
	}
}
