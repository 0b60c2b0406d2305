package main

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"tssgate/internal/governance"
	"tssgate/internal/metrics"
	"tssgate/internal/policy"
	"tssgate/internal/protocol"
	"tssgate/internal/server"
	"tssgate/internal/store"
	"tssgate/internal/store/backend"
	"tssgate/internal/token"
	"tssgate/internal/txverify"
)

// Dev-mode simulated TSS Node key pair, under the data directory.
const (
	devNodeDir     = "dev-tss-node"
	devNodePriv    = "tss-node-callback-pri.pem"
	devNodePub     = "tss-node-callback-pub.key"
	devNodeKeyName = "dev-simulated-node"
)

const serveUsage = `Usage: tssgate serve [flags]

Answers Cobo TSS Node callbacks on POST /v1/check and POST /v2/check (one
listener), plus GET /ping, /healthz and /readyz (not ready while a decision
could not be recorded: a write probe, at most once a second, and the latest
commit). Every check gets HTTP 200
with an RS256-signed reply; only a complete evaluation that approves yields
APPROVE.

With no flags it runs on embedded defaults: listens on 127.0.0.1:11020 (use
--listen 0.0.0.0:11020 for a TSS Node on another host), keeps its data in
./tssgate-data, generates the server key pair there on first run (the TSS
Node needs the printed public key), and trusts the TSS Node key at
configs/tss-node-callback-pub.key if that file exists. Without any TSS Node
key every check is answered with status 20.

Settings are layered: defaults < --config file < TSSGATE_* env < flags.
Everything is checked (settings, key files, the TLS pair, the policy) and
the listener bound before anything is created (data folder, keys, store).
--dev is refused unless the listener is loopback and no TSS Node key is
configured.
`

// serveFlags returns serve's flag set: one flag per setting that has one.
func serveFlags() (*flag.FlagSet, *settingFlags) {
	fs := newFlagSet("serve")
	var names []string
	for _, s := range settings {
		if s.flag != "" {
			names = append(names, s.name)
		}
	}
	return fs, addSettingFlags(fs, names...)
}

