package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"tssgate/internal/protocol"
	"tssgate/internal/simulate"
	"tssgate/internal/store/storetest"
	"tssgate/internal/token"
)

// Two serving processes (replicas) on one PostgreSQL: 50 concurrent
// KEYSIGNs, each a distinct transaction worth 10% of a limit's headroom,
// sent half to each replica. Exactly 10 may approve.
func TestTwoReplicasShareLimitsExactly(t *testing.T) {
	dsn := storetest.PostgresSchema(t) // skips without TSSGATE_TEST_POSTGRES, fails if unreachable
	raceForHeadroom(t, 2, dsn)
}

// The same race against one process on its default SQLite store.
func TestOneProcessSharesLimitsExactly(t *testing.T) {
	raceForHeadroom(t, 1, "")
}

func raceForHeadroom(t *testing.T, processes int, dsn string) {
	t.Helper()
	bin := tssgateBinary(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	writeAtomically(t, pol, approveKeysign+`limits:
  - name: eth-daily
    when: request.type == "KEYSIGN"
    key: [tx.token_id]
    window: 24h
    max_amount: "0.001"
`)
	// Both replicas share the data directory for their keys (one server key
	// pair, one dev node key), as replicas behind a load balancer would.
	args := []string{"--dev", "--data-dir", dir, "--policy", pol}
	if dsn != "" {
		args = append(args, "--store", dsn)
	}
	var urls []string
	for range processes {
		_, url := startProcess(t, bin, args...)
		urls = append(urls, url)
	}

	nodeKey, err := token.LoadPrivateKey(filepath.Join(dir, devNodeDir, devNodePriv))
	if err != nil {
		t.Fatal(err)
	}
	serverPub, err := token.LoadPublicKey(filepath.Join(dir, token.PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := token.NewKeySet(token.NamedKey{Name: "server", Key: serverPub})
	nodeFor := func(url string) *simulate.Node {
		return &simulate.Node{BaseURL: url, Signer: &token.Signer{Key: nodeKey}, Server: &token.Verifier{Keys: keys}}
	}
	var nodes []*simulate.Node
	for _, u := range urls {
		nodes = append(nodes, nodeFor(u))
	}

	var (
		wg                 sync.WaitGroup
		mu                 sync.Mutex
		approved, rejected int
		failures           []string
	)
	for i := range 50 {
		extra := readTxExtra(t, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := simulate.NewRequest(protocol.V2, protocol.TypeKeySign, nil, extra)
			if err == nil {
				var res *simulate.Result
				res, err = nodes[i%len(nodes)].Check(context.Background(), protocol.V2, req)
				if err == nil {
					mu.Lock()
					defer mu.Unlock()
					if res.Response.Approves() {
						approved++
					} else if res.Response.Status == 0 {
						rejected++
					} else {
						failures = append(failures, fmt.Sprintf("%+v", res.Response))
					}
					return
				}
			}
			mu.Lock()
			failures = append(failures, err.Error())
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d requests failed: %v", len(failures), failures[0])
	}
	if approved != 10 || rejected != 40 {
		t.Fatalf("approved %d, rejected %d across %d process(es); want exactly 10 and 40", approved, rejected, processes)
	}
}
