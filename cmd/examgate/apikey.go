package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/examgate/examgate"
)

const apikeyUsage = `usage:
  examgate apikey create --name NAME --scope bookings:read[,results:read,admin]
  examgate apikey list
  examgate apikey revoke ID
create prints the new key once; only its hash is stored, so keep it then.
Scopes: bookings:read (partner booking queries), results:read (scores and
delivery state), admin (staff fields and mutations), webhooks:manage (the
partner's own webhook endpoints). Revoking takes effect
on the key's next request. The database is EXAMGATE_DATABASE_URL (or --db).`

// apikey makes, lists and revokes API keys. It is an operator command: who
// may read the partner API is decided by staff with database access.
func apikey(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "revoke") {
		return errors.New(apikeyUsage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("examgate apikey "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs, getenv)
	name := fs.String("name", "", "who the key is for, e.g. the partner system")
	scope := fs.String("scope", "", "comma-separated scopes: "+strings.Join(examgate.Scopes, ", "))
	// Flags may come before or after the key id.
	var pos []string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if (verb == "revoke") != (len(pos) == 1) {
		return errors.New("examgate apikey revoke takes one key id (examgate apikey list shows them); create and list take none\n" + apikeyUsage)
	}
	store, err := openExisting(ctx, *dsn, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	keys := &examgate.APIKeys{Store: store, Clock: examgate.SystemClock{}}
	switch verb {
	case "create":
		scopes, err := examgate.ParseScopes(*scope)
		if err != nil {
			return fmt.Errorf("%s\n%s", examgate.ErrorMessage(err), apikeyUsage)
		}
		k, secret, err := keys.Create(ctx, *name, scopes)
		if err != nil {
			return fmt.Errorf("%s\n%s", examgate.ErrorMessage(err), apikeyUsage)
		}
		fmt.Fprintf(stdout, "%s\n", secret)
		fmt.Fprintf(stderr, "API key %d %q with scopes %s. It is shown only now: store it in the partner's secret store.\n",
			k.ID, k.Name, strings.Join(k.Scopes, ","))
		return nil
	case "revoke":
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil {
			return errors.New("give the id of the key to revoke (examgate apikey list shows them)\n" + apikeyUsage)
		}
		if err := keys.Revoke(ctx, id); err != nil {
			return errors.New(examgate.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "API key %d revoked; it is refused from its next request\n", id)
		return nil
	}
	list, err := store.APIKeys(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no API keys (examgate apikey create makes one)")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tKEY\tSCOPES\tCREATED (UTC)\tREVOKED (UTC)")
	for _, k := range list {
		revoked := "-"
		if !k.RevokedAt.IsZero() {
			revoked = k.RevokedAt.Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Name, k.Hint, strings.Join(k.Scopes, ","), k.CreatedAt.Format(time.DateTime), revoked)
	}
	return tw.Flush()
}
