package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/examgate/examgate/lti"
)

func init() {
	ltiSubcommands["registration-link"] = ltiSubcommand{
		usage: "registration-link [--base-url URL] [--valid 24h] [--db URL]   print a one-time Dynamic Registration URL to paste into a platform",
		run:   ltiRegistrationLink,
	}
}

// ltiRegistrationLink prints a Dynamic Registration URL with a one-time
// secret: only its hash is stored, and the registration page refuses the
// URL without it, so that not anyone can register a platform.
func ltiRegistrationLink(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("examgate lti registration-link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs, getenv)
	baseURL := fs.String("base-url", getenv("EXAMGATE_BASE_URL"), "examgate's public URL")
	valid := fs.Duration("valid", 24*time.Hour, "how long the link may be used")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(strings.TrimRight(*baseURL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("give examgate's public URL with --base-url or EXAMGATE_BASE_URL")
	}
	if *valid < time.Minute || *valid > 30*24*time.Hour {
		return errors.New("--valid must be between 1m and 720h")
	}
	store, err := openExisting(ctx, *dsn, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	secret := rand.Text()
	now := time.Now().UTC()
	if err := store.SaveRegistrationLink(ctx, lti.Hash(secret), now, now.Add(*valid)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Paste this URL into the platform's LTI Dynamic Registration (Moodle: Manage tools > Tool URL; Canvas: Developer Keys > LTI Registration; Brightspace: Manage Extensibility > LTI Advantage > Register Tool > Dynamic).\nIt works once, until %s:\n\n%s%s?secret=%s\n",
		now.Add(*valid).Format(time.RFC3339), u.String(), lti.RegisterPath, secret)
	return nil
}
