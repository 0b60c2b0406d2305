package simulate

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tssgate/internal/protocol"
)

// loadMix builds n requests and says how the fake server must answer each:
// of every 20 requests, 12 approve, 6 reject, 1 gets status 30 and 1 gets a
// reply for another request_id.
func loadMix(t *testing.T, n int) ([]protocol.CallbackRequest, func(protocol.CallbackRequest) replySpec, [3]int) {
	t.Helper()
	reqs := make([]protocol.CallbackRequest, n)
	specs := make(map[string]replySpec, n)
	var want [3]int // approved, rejected, failed
	for i := range reqs {
		reqs[i] = mustRequest(t, protocol.V2, protocol.TypeKeySign)
		var spec replySpec
		switch i % 20 {
		case 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11:
			want[0]++
		case 12, 13, 14, 15, 16, 17:
			spec = replySpec{action: "REJECT", errText: "not on allow list"}
			want[1]++
		case 18:
			spec = replySpec{status: protocol.StatusInternalError, action: "REJECT", errText: "store down"}
			want[2]++
		default:
			spec = replySpec{requestID: func(string) string { return "sim-ffffffffffffffff" }}
			want[2]++
		}
		specs[reqs[i].RequestID] = spec
	}
	var mu sync.Mutex
	choose := func(r protocol.CallbackRequest) replySpec {
		mu.Lock()
		defer mu.Unlock()
		spec, ok := specs[r.RequestID]
		if !ok {
			t.Errorf("fake server got unknown request id %q", r.RequestID)
			return replySpec{status: protocol.StatusInvalidRequest, action: "REJECT"}
		}
		return spec
	}
	return reqs, choose, want
}

func TestLoad(t *testing.T) {
	const total, workers = 200, 8
	reqs, choose, want := loadMix(t, total)

	var newConns atomic.Int64
	srv := startFakeServer(t, choose, func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	})

	// Count signatures through the signer's clock, and note how many had
	// been made when the first request reached the server: signing must be
	// over before the timed phase sends anything.
	n := newNode(t, srv.URL)
	var signs atomic.Int64
	n.Signer.Now = func() time.Time {
		signs.Add(1)
		return time.Now()
	}
	var signsAtFirst atomic.Int64
	signsAtFirst.Store(-1)
	srv.onRequest = func() { signsAtFirst.CompareAndSwap(-1, signs.Load()) }

	report, err := n.Load(context.Background(), protocol.V2, reqs, workers)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	if report.Requests != total {
		t.Errorf("Requests = %d, want %d", report.Requests, total)
	}
	if got := report.Approved + report.Rejected + report.Failed; got != report.Requests {
		t.Errorf("Approved+Rejected+Failed = %d, want Requests %d", got, report.Requests)
	}
	if report.Approved != want[0] || report.Rejected != want[1] || report.Failed != want[2] {
		t.Errorf("approved/rejected/failed = %d/%d/%d, want %d/%d/%d",
			report.Approved, report.Rejected, report.Failed, want[0], want[1], want[2])
	}
	if report.Workers != workers {
		t.Errorf("Workers = %d, want %d", report.Workers, workers)
	}
	if report.FirstError == "" {
		t.Error("FirstError is empty although some requests failed")
	}
	if !(report.P50 > 0 && report.P50 <= report.P90 && report.P90 <= report.P99 && report.P99 <= report.Max) {
		t.Errorf("percentiles not ordered: p50 %v p90 %v p99 %v max %v", report.P50, report.P90, report.P99, report.Max)
	}
	if report.Elapsed <= 0 || report.Throughput <= 0 {
		t.Errorf("Elapsed %v, Throughput %v; want both > 0", report.Elapsed, report.Throughput)
	}
	if got, want := report.Throughput, float64(report.Requests)/report.Elapsed.Seconds(); got != want {
		t.Errorf("Throughput = %v, want %v", got, want)
	}

	seen := srv.requests()
	if len(seen) != total {
		t.Errorf("server saw %d requests, want %d", len(seen), total)
	}
	ids := map[string]bool{}
	for _, s := range seen {
		if s.verifyErr != nil {
			t.Errorf("server could not verify a request: %v", s.verifyErr)
		}
		ids[s.req.RequestID] = true
	}
	if len(ids) != total {
		t.Errorf("server saw %d distinct request ids, want %d (each request exactly once)", len(ids), total)
	}

	if at, end := signsAtFirst.Load(), signs.Load(); at < total || at != end {
		t.Errorf("signatures made before the first request arrived = %d, in total = %d; want all %d before sending", at, end, total)
	}
	// Keep-alive must work: each worker reuses its connection rather than
	// dialling per request (which an undrained reply body would force).
	if c := newConns.Load(); c > 3*workers {
		t.Errorf("server accepted %d connections for %d requests, want at most %d (connections not reused)", c, total, 3*workers)
	}
}