// loadConfig builds serve's effective configuration from defaults, the
// config file, the environment and the command line (see loadSettings).
// Errors are returned, never printed: the writer is unused.
func loadConfig(args []string, env environment, _ io.Writer) (Config, error) {
	fs, sf := serveFlags()
	if err := fs.Parse(args); err != nil {
		return Config{}, flagError(err)
	}
	if err := noArgs(fs); err != nil {
		return Config{}, err
	}
	return loadSettings(sf, env)
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if cfg.Debug {
		opts.Level = slog.LevelDebug
	}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, sf := serveFlags()
	if code, done := parseFlags(fs, args, serveUsage, stdout, stderr); done {
		return code
	}
	if err := noArgs(fs); err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 2
	}
	cfg, err := loadSettings(sf, osEnvironment())
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	// Check everything that can be checked without creating anything, then
	// bind: a bad key file or a busy port leaves no data folder, key pair
	// or empty database behind.
	pre, err := prepareServe(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "serve: listen (%s, from %s): %v\n", cfg.Listen, cfg.origin("listen"), err)
		return 1
	}
	defer ln.Close() // after Serve it is closed already; before, it must not leak
	var mln net.Listener
	if cfg.MetricsListen != "" {
		// Bound before anything is created, like the check port: a busy
		// metrics port is a refusal, not a server nobody can watch.
		if mln, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			fmt.Fprintf(stderr, "serve: metrics listen (%s, from %s): %v\n", cfg.MetricsListen, cfg.origin("metrics_listen"), err)
			return 1
		}
		defer mln.Close()
	}
	if a, ok := ln.Addr().(*net.TCPAddr); cfg.Dev && (!ok || !a.IP.IsLoopback()) {
		// The address checked at validation is the one bound; this only
		// makes sure of it before the simulated key is trusted.
		fmt.Fprintf(stderr, "serve: dev mode: the listener is bound to %s, which is not loopback; refused\n", ln.Addr())
		return 1
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	defer st.Close()
	fmt.Fprintf(stdout, "tssgate: decision store %s\n", backend.Redact(cfg.StoreDSN()))
	// Which build is running matters for capacity planning and for FIPS
	// questions; say it once, where the operator reads the other facts.
	fmt.Fprintf(stdout, "tssgate: RSA by %s\n", token.CryptoBackend())
	// GOGC and GOMEMLIMIT, when set, win over the defaults.
	gcPercent, memLimit := server.TuneGC(os.Getenv)
	fmt.Fprintf(stdout, "tssgate: garbage collector GOGC=%d GOMEMLIMIT=%s\n", gcPercent, memoryLimitText(memLimit))
	// The governance in force, then the policy under it: a policy that is
	// not signed by its quorum, or whose load cannot be recorded, is not
	// served at all.
	if err := checkGovernancePin(ctx, st, cfg.DataDir, cfg.StoreDSN()); err != nil {
		fmt.Fprintf(stderr, "serve: governance: %v\n", err)
		return 1
	}
	if err := checkGovernanceTable(ctx, st); err != nil {
		fmt.Fprintf(stderr, "serve: governance: %v\n", err)
		return 1
	}
	gov, err := establishGovernance(ctx, st, cfg.Governance, pre.govFile, log, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "serve: governance: %v\n", err)
		return 1
	}
	govSHA := ""
	if gov != nil {
		govSHA = gov.SHA256
	}
	// The pin moves forward now (the adoption), after the policy load
	// below, periodically while serving and at shutdown (pin.go).
	if err := updateGovernancePin(ctx, st, cfg.DataDir, govSHA); err != nil {
		fmt.Fprintf(stderr, "serve: governance: %v\n", err)
		return 1
	}
	if pre.policy != nil {
		pre.gate = &policyGate{st: st, path: cfg.Policy, govern: gov != nil}
		load, err := pre.gate.admit(pre.policy)
		if err != nil {
			fmt.Fprintf(stderr, "serve: policy %s refused: %v\n", cfg.Policy, err)
			return 1
		}
		if gov != nil {
			fmt.Fprintf(stdout, "tssgate: policy serial %d, manifest sha256 %s signed by %s (%d of %d required)\n",
				load.Serial, load.ManifestSHA256, signerNames(load.Signers), len(load.Signers), gov.Threshold)
		}
	} else if gov != nil {
		fmt.Fprintln(stdout, "tssgate: governance is configured without a policy: every key task is rejected")
	}
	if err := updateGovernancePin(ctx, st, cfg.DataDir, govSHA); err != nil {
		fmt.Fprintf(stderr, "serve: governance: %v\n", err)
		return 1
	}
	if err := pre.createKeys(cfg, log); err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	h, rl, err := buildServer(cfg, log, stdout, st, pre)
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	if rl.holder != nil {
		go rl.holder.Watch(ctx, cfg.PolicyPoll, log)
	}
	if rl.guard != nil {
		go rl.guard.run(ctx, min(cfg.PolicyPoll, supersedeEvery), log)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go rl.onSignal(ctx, hup)
	go logHeads(ctx, st, cfg.HeadLogInterval, log)
	// The pin keeper stops with serve, whatever ends it, and its shutdown
	// update reaches the store before the store is closed.
	pinCtx, stopPin := context.WithCancel(ctx)
	pinDone := make(chan struct{})
	go func() { defer close(pinDone); keepGovernancePin(pinCtx, st, cfg.DataDir, pinInterval, log) }()
	defer func() { stopPin(); <-pinDone }()
	go watchFreezes(ctx, st, rl.m, freezePoll, log)
	if mln != nil {
		// The same timeouts as the check listener, and a small connection
		// cap of its own: a scraper needs one connection, and the freeze
		// endpoint must stay reachable however many idle connections
		// somebody opens (the oldest idle one is closed to make room).
		msrv := server.NewHTTPServer(metricsMux(rl.m, adminHandler(pre.adminToken, st, log)), cfg.Timeouts)
		msrv.ErrorLog = server.ErrorLog(log)
		mlimited := server.LimitConnections(msrv, mln, metricsMaxConnections)
		go func() {
			if err := msrv.Serve(mlimited); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server stopped", slog.Any("error", err))
			}
		}()
		defer msrv.Close()
		fmt.Fprintf(stdout, "tssgate: metrics on http://%s/metrics\n", mln.Addr())
		log.Info("metrics endpoint up", slog.String("address", mln.Addr().String()))
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	addr := ln.Addr().String()
	fmt.Fprintf(stdout, "tssgate: listening on %s://%s (/v1/check, /v2/check)\n", scheme, addr)

	t := cfg.Timeouts
	srv := server.NewHTTPServer(h, t)
	srv.ErrorLog = server.ErrorLog(log) // TLS handshake errors into the structured log
	if cfg.TLSCert != "" {
		// The certificate in force, which SIGHUP can swap.
		srv.TLSConfig.GetCertificate = rl.getCertificate
	}
	limited := server.LimitConnections(srv, ln, cfg.MaxConnections)
	if err := server.Serve(ctx, srv, limited, "", "", t.Shutdown); err != nil {
		log.Error("server stopped", slog.Any("error", err))
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	log.Info("shut down cleanly")
	return 0
}

// prepared is what serve checked before binding: every key and file that
// exists is loaded; what is missing and may be generated is noted, and
// created by createKeys only after the listener is bound.
type prepared struct {
	priv        *rsa.PrivateKey // nil: generate at serverKeyPath
	serverKey   string          // the private key's path
	serverPub   string          // the public key's path when tssgate owns the pair, else ""
	nodeKeys    []token.NamedKey
	nodeRefs    []KeyRef // the files of nodeKeys, for reloads
	nodeOrigins []string // where each of nodeKeys came from
	devPub      string   // dev mode: the simulated node's public key path
	policy      *policy.Policy
	verifyTx    protocol.TxVerifier
	adminToken  string                 // the admin endpoint's bearer token; "" without one
	govFile     *governance.Governance // the configured governance file, nil without
	gate        *policyGate            // set once the store is open, with a policy
}

// prepareServe checks the key files and their types, the TLS pair, the
// policy and the token table, creating nothing. Errors name the file and,
// for a value from the config file, its line.
func prepareServe(cfg Config) (*prepared, error) {
	pre := &prepared{serverKey: cfg.ServerKey}
	if fi, err := os.Stat(cfg.DataDir); err == nil && !fi.IsDir() {
		return nil, cfg.origin("data_dir").errorf("data_dir", "%s is not a directory", cfg.DataDir)
	}
	if pre.serverKey == "" {
		pre.serverKey = filepath.Join(cfg.DataDir, token.PrivateKeyFile)
		pre.serverPub = filepath.Join(cfg.DataDir, token.PublicKeyFile)
	}
	if _, err := os.Stat(pre.serverKey); cfg.ServerKey != "" || err == nil {
		k, err := token.LoadPrivateKey(pre.serverKey)
		if err != nil {
			return nil, fmt.Errorf("server key (from %s): %w", cfg.origin("server_key"), err)
		}
		if name, published := token.PublishedKey(&k.PublicKey); published {
			return nil, fmt.Errorf("server key %s (from %s) is %s, whose private key is published: anyone could forge tssgate's replies; create your own with 'tssgate keygen'",
				pre.serverKey, cfg.origin("server_key"), name)
		}
		pre.priv = k
	}
	refs, origins := cfg.TSSNodeKeys, make([]string, len(cfg.TSSNodeKeys))
	for i := range refs {
		origins[i] = cfg.keyOrigin(i).String()
	}
	if len(refs) == 0 {
		if _, err := os.Stat(CoboDefaultTSSNodeKey); err == nil {
			if cfg.Dev {
				return nil, fmt.Errorf("dev: refused: a production TSS Node key is at Cobo's default path %s, which tssgate trusts when no key is configured; run --dev elsewhere", CoboDefaultTSSNodeKey)
			}
			refs = []KeyRef{{Name: filepath.Base(CoboDefaultTSSNodeKey), Path: CoboDefaultTSSNodeKey}}
			origins = []string{"Cobo's default path"}
		}
	}
	for i, r := range refs {
		k, err := token.LoadPublicKey(r.Path)
		if err != nil {
			return nil, fmt.Errorf("TSS Node key %q (from %s): %w", r.Name, origins[i], err)
		}
		if name, published := token.PublishedKey(k); published {
			return nil, fmt.Errorf("TSS Node key %q %s (from %s) is %s, whose private key is published: anyone could sign requests tssgate would accept; configure your TSS Node's own callback key ('tss-node callback key' on the node)",
				r.Name, r.Path, origins[i], name)
		}
		pre.nodeKeys = append(pre.nodeKeys, token.NamedKey{Name: r.Name, Key: k})
		pre.nodeRefs = append(pre.nodeRefs, r)
		origins[i] = r.Path + ", from " + origins[i]
	}
	pre.nodeOrigins = origins[:len(refs)]
	if cfg.Dev {
		pre.devPub = filepath.Join(cfg.DataDir, devNodeDir, devNodePub)
		if _, err := os.Stat(pre.devPub); err == nil {
			if _, err := token.LoadPublicKey(pre.devPub); err != nil {
				return nil, fmt.Errorf("dev: the simulated TSS Node key: %w", err)
			}
		}
	}
	if cfg.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			return nil, fmt.Errorf("TLS: tls_cert %s (from %s) and tls_key %s (from %s): %w",
				cfg.TLSCert, cfg.origin("tls_cert"), cfg.TLSKey, cfg.origin("tls_key"), err)
		}
	}
	if cfg.Policy != "" {
		p, err := policy.Load(cfg.Policy)
		if err != nil {
			return nil, fmt.Errorf("loading policy: %w", err)
		}
		pre.policy = p
	}
	gov, err := readGovernanceFile(cfg)
	if err != nil {
		return nil, err
	}
	pre.govFile = gov
	verifyTx, err := txVerifier(cfg.Tokens, cfg.ABIs)
	if err != nil {
		return nil, err
	}
	pre.verifyTx = verifyTx
	if err := checkStoreDSN(cfg.StoreDSN()); err != nil {
		return nil, cfg.origin("store").errorf("store", "%v", err)
	}
	if cfg.AdminTokenFile != "" {
		tok, err := readAdminToken(cfg.AdminTokenFile)
		if err != nil {
			return nil, cfg.origin("admin_token_file").errorf("admin_token_file", "%v", err)
		}
		pre.adminToken = tok
	}
	return pre, nil
}

