package simulate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"tssgate/internal/protocol"
)

// LoadReport summarizes one Load run.
//
// Requests == Approved + Rejected + Failed always holds. Latencies are POST
// round trips of requests that received an HTTP reply; requests that failed
// in transport have no meaningful latency and are left out of the
// percentiles (they still count in Failed).
type LoadReport struct {
	// Requests is the number of requests sent. It is below the number asked
	// for only when the context ended the run early.
	Requests int
	// Approved counts verified replies with status 0 and APPROVE.
	Approved int
	// Rejected counts verified replies with status 0 and REJECT.
	Rejected int
	// Failed counts everything else: transport errors, non-200 statuses,
	// unverifiable or malformed replies, request_id mismatches, non-zero
	// statuses and status-0 replies with any other action.
	Failed int
	// FirstError describes the first failure observed, "" if none.
	FirstError string
	// Workers is the number of concurrent senders actually used.
	Workers int
	// Elapsed is the wall time of the send phase, from the first request
	// to the last worker finishing. Signing is excluded; reply verification,
	// which is cheap next to signing, is included.
	Elapsed time.Duration
	// Throughput is Requests per second over Elapsed.
	Throughput float64
	// P50, P90, P99 and Max are nearest-rank latency percentiles.
	P50, P90, P99, Max time.Duration
}

// Load sends every request in reqs once, from up to workers goroutines, and
// measures the server.
//
// All requests are signed before the timed phase starts, so the figures
// measure the server rather than this client's RSA signing. Each worker
// times only the POST round trip of a request, then verifies the reply
// (ReadReply rules plus HTTP 200) outside that per-request latency but inside
// the overall Elapsed. The HTTP transport keeps at least workers idle
// connections per host so that connections are reused instead of redialled.
//
// Load honours ctx: cancelling it stops the signing phase with an error and
// no report, or stops the send phase after the requests in flight, returning
// the partial report together with an error wrapping ctx.Err(). It also
// fails, with no report, on an empty reqs, an unknown version, or a request
// that cannot be signed.
func (n *Node) Load(ctx context.Context, v protocol.Version, reqs []protocol.CallbackRequest, workers int) (*LoadReport, error) {
	if len(reqs) == 0 {
		return nil, errors.New("load: no requests")
	}
	if _, err := n.endpoint(v); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	workers = min(max(workers, 1), len(reqs))

	jwts, err := n.signAll(ctx, reqs, workers)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}

	c, closeIdle := n.loadClient(workers)
	defer closeIdle()

	var (
		results  = make([]loadOutcome, len(reqs))
		next     atomic.Int64
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr string
	)
	noteErr := func(err error) {
		errMu.Lock()
		defer errMu.Unlock()
		if firstErr == "" {
			firstErr = err.Error()
		}
	}

	start := time.Now()
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				results[i] = n.loadOne(ctx, c, v, reqs[i].RequestID, jwts[i])
				if results[i].err != nil {
					noteErr(results[i].err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	report := summarize(results, elapsed)
	report.Workers = workers
	report.FirstError = firstErr
	if err := ctx.Err(); err != nil {
		return report, fmt.Errorf("load interrupted after %d of %d requests: %w", report.Requests, len(reqs), err)
	}
	return report, nil
}

// loadOutcome is what one worker learned about one request.
type loadOutcome struct {
	sent     bool
	answered bool // an HTTP reply arrived, so latency is meaningful
	latency  time.Duration
	code     int // ExitCode of the reply: 0 approved, 1 rejected, 2 failed
	err      error
}

func (n *Node) loadOne(ctx context.Context, c *http.Client, v protocol.Version, wantID, jwt string) loadOutcome {
	start := time.Now()
	body, status, err := n.post(ctx, c, v, jwt)
	out := loadOutcome{sent: true, latency: time.Since(start)}
	if err != nil {
		out.code, out.err = 2, err
		return out
	}
	out.answered = true
	resp, err := n.judge(body, status, wantID)
	out.code = ExitCode(resp, err)
	switch {
	case err != nil:
		out.err = err
	case out.code == 2:
		out.err = fmt.Errorf("request %s: reply status %d, action %q, error %q",
			wantID, resp.Status, clip(string(resp.Action)), clip(resp.Error))
	}
	return out
}

// signAll signs every request up front, in parallel because RSA signing is
// CPU-bound and would otherwise dominate a large run's setup.
func (n *Node) signAll(ctx context.Context, reqs []protocol.CallbackRequest, workers int) ([]string, error) {
	if n.Signer == nil {
		return nil, errors.New("signing requests: node has no signer")
	}
	jwts := make([]string, len(reqs))
	errs := make([]error, len(reqs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				jwts[i], errs[i] = n.SignRequest(reqs[i])
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("signing requests: %w", err)
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("signing request %d: %w", i, err)
		}
	}
	return jwts, nil
}

// loadClient returns a client whose transport keeps at least workers idle
// connections per host (net/http's default of 2 would make most requests
// redial, measuring TCP setup instead of the server). The caller's client and
// transport are never modified: a copy is tuned. A custom RoundTripper that is
// not an *http.Transport is used as it is. The returned func releases the
// idle connections of a transport created here.
func (n *Node) loadClient(workers int) (*http.Client, func()) {
	c := *n.client()
	var tr *http.Transport
	switch t := c.Transport.(type) {
	case nil:
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			tr = dt.Clone()
		} else {
			tr = &http.Transport{Proxy: http.ProxyFromEnvironment}
		}
	case *http.Transport:
		tr = t.Clone()
	default:
		return &c, func() {}
	}
	tr.MaxIdleConnsPerHost = max(tr.MaxIdleConnsPerHost, workers)
	if tr.MaxIdleConns != 0 {
		tr.MaxIdleConns = max(tr.MaxIdleConns, workers)
	}
	c.Transport = tr
	return &c, tr.CloseIdleConnections
}