func TestLoadCancelledMidRun(t *testing.T) {
	const total, stopAfter = 200, 20
	reqs := make([]protocol.CallbackRequest, total)
	for i := range reqs {
		reqs[i] = mustRequest(t, protocol.V1, protocol.TypeKeyGen)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := newFakeServer(t, always(replySpec{}))
	var served atomic.Int64
	srv.onRequest = func() {
		if served.Add(1) == stopAfter {
			cancel()
		}
	}
	n := newNode(t, srv.URL)

	report, err := n.Load(ctx, protocol.V1, reqs, 4)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Load error = %v, want context.Canceled", err)
	}
	if report == nil {
		t.Fatal("Load returned no partial report")
	}
	if report.Requests < stopAfter || report.Requests >= total {
		t.Errorf("Requests = %d, want between %d and %d", report.Requests, stopAfter, total-1)
	}
	if got := report.Approved + report.Rejected + report.Failed; got != report.Requests {
		t.Errorf("Approved+Rejected+Failed = %d, want Requests %d", got, report.Requests)
	}
}

func TestLoadRefusesBadInput(t *testing.T) {
	srv := newFakeServer(t, always(replySpec{}))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	one := []protocol.CallbackRequest{mustRequest(t, protocol.V2, protocol.TypeKeyGen)}
	tests := []struct {
		name string
		ctx  context.Context
		v    protocol.Version
		reqs []protocol.CallbackRequest
		node func(*Node)
	}{
		{name: "no requests", ctx: context.Background(), v: protocol.V2},
		{name: "unknown version", ctx: context.Background(), v: "v0", reqs: one},
		{name: "no signer", ctx: context.Background(), v: protocol.V2, reqs: one, node: func(n *Node) { n.Signer = nil }},
		{name: "cancelled before signing", ctx: cancelled, v: protocol.V2, reqs: one},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t, srv.URL)
			if tt.node != nil {
				tt.node(n)
			}
			report, err := n.Load(tt.ctx, tt.v, tt.reqs, 2)
			if err == nil || report != nil {
				t.Fatalf("Load = %+v, %v; want nil report and an error", report, err)
			}
		})
	}
	if got := len(srv.requests()); got != 0 {
		t.Errorf("server saw %d requests, want none", got)
	}
}

func TestLoadWorkersClamped(t *testing.T) {
	srv := newFakeServer(t, always(replySpec{}))
	n := newNode(t, srv.URL)
	reqs := []protocol.CallbackRequest{
		mustRequest(t, protocol.V2, protocol.TypeKeyGen),
		mustRequest(t, protocol.V2, protocol.TypeKeyReshare),
	}
	tests := []struct {
		name    string
		workers int
		want    int
	}{
		{name: "zero means one", workers: 0, want: 1},
		{name: "negative means one", workers: -3, want: 1},
		{name: "more than requests", workers: 50, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, err := n.Load(context.Background(), protocol.V2, reqs, tt.workers)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if report.Workers != tt.want || report.Approved != 2 {
				t.Errorf("Workers = %d, Approved = %d; want %d, 2", report.Workers, report.Approved, tt.want)
			}
		})
	}
}

func TestLoadTransportFailures(t *testing.T) {
	n := newNode(t, refusedURL(t))
	reqs := []protocol.CallbackRequest{
		mustRequest(t, protocol.V2, protocol.TypeKeyGen),
		mustRequest(t, protocol.V2, protocol.TypeKeyGen),
		mustRequest(t, protocol.V2, protocol.TypeKeyGen),
	}
	report, err := n.Load(context.Background(), protocol.V2, reqs, 2)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if report.Requests != 3 || report.Failed != 3 || report.Approved != 0 {
		t.Errorf("report = %+v, want 3 requests all failed", report)
	}
	if report.FirstError == "" {
		t.Error("FirstError is empty")
	}
	if report.Max != 0 {
		t.Errorf("Max = %v, want 0: transport failures have no latency", report.Max)
	}
}