// createKeys generates what prepareServe found missing: the server key pair
// in the data directory and, in dev mode, the simulated node's pair.
func (pre *prepared) createKeys(cfg Config, log *slog.Logger) error {
	if pre.priv == nil {
		if _, _, err := token.GenerateKeyPair(cfg.DataDir, 2048, token.PrivateKeyFile, token.PublicKeyFile); err != nil {
			return fmt.Errorf("generating the server key pair: %w", err)
		}
		log.Info("generated the callback server key pair", slog.String("private", pre.serverKey), slog.String("public", pre.serverPub))
		k, err := token.LoadPrivateKey(pre.serverKey)
		if err != nil {
			return err
		}
		pre.priv = k
	}
	if fi, err := os.Stat(pre.serverKey); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("server private key is readable by group or others; chmod 600 it", slog.String("path", pre.serverKey), slog.String("mode", fi.Mode().Perm().String()))
	}
	if cfg.Dev {
		dir := filepath.Join(cfg.DataDir, devNodeDir)
		if _, err := os.Stat(pre.devPub); errors.Is(err, fs.ErrNotExist) {
			if _, _, err := token.GenerateKeyPair(dir, 2048, devNodePriv, devNodePub); err != nil {
				return fmt.Errorf("generating the simulated TSS Node key pair: %w", err)
			}
		}
		k, err := token.LoadPublicKey(pre.devPub)
		if err != nil {
			return err
		}
		pre.nodeKeys = append(pre.nodeKeys, token.NamedKey{Name: devNodeKeyName, Key: k})
		pre.nodeRefs = append(pre.nodeRefs, KeyRef{Name: devNodeKeyName, Path: pre.devPub})
		pre.nodeOrigins = append(pre.nodeOrigins, "--dev, private key "+filepath.Join(dir, devNodePriv))
	}
	return nil
}

