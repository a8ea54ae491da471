package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/server"
)

const webhookUsage = `usage:
  examgate webhook add --url https://partner.example.com/hooks --events booking.created,booking.cancelled
                       [--secret-file FILE] [--description TEXT]
  examgate webhook list
  examgate webhook remove ID
  examgate webhook deliveries --endpoint ID [--limit 50]
  examgate webhook ping ID
  examgate webhook redeliver --delivery ID
  examgate webhook redeliver --endpoint ID --since 2026-12-01T00:00:00Z [--until TIME]
  examgate webhook enable ID
  examgate webhook rotate-secret ID [--overlap 24h] [--secret-file FILE]
Events: booking.created, booking.rescheduled, booking.cancelled,
booking.no_show, booking.started, attempt.completed, or "all". add and
rotate-secret print the signing secret once: give it to the partner. Without
--secret-file a random one is made. ping sends a ping event now and shows the
answer; redeliver queues one delivery again, or every failed one of an
endpoint made in the time range (RFC 3339); enable resumes an endpoint
disabled by a 410 Gone; rotate-secret keeps signing with the old secret too
for the overlap (at most 168h).
Endpoints must be https:// on a public address; EXAMGATE_WEBHOOK_ALLOW_PRIVATE=1
(or EXAMGATE_DEMO=1) also allows private addresses and http://localhost.`

// webhook manages partner webhook endpoints from the command line.
func webhook(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	verbs := []string{"add", "list", "remove", "deliveries", "ping", "redeliver", "enable", "rotate-secret"}
	if len(args) == 0 || !contains(verbs, args[0]) {
		return errors.New(webhookUsage)
	}
	verb := args[0]
	fs := flag.NewFlagSet("examgate webhook "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsn := dbFlag(fs, getenv)
	rawURL := fs.String("url", "", "the endpoint's URL (add)")
	events := fs.String("events", "", "comma-separated event types, or all (add)")
	secretFile := fs.String("secret-file", "", "file holding the signing secret to use instead of a random one (add)")
	desc := fs.String("description", "", "a note on whose endpoint this is (add)")
	endpoint := fs.Int64("endpoint", 0, "endpoint id (deliveries, redeliver; or the first argument)")
	limit := fs.Int("limit", 50, "how many deliveries, newest first, at most 200 (deliveries)")
	delivery := fs.Int64("delivery", 0, "the delivery to send again (redeliver)")
	since := fs.String("since", "", "redeliver the failed deliveries made from this time on (RFC 3339)")
	until := fs.String("until", "", "…and before this time (RFC 3339; default now)")
	overlap := fs.Duration("overlap", 24*time.Hour, "how long the old secret signs too (rotate-secret)")
	// The endpoint id may come first (webhook ping 3), before the flags.
	rest, id := args[1:], ""
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), webhookUsage)
	}
	if id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || *endpoint != 0 {
			return fmt.Errorf("%q is not an endpoint id (see examgate webhook list)", id)
		}
		*endpoint = n
	}
	store, err := openExisting(ctx, *dsn, stderr)
	if err != nil {
		return err
	}
	defer store.Close()
	hooks := &examgate.Webhooks{Store: store, Clock: examgate.SystemClock{},
		Sender: examgate.NewWebhookSender(isTrue(getenv("EXAMGATE_WEBHOOK_ALLOW_PRIVATE")) || isTrue(getenv("EXAMGATE_DEMO")))}
	// The command is the operator: it acts with admin rights.
	admin := examgate.NewContextWithAdmin(ctx)

	switch verb {
	case "add":
		if *rawURL == "" || *events == "" {
			return errors.New("give --url and --events\n" + webhookUsage)
		}
		list := strings.Split(*events, ",")
		if strings.TrimSpace(*events) == "all" {
			list = examgate.WebhookEventTypes
		}
		secret, err := readSecretFile(*secretFile)
		if err != nil {
			return err
		}
		ep, err := hooks.AddWebhook(admin, *rawURL, list, secret, *desc)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "webhook endpoint %d added: %s\nevents: %s\n", ep.ID, ep.URL, strings.Join(ep.Events, ", "))
		fmt.Fprintf(stdout, "signing secret (shown only now; give it to the partner): %s\n", ep.Secret)
		return nil
	case "list":
		list, err := hooks.List(admin)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(stdout, "no webhook endpoints")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tURL\tEVENTS\tSTATE\tAPI KEY\tDESCRIPTION")
		for _, e := range list {
			state := "active"
			switch {
			case e.OwnerRevoked:
				state = "stopped: its API key was revoked"
			case e.DisabledAt != nil:
				state = "disabled: " + e.DisabledReason
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.URL, strings.Join(e.Events, ","), state, idOrDash(e.OwnerKeyID), oneLine(e.Description, 40))
		}
		return tw.Flush()
	case "remove":
		if *endpoint == 0 {
			return errors.New("give the endpoint id to remove\n" + webhookUsage)
		}
		if err := hooks.Remove(admin, *endpoint); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "webhook endpoint %d removed with its delivery log\n", *endpoint)
		return nil
	case "ping":
		if *endpoint == 0 {
			return errors.New("give the endpoint id to ping\n" + webhookUsage)
		}
		d, err := hooks.Ping(admin, *endpoint)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "ping %s (delivery %d): %s, %s in %d ms\n", d.EventID, d.ID, d.State, statusText(d.LastStatus), d.LastLatency.Milliseconds())
		if d.LastError != "" {
			fmt.Fprintf(stdout, "error: %s\n", d.LastError)
		}
		fmt.Fprintf(stdout, "answer: %s\n", oneLine(d.LastResponse, 200))
		return nil
	case "redeliver":
		return redeliver(admin, hooks, *delivery, *endpoint, *since, *until, stdout)
	case "enable":
		if *endpoint == 0 {
			return errors.New("give the endpoint id to enable\n" + webhookUsage)
		}
		ep, err := hooks.Enable(admin, *endpoint)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "webhook endpoint %d enabled: %s (same secret); send what it missed with examgate webhook redeliver --endpoint %d --since …\n", ep.ID, ep.URL, ep.ID)
		return nil
	case "rotate-secret":
		if *endpoint == 0 {
			return errors.New("give the endpoint id\n" + webhookUsage)
		}
		secret, err := readSecretFile(*secretFile)
		if err != nil {
			return err
		}
		ep, err := hooks.RotateSecret(admin, *endpoint, secret, *overlap)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "webhook endpoint %d: new signing secret; the old one signs too until %s\n", ep.ID, timeOrDash(ep.PreviousSecretUntil))
		fmt.Fprintf(stdout, "signing secret (shown only now; give it to the partner): %s\n", ep.Secret)
		return nil
	default: // deliveries
		if *endpoint == 0 {
			return errors.New("give --endpoint ID (see examgate webhook list)\n" + webhookUsage)
		}
		if *limit < 1 || *limit > 200 {
			return errors.New("--limit must be between 1 and 200")
		}
		list, err := hooks.Deliveries(admin, *endpoint, *limit, 0)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEVENT\tTYPE\tBOOKING\tSTATE\tATTEMPTS\tSTATUS\tLATENCY\tLAST TRY (UTC)\tNEXT TRY (UTC)\tLAST ERROR")
		for _, d := range list {
			latency := "-"
			if d.Attempts > 0 {
				latency = fmt.Sprintf("%d ms", d.LastLatency.Milliseconds())
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.EventID, d.EventType, idOrDash(d.BookingID),
				d.State, d.Attempts, idOrDash(int64(d.LastStatus)), latency, timeOrDash(d.LastAttemptAt), timeOrDash(d.NextTryAt), oneLine(d.LastError, 80))
		}
		return tw.Flush()
	}
}