func TestLoadClientDefaultTransport(t *testing.T) {
	n := &Node{}
	c, release := n.loadClient(32)
	defer release()
	tr, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("load transport is %T, want *http.Transport", c.Transport)
	}
	if tr == http.DefaultTransport {
		t.Fatal("load client tunes the process-wide default transport")
	}
	if tr.MaxIdleConnsPerHost < 32 || (tr.MaxIdleConns != 0 && tr.MaxIdleConns < 32) {
		t.Errorf("idle limits = %d per host, %d total; want at least 32", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
	if c.Timeout != DefaultTimeout {
		t.Errorf("timeout = %v, want %v", c.Timeout, DefaultTimeout)
	}
}

func TestLoadClientDoesNotTouchCallerTransport(t *testing.T) {
	tr := &http.Transport{MaxIdleConnsPerHost: 1, MaxIdleConns: 3}
	n := &Node{HTTP: &http.Client{Transport: tr, Timeout: time.Second}}
	c, release := n.loadClient(16)
	defer release()
	got, ok := c.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("load transport is %T, want *http.Transport", c.Transport)
	}
	if got == tr {
		t.Fatal("load client shares the caller's transport")
	}
	if got.MaxIdleConnsPerHost != 16 || got.MaxIdleConns != 16 {
		t.Errorf("load transport idle limits = %d per host, %d total; want 16, 16", got.MaxIdleConnsPerHost, got.MaxIdleConns)
	}
	if tr.MaxIdleConnsPerHost != 1 || tr.MaxIdleConns != 3 {
		t.Errorf("caller transport changed to %d/%d", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
	if c.Timeout != time.Second {
		t.Errorf("load client timeout = %v, want the caller's 1s", c.Timeout)
	}
}

func TestPercentile(t *testing.T) {
	seq := func(n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i + 1)
		}
		return out
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 50, want: 0},
		{name: "single p50", sorted: seq(1), p: 50, want: 1},
		{name: "single max", sorted: seq(1), p: 100, want: 1},
		{name: "two p50", sorted: seq(2), p: 50, want: 1},
		{name: "hundred p50", sorted: seq(100), p: 50, want: 50},
		{name: "hundred p90", sorted: seq(100), p: 90, want: 90},
		{name: "hundred p99", sorted: seq(100), p: 99, want: 99},
		{name: "hundred max", sorted: seq(100), p: 100, want: 100},
		{name: "ten p99 rounds up", sorted: seq(10), p: 99, want: 10},
		{name: "p0 is the minimum", sorted: seq(10), p: 0, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(n=%d, %d) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestLoadReportWriteText(t *testing.T) {
	report := &LoadReport{
		Requests: 200, Approved: 180, Rejected: 15, Failed: 5,
		FirstError: "reply request_id does not match",
		Workers:    8,
		Elapsed:    1500 * time.Millisecond,
		Throughput: 133.3333,
		P50:        1234567 * time.Nanosecond,
		P90:        2 * time.Millisecond,
		P99:        3 * time.Millisecond,
		Max:        4 * time.Millisecond,
	}
	want := strings.Join([]string{
		"requests:    200 (8 workers)",
		"elapsed:     1.5s",
		"throughput:  133.3 req/s",
		"latency:     p50 1.235ms  p90 2ms  p99 3ms  max 4ms",
		"outcomes:    180 approved, 15 rejected, 5 failed",
		"first error: reply request_id does not match",
		"",
	}, "\n")
	var b bytes.Buffer
	if err := report.WriteText(&b); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	if b.String() != want {
		t.Errorf("WriteText wrote\n%s\nwant\n%s", b.String(), want)
	}

	var nilReport *LoadReport
	if err := nilReport.WriteText(&b); err == nil {
		t.Error("WriteText on a nil report succeeded")
	}
	if err := report.WriteText(failingWriter{}); err == nil {
		t.Error("WriteText ignored the writer's error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