// buildServer prints the start-up facts once (server public key, policy,
// every trusted TSS Node key with where it came from) and returns the
// configured handler and the reloader, which holds the policy holder (nil
// without a policy file), the swappable keys and certificate, and the
// metrics.
func buildServer(cfg Config, log *slog.Logger, stdout io.Writer, st store.Store, pre *prepared) (*server.Server, *reloader, error) {
	priv := pre.priv
	if pre.serverPub != "" {
		fmt.Fprintf(stdout, "tssgate: server public key (configure it on the TSS Node as pubkey_path): %s\n", pre.serverPub)
	}
	keys, err := token.NewKeySet(pre.nodeKeys...)
	if err != nil {
		return nil, nil, err
	}
	var (
		decider policy.Decider = policy.Default{}
		holder  *policy.Holder
		guard   *supersedeGuard
	)
	if p := pre.policy; p != nil {
		holder = policy.NewHolder(cfg.Policy, p)
		if g := pre.gate; g != nil {
			var watch []string
			if g.govern {
				watch = append(watch, governance.BundlePath(cfg.Policy))
			}
			holder.SetGate(g.check, watch...)
		}
		decider = holder
		if g := pre.gate; g != nil {
			guard = newSupersedeGuard(context.Background(), holder, st, g.govern)
			decider = guard
		}
		fmt.Fprintf(stdout, "tssgate: policy %s (version %s)\n", cfg.Policy, p.Version())
		for _, w := range p.Summary().Warnings {
			fmt.Fprintln(stdout, "tssgate: WARNING: policy "+w)
		}
	} else {
		fmt.Fprintln(stdout, "tssgate: no policy configured: approving PING only and rejecting every key task")
	}
	if keys.Len() == 0 {
		const msg = "NO TSS NODE PUBLIC KEY CONFIGURED: every check will be answered with status 20 (invalid token). " +
			"Give one with --tss-node-pub, callback_server.client_public_key_path, or put it at " + CoboDefaultTSSNodeKey
		fmt.Fprintln(stdout, "tssgate: WARNING: "+msg)
	} else {
		parts := make([]string, len(pre.nodeKeys))
		for i, k := range pre.nodeKeys {
			parts[i] = fmt.Sprintf("%s (%s)", k.Name, pre.nodeOrigins[i])
		}
		fmt.Fprintf(stdout, "tssgate: trusting TSS Node keys: %s\n", strings.Join(parts, ", "))
	}
	if cfg.Dev {
		fmt.Fprintf(stdout, "tssgate: DEV MODE (NOT FOR PRODUCTION): trusting the simulated TSS Node key %s\n", pre.devPub)
	}
	verifyTx := pre.verifyTx
	rl := &reloader{log: log, holder: holder, guard: guard, keyRefs: pre.nodeRefs, keyPath: pre.serverKey,
		tlsCert: cfg.TLSCert, tlsKey: cfg.TLSKey, errs: map[string]error{}}
	rl.nodeKeys.Store(keys)
	rl.serverKey.Store(priv)
	if cfg.TLSCert != "" {
		c, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, nil, fmt.Errorf("TLS: %w", err)
		}
		rl.cert.Store(&c)
	}
	var srv *server.Server
	policyVersion, limits, rules := "", []string(nil), []metrics.Rule(nil)
	if pre.policy != nil {
		policyVersion = pre.policy.Version()
		limits, rules = policyMetrics(pre.policy)
	}
	m := metrics.New(metrics.Options{
		NodeKeys:      keys.Names(),
		Limits:        limits,
		Rules:         rules,
		PolicyVersion: policyVersion,
		Build:         metrics.BuildFromBinary(version, token.CryptoBackend()),
		Ready:         func() bool { return len(srv.Problems()) == 0 },
	})
	rl.m = m
	if holder != nil {
		holder.SetObserver(func(p *policy.Policy, err error) {
			m.Reloaded(metrics.ReloadPolicy, err)
			m.SetPolicyVersion(p.Version())
			limits, rules := policyMetrics(p)
			m.SetLimits(limits)
			m.SetRules(rules)
		})
	}
	if pre.verifyTx != nil {
		inner := verifyTx
		verifyTx = func(r *protocol.Request) *protocol.Verification {
			v := inner(r)
			if v != nil && !v.Verified {
				m.VerificationFailed(v.Chain, verifyField(v.Reason))
			}
			return v
		}
	}
	// The store's readiness is a real write, not a ping: /readyz is not
	// ready while a decision could not be recorded (see store.Monitor).
	mon := store.NewMonitor(m.WrapStore(st), 0, 0)
	srv, err = server.New(server.Config{
		VerifyTx:      verifyTx,
		Store:         mon,
		Verifier:      &token.Verifier{Source: &rl.nodeKeys, Leeway: cfg.Leeway, MaxLifetime: cfg.MaxTokenLifetime},
		Signer:        &token.Signer{Source: &rl.serverKey, Issuer: cfg.ServiceName, TTL: cfg.TokenExpire},
		Observer:      m,
		Decider:       decider,
		Logger:        log,
		ServiceName:   cfg.ServiceName,
		MaxBodyBytes:  cfg.MaxBodyBytes,
		Debug:         cfg.Debug,
		DecideTimeout: cfg.DecideTimeout,
	})
	if err != nil {
		return nil, nil, err
	}
	srv.AddReadinessCheck("store", mon.Ready)
	if holder != nil {
		srv.AddReadinessCheck("policy", func() error {
			if err := holder.Err(); err != nil {
				return fmt.Errorf("the policy file failed to reload, still serving the previous version %s: %w", holder.Current().Version(), err)
			}
			return nil
		})
	}
	if guard != nil {
		srv.AddReadinessCheck("policy_in_force", guard.ready)
	}
	for _, subject := range []string{metrics.ReloadNodeKeys, metrics.ReloadServer, metrics.ReloadTLS} {
		srv.AddReadinessCheck("reload_"+subject, rl.readiness(subject))
	}
	srv.AddReadinessDetail("tss_node_keys_last_verified", func() any { return m.LastVerified() })
	return srv, rl, nil
}