// redeliver queues one delivery, or an endpoint's failed ones in a range,
// again.
func redeliver(admin context.Context, hooks *examgate.Webhooks, delivery, endpoint int64, since, until string, stdout io.Writer) error {
	if delivery != 0 {
		d, err := hooks.Redeliver(admin, delivery)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "delivery %d (%s %s) queued again\n", d.ID, d.EventType, d.EventID)
		return nil
	}
	if endpoint == 0 || since == "" {
		return errors.New("give --delivery ID, or --endpoint ID and --since TIME\n" + webhookUsage)
	}
	from, err := time.Parse(time.RFC3339, since)
	if err != nil {
		return fmt.Errorf("--since %q is not an RFC 3339 time such as 2026-12-01T00:00:00Z", since)
	}
	var to time.Time
	if until != "" {
		if to, err = time.Parse(time.RFC3339, until); err != nil {
			return fmt.Errorf("--until %q is not an RFC 3339 time such as 2026-12-02T00:00:00Z", until)
		}
	}
	list, err := hooks.RedeliverFailed(admin, endpoint, from, to)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d failed deliveries of endpoint %d queued again\n", len(list), endpoint)
	if len(list) == examgate.MaxRedeliveries {
		fmt.Fprintln(stdout, "that is the most one call sends: run it again for the rest")
	}
	return nil
}

// readSecretFile reads a signing secret from a file; "" gives "".
func readSecretFile(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("read the secret: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func statusText(status int) string {
	if status == 0 {
		return "no answer"
	}
	return fmt.Sprintf("%d %s", status, http.StatusText(status))
}

// webhookWorkers is how many webhook deliveries one process makes at once.
const webhookWorkers = 4

// newWebhooks returns the webhook service and its own worker. Webhook jobs
// run apart from the main worker, so that partner endpoints that answer
// slowly or time out (10 s each) never hold up result delivery to TI or
// emails, and several deliveries to different endpoints go out at once.
func newWebhooks(cfg *config, store *db.DB, clock examgate.Clock, logger *slog.Logger, metrics *server.Metrics) (*examgate.Webhooks, *examgate.Worker) {
	allow := cfg.WebhookAllowPrivate || cfg.Demo
	if allow {
		logger.Warn("webhooks may reach private addresses and http://localhost (EXAMGATE_WEBHOOK_ALLOW_PRIVATE or demo mode); never in production")
	}
	worker := &examgate.Worker{Store: store, Clock: clock, Logger: logger, Lease: cfg.JobLease}
	sender := examgate.NewWebhookSender(allow)
	sender.WrapTransport(func(t http.RoundTripper) http.RoundTripper { return metrics.Transport("webhook", t) })
	hooks := &examgate.Webhooks{Store: store, Clock: clock, Logger: logger, Sender: sender, Wake: worker.Wake}
	worker.Handle(examgate.JobWebhookEvent, hooks.HandleEvent)
	worker.Handle(examgate.JobWebhookDelivery, hooks.HandleDelivery)
	return hooks, worker
}

// runWebhookWorkers starts the webhook worker's loops in the background.
func runWebhookWorkers(ctx context.Context, wg *sync.WaitGroup, worker *examgate.Worker, logger *slog.Logger) {
	for range webhookWorkers {
		wg.Go(func() {
			if err := worker.Run(ctx); err != nil {
				logger.Error("webhook worker stopped", "err", err)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func idOrDash(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.DateTime)
}
