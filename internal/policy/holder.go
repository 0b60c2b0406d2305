package policy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"tssgate/internal/protocol"
	"tssgate/internal/regfile"
)

// Holder keeps the live policy of a running server and replaces it
// atomically on reload. A reload that fails keeps the current policy
// serving and records the error, which the server reports on /readyz until
// a later reload succeeds. A Holder is safe for concurrent use; it
// implements Decider.
type Holder struct {
	path    string
	current atomic.Pointer[Policy]

	mu       sync.Mutex // serializes reloads, guards err, watched and observer
	err      error
	watched  []string // files the last load read or tried to read
	observer func(p *Policy, err error)
	gate     func(p *Policy) error // nil: every loaded policy is used
	extra    []string              // files watched besides the policy's own
}

// SetGate makes every later reload, by Reload or Watch, pass a newly
// loaded policy to gate before using it: an error keeps the current
// policy serving and is the reload's error (recorded for Err, given to the
// observer, returned or logged), as a policy that fails to load is. The
// gate is how serve requires a signed policy and records each policy it
// puts in force before using it. extra are files the gate reads (the
// signature bundle), which Watch polls too, so that adding a signature
// reloads. It runs under the reload lock.
func (h *Holder) SetGate(gate func(p *Policy) error, extra ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gate = gate
	h.extra = append([]string(nil), extra...)
	h.watched = h.withExtra(h.watched)
}

// withExtra returns files followed by the gate's extra files.
func (h *Holder) withExtra(files []string) []string {
	out := append([]string(nil), files...)
	for _, e := range h.extra {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// SetObserver makes fn learn of every reload from now on, by Reload or
// Watch: the policy now serving and the reload's error (nil on success).
// It runs under the reload lock and must be quick; nil stops it.
func (h *Holder) SetObserver(fn func(p *Policy, err error)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.observer = fn
}

// NewHolder returns a Holder serving p, which was loaded from path (Reload
// and Watch read path again). p must not be nil: a server without a policy
// file uses Default and no Holder. NewHolder panics on a nil p, since that
// is a wiring mistake that must not start a server.
func NewHolder(path string, p *Policy) *Holder {
	if p == nil {
		panic("policy: NewHolder needs a loaded policy")
	}
	h := &Holder{path: path, watched: p.files}
	if len(h.watched) == 0 {
		h.watched = []string{path}
	}
	h.current.Store(p)
	return h
}

// Decide evaluates req with the current policy. A reload that happens
// meanwhile does not affect a decision already under way.
func (h *Holder) Decide(ctx context.Context, req *protocol.Request) (Decision, error) {
	return h.current.Load().Decide(ctx, req)
}

// Current returns the policy now serving.
func (h *Holder) Current() *Policy { return h.current.Load() }

// Err returns the error of the last reload, or nil when the last reload
// succeeded (or none has failed since NewHolder).
func (h *Holder) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Reload loads the policy file again. On success the new policy replaces
// the current one and the recorded error is cleared; on failure the
// current policy stays, and the error is recorded and returned (a
// *LoadError when the file was read but refused). Reloading an unchanged
// file swaps in an equivalent policy with the same Version.
func (h *Holder) Reload() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.reloadLocked()
	return err
}

// reloadLocked loads and swaps; changed reports whether the version
// differs from the one serving before.
func (h *Holder) reloadLocked() (changed bool, err error) {
	p, files, err := load(h.path)
	h.watched = h.withExtra(files)
	if err == nil && h.gate != nil {
		err = h.gate(p)
	}
	if err != nil {
		h.err = err
		if h.observer != nil {
			h.observer(h.current.Load(), err)
		}
		return false, err
	}
	old := h.current.Swap(p)
	h.err = nil
	if h.observer != nil {
		h.observer(p, nil)
	}
	return old.Version() != p.Version(), nil
}

// fileState is what Watch compares between polls. Small files are also
// hashed, so that an edit which keeps the size and lands within the
// file system's timestamp granularity is still seen.
type fileState struct {
	exists bool
	size   int64
	mtime  time.Time
	mode   fs.FileMode // the type bits: a file swapped for a pipe changes
	sum    [sha256.Size]byte
}

// readHashable reads a watched file for its hash, opening it as every
// policy read does (regular files only, never blocking) and refusing one
// over hashLimit.
func readHashable(path string) ([]byte, error) {
	f, err := regfile.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, hashLimit+1))
	if err != nil {
		return nil, err
	}
	if len(data) > hashLimit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, hashLimit)
	}
	return data, nil
}