// policyMetrics returns p's limit names and its rules (with "default"),
// whose series the metrics start with.
func policyMetrics(p *policy.Policy) ([]string, []metrics.Rule) {
	sum := p.Summary()
	var limits []string
	for _, l := range sum.Limits {
		limits = append(limits, l.Name)
	}
	rules := []metrics.Rule{{Name: "default", Action: sum.Default}}
	for _, r := range sum.Rules {
		if r.Mode != policy.ModeShadow {
			rules = append(rules, metrics.Rule{Name: r.Name, Action: r.Action})
		}
	}
	return limits, rules
}

// verifyField is the failing field a verification reason starts with
// ("destination: …"), as txverify writes it; metrics bound the label.
func verifyField(reason string) string {
	field, _, _ := strings.Cut(reason, ":")
	return field
}

// metricsMux serves /metrics on the metrics listener, and POST
// /admin/freeze when admin is not nil (an admin token is configured).
func metricsMux(m *metrics.Metrics, admin http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	if admin != nil {
		mux.Handle("/admin/freeze", admin)
	}
	return mux
}

// txVerifier returns KEYSIGN transaction verification with the built-in
// token table extended by the configured tokens, and contract calls decoded
// with the configured ABIs as well as the built-in ones.
func txVerifier(tokens []txverify.Token, abis []txverify.ABIEntry) (protocol.TxVerifier, error) {
	reg, err := txverify.DefaultRegistry().With(tokens...)
	if err != nil {
		return nil, fmt.Errorf("tssgate.tokens: %w", err)
	}
	if reg, err = reg.WithABIs(abis...); err != nil {
		return nil, fmt.Errorf("tssgate.abis: %w", err)
	}
	return func(r *protocol.Request) *protocol.Verification { return reg.Verify(r).Verification() }, nil
}

// metricsMaxConnections caps the metrics/admin listener's connections.
const metricsMaxConnections = 32

// memoryLimitText spells a memory limit as GOMEMLIMIT would: MiB when
// whole, bytes otherwise, "off" for none.
func memoryLimitText(n int64) string {
	switch {
	case n == math.MaxInt64:
		return "off"
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	}
	return strconv.FormatInt(n, 10)
}
