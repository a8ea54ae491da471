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
Events: booking.created, booking.rescheduled, booking.cancelled,
booking.no_show, attempt.completed, or "all". add prints the signing secret
once: give it to the partner. Without --secret-file a random one is made.
Endpoints must be https:// on a public address; EXAMGATE_WEBHOOK_ALLOW_PRIVATE=1
(or EXAMGATE_DEMO=1) also allows private addresses and http://localhost.`

// webhook manages partner webhook endpoints from the command line.
func webhook(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	verbs := []string{"add", "list", "remove", "deliveries"}
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
	endpoint := fs.Int64("endpoint", 0, "endpoint id (deliveries)")
	limit := fs.Int("limit", 50, "how many deliveries, newest first, at most 200 (deliveries)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
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
		secret := ""
		if *secretFile != "" {
			b, err := os.ReadFile(*secretFile)
			if err != nil {
				return fmt.Errorf("read the secret: %w", err)
			}
			secret = strings.TrimSpace(string(b))
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
		fmt.Fprintln(tw, "ID\tURL\tEVENTS\tSTATE\tDESCRIPTION")
		for _, e := range list {
			state := "active"
			if e.DisabledAt != nil {
				state = "disabled: " + e.DisabledReason
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", e.ID, e.URL, strings.Join(e.Events, ","), state, oneLine(e.Description, 40))
		}
		return tw.Flush()
	case "remove":
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return errors.New("give the endpoint id to remove\n" + webhookUsage)
		}
		if err := hooks.Remove(admin, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "webhook endpoint %d removed with its delivery log\n", id)
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
		fmt.Fprintln(tw, "ID\tEVENT\tTYPE\tBOOKING\tSTATE\tATTEMPTS\tSTATUS\tLAST TRY (UTC)\tNEXT TRY (UTC)\tLAST ERROR")
		for _, d := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", d.ID, d.EventID, d.EventType, idOrDash(d.BookingID),
				d.State, d.Attempts, idOrDash(int64(d.LastStatus)), timeOrDash(d.LastAttemptAt), timeOrDash(d.NextTryAt), oneLine(d.LastError, 80))
		}
		return tw.Flush()
	}
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