// summarize counts outcomes and computes throughput and percentiles.
func summarize(results []loadOutcome, elapsed time.Duration) *LoadReport {
	r := &LoadReport{Elapsed: elapsed}
	lat := make([]time.Duration, 0, len(results))
	for _, o := range results {
		if !o.sent {
			continue
		}
		r.Requests++
		switch o.code {
		case 0:
			r.Approved++
		case 1:
			r.Rejected++
		default:
			r.Failed++
		}
		if o.answered {
			lat = append(lat, o.latency)
		}
	}
	if elapsed > 0 {
		r.Throughput = float64(r.Requests) / elapsed.Seconds()
	}
	slices.Sort(lat)
	r.P50 = percentile(lat, 50)
	r.P90 = percentile(lat, 90)
	r.P99 = percentile(lat, 99)
	r.Max = percentile(lat, 100)
	return r
}

// percentile returns the nearest-rank p-th percentile of sorted, 0 if empty.
// Nearest rank always returns an observed value, so the percentiles are
// ordered and Max is the true maximum.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// WriteText writes a human-readable summary of r to w: request count and
// workers, elapsed time, throughput, latency percentiles, outcome counts and
// the first error. It returns the writer's error, or an error for a nil
// report.
func (r *LoadReport) WriteText(w io.Writer) error {
	if r == nil {
		return errors.New("writing load report: no report")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "requests:    %d (%d workers)\n", r.Requests, r.Workers)
	fmt.Fprintf(&b, "elapsed:     %s\n", r.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "throughput:  %.1f req/s\n", r.Throughput)
	fmt.Fprintf(&b, "latency:     p50 %s  p90 %s  p99 %s  max %s\n",
		roundLatency(r.P50), roundLatency(r.P90), roundLatency(r.P99), roundLatency(r.Max))
	fmt.Fprintf(&b, "outcomes:    %d approved, %d rejected, %d failed\n", r.Approved, r.Rejected, r.Failed)
	if r.FirstError != "" {
		fmt.Fprintf(&b, "first error: %s\n", r.FirstError)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("writing load report: %w", err)
	}
	return nil
}

// roundLatency keeps latencies readable: microsecond precision is plenty
// for a network round trip.
func roundLatency(d time.Duration) time.Duration {
	return d.Round(time.Microsecond)
}
