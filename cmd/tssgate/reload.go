package main

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"tssgate/internal/metrics"
	"tssgate/internal/policy"
	"tssgate/internal/store"
	"tssgate/internal/token"
)

// reloader owns what SIGHUP reloads besides the policy: the TSS Node public
// keys, the server key pair and the TLS certificate. Each is read from the
// files serve started with, validated as at start, and swapped in whole
// (an atomic pointer each, read once per request), so a request sees the
// old set or the new one, never a mix. A file that fails keeps what is
// serving, is logged, and makes /readyz 503 naming it until a reload of it
// succeeds.
type reloader struct {
	log     *slog.Logger
	m       *metrics.Metrics
	holder  *policy.Holder  // nil without a policy file
	guard   *supersedeGuard // wraps holder; nil without a policy file
	keyRefs []KeyRef        // the TSS Node key files, dev key included
	keyPath string          // the server private key
	tlsCert string          // "" without TLS
	tlsKey  string

	nodeKeys  atomic.Pointer[token.KeySet]
	serverKey atomic.Pointer[rsa.PrivateKey]
	cert      atomic.Pointer[tls.Certificate]

	mu   sync.Mutex
	errs map[string]error // by metrics.Reload* subject; nil entries absent
}

// loadNodeKeys loads each TSS Node key file as serve's start does, with
// the published-key refusal, and builds the set.
func loadNodeKeys(refs []KeyRef) (*token.KeySet, error) {
	keys := make([]token.NamedKey, 0, len(refs))
	for _, r := range refs {
		k, err := token.LoadPublicKey(r.Path)
		if err != nil {
			return nil, fmt.Errorf("TSS Node key %q: %w", r.Name, err)
		}
		if name, published := token.PublishedKey(k); published {
			return nil, fmt.Errorf("TSS Node key %q %s is %s, whose private key is published; refused", r.Name, r.Path, name)
		}
		keys = append(keys, token.NamedKey{Name: r.Name, Key: k})
	}
	return token.NewKeySet(keys...)
}

// loadServerKey loads the server private key as serve's start does and
// signs once with it, so a key the build cannot use is never swapped in.
func loadServerKey(path string) (*rsa.PrivateKey, error) {
	k, err := token.LoadPrivateKey(path)
	if err != nil {
		return nil, err
	}
	if name, published := token.PublishedKey(&k.PublicKey); published {
		return nil, fmt.Errorf("server key %s is %s, whose private key is published; refused", path, name)
	}
	if err := token.CheckSigningKey(k); err != nil {
		return nil, fmt.Errorf("server key %s: %w", path, err)
	}
	return k, nil
}

// getCertificate serves the certificate in force (tls.Config.GetCertificate).
func (r *reloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c := r.cert.Load(); c != nil {
		return c, nil
	}
	return nil, errors.New("no TLS certificate loaded")
}

// reloadAll reloads every subject; each failure is logged and kept for
// /readyz, and the others still reload.
func (r *reloader) reloadAll() {
	if r.holder != nil {
		err := r.holder.Reload()
		if err != nil {
			r.log.Error("policy reload failed; keeping the previous policy", slog.Any("error", err))
		} else {
			r.log.Info("policy reloaded", slog.String("policy_version", r.holder.Current().Version()))
		}
	}
	r.reload(metrics.ReloadNodeKeys, func() (string, error) {
		ks, err := loadNodeKeys(r.keyRefs)
		if err != nil {
			return "", err
		}
		r.nodeKeys.Store(ks)
		r.m.SetNodeKeys(ks.Names())
		return fmt.Sprint(ks.Names()), nil
	})
	r.reload(metrics.ReloadServer, func() (string, error) {
		k, err := loadServerKey(r.keyPath)
		if err != nil {
			return "", err
		}
		r.serverKey.Store(k)
		if fi, err := os.Stat(r.keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
			r.log.Warn("server private key is readable by group or others; chmod 600 it", slog.String("path", r.keyPath), slog.String("mode", fi.Mode().Perm().String()))
		}
		return r.keyPath, nil
	})
	if r.tlsCert != "" {
		r.reload(metrics.ReloadTLS, func() (string, error) {
			c, err := tls.LoadX509KeyPair(r.tlsCert, r.tlsKey)
			if err != nil {
				return "", fmt.Errorf("tls_cert %s and tls_key %s: %w", r.tlsCert, r.tlsKey, err)
			}
			r.cert.Store(&c)
			return r.tlsCert, nil
		})
	}
}

func (r *reloader) reload(subject string, load func() (string, error)) {
	what, err := load()
	r.m.Reloaded(subject, err)
	r.mu.Lock()
	if err != nil {
		r.errs[subject] = err
	} else {
		delete(r.errs, subject)
	}
	r.mu.Unlock()
	if err != nil {
		r.log.Error("reload failed; keeping the previous one", slog.String("subject", subject), slog.Any("error", err))
		return
	}
	r.log.Info("reloaded", slog.String("subject", subject), slog.String("from", what))
}

// readiness is the /readyz check of one subject: the last reload's error.
func (r *reloader) readiness(subject string) func() error {
	return func() error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := r.errs[subject]; err != nil {
			return fmt.Errorf("the last reload failed, still serving the previous one: %w", err)
		}
		return nil
	}
}

// onSignal reloads on each SIGHUP until ctx is done.
func (r *reloader) onSignal(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.reloadAll()
		}
	}
}

// logHeads logs the decision log's head (its newest record's seq and
// hash) every interval until ctx is done, so that a log shipper carries it
// off the machine: `tssgate audit verify --head HASH` later proves that
// the chain still contains it, so a truncated or rewritten tail shows.
// The same head is not logged twice in a row.
func logHeads(ctx context.Context, st store.Store, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var head *store.Record
		qctx, cancel := context.WithTimeout(ctx, interval)
		err := st.List(qctx, store.Filter{Limit: 1, Newest: true}, func(r *store.Record) error { head = r; return nil })
		cancel()
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			return
		case err != nil:
			log.Error("reading the decision log head failed", slog.Any("error", err))
		case head == nil, head.Hash == last:
		default:
			last = head.Hash
			log.Info("decision log head", slog.Int64("seq", head.Seq), slog.String("head", head.Hash),
				slog.String("request_id", head.RequestID))
		}
	}
}
