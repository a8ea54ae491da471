// Command examgate runs the exam gateway.
//
//	examgate [serve] [flags]   run the server (migrates first)
//	examgate migrate [flags]   apply database migrations and exit
//	examgate accommodation set|list ...   extra exam time per candidate
//	examgate deliveries list|retry ...    results on their way to TI
//	examgate lti add-platform|list-platforms|tool-urls|rotate-key|keys ...   LTI 1.3 platforms and tool keys
//	examgate webhook add|list|remove|deliveries ...   partner webhooks
//	examgate apikey create|list|revoke ... partner and staff API keys
//	examgate ti check                     prove the Thought Industries setup
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/examgate/examgate"
	"github.com/examgate/examgate/db"
	"github.com/examgate/examgate/frontend"
	"github.com/examgate/examgate/logbuf"
	"github.com/examgate/examgate/mail"
	"github.com/examgate/examgate/server"
	"github.com/examgate/examgate/tiapi"
	"github.com/examgate/examgate/tiapi/titest"
)

//go:embed demo-exams.yaml
var demoExams []byte

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "examgate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "migrate" {
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "serve" {
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "accommodation" {
		return accommodation(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "deliveries" {
		return deliveries(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "lti" {
		return ltiMain(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "webhook" {
		return webhook(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "ti" {
		return tiMain(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "apikey" {
		return apikey(ctx, args[1:], getenv, stdout, stderr)
	}
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	logger, logs := newLogger(cfg, stdout)
	// Last, after the store has closed: every line of the shutdown is out.
	defer logs.Close()

	store, err := openStore(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	return serve(ctx, cfg, store, logger)
}

// newLogger logs to out through a buffer: a request's line costs no write
// of its own. Lines are at most logbuf.Interval late; warnings and errors
// go out at once, and Close writes out the rest.
func newLogger(cfg *config, out io.Writer) (*slog.Logger, *logbuf.Writer) {
	w := logbuf.New(out)
	var h slog.Handler
	if cfg.Demo {
		h = slog.NewTextHandler(w, nil)
	} else {
		h = slog.NewJSONHandler(w, nil)
	}
	return slog.New(server.LogHandler{Handler: logbuf.Handler{Handler: h, W: w}}), w
}

func loadCatalog(cfg *config) (*examgate.Catalog, error) {
	if cfg.ExamsFile == "" && cfg.Demo {
		return examgate.ParseCatalog(demoExams)
	}
	return examgate.LoadCatalog(cfg.ExamsFile)
}

func serve(ctx context.Context, cfg *config, store *db.DB, logger *slog.Logger) error {
	catalog, err := loadCatalog(cfg)
	if err != nil {
		return err
	}
	for _, e := range catalog.Exams() {
		if e.Delivery != nil && e.TI.CourseSlug == "" {
			logger.Warn("exam has no ti.courseSlug: after a fail, the course cannot be reset in TI", "exam", e.Code)
		}
	}
	if cfg.TIOff {
		logger.Warn("no TI setting is given: only LTI launches are accepted (set EXAMGATE_TI_* to accept TI launches too)")
	}
	base, _ := url.Parse(cfg.BaseURL)
	clock := examgate.SystemClock{}
	store.SetSessionIdle(cfg.SessionIdle)
	metrics := server.NewMetrics()
	metrics.WatchStore(store, clock)
	ti := tiapi.NewClient(cfg.TIBaseURL, cfg.TIAPIKey)
	ti.Logger = logger
	ti.HTTP.Transport = metrics.Transport("ti", ti.HTTP.Transport)
	if cfg.TIPlan.PerMinute > 0 {
		ti.UsePlan(cfg.TIPlan) // TI counts requests per API key
	}

	worker := &examgate.Worker{Store: store, Clock: clock, Logger: logger, Lease: cfg.JobLease}
	delivery := &examgate.ResultDelivery{Store: store, TI: tiResults{ti}, Catalog: catalog, Clock: clock, Logger: logger}
	worker.Handle(examgate.JobTIResult, delivery.HandleResult)
	worker.Handle(examgate.JobTIReset, delivery.HandleReset)
	worker.Handle(examgate.JobLTIScore, ltiScoreHandler(store, store, clock, logger, metrics))
	var demo *server.Demo
	var sender mail.Sender
	switch {
	case cfg.Demo:
		sink := &mail.Sink{From: cfg.MailFrom}
		demo = &server.Demo{TI: titest.New(cfg.TIAPIKey), Secret: cfg.TISecrets[0], Mail: sink}
		for _, e := range catalog.Exams() {
			for _, id := range e.TI.CourseIDs {
				demo.TI.AddCourse(titest.Course{ID: id, Slug: e.TI.CourseSlug, Title: e.Title})
			}
		}
		demo.Check = func(ctx context.Context) []tiapi.CheckLine {
			return tiapi.Check(ctx, tiapi.CheckSetup{Client: ti, Exams: catalog.Exams(), Secrets: len(cfg.TISecrets), Plan: cfg.TIPlan})
		}
		demo.LTI, demo.LTIScores, demo.LTICourseIDSource = demoLTIPlatform(ctx, cfg, store, clock, logger)
		sender = sink
		logger.Warn("demo mode: the built-in TI simulator is mounted at /ti-sim and emails stay on /demo; never use demo mode in production")
	case cfg.SMTPURL != "":
		if sender, err = mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom); err != nil {
			return err
		}
	default:
		logger.Warn("EXAMGATE_SMTP_URL is not set: booking emails are queued and go out once it is set")
	}
	if sender != nil {
		jobs := &mail.BookingJobs{Candidates: store, Catalog: catalog, Sender: sender, BaseURL: cfg.BaseURL}
		worker.Handle(examgate.JobBookingEmail, jobs.Handle)
	}
	webhooks, hookWorker := newWebhooks(cfg, store, clock, logger, metrics)
	wake := func() { worker.Wake(); hookWorker.Wake() }
	attempts := &examgate.Attempts{Store: store, Catalog: catalog, Clock: clock, Logger: logger, Wake: wake,
		ResultJobs:   examgate.TIResultJobs,
		ResultEvents: examgate.ResultEventJobs, LTI: store}
	ltiTool, err := setUpLTI(ctx, cfg, base, store, clock, logger)
	if err != nil {
		return err
	}
	bookings := &examgate.Bookings{Store: store, Catalog: catalog, Clock: clock, Logger: logger, Wake: wake, Attempts: attempts,
		Events: examgate.BookingEventJobs}
	app := frontend.App()
	if app == nil {
		logger.Warn("the web app is not built: run `make build` to include it")
	}
	var ready atomic.Bool
	srv := server.New(server.Deps{
		BaseURL: base, Store: store, Catalog: catalog, Clock: clock, Logger: logger,
		Verifier: tiapi.NewLaunchVerifier(cfg.TISecrets, cfg.TISkew, clock),
		Launcher: &examgate.Launcher{
			Store: store, TI: ti, Catalog: catalog, Clock: clock, Logger: logger,
			ReplayWindow: 2 * cfg.TISkew,
		},
		Bookings:    bookings,
		Attempts:    attempts,
		Deliveries:  &examgate.Deliveries{Store: store, Clock: clock, Kinds: []string{examgate.JobTIResult, examgate.JobTIReset, examgate.JobLTIScore}},
		Webhooks:    webhooks,
		AdminKey:    cfg.AdminKey,
		CourseURL:   tiCourseURL(cfg, clock),
		CoursePage:  coursePage(cfg),
		Playground:  cfg.Playground,
		Ready:       ready.Load,
		WorkerAlive: func() bool { return worker.Alive(time.Now()) },
		Metrics:     metrics,
		MetricsKey:  cfg.MetricsKey,
		App:         app,
		Demo:        demo,

		// The /graphql budgets and the partner sites that may call it.
		RateLimits: server.RateLimits{
			Key:     server.Budget{Rate: float64(cfg.KeyRateLimit) / 60, Burst: cfg.KeyRateBurst},
			Learner: server.Budget{Rate: float64(cfg.LearnerRateLimit) / 60, Burst: cfg.LearnerRateBurst},
		},
		CORSOrigins: cfg.CORSOrigins,
		LTITool:     ltiTool,
		LTILaunch:   &examgate.LTILauncher{Store: store, Catalog: catalog, Clock: clock, Logger: logger},
	})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (set EXAMGATE_ADDR to a free address)", cfg.Addr, err)
	}
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Background work gets its own context, cancelled only after the HTTP
	// server has drained, and is waited for before the store closes, so that
	// a job interrupted by shutdown is put back rather than left to its lease.
	bgCtx, stopBackground := context.WithCancel(context.Background())
	var background sync.WaitGroup
	background.Go(func() { sweep(bgCtx, store, bookings, attempts, clock, logger) })
	runWebhookWorkers(bgCtx, &background, hookWorker, logger)
	background.Go(func() {
		if err := worker.Run(bgCtx); err != nil {
			logger.Error("job worker stopped", "err", err)
		}
	})
	defer func() {
		stopBackground()
		background.Wait()
	}()
	ready.Store(true)
	logger.Info("examgate listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL,
		"database", describeDatabase(cfg.DatabaseURL), "exams", len(catalog.Exams()), "demo", cfg.Demo, "playground", cfg.Playground)
	if cfg.Demo {
		logger.Info("open the demo", "url", cfg.BaseURL+"/demo", "admin_api_key", cfg.AdminKey)
	}

	errc := make(chan error, 2)
	go func() { errc <- httpServer.Serve(ln) }()
	if cfg.MetricsAddr != "" {
		// A listener of its own, for a private network: no key asked.
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s for metrics: %w (set EXAMGATE_METRICS_ADDR to a free address)", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", metrics.Handler(cfg.MetricsKey))
		metricsServer := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second}
		defer metricsServer.Close()
		go func() {
			if err := metricsServer.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		logger.Info("metrics listening", "addr", mln.Addr().String())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sweep marks no-shows, closes abandoned attempts and forgets expired LTI
// logins every minute, and deletes expired sessions and replay records
// every hour. Both are idempotent, so several processes may sweep.
func sweep(ctx context.Context, store *db.DB, bookings *examgate.Bookings, attempts *examgate.Attempts, clock examgate.Clock, logger *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	var lastCleanup time.Time
	for {
		if _, err := bookings.SweepNoShows(ctx); err != nil && ctx.Err() == nil {
			logger.Error("marking no-shows failed", "err", err)
		}
		if _, err := attempts.SweepOverdue(ctx); err != nil && ctx.Err() == nil {
			logger.Error("closing overdue attempts failed", "err", err)
		}
		if err := store.DeleteExpiredLTI(ctx, clock.Now()); err != nil && ctx.Err() == nil {
			logger.Error("deleting expired LTI logins failed", "err", err)
		}
		if now := clock.Now(); now.Sub(lastCleanup) >= time.Hour {
			if err := store.DeleteExpired(ctx, now); err != nil && ctx.Err() == nil {
				logger.Error("deleting expired sessions failed", "err", err)
			}
			lastCleanup = now
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