// hashLimit is the largest file Watch hashes on every poll; larger files
// (big lists) are compared by size and modification time only.
const hashLimit = 1 << 20

func statFiles(paths []string) []fileState {
	out := make([]fileState, len(paths))
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		out[i] = fileState{exists: true, size: fi.Size(), mtime: fi.ModTime(), mode: fi.Mode().Type()}
		if !fi.Mode().IsRegular() {
			// A named pipe must never be opened (a plain open blocks the
			// watch for ever); its changed type triggers a reload, which
			// refuses it.
			continue
		}
		if fi.Size() <= hashLimit {
			if data, err := readHashable(p); err == nil {
				out[i].sum = sha256.Sum256(data)
			}
		}
	}
	return out
}

func sameStates(a, b []fileState) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].mode != b[i].mode || a[i].exists != b[i].exists || a[i].size != b[i].size || !a[i].mtime.Equal(b[i].mtime) || a[i].sum != b[i].sum {
			return false
		}
	}
	return true
}

// Watch reloads when the policy file or a list file it uses changes, until
// ctx is done. It polls every interval (no file-notification dependency):
// a change of existence, size or modification time triggers a reload, and
// the content hash (Version) decides whether anything really changed, so a
// touched but unchanged file is not logged as a new policy. A failed reload
// keeps the current policy, is logged once per distinct error, and is
// retried when the files change again. Each poll also refreshes the set of
// watched files, so a list file a broken version was missing is picked up
// when it appears. A nil log discards messages. Watch blocks; run it in its
// own goroutine.
func (h *Holder) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if interval <= 0 {
		interval = 2 * time.Second
	}
	h.mu.Lock()
	watched := h.watched
	h.mu.Unlock()
	// No baseline: the first poll reloads once, which catches a change
	// made between the initial load and this call. An unchanged file
	// yields the same version and logs nothing.
	var last, pending []fileState
	lastErr := ""

	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		h.mu.Lock()
		if !slices.Equal(watched, h.watched) {
			// A reload through Reload (SIGHUP) changed the set of files.
			watched = h.watched
			last = nil
		}
		h.mu.Unlock()
		// The snapshot is taken before loading, so a write that races the
		// load differs from it and triggers another reload next time.
		cur := statFiles(watched)
		if sameStates(last, cur) {
			pending = nil
			continue
		}
		if !sameStates(pending, cur) {
			// Changed since the last load, or still changing: wait until
			// the files stay the same for a whole interval, so that a file
			// being written (a list fetched by cron, say) is not loaded half
			// written. A truncated list is still a valid list.
			pending = cur
			continue
		}
		pending = nil
		h.mu.Lock()
		before := h.current.Load().Version()
		changed, err := h.reloadLocked()
		if slices.Equal(watched, h.watched) {
			last = cur
		} else {
			// The load used other files (a list added or removed): poll
			// the new set, starting without a baseline.
			watched, last = h.watched, nil
		}
		h.mu.Unlock()
		switch {
		case err != nil:
			if msg := err.Error(); msg != lastErr {
				lastErr = msg
				var le *LoadError
				attrs := []any{slog.String("path", h.path), slog.String("policy_version", before), slog.Any("error", err)}
				if errors.As(err, &le) {
					attrs = append(attrs, slog.Int("issues", len(le.Issues)))
				}
				log.Error("policy reload failed; keeping the previous policy", attrs...)
			}
		case changed:
			lastErr = ""
			log.Info("policy reloaded", slog.String("path", h.path),
				slog.String("previous_version", before), slog.String("policy_version", h.Current().Version()))
		default:
			if lastErr != "" {
				log.Info("policy file is valid again; version unchanged", slog.String("path", h.path), slog.String("policy_version", before))
			}
			lastErr = ""
		}
	}
}
