package main

import (
	"context"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

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

// keyRefs is a repeatable --tss-node-pub flag.
type keyRefs []KeyRef

func (k *keyRefs) String() string {
	parts := make([]string, len(*k))
	for i, r := range *k {
		parts[i] = r.Path
	}
	return strings.Join(parts, ",")
}

func (k *keyRefs) Set(s string) error {
	r, err := parseKeyRef(s)
	if err != nil {
		return err
	}
	*k = append(*k, r)
	return nil
}

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

Flags:
`

// loadConfig builds the effective configuration from defaults, the config
// file, the environment and the command line.
func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fset := flag.NewFlagSet("serve", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var (
		configPath  = fset.String("config", "", "YAML config file (Cobo's callback_server keys plus tssgate's own); env TSSGATE_CONFIG")
		listen      = fset.String("listen", "", "listen address (default 127.0.0.1:11020); env TSSGATE_LISTEN")
		serverKey   = fset.String("server-key", "", "callback server private key PEM (PKCS#1 or PKCS#8); default DATA/callback-server-pri.pem, generated on first run; env TSSGATE_SERVER_KEY")
		dataDir     = fset.String("data-dir", "", "data directory (default ./tssgate-data); env TSSGATE_DATA_DIR")
		serviceName = fset.String("service-name", "", "name reported by /ping and used as the reply iss (default callback-server); env TSSGATE_SERVICE_NAME")
		expire      = fset.Int("token-expire-minutes", 0, "lifetime of reply tokens in minutes (default 2); env TSSGATE_TOKEN_EXPIRE_MINUTES")
		leeway      = fset.Duration("leeway", 0, "clock skew tolerated on request exp/nbf/iat (default 30s); env TSSGATE_LEEWAY")
		maxBody     = fset.Int64("max-body-bytes", 0, "request body cap (default 1048576); env TSSGATE_MAX_BODY_BYTES")
		maxLife     = fset.Duration("max-token-lifetime", 0, "longest a request token may still be valid on arrival: exp further ahead is status 20 (default 15m); env TSSGATE_MAX_TOKEN_LIFETIME")
		maxConns    = fset.Int("max-connections", 0, "open client connections at most; when full, the longest-idle one is closed for a new one (default 256); env TSSGATE_MAX_CONNECTIONS")
		tlsCert     = fset.String("tls-cert", "", "TLS certificate PEM: serve HTTPS; env TSSGATE_TLS_CERT")
		tlsKey      = fset.String("tls-key", "", "TLS private key PEM; env TSSGATE_TLS_KEY")
		dev         = fset.Bool("dev", false, "also generate and trust a simulated TSS Node key (for `tssgate simulate`); NOT FOR PRODUCTION; env TSSGATE_DEV")
		debugLog    = fset.Bool("debug", false, "debug logging, including decoded payloads (enable_debug); env TSSGATE_DEBUG")
		logFormat   = fset.String("log-format", "", "json or text (default json); env TSSGATE_LOG_FORMAT")
		storeDSN    = fset.String("store", "", "decision store: sqlite:PATH or postgres://URL (default sqlite:DATA/tssgate.db); env TSSGATE_STORE")
		policyPoll  = fset.Duration("policy-poll", 0, "how often the policy file (and its list files) is checked for changes (default 2s); env TSSGATE_POLICY_POLL")
		policyPath  = fset.String("policy", "", "policy file (YAML with CEL rules); reloaded on SIGHUP and when it changes; default: approve PING, reject every key task; env TSSGATE_POLICY")
		nodeKeys    keyRefs
	)
	fset.Var(&nodeKeys, "tss-node-pub", "TSS Node public key, `[NAME=]PEM` (repeatable: several nodes or a key rotation; NAME defaults to the file name); env TSSGATE_TSS_NODE_PUB (comma-separated)")
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), serveUsage)
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		return Config{}, err
	}
	if fset.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments %q", fset.Args())
	}

	cfg := DefaultConfig()
	path := *configPath
	if path == "" {
		path = getenv("TSSGATE_CONFIG")
	}
	if path != "" {
		if err := cfg.applyFile(path); err != nil {
			return Config{}, err
		}
	}
	if err := cfg.applyEnv(getenv); err != nil {
		return Config{}, err
	}
	fset.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "listen":
			cfg.Listen = *listen
		case "server-key":
			cfg.ServerKey = *serverKey
		case "data-dir":
			cfg.DataDir = *dataDir
		case "service-name":
			cfg.ServiceName = *serviceName
		case "token-expire-minutes":
			cfg.TokenExpire = time.Duration(*expire) * time.Minute
		case "leeway":
			cfg.Leeway = *leeway
		case "max-body-bytes":
			cfg.MaxBodyBytes = *maxBody
		case "max-token-lifetime":
			cfg.MaxTokenLifetime = *maxLife
		case "max-connections":
			cfg.MaxConnections = *maxConns
		case "tls-cert":
			cfg.TLSCert = *tlsCert
		case "tls-key":
			cfg.TLSKey = *tlsKey
		case "dev":
			cfg.Dev = *dev
		case "debug":
			cfg.Debug = *debugLog
		case "log-format":
			cfg.LogFormat = *logFormat
		case "policy":
			cfg.Policy = *policyPath
		case "policy-poll":
			cfg.PolicyPoll = *policyPoll
		case "store":
			cfg.Store = *storeDSN
		case "tss-node-pub":
			cfg.TSSNodeKeys = append([]KeyRef(nil), nodeKeys...)
		}
	})
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
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
	cfg, err := loadConfig(args, os.Getenv, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	st, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	defer st.Close()
	log.Info("decision store open", slog.String("store", backend.Redact(cfg.StoreDSN())))
	h, holder, err := buildServer(cfg, log, stdout, st)
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	if holder != nil {
		go holder.Watch(ctx, cfg.PolicyPoll, log)
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go reloadOnSignal(ctx, hup, holder, log)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	addr := ln.Addr().String()
	fmt.Fprintf(stdout, "tssgate: listening on %s://%s (/v1/check, /v2/check)\n", scheme, addr)
	log.Info("listening", slog.String("addr", addr), slog.String("scheme", scheme))

	t := server.DefaultTimeouts()
	srv := server.NewHTTPServer(h, t)
	srv.ErrorLog = server.ErrorLog(log) // TLS handshake errors into the structured log
	limited := server.LimitConnections(srv, ln, cfg.MaxConnections)
	if err := server.Serve(ctx, srv, limited, cfg.TLSCert, cfg.TLSKey, t.Shutdown); err != nil {
		log.Error("server stopped", slog.Any("error", err))
		fmt.Fprintf(stderr, "serve: %v\n", err)
		return 1
	}
	log.Info("shut down cleanly")
	return 0
}

// reloadOnSignal reloads the policy on each SIGHUP until ctx is done. A
// broken file keeps the old policy; Holder records why for /readyz.
func reloadOnSignal(ctx context.Context, hup <-chan os.Signal, h *policy.Holder, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := h.Reload(); err != nil {
				log.Error("policy reload failed; keeping the previous policy", slog.Any("error", err))
				continue
			}
			log.Info("policy reloaded", slog.String("policy_version", h.Current().Version()))
		}
	}
}

// buildServer loads or creates the keys, loads the policy if one is
// configured, and returns the configured handler and the policy holder (nil
// without a policy file).
func buildServer(cfg Config, log *slog.Logger, stdout io.Writer, st store.Store) (*server.Server, *policy.Holder, error) {
	priv, err := loadServerKey(cfg, log, stdout)
	if err != nil {
		return nil, nil, err
	}
	nodeKeys, err := loadNodeKeys(cfg, log, stdout)
	if err != nil {
		return nil, nil, err
	}
	keys, err := token.NewKeySet(nodeKeys...)
	if err != nil {
		return nil, nil, err
	}
	var (
		decider policy.Decider = policy.Default{}
		holder  *policy.Holder
	)
	if cfg.Policy != "" {
		p, err := policy.Load(cfg.Policy)
		if err != nil {
			return nil, nil, fmt.Errorf("loading policy: %w", err)
		}
		holder = policy.NewHolder(cfg.Policy, p)
		decider = holder
		log.Info("policy loaded", slog.String("path", cfg.Policy), slog.String("policy_version", p.Version()))
		fmt.Fprintf(stdout, "tssgate: policy %s (version %s)\n", cfg.Policy, p.Version())
	} else {
		log.Warn("no policy configured: approving PING only and rejecting every key task")
	}
	if keys.Len() == 0 {
		const msg = "NO TSS NODE PUBLIC KEY CONFIGURED: every check will be answered with status 20 (invalid token). " +
			"Give one with --tss-node-pub, callback_server.client_public_key_path, or put it at " + CoboDefaultTSSNodeKey
		log.Error(msg)
		fmt.Fprintln(stdout, "tssgate: WARNING: "+msg)
	} else {
		log.Info("trusting TSS Node keys", slog.Any("names", keys.Names()))
	}
	verifyTx, err := txVerifier(cfg.Tokens)
	if err != nil {
		return nil, nil, err
	}
	// The store's readiness is a real write, not a ping: /readyz is not
	// ready while a decision could not be recorded (see store.Monitor).
	mon := store.NewMonitor(st, 0, 0)
	srv, err := server.New(server.Config{
		VerifyTx:     verifyTx,
		Store:        mon,
		Verifier:     &token.Verifier{Keys: keys, Leeway: cfg.Leeway, MaxLifetime: cfg.MaxTokenLifetime},
		Signer:       &token.Signer{Key: priv, Issuer: cfg.ServiceName, TTL: cfg.TokenExpire},
		Decider:      decider,
		Logger:       log,
		ServiceName:  cfg.ServiceName,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Debug:        cfg.Debug,
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
	return srv, holder, nil
}

// loadServerKey loads the configured private key, or the one in the data
// directory, generating that pair on first run.
func loadServerKey(cfg Config, log *slog.Logger, stdout io.Writer) (*rsa.PrivateKey, error) {
	path := cfg.ServerKey
	if path == "" {
		path = filepath.Join(cfg.DataDir, token.PrivateKeyFile)
		pubPath := filepath.Join(cfg.DataDir, token.PublicKeyFile)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if _, _, err := token.GenerateKeyPair(cfg.DataDir, 2048, token.PrivateKeyFile, token.PublicKeyFile); err != nil {
				return nil, fmt.Errorf("generating the server key pair: %w", err)
			}
			log.Info("generated the callback server key pair", slog.String("private", path), slog.String("public", pubPath))
		}
		fmt.Fprintf(stdout, "tssgate: server public key (configure it on the TSS Node as pubkey_path): %s\n", pubPath)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("server private key is readable by group or others; chmod 600 it", slog.String("path", path), slog.String("mode", fi.Mode().Perm().String()))
	}
	return token.LoadPrivateKey(path)
}

// loadNodeKeys loads the configured TSS Node public keys, falling back to
// Cobo's default path, and in dev mode adds a generated simulated node key.
func loadNodeKeys(cfg Config, log *slog.Logger, stdout io.Writer) ([]token.NamedKey, error) {
	refs := cfg.TSSNodeKeys
	if len(refs) == 0 {
		if _, err := os.Stat(CoboDefaultTSSNodeKey); err == nil {
			refs = []KeyRef{{Name: filepath.Base(CoboDefaultTSSNodeKey), Path: CoboDefaultTSSNodeKey}}
		}
	}
	var out []token.NamedKey
	for _, r := range refs {
		k, err := token.LoadPublicKey(r.Path)
		if err != nil {
			return nil, fmt.Errorf("TSS Node key %q: %w", r.Name, err)
		}
		out = append(out, token.NamedKey{Name: r.Name, Key: k})
	}
	if cfg.Dev {
		dir := filepath.Join(cfg.DataDir, devNodeDir)
		pubPath := filepath.Join(dir, devNodePub)
		if _, err := os.Stat(pubPath); errors.Is(err, fs.ErrNotExist) {
			if _, _, err := token.GenerateKeyPair(dir, 2048, devNodePriv, devNodePub); err != nil {
				return nil, fmt.Errorf("generating the simulated TSS Node key pair: %w", err)
			}
		}
		k, err := token.LoadPublicKey(pubPath)
		if err != nil {
			return nil, err
		}
		out = append(out, token.NamedKey{Name: devNodeKeyName, Key: k})
		log.Warn("DEV MODE: trusting a locally generated simulated TSS Node key; NOT FOR PRODUCTION", slog.String("private", filepath.Join(dir, devNodePriv)))
		fmt.Fprintf(stdout, "tssgate: DEV MODE (not for production): trusting the simulated TSS Node key %s\n", pubPath)
	}
	return out, nil
}

// txVerifier returns KEYSIGN transaction verification with the built-in
// token table extended by the configured tokens.
func txVerifier(tokens []txverify.Token) (protocol.TxVerifier, error) {
	reg, err := txverify.DefaultRegistry().With(tokens...)
	if err != nil {
		return nil, fmt.Errorf("tssgate.tokens: %w", err)
	}
	return func(r *protocol.Request) *protocol.Verification { return reg.Verify(r).Verification() }, nil
}
