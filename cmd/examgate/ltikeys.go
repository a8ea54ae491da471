package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/lti/ags"
	"github.com/examgate/examgate/server"
)

// ltiSubcommand is one `examgate lti …` command. Add commands to
// ltiSubcommands (a line in the map, or an init func in another file).
type ltiSubcommand struct {
	usage string // one line: the arguments after "examgate lti"
	run   func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

var ltiSubcommands = map[string]ltiSubcommand{
	"rotate-key": {usage: "rotate-key [--db URL]   make a new tool key; the previous one stays published for 24 h", run: ltiRotateKey},
	"keys":       {usage: "keys [--db URL]         list the tool keys published at /lti/jwks", run: ltiListKeys},
}

func ltiUsage() string {
	names := make([]string, 0, len(ltiSubcommands))
	for n := range ltiSubcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage:\n")
	for _, n := range names {
		b.WriteString("  examgate lti " + ltiSubcommands[n].usage + "\n")
	}
	b.WriteString("The database is EXAMGATE_DATABASE_URL (or --db).")
	return b.String()
}

// ltiMain runs `examgate lti …`, the operator commands of LTI 1.3.
func ltiMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(ltiUsage())
	}
	cmd, ok := ltiSubcommands[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q\n%s", args[0], ltiUsage())
	}
	return cmd.run(ctx, args[1:], getenv, stdout, stderr)
}

// ltiOpenStore parses --db and opens the migrated store.
func ltiOpenStore(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer) (*db.DB, error) {
	fs := flag.NewFlagSet("examgate lti "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q; run examgate lti for usage", fs.Arg(0))
	}
	return openExisting(ctx, *dsn, stderr)
}

// ltiRotateKey replaces the tool key that signs client assertions. Only
// kids are printed: private keys stay in the database.
func ltiRotateKey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	store, err := ltiOpenStore(ctx, "rotate-key", args, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	keys := ags.NewKeys(store, examgate.SystemClock{})
	kid, err := keys.Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new LTI tool key %s is active; the previous key stays in /lti/jwks for %s\n", kid, ags.DefaultOverlap)
	return nil
}

func ltiListKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	store, err := ltiOpenStore(ctx, "keys", args, getenv, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	list, err := store.LTIToolKeys(ctx, time.Now().Add(-ags.DefaultOverlap))
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no tool keys yet: the first is made when a platform fetches /lti/jwks or a score is sent")
	}
	for _, k := range list {
		state := "active"
		if k.RetiredAt != nil {
			state = "retired " + k.RetiredAt.Format(time.RFC3339) + ", published until " + k.RetiredAt.Add(ags.DefaultOverlap).Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%s\tcreated %s\t%s\n", k.KID, k.CreatedAt.Format(time.RFC3339), state)
	}
	return nil
}

// ltiScoreHandler works the lti.score jobs with the tool keys in store.
// platforms finds each platform's token URL (the LTI registrations).
func ltiScoreHandler(store *db.DB, platforms examgate.LTIPlatforms, clock examgate.Clock, logger *slog.Logger, metrics *server.Metrics) examgate.JobHandler {
	client := ags.NewClient(ags.NewKeys(store, clock), clock)
	client.Logger = logger
	client.HTTP = &http.Client{Timeout: 30 * time.Second, Transport: metrics.Transport("lti", nil)}
	scores := &examgate.LTIScores{Platforms: platforms, AGS: client, LineItems: store, Clock: clock, Logger: logger, Results: store}
	return scores.Handle
}
